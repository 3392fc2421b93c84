//! Mailings to a segment: the reach is counted, the mailing is written page by page
//! to exactly that segment, once each (also when confirmed twice), in each person's
//! language, with SMS on top as chosen; progress and per-channel figures follow.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_problem, expect_status, spawn_app_with};

async fn reach(app: &TestApp, admin: &str, audience: Value) -> i64 {
    expect_status(
        app.post(
            "/api/v1/mailings/audience",
            Some(admin),
            &json!({ "audience": audience }),
        )
        .await,
        StatusCode::OK,
    )
    .await["recipients"]
        .as_i64()
        .expect("recipients")
}

#[actix_web::test]
async fn a_mailing_reaches_its_segment_once_each_in_their_language() {
    let app = spawn_app_with(|settings| {
        settings.mailings.page_size = 3;
        settings.mailings.sms_per_second = 1_000;
    })
    .await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let region: i64 = sqlx::query_scalar(
        "SELECT s.region_id FROM users u JOIN stores s ON s.id = u.store_id WHERE u.login = 'seller1'",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .expect("region");
    let in_region: Vec<(i64, String)> = sqlx::query_as(
        "SELECT u.id, u.phone FROM users u JOIN stores s ON s.id = u.store_id
         WHERE s.region_id = $1 AND u.kind = 'participant' AND u.status = 'active' ORDER BY u.id",
    )
    .bind(region)
    .fetch_all(&app.state.db.pool)
    .await
    .expect("people of the region");
    let everyone = reach(&app, &admin, json!({})).await;
    assert_eq!(reach(&app, &admin, json!({ "roles": ["owner"] })).await, 2);
    assert_eq!(
        reach(&app, &admin, json!({ "regions": [region] })).await,
        in_region.len() as i64
    );
    assert!(everyone > in_region.len() as i64);

    // seller1 reads English.
    let seller = app.login("seller1", "demo").await;
    expect_status(
        app.put(
            "/api/v1/me/notification-settings",
            Some(&seller),
            &json!({ "language": "en" }),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    let body = json!({
        "texts": { "ru": { "title": "Новая акция", "body": "Двойные баллы до пятницы." },
                   "en": { "title": "New campaign", "body": "Double points until Friday." } },
        "channels": ["sms"],
        "audience": { "regions": [region] },
    });
    let created = expect_status(
        app.post_idempotent("/api/v1/mailings", Some(&admin), &body, "mailing-1")
            .await,
        StatusCode::CREATED,
    )
    .await;
    let id = created["id"].as_i64().expect("id");
    assert_eq!(created["recipients"], in_region.len() as i64);
    let again = expect_status(
        app.post_idempotent("/api/v1/mailings", Some(&admin), &body, "mailing-1")
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(again["id"], id);

    let mut mailing = Value::Null;
    for _ in 0..200 {
        mailing = expect_status(
            app.get(&format!("/api/v1/mailings/{id}"), Some(&admin))
                .await,
            StatusCode::OK,
        )
        .await;
        let sms_done = mailing["delivery"]["sms"]["delivered"]
            .as_i64()
            .unwrap_or(0);
        if mailing["status"] == "finished" && sms_done == in_region.len() as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(mailing["status"], "finished", "{mailing}");
    assert_eq!(mailing["written"], in_region.len() as i64);
    assert_eq!(
        mailing["delivery"]["sms"]["queued"],
        in_region.len() as i64,
        "{mailing}"
    );

    // Exactly the segment, once each.
    let messages: Vec<(i64, String)> = sqlx::query_as(
        "SELECT user_id, data FROM notifications WHERE mailing_id = $1 ORDER BY user_id",
    )
    .bind(id)
    .fetch_all(&app.state.db.pool)
    .await
    .expect("messages");
    assert_eq!(
        messages.iter().map(|(user, _)| *user).collect::<Vec<_>>(),
        in_region.iter().map(|(user, _)| *user).collect::<Vec<_>>()
    );
    for (user, phone) in &in_region {
        let texts = app.sms.messages_to(phone);
        assert_eq!(texts.len(), 1, "one SMS to {phone}: {texts:?}");
        let english = *user == app.user_id("seller1").await;
        let expected = if english {
            "New campaign"
        } else {
            "Новая акция"
        };
        assert!(texts[0].starts_with(expected), "{texts:?}");
    }
    let inbox = expect_status(
        app.get("/api/v1/me/notifications?lang=en", Some(&seller))
            .await,
        StatusCode::OK,
    )
    .await;
    let mailed: Vec<&Value> = inbox["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|item| item["trigger"] == "mailing")
        .collect();
    assert_eq!(mailed.len(), 1, "{inbox}");
    assert_eq!(mailed[0]["title"], "New campaign", "{inbox}");

    // Finished cannot be cancelled; bad mailings change nothing.
    expect_problem(
        app.post(
            &format!("/api/v1/mailings/{id}/cancel"),
            Some(&admin),
            &json!({}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_state",
    )
    .await;
    for bad in [
        json!({ "texts": { "en": { "title": "x", "body": "y" } } }),
        json!({ "texts": { "ru": { "title": "x", "body": "y" } }, "channels": ["fax"] }),
        json!({ "texts": { "ru": { "title": " ", "body": "y" } } }),
    ] {
        expect_problem(
            app.post("/api/v1/mailings", Some(&admin), &bad).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
    expect_problem(
        app.post(
            "/api/v1/mailings/audience",
            Some(&seller),
            &json!({ "audience": {} }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let mailings: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM mailings WHERE trigger_kind IS NULL")
            .fetch_one(&app.state.db.pool)
            .await
            .expect("mailings");
    assert_eq!(mailings, 1);
    assert_eq!(app.audited("mailing.create").await, 1);
}

#[actix_web::test]
async fn a_mailing_cut_short_by_sigkill_resumes_and_reaches_everyone_once() {
    let (_database, url, db, dir) = crate::nodes::prepared_database().await;
    // One person a page, two e-mails a second: the mailing takes seconds, long enough
    // to kill the node in the middle of it.
    let env = [
        ("STIMUL_MAILINGS__PAGE_SIZE", "1"),
        ("STIMUL_MAILINGS__EMAIL_PER_SECOND", "4"),
        ("STIMUL_EFFECTS__LEASE_MS", "3000"),
    ];
    let node = crate::process::ServerProcess::spawn_with_env(&url, None, dir.path(), &env);
    let admin = node.login("admin", "demo").await;
    let (status, mailing) = node
        .post(
            "/api/v1/mailings",
            &admin,
            &json!({ "texts": { "ru": { "title": "Акция", "body": "Подробности в приложении." } },
                     "channels": ["email"] }),
            Some("crash-mailing"),
        )
        .await
        .expect("answered");
    assert_eq!(status, StatusCode::CREATED, "{mailing}");
    let id = mailing["id"].as_i64().expect("id");
    let recipients = mailing["recipients"].as_i64().expect("recipients");
    let written = || async {
        sqlx::query_scalar::<_, i64>("SELECT written FROM mailings WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .expect("mailing")
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while written().await < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the mailing never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    node.kill();
    let at_kill = written().await;
    assert!(
        at_kill < recipients,
        "killed in the middle ({at_kill} of {recipients})"
    );

    let node = crate::process::ServerProcess::spawn_with_env(&url, None, dir.path(), &env);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let status: String = sqlx::query_scalar("SELECT status FROM mailings WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .expect("mailing");
        if status == "finished" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never finished after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(node);
    let (messages, people): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT user_id) FROM notifications WHERE mailing_id = $1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .expect("messages");
    assert_eq!(
        (messages, people),
        (recipients, recipients),
        "everyone once"
    );
    assert_eq!(written().await, recipients);
}

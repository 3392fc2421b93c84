//! The one durable effect queue: dead effects are shown to admins and sent again by
//! hand; the workers of two nodes share the queue and run every effect once.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use stimul::config::ProviderKind;

use crate::codes::{Node, own_db};
use crate::fake_sms::{Behaviour, FakeSmsGateway};
use crate::helpers::{expect_problem, expect_status, spawn_app, test_settings};

async fn wait_for<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[actix_web::test]
async fn a_dead_effect_is_shown_to_admins_and_sent_again_by_hand() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let seller = app.login("seller1", "demo").await;

    // The gateway refuses the message itself: no retry can help, it is parked as dead.
    app.sms.script([Behaviour::Refuse]);
    app.post(
        "/api/v1/auth/otp",
        None,
        &json!({ "phone": "+79002000004" }),
    )
    .await;
    let dead = loop {
        let page = expect_status(
            app.get("/api/v1/effects?status=dead", Some(&admin)).await,
            StatusCode::OK,
        )
        .await;
        if let Some(effect) = page["items"].as_array().and_then(|items| items.first()) {
            break effect.clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(dead["kind"], "sms");
    assert_eq!(dead["status"], "dead");
    assert_eq!(dead["attempts"], 1);
    assert!(
        dead["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("permanent")),
        "{dead}"
    );
    assert!(app.sms.messages_to("+79002000004").is_empty());

    // Sellers see none of it and send nothing again.
    let id = dead["id"].as_i64().expect("id");
    expect_problem(
        app.get("/api/v1/effects", Some(&seller)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.post(
            &format!("/api/v1/effects/{id}/retry"),
            Some(&seller),
            &json!({}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.get("/api/v1/effects?status=stuck", Some(&admin)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;

    // The admin sends it again: it runs at once, this time delivered.
    let retried = expect_status(
        app.post(
            &format!("/api/v1/effects/{id}/retry"),
            Some(&admin),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(retried["status"], "done", "{retried}");
    assert_eq!(app.sms.messages_to("+79002000004").len(), 1);
    // Only a dead effect is sent again; an unknown one does not exist.
    expect_problem(
        app.post(
            &format!("/api/v1/effects/{id}/retry"),
            Some(&admin),
            &json!({}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_state",
    )
    .await;
    expect_problem(
        app.post("/api/v1/effects/999999/retry", Some(&admin), &json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let done = expect_status(
        app.get("/api/v1/effects?status=done&kind=sms", Some(&admin))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(
        done["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|e| e["id"] == id))
    );
}

#[actix_web::test]
async fn two_nodes_share_the_queue_and_run_every_effect_once() {
    let (mut settings, _database) = test_settings().await;
    let gateway = FakeSmsGateway::start().await;
    settings.sms.provider = ProviderKind::Http;
    settings.sms.url = Some(gateway.url());
    let a = Node::start(&settings).await;
    let b = Node::start(&settings).await;
    let db = own_db(&settings).await;

    // A burst of messages committed at once, as a mailing would write them.
    const MESSAGES: usize = 150;
    let mut tx = db.begin().await.expect("begin");
    for i in 0..MESSAGES {
        let payload = json!({ "to": format!("+7900300{i:04}"), "text": format!("message {i}") });
        sqlx::query(
            "INSERT INTO outbox (kind, payload, created_at, next_attempt_at, program_id) VALUES ('sms', $1, 0, 0, 1)",
        )
        .bind(payload.to_string())
        .execute(&mut *tx)
        .await
        .expect("queued");
    }
    tx.commit().await.expect("commit");

    wait_for("every message is delivered", || async {
        let delivered: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'sms' AND delivered_at IS NOT NULL",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap_or(0);
        delivered == MESSAGES as i64
    })
    .await;
    assert_eq!(
        gateway.received(),
        MESSAGES,
        "no message was sent twice by the two nodes"
    );
    let recipients: HashSet<String> = (0..MESSAGES)
        .filter(|i| gateway.messages_to(&format!("+7900300{i:04}")).len() == 1)
        .map(|i| i.to_string())
        .collect();
    assert_eq!(recipients.len(), MESSAGES);
    a.crash();
    b.crash();
}

//! News for an audience and a publish time with a per-person unread count, the
//! program's rules and the FAQ: written by content staff (audited), read by
//! participants; bad input refused.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_problem, expect_status, spawn_app};

async fn news(app: &TestApp, token: &str, body: Value) -> i64 {
    expect_status(
        app.post("/api/v1/news", Some(token), &body).await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_i64()
        .expect("news id")
}

async fn listed(app: &TestApp, token: &str) -> Value {
    expect_status(app.get("/api/v1/news", Some(token)).await, StatusCode::OK).await
}

fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["title"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[actix_web::test]
async fn news_reach_their_audience_once_published_and_rules_and_faq_are_kept() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let seller = app.login("seller1", "demo").await;
    let region: i64 = sqlx::query_scalar(
        "SELECT s.region_id FROM users u JOIN stores s ON s.id = u.store_id WHERE u.login = 'seller1'",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .expect("seller1's region");

    news(&app, &admin, json!({ "title": "Новая акция", "body": "Смесители AquaLine: двойные баллы.\nДо конца месяца." })).await;
    let regional = news(&app, &admin, json!({ "title": "Для вашего региона", "body": "Только здесь", "audience": { "regions": [region] } })).await;
    news(&app, &admin, json!({ "title": "Для других", "body": "Не для вас", "audience": { "regions": [region + 1000] } })).await;
    let later = news(&app, &admin, json!({ "title": "Завтра", "body": "Пока не видно", "publish_at": app.clock.now_ms() + 86_400_000 })).await;

    let page = listed(&app, &seller).await;
    assert_eq!(
        titles(&page),
        vec!["Для вашего региона", "Новая акция"],
        "{page}"
    );
    assert_eq!(page["unread"], 2);
    let opened = expect_status(
        app.get(&format!("/api/v1/news/{regional}"), Some(&seller))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(opened["body"], "Только здесь");
    assert_eq!(listed(&app, &seller).await["unread"], 1);
    expect_problem(
        app.get(&format!("/api/v1/news/{later}"), Some(&seller))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Staff see everything, the scheduled one too.
    assert_eq!(titles(&listed(&app, &admin).await).len(), 4);
    // Archived news leave the participants' list.
    expect_status(
        app.patch(
            &format!("/api/v1/news/{regional}"),
            Some(&admin),
            &json!({ "archived": true }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(titles(&listed(&app, &seller).await), vec!["Новая акция"]);

    // Rules.
    expect_status(
        app.put(
            "/api/v1/program/rules",
            Some(&admin),
            &json!({ "text": "1. Баллы начисляются за продажи.\n\n2. Баллы сгорают через год." }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let rules = expect_status(
        app.get("/api/v1/program/rules", Some(&seller)).await,
        StatusCode::OK,
    )
    .await;
    assert!(
        rules["text"]
            .as_str()
            .is_some_and(|t| t.contains("сгорают")),
        "{rules}"
    );

    // FAQ in order; changed and removed.
    let first = expect_status(
        app.post(
            "/api/v1/faq",
            Some(&admin),
            &json!({ "question": "Как получить баллы?", "answer": "Регистрируйте коды." }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let second = expect_status(
        app.post(
            "/api/v1/faq",
            Some(&admin),
            &json!({ "question": "Когда сгорают баллы?", "answer": "Через год." }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    expect_status(
        app.patch(
            &format!("/api/v1/faq/{}", second["id"]),
            Some(&admin),
            &json!({ "position": 0 }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let faq = expect_status(app.get("/api/v1/faq", Some(&seller)).await, StatusCode::OK).await;
    assert_eq!(faq[0]["id"], second["id"], "{faq}");
    assert_eq!(faq[1]["id"], first["id"]);
    let removed = app
        .delete(&format!("/api/v1/faq/{}", first["id"]), Some(&admin))
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let faq = expect_status(app.get("/api/v1/faq", Some(&seller)).await, StatusCode::OK).await;
    assert_eq!(faq.as_array().map(Vec::len), Some(1));

    // Participants do not write; bad input changes nothing.
    expect_problem(
        app.post(
            "/api/v1/news",
            Some(&seller),
            &json!({ "title": "x", "body": "y" }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.post(
            "/api/v1/news",
            Some(&admin),
            &json!({ "title": " ", "body": "y" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(app.count("news").await, 4);
    assert_eq!(app.audited("news.create").await, 4);
    assert_eq!(app.audited("faq.write").await, 4);
    assert_eq!(app.audited("program.rules").await, 1);
}

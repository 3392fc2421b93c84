//! Support requests: a participant writes (JSON, or multipart with a photo), staff
//! with the support permission answer, each side sees the other's message live, the
//! status follows who wrote last; nobody else sees a request.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{expect_problem, expect_status, spawn_app, test_photo};

#[actix_web::test]
async fn a_request_and_its_replies_reach_each_side_live() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let support = app.moderator(&admin, "helpdesk").await;
    let seller = app.login("seller1", "demo").await;

    let mut staff_ws = app.ws(&support).await;
    staff_ws.subscribe("support").await;
    let mut seller_ws = app.ws(&seller).await;
    seller_ws.subscribe("me").await;

    let opened = expect_status(
        app.post_multipart(
            "/api/v1/support/requests",
            &seller,
            &json!({ "subject": "Код не принимается", "text": "Пишет, что код уже зарегистрирован.\nФото прилагаю." }),
            "photo",
            &[test_photo(3)],
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = opened["id"].as_i64().expect("id");
    assert_eq!(opened["status"], "open");
    let photo = opened["messages"][0]["photo"]
        .as_str()
        .expect("a photo")
        .to_string();
    let seen = staff_ws.next_event("support_request").await;
    assert_eq!(seen["data"]["id"], id, "{seen}");
    // Support staff may see the photo; another seller may not see the request.
    let picture = app
        .get(&format!("/api/v1/photos/{photo}"), Some(&support))
        .await;
    assert_eq!(picture.status(), StatusCode::OK);
    let other = app.login("seller2", "demo").await;
    expect_problem(
        app.get(&format!("/api/v1/support/requests/{id}"), Some(&other))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.post(
            &format!("/api/v1/support/requests/{id}/replies"),
            Some(&other),
            &json!({ "text": "?" }),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // Staff answer: the participant gets it live and the request is answered.
    let answered = expect_status(
        app.post(
            &format!("/api/v1/support/requests/{id}/replies"),
            Some(&support),
            &json!({ "text": "Проверили: код зарегистрирован другим продавцом. Пришлите чек." }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(answered["status"], "answered");
    let reply = seller_ws.next_event("support_reply").await;
    assert_eq!(reply["data"]["request_id"], id, "{reply}");
    assert_eq!(reply["data"]["message"]["from_staff"], true);
    // Staff watching see every change, their own answer too.
    let own = staff_ws.next_event("support_request").await;
    assert_eq!(own["data"]["status"], "answered", "{own}");

    // The participant writes again: open again, staff see it live.
    expect_status(
        app.post(
            &format!("/api/v1/support/requests/{id}/replies"),
            Some(&seller),
            &json!({ "text": "Чек отправил." }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let again = staff_ws.next_event("support_request").await;
    assert_eq!(again["data"]["status"], "open", "{again}");
    assert_eq!(again["data"]["messages"].as_array().map(Vec::len), Some(3));

    let open = expect_status(
        app.get("/api/v1/support/requests?status=open", Some(&support))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(open["items"][0]["id"], id);
    let mine = expect_status(
        app.get("/api/v1/me/support/requests", Some(&seller)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(1));
    let closed = expect_status(
        app.post(
            &format!("/api/v1/support/requests/{id}/close"),
            Some(&seller),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(closed["status"], "closed");

    // A seller cannot read the program's requests; bad input changes nothing.
    expect_problem(
        app.get("/api/v1/support/requests", Some(&seller)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.post(
            "/api/v1/support/requests",
            Some(&seller),
            &json!({ "subject": "", "text": "x" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(app.count("support_requests").await, 1);

    // The same picture from another seller: each uploader sees their own; a third
    // seller sees neither.
    expect_status(
        app.post_multipart(
            "/api/v1/support/requests",
            &other,
            &json!({ "subject": "Тот же снимок", "text": "Прикладываю фото." }),
            "photo",
            &[test_photo(3)],
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let path = format!("/api/v1/photos/{photo}");
    assert_eq!(app.get(&path, Some(&other)).await.status(), StatusCode::OK);
    assert_eq!(app.get(&path, Some(&seller)).await.status(), StatusCode::OK);
    let third = app.login("seller3", "demo").await;
    assert_eq!(
        app.get(&path, Some(&third)).await.status(),
        StatusCode::FORBIDDEN
    );
}

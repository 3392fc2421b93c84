//! Bad input gets a clear problem+json answer and changes nothing.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{expect_problem, spawn_app};

#[actix_web::test]
async fn malformed_bodies_are_refused_clearly() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let stores_before = app.count("stores").await;

    let broken = app
        .http
        .post(app.url("/api/v1/stores"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .expect("sent");
    let problem = expect_problem(broken, StatusCode::BAD_REQUEST, "invalid_json").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("not valid JSON"),
        "{problem}"
    );

    let wrong_type = app
        .post("/api/v1/stores", Some(&admin), &json!({ "name": 42 }))
        .await;
    let problem = expect_problem(wrong_type, StatusCode::BAD_REQUEST, "invalid_json").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("expected a string"),
        "{problem}"
    );

    let missing = app
        .post("/api/v1/auth/login", None, &json!({ "login": "admin" }))
        .await;
    let problem = expect_problem(missing, StatusCode::BAD_REQUEST, "invalid_json").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("password"),
        "{problem}"
    );

    let text = app
        .http
        .post(app.url("/api/v1/stores"))
        .bearer_auth(&admin)
        .header("content-type", "text/plain")
        .body("name=x")
        .send()
        .await
        .expect("sent");
    expect_problem(
        text,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;

    let huge = "x".repeat(100 * 1024);
    let oversize = app
        .post("/api/v1/stores", Some(&admin), &json!({ "name": huge }))
        .await;
    expect_problem(oversize, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

    let invalid = app
        .post(
            "/api/v1/stores",
            Some(&admin),
            &json!({ "name": "  ", "region_id": 424242, "external_ref": "" }),
        )
        .await;
    let problem = expect_problem(
        invalid,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "name");

    let unknown_region = app
        .post(
            "/api/v1/stores",
            Some(&admin),
            &json!({ "name": "Shop", "region_id": 424242 }),
        )
        .await;
    let problem = expect_problem(
        unknown_region,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "region_id");
    assert_eq!(
        app.count("stores").await,
        stores_before,
        "nothing was created"
    );
}

#[actix_web::test]
async fn unknown_ids_and_malformed_parameters() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    expect_problem(
        app.get("/api/v1/stores/987654", Some(&admin)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.get("/api/v1/participants/987654", Some(&admin)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.post(
            "/api/v1/participants/987654/approve",
            Some(&admin),
            &json!({}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.get("/api/v1/stores/abc", Some(&admin)).await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
    )
    .await;
    expect_problem(
        app.get("/api/v1/stores?limit=0", Some(&admin)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(
        app.get("/api/v1/stores?limit=abc", Some(&admin)).await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
    )
    .await;
    expect_problem(
        app.get("/api/v1/stores?cursor=zzz", Some(&admin)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(
        app.get("/api/v1/stores?status=open", Some(&admin)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let bad_key = app
        .http
        .post(app.url("/api/v1/regions"))
        .bearer_auth(&admin)
        .header("Idempotency-Key", "")
        .json(&json!({ "name": "Kazan" }))
        .send()
        .await
        .expect("sent");
    expect_problem(bad_key, StatusCode::BAD_REQUEST, "invalid_parameter").await;
}

#[actix_web::test]
async fn pagination_walks_every_row_once() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let mut seen = Vec::new();
    let mut path = "/api/v1/participants?limit=7".to_string();
    loop {
        let page =
            crate::helpers::expect_status(app.get(&path, Some(&admin)).await, StatusCode::OK).await;
        seen.extend(
            page["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["id"].as_i64()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/participants?limit=7&cursor={cursor}"),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(seen.len(), 22, "2 owners and 20 sellers");
    assert_eq!(sorted, seen);
}

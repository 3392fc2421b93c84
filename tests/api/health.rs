use reqwest::StatusCode;

use crate::helpers::{expect_problem, expect_status, spawn_app};

#[actix_web::test]
async fn health_readiness_and_metrics_answer() {
    let app = spawn_app().await;
    let health = app.get("/healthz", None).await;
    assert!(
        health.headers().contains_key("x-request-id"),
        "every answer carries a request id"
    );
    assert_eq!(expect_status(health, StatusCode::OK).await["status"], "ok");
    assert_eq!(
        expect_status(app.get("/readyz", None).await, StatusCode::OK).await["status"],
        "ready"
    );
    let metrics = app
        .get("/metrics", None)
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(metrics.contains("stimul_http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/healthz\""), "{metrics}");
}

#[actix_web::test]
async fn unknown_routes_are_problems() {
    let app = spawn_app().await;
    expect_problem(
        app.get("/api/v1/nothing-here", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let page = expect_status(
        app.get("/problems/rate_limited", None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["status"], 429);
}

#[actix_web::test]
async fn the_web_ui_is_served_from_the_binary() {
    let app = spawn_app().await;
    let page = app.get("/", None).await;
    assert_eq!(
        page.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/html; charset=utf-8")
    );
    assert!(
        page.text()
            .await
            .unwrap_or_default()
            .contains("<title>Stimul")
    );
    // Client-side routes get the page too; missing files and API paths do not.
    assert!(
        app.get("/moderation/queue", None)
            .await
            .text()
            .await
            .unwrap_or_default()
            .contains("<title>Stimul")
    );
    expect_problem(
        app.get("/missing.js", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.get("/api/v1/nothing", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

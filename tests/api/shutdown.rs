//! Stopping: SIGTERM closes every WebSocket session at once (code 1012, "reconnect")
//! instead of waiting out the grace period for connections that never end, finishes
//! what it acknowledged, and the process exits promptly.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::nodes::prepared_database;
use crate::process::ServerProcess;

#[actix_web::test]
async fn sigterm_closes_websockets_and_stops_promptly_with_nothing_lost() {
    let (_database, url, db, dir) = prepared_database().await;
    let node = ServerProcess::spawn(&url, None, dir.path());
    let admin = node.login("admin", "demo").await;
    let mut sessions = Vec::new();
    for login in ["seller1", "seller2", "seller3"] {
        let token = node.login(login, "demo").await;
        let mut ws = node.ws(&token).await;
        ws.subscribe("me").await;
        ws.next_of("snapshot").await;
        sessions.push(ws);
    }
    let seller: i64 = sqlx::query_scalar("SELECT id FROM users WHERE login = 'seller1'")
        .fetch_one(&db.pool)
        .await
        .expect("seller");
    let (status, credit) = node
        .post(
            &format!("/api/v1/participants/{seller}/awards"),
            &admin,
            &json!({ "amount": "25", "comment": "before the stop" }),
            Some("award-before-stop"),
        )
        .await
        .expect("answered");
    assert_eq!(status, StatusCode::CREATED, "{credit}");

    // The old server waited its whole 10 s grace for the open sessions.
    let started = std::time::Instant::now();
    node.terminate();
    for ws in &mut sessions {
        assert_eq!(
            ws.close_code_within(Duration::from_secs(3)).await,
            Some(1012),
            "each session is told to reconnect"
        );
        ws.close().await;
    }
    assert!(
        node.exited_within(Duration::from_secs(8)).await,
        "the server exits after SIGTERM"
    );
    let took = started.elapsed();
    println!("stopped {took:?} after SIGTERM with 3 open WebSockets");
    assert!(
        took < Duration::from_secs(5),
        "stopping took {took:?} with open WebSockets"
    );
    // What was acknowledged is durable.
    let posted: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM ledger_transactions WHERE idempotency_key LIKE '%award-before-stop%'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert_eq!(posted, 1);
    let output = node.output();
    assert!(
        !output.contains("did not commit in time") && !output.contains("panicked"),
        "{output}"
    );
}

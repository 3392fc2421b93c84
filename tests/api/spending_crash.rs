//! Points leaving the system when a node dies: the server killed with SIGKILL while
//! the provider is being asked for an order completes it exactly once after a restart;
//! and a card number given for payouts appears nowhere in what the server printed.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fake_provider::{Behaviour, FakeProvider};
use crate::nodes::prepared_database;
use crate::process::ServerProcess;

/// A full card number: it must never come back out of the server.
const CARD: &str = "5555555555554444";

async fn get(node: &ServerProcess, path: &str, token: &str) -> Value {
    let response = node
        .http
        .get(format!("{}{path}", node.address))
        .bearer_auth(token)
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

#[actix_web::test]
async fn an_order_cut_short_by_sigkill_is_fulfilled_once_after_restart() {
    let (_database, url, db, dir) = prepared_database().await;
    let provider = FakeProvider::start().await;
    // The first request hangs past the client's timeout: the node dies while it waits.
    provider.script([Behaviour::Stall(Duration::from_secs(30))]);
    let provider_url = provider.url();
    let env = [
        ("STIMUL_REWARDS__PROVIDER", "http"),
        ("STIMUL_REWARDS__URL", provider_url.as_str()),
        ("STIMUL_REWARDS__TIMEOUT_MS", "3000"),
        ("STIMUL_PAYOUTS__PROVIDER", "http"),
        ("STIMUL_PAYOUTS__URL", provider_url.as_str()),
        ("STIMUL_EFFECTS__LEASE_MS", "4000"),
        ("RUST_LOG", "debug"),
    ];
    let node = ServerProcess::spawn_with_env(&url, None, dir.path(), &env);
    let admin = node.login("admin", "demo").await;
    let seller = node.login("seller1", "demo").await;
    let seller_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE login = 'seller1'")
        .fetch_one(&db.pool)
        .await
        .expect("seller");
    let (status, _) = node
        .post(
            &format!("/api/v1/participants/{seller_id}/awards"),
            &admin,
            &json!({ "amount": "3000", "comment": "test" }),
            None,
        )
        .await
        .expect("answered");
    assert_eq!(status, StatusCode::CREATED);
    let (status, reward) = node
        .post("/api/v1/rewards", &admin, &json!({ "sku": "LENTA-1000", "kind": "gift_certificate", "title": "Lenta", "price": "1000" }), None)
        .await
        .expect("answered");
    assert_eq!(status, StatusCode::CREATED, "{reward}");
    let (status, order) = node
        .post(
            "/api/v1/orders",
            &seller,
            &json!({ "items": [{ "reward_id": reward["id"] }] }),
            Some("crash-order"),
        )
        .await
        .expect("answered");
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let order_id = order["id"].as_i64().expect("order id");
    // Killed while the provider holds the request: reserved, bought, not recorded.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while provider.received() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the provider was never asked"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    node.kill();
    let status_now: String = sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
        .bind(order_id)
        .fetch_one(&db.pool)
        .await
        .expect("order");
    assert_ne!(status_now, "fulfilled");

    // Restarted: once the dead node's lease ends, the order is finished, once.
    let node = ServerProcess::spawn_with_env(&url, None, dir.path(), &env);
    let seller = node.login("seller1", "demo").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let order = get(&node, &format!("/api/v1/orders/{order_id}"), &seller).await;
        if order["status"] == "fulfilled" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never fulfilled: {order}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(provider.purchases(), 1, "bought once across the crash");
    let me = get(&node, "/api/v1/me", &seller).await;
    assert_eq!(me["balance"]["available"], "2000.00");
    let check = stimul::ledger::queries::check(&db, None)
        .await
        .expect("check");
    assert!(check.sound, "{check:?}");

    // A card for payouts, and a payout: its full number is printed nowhere.
    let (status, card) = node
        .post(
            "/api/v1/me/payout-cards",
            &seller,
            &json!({ "number": CARD }),
            None,
        )
        .await
        .expect("answered");
    assert_eq!(status, StatusCode::CREATED, "{card}");
    let (status, payout) = node
        .post(
            "/api/v1/payouts",
            &seller,
            &json!({ "card_id": card["id"], "amount": "600" }),
            Some("crash-payout"),
        )
        .await
        .expect("answered");
    assert_eq!(status, StatusCode::CREATED, "{payout}");
    assert_eq!(provider.cards(), [CARD]);
    let printed = node.output();
    assert!(printed.contains("listening"), "the output was captured");
    assert!(
        !printed.contains(CARD),
        "the card number is in the server's output"
    );
}

//! The published contract for the mobile app must equal what the server serves.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{expect_status, spawn_app};

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/mobile-contracts/openapi.json");

#[actix_web::test]
async fn committed_openapi_equals_served_document() {
    let app = spawn_app().await;
    let served = app
        .get("/api/v1/openapi.json", None)
        .await
        .text()
        .await
        .unwrap_or_default();
    if std::env::var("UPDATE_CONTRACTS").is_ok_and(|v| v == "1") {
        std::fs::write(COMMITTED, &served).expect("write the contract");
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == served,
        "mobile-contracts/openapi.json is stale; regenerate it with `UPDATE_CONTRACTS=1 cargo test --test api contract` and commit it"
    );
    let document: serde_json::Value = serde_json::from_str(&served).unwrap_or_default();
    let operation_ids: Vec<&str> = document["paths"]
        .as_object()
        .into_iter()
        .flat_map(|paths| paths.values())
        .filter_map(|item| item.as_object())
        .flat_map(|item| item.values())
        .filter_map(|operation| operation["operationId"].as_str())
        .collect();
    for required in [
        "requestOtp",
        "verifyOtp",
        "loginWithPassword",
        "logout",
        "getMe",
        "registerParticipant",
        "approveParticipant",
        "createStore",
        "listStores",
        "importStores",
        "createRole",
        "assignRole",
        "createTask",
        "updateTask",
        "listTasks",
        "submitTask",
        "listMyTasks",
        "createQuest",
    ] {
        assert!(
            operation_ids.contains(&required),
            "operation {required} is missing from the contract"
        );
    }
    expect_status(app.get("/api/v1/openapi.json", None).await, StatusCode::OK).await;
}

/// Compares a generated contract with its committed copy (rewriting the copy first
/// under `UPDATE_CONTRACTS=1`).
fn assert_committed(file: &str, current: &str) {
    let path = format!("{}/mobile-contracts/{file}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var("UPDATE_CONTRACTS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, current).expect("write the contract");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == current,
        "mobile-contracts/{file} is stale; regenerate it with `UPDATE_CONTRACTS=1 cargo test --test api contract` and commit it"
    );
}

#[test]
fn committed_websocket_contracts_equal_the_code() {
    let current = stimul::ws::contract::websocket_json();
    assert_committed("websocket.json", &current);
    assert_committed("asyncapi.json", &stimul::ws::contract::asyncapi_json());
    let document: serde_json::Value = serde_json::from_str(&current).unwrap_or_default();
    for schema in [
        "ClientFrame",
        "ServerFrame",
        "Snapshot",
        "Event",
        "ParticipantView",
        "BalanceChanged",
        "LevelUpEvent",
        "StoreProgress",
        "Submission",
        "QuestProgress",
    ] {
        assert!(
            document["components"]["schemas"][schema].is_object(),
            "{schema} is missing"
        );
    }
    let asyncapi: serde_json::Value =
        serde_json::from_str(&stimul::ws::contract::asyncapi_json()).unwrap_or_default();
    for event in stimul::ws::frames::EVENT_NAMES {
        assert!(
            asyncapi["components"]["messages"][format!("event.{event}")].is_object(),
            "the AsyncAPI document has no message for {event}"
        );
    }
    for message in [
        "subscribe",
        "decide",
        "snapshot",
        "error",
        "decided",
        "pong",
    ] {
        assert!(
            asyncapi["channels"]["live"]["messages"][message].is_object(),
            "the AsyncAPI channel has no message {message}"
        );
    }
}

/// The frame check the WebSocket tests run is not vacuous: it takes a real frame and
/// refuses a changed one.
#[test]
fn frames_off_the_contract_are_refused() {
    use crate::ws_client::frame_errors;
    let balance = json!({
        "type": "event", "topic": "me", "seq": 3, "event": "level_up",
        "data": {
            "from": { "index": 0, "name": "Bronze", "multiplier": "1" },
            "to": { "index": 1, "name": "Silver", "multiplier": "1.1" }
        }
    });
    let errors = frame_errors(&balance);
    assert!(errors.is_empty(), "a well-formed level_up: {errors:?}");
    let mut renamed = balance.clone();
    renamed["event"] = json!("levelled_up");
    assert!(!frame_errors(&renamed).is_empty(), "an unknown event");
    let mut reshaped = balance.clone();
    reshaped["data"]["to"] = json!(1);
    assert!(
        !frame_errors(&reshaped).is_empty(),
        "a payload off its schema"
    );
    let mut unnumbered = balance;
    unnumbered.as_object_mut().map(|f| f.remove("seq"));
    assert!(
        !frame_errors(&unnumbered).is_empty(),
        "an event without seq"
    );
    assert!(frame_errors(&json!({ "type": "pong" })).is_empty());
    assert!(!frame_errors(&json!({ "type": "pang" })).is_empty());
}

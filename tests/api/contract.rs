//! The published contract for the mobile app must equal what the server serves.

use reqwest::StatusCode;

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

const COMMITTED_WS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/mobile-contracts/websocket.json"
);

#[test]
fn committed_websocket_schemas_equal_the_code() {
    let current = stimul::ws::contract::websocket_json();
    if std::env::var("UPDATE_CONTRACTS").is_ok_and(|v| v == "1") {
        std::fs::write(COMMITTED_WS, &current).expect("write the contract");
    }
    let committed = std::fs::read_to_string(COMMITTED_WS).unwrap_or_default();
    assert!(
        committed == current,
        "mobile-contracts/websocket.json is stale; regenerate it with `UPDATE_CONTRACTS=1 cargo test --test api contract` and commit it"
    );
    let document: serde_json::Value = serde_json::from_str(&current).unwrap_or_default();
    for schema in [
        "ClientFrame",
        "SnapshotFrame",
        "EventFrame",
        "ErrorFrame",
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
}

//! The live moderation queue: routing over WebSocket, leases, disconnects, races,
//! the HTTP fallback, statistics.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_problem, expect_status, spawn_app};
use crate::ws_client::WsClient;

/// Registers `count` sellers into DEMO-1; each becomes a moderation item.
async fn register(app: &TestApp, count: usize, offset: usize) -> Vec<i64> {
    let store = app.store_id("DEMO-1").await;
    let mut ids = Vec::with_capacity(count);
    for chunk in (0..count).collect::<Vec<_>>().chunks(25) {
        let answers = join_all(chunk.iter().map(|n| {
            let body = json!({ "phone": format!("+7966{:07}", offset + n), "name": format!("Applicant {}", offset + n), "store_id": store });
            async move { expect_status(app.post("/api/v1/registrations", None, &body).await, StatusCode::CREATED).await }
        }))
        .await;
        ids.extend(answers.iter().filter_map(|a| a["participant_id"].as_i64()));
    }
    ids
}

async fn moderator_socket(app: &TestApp, token: &str, capacity: u32) -> (WsClient, Vec<Value>) {
    let mut ws = app.ws(token).await;
    ws.send(json!({ "type": "subscribe", "topic": "moderation", "capacity": capacity }))
        .await;
    let snapshot = ws.next_of("snapshot").await;
    let held = snapshot["data"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    (ws, held)
}

#[actix_web::test]
async fn a_registration_reaches_a_moderator_live_and_the_decision_applies() {
    let app = spawn_app().await;
    app.load_demo().await;
    let moderator = app.login("moderator", "demo").await;
    let (mut ws, held) = moderator_socket(&app, &moderator, 3).await;
    assert!(held.is_empty());
    let id = register(&app, 1, 0).await[0];
    let assigned = ws.next_event("item_assigned").await;
    assert_eq!(
        (
            assigned["data"]["kind"].as_str(),
            assigned["data"]["subject_id"].as_i64()
        ),
        (Some("registration"), Some(id))
    );
    assert_eq!(
        assigned["data"]["summary"]["store"]["name"],
        "Santekhnika na Tverskoy"
    );
    let item = assigned["data"]["id"].as_i64().expect("item id");

    ws.send(json!({ "type": "decide", "item_id": item, "decision": "rework", "comment": "x" }))
        .await;
    let refused = ws.next_of("error").await;
    assert_eq!(
        (refused["code"].as_str(), refused["item_id"].as_i64()),
        (Some("validation_failed"), Some(item))
    );
    ws.send(json!({ "type": "decide", "item_id": item, "decision": "reject" }))
        .await;
    assert_eq!(
        ws.next_of("error").await["code"],
        "validation_failed",
        "a rejection needs a reason"
    );
    ws.send(json!({ "type": "decide", "item_id": item, "decision": "approve" }))
        .await;
    let decided = ws.next_of("decided").await;
    assert_eq!(decided["decision"], "approve");
    let admin = app.login("admin", "demo").await;
    let person = expect_status(
        app.get(&format!("/api/v1/participants/{id}"), Some(&admin))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(person["status"], "active");
    ws.send(json!({ "type": "decide", "item_id": item, "decision": "approve" }))
        .await;
    assert_eq!(
        ws.next_of("error").await["code"],
        "item_not_held",
        "an item is decided once"
    );
    let audit: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'moderation.decide'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap_or(0);
    assert_eq!(audit, 1);
}

#[actix_web::test]
async fn three_moderators_decide_five_hundred_items_exactly_once() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let tokens = [
        app.login("moderator", "demo").await,
        app.moderator(&admin, "moderator2").await,
        app.moderator(&admin, "moderator3").await,
    ];
    let mut sockets = Vec::new();
    for token in &tokens {
        sockets.push(moderator_socket(&app, token, 5).await.0);
    }
    let ids = register(&app, 500, 1000).await;
    assert_eq!(ids.len(), 500);

    // Every moderator approves whatever arrives until the queue is empty.
    let work = sockets.into_iter().map(|mut ws| async move {
        let mut decided = Vec::new();
        while let Some(frame) = ws.next_within(Duration::from_secs(3)).await {
            if frame["event"] == "item_assigned" {
                let item = frame["data"]["id"].as_i64().expect("item id");
                ws.send(json!({ "type": "decide", "item_id": item, "decision": "approve" }))
                    .await;
            } else if frame["type"] == "decided" {
                decided.push(frame["item_id"].as_i64().expect("item id"));
            } else if frame["type"] == "error" {
                panic!("a decision failed: {frame}");
            }
        }
        decided
    });
    let per_moderator: Vec<Vec<i64>> = join_all(work).await;
    let all: Vec<i64> = per_moderator.iter().flatten().copied().collect();
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(
        (all.len(), unique.len()),
        (500, 500),
        "every item decided exactly once"
    );
    assert!(
        per_moderator.iter().all(|d| d.len() >= 50),
        "the work is shared: {:?}",
        per_moderator.iter().map(Vec::len).collect::<Vec<_>>()
    );
    let active: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE phone LIKE '+7966%' AND status = 'active'",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap_or(0);
    assert_eq!(active, 500);
    let decided_twice: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'moderation.decide'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap_or(0);
    assert_eq!(decided_twice, 500);

    let stats = expect_status(
        app.get("/api/v1/moderation/stats", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    let decisions: i64 = stats["decisions_last_hour"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, n)| n.as_i64())
        .sum();
    assert_eq!(decisions, 500);
    assert_eq!(stats["assigned"], 0);
}

#[actix_web::test]
async fn a_moderator_who_leaves_gives_the_items_back_and_expired_leases_requeue() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let first = app.login("moderator", "demo").await;
    let (mut ws, _) = moderator_socket(&app, &first, 3).await;
    register(&app, 5, 2000).await;
    let mut held = HashSet::new();
    for _ in 0..3 {
        held.insert(
            ws.next_event("item_assigned").await["data"]["id"]
                .as_i64()
                .expect("id"),
        );
    }
    drop(ws);

    let second = app.moderator(&admin, "moderator2").await;
    let (mut ws2, snapshot) = moderator_socket(&app, &second, 10).await;
    let mut got: HashSet<i64> = snapshot.iter().filter_map(|i| i["id"].as_i64()).collect();
    while got.len() < 5 {
        got.insert(
            ws2.next_event("item_assigned").await["data"]["id"]
                .as_i64()
                .expect("id"),
        );
    }
    assert!(
        held.is_subset(&got),
        "the leaver's items went to the colleague"
    );

    // Nobody decides within the lease: the items are revoked and handed out again.
    app.clock.advance(Duration::from_secs(11 * 60));
    let revoked = ws2.next_event("item_revoked").await;
    assert_eq!(revoked["data"]["reason"], "lease_expired");
    let again = ws2.next_event("item_assigned").await;
    assert!(again["data"]["lease_expires_at"].as_i64() > Some(app.clock.now_ms()));
    let assignments: i64 = sqlx::query_scalar("SELECT MAX(assignments) FROM moderation_items")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap_or(0);
    assert!(assignments >= 2);
}

#[actix_web::test]
async fn only_the_holder_decides_and_only_once() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let holder = app.login("moderator", "demo").await;
    let other = app.moderator(&admin, "moderator2").await;
    register(&app, 1, 3000).await;
    // The HTTP fallback: take the next item without a socket.
    let taken = expect_status(
        app.post("/api/v1/moderation/next", Some(&holder), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    let item = taken["id"].as_i64().expect("item");
    assert_eq!(
        app.post("/api/v1/moderation/next", Some(&other), &json!({}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let held = expect_status(
        app.get("/api/v1/moderation/held", Some(&holder)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(held[0]["id"], item);

    let path = format!("/api/v1/moderation/items/{item}/decision");
    let racers = [
        (&holder, "reject"),
        (&other, "approve"),
        (&holder, "approve"),
        (&other, "reject"),
    ];
    let app_ref = &app;
    let answers = join_all(racers.iter().map(|(token, decision)| {
        let body = json!({ "decision": decision, "reason": "duplicate" });
        let path = &path;
        async move { app_ref.post(path, Some(token), &body).await.status() }
    }))
    .await;
    assert_eq!(
        answers.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{answers:?}"
    );
    assert!(
        answers
            .iter()
            .filter(|s| **s != StatusCode::OK)
            .all(|s| *s == StatusCode::CONFLICT),
        "{answers:?}"
    );
    let decided_by: i64 =
        sqlx::query_scalar("SELECT decided_by FROM moderation_items WHERE id = $1")
            .bind(item)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap_or(0);
    assert_eq!(decided_by, app.user_id("moderator").await);
    expect_problem(
        app.post(&path, Some(&other), &json!({ "decision": "approve" }))
            .await,
        StatusCode::CONFLICT,
        "item_not_held",
    )
    .await;
    let seller = app.login("seller1", "demo").await;
    expect_problem(
        app.post(&path, Some(&seller), &json!({ "decision": "approve" }))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.post(
            "/api/v1/moderation/items/999999/decision",
            Some(&holder),
            &json!({ "decision": "approve" }),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.post(&path, Some(&holder), &json!({ "decision": "maybe" }))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
}

#[actix_web::test]
async fn approving_outside_the_queue_withdraws_the_item() {
    let app = spawn_app().await;
    app.load_demo().await;
    let moderator = app.login("moderator", "demo").await;
    let (mut ws, _) = moderator_socket(&app, &moderator, 2).await;
    let id = register(&app, 1, 4000).await[0];
    let item = ws.next_event("item_assigned").await["data"]["id"]
        .as_i64()
        .expect("item");
    let manager = app.login("manager", "demo").await;
    expect_status(
        app.post(
            &format!("/api/v1/participants/{id}/approve"),
            Some(&manager),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let revoked = ws.next_event("item_revoked").await;
    assert_eq!(
        (
            revoked["data"]["item_id"].as_i64(),
            revoked["data"]["reason"].as_str()
        ),
        (Some(item), Some("withdrawn"))
    );
    let items = expect_status(
        app.get(
            "/api/v1/moderation/items?status=withdrawn",
            Some(&app.login("admin", "demo").await),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(items["items"][0]["id"], item);
}

#[actix_web::test]
async fn queue_statistics_are_pushed_and_scoped() {
    let app = spawn_app().await;
    app.load_demo().await;
    register(&app, 3, 5000).await;
    let admin = app.login("admin", "demo").await;
    let mut ws = app.ws(&admin).await;
    ws.subscribe("moderation_stats").await;
    let snapshot = ws.next_of("snapshot").await;
    assert_eq!(snapshot["data"]["queued"]["registration"], 3);
    assert!(snapshot["data"]["oldest_queued_ms"].as_i64().is_some());
    let reasons = expect_status(
        app.get("/api/v1/moderation/reasons", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    assert!(
        reasons
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x["code"] == "duplicate"))
    );

    let mut seller = app.ws(&app.login("seller1", "demo").await).await;
    for topic in ["moderation", "moderation_stats"] {
        seller.subscribe(topic).await;
        assert_eq!(seller.next_of("error").await["code"], "forbidden");
    }
    let owner = app.login("owner1", "demo").await;
    expect_problem(
        app.get("/api/v1/moderation/items", Some(&owner)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

//! Live pushes over WebSocket: snapshots, numbered events, resync after a gap, scopes.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{expect_status, spawn_app};
use crate::ws_client::WsClient;

#[actix_web::test]
async fn a_seller_sees_a_credit_the_moment_it_is_made() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let seller = app.user_id("seller1").await;
    let token = app.login("seller1", "demo").await;
    let mut ws = app.ws(&token).await;
    ws.subscribe("me").await;
    let snapshot = ws.next_of("snapshot").await;
    assert_eq!(
        (snapshot["topic"].as_str(), snapshot["seq"].as_u64()),
        (Some("me"), Some(0))
    );
    assert_eq!(snapshot["data"]["balance"]["available"], "0.00");

    app.award(&admin, seller, "12.50").await;
    let event = ws.next_event("balance_changed").await;
    assert_eq!(
        (event["topic"].as_str(), event["seq"].as_u64()),
        (Some("me"), Some(1))
    );
    assert_eq!(event["data"]["balance"]["available"], "12.50");
    assert_eq!(event["data"]["delta_available"], "12.50");
    assert_eq!(event["data"]["reason"], "award");

    expect_status(
        app.post(
            &format!("/api/v1/participants/{seller}/adjustments"),
            Some(&admin),
            &json!({ "amount": "-2.50", "comment": "fix" }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let second = ws.next_event("balance_changed").await;
    assert_eq!(
        second["seq"], 2,
        "sequence numbers are consecutive per topic"
    );
    assert_eq!(second["data"]["balance"]["available"], "10.00");

    // A client that noticed a gap subscribes again and gets a fresh snapshot, numbered
    // where the stream is, with the current balance.
    ws.subscribe("me").await;
    let fresh = ws.next_of("snapshot").await;
    assert_eq!(fresh["seq"], 2);
    assert_eq!(fresh["data"]["balance"]["available"], "10.00");
    app.award(&admin, seller, "1.00").await;
    assert_eq!(ws.next_event("balance_changed").await["seq"], 3);
}

#[actix_web::test]
async fn level_ups_are_pushed() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let levels = json!([{ "name": "Start", "multiplier": "1" }, { "name": "Star", "min_lifetime_points": "50.00", "multiplier": "2" }]);
    expect_status(
        app.patch(
            "/api/v1/program",
            Some(&admin),
            &json!({ "levels": levels }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let seller = app.user_id("seller2").await;
    let mut ws = app.ws(&app.login("seller2", "demo").await).await;
    ws.subscribe("me").await;
    ws.next_of("snapshot").await;
    app.award(&admin, seller, "50.00").await;
    let up = ws.next_event("level_up").await;
    assert_eq!(
        (
            up["data"]["from"]["name"].as_str(),
            up["data"]["to"]["name"].as_str(),
            up["data"]["to"]["multiplier"].as_str()
        ),
        (Some("Start"), Some("Star"), Some("2"))
    );
}

#[actix_web::test]
async fn topics_are_scoped_to_who_may_see_them() {
    let app = spawn_app().await;
    app.load_demo().await;
    let own_store = app.store_id("DEMO-1").await;
    let other_store = app.store_id("DEMO-2").await;
    let mut seller = app.ws(&app.login("seller1", "demo").await).await;
    for topic in [
        format!("store:{own_store}"),
        format!("user:{}", app.user_id("seller2").await),
        "everything".into(),
    ] {
        seller.subscribe(&topic).await;
        let error = seller.next_of("error").await;
        assert!(
            matches!(error["code"].as_str(), Some("forbidden" | "not_found")),
            "{topic}: {error}"
        );
        assert_eq!(error["topic"], topic.as_str());
    }
    seller.send(json!({ "type": "subscribe" })).await;
    assert_eq!(seller.next_of("error").await["code"], "invalid_json");
    seller.send(json!({ "type": "ping" })).await;
    assert_eq!(seller.next().await["type"], "pong");

    let mut owner = app.ws(&app.login("owner1", "demo").await).await;
    owner.subscribe(&format!("store:{other_store}")).await;
    assert_eq!(owner.next_of("error").await["code"], "forbidden");
    owner.subscribe("me").await;
    assert_eq!(owner.next_of("snapshot").await["topic"], "me");

    let mut staff = app.ws(&app.login("admin", "demo").await).await;
    staff.subscribe("me").await;
    assert_eq!(
        staff.next_of("error").await["code"],
        "forbidden",
        "staff have no points"
    );

    assert_eq!(
        WsClient::connect(&app.address, "stm_forged").await.err(),
        Some(401)
    );
}

#[actix_web::test]
async fn owners_watch_store_progress_live() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let store = app.store_id("DEMO-1").await;
    expect_status(
        app.patch(
            &format!("/api/v1/stores/{store}"),
            Some(&admin),
            &json!({ "monthly_plan": "200.00" }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let mut owner = app.ws(&app.login("owner1", "demo").await).await;
    owner.subscribe(&format!("store:{store}")).await;
    let snapshot = owner.next_of("snapshot").await;
    assert_eq!(snapshot["data"]["today"]["earned"], "0.00");
    assert_eq!(snapshot["data"]["sellers_total"], 10);
    assert_eq!(snapshot["data"]["sellers_online"], 0);

    // A seller coming online shows.
    let mut seller_ws = app.ws(&app.login("seller3", "demo").await).await;
    let online = owner.next_event("progress").await;
    assert_eq!(online["data"]["sellers_online"], 1);

    app.award(&admin, app.user_id("seller3").await, "50.00")
        .await;
    let progress = owner.next_event("progress").await;
    assert_eq!(progress["data"]["today"]["earned"], "50.00");
    assert_eq!(progress["data"]["month"]["earned"], "50.00");
    assert_eq!(progress["data"]["plan_attainment"], "25");
    seller_ws.send(json!({ "type": "ping" })).await;
    drop(seller_ws);
    let offline = owner.next_event("progress").await;
    assert_eq!(offline["data"]["sellers_online"], 0);

    // A seller of another store does not move this one.
    app.award(&admin, app.user_id("seller15").await, "5.00")
        .await;
    assert!(
        owner
            .next_within(Duration::from_millis(500))
            .await
            .is_none_or(|f| f["type"] != "event")
    );
    let progress = expect_status(
        app.get(
            &format!("/api/v1/stores/{store}/progress"),
            Some(&app.login("owner1", "demo").await),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(progress["today"]["earned"], "50.00");
}

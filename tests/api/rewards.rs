//! Spending points: the showcase, checkout, fulfilment through the provider, failures
//! and cancellations returning points, racing buyers, signed callbacks. Every step is
//! checked against balances and the ledger's invariants.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use stimul::config::Secret;
use stimul::integrations::signature::sign;

use crate::fake_provider::{Behaviour, FakeProvider};
use crate::helpers::{TestApp, expect_problem, expect_status, spawn_app_with, test_photo};

const CALLBACK_SECRET: &str = "callback-secret";

async fn rewards_app() -> (TestApp, FakeProvider) {
    let provider = FakeProvider::start().await;
    let app = spawn_app_with(|settings| {
        provider.serve(settings);
        settings.rewards.callback_secret = Some(Secret::new(CALLBACK_SECRET.into()));
    })
    .await;
    app.load_demo().await;
    (app, provider)
}

async fn create_reward(app: &TestApp, admin: &str, body: Value) -> i64 {
    let reward = expect_status(
        app.post("/api/v1/rewards", Some(admin), &body).await,
        StatusCode::CREATED,
    )
    .await;
    reward["id"].as_i64().expect("reward id")
}

async fn certificate(app: &TestApp, admin: &str, sku: &str, price: &str) -> i64 {
    create_reward(
        app,
        admin,
        json!({ "sku": sku, "kind": "gift_certificate", "title": format!("Certificate {sku}"),
                 "category": "Certificates", "network": "Lenta", "price": price }),
    )
    .await
}

pub(crate) async fn available(app: &TestApp, token: &str) -> String {
    let me = expect_status(app.get("/api/v1/me", Some(token)).await, StatusCode::OK).await;
    me["balance"]["available"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn order(app: &TestApp, token: &str, body: Value, key: &str) -> reqwest::Response {
    app.post_idempotent("/api/v1/orders", Some(token), &body, key)
        .await
}

/// Waits until `check` holds for the order, answering it.
pub(crate) async fn wait_for_order(
    app: &TestApp,
    token: &str,
    id: i64,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let order = expect_status(
            app.get(&format!("/api/v1/orders/{id}"), Some(token)).await,
            StatusCode::OK,
        )
        .await;
        if check(&order) {
            return order;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "order {id} never got there: {order}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until the order reaches `status`, answering it.
async fn wait_for_status(app: &TestApp, token: &str, id: i64, status: &str) -> Value {
    wait_for_order(app, token, id, |order| order["status"] == status).await
}

async fn seller_with(app: &TestApp, admin: &str, login: &str, points: &str) -> (i64, String) {
    let id = app.user_id(login).await;
    app.award(admin, id, points).await;
    (id, app.login(login, "demo").await)
}

#[actix_web::test]
async fn checkout_reserves_fulfilment_captures_and_failure_releases() {
    let (app, provider) = rewards_app().await;
    let admin = app.login("admin", "demo").await;
    let lenta = certificate(&app, &admin, "LENTA-500", "500").await;
    let (_, seller) = seller_with(&app, &admin, "seller1", "2000").await;
    let mut ws = app.ws(&seller).await;
    ws.subscribe("me").await;

    let placed = expect_status(
        order(
            &app,
            &seller,
            json!({ "items": [{ "reward_id": lenta }] }),
            "order-1",
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = placed["id"].as_i64().expect("order id");
    assert_eq!(placed["total"], "500.00");
    assert!(placed["hold_transaction_id"].is_i64());
    // Reserved at once: the points are no longer available.
    assert_eq!(available(&app, &seller).await, "1500.00");
    app.assert_ledger_sound().await;

    // The phone retries: the same order, nothing moves again.
    let retry = order(
        &app,
        &seller,
        json!({ "items": [{ "reward_id": lenta }] }),
        "order-1",
    )
    .await;
    assert_eq!(
        retry
            .headers()
            .get("Idempotent-Replayed")
            .map(|v| v.to_str().ok()),
        Some(Some("true"))
    );
    let retry = expect_status(retry, StatusCode::CREATED).await;
    assert_eq!(retry["id"], id);

    // The provider delivers: the order is fulfilled and its points captured.
    let fulfilled = wait_for_status(&app, &seller, id, "fulfilled").await;
    assert_eq!(fulfilled["items"][0]["delivered"], true);
    assert_eq!(
        fulfilled["items"][0]["certificate"]["code"],
        format!("CODE-order-{id}-{}", fulfilled_line(&app, id).await)
    );
    assert!(fulfilled["settled_transaction_id"].is_i64());
    let statuses: Vec<&str> = fulfilled["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|e| e["status"].as_str())
        .collect();
    assert_eq!(statuses, ["placed", "processing", "fulfilled"]);
    assert_eq!(available(&app, &seller).await, "1500.00");
    assert_eq!(provider.purchases(), 1);
    app.assert_ledger_sound().await;
    // Staff see the order, never its certificate.
    let seen_by_staff = expect_status(
        app.get(&format!("/api/v1/orders/{id}"), Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    assert!(seen_by_staff["items"][0]["certificate"].is_null());
    // Another seller does not see it at all.
    let other = app.login("seller2", "demo").await;
    expect_problem(
        app.get(&format!("/api/v1/orders/{id}"), Some(&other)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Each change was pushed live.
    let mut pushed = Vec::new();
    while pushed.last().map(String::as_str) != Some("fulfilled") {
        let event = ws.next_event("order_status").await;
        assert_eq!(event["data"]["order_id"], id);
        pushed.push(
            event["data"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    assert_eq!(pushed, ["placed", "processing", "fulfilled"]);

    // A refusal fails the next order and gives its points back.
    provider.script([Behaviour::Declined]);
    let declined = expect_status(
        order(
            &app,
            &seller,
            json!({ "items": [{ "reward_id": lenta }] }),
            "order-2",
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let declined_id = declined["id"].as_i64().expect("id");
    assert_eq!(available(&app, &seller).await, "1000.00");
    let failed = wait_for_status(&app, &seller, declined_id, "failed").await;
    assert!(
        failed["failure_reason"]
            .as_str()
            .is_some_and(|r| r.contains("out of certificates")),
        "{failed}"
    );
    assert_eq!(available(&app, &seller).await, "1500.00");
    app.assert_ledger_sound().await;

    // So does an answer the server cannot read.
    provider.script([Behaviour::Garbage]);
    let garbled = expect_status(
        order(
            &app,
            &seller,
            json!({ "items": [{ "reward_id": lenta }] }),
            "order-3",
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let failed =
        wait_for_status(&app, &seller, garbled["id"].as_i64().expect("id"), "failed").await;
    assert!(
        failed["failure_reason"]
            .as_str()
            .is_some_and(|r| r.contains("unreadable")),
        "{failed}"
    );
    assert_eq!(available(&app, &seller).await, "1500.00");
    app.assert_ledger_sound().await;
}

/// The id of an order's first line.
async fn fulfilled_line(app: &TestApp, order: i64) -> i64 {
    sqlx::query_scalar("SELECT MIN(id) FROM order_items WHERE order_id = $1")
        .bind(order)
        .fetch_one(&app.state.db.pool)
        .await
        .expect("line")
}

#[actix_web::test]
async fn a_provider_timeout_then_success_buys_once() {
    let (app, provider) = rewards_app().await;
    let admin = app.login("admin", "demo").await;
    let lenta = certificate(&app, &admin, "LENTA-1000", "1000").await;
    let (_, seller) = seller_with(&app, &admin, "seller3", "1000").await;
    // The first answer comes after the client gave up; the provider bought meanwhile.
    provider.script([
        Behaviour::Stall(Duration::from_millis(1_500)),
        Behaviour::Fail,
    ]);
    let placed = expect_status(
        order(
            &app,
            &seller,
            json!({ "items": [{ "reward_id": lenta }] }),
            "slow",
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = placed["id"].as_i64().expect("id");
    wait_for_status(&app, &seller, id, "fulfilled").await;
    assert!(
        provider.received() >= 3,
        "asked again after the timeout and the 500"
    );
    assert_eq!(
        provider.purchases(),
        1,
        "one purchase, whatever the retries"
    );
    assert_eq!(available(&app, &seller).await, "0.00");
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn racing_buyers_never_overdraw_stock_or_points() {
    let (app, provider) = rewards_app().await;
    let admin = app.login("admin", "demo").await;
    // The provider keeps every order processing: nothing settles during the race.
    provider.script(std::iter::repeat_n(Behaviour::Processing, 20));
    let last_one = create_reward(
        &app,
        &admin,
        json!({ "sku": "MUG-1", "kind": "gift_certificate", "title": "The last certificate", "price": "100", "stock": 1 }),
    )
    .await;
    let mut sellers = Vec::new();
    for n in 1..=10 {
        sellers.push(
            seller_with(&app, &admin, &format!("seller{n}"), "300")
                .await
                .1,
        );
    }
    let answers = join_all(sellers.iter().enumerate().map(|(i, token)| {
        order(
            &app,
            token,
            json!({ "items": [{ "reward_id": last_one }] }),
            Box::leak(format!("race-{i}").into_boxed_str()),
        )
    }))
    .await;
    let mut placed = 0;
    for answer in answers {
        match answer.status() {
            StatusCode::CREATED => placed += 1,
            StatusCode::CONFLICT => {
                let problem: Value = answer.json().await.expect("problem");
                assert_eq!(problem["code"], "out_of_stock", "{problem}");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(placed, 1, "stock 1 gives exactly one order");
    let stock: Option<i64> = sqlx::query_scalar("SELECT stock FROM rewards WHERE id = $1")
        .bind(last_one)
        .fetch_one(&app.state.db.pool)
        .await
        .expect("stock");
    assert_eq!(stock, Some(0));

    // One participant, two checkouts at once: never the same points twice.
    let big = certificate(&app, &admin, "BIG-200", "200").await;
    let buyer = &sellers[9];
    let both = join_all((0..2).map(|i| {
        order(
            &app,
            buyer,
            json!({ "items": [{ "reward_id": big }] }),
            if i == 0 { "twin-a" } else { "twin-b" },
        )
    }))
    .await;
    let statuses: Vec<StatusCode> = both.iter().map(|r| r.status()).collect();
    let spent_once = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let available_after = available(&app, buyer).await;
    // Seller 10 may have won the race for the last certificate above.
    assert!(
        (spent_once == 1 && (available_after == "100.00" || available_after == "0.00"))
            || (spent_once == 0 && available_after == "200.00"),
        "{statuses:?} left {available_after}"
    );
    assert!(statuses.contains(&StatusCode::CONFLICT), "{statuses:?}");
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn a_callback_settles_an_order_only_when_signed() {
    let (app, provider) = rewards_app().await;
    let admin = app.login("admin", "demo").await;
    let lenta = certificate(&app, &admin, "LENTA-300", "300").await;
    let (_, seller) = seller_with(&app, &admin, "seller4", "300").await;
    provider.script([Behaviour::Processing]);
    let placed = expect_status(
        order(
            &app,
            &seller,
            json!({ "items": [{ "reward_id": lenta }] }),
            "cb",
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = placed["id"].as_i64().expect("id");
    wait_for_status(&app, &seller, id, "processing").await;
    let line = fulfilled_line(&app, id).await;
    let body = json!({ "id": format!("order-{id}-{line}"), "status": "done", "code": "CB-CODE", "pin": "9999" })
        .to_string();
    let callback = |signature: Option<String>, body: String| {
        let mut request = app
            .http
            .post(app.url("/api/v1/providers/rewards/callback"))
            .header("Content-Type", "application/json")
            .body(body);
        if let Some(signature) = signature {
            request = request.header("X-Signature", signature);
        }
        request.send()
    };
    for signature in [
        None,
        Some(sign("wrong-secret", body.as_bytes())),
        Some("sha256=00".to_string()),
    ] {
        let refused = callback(signature, body.clone()).await.expect("sent");
        expect_problem(refused, StatusCode::UNAUTHORIZED, "invalid_signature").await;
    }
    // A valid signature over another body does not carry over.
    let forged = body.replace("CB-CODE", "FORGED");
    let refused = callback(Some(sign(CALLBACK_SECRET, body.as_bytes())), forged)
        .await
        .expect("sent");
    expect_problem(refused, StatusCode::UNAUTHORIZED, "invalid_signature").await;
    let still = expect_status(
        app.get(&format!("/api/v1/orders/{id}"), Some(&seller))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(still["status"], "processing");
    assert_eq!(available(&app, &seller).await, "0.00");

    // Signed, it settles the order; said twice, nothing more happens.
    for _ in 0..2 {
        let accepted = callback(Some(sign(CALLBACK_SECRET, body.as_bytes())), body.clone())
            .await
            .expect("sent");
        assert_eq!(accepted.status(), StatusCode::NO_CONTENT);
    }
    let fulfilled = wait_for_status(&app, &seller, id, "fulfilled").await;
    assert_eq!(fulfilled["items"][0]["certificate"]["code"], "CB-CODE");
    let captures: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM ledger_transactions WHERE idempotency_key = $1")
            .bind(format!("order:{id}:capture"))
            .fetch_one(&app.state.db.pool)
            .await
            .expect("count");
    assert_eq!(captures, 1);
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn goods_are_shipped_and_delivered_by_staff_and_cancelled_orders_give_points_back() {
    let (app, _provider) = rewards_app().await;
    let admin = app.login("admin", "demo").await;
    let kettle = create_reward(
        &app,
        &admin,
        json!({ "sku": "KETTLE", "kind": "goods", "title": "Kettle", "price": "700", "stock": 3, "category": "Home" }),
    )
    .await;
    let (_, seller) = seller_with(&app, &admin, "seller5", "1500").await;
    let address =
        json!({ "name": "Ivan", "phone": "+79002000005", "address": "Moscow, Tverskaya 1" });
    let placed = expect_status(
        order(
            &app,
            &seller,
            json!({ "items": [{ "reward_id": kettle }], "delivery": address }),
            "kettle-1",
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = placed["id"].as_i64().expect("id");
    wait_for_status(&app, &seller, id, "processing").await;
    // Staff ship it, then mark it delivered: then its points are captured.
    let status = |status: &str| json!({ "status": status, "note": "by courier" });
    expect_problem(
        app.post(
            &format!("/api/v1/orders/{id}/status"),
            Some(&admin),
            &status("delivered"),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_state",
    )
    .await;
    expect_problem(
        app.post(
            &format!("/api/v1/orders/{id}/status"),
            Some(&seller),
            &status("shipped"),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_status(
        app.post(
            &format!("/api/v1/orders/{id}/status"),
            Some(&admin),
            &status("shipped"),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let delivered = expect_status(
        app.post(
            &format!("/api/v1/orders/{id}/status"),
            Some(&admin),
            &status("delivered"),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(delivered["status"], "delivered");
    assert!(delivered["settled_transaction_id"].is_i64());
    assert_eq!(available(&app, &seller).await, "800.00");

    // A second kettle, cancelled by the seller before anything happened to it... or by
    // staff once it is processing: the points and the unit come back either way.
    let second = expect_status(
        order(
            &app,
            &seller,
            json!({ "items": [{ "reward_id": kettle }], "delivery": address }),
            "kettle-2",
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let second = second["id"].as_i64().expect("id");
    assert_eq!(available(&app, &seller).await, "100.00");
    wait_for_status(&app, &seller, second, "processing").await;
    expect_problem(
        app.post(
            &format!("/api/v1/orders/{second}/cancel"),
            Some(&seller),
            &json!({}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_state",
    )
    .await;
    let cancelled = expect_status(
        app.post(
            &format!("/api/v1/orders/{second}/cancel"),
            Some(&admin),
            &json!({ "reason": "out of kettles" }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(available(&app, &seller).await, "800.00");
    let stock: Option<i64> = sqlx::query_scalar("SELECT stock FROM rewards WHERE id = $1")
        .bind(kettle)
        .fetch_one(&app.state.db.pool)
        .await
        .expect("stock");
    assert_eq!(stock, Some(2));
    let mine = expect_status(
        app.get("/api/v1/me/orders", Some(&seller)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(2));
    let staff = expect_status(
        app.get("/api/v1/orders?status=cancelled", Some(&admin))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(staff["items"].as_array().map(Vec::len), Some(1));
    expect_problem(
        app.get("/api/v1/orders", Some(&seller)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn bad_orders_are_refused_each_with_its_own_problem_and_change_nothing() {
    let (app, _provider) = rewards_app().await;
    let admin = app.login("admin", "demo").await;
    let lenta = certificate(&app, &admin, "LENTA-100", "100").await;
    let chosen = create_reward(
        &app,
        &admin,
        json!({ "sku": "OZON-ANY", "kind": "gift_certificate", "title": "Ozon, any amount", "min_amount": "100", "max_amount": "3000" }),
    )
    .await;
    let goods = create_reward(
        &app,
        &admin,
        json!({ "sku": "CAP", "kind": "merch", "title": "Cap", "price": "50", "stock": 0 }),
    )
    .await;
    let off = create_reward(
        &app,
        &admin,
        json!({ "sku": "OFF", "kind": "gift_certificate", "title": "Switched off", "price": "10", "active": false }),
    )
    .await;
    let gold_only = create_reward(
        &app,
        &admin,
        json!({ "sku": "GOLD", "kind": "gift_certificate", "title": "For gold", "price": "10", "levels": [2] }),
    )
    .await;
    let payout = create_reward(
        &app,
        &admin,
        json!({ "sku": "CARD", "kind": "card_payout", "title": "To a card", "min_amount": "500", "max_amount": "10000" }),
    )
    .await;
    let (_, seller) = seller_with(&app, &admin, "seller6", "150").await;
    let cases = [
        (
            json!({ "items": [{ "reward_id": lenta }, { "reward_id": lenta }] }),
            StatusCode::CONFLICT,
            "insufficient_points",
        ),
        (
            json!({ "items": [{ "reward_id": goods }], "delivery": { "name": "A", "phone": "+7900", "address": "B" } }),
            StatusCode::CONFLICT,
            "out_of_stock",
        ),
        (
            json!({ "items": [{ "reward_id": goods }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "items": [{ "reward_id": off }] }),
            StatusCode::CONFLICT,
            "reward_unavailable",
        ),
        (
            json!({ "items": [{ "reward_id": gold_only }] }),
            StatusCode::FORBIDDEN,
            "reward_not_eligible",
        ),
        (
            json!({ "items": [{ "reward_id": payout, "amount": "500" }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "items": [{ "reward_id": 999999 }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "items": [] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "items": [{ "reward_id": lenta, "quantity": 0 }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "items": [{ "reward_id": lenta, "amount": "100" }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "items": [{ "reward_id": chosen }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "items": [{ "reward_id": chosen, "amount": "5000" }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "items": [{ "reward_id": chosen, "amount": 100 }] }),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            json!({ "items": [{ "reward_id": chosen, "amount": "1.005" }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
    ];
    for (i, (body, status, code)) in cases.into_iter().enumerate() {
        expect_problem(
            order(&app, &seller, body, &format!("bad-{i}")).await,
            status,
            code,
        )
        .await;
    }
    // Staff do not shop with their own points.
    expect_problem(
        order(
            &app,
            &admin,
            json!({ "items": [{ "reward_id": lenta }] }),
            "staff",
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(app.count("orders").await, 0);
    assert_eq!(available(&app, &seller).await, "150.00");
    // A chosen amount within bounds is fine.
    let fine = expect_status(
        order(
            &app,
            &seller,
            json!({ "items": [{ "reward_id": chosen, "amount": "150" }] }),
            "fine",
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(fine["total"], "150.00");
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn the_showcase_shows_each_participant_what_is_on_offer_to_them() {
    let (app, _provider) = rewards_app().await;
    let admin = app.login("admin", "demo").await;
    let cheap = certificate(&app, &admin, "CHEAP", "100").await;
    let dear = certificate(&app, &admin, "DEAR", "5000").await;
    let later = create_reward(
        &app,
        &admin,
        json!({ "sku": "LATER", "kind": "merch", "title": "Later", "price": "10", "active_from": 4_000_000_000_000_i64 }),
    )
    .await;
    let (_, seller) = seller_with(&app, &admin, "seller7", "200").await;
    let shown = expect_status(
        app.get("/api/v1/rewards", Some(&seller)).await,
        StatusCode::OK,
    )
    .await;
    let ids: Vec<i64> = shown["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["id"].as_i64())
        .collect();
    assert!(
        ids.contains(&cheap) && ids.contains(&dear) && !ids.contains(&later),
        "{ids:?}"
    );
    let affordable = expect_status(
        app.get("/api/v1/rewards?affordable=true", Some(&seller))
            .await,
        StatusCode::OK,
    )
    .await;
    let ids: Vec<i64> = affordable["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["id"].as_i64())
        .collect();
    assert_eq!(ids, [cheap]);
    assert_eq!(affordable["items"][0]["price"], "100.00");
    let categories = expect_status(
        app.get("/api/v1/rewards/categories", Some(&seller)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(categories["items"], json!(["Certificates"]));

    // Sellers do not edit the catalog; bad rewards are refused field by field.
    expect_problem(
        app.post(
            "/api/v1/rewards",
            Some(&seller),
            &json!({ "sku": "X", "kind": "goods", "title": "X", "price": "1" }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let refused = expect_problem(
        app.post(
            "/api/v1/rewards",
            Some(&admin),
            &json!({ "sku": "", "kind": "car", "title": "", "price": "-1", "stock": -1 }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = refused["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    for field in ["sku", "kind", "title", "price", "stock"] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    expect_problem(
        app.post(
            "/api/v1/rewards",
            Some(&admin),
            &json!({ "sku": "CHEAP", "kind": "goods", "title": "Again", "price": "1" }),
        )
        .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    // Replacing a reward changes what sellers see.
    let updated = expect_status(
        app.send(
            reqwest::Method::PUT,
            &format!("/api/v1/rewards/{dear}"),
            Some(&admin),
            &json!({ "sku": "DEAR", "kind": "gift_certificate", "title": "Now cheap", "price": "150" }),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(updated["price"], "150.00");

    // An import is all rows or none, and updates by SKU.
    let bad = "sku,kind,title,price,stock\nNEW-1,goods,Mug,100,5\nNEW-2,plane,Jet,1,1\n";
    let rejected = expect_problem(
        app.post_csv("/api/v1/imports/rewards", &admin, bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "import_rejected",
    )
    .await;
    assert_eq!(rejected["rows"][0]["row"], 2);
    assert_eq!(app.count("rewards").await, 3);
    let good = "sku;kind;title;price;stock;category\nNEW-1;goods;Mug;100;5;Home\nCHEAP;gift_certificate;Cheap again;90;;Certificates\n";
    let imported = expect_status(
        app.post_csv("/api/v1/imports/rewards", &admin, good).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (imported["created"].as_u64(), imported["updated"].as_u64()),
        (Some(1), Some(1))
    );
    let cheap_now = expect_status(
        app.get(&format!("/api/v1/rewards/{cheap}"), Some(&seller))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cheap_now["price"], "90.00");
    assert_eq!(cheap_now["affordable"], true);

    // A picture: stored through the photo store, seen by every participant.
    expect_problem(
        app.post_multipart(
            &format!("/api/v1/rewards/{cheap}/picture"),
            &seller,
            &json!({}),
            "photo",
            &[test_photo(9)],
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let pictured = expect_status(
        app.post_multipart(
            &format!("/api/v1/rewards/{cheap}/picture"),
            &admin,
            &json!({}),
            "photo",
            &[test_photo(9)],
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let picture = pictured["picture"].as_str().expect("picture").to_string();
    let other_seller = app.login("seller12", "demo").await;
    let shown = app
        .get(&format!("/api/v1/photos/{picture}"), Some(&other_seller))
        .await;
    assert_eq!(shown.status(), StatusCode::OK);
    expect_problem(
        app.post_multipart(
            &format!("/api/v1/rewards/{cheap}/picture"),
            &admin,
            &json!({}),
            "photo",
            &[b"not a picture".to_vec()],
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

#[actix_web::test]
async fn a_phone_topup_goes_to_the_topup_provider_with_the_number() {
    let (app, provider) = rewards_app().await;
    let admin = app.login("admin", "demo").await;
    let topup = create_reward(
        &app,
        &admin,
        json!({ "sku": "TOPUP", "kind": "phone_topup", "title": "Mobile top-up",
                 "min_amount": "100", "max_amount": "3000" }),
    )
    .await;
    let (_, seller) = seller_with(&app, &admin, "seller1", "1000").await;
    let placed = expect_status(
        order(
            &app,
            &seller,
            json!({ "items": [{ "reward_id": topup, "amount": "250" }],
                     "delivery": { "phone": "+7 999 123-45-67" } }),
            "topup-1",
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = placed["id"].as_i64().expect("order id");
    wait_for_status(&app, &seller, id, "fulfilled").await;
    let asked = provider.topups();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].1, "+7 999 123-45-67");
    assert_eq!(asked[0].2, "250.00");
    assert_eq!(
        provider.purchases(),
        1,
        "bought once, by the top-up provider"
    );
    assert_eq!(available(&app, &seller).await, "750.00");
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn the_demo_showcase_is_ready_to_order_from() {
    let (app, _provider) = rewards_app().await;
    for _ in 0..2 {
        stimul::demo::demo_showcase(&app.state.db, &app.clock, &app.settings.default_program)
            .await
            .expect("showcase loads");
    }
    let seller = app.login("seller1", "demo").await;
    assert_eq!(
        available(&app, &seller).await,
        "1500.00",
        "welcome points paid once"
    );
    let shown = expect_status(
        app.get("/api/v1/rewards", Some(&seller)).await,
        StatusCode::OK,
    )
    .await;
    let kinds: std::collections::BTreeSet<&str> = shown["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["kind"].as_str())
        .collect();
    assert_eq!(shown["items"].as_array().map(Vec::len), Some(7), "{shown}");
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "gift_certificate",
            "goods",
            "merch",
            "phone_topup",
            "virtual_card"
        ]
    );
    assert_eq!(app.count("rewards").await, 8);
    app.assert_ledger_sound().await;
}

/// A full card number used by the payout test: it must never come back out.
const CARD: &str = "4111111111111111";

async fn decide_next(app: &TestApp, moderator: &str, decision: Value) -> Value {
    let taken = expect_status(
        app.post("/api/v1/moderation/next", Some(moderator), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(taken["kind"], "payout", "{taken}");
    let item = taken["id"].as_i64().expect("item");
    expect_status(
        app.post(
            &format!("/api/v1/moderation/items/{item}/decision"),
            Some(moderator),
            &decision,
        )
        .await,
        StatusCode::OK,
    )
    .await
}

async fn my_payout(app: &TestApp, token: &str, id: i64, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let page = expect_status(
            app.get("/api/v1/me/payouts", Some(token)).await,
            StatusCode::OK,
        )
        .await;
        let payout = page["items"]
            .as_array()
            .and_then(|items| items.iter().find(|p| p["id"] == id))
            .cloned()
            .expect("listed");
        if payout["status"] == status {
            return payout;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "payout never became {status}: {payout}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[actix_web::test]
async fn payouts_are_moderated_limited_and_paid_once() {
    let (app, provider) = rewards_app().await;
    let admin = app.login("admin", "demo").await;
    let moderator = app.login("moderator", "demo").await;
    let (_, seller) = seller_with(&app, &admin, "seller8", "20000").await;

    // A card with a typo is refused; a good one is kept only as a token and a mask.
    expect_problem(
        app.post(
            "/api/v1/me/payout-cards",
            Some(&seller),
            &json!({ "number": "4111 1111 1111 1112" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let card = expect_status(
        app.post(
            "/api/v1/me/payout-cards",
            Some(&seller),
            &json!({ "number": "4111 1111 1111 1111" }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(card["masked"], "411111******1111");
    assert_eq!(provider.cards(), [CARD]);
    let card_id = card["id"].as_i64().expect("card id");
    let cards = expect_status(
        app.get("/api/v1/me/payout-cards", Some(&seller)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cards["items"].as_array().map(Vec::len), Some(1));

    // Below the minimum, more than the balance, someone else's card: refused, nothing moves.
    for (body, status, code) in [
        (
            json!({ "card_id": card_id, "amount": "499.99" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "card_id": card_id, "amount": "25000" }),
            StatusCode::CONFLICT,
            "insufficient_points",
        ),
        (
            json!({ "card_id": card_id + 100, "amount": "600" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "card_id": card_id, "amount": 600 }),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
    ] {
        expect_problem(
            app.post("/api/v1/payouts", Some(&seller), &body).await,
            status,
            code,
        )
        .await;
    }
    assert_eq!(available(&app, &seller).await, "20000.00");

    // A payout reserves at once, waits for a moderator, is paid once.
    let mut ws = app.ws(&seller).await;
    ws.subscribe("me").await;
    let body = json!({ "card_id": card_id, "amount": "1000" });
    let requested = expect_status(
        app.post_idempotent("/api/v1/payouts", Some(&seller), &body, "payout-1")
            .await,
        StatusCode::CREATED,
    )
    .await;
    let first = requested["id"].as_i64().expect("id");
    assert_eq!(requested["status"], "review");
    assert_eq!(requested["card"], "411111******1111");
    let again = expect_status(
        app.post_idempotent("/api/v1/payouts", Some(&seller), &body, "payout-1")
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(again["id"], first);
    assert_eq!(available(&app, &seller).await, "19000.00");
    let decided = decide_next(&app, &moderator, json!({ "decision": "approve" })).await;
    assert_eq!(decided["effect"], "applied", "{decided}");
    let paid = my_payout(&app, &seller, first, "paid").await;
    assert!(paid["settled_transaction_id"].is_i64());
    assert_eq!(provider.purchases(), 1);
    assert_eq!(available(&app, &seller).await, "19000.00");
    // Each change is pushed to the seller.
    let approved = ws.next_event("payout_status").await;
    assert_eq!(approved["data"]["payout_id"], first);
    assert_eq!(approved["data"]["status"], "approved");
    let pushed = ws.next_event("payout_status").await;
    assert_eq!(pushed["data"]["status"], "paid");
    let rules = expect_status(
        app.get("/api/v1/me/payout-rules", Some(&seller)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rules["minimum"], "500.00");
    assert_eq!(rules["per_day"], "15000.00");
    assert_eq!(rules["left_today"], "14000.00");
    assert_eq!(rules["left_this_month"], "49000.00");

    // The limits count what was paid and what is waiting: 15,000 a day.
    let second = expect_status(
        app.post_idempotent(
            "/api/v1/payouts",
            Some(&seller),
            &json!({ "card_id": card_id, "amount": "14000" }),
            "payout-2",
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let second = second["id"].as_i64().expect("id");
    let over = expect_problem(
        app.post_idempotent(
            "/api/v1/payouts",
            Some(&seller),
            &json!({ "card_id": card_id, "amount": "500" }),
            "payout-3",
        )
        .await,
        StatusCode::CONFLICT,
        "payout_limit_exceeded",
    )
    .await;
    assert!(
        over["detail"]
            .as_str()
            .is_some_and(|d| d.contains("0.00 left")),
        "{over}"
    );
    assert_eq!(available(&app, &seller).await, "5000.00");
    // Rejected: its points come back, and the day's limit with them.
    decide_next(
        &app,
        &moderator,
        json!({ "decision": "reject", "reason": "other", "comment": "check the card" }),
    )
    .await;
    my_payout(&app, &seller, second, "rejected").await;
    assert_eq!(available(&app, &seller).await, "19000.00");
    expect_status(
        app.post_idempotent(
            "/api/v1/payouts",
            Some(&seller),
            &json!({ "card_id": card_id, "amount": "500" }),
            "payout-4",
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    app.assert_ledger_sound().await;

    // The full number is nowhere in the database.
    assert_card_number_is_not_stored(&app).await;
}

/// Reads the whole database (SQLite's files, or a PostgreSQL dump) and looks for the
/// card number.
async fn assert_card_number_is_not_stored(app: &TestApp) {
    let url = app.settings.database_url();
    let everything: Vec<u8> = if url.starts_with("postgres") {
        let dump = std::process::Command::new("pg_dump")
            .arg("--data-only")
            .arg(&url)
            .output()
            .expect("pg_dump runs");
        assert!(
            dump.status.success(),
            "{}",
            String::from_utf8_lossy(&dump.stderr)
        );
        dump.stdout
    } else {
        let path = url
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .unwrap_or_default()
            .to_string();
        let mut bytes = std::fs::read(&path).expect("database file");
        if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
            bytes.extend(wal);
        }
        bytes
    };
    assert!(!everything.is_empty());
    let found = everything
        .windows(CARD.len())
        .any(|window| window == CARD.as_bytes());
    assert!(!found, "the full card number is stored in the database");
}

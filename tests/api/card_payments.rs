//! Paying the shortfall of an order by card: the order waits in `awaiting_payment`,
//! proceeds only on a payment the provider confirmed (for the amount asked), is
//! cancelled with its points and stock back when nobody pays in time, and a payment
//! taken for an order that ends undelivered is refunded once.

use reqwest::StatusCode;
use serde_json::{Value, json};
use stimul::config::Secret;
use stimul::integrations::signature::sign;

use crate::fake_provider::{Behaviour, FakeProvider};
use crate::helpers::{TestApp, expect_problem, expect_status, spawn_app_with};
use crate::rewards::{available, wait_for_order};

const SECRET: &str = "payments-secret";

async fn payments_app(expire_ms: i64) -> (TestApp, FakeProvider) {
    let provider = FakeProvider::start().await;
    let app = spawn_app_with(|settings| {
        provider.serve(settings);
        settings.payments.callback_secret = Some(Secret::new(SECRET.into()));
        settings.payments.expire_ms = expire_ms;
    })
    .await;
    app.load_demo().await;
    (app, provider)
}

/// A certificate of 500 with `stock`, and seller1 holding 300 points.
async fn certificate_and_seller(app: &TestApp, admin: &str, stock: i64) -> (i64, String) {
    let reward = expect_status(
        app.post(
            "/api/v1/rewards",
            Some(admin),
            &json!({ "sku": "OZON-500", "kind": "gift_certificate", "title": "Ozon 500",
                     "network": "Ozon", "price": "500", "stock": stock }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let seller_id = app.user_id("seller1").await;
    app.award(admin, seller_id, "300").await;
    (
        reward["id"].as_i64().expect("reward id"),
        app.login("seller1", "demo").await,
    )
}

async fn take_cards(app: &TestApp, admin: &str, on: bool) {
    let program = expect_status(
        app.patch(
            "/api/v1/program",
            Some(admin),
            &json!({ "card_payments": on }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(program["card_payments"], on);
}

async fn get_order(app: &TestApp, token: &str, id: i64) -> Value {
    expect_status(
        app.get(&format!("/api/v1/orders/{id}"), Some(token)).await,
        StatusCode::OK,
    )
    .await
}

async fn callback(app: &TestApp, body: &Value, secret: &str) -> reqwest::Response {
    let body = body.to_string();
    app.http
        .post(app.url("/api/v1/providers/payments/callback"))
        .header("Content-Type", "application/json")
        .header("X-Signature", sign(secret, body.as_bytes()))
        .body(body)
        .send()
        .await
        .expect("callback")
}

async fn checkout(app: &TestApp, token: &str, reward: i64, key: &str) -> reqwest::Response {
    app.post_idempotent(
        "/api/v1/orders",
        Some(token),
        &json!({ "items": [{ "reward_id": reward }], "pay_shortfall": true }),
        key,
    )
    .await
}

async fn stock_of(app: &TestApp, reward: i64) -> Option<i64> {
    sqlx::query_scalar("SELECT stock FROM rewards WHERE id = $1")
        .bind(reward)
        .fetch_one(&app.state.db.pool)
        .await
        .expect("stock")
}

#[actix_web::test]
async fn a_shortfall_waits_for_its_card_payment_and_proceeds_only_once_confirmed() {
    let (app, provider) = payments_app(600_000).await;
    let admin = app.login("admin", "demo").await;
    let (reward, seller) = certificate_and_seller(&app, &admin, 10).await;

    // A program that takes no cards: not enough points, nothing written.
    expect_problem(
        checkout(&app, &seller, reward, "pay-0").await,
        StatusCode::CONFLICT,
        "insufficient_points",
    )
    .await;
    assert_eq!(app.count("orders").await, 0);

    take_cards(&app, &admin, true).await;
    // Without asking to pay by card it is still not enough points.
    expect_problem(
        app.post_idempotent(
            "/api/v1/orders",
            Some(&seller),
            &json!({ "items": [{ "reward_id": reward }] }),
            "pay-1",
        )
        .await,
        StatusCode::CONFLICT,
        "insufficient_points",
    )
    .await;

    let mut ws = app.ws(&seller).await;
    ws.subscribe("me").await;
    let placed = expect_status(
        checkout(&app, &seller, reward, "pay-2").await,
        StatusCode::CREATED,
    )
    .await;
    let id = placed["id"].as_i64().expect("order id");
    assert_eq!(placed["status"], "awaiting_payment", "{placed}");
    assert_eq!(placed["total"], "500.00");
    assert_eq!(placed["points"], "300.00");
    assert_eq!(placed["payment"]["amount"], "200.00");
    assert_eq!(placed["payment"]["status"], "pending");
    let payment_id = format!("payment-{id}");
    assert_eq!(
        placed["payment"]["confirmation_url"],
        format!("https://pay.example/{payment_id}"),
        "the checkout's answer carries the payment page"
    );
    assert_eq!(available(&app, &seller).await, "0.00");
    assert_eq!(stock_of(&app, reward).await, Some(9));
    app.assert_ledger_sound().await;
    let event = ws.next_event("order_status").await;
    assert_eq!(event["data"]["status"], "awaiting_payment");

    // The phone retries: the same order, no second payment asked.
    let again = expect_status(
        checkout(&app, &seller, reward, "pay-2").await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(again["id"], id);
    assert_eq!(provider.payments(), 1);

    // A forged callback and a callback for another amount change nothing.
    let paid = json!({ "id": payment_id, "status": "succeeded", "amount": "200.00", "reference": "pay-1" });
    expect_problem(
        callback(&app, &paid, "guessed").await,
        StatusCode::UNAUTHORIZED,
        "invalid_signature",
    )
    .await;
    let short = json!({ "id": payment_id, "status": "succeeded", "amount": "100.00" });
    expect_problem(
        callback(&app, &short, SECRET).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let waiting = get_order(&app, &seller, id).await;
    assert_eq!(waiting["status"], "awaiting_payment");
    assert_eq!(
        provider.purchases(),
        0,
        "nothing is bought before the payment"
    );

    // The provider's signed word: the order goes on, once, however often it is said.
    provider.settle_payment(&payment_id, "succeeded");
    expect_status(callback(&app, &paid, SECRET).await, StatusCode::NO_CONTENT).await;
    expect_status(callback(&app, &paid, SECRET).await, StatusCode::NO_CONTENT).await;
    let done = wait_for_order(&app, &seller, id, |o| o["status"] == "fulfilled").await;
    assert_eq!(done["payment"]["status"], "succeeded");
    assert!(done["payment"]["confirmation_url"].is_null());
    let statuses: Vec<&str> = done["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["status"].as_str())
        .collect();
    assert_eq!(
        statuses,
        ["awaiting_payment", "placed", "processing", "fulfilled"]
    );
    assert_eq!(provider.purchases(), 1);
    assert_eq!(provider.refunds(&payment_id), 0);
    assert_eq!(available(&app, &seller).await, "0.00");
    let redeemed: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) FROM accounts WHERE kind = 'redeemed'",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .expect("redeemed");
    assert_eq!(
        redeemed, 30_000,
        "the points part is captured, the card part is not points"
    );
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn an_unpaid_order_is_cancelled_in_time_and_a_late_payment_is_refunded() {
    let (app, provider) = payments_app(1_500).await;
    let admin = app.login("admin", "demo").await;
    take_cards(&app, &admin, true).await;
    let (reward, seller) = certificate_and_seller(&app, &admin, 1).await;

    let placed = expect_status(
        checkout(&app, &seller, reward, "late-1").await,
        StatusCode::CREATED,
    )
    .await;
    let id = placed["id"].as_i64().expect("order id");
    assert_eq!(stock_of(&app, reward).await, Some(0));

    // Nobody pays: the provider keeps saying pending until the wait runs out.
    let cancelled = wait_for_order(&app, &seller, id, |o| o["status"] == "cancelled").await;
    assert_eq!(cancelled["payment"]["status"], "cancelled");
    assert!(
        cancelled["failure_reason"]
            .as_str()
            .is_some_and(|r| r.contains("in time")),
        "{cancelled}"
    );
    assert_eq!(available(&app, &seller).await, "300.00");
    assert_eq!(stock_of(&app, reward).await, Some(1));
    app.assert_ledger_sound().await;

    // The buyer pays after all: the money goes back, the order stays cancelled.
    let payment_id = format!("payment-{id}");
    provider.settle_payment(&payment_id, "succeeded");
    let paid = json!({ "id": payment_id, "status": "succeeded", "amount": "200.00" });
    expect_status(callback(&app, &paid, SECRET).await, StatusCode::NO_CONTENT).await;
    let refunded =
        wait_for_order(&app, &seller, id, |o| o["payment"]["status"] == "refunded").await;
    assert_eq!(refunded["status"], "cancelled");
    assert_eq!(provider.refunds(&payment_id), 1);
    assert_eq!(provider.purchases(), 0);
    assert_eq!(available(&app, &seller).await, "300.00");
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn a_paid_order_the_provider_cannot_deliver_returns_points_and_money() {
    let (app, provider) = payments_app(600_000).await;
    let admin = app.login("admin", "demo").await;
    take_cards(&app, &admin, true).await;
    let (reward, seller) = certificate_and_seller(&app, &admin, 5).await;
    let placed = expect_status(
        checkout(&app, &seller, reward, "fail-1").await,
        StatusCode::CREATED,
    )
    .await;
    let id = placed["id"].as_i64().expect("order id");
    // The certificate provider declines the order once it is paid.
    provider.script([Behaviour::Declined]);
    let payment_id = format!("payment-{id}");
    // No callback this time: the server learns of the payment by asking.
    provider.settle_payment(&payment_id, "succeeded");
    let failed = wait_for_order(&app, &seller, id, |o| {
        o["status"] == "failed" && o["payment"]["status"] == "refunded"
    })
    .await;
    assert!(
        failed["failure_reason"]
            .as_str()
            .is_some_and(|r| r.contains("out of certificates")),
        "{failed}"
    );
    assert_eq!(provider.refunds(&payment_id), 1);
    assert_eq!(available(&app, &seller).await, "300.00");
    assert_eq!(stock_of(&app, reward).await, Some(5));
    app.assert_ledger_sound().await;

    // A declined card cancels the next order at once, points back.
    let second = expect_status(
        checkout(&app, &seller, reward, "fail-2").await,
        StatusCode::CREATED,
    )
    .await;
    let second_id = second["id"].as_i64().expect("order id");
    provider.settle_payment(&format!("payment-{second_id}"), "failed");
    let declined = wait_for_order(&app, &seller, second_id, |o| o["status"] == "cancelled").await;
    assert_eq!(declined["payment"]["status"], "cancelled");
    assert_eq!(available(&app, &seller).await, "300.00");
    assert_eq!(provider.refunds(&format!("payment-{second_id}")), 0);
    app.assert_ledger_sound().await;
}

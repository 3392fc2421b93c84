//! Points expiry by lots: debits (adjustments, orders) take the lots that expire first,
//! due points cannot be spent, a run moves exactly what is left of due lots once (a
//! second run, two runs at once and a second node move nothing again), participants
//! with nothing due are untouched, each expiry date is warned once, and the rule is
//! checked and applies to new lots only. Every test ends with the ledger invariants.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use stimul::startup::{Application, Overrides};

use crate::helpers::{TestApp, expect_problem, expect_status, spawn_app_with};

const DAY: Duration = Duration::from_secs(86_400);

/// A demo app with `page_size` participants per page of a run, nightly runs looked
/// for every `nightly_check_ms` (0: runs are started by hand only), and no owner's
/// share, so each credit forms one lot (the owner's share would form the owner's).
pub(crate) async fn expiry_app(page_size: i64, nightly_check_ms: u64) -> TestApp {
    let app = spawn_app_with(|settings| {
        settings.expiry.nightly_check_ms = nightly_check_ms;
        settings.expiry.page_size = page_size;
    })
    .await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    expect_status(
        app.patch(
            "/api/v1/program",
            Some(&admin),
            &json!({ "owner_share_percent": "0" }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    app
}

async fn set_rule(app: &TestApp, admin: &str, body: Value) -> Value {
    expect_status(
        app.put("/api/v1/expiry/rule", Some(admin), &body).await,
        StatusCode::OK,
    )
    .await
}

fn decimal(value: &Value) -> Decimal {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("not a decimal string: {value}"))
}

async fn available(app: &TestApp, admin: &str, user: i64) -> Decimal {
    decimal(&app.standing(admin, user).await["balance"]["available"])
}

async fn adjust(
    app: &TestApp,
    admin: &str,
    user: i64,
    amount: &str,
    key: &str,
) -> reqwest::Response {
    app.post_idempotent(
        &format!("/api/v1/participants/{user}/adjustments"),
        Some(admin),
        &json!({ "amount": amount, "comment": "expiry test" }),
        key,
    )
    .await
}

/// Starts a run and waits until it has finished, answering it.
pub(crate) async fn run_to_the_end(app: &TestApp, admin: &str) -> Value {
    let started = expect_status(
        app.post("/api/v1/expiry/runs", Some(admin), &json!({}))
            .await,
        StatusCode::ACCEPTED,
    )
    .await;
    wait_for_run(app, admin, started["id"].as_i64().expect("run id")).await
}

async fn wait_for_run(app: &TestApp, admin: &str, id: i64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let run = expect_status(
            app.get(&format!("/api/v1/expiry/runs/{id}"), Some(admin))
                .await,
            StatusCode::OK,
        )
        .await;
        if run["status"] == "finished" {
            return run;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "run never finished: {run}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn history(app: &TestApp, token: &str) -> Vec<Value> {
    let page = expect_status(
        app.get("/api/v1/me/transactions?limit=100", Some(token))
            .await,
        StatusCode::OK,
    )
    .await;
    page["items"].as_array().cloned().unwrap_or_default()
}

async fn expiry_transactions(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM ledger_transactions WHERE reason = 'expiry'")
        .fetch_one(&app.state.db.pool)
        .await
        .expect("count")
}

#[actix_web::test]
async fn debits_take_the_soonest_lots_and_a_run_expires_exactly_what_is_left_of_due_lots() {
    let app = expiry_app(200, 0).await;
    let admin = app.login("admin", "demo").await;
    let seller = app.user_id("seller1").await;
    let token = app.login("seller1", "demo").await;
    let neighbour = app.user_id("seller2").await;
    // Demo history left points from before any rule: untracked, they never expire.
    let untracked = available(&app, &admin, seller).await;

    let settings = set_rule(
        &app,
        &admin,
        json!({ "rule": { "kind": "after_days", "days": 10 }, "warn_days": 3 }),
    )
    .await;
    assert_eq!(settings["rule"]["kind"], "after_days");
    assert!(settings["since"].is_i64());

    app.award(&admin, seller, "100").await; // lot A, gone at the start of day 11
    app.clock.advance(2 * DAY);
    app.award(&admin, seller, "50").await; // lot B, two days later
    app.award(&admin, neighbour, "10").await;
    let neighbour_before = available(&app, &admin, neighbour).await;

    // A correction and an order both take from A, the lot that expires first.
    expect_status(
        adjust(&app, &admin, seller, "-30", "fix-1").await,
        StatusCode::CREATED,
    )
    .await;
    app.order_goods(&admin, &token, "MUG", "20", "mug-1").await;
    let lines = history(&app, &token).await;
    let taken = |reason: &str| -> Vec<Value> {
        lines
            .iter()
            .find(|line| line["reason"] == reason)
            .and_then(|line| line["lots"].as_array().cloned())
            .unwrap_or_default()
    };
    assert_eq!(taken("adjustment").len(), 1, "{lines:?}");
    assert_eq!(taken("adjustment")[0]["amount"], "30.00");
    assert_eq!(taken("order").len(), 1, "{lines:?}");
    assert_eq!(taken("order")[0]["amount"], "20.00");

    let me = expect_status(app.get("/api/v1/me", Some(&token)).await, StatusCode::OK).await;
    assert_eq!(me["expiring"]["amount"], "50.00", "what is left of A: {me}");
    let a_expires = me["expiring"]["at"].as_i64().expect("at");

    // Ten days on, A is due: its 50 are gone, and no debit may spend them.
    app.clock.advance(10 * DAY);
    assert!(app.clock.now_ms() >= a_expires);
    let balance = available(&app, &admin, seller).await;
    assert_eq!(balance, untracked + Decimal::from(100));
    let too_much = (balance - Decimal::from(50) + Decimal::new(1, 2)).to_string();
    expect_problem(
        adjust(&app, &admin, seller, &format!("-{too_much}"), "fix-2").await,
        StatusCode::CONFLICT,
        "insufficient_points",
    )
    .await;
    let lifetime = app.standing(&admin, seller).await["balance"]["lifetime"].clone();

    let run = run_to_the_end(&app, &admin).await;
    assert_eq!(run["participants_due"], 1, "{run}");
    assert_eq!(run["points_due"], "50.00");
    assert_eq!(run["participants_done"], 1);
    assert_eq!(run["points_expired"], "50.00");
    assert_eq!(
        run["warnings"], 2,
        "B and the neighbour's lot expire within 3 days: {run}"
    );
    assert_eq!(
        available(&app, &admin, seller).await,
        untracked + Decimal::from(50)
    );
    assert_eq!(
        available(&app, &admin, neighbour).await,
        neighbour_before,
        "nothing due, untouched"
    );
    assert_eq!(
        app.standing(&admin, seller).await["balance"]["lifetime"],
        lifetime,
        "expiry is not a correction of what was earned"
    );
    let earned: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(earned), 0) AS BIGINT) FROM ledger_transactions WHERE reason = 'expiry'",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .expect("earned");
    assert_eq!(
        earned, 0,
        "boards and store progress rank what was earned, not what is left"
    );
    let lines = history(&app, &token).await;
    let expiry = lines
        .iter()
        .find(|line| line["reason"] == "expiry")
        .expect("expiry line");
    assert_eq!(expiry["amount"], "-50.00");
    assert_eq!(expiry["lots"].as_array().map(Vec::len), Some(1));
    assert_eq!(expiry["lots"][0]["amount"], "50.00");

    // Again: nothing is due, nothing moves, nobody is warned twice.
    let again = run_to_the_end(&app, &admin).await;
    assert_eq!(
        (
            again["participants_due"].as_i64(),
            again["warnings"].as_i64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(again["points_expired"], "0.00");
    assert_eq!(expiry_transactions(&app).await, 1);
    assert_eq!(
        available(&app, &admin, seller).await,
        untracked + Decimal::from(50)
    );

    // What is left now is B, next to go; the snapshot on `me` says so too.
    let me = expect_status(app.get("/api/v1/me", Some(&token)).await, StatusCode::OK).await;
    assert_eq!(me["expiring"]["amount"], "50.00");
    assert!(me["expiring"]["at"].as_i64() > Some(a_expires));
    let mut ws = app.ws(&token).await;
    ws.subscribe("me").await;
    let snapshot = ws.next_of("snapshot").await;
    assert_eq!(snapshot["data"]["expiring"], me["expiring"]);
    let coming = expect_status(
        app.get("/api/v1/me/expiring", Some(&token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(coming.as_array().map(Vec::len), Some(1), "{coming}");
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn runs_at_once_and_a_second_node_move_each_participants_points_once() {
    // Pages of two: five participants take three pages.
    let app = expiry_app(2, 0).await;
    let admin = app.login("admin", "demo").await;
    set_rule(
        &app,
        &admin,
        json!({ "rule": { "kind": "after_days", "days": 1 }, "warn_days": 0 }),
    )
    .await;
    let mut sellers = Vec::new();
    for n in 1..=5 {
        let id = app.user_id(&format!("seller{n}")).await;
        app.award(&admin, id, &format!("{n}.25")).await;
        sellers.push(id);
    }
    app.clock.advance(3 * DAY);
    let second = Application::build_with(
        app.settings.clone(),
        Overrides {
            clock: Some(app.clock.clone()),
            ..Overrides::default()
        },
    )
    .await
    .expect("a second node builds");
    let second_address = format!("http://127.0.0.1:{}", second.port());
    let handle = second.server_handle();
    actix_web::rt::spawn(second.run_until_stopped());

    let http = reqwest::Client::new();
    let starts = join_all(
        [
            app.url("/api/v1/expiry/runs"),
            app.url("/api/v1/expiry/runs"),
            format!("{second_address}/api/v1/expiry/runs"),
        ]
        .map(|url| {
            let http = http.clone();
            let admin = admin.clone();
            async move {
                let response = http
                    .post(url)
                    .bearer_auth(admin)
                    .json(&json!({}))
                    .send()
                    .await
                    .expect("sent");
                assert_eq!(response.status(), StatusCode::ACCEPTED);
                response.json::<Value>().await.expect("run")["id"]
                    .as_i64()
                    .expect("id")
            }
        }),
    )
    .await;
    let mut expired = Decimal::ZERO;
    for id in starts {
        expired += decimal(&wait_for_run(&app, &admin, id).await["points_expired"]);
    }
    // 1.25 + 2.25 + 3.25 + 4.25 + 5.25, whichever run moved each.
    assert_eq!(expired, Decimal::new(1625, 2));
    assert_eq!(expiry_transactions(&app).await, 5);
    let moved: i64 = sqlx::query_scalar("SELECT balance FROM accounts WHERE kind = 'expired'")
        .fetch_one(&app.state.db.pool)
        .await
        .expect("expired account");
    assert_eq!(moved, 1625);
    handle.stop(true).await;
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn the_rule_is_checked_and_a_change_applies_to_new_lots_only() {
    let app = expiry_app(200, 0).await;
    let admin = app.login("admin", "demo").await;
    let seller = app.user_id("seller3").await;
    let token = app.login("seller3", "demo").await;
    let before = expect_status(
        app.get("/api/v1/expiry/rule", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(before["rule"]["kind"], "never");
    assert_eq!(before["forecast"], json!([]));
    for (body, field) in [
        (
            json!({ "rule": { "kind": "after_days", "days": 0 } }),
            "rule",
        ),
        (json!({ "rule": { "kind": "sometimes" } }), "rule"),
        (
            json!({ "rule": { "kind": "end_of_period", "period": "week", "then": 1 } }),
            "rule",
        ),
        (json!({ "warn_days": 91 }), "warn_days"),
    ] {
        let problem = expect_problem(
            app.put("/api/v1/expiry/rule", Some(&admin), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    expect_problem(
        app.put(
            "/api/v1/expiry/rule",
            Some(&token),
            &json!({ "warn_days": 1 }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.post("/api/v1/expiry/runs", Some(&token), &json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let unchanged = expect_status(
        app.get("/api/v1/expiry/rule", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(unchanged, before, "refusals change nothing");

    // Credited under "the end of next quarter", a lot keeps that date when the rule
    // becomes "30 days"; the next credit gets 30 days.
    set_rule(
        &app,
        &admin,
        json!({ "rule": { "kind": "end_of_period", "period": "quarter", "then": 1 } }),
    )
    .await;
    app.award(&admin, seller, "40").await;
    let first = expect_status(
        app.get("/api/v1/me/expiring", Some(&token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(first.as_array().map(Vec::len), Some(1));
    let settings = set_rule(
        &app,
        &admin,
        json!({ "rule": { "kind": "after_days", "days": 30 } }),
    )
    .await;
    assert!(
        settings["applies_to"]
            .as_str()
            .is_some_and(|text| text.contains("earlier points keep"))
    );
    app.award(&admin, seller, "5").await;
    let coming = expect_status(
        app.get("/api/v1/me/expiring", Some(&token)).await,
        StatusCode::OK,
    )
    .await;
    let coming = coming.as_array().cloned().unwrap_or_default();
    assert_eq!(coming.len(), 2, "{coming:?}");
    assert_eq!(
        (coming[0]["amount"].as_str(), coming[1]["amount"].as_str()),
        (Some("5.00"), Some("40.00"))
    );
    assert_eq!(coming[1], first[0], "the first lot kept its date");
    let forecast = expect_status(
        app.get("/api/v1/expiry/rule", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        forecast["forecast"].as_array().map(Vec::len),
        Some(2),
        "{forecast}"
    );
    assert_eq!(forecast["forecast"][0]["participants"], 1);
    assert_eq!(app.audited("expiry.rule").await, 2);
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn the_nightly_run_starts_by_itself_once_a_day() {
    let app = expiry_app(200, 50).await;
    let admin = app.login("admin", "demo").await;
    let seller = app.user_id("seller4").await;
    set_rule(
        &app,
        &admin,
        json!({ "rule": { "kind": "after_days", "days": 1 } }),
    )
    .await;
    app.award(&admin, seller, "7").await;
    app.clock.advance(3 * DAY);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let runs = expect_status(
            app.get("/api/v1/expiry/runs", Some(&admin)).await,
            StatusCode::OK,
        )
        .await;
        let moved = runs["items"].as_array().into_iter().flatten().any(|run| {
            run["nightly"] == true && run["status"] == "finished" && run["points_expired"] == "7.00"
        });
        if moved {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no nightly run moved the points: {runs}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let runs = expect_status(
        app.get("/api/v1/expiry/runs", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    let nightly_today = runs["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|run| run["nightly"] == true && run["points_expired"] == "7.00")
        .count();
    assert_eq!(nightly_today, 1, "one nightly run a day: {runs}");
    assert_eq!(expiry_transactions(&app).await, 1);
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn a_cancelled_order_gives_its_points_back_to_their_lots_without_renewing_them() {
    let app = expiry_app(200, 0).await;
    let admin = app.login("admin", "demo").await;
    let seller = app.user_id("seller1").await;
    let token = app.login("seller1", "demo").await;
    set_rule(
        &app,
        &admin,
        json!({ "rule": { "kind": "after_days", "days": 10 }, "warn_days": 3 }),
    )
    .await;
    app.award(&admin, seller, "100").await;
    let me = expect_status(app.get("/api/v1/me", Some(&token)).await, StatusCode::OK).await;
    let first = me["expiring"].clone();
    assert_eq!(first["amount"], "100.00", "{me}");

    // Five days on, the seller orders and the order is cancelled (by staff: it may be
    // processing already): the points go back to the lot they came from, which still
    // expires on its own date; no new lot is formed.
    app.clock.advance(5 * DAY);
    let order = app
        .order_goods(&admin, &token, "KETTLE", "60", "kettle-1")
        .await;
    let me = expect_status(app.get("/api/v1/me", Some(&token)).await, StatusCode::OK).await;
    assert_eq!(me["expiring"]["amount"], "40.00", "{me}");
    expect_status(
        app.post(
            &format!("/api/v1/orders/{order}/cancel"),
            Some(&admin),
            &json!({ "reason": "out of kettles" }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let me = expect_status(app.get("/api/v1/me", Some(&token)).await, StatusCode::OK).await;
    assert_eq!(me["expiring"], first, "the same lot, the same date: {me}");
    let lots: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM point_lots WHERE participant_id = $1")
        .bind(seller)
        .fetch_one(&app.state.db.pool)
        .await
        .expect("lots");
    assert_eq!(lots, 1);

    // When the lot is due, all of it expires.
    app.clock.advance(6 * DAY);
    let run = run_to_the_end(&app, &admin).await;
    assert_eq!(run["points_expired"], "100.00", "{run}");
    app.assert_ledger_sound().await;
}

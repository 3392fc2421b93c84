//! Campaigns, products, code registration with anti-fraud, and leaderboards.

use std::time::Duration;

use futures_util::future::join_all;
use rand::SeedableRng;
use rand::rngs::StdRng;
use reqwest::StatusCode;
use serde_json::{Value, json};
use stimul_actors::rules::codes::{CodeShard, ProductCode};

use crate::helpers::{TestApp, expect_problem, expect_status, spawn_app, spawn_app_with};

/// The demo campaign's id and its products' ids by SKU.
pub(crate) async fn demo_campaign(app: &TestApp, token: &str) -> (i64, Value) {
    let campaigns = expect_status(
        app.get("/api/v1/campaigns", Some(token)).await,
        StatusCode::OK,
    )
    .await;
    let campaign = campaigns["items"]
        .as_array()
        .and_then(|items| items.iter().find(|c| c["name"] == "AquaLine winter"))
        .cloned()
        .expect("the demo campaign is listed");
    (campaign["id"].as_i64().expect("id"), campaign)
}

pub(crate) fn product_id(campaign: &Value, sku: &str) -> i64 {
    campaign["products"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["sku"] == sku))
        .and_then(|p| p["product_id"].as_i64())
        .expect("product in campaign")
}

/// Puts `n` fresh codes of `product` straight into the issued state (the pool and
/// issuance have their own tests), returning them as printed.
pub(crate) async fn issue(app: &TestApp, product: i64, n: usize, seed: u64) -> Vec<String> {
    let db = &app.state.db.pool;
    let program: i64 = sqlx::query_scalar("SELECT program_id FROM products WHERE id = $1")
        .bind(product)
        .fetch_one(db)
        .await
        .expect("product");
    sqlx::query(
        "INSERT INTO code_pools (program_id, name, target_size, low_watermark, created_at)
         VALUES ($1, 'test', 1000, 0, 0) ON CONFLICT (program_id, name) DO NOTHING",
    )
    .bind(program)
    .execute(db)
    .await
    .expect("pool");
    let pool: i64 =
        sqlx::query_scalar("SELECT id FROM code_pools WHERE program_id = $1 AND name = 'test'")
            .bind(program)
            .fetch_one(db)
            .await
            .expect("pool id");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut codes = Vec::new();
    for _ in 0..n {
        let code = CodeShard::WHOLE.random_code(&mut rng);
        sqlx::query(
            "INSERT INTO codes (code, pool_id, status, product_id, created_at) VALUES ($1, $2, 'issued', $3, 0)",
        )
        .bind(code.as_str())
        .bind(pool)
        .bind(product)
        .execute(db)
        .await
        .expect("code");
        codes.push(code.to_string());
    }
    codes
}

async fn register(app: &TestApp, token: &str, code: &str) -> reqwest::Response {
    app.post(
        "/api/v1/codes/register",
        Some(token),
        &json!({ "code": code }),
    )
    .await
}

async fn me(app: &TestApp, token: &str) -> Value {
    expect_status(app.get("/api/v1/me", Some(token)).await, StatusCode::OK).await
}

/// A code that passes the check letter but was never issued.
fn unknown_code(seed: u64) -> String {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    CodeShard::WHOLE.random_code(&mut rng).to_string()
}

/// `code` with its first letter replaced by another code letter.
fn mistype(code: &str) -> String {
    let mut chars: Vec<char> = code.chars().collect();
    chars[0] = if chars[0] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

#[actix_web::test]
async fn a_code_pays_its_product_with_multiplier_and_owner_share_once_ever() {
    let app = spawn_app().await;
    app.load_demo().await;
    let seller = app.login("seller1", "demo").await;
    let other = app.login("seller2", "demo").await;
    let owner = app.login("owner1", "demo").await;
    let (campaign, body) = demo_campaign(&app, &seller).await;
    let siphons = product_id(&body, "AQ-SIF-6");
    let codes = issue(&app, siphons, 3, 1).await;

    // 2.50 per unit × a pack of 6, level 1 (×1), owner share 5 %.
    let first = expect_status(
        app.post_idempotent(
            "/api/v1/codes/register",
            Some(&seller),
            &json!({ "code": codes[0].to_lowercase() }),
            "reg-1",
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(first["status"], "credited");
    assert_eq!(first["points"], "15.00");
    assert_eq!(first["product"]["sku"], "AQ-SIF-6");
    assert_eq!(first["campaign_id"], campaign);
    assert_eq!(me(&app, &seller).await["balance"]["available"], "15.00");
    assert_eq!(me(&app, &owner).await["balance"]["available"], "0.75");

    // The phone retries with the same key: the same answer, nothing moves again.
    let retry = expect_status(
        app.post_idempotent(
            "/api/v1/codes/register",
            Some(&seller),
            &json!({ "code": codes[0].to_lowercase() }),
            "reg-1",
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(retry["transaction_id"], first["transaction_id"]);
    // A new registration of the same code, by anyone, is refused.
    expect_problem(
        register(&app, &seller, &codes[0]).await,
        StatusCode::CONFLICT,
        "code_already_registered",
    )
    .await;
    expect_problem(
        register(&app, &other, &codes[0]).await,
        StatusCode::CONFLICT,
        "code_already_registered",
    )
    .await;
    assert_eq!(me(&app, &seller).await["balance"]["available"], "15.00");

    // The QR payload carries the same code.
    let qr = format!("STIMUL:C:{}", codes[1].replace('-', ""));
    let scanned = expect_status(register(&app, &other, &qr).await, StatusCode::CREATED).await;
    assert_eq!(scanned["code"], codes[1]);
    let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM code_attempts")
        .fetch_one(&app.state.db.pool)
        .await
        .expect("count");
    assert_eq!(
        attempts, 4,
        "every decision is logged, replays are not attempts"
    );
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn parallel_registrations_of_one_code_credit_exactly_once() {
    let app = spawn_app().await;
    app.load_demo().await;
    let mut tokens = Vec::new();
    for n in 1..=5 {
        tokens.push(app.login(&format!("seller{n}"), "demo").await);
    }
    let (_, body) = demo_campaign(&app, &tokens[0]).await;
    let code = issue(&app, product_id(&body, "AQ-MIX-100"), 1, 2)
        .await
        .remove(0);
    let app_ref = &app;
    let code_ref = &code;
    // Each seller twice, all at once.
    let answers = join_all(
        tokens
            .iter()
            .enumerate()
            .chain(tokens.iter().enumerate())
            .map(|(seller, token)| async move {
                (seller, register(app_ref, token, code_ref).await.status())
            }),
    )
    .await;
    let winners: std::collections::BTreeSet<usize> = answers
        .iter()
        .filter(|(_, status)| *status == StatusCode::CREATED)
        .map(|(seller, _)| *seller)
        .collect();
    // One seller gets the code. Their own second request may find the claim still
    // being credited and finish it (the same credit, answered 201 again: a phone that
    // sent twice learns of the one registration) or find it done (409); everyone
    // else is refused.
    assert_eq!(winners.len(), 1, "{answers:?}");
    assert!(
        answers.iter().all(|(seller, status)| {
            *status == StatusCode::CONFLICT
                || (*status == StatusCode::CREATED && winners.contains(seller))
        }),
        "{answers:?}"
    );
    let credits: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM ledger_transactions WHERE reason = 'code' AND source_id = $1",
    )
    .bind(code.replace('-', ""))
    .fetch_one(&app.state.db.pool)
    .await
    .expect("count");
    assert_eq!(credits, 1);
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn refusals_say_why_and_change_nothing() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let seller = app.login("seller1", "demo").await;
    let (campaign, body) = demo_campaign(&app, &seller).await;
    let codes = issue(&app, product_id(&body, "AQ-MIX-100"), 3, 3).await;

    let problem = expect_problem(
        register(&app, &seller, &mistype(&codes[0])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "code_mistyped",
    )
    .await;
    assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
    expect_problem(
        register(&app, &seller, "ABC").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "code_mistyped",
    )
    .await;
    expect_problem(
        register(&app, &seller, &unknown_code(3)).await,
        StatusCode::NOT_FOUND,
        "code_unknown",
    )
    .await;
    expect_problem(
        register(&app, &admin, &codes[0]).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    // Paused: inactive.
    let path = format!("/api/v1/campaigns/{campaign}");
    expect_status(
        app.patch(&path, Some(&admin), &json!({ "status": "paused" }))
            .await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        register(&app, &seller, &codes[0]).await,
        StatusCode::CONFLICT,
        "campaign_inactive",
    )
    .await;
    // Running again, but only for Saint Petersburg: seller1 is in Moscow.
    let petersburg: i64 =
        sqlx::query_scalar("SELECT id FROM regions WHERE name = 'Saint Petersburg'")
            .fetch_one(&app.state.db.pool)
            .await
            .expect("region");
    expect_status(
        app.patch(
            &path,
            Some(&admin),
            &json!({ "status": "active", "audience": { "regions": [petersburg] } }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        register(&app, &seller, &codes[0]).await,
        StatusCode::FORBIDDEN,
        "not_eligible",
    )
    .await;
    let seller11 = app.login("seller11", "demo").await;
    expect_status(
        register(&app, &seller11, &codes[0]).await,
        StatusCode::CREATED,
    )
    .await;
    // The campaign is invisible to those outside its audience.
    expect_problem(
        app.get(&path, Some(&seller)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Over: finished campaigns never pay again.
    expect_status(
        app.patch(&path, Some(&admin), &json!({ "status": "finished" }))
            .await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        register(&app, &seller11, &codes[1]).await,
        StatusCode::CONFLICT,
        "campaign_inactive",
    )
    .await;
    expect_problem(
        app.patch(&path, Some(&admin), &json!({ "status": "active" }))
            .await,
        StatusCode::CONFLICT,
        "invalid_state",
    )
    .await;
    assert_eq!(me(&app, &seller).await["balance"]["available"], "0.00");
    let still_issued: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM codes WHERE status = 'issued'")
            .fetch_one(&app.state.db.pool)
            .await
            .expect("count");
    assert_eq!(still_issued, 2);
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn rate_limits_and_brute_force_block() {
    let app = spawn_app_with(|settings| {
        settings.fraud.participant_per_minute = 6;
        settings.fraud.failures_to_hold = 100;
        settings.fraud.failures_to_block = 10;
    })
    .await;
    app.load_demo().await;
    let seller = app.login("seller1", "demo").await;
    let (_, body) = demo_campaign(&app, &seller).await;
    let codes = issue(&app, product_id(&body, "AQ-FLT-3"), 2, 4).await;

    // Six attempts a minute, then 429 until the minute has passed.
    for n in 0..6 {
        let response = register(&app, &seller, &unknown_code(100 + n)).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let limited = expect_problem(
        register(&app, &seller, &codes[0]).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    assert!(limited["retry_after"].as_u64().is_some());
    app.clock.advance(Duration::from_secs(61));
    // Guessing: four more failures make ten in the hour, and the next attempt is
    // blocked, even with a real code.
    for n in 0..4 {
        register(&app, &seller, &unknown_code(200 + n)).await;
    }
    expect_problem(
        register(&app, &seller, &codes[0]).await,
        StatusCode::TOO_MANY_REQUESTS,
        "code_attempts_blocked",
    )
    .await;
    assert_eq!(me(&app, &seller).await["balance"]["available"], "0.00");
    // Another seller of the same store is not blocked.
    let colleague = app.login("seller2", "demo").await;
    expect_status(
        register(&app, &colleague, &codes[1]).await,
        StatusCode::CREATED,
    )
    .await;
    // An hour later the block is over.
    app.clock.advance(Duration::from_secs(3601));
    expect_status(
        register(&app, &seller, &codes[0]).await,
        StatusCode::CREATED,
    )
    .await;
    let blocked: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM code_attempts WHERE outcome = 'blocked'")
            .fetch_one(&app.state.db.pool)
            .await
            .expect("count");
    assert_eq!(
        blocked, 2,
        "refusals by the gate are logged with their reason"
    );
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn a_code_others_tried_first_waits_for_a_moderator() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let moderator = app.login("moderator", "demo").await;
    let seller = app.login("seller1", "demo").await;
    let stranger = app.login("seller11", "demo").await;
    let (campaign, body) = demo_campaign(&app, &seller).await;
    let codes = issue(&app, product_id(&body, "AQ-MIX-100"), 2, 5).await;
    let moscow: i64 = sqlx::query_scalar("SELECT id FROM regions WHERE name = 'Moscow'")
        .fetch_one(&app.state.db.pool)
        .await
        .expect("region");
    expect_status(
        app.patch(
            &format!("/api/v1/campaigns/{campaign}"),
            Some(&admin),
            &json!({ "audience": { "regions": [moscow] } }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    // A seller from another city tries both codes first (refused: not eligible)...
    for code in &codes {
        expect_problem(
            register(&app, &stranger, code).await,
            StatusCode::FORBIDDEN,
            "not_eligible",
        )
        .await;
    }
    // ...so their registration in Moscow is held, points pending.
    for code in &codes {
        let held = expect_status(register(&app, &seller, code).await, StatusCode::CREATED).await;
        assert_eq!(held["status"], "pending");
        assert_eq!(held["review_reason"], "shared_code");
    }
    let balance = me(&app, &seller).await["balance"].clone();
    assert_eq!(
        (balance["available"].as_str(), balance["pending"].as_str()),
        (Some("0.00"), Some("50.00"))
    );

    // The moderator approves one and rejects the other.
    for decision in ["approve", "reject"] {
        let item = expect_status(
            app.post("/api/v1/moderation/next", Some(&moderator), &json!({}))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(item["kind"], "code_review");
        let body = if decision == "approve" {
            json!({ "decision": "approve" })
        } else {
            json!({ "decision": "reject", "reason": "suspected_fraud" })
        };
        expect_status(
            app.post(
                &format!("/api/v1/moderation/items/{}/decision", item["id"]),
                Some(&moderator),
                &body,
            )
            .await,
            StatusCode::OK,
        )
        .await;
    }
    let balance = me(&app, &seller).await["balance"].clone();
    assert_eq!(
        (balance["available"].as_str(), balance["pending"].as_str()),
        (Some("25.00"), Some("0.00"))
    );
    // The rejected code is back in circulation; the approved one is spent.
    let statuses: Vec<String> = sqlx::query_scalar("SELECT status FROM codes ORDER BY status")
        .fetch_all(&app.state.db.pool)
        .await
        .expect("statuses");
    assert_eq!(statuses, ["issued", "registered"]);
    app.assert_ledger_sound().await;
}

/// A new product (`sku`, packs of 2) and a draft campaign paying 10.00 a unit of it
/// from a fund of 30.00; `extra` adds to the campaign's body. Returns (product, campaign).
async fn valve_campaign(app: &TestApp, admin: &str, sku: &str, extra: Value) -> (i64, Value) {
    let product = expect_status(
        app.post(
            "/api/v1/products",
            Some(admin),
            &json!({ "sku": sku, "name": format!("Valve {sku}"), "pack_size": 2 }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let product = product["id"].as_i64().expect("id");
    let mut body = json!({
        "name": format!("Valves {sku}"), "starts_on": "2020-01-01", "ends_on": "2099-12-31",
        "budget": "30.00", "products": [{ "product_id": product, "points_per_unit": "10.00" }],
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let campaign = expect_status(
        app.post("/api/v1/campaigns", Some(admin), &body).await,
        StatusCode::CREATED,
    )
    .await;
    (product, campaign)
}

#[actix_web::test]
async fn campaigns_pay_from_their_fund_and_budgets_only_grow() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let seller = app.login("seller1", "demo").await;
    let (product, created) = valve_campaign(&app, &admin, "TEST-1", json!({})).await;
    assert_eq!(created["status"], "draft");
    assert_eq!(created["products"][0]["points_per_code"], "20.00");
    let id = created["id"].as_i64().expect("id");
    let path = format!("/api/v1/campaigns/{id}");
    let codes = issue(&app, product, 3, 6).await;
    expect_problem(
        register(&app, &seller, &codes[0]).await,
        StatusCode::CONFLICT,
        "campaign_inactive",
    )
    .await;
    let active = expect_status(
        app.patch(&path, Some(&admin), &json!({ "status": "active" }))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(active["fund_balance"], "30.00");
    expect_status(
        register(&app, &seller, &codes[0]).await,
        StatusCode::CREATED,
    )
    .await;
    // 9.00 left (the fund pays the owner's 5 % too): not enough for 20.00.
    expect_problem(
        register(&app, &seller, &codes[1]).await,
        StatusCode::CONFLICT,
        "fund_exhausted",
    )
    .await;
    expect_problem(
        app.patch(&path, Some(&admin), &json!({ "budget": "20.00" }))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let raised = expect_status(
        app.patch(&path, Some(&admin), &json!({ "budget": "100.00" }))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(raised["fund_balance"], "79.00");
    // The refused code was given back, so it registers now.
    expect_status(
        register(&app, &seller, &codes[1]).await,
        StatusCode::CREATED,
    )
    .await;
    // Bad input names its fields and changes nothing.
    let bad = expect_problem(
        app.post(
            "/api/v1/campaigns",
            Some(&admin),
            &json!({ "name": "", "starts_on": "2026-02-01", "ends_on": "2026-01-01", "budget": "-1",
                     "products": [{ "product_id": 999999, "points_per_unit": "0" }] }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = bad["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str())
        .collect();
    for field in [
        "name",
        "budget",
        "ends_on",
        "products[0].points_per_unit",
        "products",
    ] {
        assert!(fields.contains(&field), "{field} missing from {fields:?}");
    }
    // A seller cannot create campaigns; the brand of another brand cannot edit this one.
    expect_problem(
        app.post("/api/v1/campaigns", Some(&seller), &created).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let brand = app.login("brand", "demo").await;
    expect_problem(
        app.patch(&path, Some(&brand), &json!({ "budget": "500.00" }))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn a_campaign_with_overdraft_pays_past_its_fund_and_pays_only_what_it_holds_after() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let seller = app.login("seller1", "demo").await;
    let (product, created) =
        valve_campaign(&app, &admin, "TEST-OD", json!({ "allow_overdraft": true })).await;
    assert_eq!(created["allow_overdraft"], true);
    let path = format!("/api/v1/campaigns/{}", created["id"]);
    expect_status(
        app.patch(&path, Some(&admin), &json!({ "status": "active" }))
            .await,
        StatusCode::OK,
    )
    .await;
    let codes = issue(&app, product, 4, 71).await;
    // Each code pays 20.00 and the owner's 5 % (1.00) from the fund of 30.00: the
    // second and third go past it.
    for code in &codes[..3] {
        expect_status(register(&app, &seller, code).await, StatusCode::CREATED).await;
    }
    assert_eq!(me(&app, &seller).await["balance"]["available"], "60.00");
    let campaign = expect_status(app.get(&path, Some(&admin)).await, StatusCode::OK).await;
    assert_eq!(campaign["fund_balance"], "-33.00", "the fund is overdrawn");
    app.assert_ledger_sound().await;
    // Overdraft stays on while the fund is overdrawn; raised to 17.00 above zero, it
    // can go, and then the fund pays only what it holds.
    expect_problem(
        app.patch(&path, Some(&admin), &json!({ "allow_overdraft": false }))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let raised = expect_status(
        app.patch(&path, Some(&admin), &json!({ "budget": "80.00" }))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(raised["fund_balance"], "17.00");
    expect_status(
        app.patch(&path, Some(&admin), &json!({ "allow_overdraft": false }))
            .await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        register(&app, &seller, &codes[3]).await,
        StatusCode::CONFLICT,
        "fund_exhausted",
    )
    .await;
    assert_eq!(me(&app, &seller).await["balance"]["available"], "60.00");
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn products_import_whole_or_not_at_all() {
    let app = spawn_app().await;
    app.load_demo().await;
    let brand = app.login("brand", "demo").await;
    let bad = expect_problem(
        app.post_csv(
            "/api/v1/imports/products",
            &brand,
            "sku,name,kind,pack_size,brand\nAQ-NEW-1,New mixer,mixer,1,AquaLine\nAQ-NEW-2,,siphon,zero,AquaLine\n",
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "import_rejected",
    )
    .await;
    assert_eq!(bad["rows"][0]["row"], 2);
    assert_eq!(app.count("products").await, 3, "nothing was imported");
    let summary = expect_status(
        app.post_csv(
            "/api/v1/imports/products",
            &brand,
            "sku;name;kind;pack_size;brand\nAQ-NEW-1;New mixer;mixer;1;AquaLine\nAQ-SIF-6;AquaLine siphon (new label);siphon;6;AquaLine\n",
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (summary["created"].as_u64(), summary["updated"].as_u64()),
        (Some(1), Some(1))
    );
    let products = expect_status(
        app.get("/api/v1/products", Some(&brand)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(products["items"].as_array().map(Vec::len), Some(4));
    // A seller sees no catalog administration.
    let seller = app.login("seller1", "demo").await;
    expect_problem(
        app.get("/api/v1/products", Some(&seller)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[actix_web::test]
async fn leaderboards_rank_live_and_days_start_over_at_local_midnight() {
    let app = spawn_app().await;
    app.load_demo().await;
    let sellers: Vec<String> = {
        let mut tokens = Vec::new();
        for n in [1, 2, 11] {
            tokens.push(app.login(&format!("seller{n}"), "demo").await);
        }
        tokens
    };
    let (campaign, body) = demo_campaign(&app, &sellers[0]).await;
    let codes = issue(&app, product_id(&body, "AQ-FLT-3"), 6, 7).await;
    let mut ws = app.ws(&sellers[1]).await;
    let topic = format!("campaign:{campaign}:leaderboard:campaign");
    ws.subscribe(&topic).await;
    let snapshot = ws.next_of("snapshot").await;
    assert_eq!(snapshot["data"]["total"], 0);

    // seller1: 3 codes, seller2: 2, seller11: 1 (each 4.00 × 3 = 12.00).
    let plan = [(0, 0), (0, 1), (0, 2), (1, 3), (1, 4), (2, 5)];
    for (seller, code) in plan {
        expect_status(
            register(&app, &sellers[seller], &codes[code]).await,
            StatusCode::CREATED,
        )
        .await;
    }
    let pushed = ws.next_event("leaderboard").await;
    assert_eq!(pushed["topic"], topic);

    let board = expect_status(
        app.get(
            &format!("/api/v1/campaigns/{campaign}/leaderboard?window=campaign&around=me&limit=2"),
            Some(&sellers[1]),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(board["total"], 3);
    assert_eq!(board["top"][0]["score"], "36.00");
    assert_eq!(board["top"][0]["name"], "Seller 1");
    assert_eq!(board["top"].as_array().map(Vec::len), Some(2));
    assert_eq!(board["my_rank"], 2);
    assert_eq!(board["around"].as_array().map(Vec::len), Some(3));

    // The store cohort of DEMO-2 holds only seller11.
    let store = app.store_id("DEMO-2").await;
    let cohort = expect_status(
        app.get(
            &format!("/api/v1/campaigns/{campaign}/leaderboard?window=day&cohort=store:{store}"),
            Some(&sellers[2]),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cohort["total"], 1);
    // The region cohort of DEMO-1's region (Moscow) holds seller1 and seller2, ranked
    // among themselves, and its live topic snapshots the same board.
    let moscow_store = app.store_id("DEMO-1").await;
    let region: i64 = sqlx::query_scalar("SELECT region_id FROM stores WHERE id = $1")
        .bind(moscow_store)
        .fetch_one(&app.state.db.pool)
        .await
        .expect("DEMO-1's region");
    let regional = expect_status(
        app.get(
            &format!("/api/v1/campaigns/{campaign}/leaderboard?window=campaign&cohort=region:{region}&around=me"),
            Some(&sellers[1]),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(regional["total"], 2);
    assert_eq!(regional["my_rank"], 2);
    assert_eq!(regional["top"][0]["name"], "Seller 1");
    let mut regional_ws = app.ws(&sellers[0]).await;
    regional_ws
        .subscribe(&format!(
            "campaign:{campaign}:leaderboard:campaign:region:{region}"
        ))
        .await;
    let regional_snapshot = regional_ws.next_of("snapshot").await;
    assert_eq!(regional_snapshot["data"]["total"], 2, "{regional_snapshot}");

    // The day board resets at the next midnight in Moscow, the campaign board does not.
    let day = expect_status(
        app.get(
            &format!("/api/v1/campaigns/{campaign}/leaderboard?window=day"),
            Some(&sellers[0]),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(day["total"], 3);
    let resets_at = day["resets_at"].as_i64().expect("resets_at");
    let moscow = chrono::DateTime::from_timestamp_millis(resets_at)
        .expect("time")
        .with_timezone(&chrono_tz::Europe::Moscow);
    assert_eq!(moscow.format("%H:%M").to_string(), "00:00", "{moscow}");
    let now = app.clock.now_ms();
    assert!(resets_at > now && resets_at - now <= 86_400_000);
    app.clock
        .advance(Duration::from_millis((resets_at - now) as u64 + 1));
    let next_day = expect_status(
        app.get(
            &format!("/api/v1/campaigns/{campaign}/leaderboard?window=day"),
            Some(&sellers[0]),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(next_day["total"], 0);
    assert!(next_day["resets_at"].as_i64() > Some(resets_at));
    let whole = expect_status(
        app.get(
            &format!("/api/v1/campaigns/{campaign}/leaderboard"),
            Some(&sellers[0]),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(whole["total"], 3);
    expect_problem(
        app.get(
            &format!("/api/v1/campaigns/{campaign}/leaderboard?window=year"),
            Some(&sellers[0]),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    // Leaderboards of a campaign one does not take part in are hidden.
    let mut outsider = app.ws(&sellers[2]).await;
    outsider
        .subscribe(&format!("campaign:{}:leaderboard:week", campaign + 1000))
        .await;
    assert_eq!(outsider.next_of("error").await["code"], "not_found");
}

#[actix_web::test]
async fn a_seller_hears_when_their_rank_moves_whoever_moved_it() {
    let app = spawn_app().await;
    app.load_demo().await;
    let first = app.login("seller1", "demo").await;
    let second = app.login("seller2", "demo").await;
    let (campaign, body) = demo_campaign(&app, &first).await;
    let codes = issue(&app, product_id(&body, "AQ-FLT-3"), 3, 11).await;
    let mut ws = app.ws(&second).await;
    ws.subscribe("me").await;
    ws.next_of("snapshot").await;
    // The seller has the campaign's board open (its live actor runs on this node).
    expect_status(
        app.get(
            &format!("/api/v1/campaigns/{campaign}/leaderboard"),
            Some(&second),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    // seller2 leads with one code…
    expect_status(
        register(&app, &second, &codes[0]).await,
        StatusCode::CREATED,
    )
    .await;
    let own = ws.next_event("rank_changed").await;
    assert_eq!(own["data"]["campaign_id"], campaign);
    assert_eq!(own["data"]["rank"], 1);
    assert!(own["data"]["previous"].is_null());

    // …until seller1 registers two: seller2 is told they dropped to second place,
    // though they did nothing themselves.
    for code in &codes[1..] {
        expect_status(register(&app, &first, code).await, StatusCode::CREATED).await;
    }
    let passed = ws.next_event("rank_changed").await;
    assert_eq!(passed["data"]["rank"], 2, "{passed}");
    assert_eq!(passed["data"]["previous"], 1);
    assert_eq!(passed["data"]["score"], "12.00");
}

#[test]
fn check_letter_catches_every_substitution_and_adjacent_swap_on_a_sample() {
    let mut rng = StdRng::seed_from_u64(42);
    let alphabet = stimul_actors::rules::codes::ALPHABET;
    for _ in 0..200 {
        let code = CodeShard::WHOLE.random_code(&mut rng);
        let letters: Vec<u8> = code.as_str().bytes().collect();
        for position in 0..letters.len() {
            for &letter in &alphabet {
                if letter == letters[position] {
                    continue;
                }
                let mut typo = letters.clone();
                typo[position] = letter;
                let typo = String::from_utf8(typo).expect("ascii");
                assert!(ProductCode::parse(&typo).is_err(), "{typo} passed");
            }
            if position + 1 < letters.len() && letters[position] != letters[position + 1] {
                let mut swapped = letters.clone();
                swapped.swap(position, position + 1);
                let swapped = String::from_utf8(swapped).expect("ascii");
                assert!(ProductCode::parse(&swapped).is_err(), "{swapped} passed");
            }
        }
    }
}

#[actix_web::test]
async fn a_sale_with_its_receipt_is_paid_after_review_and_a_receipt_counts_once() {
    let app = spawn_app().await;
    app.load_demo().await;
    let seller = app.login("seller1", "demo").await;
    let other = app.login("seller12", "demo").await;
    let moderator = app.login("moderator", "demo").await;
    let (campaign, body) = demo_campaign(&app, &seller).await;
    let mixer = product_id(&body, "AQ-MIX-100");
    let sale = json!({ "receipt_number": "ab 1234", "product_id": mixer, "quantity": 2 });
    let photo = crate::helpers::test_photo(1);

    let receipt = expect_status(
        app.post_multipart(
            "/api/v1/receipts",
            &seller,
            &sale,
            "photo",
            std::slice::from_ref(&photo),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(receipt["status"], "pending");
    assert_eq!(receipt["receipt_number"], "AB1234");
    assert_eq!(receipt["campaign_id"], campaign);
    assert_eq!(me(&app, &seller).await["balance"]["pending"], "50.00");
    // The same paper receipt, typed differently, by anyone: refused.
    let again = json!({ "receipt_number": "AB1234", "product_id": mixer });
    expect_problem(
        app.post_multipart(
            "/api/v1/receipts",
            &other,
            &again,
            "photo",
            &[crate::helpers::test_photo(2)],
        )
        .await,
        StatusCode::CONFLICT,
        "duplicate_receipt",
    )
    .await;
    // No photo, or not an image: refused, nothing stored.
    expect_problem(
        app.post_multipart(
            "/api/v1/receipts",
            &seller,
            &json!({ "receipt_number": "X1", "product_id": mixer }),
            "photo",
            &[],
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(
        app.post_multipart(
            "/api/v1/receipts",
            &seller,
            &json!({ "receipt_number": "X2", "product_id": mixer }),
            "photo",
            &[b"not an image".to_vec()],
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(app.count("receipts").await, 1);

    let item = expect_status(
        app.post("/api/v1/moderation/next", Some(&moderator), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(item["kind"], "receipt");
    expect_status(
        app.post(
            &format!("/api/v1/moderation/items/{}/decision", item["id"]),
            Some(&moderator),
            &json!({ "decision": "approve" }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let balance = me(&app, &seller).await["balance"].clone();
    assert_eq!(
        (balance["available"].as_str(), balance["pending"].as_str()),
        (Some("50.00"), Some("0.00"))
    );
    let mine = expect_status(
        app.get("/api/v1/me/receipts", Some(&seller)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine["items"][0]["status"], "approved");
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn my_receipts_list_newest_first_page_by_page() {
    let app = spawn_app().await;
    app.load_demo().await;
    let seller = app.login("seller1", "demo").await;
    let (_, body) = demo_campaign(&app, &seller).await;
    let mixer = product_id(&body, "AQ-MIX-100");
    for (n, number) in ["R1", "R2", "R3"].into_iter().enumerate() {
        expect_status(
            app.post_multipart(
                "/api/v1/receipts",
                &seller,
                &json!({ "receipt_number": number, "product_id": mixer }),
                "photo",
                &[crate::helpers::test_photo(10 + n as u32)],
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let numbers = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["receipt_number"].as_str().map(String::from))
            .collect()
    };
    let first = expect_status(
        app.get("/api/v1/me/receipts?limit=2", Some(&seller)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(numbers(&first), ["R3", "R2"]);
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let second = expect_status(
        app.get(
            &format!("/api/v1/me/receipts?limit=2&cursor={cursor}"),
            Some(&seller),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(numbers(&second), ["R1"]);
    assert!(second["next_cursor"].is_null());
}

#[actix_web::test]
async fn a_stock_check_for_a_product_takes_only_that_products_printed_codes() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let seller = app.login("seller1", "demo").await;
    let (_, body) = demo_campaign(&app, &seller).await;
    let mixer = product_id(&body, "AQ-MIX-100");
    let mixers = issue(&app, mixer, 1, 8).await;
    let siphons = issue(&app, product_id(&body, "AQ-SIF-6"), 1, 9).await;
    let task = expect_status(
        app.post(
            "/api/v1/tasks",
            Some(&admin),
            &json!({ "title": "Is the Basic mixer in stock?", "points": "5.00",
                     "spec": { "kind": "stock_check", "product": "AquaLine Basic mixer", "product_id": mixer } }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let path = format!("/api/v1/tasks/{}/submissions", task["id"]);
    for code in [siphons[0].clone(), unknown_code(9)] {
        expect_problem(
            app.post(&path, Some(&seller), &json!({ "code": code }))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
    let done = expect_status(
        app.post(&path, Some(&seller), &json!({ "code": mixers[0] }))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(done["status"], "approved");
    expect_problem(
        app.post(
            "/api/v1/tasks",
            Some(&admin),
            &json!({ "title": "Ghost product", "points": "5.00",
                     "spec": { "kind": "stock_check", "product_id": 999999 } }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

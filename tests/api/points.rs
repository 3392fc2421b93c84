//! The points ledger through the API: idempotency, concurrency, owner share, holds,
//! levels and rounding. Every test ends with the ledger invariants.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{expect_problem, expect_status, spawn_app};

#[actix_web::test]
async fn a_retried_adjustment_moves_points_once_and_returns_the_first_answer() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let seller = app.user_id("seller1").await;
    let path = format!("/api/v1/participants/{seller}/adjustments");
    let body = json!({ "amount": "25.50", "comment": "missed sale in October" });
    let first = expect_status(
        app.post_idempotent(&path, Some(&admin), &body, "adj-1")
            .await,
        StatusCode::CREATED,
    )
    .await;
    let retry = app
        .post_idempotent(&path, Some(&admin), &body, "adj-1")
        .await;
    assert_eq!(
        retry
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(
        expect_status(retry, StatusCode::CREATED).await,
        first,
        "the retry returns the first answer"
    );
    assert_eq!(
        app.standing(&admin, seller).await["balance"]["available"],
        "25.50"
    );

    // Even if the stored answer were lost (a crash between commit and storing it), the
    // ledger's own key stops a second movement.
    sqlx::query("DELETE FROM idempotency_keys")
        .execute(&app.state.db.pool)
        .await
        .expect("clear answers");
    expect_status(
        app.post_idempotent(&path, Some(&admin), &body, "adj-1")
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        app.standing(&admin, seller).await["balance"]["available"],
        "25.50"
    );
    assert_eq!(app.count("ledger_transactions").await, 1);

    // The same key for another request is refused.
    let other = json!({ "amount": "1.00", "comment": "different" });
    expect_problem(
        app.post_idempotent(&path, Some(&admin), &other, "adj-1")
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn concurrent_debits_never_take_a_balance_below_zero() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let seller = app.user_id("seller2").await;
    app.award(&admin, seller, "100.00").await;
    let path = format!("/api/v1/participants/{seller}/adjustments");
    let debits = (0..40).map(|i| {
        let (app, admin, path) = (&app, &admin, &path);
        async move {
            app.post_idempotent(
                path,
                Some(admin),
                &json!({ "amount": "-7.00", "comment": "clawback" }),
                &format!("debit-{i}"),
            )
            .await
            .status()
        }
    });
    let statuses = join_all(debits).await;
    let accepted = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((accepted, refused), (14, 26), "{statuses:?}");
    let standing = app.standing(&admin, seller).await;
    assert_eq!(standing["balance"]["available"], "2.00");
    let last = app
        .post(
            &path,
            Some(&admin),
            &json!({ "amount": "-2.01", "comment": "one cent too many" }),
        )
        .await;
    expect_problem(last, StatusCode::CONFLICT, "insufficient_points").await;
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn the_owner_share_is_posted_with_the_earning_in_one_transaction() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let seller = app.user_id("seller3").await;
    let owner = app.user_id("owner1").await;
    let answer = app.award(&admin, seller, "33.33").await;
    // 5 % of 33.33 = 1.6665, rounded half away from zero.
    assert_eq!(
        (answer["amount"].as_str(), answer["owner_share"].as_str()),
        (Some("33.33"), Some("1.67"))
    );
    assert_eq!(
        app.standing(&admin, owner).await["balance"]["available"],
        "1.67"
    );
    let transaction = answer["transaction_id"].as_i64().expect("id");
    let postings: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM postings WHERE transaction_id = $1")
            .bind(transaction)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap_or(0);
    assert_eq!(
        postings, 2,
        "earning and share are two postings of one transaction"
    );

    // The owner's history shows the share, marked as such.
    let owner_token = app.login("owner1", "demo").await;
    let history = expect_status(
        app.get("/api/v1/me/transactions", Some(&owner_token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(history["items"][0]["amount"], "1.67");
    assert_eq!(history["items"][0]["owner_share"], true);
    assert_eq!(history["items"][0]["id"], transaction);

    // Manual corrections are exact and pay no share.
    let adjusted = expect_status(
        app.post(
            &format!("/api/v1/participants/{seller}/adjustments"),
            Some(&admin),
            &json!({ "amount": "10.00", "comment": "fix" }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(adjusted["owner_share"], "0.00");
    assert_eq!(
        app.standing(&admin, owner).await["balance"]["available"],
        "1.67"
    );
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn held_points_become_available_on_confirmation_or_vanish_on_cancellation() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let seller = app.user_id("seller4").await;
    let owner = app.user_id("owner1").await;
    let awards = format!("/api/v1/participants/{seller}/awards");
    let held = expect_status(
        app.post(
            &awards,
            Some(&admin),
            &json!({ "amount": "40.00", "comment": "shelf photo", "hold": true }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(held["status"], "pending");
    let standing = app.standing(&admin, seller).await;
    assert_eq!(
        (
            standing["balance"]["available"].as_str(),
            standing["balance"]["pending"].as_str(),
            standing["balance"]["lifetime"].as_str()
        ),
        (Some("0.00"), Some("40.00"), Some("0.00"))
    );
    assert_eq!(
        app.standing(&admin, owner).await["balance"]["available"],
        "0.00",
        "no share before the decision"
    );

    let hold = held["transaction_id"].as_i64().expect("hold id");
    let confirmed = expect_status(
        app.post(
            &format!("/api/v1/holds/{hold}/confirm"),
            Some(&admin),
            &json!({}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(confirmed["owner_share"], "2.00");
    let standing = app.standing(&admin, seller).await;
    assert_eq!(
        (
            standing["balance"]["available"].as_str(),
            standing["balance"]["pending"].as_str(),
            standing["balance"]["lifetime"].as_str()
        ),
        (Some("40.00"), Some("0.00"), Some("40.00"))
    );
    expect_problem(
        app.post(
            &format!("/api/v1/holds/{hold}/cancel"),
            Some(&admin),
            &json!({}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_state",
    )
    .await;

    let second = expect_status(
        app.post(
            &awards,
            Some(&admin),
            &json!({ "amount": "15.00", "comment": "blurry photo", "hold": true }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let second_hold = second["transaction_id"].as_i64().expect("hold id");
    expect_status(
        app.post(
            &format!("/api/v1/holds/{second_hold}/cancel"),
            Some(&admin),
            &json!({ "comment": "not our product" }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let standing = app.standing(&admin, seller).await;
    assert_eq!(
        (
            standing["balance"]["available"].as_str(),
            standing["balance"]["pending"].as_str(),
            standing["balance"]["lifetime"].as_str()
        ),
        (Some("40.00"), Some("0.00"), Some("40.00"))
    );
    let status: String = sqlx::query_scalar("SELECT status FROM ledger_transactions WHERE id = $1")
        .bind(second_hold)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap_or_default();
    assert_eq!(status, "cancelled");
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn levels_count_lifetime_points_and_multiply_with_the_rounding_rule() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let levels = json!([
        { "name": "Novice", "multiplier": "1" },
        { "name": "Pro", "min_lifetime_points": "100.00", "multiplier": "1.5" }
    ]);
    expect_status(
        app.patch(
            "/api/v1/program",
            Some(&admin),
            &json!({ "levels": levels, "owner_share_percent": "0" }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let seller = app.user_id("seller5").await;
    app.award(&admin, seller, "60.00").await;
    // Spending does not lower the level: lifetime counts what was earned.
    expect_status(
        app.post(
            &format!("/api/v1/participants/{seller}/adjustments"),
            Some(&admin),
            &json!({ "amount": "-0.00" , "comment": "x" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let below = app.award(&admin, seller, "39.99").await;
    assert_eq!(below["standing"]["level"]["name"], "Novice");
    assert_eq!(below["standing"]["next_level"]["remaining_points"], "0.01");
    let reaching = app.award(&admin, seller, "0.01").await;
    assert_eq!(
        reaching["standing"]["level"]["name"], "Pro",
        "the credit that reaches the threshold levels up"
    );
    // 10.01 × 1.5 = 15.015 → 15.02 (half away from zero).
    let multiplied = app.award(&admin, seller, "10.01").await;
    assert_eq!(multiplied["amount"], "15.02");
    assert_eq!(multiplied["standing"]["balance"]["lifetime"], "115.02");
    let token = app.login("seller5", "demo").await;
    let me = expect_status(app.get("/api/v1/me", Some(&token)).await, StatusCode::OK).await;
    assert_eq!(
        (
            me["level"]["name"].as_str(),
            me["level"]["multiplier"].as_str(),
            me["balance"]["available"].as_str()
        ),
        (Some("Pro"), Some("1.5"), Some("115.02"))
    );
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn points_input_is_checked_and_scoped() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let seller = app.user_id("seller6").await;
    let path = format!("/api/v1/participants/{seller}/adjustments");
    for (amount, why) in [
        ("abc", "not a number"),
        ("0", "zero"),
        ("1.005", "three decimals"),
        ("1e3", "exponent"),
        ("2000000.00", "too large"),
    ] {
        let response = app
            .post(
                &path,
                Some(&admin),
                &json!({ "amount": amount, "comment": "x" }),
            )
            .await;
        let problem = expect_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "amount", "{why}: {problem}");
    }
    expect_problem(
        app.post(
            &path,
            Some(&admin),
            &json!({ "amount": 10, "comment": "x" }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
    expect_problem(
        app.post(
            &path,
            Some(&admin),
            &json!({ "amount": "1.00", "comment": " " }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let moderator = app.user_id("moderator").await;
    expect_problem(
        app.post(
            &format!("/api/v1/participants/{moderator}/adjustments"),
            Some(&admin),
            &json!({ "amount": "1.00", "comment": "x" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(
        app.post(
            "/api/v1/participants/999999/adjustments",
            Some(&admin),
            &json!({ "amount": "1.00", "comment": "x" }),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let owner = app.login("owner1", "demo").await;
    expect_problem(
        app.post(
            &path,
            Some(&owner),
            &json!({ "amount": "1.00", "comment": "x" }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_status(
        app.get(
            &format!("/api/v1/participants/{seller}/transactions"),
            Some(&owner),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let other_owner = app.login("owner2", "demo").await;
    expect_problem(
        app.get(
            &format!("/api/v1/participants/{seller}/transactions"),
            Some(&other_owner),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let seller_token = app.login("seller6", "demo").await;
    expect_problem(
        app.post(
            &path,
            Some(&seller_token),
            &json!({ "amount": "1.00", "comment": "x" }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.get("/api/v1/ledger/check", Some(&seller_token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(
        app.count("ledger_transactions").await,
        0,
        "nothing was posted"
    );
    let check = expect_status(
        app.get("/api/v1/ledger/check", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(check["sound"], true);
}

#[actix_web::test]
async fn history_pages_and_filters() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let seller = app.user_id("seller7").await;
    for _ in 0..5 {
        app.award(&admin, seller, "3.00").await;
    }
    expect_status(
        app.post(
            &format!("/api/v1/participants/{seller}/adjustments"),
            Some(&admin),
            &json!({ "amount": "-1.00", "comment": "fee" }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let token = app.login("seller7", "demo").await;
    let first = expect_status(
        app.get("/api/v1/me/transactions?limit=4", Some(&token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(first["items"].as_array().map(Vec::len), Some(4));
    assert_eq!(first["items"][0]["reason"], "adjustment", "newest first");
    let cursor = first["next_cursor"].as_str().expect("more pages");
    let second = expect_status(
        app.get(
            &format!("/api/v1/me/transactions?limit=4&cursor={cursor}"),
            Some(&token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(second["items"].as_array().map(Vec::len), Some(2));
    assert!(second["next_cursor"].is_null());
    let debits = expect_status(
        app.get("/api/v1/me/transactions?direction=debit", Some(&token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(debits["items"].as_array().map(Vec::len), Some(1));
    expect_problem(
        app.get("/api/v1/me/transactions?direction=sideways", Some(&token))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    app.assert_ledger_sound().await;
}

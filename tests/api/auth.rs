//! Logging in: one-time SMS codes through the HTTP gateway, passwords, sessions, and
//! the limits that stop guessing.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::fake_sms::Behaviour;
use crate::helpers::{expect_problem, expect_status, spawn_app, spawn_app_with};

const SELLER_PHONE: &str = "+79002000001";

#[actix_web::test]
async fn otp_login_end_to_end() {
    let app =
        spawn_app_with(|s| s.sms.api_key = Some(stimul::config::Secret::new("gateway-key".into())))
            .await;
    app.load_demo().await;
    // People type phones in every shape; the code goes to the normalised number.
    let requested = app
        .post(
            "/api/v1/auth/otp",
            None,
            &json!({ "phone": "8 (900) 200-00-01" }),
        )
        .await;
    assert_eq!(
        expect_status(requested, StatusCode::ACCEPTED).await["sent"],
        true
    );
    let sms = app
        .sms
        .wait_for_message(SELLER_PHONE, 1, Duration::from_secs(10))
        .await
        .expect("the gateway got the SMS");
    assert_eq!(
        app.sms.last_authorization().as_deref(),
        Some("Bearer gateway-key")
    );
    let code = crate::helpers::extract_code(&sms);

    let verified = app
        .post(
            "/api/v1/auth/otp/verify",
            None,
            &json!({ "phone": SELLER_PHONE, "code": code }),
        )
        .await;
    let session = expect_status(verified, StatusCode::OK).await;
    let token = session["token"].as_str().expect("token");
    assert!(token.starts_with("stm_"));

    let me = expect_status(app.get("/api/v1/me", Some(token)).await, StatusCode::OK).await;
    assert_eq!(me["login"], "seller1");
    assert_eq!(me["phone"], SELLER_PHONE);
    assert_eq!(me["status"], "active");
    assert_eq!(me["store_id"], app.store_id("DEMO-1").await);
    assert!(me["program_id"].as_i64().is_some());
    assert_eq!(me["roles"][0]["role"], "seller");

    // The code is single-use.
    let reused = app
        .post(
            "/api/v1/auth/otp/verify",
            None,
            &json!({ "phone": SELLER_PHONE, "code": code }),
        )
        .await;
    expect_problem(reused, StatusCode::UNAUTHORIZED, "otp_used").await;
}

#[actix_web::test]
async fn wrong_and_expired_codes_are_refused() {
    let app = spawn_app().await;
    app.load_demo().await;
    let code = app.request_otp_code(SELLER_PHONE).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = app
        .post(
            "/api/v1/auth/otp/verify",
            None,
            &json!({ "phone": SELLER_PHONE, "code": wrong }),
        )
        .await;
    let problem = expect_problem(refused, StatusCode::UNAUTHORIZED, "otp_invalid").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("4 attempt"),
        "{problem}"
    );

    app.clock.advance(Duration::from_secs(301));
    let expired = app
        .post(
            "/api/v1/auth/otp/verify",
            None,
            &json!({ "phone": SELLER_PHONE, "code": code }),
        )
        .await;
    expect_problem(expired, StatusCode::UNAUTHORIZED, "otp_expired").await;

    // A fresh code replaces the old one; the old one no longer works.
    let fresh = app.request_otp_code(SELLER_PHONE).await;
    if fresh != code {
        let old = app
            .post(
                "/api/v1/auth/otp/verify",
                None,
                &json!({ "phone": SELLER_PHONE, "code": code }),
            )
            .await;
        expect_problem(old, StatusCode::UNAUTHORIZED, "otp_invalid").await;
    }
    let ok = app
        .post(
            "/api/v1/auth/otp/verify",
            None,
            &json!({ "phone": SELLER_PHONE, "code": fresh }),
        )
        .await;
    expect_status(ok, StatusCode::OK).await;
}

#[actix_web::test]
async fn guessing_codes_burns_the_code_and_never_yields_a_session() {
    let app = spawn_app().await;
    app.load_demo().await;
    let code = app.request_otp_code(SELLER_PHONE).await;
    let wrong: Vec<String> = (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .filter(|c| *c != code)
        .take(5)
        .collect();
    for (attempt, guess) in wrong.iter().enumerate() {
        let response = app
            .post(
                "/api/v1/auth/otp/verify",
                None,
                &json!({ "phone": SELLER_PHONE, "code": guess }),
            )
            .await;
        let status = response.status();
        if attempt < 4 {
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        } else {
            expect_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        }
    }
    // Even the right code is refused now.
    let right = app
        .post(
            "/api/v1/auth/otp/verify",
            None,
            &json!({ "phone": SELLER_PHONE, "code": code }),
        )
        .await;
    assert!(right.headers().contains_key("retry-after"));
    expect_problem(right, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(app.count("sessions").await, 0, "no session was ever issued");
}

#[actix_web::test]
async fn codes_per_phone_are_limited() {
    let app = spawn_app().await;
    app.load_demo().await;
    for _ in 0..5 {
        app.request_otp_code(SELLER_PHONE).await;
    }
    let sixth = app
        .post("/api/v1/auth/otp", None, &json!({ "phone": SELLER_PHONE }))
        .await;
    expect_problem(sixth, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(app.count("otp_codes").await, 5);
    app.clock.advance(Duration::from_secs(3601));
    app.request_otp_code(SELLER_PHONE).await;
}

#[actix_web::test]
async fn attempts_per_address_are_limited() {
    let app = spawn_app_with(|s| s.auth.auth_attempts_per_ip_per_minute = 4).await;
    app.load_demo().await;
    for _ in 0..4 {
        let response = app
            .post(
                "/api/v1/auth/login",
                None,
                &json!({ "login": "seller1", "password": "nope" }),
            )
            .await;
        expect_problem(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let fifth = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({ "login": "seller1", "password": "demo" }),
        )
        .await;
    expect_problem(fifth, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    app.clock.advance(Duration::from_secs(61));
    app.login("seller1", "demo").await;
}

#[actix_web::test]
async fn unknown_phones_get_the_same_answer_and_no_sms() {
    let app = spawn_app().await;
    app.load_demo().await;
    let response = app
        .post(
            "/api/v1/auth/otp",
            None,
            &json!({ "phone": "+79990000000" }),
        )
        .await;
    assert_eq!(
        expect_status(response, StatusCode::ACCEPTED).await["sent"],
        true
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.sms.received(), 0);
    let verify = app
        .post(
            "/api/v1/auth/otp/verify",
            None,
            &json!({ "phone": "+79990000000", "code": "123456" }),
        )
        .await;
    expect_problem(verify, StatusCode::UNAUTHORIZED, "otp_invalid").await;
}

#[actix_web::test]
async fn password_login_logout_and_revocation() {
    let app = spawn_app().await;
    app.load_demo().await;
    let wrong = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({ "login": "seller1", "password": "wrong" }),
        )
        .await;
    expect_problem(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let unknown = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({ "login": "nobody", "password": "wrong" }),
        )
        .await;
    expect_problem(unknown, StatusCode::UNAUTHORIZED, "invalid_credentials").await;

    let token = app.login("Seller1", "demo").await;
    expect_status(app.get("/api/v1/me", Some(&token)).await, StatusCode::OK).await;
    expect_status(
        app.post("/api/v1/auth/logout", Some(&token), &json!({}))
            .await,
        StatusCode::NO_CONTENT,
    )
    .await;
    expect_problem(
        app.get("/api/v1/me", Some(&token)).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    expect_problem(
        app.get("/api/v1/me", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    expect_problem(
        app.get("/api/v1/me", Some("stm_forged")).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;

    // Sessions expire.
    let token = app.login("seller1", "demo").await;
    app.clock.advance(Duration::from_secs(31 * 86_400));
    expect_problem(
        app.get("/api/v1/me", Some(&token)).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
}

#[actix_web::test]
async fn password_guessing_is_throttled_per_login() {
    let app = spawn_app_with(|s| s.auth.auth_attempts_per_ip_per_minute = 1_000).await;
    app.load_demo().await;
    for _ in 0..10 {
        let response = app
            .post(
                "/api/v1/auth/login",
                None,
                &json!({ "login": "seller2", "password": "guess" }),
            )
            .await;
        expect_problem(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let right = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({ "login": "seller2", "password": "demo" }),
        )
        .await;
    expect_problem(right, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Other accounts are unaffected.
    app.login("seller3", "demo").await;
    app.clock.advance(Duration::from_secs(15 * 60 + 1));
    app.login("seller2", "demo").await;
}

#[actix_web::test]
async fn blocked_accounts_cannot_log_in_and_lose_their_sessions() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let seller = app.login("seller4", "demo").await;
    let id = app.user_id("seller4").await;
    let blocked = app
        .post(
            &format!("/api/v1/participants/{id}/status"),
            Some(&admin),
            &json!({ "status": "blocked", "reason": "fraud" }),
        )
        .await;
    assert_eq!(
        expect_status(blocked, StatusCode::OK).await["status"],
        "blocked"
    );
    expect_problem(
        app.get("/api/v1/me", Some(&seller)).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({ "login": "seller4", "password": "demo" }),
        )
        .await;
    expect_problem(login, StatusCode::FORBIDDEN, "account_blocked").await;
    let otp = app
        .post(
            "/api/v1/auth/otp",
            None,
            &json!({ "phone": "+79002000004" }),
        )
        .await;
    expect_status(otp, StatusCode::ACCEPTED).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        app.sms.messages_to("+79002000004").is_empty(),
        "a blocked account gets no code"
    );
}

#[actix_web::test]
async fn sms_gateway_failures_are_retried_and_refusals_are_not() {
    let app = spawn_app().await;
    app.load_demo().await;
    // Down twice, then a garbled answer, then it works: the code still arrives.
    app.sms
        .script([Behaviour::Fail, Behaviour::Fail, Behaviour::Garbage]);
    app.post("/api/v1/auth/otp", None, &json!({ "phone": SELLER_PHONE }))
        .await;
    assert!(
        app.sms
            .wait_for_message(SELLER_PHONE, 1, Duration::from_secs(15))
            .await
            .is_some()
    );
    assert_eq!(app.sms.received(), 4);

    // A stall past the client's timeout counts as a failure and is retried. The stalled
    // gateway still delivers late, so the phone gets the code twice: a duplicate is
    // harmless, a lost login code is not.
    app.sms
        .script([Behaviour::Stall(Duration::from_millis(1_500))]);
    app.post(
        "/api/v1/auth/otp",
        None,
        &json!({ "phone": "+79002000002" }),
    )
    .await;
    assert!(
        app.sms
            .wait_for_message("+79002000002", 2, Duration::from_secs(15))
            .await
            .is_some()
    );

    // A refusal (4xx) is final: one attempt, recorded as failed.
    app.sms.script([Behaviour::Refuse]);
    let before = app.sms.received();
    app.post(
        "/api/v1/auth/otp",
        None,
        &json!({ "phone": "+79002000003" }),
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let failed: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE failed_at IS NOT NULL")
                .fetch_one(&app.state.db.pool)
                .await
                .unwrap_or(0);
        if failed == 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the refused message is marked failed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.sms.received(), before + 1);
}

#[actix_web::test]
async fn the_same_login_in_two_programs_needs_the_program() {
    let app = spawn_app().await;
    app.admin_token().await;
    stimul::org::people::create_admin(
        &app.state.db,
        &app.clock,
        "other",
        "root",
        "other-password",
        "Other root",
    )
    .await
    .expect("second program");
    let ambiguous = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({ "login": "root", "password": "root-password" }),
        )
        .await;
    expect_problem(ambiguous, StatusCode::CONFLICT, "program_required").await;
    let chosen = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({ "login": "root", "password": "other-password", "program": "other" }),
        )
        .await;
    let session = expect_status(chosen, StatusCode::OK).await;
    let me = expect_status(
        app.get("/api/v1/me", session["token"].as_str()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["program"], "other");
}

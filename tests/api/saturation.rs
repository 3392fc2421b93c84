//! The server when the database is its bottleneck: a pool far smaller than the traffic,
//! code registrations and credits racing a code pool refill. Nothing may hold a pooled
//! connection while it waits for an actor or the group committer (that cycle froze the
//! whole server until the 30 s acquire timeout broke it), so every request is answered
//! within seconds: done, or shed at once with `service_unavailable` and `Retry-After`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use tokio::sync::{Mutex, Semaphore};

use crate::campaigns::{demo_campaign, issue, product_id};
use crate::helpers::{expect_status, spawn_app_with};

/// Requests in flight at once, as the load test's default.
const IN_FLIGHT: usize = 64;
/// What "answered within a few seconds" means here (a debug build on two cores).
const SLOWEST_ALLOWED: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Answer {
    what: &'static str,
    status: StatusCode,
    retry_after: bool,
    /// The problem, for an answer other than success.
    problem: String,
    took: Duration,
    at: Instant,
}

#[actix_web::test]
async fn a_saturated_database_answers_every_request_within_seconds() {
    let app = spawn_app_with(|settings| {
        settings.database.max_connections = 2;
        settings.database.reserved_connections = 1;
        settings.database.acquire_timeout_ms = 2_000;
        settings.fraud.participant_per_minute = 1_000_000;
        settings.fraud.store_per_minute = 1_000_000;
        settings.fraud.burst_minimum = 1_000_000;
        settings.codes.chunk_size = 500;
        settings.codes.check_interval_ms = 100;
    })
    .await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let mut sellers = Vec::new();
    for n in 1..=20 {
        let login = format!("seller{n}");
        sellers.push((app.user_id(&login).await, app.login(&login, "demo").await));
    }
    let (_, campaign) = demo_campaign(&app, &sellers[0].1).await;
    let codes = issue(&app, product_id(&campaign, "AQ-SIF-6"), 240, 77).await;

    // A refill runs beside the traffic: its workers write big chunks on the same database.
    expect_status(
        app.post(
            "/api/v1/code-pools",
            Some(&admin),
            &json!({ "name": "busy", "target_size": 30_000, "low_watermark": 0 }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    let gate = Arc::new(Semaphore::new(IN_FLIGHT));
    let answers = Arc::new(Mutex::new(Vec::<Answer>::new()));
    let started = Instant::now();
    let registrations = codes.iter().enumerate().map(|(i, code)| {
        let (gate, answers, app) = (gate.clone(), answers.clone(), &app);
        let token = sellers[i % sellers.len()].1.clone();
        async move {
            let _permit = gate.acquire().await.expect("gate open");
            let sent = Instant::now();
            let response = app
                .post_idempotent(
                    "/api/v1/codes/register",
                    Some(&token),
                    &json!({ "code": code }),
                    &format!("saturation-{i}"),
                )
                .await;
            record(&answers, "registerCode", response, sent).await;
        }
    });
    let credits = (0..160).map(|i| {
        let (gate, answers, app) = (gate.clone(), answers.clone(), &app);
        let (user, admin) = (sellers[i % sellers.len()].0, admin.clone());
        async move {
            let _permit = gate.acquire().await.expect("gate open");
            let sent = Instant::now();
            let response = app
                .post_idempotent(
                    &format!("/api/v1/participants/{user}/awards"),
                    Some(&admin),
                    &json!({ "amount": "1.25", "comment": "saturation" }),
                    &format!("saturation-award-{i}"),
                )
                .await;
            record(&answers, "awardPoints", response, sent).await;
        }
    });
    let traffic: Vec<_> = registrations
        .map(futures_util::FutureExt::boxed_local)
        .collect();
    let traffic = traffic
        .into_iter()
        .chain(credits.map(futures_util::FutureExt::boxed_local));
    join_all(traffic).await;
    let elapsed = started.elapsed();

    let mut answers = std::mem::take(&mut *answers.lock().await);
    assert_eq!(
        answers.len(),
        codes.len() + 160,
        "every request got an answer"
    );
    answers.sort_by_key(|a| a.at);
    let slowest = answers.iter().max_by_key(|a| a.took).expect("answers");
    assert!(
        slowest.took < SLOWEST_ALLOWED,
        "the slowest answer took {:?} ({slowest:?}); the whole run {elapsed:?}",
        slowest.took
    );
    let longest_gap = answers
        .windows(2)
        .map(|pair| pair[1].at - pair[0].at)
        .max()
        .unwrap_or_default();
    assert!(
        longest_gap < Duration::from_secs(2),
        "the server went silent for {longest_gap:?}"
    );
    for answer in &answers {
        match answer.status {
            StatusCode::CREATED => {}
            StatusCode::SERVICE_UNAVAILABLE => assert!(
                answer.retry_after,
                "a shed request says when to retry: {answer:?}"
            ),
            other => panic!(
                "unexpected answer {other} to {}: {}",
                answer.what, answer.problem
            ),
        }
    }

    // No registration was done without its answer reaching the seller.
    let registered_ok = answers
        .iter()
        .filter(|a| a.what == "registerCode" && a.status == StatusCode::CREATED)
        .count() as i64;
    let registered: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM codes WHERE status IN ('registered', 'held')")
            .fetch_one(&app.state.db.pool)
            .await
            .expect("count");
    assert_eq!(registered, registered_ok);
    let credited_ok = answers
        .iter()
        .filter(|a| a.what == "awardPoints" && a.status == StatusCode::CREATED)
        .count() as i64;
    let awards: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM ledger_transactions WHERE reason = 'award'")
            .fetch_one(&app.state.db.pool)
            .await
            .expect("count");
    assert_eq!(awards, credited_ok);
    app.assert_ledger_sound().await;
}

async fn record(
    answers: &Mutex<Vec<Answer>>,
    what: &'static str,
    response: reqwest::Response,
    sent: Instant,
) {
    let (took, at) = (sent.elapsed(), Instant::now());
    let status = response.status();
    let retry_after = response.headers().contains_key("retry-after");
    let problem = if status.is_success() {
        String::new()
    } else {
        response.text().await.unwrap_or_default()
    };
    let answer = Answer {
        what,
        status,
        retry_after,
        problem,
        took,
        at,
    };
    answers.lock().await.push(answer);
}

//! Code pools: refills reach exactly their target with unique, valid codes, resume after
//! a crash without duplicates or gaps, run once per pool across nodes, start below the
//! watermark and in the nightly window; orders move exactly their quantity out of the
//! pool and stream as CSV page by page; bad orders change nothing.

use std::collections::HashSet;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use reqwest::StatusCode;
use serde_json::{Value, json};
use stimul::config::Settings;
use stimul::db::{Clock, Db};
use stimul::startup::{Application, Overrides};
use stimul::state::AppState;
use stimul_actors::rules::codes::ProductCode;

use crate::helpers::{TestApp, expect_problem, expect_status, spawn_app_with, test_settings};
use crate::process::ServerProcess;

/// Fast checks, small chunks and short leases, so a test sees refills move and resume
/// in well under a second; the nightly window is off unless a test turns it on.
fn quick_codegen(settings: &mut Settings) {
    settings.codes.check_interval_ms = 100;
    settings.codes.chunk_size = 250;
    settings.codes.lease_ms = 1_000;
    settings.codes.csv_page_size = 7;
    settings.codes.night_start = "00:00".into();
    settings.codes.night_end = "00:00".into();
}

async fn codes_app() -> TestApp {
    spawn_app_with(quick_codegen).await
}

async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn program_id(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT id FROM programs WHERE slug = 'default'")
        .fetch_one(&db.pool)
        .await
        .expect("the default program")
}

/// A product of the default program (the products API is not this module's), of a new
/// brand when `brand` names one.
async fn new_product(db: &Db, sku: &str, brand: Option<&str>) -> (i64, Option<i64>) {
    let program = program_id(db).await;
    let brand_id: Option<i64> = match brand {
        Some(name) => Some(
            sqlx::query_scalar(
                "INSERT INTO brands (program_id, name, created_at) VALUES ($1, $2, 0) RETURNING id",
            )
            .bind(program)
            .bind(name)
            .fetch_one(&db.pool)
            .await
            .expect("brand"),
        ),
        None => None,
    };
    let id = sqlx::query_scalar(
        "INSERT INTO products (program_id, brand_id, sku, name, created_at, updated_at)
         VALUES ($1, $2, $3, $3, 0, 0) RETURNING id",
    )
    .bind(program)
    .bind(brand_id)
    .bind(sku)
    .fetch_one(&db.pool)
    .await
    .expect("product");
    (id, brand_id)
}

/// A pool made in SQL, for nodes that have no HTTP client in the test.
async fn insert_pool(db: &Db, name: &str, target: i64, watermark: i64) -> i64 {
    let program = program_id(db).await;
    sqlx::query_scalar(
        "INSERT INTO code_pools (program_id, name, target_size, low_watermark, created_at)
         VALUES ($1, $2, $3, $4, 0) RETURNING id",
    )
    .bind(program)
    .bind(name)
    .bind(target)
    .bind(watermark)
    .fetch_one(&db.pool)
    .await
    .expect("pool")
}

async fn create_pool(app: &TestApp, token: &str, name: &str, target: i64, watermark: i64) -> i64 {
    let pool = expect_status(
        app.post(
            "/api/v1/code-pools",
            Some(token),
            &json!({ "name": name, "target_size": target, "low_watermark": watermark }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    pool["id"].as_i64().expect("pool id")
}

async fn pool_status(app: &TestApp, token: &str, pool: i64) -> Value {
    expect_status(
        app.get(&format!("/api/v1/code-pools/{pool}"), Some(token))
            .await,
        StatusCode::OK,
    )
    .await
}

/// Waits until no refill of the pool runs and `available` is `expected`.
async fn wait_for_full(db: &Db, pool: i64, expected: i64) {
    wait_until("the pool is refilled", Duration::from_secs(120), || async {
        let (available, running): (i64, i64) = sqlx::query_as(
            "SELECT available, (SELECT COUNT(*) FROM code_refills WHERE pool_id = $1 AND status = 'running')
             FROM code_pools WHERE id = $1",
        )
        .bind(pool)
        .fetch_one(&db.pool)
        .await
        .expect("pool level");
        running == 0 && available == expected
    })
    .await;
}

/// Every code of the pool: asserts each is a valid code (check letter) and none repeats,
/// and that each refill inserted exactly what it was asked for.
async fn assert_pool_sound(db: &Db, pool: i64) -> Vec<String> {
    let codes: Vec<String> = sqlx::query_scalar("SELECT code FROM codes WHERE pool_id = $1")
        .bind(pool)
        .fetch_all(&db.pool)
        .await
        .expect("codes");
    let unique: HashSet<&String> = codes.iter().collect();
    assert_eq!(unique.len(), codes.len(), "no code twice");
    for code in &codes {
        let parsed = ProductCode::parse(code).expect("a valid code");
        assert_eq!(parsed.as_str(), code, "stored as its 11 letters");
    }
    let refills: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT r.id, r.requested,
                (SELECT CAST(COALESCE(SUM(done), 0) AS BIGINT) FROM code_refill_shards s WHERE s.refill_id = r.id),
                (SELECT COUNT(*) FROM codes c WHERE c.refill_id = r.id)
         FROM code_refills r WHERE r.pool_id = $1",
    )
    .bind(pool)
    .fetch_all(&db.pool)
    .await
    .expect("refills");
    for (id, requested, done, inserted) in refills {
        assert_eq!(
            (done, inserted),
            (requested, requested),
            "refill {id}: its shards' progress and its codes match what it asked for"
        );
    }
    codes
}

async fn refills_of(db: &Db, pool: i64) -> Vec<(String, String, i64)> {
    sqlx::query_as(
        "SELECT trigger_kind, status, requested FROM code_refills WHERE pool_id = $1 ORDER BY id",
    )
    .bind(pool)
    .fetch_all(&db.pool)
    .await
    .expect("refills")
}

#[actix_web::test]
async fn a_new_pool_is_filled_to_exactly_its_target_with_unique_valid_codes() {
    let app = codes_app().await;
    let admin = app.admin_token().await;
    let pool = create_pool(&app, &admin, "main", 3_000, 1_000).await;
    wait_for_full(&app.state.db, pool, 3_000).await;

    let codes = assert_pool_sound(&app.state.db, pool).await;
    assert_eq!(codes.len(), 3_000);
    assert_eq!(
        refills_of(&app.state.db, pool).await,
        vec![("watermark".into(), "done".into(), 3_000)],
        "an empty pool is below its watermark"
    );
    let status = pool_status(&app, &admin, pool).await;
    assert_eq!(status["available"], 3_000);
    assert_eq!(status["codes"]["pool"], 3_000);
    assert_eq!(status["codes"]["issued"], 0);
    assert_eq!(status["refill"]["status"], "done");
    assert_eq!(status["refill"]["done"], 3_000);
    let shards = status["refill"]["shards"].as_array().expect("shards");
    assert_eq!(shards.len(), 2, "split over the node's two workers");
    assert!(shards.iter().all(|s| s["done"] == s["quota"]), "{shards:?}");
    assert_eq!(status["workers"].as_array().map(Vec::len), Some(2));

    let listed = expect_status(
        app.get("/api/v1/code-pools", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed[0]["name"], "main");
    // Gauges follow the supervisor's checks (every 100 ms here).
    wait_until(
        "the metrics show the refill",
        Duration::from_secs(10),
        || async {
            let metrics = app
                .get("/metrics", None)
                .await
                .text()
                .await
                .unwrap_or_default();
            metrics.contains("stimul_codes_generated_total 3000")
                && metrics.contains(&format!(
                    "stimul_code_pool_available{{pool=\"{pool}\"}} 3000"
                ))
        },
    )
    .await;

    // A full pool needs no refill, and says so with its numbers as they are now.
    let full = expect_problem(
        app.post(
            &format!("/api/v1/code-pools/{pool}/refills"),
            Some(&admin),
            &json!({}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_state",
    )
    .await;
    assert!(
        full["detail"]
            .as_str()
            .is_some_and(|d| d.contains("3000 of 3000 codes available")),
        "{full}"
    );
}

/// A server of its own on a database the test keeps, so a second one can take over.
pub(crate) struct Node {
    state: AppState,
    handle: ServerHandle,
}

impl Node {
    pub(crate) async fn start(settings: &Settings) -> Self {
        let app = Application::build_with(
            settings.clone(),
            Overrides {
                clock: Some(Clock::default()),
                ..Overrides::default()
            },
        )
        .await
        .expect("the application builds");
        let node = Node {
            state: app.state().clone(),
            handle: app.server_handle(),
        };
        actix_web::rt::spawn(app.run_until_stopped());
        node
    }

    /// Like a crash: the code generator's threads stop mid-chunk, nothing is handed
    /// back, and the server goes away.
    pub(crate) fn crash(&self) {
        self.state.codegen.halt();
        std::mem::drop(self.handle.stop(false));
        self.state.live.shutdown();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.crash();
    }
}

pub(crate) async fn own_db(settings: &Settings) -> Db {
    Db::connect(&settings.database_url(), &Default::default())
        .await
        .expect("connect")
}

async fn refill_progress(db: &Db, pool: i64) -> Option<(i64, i64)> {
    sqlx::query_as(
        "SELECT r.requested, (SELECT CAST(COALESCE(SUM(done), 0) AS BIGINT) FROM code_refill_shards s WHERE s.refill_id = r.id)
         FROM code_refills r WHERE r.pool_id = $1 AND r.status = 'running'",
    )
    .bind(pool)
    .fetch_optional(&db.pool)
    .await
    .expect("progress")
}

#[actix_web::test]
async fn a_refill_stopped_or_crashed_mid_way_resumes_to_exactly_the_target() {
    let (mut settings, _database) = test_settings().await;
    quick_codegen(&mut settings);
    settings.codes.chunk_size = 100;
    const TARGET: i64 = 12_000;

    // Node A stops gracefully mid-way: workers finish their chunk and hand shards back.
    let a = Node::start(&settings).await;
    // The test's own connections: a stopping node closes its pool.
    let db = own_db(&settings).await;
    let pool = insert_pool(&db, "resumable", TARGET, TARGET).await;
    wait_until("node A is part-way", Duration::from_secs(60), || async {
        matches!(refill_progress(&db, pool).await, Some((_, done)) if done >= 1_000)
    })
    .await;
    a.state.codegen.stop(Duration::from_secs(10)).await;
    let (requested, after_a) = refill_progress(&db, pool).await.expect("still running");
    assert_eq!(requested, TARGET);
    assert!(after_a < TARGET, "stopped part-way: {after_a}");
    let held: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM code_refill_shards WHERE owner IS NOT NULL")
            .fetch_one(&db.pool)
            .await
            .expect("owners");
    assert_eq!(held, 0, "a graceful stop hands every shard back");
    a.crash();

    // Node B crashes mid-way: its shards stay leased until the lease runs out.
    let b = Node::start(&settings).await;
    wait_until("node B moves on", Duration::from_secs(60), || async {
        matches!(refill_progress(&db, pool).await, Some((_, done)) if done >= after_a + 1_000)
    })
    .await;
    b.crash();
    let (_, after_b) = refill_progress(&db, pool).await.expect("still running");
    assert!(after_b < TARGET, "crashed part-way: {after_b}");

    // Node C takes over once B's leases run out, and stops at exactly the target.
    let c = Node::start(&settings).await;
    wait_for_full(&db, pool, TARGET).await;
    let codes = assert_pool_sound(&db, pool).await;
    assert_eq!(codes.len() as i64, TARGET);
    assert_eq!(refills_of(&db, pool).await.len(), 1, "one refill, resumed");
    c.crash();
}

#[actix_web::test]
async fn two_nodes_never_run_one_pools_refill_twice() {
    let (mut settings, _database) = test_settings().await;
    quick_codegen(&mut settings);
    settings.codes.chunk_size = 50;
    let a = Node::start(&settings).await;
    let b = Node::start(&settings).await;
    let db = own_db(&settings).await;
    // Below its watermark from the start: both supervisors race to plan a refill on
    // every check, and requests to both nodes ask for one at the same time.
    let pool = insert_pool(&db, "shared", 6_000, 6_000).await;
    let program = program_id(&db).await;
    let started = futures_util::future::join_all((0..6).map(|i| {
        let state = if i % 2 == 0 { &a.state } else { &b.state };
        stimul::codes::refill_now(&state.db, &state.clock, &state.codegen, program, pool)
    }))
    .await;
    let mut ids = HashSet::new();
    for outcome in started {
        match outcome {
            Ok(refill) => {
                ids.insert(refill.refill_id);
            }
            // Only possible once the one refill has finished.
            Err(err) => assert_eq!(err.code, stimul::error::ErrorCode::InvalidState, "{err}"),
        }
    }
    assert!(
        ids.len() <= 1,
        "every request sees the same refill: {ids:?}"
    );
    wait_for_full(&db, pool, 6_000).await;
    assert_eq!(assert_pool_sound(&db, pool).await.len(), 6_000);
    let refills = refills_of(&db, pool).await;
    assert_eq!(refills.len(), 1, "{refills:?}");
    assert_eq!((refills[0].1.as_str(), refills[0].2), ("done", 6_000));
    a.crash();
    b.crash();
}

#[actix_web::test]
async fn issuing_below_the_watermark_refills_the_pool() {
    let app = codes_app().await;
    let admin = app.admin_token().await;
    let (product, _) = new_product(&app.state.db, "MIX-1", None).await;
    let pool = create_pool(&app, &admin, "main", 2_000, 1_500).await;
    wait_for_full(&app.state.db, pool, 2_000).await;

    let batch = issue(
        &app,
        &admin,
        json!({ "product_id": product, "quantity": 800 }),
        "order-1",
    )
    .await;
    assert_eq!(batch["pool_id"], pool, "the default pool");
    wait_until("the second refill", Duration::from_secs(60), || async {
        refills_of(&app.state.db, pool).await.len() == 2
    })
    .await;
    wait_for_full(&app.state.db, pool, 2_000).await;
    assert_eq!(
        refills_of(&app.state.db, pool).await,
        vec![
            ("watermark".into(), "done".into(), 2_000),
            ("watermark".into(), "done".into(), 800),
        ]
    );
    let codes = assert_pool_sound(&app.state.db, pool).await;
    assert_eq!(codes.len(), 2_800);
    let status = pool_status(&app, &admin, pool).await;
    assert_eq!(status["codes"]["pool"], 2_000);
    assert_eq!(status["codes"]["issued"], 800);
}

#[actix_web::test]
async fn the_nightly_window_tops_a_pool_up() {
    // A window around the clock: whatever time the test runs, it is "night".
    let app = spawn_app_with(|settings| {
        quick_codegen(settings);
        settings.codes.night_start = "00:00".into();
        settings.codes.night_end = "23:59".into();
    })
    .await;
    let admin = app.admin_token().await;
    let pool = create_pool(&app, &admin, "nightly", 1_000, 0).await;
    wait_for_full(&app.state.db, pool, 1_000).await;
    assert_eq!(
        refills_of(&app.state.db, pool).await,
        vec![("schedule".into(), "done".into(), 1_000)]
    );
}

/// Orders codes and waits until they are issued; returns the batch.
async fn issue(app: &TestApp, token: &str, body: Value, key: &str) -> Value {
    let created = expect_status(
        app.post_idempotent("/api/v1/code-batches", Some(token), &body, key)
            .await,
        StatusCode::CREATED,
    )
    .await;
    let id = created["id"].as_i64().expect("batch id");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let batch = expect_status(
            app.get(&format!("/api/v1/code-batches/{id}"), Some(token))
                .await,
            StatusCode::OK,
        )
        .await;
        if batch["status"] == "issued" {
            return batch;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "batch {id} is never issued"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[actix_web::test]
async fn an_order_moves_exactly_its_quantity_and_streams_as_csv() {
    let app = codes_app().await;
    let admin = app.admin_token().await;
    let (product, _) = new_product(&app.state.db, "FLT-6", None).await;
    let pool = create_pool(&app, &admin, "main", 1_000, 100).await;
    wait_for_full(&app.state.db, pool, 1_000).await;

    let body = json!({ "pool_id": pool, "product_id": product, "quantity": 600 });
    let batch = issue(&app, &admin, body.clone(), "print-run-1").await;
    assert_eq!(
        (batch["quantity"].as_i64(), batch["issued"].as_i64()),
        (Some(600), Some(600))
    );
    let id = batch["id"].as_i64().expect("id");

    // A retry with the same key is the same order.
    let replay = app
        .post_idempotent("/api/v1/code-batches", Some(&admin), &body, "print-run-1")
        .await;
    assert_eq!(
        replay
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert_eq!(expect_status(replay, StatusCode::CREATED).await["id"], id);
    assert_eq!(app.count("code_batches").await, 1);

    let issued: Vec<(String, i64)> = sqlx::query_as(
        "SELECT code, product_id FROM codes WHERE batch_id = $1 AND status = 'issued'",
    )
    .bind(id)
    .fetch_all(&app.state.db.pool)
    .await
    .expect("issued codes");
    assert_eq!(issued.len(), 600);
    assert!(issued.iter().all(|(_, p)| *p == product));
    let available: i64 = sqlx::query_scalar("SELECT available FROM code_pools WHERE id = $1")
        .bind(pool)
        .fetch_one(&app.state.db.pool)
        .await
        .expect("available");
    assert_eq!(
        available, 400,
        "above the watermark: the pool waits for the night"
    );

    let response = app
        .get(
            &format!("/api/v1/code-batches/{id}/codes.csv"),
            Some(&admin),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert!(
        headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/csv")),
        "{headers:?}"
    );
    assert!(
        headers.get("content-length").is_none(),
        "streamed, not buffered: {headers:?}"
    );
    assert_eq!(
        headers.get("transfer-encoding").map(|v| v.as_bytes()),
        Some(&b"chunked"[..])
    );
    let csv = response.text().await.expect("csv");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("code,qr_payload"));
    let mut seen = HashSet::new();
    for line in lines {
        let (code, qr) = line.split_once(',').expect("two columns");
        let parsed = ProductCode::parse(code).expect("a valid code");
        assert_eq!(qr, parsed.qr_payload());
        assert_eq!(ProductCode::parse_scanned(qr), Ok(parsed));
        assert!(seen.insert(code.to_string()), "{code} twice");
    }
    let expected: HashSet<String> = issued.into_iter().map(|(code, _)| code).collect();
    assert_eq!(
        seen, expected,
        "every issued code, once, over 86 pages of 7"
    );
}

#[actix_web::test]
async fn bad_orders_and_pools_are_refused_and_change_nothing() {
    let app = codes_app().await;
    let admin = app.admin_token().await;
    let (product, brand) = new_product(&app.state.db, "OWN-1", Some("Own brand")).await;
    let (other_product, _) = new_product(&app.state.db, "OTHER-1", Some("Other brand")).await;

    // No pool yet: nothing to order from.
    expect_problem(
        app.post(
            "/api/v1/code-batches",
            Some(&admin),
            &json!({ "product_id": product, "quantity": 1 }),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    for (body, fields) in [
        (
            json!({ "name": "", "target_size": 0, "low_watermark": 0 }),
            vec!["name", "target_size"],
        ),
        (
            json!({ "name": "x", "target_size": 10, "low_watermark": 11 }),
            vec!["low_watermark"],
        ),
        (
            json!({ "name": "x", "target_size": 10, "low_watermark": -1 }),
            vec!["low_watermark"],
        ),
    ] {
        let problem = expect_problem(
            app.post("/api/v1/code-pools", Some(&admin), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        let named: Vec<&str> = problem["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert_eq!(named, fields, "{problem}");
    }
    expect_problem(
        app.post(
            "/api/v1/code-pools",
            Some(&admin),
            &json!({ "name": "x", "target_size": "10", "low_watermark": 0 }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
    assert_eq!(app.count("code_pools").await, 0);

    let pool = create_pool(&app, &admin, "main", 500, 100).await;
    wait_for_full(&app.state.db, pool, 500).await;
    expect_problem(
        app.post(
            "/api/v1/code-pools",
            Some(&admin),
            &json!({ "name": "main", "target_size": 5, "low_watermark": 0 }),
        )
        .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;

    let refused = [
        (
            json!({ "product_id": product, "quantity": 0 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "product_id": product, "quantity": -5 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "product_id": 999_999, "quantity": 5 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "pool_id": 999_999, "product_id": product, "quantity": 5 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({ "product_id": product, "quantity": "5" }),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            json!({ "product_id": product, "quantity": 501 }),
            StatusCode::CONFLICT,
            "not_enough_codes",
        ),
    ];
    for (body, status, code) in refused {
        expect_problem(
            app.post("/api/v1/code-batches", Some(&admin), &body).await,
            status,
            code,
        )
        .await;
    }
    assert_eq!(app.count("code_batches").await, 0);
    let issued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM codes WHERE status <> 'pool'")
        .fetch_one(&app.state.db.pool)
        .await
        .expect("count");
    assert_eq!(issued, 0);
    assert_eq!(pool_status(&app, &admin, pool).await["available"], 500);

    // A brand orders for its own products only; a moderator has no say over codes.
    let (_, brand_user) = app
        .staff_with_role(
            &admin,
            "brand-user",
            json!({ "brand_id": brand }),
            "manufacturer",
            json!({ "kind": "brand", "id": brand }),
        )
        .await;
    expect_problem(
        app.post(
            "/api/v1/code-batches",
            Some(&brand_user),
            &json!({ "product_id": other_product, "quantity": 5 }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let own = issue(
        &app,
        &brand_user,
        json!({ "product_id": product, "quantity": 5 }),
        "own",
    )
    .await;
    let other = issue(
        &app,
        &admin,
        json!({ "product_id": other_product, "quantity": 5 }),
        "other",
    )
    .await;
    expect_status(
        app.get(
            &format!("/api/v1/code-batches/{}/codes.csv", own["id"]),
            Some(&brand_user),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        app.get(
            &format!("/api/v1/code-batches/{}", other["id"]),
            Some(&brand_user),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let moderator = app.moderator(&admin, "mod").await;
    for path in [
        "/api/v1/code-pools".to_string(),
        format!("/api/v1/code-pools/{pool}"),
    ] {
        expect_problem(
            app.get(&path, Some(&moderator)).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    expect_problem(
        app.post(
            "/api/v1/code-batches",
            Some(&moderator),
            &json!({ "product_id": product, "quantity": 1 }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[actix_web::test]
async fn a_refill_killed_with_sigkill_resumes_without_duplicates_or_gaps() {
    const TARGET: i64 = 60_000;
    let (_database, url) = crate::helpers::TestDatabase::create().await;
    let db = Db::connect(&url, &Default::default())
        .await
        .expect("connect");
    db.migrate().await.expect("migrate");
    stimul::org::programs::ensure(
        &db,
        &stimul::domain::Slug::parse("default").expect("slug"),
        0,
    )
    .await
    .expect("program");
    let pool = insert_pool(&db, "crash", TARGET, TARGET).await;
    let dir = tempfile::tempdir().expect("data dir");
    let env = [
        ("STIMUL_CODES__CHUNK_SIZE", "500"),
        ("STIMUL_CODES__CHECK_INTERVAL_MS", "100"),
        ("STIMUL_CODES__LEASE_MS", "1000"),
        ("STIMUL_CODES__NIGHT_START", "00:00"),
        ("STIMUL_CODES__NIGHT_END", "00:00"),
    ];

    let first = ServerProcess::spawn_with_env(&url, None, dir.path(), &env);
    wait_until(
        "the refill is part-way",
        Duration::from_secs(120),
        || async { matches!(refill_progress(&db, pool).await, Some((_, done)) if done >= 2_000) },
    )
    .await;
    first.kill();
    let (requested, at_kill) = refill_progress(&db, pool).await.expect("still running");
    assert_eq!(requested, TARGET);
    assert!(at_kill < TARGET, "killed part-way: {at_kill}");

    let second = ServerProcess::spawn_with_env(&url, None, dir.path(), &env);
    wait_for_full(&db, pool, TARGET).await;
    assert_eq!(assert_pool_sound(&db, pool).await.len() as i64, TARGET);
    second.kill();
    db.close().await;
}

//! Several server processes on one database: a change on node A reaches a client on
//! node B through Redis; two nodes never double-spend one balance; a node killed with
//! `kill -9` in the middle of a stream of credits loses nothing it acknowledged.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use stimul::db::{Clock, Db};

use crate::helpers::TestDatabase;
use crate::process::ServerProcess;

/// A database with the demo loaded, for processes to share.
pub(crate) async fn prepared_database() -> (TestDatabase, String, Db, tempfile::TempDir) {
    let (database, url) = TestDatabase::create().await;
    let db = Db::connect(&url, &Default::default())
        .await
        .expect("connect");
    db.migrate().await.expect("migrate");
    stimul::demo::load(&db, &Clock::default(), "default")
        .await
        .expect("demo");
    (database, url, db, tempfile::tempdir().expect("data dir"))
}

async fn id_of(db: &Db, login: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM users WHERE login = $1")
        .bind(login)
        .fetch_one(&db.pool)
        .await
        .expect("user")
}

#[actix_web::test]
async fn a_credit_on_one_node_reaches_a_client_on_another() {
    let Some(redis) = std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!(
            "skipped: set TEST_REDIS_URL (and a PostgreSQL TEST_DATABASE_URL) for the multi-node test"
        );
        return;
    };
    let (_database, url, db, dir) = prepared_database().await;
    assert!(
        url.starts_with("postgres"),
        "several nodes share PostgreSQL, not a SQLite file"
    );
    let prefix = format!("stimul-test-{}", uuid::Uuid::new_v4().simple());
    let node_a = ServerProcess::spawn(&url, Some((&redis, &prefix)), dir.path());
    let node_b = ServerProcess::spawn(&url, Some((&redis, &prefix)), dir.path());
    let seller = id_of(&db, "seller1").await;
    let store: i64 = sqlx::query_scalar("SELECT id FROM stores WHERE external_ref = 'DEMO-1'")
        .fetch_one(&db.pool)
        .await
        .expect("store");

    let mut seller_on_b = node_b.ws(&node_b.login("seller1", "demo").await).await;
    seller_on_b.subscribe("me").await;
    assert_eq!(
        seller_on_b.next_of("snapshot").await["data"]["balance"]["available"],
        "0.00"
    );
    let mut owner_on_b = node_b.ws(&node_b.login("owner1", "demo").await).await;
    owner_on_b.subscribe(&format!("store:{store}")).await;
    owner_on_b.next_of("snapshot").await;

    let admin_on_a = node_a.login("admin", "demo").await;
    let (status, _) = node_a
        .post(
            &format!("/api/v1/participants/{seller}/awards"),
            &admin_on_a,
            &json!({ "amount": "42.00", "comment": "node A" }),
            None,
        )
        .await
        .expect("answered");
    assert_eq!(status, StatusCode::CREATED);
    let event = seller_on_b.next_event("balance_changed").await;
    assert_eq!(event["data"]["balance"]["available"], "42.00");
    let progress = owner_on_b.next_event("progress").await;
    assert_eq!(progress["data"]["today"]["earned"], "42.00");

    // Debits raced through both nodes never overdraw: PostgreSQL serialises them.
    let admin_on_b = node_b.login("admin", "demo").await;
    let debits = (0..20).map(|i| {
        let (node, token) = if i % 2 == 0 {
            (&node_a, &admin_on_a)
        } else {
            (&node_b, &admin_on_b)
        };
        let path = format!("/api/v1/participants/{seller}/adjustments");
        async move {
            node.post(
                &path,
                token,
                &json!({ "amount": "-5.00", "comment": "race" }),
                Some(&format!("race-{i}")),
            )
            .await
            .map(|(s, _)| s)
        }
    });
    let statuses = join_all(debits).await;
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == Some(StatusCode::CREATED))
            .count(),
        8,
        "{statuses:?}"
    );
    let available: i64 = sqlx::query_scalar(
        "SELECT balance FROM accounts WHERE kind = 'participant' AND owner_id = $1",
    )
    .bind(seller)
    .fetch_one(&db.pool)
    .await
    .expect("balance");
    assert_eq!(available, 200);
    let check = stimul::ledger::queries::check(&db, None)
        .await
        .expect("check");
    assert!(check.sound, "{check:?}");
}

#[actix_web::test]
async fn a_node_killed_mid_stream_loses_no_acknowledged_credit() {
    let (_database, url, db, dir) = prepared_database().await;
    let node = ServerProcess::spawn(&url, None, dir.path());
    let admin = node.login("admin", "demo").await;
    let admin_id = id_of(&db, "admin").await;
    let db_ref = &db;
    let sellers: Vec<i64> =
        join_all((1..=8).map(|n| async move { id_of(db_ref, &format!("seller{n}")).await })).await;

    // Eight streams of credits; the node is killed while they run.
    let stop_at = tokio::time::Instant::now() + Duration::from_millis(1500);
    let streams = sellers.iter().enumerate().map(|(stream, seller)| {
        let node = &node;
        let admin = &admin;
        async move {
            let mut attempted = Vec::new();
            let mut acknowledged = Vec::new();
            for n in 0.. {
                if tokio::time::Instant::now() > stop_at + Duration::from_secs(2) {
                    break;
                }
                let key = format!("crash-{stream}-{n}");
                attempted.push((*seller, key.clone()));
                match node
                    .post(
                        &format!("/api/v1/participants/{seller}/awards"),
                        admin,
                        &json!({ "amount": "1.00", "comment": "stream" }),
                        Some(&key),
                    )
                    .await
                {
                    Some((StatusCode::CREATED, _)) => acknowledged.push(key),
                    Some(_) | None => break,
                }
            }
            (attempted, acknowledged)
        }
    });
    let killer = async {
        tokio::time::sleep_until(stop_at).await;
        node.kill();
    };
    let (results, ()) = tokio::join!(join_all(streams), killer);
    let acknowledged: Vec<String> = results.iter().flat_map(|(_, ack)| ack.clone()).collect();
    let attempted: Vec<(i64, String)> = results
        .iter()
        .flat_map(|(tried, _)| tried.clone())
        .collect();
    assert!(
        acknowledged.len() > 20,
        "the stream ran before the kill ({} acknowledged)",
        acknowledged.len()
    );

    // Restarted on the same database: every acknowledged credit is there, once.
    let node = ServerProcess::spawn(&url, None, dir.path());
    let committed: BTreeSet<String> =
        sqlx::query_scalar("SELECT idempotency_key FROM ledger_transactions")
            .fetch_all(&db.pool)
            .await
            .expect("keys")
            .into_iter()
            .collect();
    for key in &acknowledged {
        assert!(
            committed.contains(&format!("award:{admin_id}:{key}")),
            "acknowledged credit {key} is missing"
        );
    }
    let check = stimul::ledger::queries::check(&db, None)
        .await
        .expect("check");
    assert!(check.sound, "after the crash: {check:?}");

    // Retrying everything that was attempted moves each credit at most once.
    let admin = node.login("admin", "demo").await;
    for (seller, key) in &attempted {
        loop {
            let (status, _) = node
                .post(
                    &format!("/api/v1/participants/{seller}/awards"),
                    &admin,
                    &json!({ "amount": "1.00", "comment": "stream" }),
                    Some(key),
                )
                .await
                .expect("answered");
            if status == StatusCode::CONFLICT {
                // A reservation left by the killed node; it expires shortly.
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            assert_eq!(status, StatusCode::CREATED);
            break;
        }
    }
    let total: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) FROM accounts WHERE kind = 'participant'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("sum");
    let owner_shares: i64 = sqlx::query_scalar("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM postings WHERE purpose = 'owner_share'").fetch_one(&db.pool).await.expect("shares");
    assert_eq!(
        total - owner_shares,
        attempted.len() as i64 * 100,
        "every attempted credit counted exactly once"
    );
    let check = stimul::ledger::queries::check(&db, None)
        .await
        .expect("check");
    assert!(check.sound, "after the retries: {check:?}");
}

#[actix_web::test]
async fn moderators_on_two_nodes_never_decide_one_item_twice() {
    let Some(redis) = std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!(
            "skipped: set TEST_REDIS_URL (and a PostgreSQL TEST_DATABASE_URL) for the multi-node test"
        );
        return;
    };
    let (_database, url, db, dir) = prepared_database().await;
    assert!(
        url.starts_with("postgres"),
        "several nodes share PostgreSQL, not a SQLite file"
    );
    // A second moderator, created directly in the database like the demo's.
    stimul::org::people::create_admin(
        &db,
        &Clock::default(),
        "default",
        "admin2",
        "admin2 password",
        "Second admin",
    )
    .await
    .expect("second admin");
    let prefix = format!("stimul-test-{}", uuid::Uuid::new_v4().simple());
    let node_a = ServerProcess::spawn(&url, Some((&redis, &prefix)), dir.path());
    let node_b = ServerProcess::spawn(&url, Some((&redis, &prefix)), dir.path());
    let on_a = node_a.login("moderator", "demo").await;
    let on_b = node_b.login("admin2", "admin2 password").await;
    let mut sockets = Vec::new();
    for (node, token) in [(&node_a, &on_a), (&node_b, &on_b)] {
        let mut ws = node.ws(token).await;
        ws.send(json!({ "type": "subscribe", "topic": "moderation", "capacity": 4 }))
            .await;
        ws.next_of("snapshot").await;
        sockets.push(ws);
    }
    // Registrations arrive through both nodes.
    let store: i64 = sqlx::query_scalar("SELECT id FROM stores WHERE external_ref = 'DEMO-1'")
        .fetch_one(&db.pool)
        .await
        .expect("store");
    for n in 0..100 {
        let node = if n % 2 == 0 { &node_a } else { &node_b };
        let response = node.http.post(format!("{}/api/v1/registrations", node.address)).json(&json!({ "phone": format!("+7977{n:07}"), "name": format!("Applicant {n}"), "store_id": store })).send().await.expect("sent");
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let work = sockets.into_iter().map(|mut ws| async move {
        let mut decided = Vec::new();
        while let Some(frame) = ws.next_within(Duration::from_secs(4)).await {
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
    let per_node = join_all(work).await;
    let all: Vec<i64> = per_node.iter().flatten().copied().collect();
    let unique: BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(
        (all.len(), unique.len()),
        (100, 100),
        "every item decided exactly once across nodes"
    );
    assert!(
        per_node.iter().all(|d| !d.is_empty()),
        "both nodes' moderators worked: {:?}",
        per_node.iter().map(Vec::len).collect::<Vec<_>>()
    );
    let decisions: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'moderation.decide'")
            .fetch_one(&db.pool)
            .await
            .expect("count");
    assert_eq!(decisions, 100);
}

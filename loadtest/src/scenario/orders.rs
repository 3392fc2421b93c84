//! The `orders` scenario: sellers spend points while a rewards provider answers with
//! latency. The load generator plays the provider itself (a small HTTP server on
//! `--provider-port`, answering `POST /orders` after `--provider-latency-ms` and
//! counting each order line it is asked for); the server must be started with
//! `STIMUL_REWARDS__PROVIDER=http STIMUL_REWARDS__URL=http://127.0.0.1:{port}`
//! (`bench.sh orders` does). An administrator creates a certificate reward and awards
//! every seller enough points; then N sellers, each watching `me`, place `--orders`
//! orders through `POST /api/v1/orders` with an Idempotency-Key, `--concurrency` at a
//! time (closed loop). It measures orders per second, the checkout's HTTP answer and
//! the time from `placeOrder` to the pushed `fulfilled`, and checks at the end that
//! every order is in a final state, the ledger is sound, and the provider was asked for
//! every order line once (same id every time; no line bought twice).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use clap::Args;
use futures_util::{StreamExt, stream};
use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::Session;
use crate::population::{self, PopulationArgs, SetupReport};
use crate::report::{Table, Verdict, latency_table, render_verdict, write_json};
use crate::scenario::{
    EXAMPLES, LedgerCheck, TargetArgs, count_of, run_id, setup_table, watch_sellers,
};
use crate::stats::{Counts, LatencySummary, per_second};

#[derive(Args, Debug, Clone)]
pub struct OrdersArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub population: PopulationArgs,
    /// Orders to place (one certificate line each).
    #[arg(long, default_value_t = 5_000)]
    pub orders: usize,
    /// Checkouts in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Sockets opened at once while connecting the sellers.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// Where the simulated provider listens (the server's `rewards.url`).
    #[arg(long, default_value_t = 18_190)]
    pub provider_port: u16,
    /// How long the simulated provider takes to answer an order.
    #[arg(long, default_value_t = 50)]
    pub provider_latency_ms: u64,
    /// After the last checkout, how long to wait for every order's `fulfilled`.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub drain_timeout: u64,
}

/// What the simulated provider saw: requests per order line id.
#[derive(Default)]
struct ProviderLog {
    asked: HashMap<String, usize>,
}

/// Serves `POST /orders` (and `GET /orders/{id}`) with `done` after `latency`.
async fn serve_provider(
    listener: TcpListener,
    latency: Duration,
    log: Arc<Mutex<ProviderLog>>,
) -> anyhow::Result<()> {
    loop {
        let (socket, _) = listener.accept().await?;
        let log = log.clone();
        tokio::spawn(async move {
            let (read, mut write) = socket.into_split();
            let mut reader = BufReader::new(read);
            loop {
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                    return;
                }
                let mut length = 0usize;
                let mut key = String::new();
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let header = header.trim_end();
                    if header.is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':') {
                        match name.trim().to_ascii_lowercase().as_str() {
                            "content-length" => length = value.trim().parse().unwrap_or(0),
                            "idempotency-key" => key = value.trim().to_string(),
                            _ => {}
                        }
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).await.is_err() {
                    return;
                }
                let id = if key.is_empty() {
                    request_line
                        .split_whitespace()
                        .nth(1)
                        .and_then(|path| path.rsplit('/').next())
                        .unwrap_or_default()
                        .to_string()
                } else {
                    if let Ok(mut log) = log.lock() {
                        *log.asked.entry(key.clone()).or_insert(0) += 1;
                    }
                    key
                };
                tokio::time::sleep(latency).await;
                let answer = json!({ "id": id, "status": "done", "reference": format!("lt-{id}"),
                                     "code": "LOADTEST", "pin": "0000" })
                .to_string();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
                    answer.len()
                );
                if write.write_all(response.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// One checkout as the load generator saw it.
struct Placed {
    order_id: Option<i64>,
    sent: Instant,
    answered: Duration,
    outcome: String,
}

#[derive(Debug, Serialize)]
struct OrdersReport {
    scenario: &'static str,
    run_id: String,
    base_url: String,
    sellers: usize,
    orders: usize,
    concurrency: usize,
    provider_latency_ms: u64,
    setup: SetupReport,
    connect_secs: f64,
    checkout_secs: f64,
    orders_per_sec: f64,
    outcomes: Counts,
    checkout: Option<LatencySummary>,
    to_fulfilled_push: Option<LatencySummary>,
    unfulfilled: usize,
    not_final: usize,
    provider_lines: usize,
    provider_lines_asked_twice: usize,
    ledger: LedgerCheck,
    verdict: Verdict,
}

pub async fn run(args: OrdersArgs) -> anyhow::Result<Verdict> {
    ensure!(
        args.orders > 0 && args.concurrency > 0,
        "--orders and --concurrency must be positive"
    );
    let listener = TcpListener::bind(("127.0.0.1", args.provider_port))
        .await
        .with_context(|| {
            format!(
                "the simulated provider cannot listen on port {}",
                args.provider_port
            )
        })?;
    let log = Arc::new(Mutex::new(ProviderLog::default()));
    let provider = tokio::spawn(serve_provider(
        listener,
        Duration::from_millis(args.provider_latency_ms),
        log.clone(),
    ));
    let (api, admin) = args.target.connect().await?;
    let population = population::prepare(&api, &admin, &args.population).await?;
    let sellers = &population.sellers;
    ensure!(!sellers.is_empty(), "no sellers");
    let run_id = run_id();

    // A certificate at 10.00 and points for every order a seller will place.
    let reward: Value = api
        .post(
            &admin,
            "/api/v1/rewards",
            &json!({ "sku": format!("LT-{run_id}"), "kind": "gift_certificate", "title": "Load test certificate", "price": "10.00" }),
            &format!("{run_id}-reward"),
        )
        .await
        .context("creating the reward")?;
    let reward_id = reward["id"].as_i64().context("the reward's id")?;
    let per_seller = args.orders.div_ceil(sellers.len());
    stream::iter(sellers.iter())
        .map(|seller| {
            let (api, admin, run_id) = (&api, &admin, &run_id);
            async move {
                let _: Value = api
                    .post(
                        admin,
                        &format!("/api/v1/participants/{}/awards", seller.id),
                        &json!({ "amount": format!("{}.00", per_seller * 10), "comment": "orders load test" }),
                        &format!("{run_id}-award-{}", seller.id),
                    )
                    .await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(args.concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()
        .context("awarding the sellers their points")?;

    // Every seller watches `me` and keeps the time each of their orders was fulfilled.
    let (stop, stopped) = watch::channel(false);
    let connect_started = Instant::now();
    let watchers = watch_sellers(&api, sellers, args.connect_concurrency, stopped, |_| {
        |at: Instant, frame: crate::socket::Frame| {
            (frame.event.as_deref() == Some("order_status") && frame.data["status"] == "fulfilled")
                .then(|| frame.data["order_id"].as_i64().map(|id| (id, at)))
                .flatten()
        }
    })
    .await?;
    let connect_secs = connect_started.elapsed().as_secs_f64();

    let started = Instant::now();
    let placed: Vec<Placed> = stream::iter(0..args.orders)
        .map(|i| {
            let (api, run_id) = (&api, &run_id);
            let seller: &Session = &sellers[i % sellers.len()].session;
            async move {
                let sent = Instant::now();
                let reply = api
                    .call::<Value, _>(
                        seller,
                        Method::POST,
                        "/api/v1/orders",
                        &json!({ "items": [{ "reward_id": reward_id }] }),
                        Some(&format!("{run_id}-order-{i}")),
                    )
                    .await;
                let answered = sent.elapsed();
                match reply {
                    Ok(reply) if reply.status.is_success() => Placed {
                        order_id: reply.body.and_then(|b| b["id"].as_i64()),
                        sent,
                        answered,
                        outcome: "placed".into(),
                    },
                    Ok(reply) => Placed {
                        order_id: None,
                        sent,
                        answered,
                        outcome: reply
                            .problem_code
                            .unwrap_or_else(|| reply.status.to_string()),
                    },
                    Err(err) => Placed {
                        order_id: None,
                        sent,
                        answered,
                        outcome: err.as_str().into(),
                    },
                }
            }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    let checkout = started.elapsed();

    // Wait for the orders to be fulfilled (the provider answers each after its latency).
    let accepted: Vec<i64> = placed.iter().filter_map(|p| p.order_id).collect();
    let deadline = Instant::now() + Duration::from_secs(args.drain_timeout);
    let mut not_final = accepted.len();
    while Instant::now() < deadline {
        not_final = 0;
        for status in ["placed", "processing"] {
            let page: Value = api
                .get(&admin, &format!("/api/v1/orders?status={status}&limit=1"))
                .await?;
            not_final += page["items"].as_array().map_or(0, Vec::len);
        }
        if not_final == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(crate::scenario::DUPLICATE_GRACE).await;
    let _ = stop.send(true);
    let mut fulfilled_at: HashMap<i64, Instant> = HashMap::new();
    for watcher in watchers {
        let recording = watcher.recording.await.context("a socket's recording")?;
        fulfilled_at.extend(recording.items);
    }
    provider.abort();

    let mut outcomes = Counts::default();
    let mut to_push = Vec::new();
    let mut unfulfilled = 0;
    for p in &placed {
        outcomes.bump(p.outcome.clone());
        if let Some(id) = p.order_id {
            match fulfilled_at.get(&id) {
                Some(at) => to_push.push(at.saturating_duration_since(p.sent)),
                None => unfulfilled += 1,
            }
        }
    }
    let (lines, twice) = log
        .lock()
        .map(|log| {
            (
                log.asked.len(),
                log.asked.values().filter(|n| **n > 1).count(),
            )
        })
        .unwrap_or_default();
    let ledger = LedgerCheck::fetch(&api, &admin).await?;
    let mut failed = Vec::new();
    if accepted.len() != args.orders {
        failed.push(format!(
            "{} of {} checkouts refused or lost",
            args.orders - accepted.len(),
            args.orders
        ));
    }
    if not_final > 0 {
        failed.push("orders were left placed or processing".into());
    }
    if unfulfilled > 0 {
        failed.push(format!("{unfulfilled} orders never pushed fulfilled"));
    }
    if lines != accepted.len() {
        failed.push(format!(
            "the provider was asked for {lines} lines, {} orders were placed",
            accepted.len()
        ));
    }
    if !ledger.sound {
        failed.push("the ledger is unsound".into());
    }
    let report = OrdersReport {
        scenario: "orders",
        run_id,
        base_url: args.target.base_url.clone(),
        sellers: sellers.len(),
        orders: args.orders,
        concurrency: args.concurrency,
        provider_latency_ms: args.provider_latency_ms,
        setup: population.report.clone(),
        connect_secs,
        checkout_secs: checkout.as_secs_f64(),
        orders_per_sec: per_second(accepted.len(), checkout),
        outcomes,
        checkout: LatencySummary::of(placed.iter().map(|p| p.answered).collect()),
        to_fulfilled_push: LatencySummary::of(to_push),
        unfulfilled,
        not_final,
        provider_lines: lines,
        provider_lines_asked_twice: twice,
        ledger,
        verdict: Verdict::from_failures(failed),
    };
    let mut out = setup_table(&report.setup, report.connect_secs).render();
    let mut figures = Table::new("Orders");
    figures
        .row("orders", count_of(accepted.len(), args.orders))
        .row("checkout phase", format!("{:.1} s", report.checkout_secs))
        .row("orders/s", format!("{:.0}", report.orders_per_sec))
        .row(
            "provider latency",
            format!("{} ms", args.provider_latency_ms),
        );
    for (outcome, n) in report.outcomes.iter().take(EXAMPLES) {
        figures.row(format!("answer {outcome}"), n);
    }
    out += &figures.render();
    out += &latency_table(
        "Latency",
        &[
            ("placeOrder answer", report.checkout.as_ref()),
            (
                "placeOrder → pushed fulfilled",
                report.to_fulfilled_push.as_ref(),
            ),
        ],
    );
    let mut invariants = Table::new("Invariants");
    invariants
        .row("orders not final", report.not_final)
        .row("orders without a fulfilled push", report.unfulfilled)
        .row("provider: lines asked for", report.provider_lines)
        .row(
            "provider: lines asked again (same id)",
            report.provider_lines_asked_twice,
        )
        .row("ledger", report.ledger.summary());
    out += &invariants.render();
    out += &render_verdict(&report.verdict);
    print!("{out}");
    if let Some(path) = &args.target.json {
        write_json(path, &report)?;
        eprintln!("figures written to {}", path.display());
    }
    Ok(report.verdict)
}

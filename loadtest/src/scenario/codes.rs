//! The `codes` scenario: sellers register the codes printed on packages while they
//! watch their points live. An administrator orders a batch of `--codes` codes of a
//! campaign product through the code-pool API (a pool of that size is created, and
//! refilled, when needed), downloads it as CSV, and then N sellers, each holding a
//! WebSocket on `me`, register every code exactly once through
//! `POST /api/v1/codes/register` with an Idempotency-Key, round-robin over the sellers
//! and `--concurrency` at a time (closed loop, as in `credits`). It measures
//! registrations per second, the HTTP answer and the time to the seller's
//! `balance_changed`, and checks at the end that every code was credited exactly once
//! (by the answers and by the pool's own count), that a second registration of a
//! sample is refused with `code_already_registered`, that the ledger is sound, and
//! that every seller's balance, pushed and read back, is its start plus its points.
//!
//! A registration does more than an award: the anti-fraud counts over the attempt log,
//! the check letter, the code lookup and its claim, the campaign and audience lookup,
//! then the same credit through the seller's actor.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Args;
use futures_util::{StreamExt, stream};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::{Api, Points, Session};
use crate::cpu::ProcessCpu;
use crate::population::{self, PopulationArgs, Seller, SetupReport};
use crate::report::{Verdict, render_verdict, write_json};
use crate::scenario::credits::{
    CallFuture, Invariants, LatencyFigures, Measured, Outcome, Pace, StreamFigures, analyse,
    available_of, failures, stream_to_sellers,
};
use crate::scenario::{
    EXAMPLES, LedgerCheck, TargetArgs, count_of, cpu_table, run_id, setup_table,
};
use crate::stats::Counts;

#[derive(Args, Debug, Clone)]
pub struct CodesArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub population: PopulationArgs,
    /// Codes to order and register, each once. Mind the campaign's fund: the demo's
    /// holds 1,000,000.00 and pays 15.00 a siphon code plus the owners' 5 %.
    #[arg(long, default_value_t = 20_000)]
    pub codes: usize,
    /// Registrations in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// The product the codes are for (a campaign must be paying for it now).
    #[arg(long, default_value = "AQ-SIF-6")]
    pub product_sku: String,
    /// Codes registered a second time, by another seller, after the run: each must be
    /// refused with `code_already_registered`.
    #[arg(long, default_value_t = 100)]
    pub recheck: usize,
    /// WebSockets opened at once while connecting the sellers.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// Seconds to wait after the last answer for pushes still on their way.
    #[arg(long, value_name = "SECS", default_value_t = 15)]
    pub drain_timeout: u64,
    /// Seconds the pool's refill and the order's issuing may take, each.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub order_timeout: u64,
}

impl CodesArgs {
    fn check(&self) -> anyhow::Result<()> {
        ensure!(self.codes > 0, "--codes must be at least 1");
        ensure!(self.concurrency > 0, "--concurrency must be at least 1");
        ensure!(
            self.connect_concurrency > 0,
            "--connect-concurrency must be at least 1"
        );
        ensure!(
            self.recheck <= self.codes,
            "--recheck cannot exceed --codes"
        );
        Ok(())
    }

    /// One pool per size and population, so a rerun reuses (and refills) it.
    fn pool_name(&self) -> String {
        format!("{}-codes-{}", self.population.prefix, self.codes)
    }
}

pub async fn run(args: CodesArgs) -> anyhow::Result<Verdict> {
    args.check()?;
    let (api, admin) = args.target.connect().await?;
    let population = population::prepare(&api, &admin, &args.population).await?;
    let run_id = run_id();
    let (order, codes) = order_codes(&api, &admin, &args, &run_id).await?;
    let registered_before = pool_status(&api, &admin, order.pool_id)
        .await?
        .codes
        .registered;

    let codes = Arc::new(codes);
    let measured = stream_to_sellers(
        &api,
        &population.sellers,
        &args.target.watch,
        Pace {
            what: "registering",
            total: codes.len(),
            concurrency: args.concurrency,
            connect_concurrency: args.connect_concurrency,
            drain_timeout: Duration::from_secs(args.drain_timeout),
        },
        register_call(&api, &population.sellers, codes.clone(), &run_id),
    )
    .await?;

    let registered_after = pool_status(&api, &admin, order.pool_id)
        .await?
        .codes
        .registered;
    // Balances before the second registrations: a wrongly accepted one would move
    // them, and is caught by its own check.
    let read_back = read_balances(&api, &admin, &population.sellers, &measured).await?;
    let recheck = register_again(
        &api,
        &population.sellers,
        &codes,
        &measured,
        args.recheck,
        &run_id,
    )
    .await;
    let ledger = LedgerCheck::fetch(&api, &admin).await?;

    let analysis = analyse(&measured.credits, &measured.observed);
    let stream = StreamFigures::of(&measured.credits, measured.drained, measured.drain_time);
    let once = ExactlyOnce {
        codes: codes.len(),
        accepted: stream.accepted,
        pool_registered_delta: registered_after - registered_before,
    };
    let mut failed = failures(ledger.sound, &stream, &analysis);
    failed.extend(once.failures());
    failed.extend(recheck.failures());
    failed.extend(read_back.failures());
    let report = CodesReport {
        scenario: "codes",
        run_id,
        base_url: args.target.base_url.clone(),
        settings: Settings {
            sellers: population.sellers.len(),
            stores: population.stores.len(),
            codes: codes.len(),
            concurrency: args.concurrency,
            product_sku: args.product_sku.clone(),
        },
        setup: population.report,
        order,
        connect_secs: measured.connect_time.as_secs_f64(),
        registrations_per_sec: stream.credits_per_sec,
        stream,
        latency: analysis.latency,
        cpu_during_stream: measured.cpu,
        invariants: CodeInvariants {
            credits: Invariants {
                ledger,
                pushes: analysis.pushes,
                balances: analysis.balances,
            },
            exactly_once: once,
            second_registration: recheck,
            balances_read_back: read_back,
        },
        verdict: Verdict::from_failures(failed),
    };
    print!("{}", report.render());
    if let Some(path) = &args.target.json {
        write_json(path, &report)?;
        eprintln!("figures written to {}", path.display());
    }
    Ok(report.verdict)
}

// ---------------------------------------------------------------------------------
// Ordering the codes: a pool, a batch, its CSV.

#[derive(Deserialize)]
struct ProductRow {
    id: i64,
    sku: String,
}

#[derive(Deserialize)]
struct PoolRow {
    id: i64,
    name: String,
}

#[derive(Deserialize)]
struct PoolStatus {
    available: i64,
    codes: CodeCounts,
}

#[derive(Deserialize)]
struct CodeCounts {
    registered: i64,
}

#[derive(Deserialize)]
struct BatchRow {
    id: i64,
    issued: i64,
    status: String,
}

/// How the codes were ordered.
#[derive(Debug, Serialize)]
struct OrderFigures {
    pool_id: i64,
    pool: String,
    product_id: i64,
    batch_id: i64,
    /// Creating or refilling the pool until it held the order; 0 when it did already.
    refill_secs: f64,
    /// Order placed to every code issued.
    issue_secs: f64,
    csv_secs: f64,
    csv_bytes: usize,
}

async fn order_codes(
    api: &Api,
    admin: &Session,
    args: &CodesArgs,
    run_id: &str,
) -> anyhow::Result<(OrderFigures, Vec<String>)> {
    let wanted = i64::try_from(args.codes)?;
    let products: Vec<ProductRow> = api
        .list_all(admin, "/api/v1/products")
        .await
        .context("listing products")?;
    let product_id = products
        .iter()
        .find(|p| p.sku == args.product_sku)
        .map(|p| p.id)
        .with_context(|| {
            format!(
                "no product with SKU {:?} (the demo has AQ-SIF-6)",
                args.product_sku
            )
        })?;

    let name = args.pool_name();
    let pools: Vec<PoolRow> = api
        .get(admin, "/api/v1/code-pools")
        .await
        .context("listing code pools")?;
    let pool_id = match pools.iter().find(|p| p.name == name) {
        Some(pool) => pool.id,
        None => {
            // No watermark: the pool is refilled by hand, for the run, not behind it.
            let body = json!({ "name": name, "target_size": wanted, "low_watermark": 0 });
            let created: PoolRow = api
                .post(
                    admin,
                    "/api/v1/code-pools",
                    &body,
                    &format!("{run_id}-pool"),
                )
                .await
                .context("creating the code pool")?;
            created.id
        }
    };

    let refill_started = Instant::now();
    let mut refill_secs = 0.0;
    if pool_status(api, admin, pool_id).await?.available < wanted {
        println!("refilling code pool {name} to {wanted} codes…");
        let _: Value = api
            .post(
                admin,
                &format!("/api/v1/code-pools/{pool_id}/refills"),
                &json!({}),
                &format!("{run_id}-refill"),
            )
            .await
            .context("refilling the code pool")?;
        let deadline = refill_started + Duration::from_secs(args.order_timeout);
        while pool_status(api, admin, pool_id).await?.available < wanted {
            if Instant::now() > deadline {
                bail!("the code pool was not refilled within --order-timeout");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        refill_secs = refill_started.elapsed().as_secs_f64();
    }

    println!("ordering {wanted} codes of {}…", args.product_sku);
    let ordered = Instant::now();
    let body = json!({ "pool_id": pool_id, "product_id": product_id, "quantity": wanted });
    let batch: BatchRow = api
        .post(
            admin,
            "/api/v1/code-batches",
            &body,
            &format!("{run_id}-batch"),
        )
        .await
        .context("ordering the codes")?;
    let deadline = ordered + Duration::from_secs(args.order_timeout);
    loop {
        let current: BatchRow = api
            .get(admin, &format!("/api/v1/code-batches/{}", batch.id))
            .await?;
        if current.status == "issued" {
            ensure!(
                current.issued == wanted,
                "the order issued {} codes, not {wanted}",
                current.issued
            );
            break;
        }
        if Instant::now() > deadline {
            bail!("the order was not issued within --order-timeout");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let issue_secs = ordered.elapsed().as_secs_f64();

    let downloaded = Instant::now();
    let csv = api
        .get_bytes(
            admin,
            &format!("/api/v1/code-batches/{}/codes.csv", batch.id),
        )
        .await?;
    let csv_secs = downloaded.elapsed().as_secs_f64();
    let codes = codes_of(&csv)?;
    ensure!(
        codes.len() == args.codes,
        "the CSV holds {} codes, not {}",
        codes.len(),
        args.codes
    );
    let figures = OrderFigures {
        pool_id,
        pool: name,
        product_id,
        batch_id: batch.id,
        refill_secs,
        issue_secs,
        csv_secs,
        csv_bytes: csv.len(),
    };
    Ok((figures, codes))
}

async fn pool_status(api: &Api, admin: &Session, pool_id: i64) -> anyhow::Result<PoolStatus> {
    api.get(admin, &format!("/api/v1/code-pools/{pool_id}"))
        .await
        .context("reading the code pool")
}

/// The codes of a `code,qr_payload` CSV, as stored (what a seller may type), each once.
fn codes_of(csv: &[u8]) -> anyhow::Result<Vec<String>> {
    let text = std::str::from_utf8(csv).context("the CSV is not UTF-8")?;
    let mut lines = text.lines();
    ensure!(
        lines.next() == Some("code,qr_payload"),
        "the CSV does not start with the header code,qr_payload"
    );
    let mut seen = HashSet::new();
    let mut codes = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let code = line.split(',').next().unwrap_or_default();
        ensure!(seen.insert(code), "the CSV repeats the code {code}");
        codes.push(code.to_string());
    }
    Ok(codes)
}

// ---------------------------------------------------------------------------------
// Registering.

/// Registration k: code k, by the seller at that index, with its own key.
fn register_call(
    api: &Api,
    sellers: &[Seller],
    codes: Arc<Vec<String>>,
    run_id: &str,
) -> impl Fn(usize, usize) -> CallFuture + Send + Sync + 'static {
    let sessions: Vec<Session> = sellers.iter().map(|s| s.session.clone()).collect();
    let (api, run_id) = (api.clone(), run_id.to_string());
    move |k, seller| {
        let session = sessions[seller].clone();
        let body = json!({ "code": codes[k] });
        let key = format!("{run_id}-code-{k}");
        let api = api.clone();
        Box::pin(async move {
            api.call(
                &session,
                Method::POST,
                "/api/v1/codes/register",
                &body,
                Some(&key),
            )
            .await
        })
    }
}

/// Every code answered 201 once, and the pool counts as many more registered codes.
#[derive(Debug, Serialize)]
struct ExactlyOnce {
    codes: usize,
    /// 201 `credited` answers.
    accepted: usize,
    /// The pool's `registered` count after the run less before it.
    pool_registered_delta: i64,
}

impl ExactlyOnce {
    fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        if self.accepted != self.codes {
            failures.push(format!(
                "{} of {} codes were credited (201)",
                self.accepted, self.codes
            ));
        }
        if self.pool_registered_delta != self.codes as i64 {
            failures.push(format!(
                "the pool counts {} more registered codes, not {}",
                self.pool_registered_delta, self.codes
            ));
        }
        failures
    }
}

/// A second registration of codes already credited, each by another seller.
#[derive(Debug, Default, Serialize)]
struct Recheck {
    tried: usize,
    refused_as_registered: usize,
    /// Anything else, by kind (a 201 here is a code paid twice).
    other: Counts,
}

impl Recheck {
    fn failures(&self) -> Vec<String> {
        if self.other.total() == 0 {
            return Vec::new();
        }
        let kinds: Vec<String> = self.other.iter().map(|(k, n)| format!("{n} {k}")).collect();
        vec![format!(
            "{} of {} second registrations were not refused with code_already_registered: {}",
            self.other.total(),
            self.tried,
            kinds.join(", ")
        )]
    }
}

/// Registers `sample` credited codes, spread over the run, a second time.
async fn register_again(
    api: &Api,
    sellers: &[Seller],
    codes: &[String],
    measured: &Measured,
    sample: usize,
    run_id: &str,
) -> Recheck {
    let mut credited: Vec<usize> = measured
        .credits
        .iter()
        .filter(|c| c.accepted().is_some())
        .map(|c| c.call)
        .collect();
    // Workers finish in any order; sorted, the sample spreads over the whole run.
    credited.sort_unstable();
    let step = (credited.len() / sample.max(1)).max(1);
    let picks: Vec<usize> = credited
        .iter()
        .step_by(step)
        .take(sample)
        .copied()
        .collect();
    let outcomes: Vec<Outcome> = stream::iter(picks)
        .map(|k| async move {
            // Another seller than the one who registered it, when there is one: the
            // code counts once for everyone.
            let seller = &sellers[(k + 1) % sellers.len()];
            let reply = api
                .call(
                    &seller.session,
                    Method::POST,
                    "/api/v1/codes/register",
                    &json!({ "code": codes[k] }),
                    Some(&format!("{run_id}-again-{k}")),
                )
                .await;
            Outcome::of(reply)
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut recheck = Recheck {
        tried: outcomes.len(),
        ..Recheck::default()
    };
    for outcome in outcomes {
        match outcome {
            Outcome::Refused {
                status: 409,
                code: Some(code),
            } if code == "code_already_registered" => recheck.refused_as_registered += 1,
            other => recheck
                .other
                .bump(other.error_kind().unwrap_or_else(|| "http 201".into())),
        }
    }
    recheck
}

// ---------------------------------------------------------------------------------
// Balances read back over HTTP.

/// Each seller's balance as the server reports it after the run, against its start
/// plus the points its registrations were answered with.
#[derive(Debug, Default, Serialize)]
struct ReadBack {
    checked: usize,
    mismatched: usize,
    /// Sellers with a registration of unknown outcome (no answer or a 5xx).
    inconclusive: usize,
    mismatch_examples: Vec<String>,
}

impl ReadBack {
    fn failures(&self) -> Vec<String> {
        if self.mismatched == 0 {
            return Vec::new();
        }
        vec![format!(
            "{} sellers' balance read back is not their start plus their points",
            self.mismatched
        )]
    }
}

async fn read_balances(
    api: &Api,
    admin: &Session,
    sellers: &[Seller],
    measured: &Measured,
) -> anyhow::Result<ReadBack> {
    let mut expected: Vec<Option<Points>> = measured
        .observed
        .iter()
        .map(|(start, _)| Some(*start))
        .collect();
    for credit in &measured.credits {
        let slot = &mut expected[credit.seller];
        match (credit.accepted(), credit.outcome.uncertain()) {
            (_, true) => *slot = None,
            (Some((_, amount)), false) => {
                if let Some(points) = slot {
                    points.0 += amount.0;
                }
            }
            (None, false) => {}
        }
    }
    let read: Vec<anyhow::Result<(usize, Option<Points>)>> =
        stream::iter(sellers.iter().enumerate())
            .map(|(index, seller)| async move {
                let standing: Value = api
                    .get(
                        admin,
                        &format!("/api/v1/participants/{}/standing", seller.id),
                    )
                    .await
                    .with_context(|| format!("reading {}'s standing", seller.login))?;
                Ok((index, available_of(&standing)))
            })
            .buffer_unordered(16)
            .collect()
            .await;
    let mut read_back = ReadBack::default();
    for result in read {
        let (index, available) = result?;
        let Some(want) = expected[index] else {
            read_back.inconclusive += 1;
            continue;
        };
        read_back.checked += 1;
        if available != Some(want) {
            read_back.mismatched += 1;
            if read_back.mismatch_examples.len() < EXAMPLES {
                let got = available.map_or_else(|| "nothing".into(), |p| p.to_string());
                read_back.mismatch_examples.push(format!(
                    "{}: expected {want}, the server says {got}",
                    sellers[index].login
                ));
            }
        }
    }
    Ok(read_back)
}

// ---------------------------------------------------------------------------------
// The report.

#[derive(Debug, Serialize)]
struct Settings {
    sellers: usize,
    stores: usize,
    codes: usize,
    concurrency: usize,
    product_sku: String,
}

#[derive(Debug, Serialize)]
struct CodeInvariants {
    #[serde(flatten)]
    credits: Invariants,
    exactly_once: ExactlyOnce,
    second_registration: Recheck,
    balances_read_back: ReadBack,
}

#[derive(Debug, Serialize)]
struct CodesReport {
    scenario: &'static str,
    run_id: String,
    base_url: String,
    settings: Settings,
    setup: SetupReport,
    order: OrderFigures,
    connect_secs: f64,
    /// 201s per second, first sent to last 201 (the stream's `credits_per_sec`).
    registrations_per_sec: f64,
    stream: StreamFigures,
    latency: LatencyFigures,
    /// From the first registration sent to the end of the drain.
    cpu_during_stream: Vec<ProcessCpu>,
    invariants: CodeInvariants,
    verdict: Verdict,
}

impl CodesReport {
    fn render(&self) -> String {
        let s = &self.settings;
        let mut out = format!(
            "\nCode registration and live pushes: {} sellers in {} stores register {} codes of {} at concurrency {}, against {} (run {})\n",
            s.sellers, s.stores, s.codes, s.product_sku, s.concurrency, self.base_url, self.run_id
        );
        let o = &self.order;
        let mut setup = setup_table(&self.setup, self.connect_secs);
        setup
            .row(
                "code pool",
                format!(
                    "{} (id {}), refill {:.1} s",
                    o.pool, o.pool_id, o.refill_secs
                ),
            )
            .row(
                "order",
                format!("batch {}, issued in {:.1} s", o.batch_id, o.issue_secs),
            )
            .row(
                "CSV",
                format!(
                    "{:.1} KiB in {:.2} s",
                    o.csv_bytes as f64 / 1024.0,
                    o.csv_secs
                ),
            );
        out += &setup.render();
        out += &self.stream.table("registrations").render();
        out += &self.latency.render();
        out += &cpu_table(
            "CPU during the stream (cores busy on average)",
            &self.cpu_during_stream,
        );

        let inv = &self.invariants;
        let (once, again, back) = (
            &inv.exactly_once,
            &inv.second_registration,
            &inv.balances_read_back,
        );
        let mut table = inv.credits.table();
        table
            .row(
                "codes credited once",
                format!(
                    "{} of {} answered 201; the pool counts {} more registered",
                    once.accepted, once.codes, once.pool_registered_delta
                ),
            )
            .row(
                "second registrations",
                format!(
                    "{} tried, {} refused as code_already_registered, {} otherwise",
                    again.tried,
                    count_of(again.refused_as_registered, again.tried),
                    again.other.total()
                ),
            );
        for (kind, n) in again.other.iter() {
            table.row(format!("  {kind}"), n);
        }
        table.row(
            "balances read back",
            format!(
                "{} checked, {} mismatched, {} inconclusive",
                back.checked, back.mismatched, back.inconclusive
            ),
        );
        for example in &back.mismatch_examples {
            table.row("  e.g.", example);
        }
        out += &table.render();
        out += &render_verdict(&self.verdict);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_gives_its_codes_once_each() {
        let csv = b"code,qr_payload\nABCDEFGHJKL,STIMUL:C:ABCDEFGHJKL\nMNPQRSTUVWX,STIMUL:C:MNPQRSTUVWX\n";
        assert_eq!(
            codes_of(csv).expect("well formed"),
            ["ABCDEFGHJKL", "MNPQRSTUVWX"]
        );
        assert!(codes_of(b"code\nABCDEFGHJKL\n").is_err(), "another header");
        assert!(
            codes_of(b"code,qr_payload\nABCDEFGHJKL,x\nABCDEFGHJKL,x\n").is_err(),
            "a repeat"
        );
    }

    #[test]
    fn only_code_already_registered_passes_the_recheck() {
        let mut recheck = Recheck {
            tried: 3,
            refused_as_registered: 2,
            ..Recheck::default()
        };
        assert!(recheck.failures().is_empty());
        recheck.other.bump("http 201");
        assert_eq!(recheck.failures().len(), 1);
        let once = ExactlyOnce {
            codes: 10,
            accepted: 10,
            pool_registered_delta: 9,
        };
        assert_eq!(once.failures().len(), 1);
    }
}

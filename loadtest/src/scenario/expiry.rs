//! Scenario `expiry`: how long a run of the expiry job takes over many due lots, and
//! what it does to credits flowing beside it.
//!
//! `bench.sh expiry` seeds the lots first (`seed-expiry.sql`: participants whose
//! awards are lots that expired yesterday). The scenario sets a rule (365 days, so the
//! credits beside the run form lots of their own), then credits the program's first
//! `--sellers` participants 1.00 at a time, `--concurrency` in flight, for
//! `--baseline` seconds alone and then for as long as a run started with `runExpiry`
//! takes. It reports the run's time by the server's own clock (its `created_at` to
//! `finished_at`), lots and participants per second, and credits per second with
//! their latency before and during the run. Invariants: the run moved exactly what was
//! due when it started, every participant with due lots was done, a second run finds
//! nothing, every credit was accepted, and the ledger check is sound.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use futures_util::StreamExt;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::{Api, Points, Session};
use crate::report::{Table, Verdict, latency_table, render_verdict, write_json};
use crate::scenario::{LedgerCheck, TargetArgs, run_id};
use crate::stats::{LatencySummary, per_second};

#[derive(Args, Debug, Clone)]
pub struct ExpiryArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Lots seeded as due (`LOTS` × `PARTICIPANTS` of bench.sh), for lots per second.
    #[arg(long, default_value_t = 1_000_000)]
    pub lots: i64,
    /// Participants credited beside the run: the program's first, by id.
    #[arg(long, default_value_t = 200)]
    pub sellers: usize,
    /// Credits in flight (closed loop).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Seconds of credits alone before the run starts, for the baseline.
    #[arg(long, value_name = "SECS", default_value_t = 15)]
    pub baseline: u64,
    /// Seconds to wait for the run.
    #[arg(long, value_name = "SECS", default_value_t = 3_600)]
    pub timeout: u64,
}

#[derive(Deserialize)]
struct Person {
    id: i64,
}

#[derive(Deserialize)]
struct PersonPage {
    items: Vec<Person>,
}

#[derive(Deserialize, Serialize, Clone, Debug)]
struct Run {
    id: i64,
    status: String,
    participants_due: i64,
    points_due: String,
    participants_done: i64,
    points_expired: String,
    created_at: i64,
    finished_at: Option<i64>,
}

/// One credit: when it was answered, how long it took, whether it was accepted.
#[derive(Clone, Copy)]
struct Credit {
    answered: Instant,
    latency: Duration,
    accepted: bool,
}

#[derive(Serialize, Default)]
struct Figures {
    lots: i64,
    participants: i64,
    points: String,
    run_seconds: f64,
    lots_per_second: f64,
    participants_per_second: f64,
    credits_per_second_before: f64,
    credits_per_second_during: f64,
    credit_latency_before: Option<LatencySummary>,
    credit_latency_during: Option<LatencySummary>,
    credits_refused: usize,
    #[serde(flatten)]
    ledger: Option<LedgerCheck>,
    verdict: Option<Verdict>,
}

pub async fn run(args: ExpiryArgs) -> anyhow::Result<Verdict> {
    if args.sellers == 0 || args.concurrency == 0 || args.lots < 1 {
        bail!("--sellers, --concurrency and --lots must be positive");
    }
    let (api, admin) = args.target.connect().await?;
    let mut failures = Vec::new();
    let rule: Value = api
        .call(
            &admin,
            Method::PUT,
            "/api/v1/expiry/rule",
            &json!({ "rule": { "kind": "after_days", "days": 365 }, "warn_days": 0 }),
            None,
        )
        .await
        .ok()
        .and_then(|reply| reply.body)
        .context("setting the expiry rule (PUT /api/v1/expiry/rule)")?;
    let due_before = rule["due_now"].as_str().unwrap_or("0.00").to_string();
    let people: PersonPage = api
        .get(
            &admin,
            &format!("/api/v1/participants?limit={}", args.sellers.min(200)),
        )
        .await?;
    let sellers: Vec<i64> = people.items.iter().map(|p| p.id).collect();
    if sellers.is_empty() {
        bail!("the program has no participants to credit; load the demo");
    }
    println!(
        "{} due in the seeded lots; crediting {} participants, {} in flight…",
        due_before,
        sellers.len(),
        args.concurrency
    );

    let stop = Arc::new(AtomicBool::new(false));
    let crediting = tokio::spawn(credit_until(
        api.clone(),
        admin.clone(),
        sellers,
        args.concurrency,
        stop.clone(),
    ));
    let began = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.baseline)).await;
    let run_started = Instant::now();
    let started = start_run(&api, &admin)
        .await
        .context("starting the run (POST /api/v1/expiry/runs)")?;
    println!(
        "run {} started: {} participants, {} due…",
        started.id, started.participants_due, started.points_due
    );
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let finished = loop {
        let run: Run = api
            .get(&admin, &format!("/api/v1/expiry/runs/{}", started.id))
            .await?;
        if run.status == "finished" {
            break run;
        }
        if Instant::now() > deadline {
            stop.store(true, Ordering::Relaxed);
            bail!("the run did not finish within --timeout: {run:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let run_ended = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let credits = crediting.await.context("the crediting task")?;

    let window = |from: Instant, to: Instant| -> Vec<Credit> {
        credits
            .iter()
            .copied()
            .filter(|c| c.answered >= from && c.answered < to)
            .collect()
    };
    let before = window(began, run_started);
    let during = window(run_started, run_ended);
    let accepted = |credits: &[Credit]| credits.iter().filter(|c| c.accepted).count();
    let latencies = |credits: &[Credit]| {
        LatencySummary::of(
            credits
                .iter()
                .filter(|c| c.accepted)
                .map(|c| c.latency)
                .collect(),
        )
    };
    let run_seconds =
        (finished.finished_at.unwrap_or(finished.created_at) - finished.created_at) as f64 / 1e3;
    let mut figures = Figures {
        lots: args.lots,
        participants: finished.participants_done,
        points: finished.points_expired.clone(),
        run_seconds,
        lots_per_second: rate(args.lots as f64, run_seconds),
        participants_per_second: rate(finished.participants_done as f64, run_seconds),
        credits_per_second_before: per_second(accepted(&before), run_started - began),
        credits_per_second_during: per_second(accepted(&during), run_ended - run_started),
        credit_latency_before: latencies(&before),
        credit_latency_during: latencies(&during),
        credits_refused: credits.iter().filter(|c| !c.accepted).count(),
        ..Figures::default()
    };

    if Points::parse(&finished.points_expired) != Points::parse(&finished.points_due)
        || Points::parse(&finished.points_due) != Points::parse(&due_before)
    {
        failures.push(format!(
            "the run moved {} of {} due at its start ({} due before it)",
            finished.points_expired, finished.points_due, due_before
        ));
    }
    if finished.participants_done != finished.participants_due {
        failures.push(format!(
            "the run did {} of {} participants",
            finished.participants_done, finished.participants_due
        ));
    }
    if figures.credits_refused > 0 {
        failures.push(format!(
            "{} credits were refused or unanswered",
            figures.credits_refused
        ));
    }
    let again = start_run(&api, &admin)
        .await
        .context("starting a second run")?;
    if again.participants_due != 0 {
        failures.push(format!(
            "a second run found {} participants still due",
            again.participants_due
        ));
    }
    let ledger = LedgerCheck::fetch(&api, &admin).await?;
    if !ledger.sound {
        failures.push(format!("the ledger check failed: {}", ledger.summary()));
    }

    let mut table = Table::new("Expiry run");
    table
        .row("lots expired", args.lots)
        .row("participants", finished.participants_done)
        .row("points moved", &finished.points_expired)
        .row("run time (server clock)", format!("{run_seconds:.1} s"))
        .row(
            "throughput",
            format!(
                "{:.0} lots/s, {:.0} participants/s",
                figures.lots_per_second, figures.participants_per_second
            ),
        )
        .row(
            "credits/s before the run",
            format!("{:.0}", figures.credits_per_second_before),
        )
        .row(
            "credits/s during the run",
            format!("{:.0}", figures.credits_per_second_during),
        )
        .row("ledger", ledger.summary());
    print!("{}", table.render());
    print!(
        "{}",
        latency_table(
            "Credit latency (accepted)",
            &[
                ("before the run", figures.credit_latency_before.as_ref()),
                ("during the run", figures.credit_latency_during.as_ref()),
            ],
        )
    );
    let verdict = Verdict::from_failures(failures);
    print!("{}", render_verdict(&verdict));
    figures.ledger = Some(ledger);
    figures.verdict = Some(verdict.clone());
    if let Some(path) = &args.target.json {
        write_json(path, &figures)?;
    }
    Ok(verdict)
}

/// Starts a run (`runExpiry`), answering it as started.
async fn start_run(api: &Api, admin: &Session) -> Option<Run> {
    api.call(admin, Method::POST, "/api/v1/expiry/runs", &json!({}), None)
        .await
        .ok()
        .and_then(|reply| reply.body)
}

fn rate(count: f64, seconds: f64) -> f64 {
    if seconds > 0.0 { count / seconds } else { 0.0 }
}

/// Credits 1.00 round-robin over `sellers`, `concurrency` in flight, until `stop`.
async fn credit_until(
    api: Api,
    admin: Session,
    sellers: Vec<i64>,
    concurrency: usize,
    stop: Arc<AtomicBool>,
) -> Vec<Credit> {
    let prefix = run_id();
    futures_util::stream::iter(0_usize..)
        .take_while(|_| std::future::ready(!stop.load(Ordering::Relaxed)))
        .map(|n| {
            let (api, admin, seller) = (&api, &admin, sellers[n % sellers.len()]);
            let key = format!("{prefix}-{n}");
            async move {
                let sent = Instant::now();
                let reply = api
                    .call::<Value, _>(
                        admin,
                        Method::POST,
                        &format!("/api/v1/participants/{seller}/awards"),
                        &json!({ "amount": "1.00", "comment": "beside the expiry run" }),
                        Some(&key),
                    )
                    .await;
                Credit {
                    answered: Instant::now(),
                    latency: sent.elapsed(),
                    accepted: reply.is_ok_and(|r| r.status.is_success()),
                }
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

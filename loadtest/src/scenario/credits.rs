//! The `credits` scenario: N sellers hold a WebSocket subscribed to `me` while an
//! administrator sends M credits to them through the API, C at a time (closed loop:
//! each worker sends its next credit when the previous one is answered). It measures
//! accepted credits per second and how long each credit takes to reach its seller's
//! socket, and checks at the end that the ledger is sound, that every accepted credit
//! was pushed exactly once to the right seller with consecutive sequence numbers, and
//! that every seller's last pushed balance is its starting balance plus its credits.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use clap::{Args, ValueEnum};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{Api, CallError, Points, Reply, Session};
use crate::cpu::{CpuSample, ProcessCpu};
use crate::population::{self, PopulationArgs, Seller, SetupReport};
use crate::progress::Progress;
use crate::report::{Table, Verdict, latency_table, render_verdict, write_json};
use crate::scenario::{
    DUPLICATE_GRACE, EXAMPLES, LedgerCheck, TargetArgs, count_of, cpu_table, run_id, setup_table,
    wait_for_count, watch_sellers,
};
use crate::socket::{Frame, Recording, SeqTotals};
use crate::stats::{Counts, LatencySummary, per_second};

#[derive(Args, Debug, Clone)]
pub struct CreditsArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub population: PopulationArgs,
    /// Credits to send in all, spread round-robin over the sellers.
    #[arg(long, default_value_t = 20_000)]
    pub credits: usize,
    /// Credits in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// `award` (income: level multiplier and owner share apply) or `adjustment`
    /// (manual correction: the exact amount).
    #[arg(long, value_enum, default_value_t = Operation::Award)]
    pub operation: Operation,
    /// Points per credit, before any level multiplier.
    #[arg(long, default_value = "1.00")]
    pub amount: String,
    /// WebSockets opened at once while connecting the sellers.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// Seconds to wait after the last answer for pushes still on their way.
    #[arg(long, value_name = "SECS", default_value_t = 15)]
    pub drain_timeout: u64,
    /// Send credits without an Idempotency-Key (a phone always sends one): shows what
    /// the server's per-request key bookkeeping costs.
    #[arg(long)]
    pub no_idempotency_keys: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Award,
    Adjustment,
}

impl Operation {
    fn path(self, participant: i64) -> String {
        match self {
            Operation::Award => format!("/api/v1/participants/{participant}/awards"),
            Operation::Adjustment => format!("/api/v1/participants/{participant}/adjustments"),
        }
    }
}

impl CreditsArgs {
    fn check(&self) -> anyhow::Result<()> {
        ensure!(self.credits > 0, "--credits must be at least 1");
        ensure!(self.concurrency > 0, "--concurrency must be at least 1");
        ensure!(
            self.connect_concurrency > 0,
            "--connect-concurrency must be at least 1"
        );
        ensure!(
            Points::parse(&self.amount).is_some_and(|p| p.0 > 0),
            "--amount is a positive decimal like 1.00"
        );
        Ok(())
    }
}

pub async fn run(args: CreditsArgs) -> anyhow::Result<Verdict> {
    args.check()?;
    let (api, admin) = args.target.connect().await?;
    let population = population::prepare(&api, &admin, &args.population).await?;

    let run_id = run_id();
    let measured = stream_to_sellers(
        &api,
        &population.sellers,
        &args.target.watch,
        Pace {
            what: "crediting",
            total: args.credits,
            concurrency: args.concurrency,
            connect_concurrency: args.connect_concurrency,
            drain_timeout: Duration::from_secs(args.drain_timeout),
        },
        credit_call(&api, &admin, &population.sellers, &args, &run_id),
    )
    .await?;
    let ledger = LedgerCheck::fetch(&api, &admin).await?;

    let analysis = analyse(&measured.credits, &measured.observed);
    let stream = StreamFigures::of(&measured.credits, measured.drained, measured.drain_time);
    let verdict = Verdict::from_failures(failures(ledger.sound, &stream, &analysis));
    let report = CreditsReport {
        scenario: "credits",
        run_id,
        base_url: args.target.base_url.clone(),
        settings: Settings {
            sellers: population.sellers.len(),
            stores: population.stores.len(),
            credits: args.credits,
            concurrency: args.concurrency,
            operation: args.operation,
            amount: args.amount.clone(),
            idempotency_keys: !args.no_idempotency_keys,
        },
        setup: population.report,
        connect_secs: measured.connect_time.as_secs_f64(),
        stream,
        latency: analysis.latency,
        cpu_during_stream: measured.cpu,
        invariants: Invariants {
            ledger,
            pushes: analysis.pushes,
            balances: analysis.balances,
        },
        verdict,
    };
    print!("{}", report.render());
    if let Some(path) = &args.target.json {
        write_json(path, &report)?;
        eprintln!("figures written to {}", path.display());
    }
    Ok(report.verdict)
}

// ---------------------------------------------------------------------------------
// Watching: one recorded socket per seller.

/// What a seller's socket showed that the checks need.
#[derive(Debug, Clone)]
pub(super) enum Seen {
    /// A `balance_changed` event. `transaction_id` 0 is a resync after a reload.
    Balance {
        at: Instant,
        transaction_id: Option<i64>,
        available: Option<Points>,
    },
    /// A fresh snapshot the server sent on its own (after the session fell behind).
    Snapshot { available: Option<Points> },
    /// An `error` frame, by code.
    Error(String),
}

pub(super) fn available_of(data: &Value) -> Option<Points> {
    data["balance"]["available"]
        .as_str()
        .and_then(Points::parse)
}

/// Keeps what the checks need of a frame, and counts credit pushes as they arrive so
/// the drain knows when everything is in.
fn seen(at: Instant, frame: Frame, pushes: &AtomicUsize) -> Option<Seen> {
    match (frame.kind.as_str(), frame.event.as_deref()) {
        ("event", Some("balance_changed")) => {
            let transaction_id = frame.data["transaction_id"].as_i64();
            if transaction_id.is_some_and(|id| id != 0) {
                pushes.fetch_add(1, Ordering::Relaxed);
            }
            Some(Seen::Balance {
                at,
                transaction_id,
                available: available_of(&frame.data),
            })
        }
        ("snapshot", _) => Some(Seen::Snapshot {
            available: available_of(&frame.data),
        }),
        ("error", _) => Some(Seen::Error(frame.code.unwrap_or_default())),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------
// Crediting: C workers, one credit each at a time.

/// A credit's 201 answer: an award's or adjustment's, or a code registration's (which
/// names the amount `points`).
#[derive(Deserialize)]
pub(super) struct PointsChanged {
    transaction_id: i64,
    /// Credited after the level multiplier.
    #[serde(alias = "points")]
    amount: Points,
    /// `pending` when the points are held for review, so not available yet.
    #[serde(default)]
    status: String,
}

#[derive(Debug, Clone)]
pub(super) enum Outcome {
    /// 201: committed.
    Accepted { transaction_id: i64, amount: Points },
    /// Answered with another status.
    Refused { status: u16, code: Option<String> },
    /// No answer.
    Failed(CallError),
}

impl Outcome {
    pub(super) fn of(reply: Result<Reply<PointsChanged>, CallError>) -> Self {
        match reply {
            Err(err) => Outcome::Failed(err),
            Ok(Reply {
                status,
                body: Some(body),
                ..
            }) if status.as_u16() == 201 && body.status == "pending" => Outcome::Refused {
                status: 201,
                code: Some("held for review".into()),
            },
            Ok(Reply {
                status,
                body: Some(body),
                ..
            }) if status.as_u16() == 201 => Outcome::Accepted {
                transaction_id: body.transaction_id,
                amount: body.amount,
            },
            Ok(reply) => Outcome::Refused {
                status: reply.status.as_u16(),
                code: reply.problem_code,
            },
        }
    }

    /// Whether the credit may have been committed without us knowing: no answer, or
    /// a server error that may have come after the commit.
    pub(super) fn uncertain(&self) -> bool {
        match self {
            Outcome::Accepted { .. } => false,
            Outcome::Refused { status, .. } => *status >= 500,
            Outcome::Failed(_) => true,
        }
    }

    pub(super) fn error_kind(&self) -> Option<String> {
        match self {
            Outcome::Accepted { .. } => None,
            Outcome::Refused { status, code } => Some(match code {
                Some(code) => format!("http {status} {code}"),
                None => format!("http {status}"),
            }),
            Outcome::Failed(err) => Some(err.as_str().to_string()),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Credit {
    /// Which call of the stream (k, from 0).
    pub call: usize,
    /// Index into the population's sellers.
    pub seller: usize,
    pub sent: Instant,
    pub answered: Instant,
    pub outcome: Outcome,
}

impl Credit {
    pub(super) fn accepted(&self) -> Option<(i64, Points)> {
        match self.outcome {
            Outcome::Accepted {
                transaction_id,
                amount,
            } => Some((transaction_id, amount)),
            _ => None,
        }
    }
}

/// The answer to call k, as a future the workers can hold across threads.
pub(super) type CallFuture =
    Pin<Box<dyn Future<Output = Result<Reply<PointsChanged>, CallError>> + Send>>;

/// How a measured stream runs.
pub(super) struct Pace {
    /// What the progress line says is going on.
    pub what: &'static str,
    /// Calls in all, spread round-robin over the sellers.
    pub total: usize,
    /// Calls in flight at once.
    pub concurrency: usize,
    /// WebSockets opened at once while connecting the sellers.
    pub connect_concurrency: usize,
    /// How long to wait after the last answer for pushes still on their way.
    pub drain_timeout: Duration,
}

/// What a measured stream saw, for [`analyse`] and the report.
pub(super) struct Measured {
    pub credits: Vec<Credit>,
    /// Each seller's starting balance and what their socket saw, in the sellers' order.
    pub observed: Vec<(Points, Recording<Seen>)>,
    pub connect_time: Duration,
    pub drained: bool,
    pub drain_time: Duration,
    /// From the first call to the end of the drain.
    pub cpu: Vec<ProcessCpu>,
}

/// The measured phase of a scenario that credits sellers while they watch: connects
/// every seller's socket on `me`, makes `pace.total` calls (`call(k, seller)` makes
/// call k, for the seller at that index), waits for the pushes, and hands back what
/// each socket recorded.
pub(super) async fn stream_to_sellers<F>(
    api: &Api,
    sellers: &[Seller],
    watch: &[String],
    pace: Pace,
    call: F,
) -> anyhow::Result<Measured>
where
    F: Fn(usize, usize) -> CallFuture + Send + Sync + 'static,
{
    let (stop, stopped) = watch::channel(false);
    let pushes = Arc::new(AtomicUsize::new(0));
    let connect_started = Instant::now();
    let watchers = watch_sellers(api, sellers, pace.connect_concurrency, stopped, |_| {
        let pushes = pushes.clone();
        move |at, frame| seen(at, frame, &pushes)
    })
    .await?;
    let connect_time = connect_started.elapsed();
    let starts = sellers
        .iter()
        .zip(&watchers)
        .map(|(seller, watcher)| {
            available_of(&watcher.snapshot.data)
                .with_context(|| format!("{}'s snapshot has no balance.available", seller.login))
        })
        .collect::<anyhow::Result<Vec<Points>>>()?;

    let cpu_before = CpuSample::take(watch);
    let credits = drive(&pace, sellers.len(), call).await;
    let accepted = credits.iter().filter(|c| c.accepted().is_some()).count();
    let drain_started = Instant::now();
    let drained = wait_for_count(&pushes, accepted, pace.drain_timeout).await;
    let drain_time = drain_started.elapsed();
    let cpu = CpuSample::take(watch).since(&cpu_before);
    tokio::time::sleep(DUPLICATE_GRACE).await;

    let _ = stop.send(true);
    let mut observed = Vec::with_capacity(watchers.len());
    for (watcher, start) in watchers.into_iter().zip(starts) {
        let recording = watcher.recording.await.expect("a socket recorder panicked");
        observed.push((start, recording));
    }
    Ok(Measured {
        credits,
        observed,
        connect_time,
        drained,
        drain_time,
        cpu,
    })
}

/// Closed loop: `pace.concurrency` workers, each making its next call when the
/// previous one is answered.
async fn drive<F>(pace: &Pace, sellers: usize, call: F) -> Vec<Credit>
where
    F: Fn(usize, usize) -> CallFuture + Send + Sync + 'static,
{
    let call = Arc::new(call);
    let next = Arc::new(AtomicUsize::new(0));
    let (progress, ticker) = Progress::start(pace.what, pace.total);
    let workers: Vec<JoinHandle<Vec<Credit>>> = (0..pace.concurrency)
        .map(|_| {
            let (call, next, progress, total) =
                (call.clone(), next.clone(), progress.clone(), pace.total);
            tokio::spawn(async move {
                let mut sent_here = Vec::new();
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= total {
                        return sent_here;
                    }
                    // Round-robin: consecutive calls go to different sellers, so the
                    // C in flight rarely queue behind one participant.
                    let seller = k % sellers;
                    let sent = Instant::now();
                    let reply = call(k, seller).await;
                    let answered = Instant::now();
                    sent_here.push(Credit {
                        call: k,
                        seller,
                        sent,
                        answered,
                        outcome: Outcome::of(reply),
                    });
                    progress.inc();
                }
            })
        })
        .collect();
    let mut credits = Vec::with_capacity(pace.total);
    for worker in workers {
        credits.extend(worker.await.expect("a credit worker panicked"));
    }
    ticker.finish().await;
    credits
}

/// Credit k: the administrator's award or adjustment to the seller at that index.
fn credit_call(
    api: &Api,
    admin: &Session,
    sellers: &[Seller],
    args: &CreditsArgs,
    run_id: &str,
) -> impl Fn(usize, usize) -> CallFuture + Send + Sync + 'static {
    let targets: Vec<i64> = sellers.iter().map(|s| s.id).collect();
    let body = Arc::new(json!({ "amount": args.amount, "comment": "load" }));
    let (api, admin, run_id) = (api.clone(), admin.clone(), run_id.to_string());
    let (operation, keyed) = (args.operation, !args.no_idempotency_keys);
    move |k, seller| {
        let path = operation.path(targets[seller]);
        let key = keyed.then(|| format!("{run_id}-{k}"));
        let (api, admin, body) = (api.clone(), admin.clone(), body.clone());
        Box::pin(async move {
            api.call(&admin, Method::POST, &path, &*body, key.as_deref())
                .await
        })
    }
}

// ---------------------------------------------------------------------------------
// Figures and checks.

#[derive(Debug, Serialize)]
pub(super) struct StreamFigures {
    pub sent: usize,
    pub accepted: usize,
    pub errors: Counts,
    /// First request sent to last 201 received.
    pub wall_secs: f64,
    pub credits_per_sec: f64,
    /// Last answer to the last expected push (or the drain timeout).
    pub drain_secs: f64,
    pub all_pushes_arrived: bool,
}

impl StreamFigures {
    pub(super) fn of(credits: &[Credit], drained: bool, drain_time: Duration) -> Self {
        let mut errors = Counts::default();
        for kind in credits.iter().filter_map(|c| c.outcome.error_kind()) {
            errors.bump(kind);
        }
        let accepted: Vec<&Credit> = credits.iter().filter(|c| c.accepted().is_some()).collect();
        let first_sent = credits.iter().map(|c| c.sent).min();
        let last_accepted = accepted.iter().map(|c| c.answered).max();
        let wall = match (first_sent, last_accepted) {
            (Some(first), Some(last)) => last.saturating_duration_since(first),
            _ => Duration::ZERO,
        };
        Self {
            sent: credits.len(),
            accepted: accepted.len(),
            errors,
            wall_secs: wall.as_secs_f64(),
            credits_per_sec: per_second(accepted.len(), wall),
            drain_secs: drain_time.as_secs_f64(),
            all_pushes_arrived: drained,
        }
    }

    /// The stream table, counting `noun` ("credits", "registrations"); callers may add
    /// rows.
    pub(super) fn table(&self, noun: &str) -> Table {
        let st = self;
        let mut stream = Table::new("Stream");
        stream
            .row(format!("{noun} sent"), st.sent)
            .row("accepted (201)", count_of(st.accepted, st.sent))
            .row("errors", count_of(st.errors.total(), st.sent));
        for (kind, n) in st.errors.iter() {
            stream.row(format!("  {kind}"), n);
        }
        stream
            .row("first sent to last 201", format!("{:.2} s", st.wall_secs))
            .row("throughput", format!("{:.1} {noun}/s", st.credits_per_sec))
            .row(
                "drain after last answer",
                format!(
                    "{:.3} s{}",
                    st.drain_secs,
                    if st.all_pushes_arrived {
                        ""
                    } else {
                        " (timed out)"
                    }
                ),
            );
        stream
    }
}

#[derive(Debug, Serialize)]
pub(super) struct LatencyFigures {
    /// Request sent → 201 received.
    http_round_trip: Option<LatencySummary>,
    /// Request sent → push received.
    sent_to_pushed: Option<LatencySummary>,
    /// 201 received → push received, clamped at zero.
    accepted_to_pushed: Option<LatencySummary>,
    /// Pushes that arrived before their 201 (the server publishes at commit, then
    /// answers): counted as zero above.
    pushed_before_accepted: usize,
}

#[derive(Debug, Default, Serialize)]
pub(super) struct PushChecks {
    /// Accepted credits, each of which must be pushed exactly once.
    expected: usize,
    pushed_once: usize,
    missing: usize,
    /// Extra deliveries of a credit already pushed.
    duplicates: usize,
    /// Pushes of a credit to a seller it was not for.
    misrouted: usize,
    /// Pushes of transactions this run did not see accepted (credits that got no
    /// answer, or activity by others).
    unmatched: usize,
    /// `balance_changed` with transaction 0: the server reloaded the participant.
    resyncs: usize,
    /// Snapshots the server sent on its own because a session fell behind.
    lag_snapshots: usize,
    /// `balance_changed` without a transaction id (a contract breach).
    malformed: usize,
    error_frames: Counts,
    seq: SeqTotals,
    sockets_ended_early: usize,
    ended_early_examples: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
pub(super) struct BalanceChecks {
    checked: usize,
    mismatched: usize,
    /// Sellers with a credit of unknown outcome (no answer or a 5xx): not checkable.
    inconclusive: usize,
    mismatch_examples: Vec<String>,
}

pub(super) struct Analysis {
    pub latency: LatencyFigures,
    pub pushes: PushChecks,
    pub balances: BalanceChecks,
}

/// Matches pushes to credits by transaction id, seller by seller. `observed[i]` is
/// seller i's starting balance and what its socket saw.
pub(super) fn analyse(credits: &[Credit], observed: &[(Points, Recording<Seen>)]) -> Analysis {
    let by_transaction: HashMap<i64, usize> = credits
        .iter()
        .enumerate()
        .filter_map(|(index, c)| c.accepted().map(|(tx, _)| (tx, index)))
        .collect();
    let mut deliveries = vec![0u32; credits.len()];
    let mut pushes = PushChecks {
        expected: by_transaction.len(),
        ..PushChecks::default()
    };
    let (mut round_trip, mut sent_to_pushed, mut accepted_to_pushed) =
        (Vec::new(), Vec::new(), Vec::new());
    let mut pushed_before_accepted = 0;
    for credit in credits.iter().filter(|c| c.accepted().is_some()) {
        round_trip.push(credit.answered.duration_since(credit.sent));
    }

    let mut balances = BalanceChecks::default();
    let mut credited = vec![Points::default(); observed.len()];
    let mut uncertain = vec![false; observed.len()];
    for credit in credits {
        if let Some((_, amount)) = credit.accepted() {
            credited[credit.seller].0 += amount.0;
        }
        uncertain[credit.seller] |= credit.outcome.uncertain();
    }

    for (seller, (start, recording)) in observed.iter().enumerate() {
        pushes.seq.add(&recording.seq);
        if let Some(reason) = &recording.ended_early {
            pushes.sockets_ended_early += 1;
            if pushes.ended_early_examples.len() < EXAMPLES {
                pushes
                    .ended_early_examples
                    .push(format!("seller #{}: {reason}", seller + 1));
            }
        }
        let mut last_available = Some(*start);
        for item in &recording.items {
            match item {
                Seen::Balance {
                    at,
                    transaction_id,
                    available,
                } => {
                    last_available = *available;
                    match transaction_id {
                        None => pushes.malformed += 1,
                        Some(0) => pushes.resyncs += 1,
                        Some(tx) => match by_transaction.get(tx) {
                            None => pushes.unmatched += 1,
                            Some(&index) if credits[index].seller != seller => {
                                pushes.misrouted += 1
                            }
                            Some(&index) => {
                                deliveries[index] += 1;
                                if deliveries[index] > 1 {
                                    pushes.duplicates += 1;
                                    continue;
                                }
                                let credit = &credits[index];
                                sent_to_pushed.push(at.saturating_duration_since(credit.sent));
                                if *at < credit.answered {
                                    pushed_before_accepted += 1;
                                }
                                accepted_to_pushed
                                    .push(at.saturating_duration_since(credit.answered));
                            }
                        },
                    }
                }
                Seen::Snapshot { available } => {
                    pushes.lag_snapshots += 1;
                    last_available = *available;
                }
                Seen::Error(code) => pushes.error_frames.bump(code.clone()),
            }
        }
        if uncertain[seller] {
            balances.inconclusive += 1;
            continue;
        }
        balances.checked += 1;
        let expected = Points(start.0 + credited[seller].0);
        if last_available != Some(expected) {
            balances.mismatched += 1;
            if balances.mismatch_examples.len() < EXAMPLES {
                let got = last_available.map_or_else(|| "nothing".into(), |p| p.to_string());
                balances.mismatch_examples.push(format!(
                    "seller #{}: started at {start}, credited {}, last pushed {got}",
                    seller + 1,
                    credited[seller]
                ));
            }
        }
    }
    for (index, credit) in credits.iter().enumerate() {
        if credit.accepted().is_some() {
            match deliveries[index] {
                0 => pushes.missing += 1,
                _ => pushes.pushed_once += 1,
            }
        }
    }
    Analysis {
        latency: LatencyFigures {
            http_round_trip: LatencySummary::of(round_trip),
            sent_to_pushed: LatencySummary::of(sent_to_pushed),
            accepted_to_pushed: LatencySummary::of(accepted_to_pushed),
            pushed_before_accepted,
        },
        pushes,
        balances,
    }
}

/// What went wrong in a stream of credits, for the verdict.
pub(super) fn failures(
    ledger_sound: bool,
    stream: &StreamFigures,
    analysis: &Analysis,
) -> Vec<String> {
    let (p, b) = (&analysis.pushes, &analysis.balances);
    let mut failures = Vec::new();
    let mut fail = |bad: bool, text: String| {
        if bad {
            failures.push(text);
        }
    };
    fail(stream.accepted == 0, "no credit was accepted".into());
    fail(
        !ledger_sound,
        "the ledger check does not say \"sound\": true".into(),
    );
    fail(
        p.missing > 0,
        format!("{} accepted credits were never pushed", p.missing),
    );
    fail(
        p.duplicates > 0,
        format!("{} pushes repeated a credit", p.duplicates),
    );
    fail(
        p.misrouted > 0,
        format!("{} pushes reached the wrong seller", p.misrouted),
    );
    fail(
        p.malformed > 0,
        format!(
            "{} balance_changed events had no transaction_id",
            p.malformed
        ),
    );
    fail(
        p.seq.gaps + p.seq.repeats > 0,
        format!(
            "sequence numbers broke: {} gaps ({} skipped), {} repeats",
            p.seq.gaps, p.seq.skipped, p.seq.repeats
        ),
    );
    fail(
        p.sockets_ended_early > 0,
        format!("{} sockets ended before the run did", p.sockets_ended_early),
    );
    fail(
        b.mismatched > 0,
        format!(
            "{} sellers' last pushed balance is not their start plus their credits",
            b.mismatched
        ),
    );
    failures
}

// ---------------------------------------------------------------------------------
// The report.

#[derive(Debug, Serialize)]
struct Settings {
    sellers: usize,
    stores: usize,
    credits: usize,
    concurrency: usize,
    operation: Operation,
    amount: String,
    idempotency_keys: bool,
}

#[derive(Debug, Serialize)]
pub(super) struct Invariants {
    #[serde(flatten)]
    pub ledger: LedgerCheck,
    pub pushes: PushChecks,
    pub balances: BalanceChecks,
}

impl LatencyFigures {
    pub(super) fn render(&self) -> String {
        let l = self;
        let mut out = latency_table(
            "Latency",
            &[
                ("HTTP sent -> 201", l.http_round_trip.as_ref()),
                ("sent -> pushed", l.sent_to_pushed.as_ref()),
                ("201 -> pushed (>= 0)", l.accepted_to_pushed.as_ref()),
            ],
        );
        let pushed = l.accepted_to_pushed.as_ref().map_or(0, |s| s.count);
        out += &format!(
            "  pushed before their 201: {}\n",
            count_of(l.pushed_before_accepted, pushed)
        );
        out
    }
}

impl Invariants {
    /// The checks every stream of credits has; callers may add rows.
    pub(super) fn table(&self) -> Table {
        let inv = self;
        let (p, b) = (&inv.pushes, &inv.balances);
        let mut table = Table::new("Invariants");
        table
            .row("ledger check", inv.ledger.summary())
            .row(
                "pushes",
                format!(
                    "{} expected, {} once, {} missing, {} duplicate, {} misrouted",
                    p.expected, p.pushed_once, p.missing, p.duplicates, p.misrouted
                ),
            )
            .row(
                "other events",
                format!(
                    "{} unmatched, {} resyncs, {} lag snapshots, {} malformed, {} error frames",
                    p.unmatched,
                    p.resyncs,
                    p.lag_snapshots,
                    p.malformed,
                    p.error_frames.total()
                ),
            )
            .row(
                "seq per socket",
                format!(
                    "{} gaps ({} skipped), {} repeats",
                    p.seq.gaps, p.seq.skipped, p.seq.repeats
                ),
            )
            .row("sockets ended early", p.sockets_ended_early)
            .row(
                "final balances",
                format!(
                    "{} checked, {} mismatched, {} inconclusive",
                    b.checked, b.mismatched, b.inconclusive
                ),
            );
        for example in p.ended_early_examples.iter().chain(&b.mismatch_examples) {
            table.row("  e.g.", example);
        }
        table
    }
}

#[derive(Debug, Serialize)]
struct CreditsReport {
    scenario: &'static str,
    run_id: String,
    base_url: String,
    settings: Settings,
    setup: SetupReport,
    connect_secs: f64,
    stream: StreamFigures,
    latency: LatencyFigures,
    /// From the first credit sent to the end of the drain.
    cpu_during_stream: Vec<ProcessCpu>,
    invariants: Invariants,
    verdict: Verdict,
}

impl CreditsReport {
    fn render(&self) -> String {
        let s = &self.settings;
        let mut out = format!(
            "\nCredits and live pushes: {} sellers in {} stores, {} {}s of {} at concurrency {}{}, against {} (run {})\n",
            s.sellers,
            s.stores,
            s.credits,
            match s.operation {
                Operation::Award => "award",
                Operation::Adjustment => "adjustment",
            },
            s.amount,
            s.concurrency,
            if s.idempotency_keys {
                ""
            } else {
                ", without idempotency keys"
            },
            self.base_url,
            self.run_id
        );

        out += &setup_table(&self.setup, self.connect_secs).render();

        out += &self.stream.table("credits").render();
        out += &self.latency.render();
        out += &cpu_table(
            "CPU during the stream (cores busy on average)",
            &self.cpu_during_stream,
        );
        out += &self.invariants.table().render();
        out += &render_verdict(&self.verdict);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::SeqCheck;

    fn credit(seller: usize, base: Instant, sent_ms: u64, answered_ms: u64, tx: i64) -> Credit {
        Credit {
            call: 0,
            seller,
            sent: base + Duration::from_millis(sent_ms),
            answered: base + Duration::from_millis(answered_ms),
            outcome: Outcome::Accepted {
                transaction_id: tx,
                amount: Points(100),
            },
        }
    }

    fn push(base: Instant, at_ms: u64, tx: i64, available: i64) -> Seen {
        Seen::Balance {
            at: base + Duration::from_millis(at_ms),
            transaction_id: Some(tx),
            available: Some(Points(available)),
        }
    }

    fn recording(items: Vec<Seen>) -> Recording<Seen> {
        Recording {
            items,
            seq: SeqCheck::default(),
            ended_early: None,
        }
    }

    #[test]
    fn pushes_are_matched_to_credits_and_balances_add_up() {
        let t = Instant::now();
        let credits = vec![
            credit(0, t, 0, 10, 1),
            credit(1, t, 0, 10, 2),
            credit(0, t, 20, 30, 3),
            credit(1, t, 20, 30, 4),
            Credit {
                call: 4,
                seller: 1,
                sent: t,
                answered: t,
                outcome: Outcome::Refused {
                    status: 422,
                    code: Some("validation_failed".into()),
                },
            },
        ];
        let observed = vec![
            // Seller 0 starts at 5.00: one push before its 201, one after.
            (
                Points(500),
                recording(vec![push(t, 8, 1, 600), push(t, 35, 3, 700)]),
            ),
            // Seller 1: credit 2 pushed twice, credit 4 never, and someone else's.
            (
                Points(0),
                recording(vec![
                    push(t, 12, 2, 100),
                    push(t, 13, 2, 100),
                    push(t, 14, 99, 300),
                ]),
            ),
        ];
        let analysis = analyse(&credits, &observed);
        let p = &analysis.pushes;
        assert_eq!(
            (
                p.expected,
                p.pushed_once,
                p.missing,
                p.duplicates,
                p.unmatched
            ),
            (4, 3, 1, 1, 1)
        );
        assert_eq!(analysis.latency.pushed_before_accepted, 1);
        let after = analysis.latency.accepted_to_pushed.expect("samples");
        // 0 (clamped), 2 ms, 5 ms.
        assert_eq!((after.count, after.p50_ms, after.max_ms), (3, 2.0, 5.0));
        let sent = analysis.latency.sent_to_pushed.expect("samples");
        assert_eq!((sent.p50_ms, sent.max_ms), (12.0, 15.0));
        // Seller 0: 5.00 + 2.00 = 7.00, as pushed. Seller 1: expected 2.00, saw 3.00.
        let b = &analysis.balances;
        assert_eq!((b.checked, b.mismatched, b.inconclusive), (2, 1, 0));
        let stream = StreamFigures::of(&credits, true, Duration::ZERO);
        assert_eq!(
            (stream.sent, stream.accepted, stream.errors.total()),
            (5, 4, 1)
        );
        assert_eq!(stream.wall_secs, 0.03);
        // A missing push, a duplicate and a mismatched balance.
        let failed = failures(true, &stream, &analysis);
        assert_eq!(failed.len(), 3, "{failed:?}");
    }

    #[test]
    fn a_credit_without_an_answer_makes_its_sellers_balance_inconclusive() {
        let t = Instant::now();
        let credits = vec![
            credit(0, t, 0, 10, 1),
            Credit {
                call: 1,
                seller: 0,
                sent: t,
                answered: t + Duration::from_secs(30),
                outcome: Outcome::Failed(CallError::Timeout),
            },
        ];
        let observed = vec![(
            Points(0),
            recording(vec![push(t, 5, 1, 100), push(t, 6, 7, 200)]),
        )];
        let analysis = analyse(&credits, &observed);
        assert_eq!(
            (analysis.balances.checked, analysis.balances.inconclusive),
            (0, 1)
        );
        assert_eq!(analysis.pushes.unmatched, 1);
        let stream = StreamFigures::of(&credits, true, Duration::ZERO);
        assert!(failures(true, &stream, &analysis).is_empty());
    }
}

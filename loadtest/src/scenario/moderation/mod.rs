//! The `moderation` scenario: N sellers hold a WebSocket subscribed to `me` and submit a
//! moderated shelf-photo task (multipart, one PNG made here) with an Idempotency-Key;
//! M moderators hold a WebSocket subscribed to `moderation` with a declared capacity,
//! receive `item_assigned` events and decide each item (approve, or reject a share of
//! them) with the `decide` message or over HTTP. The seller learns the result from the
//! `task_submission` event on `me`.
//!
//! The loop is closed over the whole path: at most `--in-flight` submissions wait for
//! their result at once, and a new one is sent when a result is pushed. It measures
//! submissions, routed items, decisions and results per second, and the time from a
//! submission sent to its item reaching a moderator and to its result reaching the
//! seller. At the end it checks that every submission was routed and decided exactly
//! once and its result pushed to its seller (a repeat of the same state is counted,
//! not failed: the event is the submission's state), that the server agrees (no
//! submission of the run left pending, no item left in the queue), that the ledger is
//! sound, and that every seller's last pushed balance is their start plus their
//! approved points.
//!
//! Each run creates its own task (`Load test {prefix} {run}`) so a task's completion
//! limit never refuses a run, and deactivates it afterwards.

mod checks;
mod desks;
mod figures;
mod report;
mod sellers;
mod server_view;
mod submitting;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, watch};

use crate::api::{Api, Points, Session};
use crate::cpu::CpuSample;
use crate::photo;
use crate::population::{self, PopulationArgs};
use crate::report::{Verdict, write_json};
use crate::scenario::{
    DUPLICATE_GRACE, LedgerCheck, TargetArgs, run_id, wait_for_count, watch_sellers,
};
use checks::{analyse, verdict};
use desks::open_desks;
use figures::StreamFigures;
use report::{Invariants, ModerationReport, Settings};
use sellers::{Balance, balance_of, seen};
use server_view::ServerView;
use submitting::submit_all;

/// A task takes at most this many completions per participant and period (the
/// server's `MAX_PER_PERIOD`), so one run gives a seller at most this many submissions.
const MAX_PER_SELLER: usize = 100;
/// Capacity a moderator may declare (the server's bounds).
const CAPACITY_RANGE: std::ops::RangeInclusive<u32> = 1..=50;
/// The server refuses photos above 10 MB.
const MAX_PHOTO_KIB: usize = 10 * 1024 - 1;
/// Titles of the tasks this scenario creates start so; a moderator approves items of
/// such tasks left over from an interrupted run, and leaves everyone else's alone.
const TASK_TITLE_PREFIX: &str = "Load test ";
/// Submission states that answer the seller: the moderator has decided.
const DECIDED: [&str; 3] = ["approved", "rejected", "rework"];

#[derive(Args, Debug, Clone)]
pub struct ModerationArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub population: PopulationArgs,
    /// Moderators working the queue, each over one WebSocket (logins `{prefix}-m001`…).
    #[arg(long, default_value_t = 5)]
    pub moderators: usize,
    /// Items each moderator holds at once: the `capacity` they subscribe with (1 to 50).
    #[arg(long, default_value_t = 10)]
    pub capacity: u32,
    /// Submissions to send in all, round-robin over the sellers (at most 100 per
    /// seller: the task's completion limit).
    #[arg(long, default_value_t = 5_000)]
    pub submissions: usize,
    /// Submissions waiting for their result at once: the next is sent when a result is
    /// pushed to its seller.
    #[arg(long, default_value_t = 64)]
    pub in_flight: usize,
    /// Percent of items the moderators reject (the rest they approve).
    #[arg(long, default_value_t = 10)]
    pub reject_percent: u32,
    /// Rejection reason code (from `listRejectionReasons`).
    #[arg(long, default_value = "photo_unclear")]
    pub reject_reason: String,
    /// Milliseconds a moderator looks at an item before deciding it.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub think_ms: u64,
    /// How moderators send decisions: the WebSocket `decide` message, or
    /// `POST /api/v1/moderation/items/{id}/decision`.
    #[arg(long, value_enum, default_value_t = DecideVia::Ws)]
    pub decide_via: DecideVia,
    /// Base points of the task the run creates.
    #[arg(long, default_value = "10.00")]
    pub points: String,
    /// Padding added to each photo, in KiB (the photo itself is about 100 bytes).
    #[arg(long, value_name = "KIB", default_value_t = 0)]
    pub photo_kib: usize,
    /// WebSockets opened at once while connecting the sellers.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// Seconds to wait for results after the last submission was answered; also the
    /// longest a submitter waits for a free slot before the run stops as stalled.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub drain_timeout: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecideVia {
    Ws,
    Http,
}

impl ModerationArgs {
    fn check(&self) -> anyhow::Result<()> {
        ensure!(self.submissions > 0, "--submissions must be at least 1");
        ensure!(self.in_flight > 0, "--in-flight must be at least 1");
        ensure!(
            CAPACITY_RANGE.contains(&self.capacity),
            "--capacity is 1 to 50"
        );
        ensure!(self.reject_percent <= 100, "--reject-percent is 0 to 100");
        ensure!(
            self.connect_concurrency > 0,
            "--connect-concurrency must be at least 1"
        );
        ensure!(
            self.photo_kib <= MAX_PHOTO_KIB,
            "--photo-kib is at most {MAX_PHOTO_KIB} (the server takes photos below 10 MB)"
        );
        ensure!(
            Points::parse(&self.points).is_some_and(|p| p.0 > 0),
            "--points is a positive decimal like 10.00"
        );
        let sellers = self.population.sellers.max(1);
        ensure!(
            self.submissions.div_ceil(sellers) <= MAX_PER_SELLER,
            "{} submissions over {sellers} sellers is more than {MAX_PER_SELLER} each (a task's \
             completion limit); add sellers",
            self.submissions
        );
        Ok(())
    }
}

pub async fn run(args: ModerationArgs) -> anyhow::Result<Verdict> {
    args.check()?;
    let (api, admin) = args.target.connect().await?;
    let population = population::prepare(&api, &admin, &args.population).await?;
    let (moderators, moderator_setup) =
        population::prepare_moderators(&api, &admin, &args.population, args.moderators).await?;
    let run_id = run_id();
    let task_id = create_task(&api, &admin, &args, &run_id).await?;

    let (stop, stopped) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(args.in_flight));
    let results = Arc::new(AtomicUsize::new(0));
    let connect_started = Instant::now();
    let desks = open_desks(&api, &moderators, &args, task_id, &run_id, &stopped).await?;
    let watchers = watch_sellers(
        &api,
        &population.sellers,
        args.connect_concurrency,
        stopped,
        |_| {
            let (slots, results) = (slots.clone(), results.clone());
            let mut answered = HashSet::new();
            move |at, frame| seen(at, frame, task_id, &mut answered, &slots, &results)
        },
    )
    .await?;
    let connect_time = connect_started.elapsed();
    let starts = population
        .sellers
        .iter()
        .zip(&watchers)
        .map(|(seller, watcher)| {
            balance_of(&watcher.snapshot.data)
                .with_context(|| format!("{}'s snapshot has no balance", seller.login))
        })
        .collect::<anyhow::Result<Vec<Balance>>>()?;

    let cpu_before = CpuSample::take(&args.target.watch);
    let drain_timeout = Duration::from_secs(args.drain_timeout);
    let submitted = submit_all(
        &api,
        &population.sellers,
        &args,
        task_id,
        &run_id,
        &slots,
        drain_timeout,
    )
    .await;
    let awaiting = submitted.iter().filter(|s| s.awaits_decision()).count();
    let drain_started = Instant::now();
    let drained = wait_for_count(&results, awaiting, drain_timeout).await;
    let drain_time = drain_started.elapsed();
    let cpu = CpuSample::take(&args.target.watch).since(&cpu_before);
    tokio::time::sleep(DUPLICATE_GRACE).await;

    let _ = stop.send(true);
    let mut desk_logs = Vec::with_capacity(desks.len());
    for desk in desks {
        desk_logs.push(desk.await.expect("a moderator's desk panicked"));
    }
    let mut observed = Vec::with_capacity(watchers.len());
    for (watcher, start) in watchers.into_iter().zip(starts) {
        let recording = watcher.recording.await.expect("a socket recorder panicked");
        observed.push((start, recording));
    }
    let server = ServerView::fetch(&api, &admin, task_id).await?;
    let ledger = LedgerCheck::fetch(&api, &admin).await?;
    // Sellers outside load tests should not keep seeing the run's task.
    let deactivated: anyhow::Result<Value> = api
        .patch(
            &admin,
            &format!("/api/v1/tasks/{task_id}"),
            &json!({ "active": false }),
        )
        .await;
    if let Err(err) = deactivated {
        eprintln!("warning: could not deactivate task {task_id}: {err:#}");
    }

    let analysis = analyse(&submitted.submissions, &desk_logs, &observed, &server);
    let stream = StreamFigures::of(&submitted, &analysis.timeline, drained, drain_time);
    let verdict = verdict(ledger.sound, &stream, &analysis);
    let report = ModerationReport {
        scenario: "moderation",
        run_id: run_id.clone(),
        base_url: args.target.base_url.clone(),
        settings: Settings {
            sellers: population.sellers.len(),
            stores: population.stores.len(),
            moderators: moderators.len(),
            capacity: args.capacity,
            submissions: args.submissions,
            in_flight: args.in_flight,
            reject_percent: args.reject_percent,
            think_ms: args.think_ms,
            decide_via: args.decide_via,
            points: args.points.clone(),
            photo_bytes: photo::png(&format!("{run_id}-submit-0"), args.photo_kib * 1024).len(),
            task_id,
        },
        setup: population.report,
        moderator_setup,
        connect_secs: connect_time.as_secs_f64(),
        stream,
        latency: analysis.latency,
        cpu_during_stream: cpu,
        invariants: Invariants {
            ledger,
            decisions: analysis.decisions,
            results: analysis.results,
            server: analysis.server,
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

#[derive(Deserialize)]
struct Created {
    id: i64,
}

/// A moderated shelf-photo task of one photo, open to everyone, for this run only.
async fn create_task(
    api: &Api,
    admin: &Session,
    args: &ModerationArgs,
    run_id: &str,
) -> anyhow::Result<i64> {
    let body = json!({
        "title": format!("{TASK_TITLE_PREFIX}{} {run_id}", args.population.prefix),
        "description": "Created by stimul-loadtest for one run of the moderation scenario.",
        "spec": { "kind": "shelf_photo", "min_photos": 1 },
        "points": args.points,
        "max_completions": MAX_PER_SELLER,
        "requires_moderation": true,
    });
    let task: Created = api
        .post(
            admin,
            "/api/v1/tasks",
            &body,
            &format!("create-task-{run_id}"),
        )
        .await
        .context("creating the run's task")?;
    Ok(task.id)
}

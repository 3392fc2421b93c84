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

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use clap::{Args, ValueEnum};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;

use crate::api::{Api, CallError, Points, Reply, Session};
use crate::cpu::{CpuSample, ProcessCpu};
use crate::photo;
use crate::population::{self, Moderator, ModeratorSetup, PopulationArgs, Seller, SetupReport};
use crate::progress::Progress;
use crate::report::{Table, Verdict, latency_table, render_verdict, write_json};
use crate::scenario::{
    CONNECT_TIMEOUT, DUPLICATE_GRACE, EXAMPLES, LedgerCheck, TargetArgs, count_of, cpu_table,
    run_id, setup_table, wait_for_count, watch_sellers,
};
use crate::socket::{Frame, Incoming, LiveSocket, Recording, SeqCheck, SeqTotals};
use crate::stats::{Counts, LatencySummary, per_second};

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

// ---------------------------------------------------------------------------------
// Sellers: what their `me` sockets showed.

/// A participant's points as the API shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
struct Balance {
    available: Points,
    pending: Points,
}

fn balance_of(data: &Value) -> Option<Balance> {
    let points = |field: &str| data["balance"][field].as_str().and_then(Points::parse);
    Some(Balance {
        available: points("available")?,
        pending: points("pending")?,
    })
}

#[derive(Debug, Clone)]
enum Seen {
    /// A `balance_changed` event (or a fresh snapshot after the session fell behind,
    /// `lag`), with the balance after it.
    Balance { balance: Option<Balance>, lag: bool },
    /// A `task_submission` event of the run's task.
    Submission {
        at: Instant,
        id: i64,
        status: String,
        credited: Option<Points>,
    },
    /// An `error` frame, by code.
    Error(String),
}

/// Keeps what the checks need of a seller's frame. The first decided state of each
/// submission frees a slot for the next submission and counts toward the drain.
fn seen(
    at: Instant,
    frame: Frame,
    task_id: i64,
    answered: &mut HashSet<i64>,
    slots: &Semaphore,
    results: &AtomicUsize,
) -> Option<Seen> {
    match (frame.kind.as_str(), frame.event.as_deref()) {
        ("event", Some("balance_changed")) => Some(Seen::Balance {
            balance: balance_of(&frame.data),
            lag: false,
        }),
        ("event", Some("task_submission")) => {
            let data = &frame.data;
            if data["task_id"].as_i64() != Some(task_id) {
                return None;
            }
            let id = data["id"].as_i64()?;
            let status = data["status"].as_str().unwrap_or_default().to_string();
            if DECIDED.contains(&status.as_str()) && answered.insert(id) {
                results.fetch_add(1, Ordering::Relaxed);
                slots.add_permits(1);
            }
            Some(Seen::Submission {
                at,
                id,
                status,
                credited: data["credited"].as_str().and_then(Points::parse),
            })
        }
        ("snapshot", _) => Some(Seen::Balance {
            balance: balance_of(&frame.data),
            lag: true,
        }),
        ("error", _) => Some(Seen::Error(frame.code.unwrap_or_default())),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------
// Moderators: one desk each, deciding what is routed to it.

/// What a moderator did and saw.
#[derive(Debug, Clone)]
enum DeskEvent {
    /// An item routed to this moderator (`item_assigned`, or held when joining).
    Assigned {
        at: Instant,
        item_id: i64,
        subject_id: i64,
        whose: Whose,
    },
    DecideSent {
        at: Instant,
        item_id: i64,
        reject: bool,
    },
    /// The server confirmed the decision.
    Decided {
        at: Instant,
        item_id: i64,
        decision: String,
    },
    /// The server refused the decision (or gave no answer): the code.
    DecideFailed(String),
    /// An item taken back from the moderator: why.
    Revoked(String),
    /// An `error` frame not about a decision.
    Error(String),
}

/// Whose an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Whose {
    /// A submission of this run's task.
    Run,
    /// A submission of an earlier run's task, left over: decided to clear the queue.
    Leftover,
    /// Anything else: left alone.
    Foreign,
}

struct DeskLog {
    events: Vec<DeskEvent>,
    seq: SeqCheck,
    ended_early: Option<String>,
}

/// What a desk needs to decide.
#[derive(Clone)]
struct DeskRules {
    api: Api,
    session: Session,
    task_id: i64,
    run_id: String,
    reject_percent: u32,
    reject_reason: String,
    think: Duration,
    via: DecideVia,
}

impl DeskRules {
    fn whose(&self, item: &Value) -> Whose {
        let task = &item["summary"]["task"];
        if task["id"].as_i64() == Some(self.task_id) {
            Whose::Run
        } else if task["title"]
            .as_str()
            .is_some_and(|t| t.starts_with(TASK_TITLE_PREFIX))
        {
            Whose::Leftover
        } else {
            Whose::Foreign
        }
    }

    fn decision(&self, reject: bool) -> Value {
        if reject {
            json!({ "decision": "reject", "reason": self.reject_reason, "comment": "load test" })
        } else {
            json!({ "decision": "approve" })
        }
    }
}

/// Which items are rejected: spread evenly over item ids, the same on every run.
fn rejects(item_id: i64, percent: u32) -> bool {
    let spread = (item_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    spread % 100 < u64::from(percent)
}

/// Connects every moderator, joins the queue with the declared capacity (task
/// submissions only), and starts deciding.
async fn open_desks(
    api: &Api,
    moderators: &[Moderator],
    args: &ModerationArgs,
    task_id: i64,
    run_id: &str,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<DeskLog>>> {
    let mut desks = Vec::with_capacity(moderators.len());
    for moderator in moderators {
        let url = api.ws_url(&moderator.session)?;
        let mut socket = LiveSocket::connect(&url, CONNECT_TIMEOUT)
            .await
            .with_context(|| format!("connecting moderator {}", moderator.login))?;
        let snapshot = socket
            .subscribe_with(
                "moderation",
                json!({ "capacity": args.capacity, "kinds": ["task_submission"] }),
                CONNECT_TIMEOUT,
            )
            .await
            .with_context(|| format!("{} joining the moderation queue", moderator.login))?;
        let held = snapshot.data["items"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let rules = DeskRules {
            api: api.clone(),
            session: moderator.session.clone(),
            task_id,
            run_id: run_id.to_string(),
            reject_percent: args.reject_percent,
            reject_reason: args.reject_reason.clone(),
            think: Duration::from_millis(args.think_ms),
            via: args.decide_via,
        };
        desks.push(tokio::spawn(work_desk(socket, rules, held, stop.clone())));
    }
    Ok(desks)
}

async fn work_desk(
    mut socket: LiveSocket,
    rules: DeskRules,
    held: Vec<Value>,
    mut stop: watch::Receiver<bool>,
) -> DeskLog {
    // Items whose look is over, and answers of decisions sent over HTTP.
    let (ready_tx, mut ready) = mpsc::unbounded_channel::<i64>();
    let (answer_tx, mut answers) = mpsc::unbounded_channel::<DeskEvent>();
    let mut events = Vec::new();
    // Items this desk holds, so a fresh snapshot does not assign them twice.
    let mut holding = HashSet::new();
    let mut ended_early = None;
    let mut to_decide = Vec::new();

    for item in &held {
        assigned(
            &rules,
            Instant::now(),
            item,
            &mut holding,
            &mut events,
            &mut to_decide,
        );
    }
    loop {
        for item_id in to_decide.drain(..) {
            if rules.think.is_zero() {
                if let Err(reason) =
                    decide(&rules, &mut socket, item_id, &mut events, &answer_tx).await
                {
                    ended_early = Some(reason);
                }
            } else {
                let (ready_tx, think) = (ready_tx.clone(), rules.think);
                tokio::spawn(async move {
                    tokio::time::sleep(think).await;
                    let _ = ready_tx.send(item_id);
                });
            }
        }
        if ended_early.is_some() {
            break;
        }
        tokio::select! {
            () = stopped(&mut stop) => break,
            Some(item_id) = ready.recv() => {
                if let Err(reason) = decide(&rules, &mut socket, item_id, &mut events, &answer_tx).await {
                    ended_early = Some(reason);
                    break;
                }
            }
            Some(event) = answers.recv() => events.push(event),
            incoming = socket.next() => match incoming {
                Incoming::Closed(reason) => {
                    ended_early = Some(reason);
                    break;
                }
                Incoming::Frame(at, frame) => match (frame.kind.as_str(), frame.event.as_deref()) {
                    ("event", Some("item_assigned")) => {
                        assigned(&rules, at, &frame.data, &mut holding, &mut events, &mut to_decide);
                    }
                    ("event", Some("item_revoked")) => {
                        if let Some(item_id) = frame.data["item_id"].as_i64() {
                            holding.remove(&item_id);
                        }
                        let reason = frame.data["reason"].as_str().unwrap_or_default();
                        events.push(DeskEvent::Revoked(reason.to_string()));
                    }
                    // After falling behind: what the desk holds now.
                    ("snapshot", _) => {
                        for item in frame.data["items"].as_array().into_iter().flatten() {
                            assigned(&rules, at, item, &mut holding, &mut events, &mut to_decide);
                        }
                    }
                    ("decided", _) => {
                        let item_id = frame.item_id.unwrap_or_default();
                        holding.remove(&item_id);
                        events.push(DeskEvent::Decided {
                            at,
                            item_id,
                            decision: frame.decision.unwrap_or_default(),
                        });
                    }
                    ("error", _) => {
                        let code = frame.code.unwrap_or_default();
                        events.push(match frame.item_id {
                            Some(_) => DeskEvent::DecideFailed(code),
                            None => DeskEvent::Error(code),
                        });
                    }
                    _ => {}
                },
            },
        }
    }
    // HTTP decisions answered after the stop still count.
    drop(answer_tx);
    while let Ok(event) = answers.try_recv() {
        events.push(event);
    }
    let seq = socket.take_seq();
    if ended_early.is_none() {
        socket.close().await;
    }
    DeskLog {
        events,
        seq,
        ended_early,
    }
}

/// Resolves once `stop` turns true (or its sender is dropped, which also means stop).
/// The guard `wait_for` returns is not `Send`, so it is dropped here, not held in a
/// `select!` across the desk's awaits.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// Records an item routed to the desk and, if it is the run's (or a leftover of an
/// earlier run), queues it for a decision.
fn assigned(
    rules: &DeskRules,
    at: Instant,
    item: &Value,
    holding: &mut HashSet<i64>,
    events: &mut Vec<DeskEvent>,
    to_decide: &mut Vec<i64>,
) {
    let (Some(item_id), Some(subject_id)) = (item["id"].as_i64(), item["subject_id"].as_i64())
    else {
        events.push(DeskEvent::Error("malformed item".into()));
        return;
    };
    if !holding.insert(item_id) {
        return;
    }
    let whose = rules.whose(item);
    events.push(DeskEvent::Assigned {
        at,
        item_id,
        subject_id,
        whose,
    });
    if whose != Whose::Foreign {
        to_decide.push(item_id);
    }
}

/// Sends a decision; an error only when the socket broke.
async fn decide(
    rules: &DeskRules,
    socket: &mut LiveSocket,
    item_id: i64,
    events: &mut Vec<DeskEvent>,
    answers: &mpsc::UnboundedSender<DeskEvent>,
) -> Result<(), String> {
    let reject = rejects(item_id, rules.reject_percent);
    let body = rules.decision(reject);
    events.push(DeskEvent::DecideSent {
        at: Instant::now(),
        item_id,
        reject,
    });
    match rules.via {
        DecideVia::Ws => {
            let mut message = json!({ "type": "decide", "item_id": item_id });
            if let (Some(message), Value::Object(body)) = (message.as_object_mut(), body) {
                message.extend(body);
            }
            socket
                .send(&message)
                .await
                .map_err(|err| format!("sending a decision: {err:#}"))
        }
        DecideVia::Http => {
            let (rules, answers) = (rules.clone(), answers.clone());
            tokio::spawn(async move {
                let path = format!("/api/v1/moderation/items/{item_id}/decision");
                let key = format!("{}-decide-{item_id}", rules.run_id);
                let reply: Result<Reply<Value>, CallError> = rules
                    .api
                    .call(&rules.session, Method::POST, &path, &body, Some(&key))
                    .await;
                let event = match reply {
                    Ok(Reply {
                        body: Some(body), ..
                    }) => DeskEvent::Decided {
                        at: Instant::now(),
                        item_id,
                        decision: body["decision"].as_str().unwrap_or_default().to_string(),
                    },
                    Ok(reply) => DeskEvent::DecideFailed(
                        reply
                            .problem_code
                            .unwrap_or_else(|| format!("http {}", reply.status.as_u16())),
                    ),
                    Err(err) => DeskEvent::DecideFailed(err.as_str().to_string()),
                };
                let _ = answers.send(event);
            });
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------------
// Submitting: closed loop over the whole path.

#[derive(Deserialize)]
struct SubmissionAnswer {
    id: i64,
    status: String,
    credited: Option<Points>,
    requires_moderation: bool,
    auto_approved: bool,
}

#[derive(Debug, Clone)]
enum Outcome {
    /// 201: recorded.
    Accepted {
        id: i64,
        /// Queued for a moderator (not approved at once by the trust rule).
        moderated: bool,
        /// As of the answer, which the server reads after queueing the item: a quick
        /// moderator may have decided it already.
        status: String,
        credited: Option<Points>,
    },
    Refused {
        status: u16,
        code: Option<String>,
    },
    Failed(CallError),
}

impl Outcome {
    fn of(reply: Result<Reply<SubmissionAnswer>, CallError>) -> Self {
        match reply {
            Err(err) => Outcome::Failed(err),
            Ok(Reply {
                status,
                body: Some(body),
                ..
            }) if status.as_u16() == 201 => Outcome::Accepted {
                id: body.id,
                moderated: body.requires_moderation && !body.auto_approved,
                status: body.status,
                credited: body.credited,
            },
            Ok(reply) => Outcome::Refused {
                status: reply.status.as_u16(),
                code: reply.problem_code,
            },
        }
    }

    /// Whether the submission may have been recorded without us knowing.
    fn uncertain(&self) -> bool {
        match self {
            Outcome::Accepted { .. } => false,
            Outcome::Refused { status, .. } => *status >= 500,
            Outcome::Failed(_) => true,
        }
    }

    fn error_kind(&self) -> Option<String> {
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
struct Submission {
    /// Index into the population's sellers.
    seller: usize,
    sent: Instant,
    answered: Instant,
    outcome: Outcome,
}

impl Submission {
    fn awaits_decision(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::Accepted {
                moderated: true,
                ..
            }
        )
    }

    fn id(&self) -> Option<i64> {
        match self.outcome {
            Outcome::Accepted { id, .. } => Some(id),
            _ => None,
        }
    }
}

struct Submitted {
    submissions: Vec<Submission>,
    /// Whether submitting stopped because no result freed a slot in time.
    stalled: bool,
}

impl std::ops::Deref for Submitted {
    type Target = [Submission];

    fn deref(&self) -> &[Submission] {
        &self.submissions
    }
}

async fn submit_all(
    api: &Api,
    sellers: &[Seller],
    args: &ModerationArgs,
    task_id: i64,
    run_id: &str,
    slots: &Arc<Semaphore>,
    stall_after: Duration,
) -> Submitted {
    let sessions: Arc<Vec<Session>> = Arc::new(sellers.iter().map(|s| s.session.clone()).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let stalled = Arc::new(AtomicBool::new(false));
    let (progress, ticker) = Progress::start("submitting", args.submissions);
    let path = Arc::new(format!("/api/v1/tasks/{task_id}/submissions"));
    let workers: Vec<JoinHandle<Vec<Submission>>> = (0..args.in_flight)
        .map(|_| {
            let (api, sessions, next, stalled, slots, path, progress) = (
                api.clone(),
                sessions.clone(),
                next.clone(),
                stalled.clone(),
                slots.clone(),
                path.clone(),
                progress.clone(),
            );
            let (total, pad, run_id) =
                (args.submissions, args.photo_kib * 1024, run_id.to_string());
            tokio::spawn(async move {
                let mut sent_here = Vec::new();
                loop {
                    if next.load(Ordering::Relaxed) >= total {
                        return sent_here;
                    }
                    // A slot first: a result pushed to a seller frees one.
                    match tokio::time::timeout(stall_after, slots.acquire()).await {
                        Ok(Ok(permit)) => permit.forget(),
                        // Timed out, or the semaphore closed: nothing comes back. It is a
                        // stall only if there was more to send.
                        _ => {
                            if next.load(Ordering::Relaxed) < total {
                                stalled.store(true, Ordering::Relaxed);
                            }
                            return sent_here;
                        }
                    }
                    if stalled.load(Ordering::Relaxed) {
                        return sent_here;
                    }
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= total {
                        return sent_here;
                    }
                    let seller = k % sessions.len();
                    let key = format!("{run_id}-submit-{k}");
                    let form = photo::multipart("{}", &[photo::png(&key, pad)]);
                    let sent = Instant::now();
                    let reply = api
                        .call_raw(
                            &sessions[seller],
                            &path,
                            &photo::content_type(),
                            form,
                            Some(&key),
                        )
                        .await;
                    let answered = Instant::now();
                    let submission = Submission {
                        seller,
                        sent,
                        answered,
                        outcome: Outcome::of(reply),
                    };
                    // No result will come for this one: give its slot back.
                    if !submission.awaits_decision() {
                        slots.add_permits(1);
                    }
                    sent_here.push(submission);
                    progress.inc();
                }
            })
        })
        .collect();
    let mut submissions = Vec::with_capacity(args.submissions);
    for worker in workers {
        submissions.extend(worker.await.expect("a submitting worker panicked"));
    }
    ticker.finish().await;
    Submitted {
        submissions,
        stalled: stalled.load(Ordering::Relaxed),
    }
}

// ---------------------------------------------------------------------------------
// What the server says at the end.

#[derive(Deserialize)]
struct StoredSubmission {
    id: i64,
    status: String,
}

#[derive(Deserialize)]
struct StoredItem {
    #[serde(default)]
    summary: Value,
}

/// The run's submissions as stored, and its items still in the queue.
struct ServerView {
    status_by_submission: HashMap<i64, String>,
    items_queued: usize,
    items_assigned: usize,
}

impl ServerView {
    async fn fetch(api: &Api, admin: &Session, task_id: i64) -> anyhow::Result<Self> {
        let stored: Vec<StoredSubmission> = api
            .list_all(admin, &format!("/api/v1/tasks/{task_id}/submissions"))
            .await
            .context("listing the run's submissions")?;
        let mut left = [0, 0];
        for (slot, status) in left.iter_mut().zip(["queued", "assigned"]) {
            let items: Vec<StoredItem> = api
                .list_all(
                    admin,
                    &format!("/api/v1/moderation/items?status={status}&kind=task_submission"),
                )
                .await
                .with_context(|| format!("listing {status} moderation items"))?;
            *slot = items
                .iter()
                .filter(|i| i.summary["task"]["id"].as_i64() == Some(task_id))
                .count();
        }
        Ok(Self {
            status_by_submission: stored.into_iter().map(|s| (s.id, s.status)).collect(),
            items_queued: left[0],
            items_assigned: left[1],
        })
    }
}

// ---------------------------------------------------------------------------------
// Figures and checks.

/// When each stage last happened, for the rates.
#[derive(Debug, Default)]
struct Timeline {
    first_sent: Option<Instant>,
    last_accepted: Option<Instant>,
    last_routed: Option<Instant>,
    last_decided: Option<Instant>,
    last_result: Option<Instant>,
    routed: usize,
    decided: usize,
    results: usize,
}

fn latest(slot: &mut Option<Instant>, at: Instant) {
    if slot.is_none_or(|t| at > t) {
        *slot = Some(at);
    }
}

#[derive(Debug, Serialize)]
struct StreamFigures {
    sent: usize,
    /// 201 answers.
    accepted: usize,
    /// Accepted and waiting for a moderator.
    moderated: usize,
    /// Accepted but not queued (approved at once by the trust rule).
    not_moderated: usize,
    errors: Counts,
    /// Submitting stopped early: no result freed a slot within the drain timeout.
    stalled: bool,
    /// First submission sent to last 201.
    submit_secs: f64,
    submissions_per_sec: f64,
    /// Items of the run that reached a moderator (first time each).
    routed: usize,
    /// Over first submission sent to last item routed.
    routed_per_sec: f64,
    /// Decisions the server confirmed.
    decided: usize,
    decisions_per_sec: f64,
    /// Results pushed to sellers (first each).
    results: usize,
    /// First submission sent to last result pushed.
    pipeline_secs: f64,
    results_per_sec: f64,
    /// Last 201 to last result (or the drain timeout).
    drain_secs: f64,
    all_results_arrived: bool,
}

impl StreamFigures {
    fn of(submitted: &Submitted, timeline: &Timeline, drained: bool, drain_time: Duration) -> Self {
        let mut errors = Counts::default();
        for kind in submitted.iter().filter_map(|s| s.outcome.error_kind()) {
            errors.bump(kind);
        }
        let accepted = submitted.iter().filter(|s| s.id().is_some()).count();
        let moderated = submitted.iter().filter(|s| s.awaits_decision()).count();
        let span = |until: Option<Instant>| match (timeline.first_sent, until) {
            (Some(first), Some(last)) => last.saturating_duration_since(first),
            _ => Duration::ZERO,
        };
        let (submit, routed, decided, pipeline) = (
            span(timeline.last_accepted),
            span(timeline.last_routed),
            span(timeline.last_decided),
            span(timeline.last_result),
        );
        Self {
            sent: submitted.len(),
            accepted,
            moderated,
            not_moderated: accepted - moderated,
            errors,
            stalled: submitted.stalled,
            submit_secs: submit.as_secs_f64(),
            submissions_per_sec: per_second(accepted, submit),
            routed: timeline.routed,
            routed_per_sec: per_second(timeline.routed, routed),
            decided: timeline.decided,
            decisions_per_sec: per_second(timeline.decided, decided),
            results: timeline.results,
            pipeline_secs: pipeline.as_secs_f64(),
            results_per_sec: per_second(timeline.results, pipeline),
            drain_secs: drain_time.as_secs_f64(),
            all_results_arrived: drained,
        }
    }
}

#[derive(Debug, Serialize)]
struct LatencyFigures {
    /// Submission sent → 201.
    submit_http: Option<LatencySummary>,
    /// Submission sent → `item_assigned` at a moderator.
    sent_to_routed: Option<LatencySummary>,
    /// `item_assigned` received → decision confirmed (includes --think-ms).
    routed_to_decided: Option<LatencySummary>,
    /// Decision sent → result pushed to the seller.
    decision_to_result: Option<LatencySummary>,
    /// Submission sent → result pushed to the seller: the whole path.
    sent_to_result: Option<LatencySummary>,
    /// Results that reached the seller before the submission's own 201 (the answer is
    /// sent after the item is queued, and a moderator may be quicker).
    results_before_201: usize,
}

#[derive(Debug, Default, Serialize)]
struct DecisionChecks {
    /// Submissions waiting for a moderator, each to be routed and decided once.
    expected: usize,
    decided_once: usize,
    never_routed: usize,
    routed_not_decided: usize,
    decided_more_than_once: usize,
    /// Routed again after the first time (lease expiry, moderator leaving).
    rerouted: usize,
    approved: usize,
    rejected: usize,
    /// Decisions the server refused, by code.
    refused: Counts,
    /// Items revoked from a moderator, by reason.
    revoked: Counts,
    /// Items of earlier runs' tasks routed to our moderators (and decided).
    leftovers: usize,
    /// Other items routed to our moderators (left alone).
    foreign: usize,
    error_frames: Counts,
    seq: SeqTotals,
    sockets_ended_early: usize,
}

#[derive(Debug, Default, Serialize)]
struct ResultChecks {
    /// Decided submissions, each of whose result must reach its seller once.
    expected: usize,
    pushed_once: usize,
    missing: usize,
    /// The same result pushed again. Not a failure: the event carries the
    /// submission's state, so a phone shows the same thing. It happens when the
    /// submission's own follow-up reads a decision made meanwhile and pushes it before
    /// the decision's follow-up pushes it too.
    repeated: usize,
    /// A different decided state pushed after the first.
    conflicting: usize,
    /// A `pending` state pushed after the result (out of order).
    stale_after_result: usize,
    /// Results on another seller's socket.
    misrouted: usize,
    /// The pushed result is not what the moderator decided.
    wrong_result: usize,
    /// Results of submissions this run did not see accepted.
    unmatched: usize,
    lag_snapshots: usize,
    error_frames: Counts,
    seq: SeqTotals,
    sockets_ended_early: usize,
    examples: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
struct ServerChecks {
    /// The run's submissions as stored, by status.
    stored_by_status: Counts,
    /// Accepted submissions the server does not list.
    not_stored: usize,
    /// Stored status differs from the decision made.
    status_mismatch: usize,
    /// Items of the run still queued or held when the run ended.
    items_queued: usize,
    items_assigned: usize,
}

#[derive(Debug, Default, Serialize)]
struct BalanceChecks {
    checked: usize,
    mismatched: usize,
    /// Sellers with a submission of unknown outcome or without a decision.
    inconclusive: usize,
    mismatch_examples: Vec<String>,
}

struct Analysis {
    timeline: Timeline,
    latency: LatencyFigures,
    decisions: DecisionChecks,
    results: ResultChecks,
    server: ServerChecks,
    balances: BalanceChecks,
}

/// A state of a submission pushed on a seller's socket.
struct Pushed {
    /// Whose socket it came on.
    seller: usize,
    at: Instant,
    status: String,
    credited: Option<Points>,
}

/// What happened to one item of the run, over every desk.
#[derive(Default)]
struct Trace {
    assigned: Vec<Instant>,
    decide_sent: Option<Instant>,
    reject: bool,
    decided: Vec<(Instant, String)>,
}

/// Joins the submissions, the desks' logs, the sellers' sockets and the server's view.
/// `observed[i]` is seller i's starting balance and what its socket saw.
fn analyse(
    submissions: &[Submission],
    desks: &[DeskLog],
    observed: &[(Balance, Recording<Seen>)],
    server: &ServerView,
) -> Analysis {
    let mut timeline = Timeline::default();
    let mut decisions = DecisionChecks::default();
    let mut results = ResultChecks::default();

    // Items of the run by id, and by the submission they check.
    let mut traces: HashMap<i64, Trace> = HashMap::new();
    let mut item_of: HashMap<i64, i64> = HashMap::new();
    for desk in desks {
        decisions.seq.add(&desk.seq);
        decisions.sockets_ended_early += usize::from(desk.ended_early.is_some());
        let mut run_items = HashSet::new();
        for event in &desk.events {
            match event {
                DeskEvent::Assigned {
                    at,
                    item_id,
                    subject_id,
                    whose,
                } => match whose {
                    Whose::Run => {
                        run_items.insert(*item_id);
                        item_of.insert(*subject_id, *item_id);
                        traces.entry(*item_id).or_default().assigned.push(*at);
                    }
                    Whose::Leftover => decisions.leftovers += 1,
                    Whose::Foreign => decisions.foreign += 1,
                },
                DeskEvent::DecideSent {
                    at,
                    item_id,
                    reject,
                } if run_items.contains(item_id) => {
                    let trace = traces.entry(*item_id).or_default();
                    trace.decide_sent = Some(*at);
                    trace.reject = *reject;
                }
                DeskEvent::Decided {
                    at,
                    item_id,
                    decision,
                } if run_items.contains(item_id) => {
                    traces
                        .entry(*item_id)
                        .or_default()
                        .decided
                        .push((*at, decision.clone()));
                }
                DeskEvent::DecideFailed(code) => decisions.refused.bump(code.clone()),
                DeskEvent::Revoked(reason) => decisions.revoked.bump(reason.clone()),
                DeskEvent::Error(code) => decisions.error_frames.bump(code.clone()),
                DeskEvent::DecideSent { .. } | DeskEvent::Decided { .. } => {}
            }
        }
    }

    // Sellers' sockets: each submission's pushed states in order.
    let mut pushed: HashMap<i64, Vec<Pushed>> = HashMap::new();
    let mut last_balance = Vec::with_capacity(observed.len());
    for (seller, (start, recording)) in observed.iter().enumerate() {
        results.seq.add(&recording.seq);
        if let Some(reason) = &recording.ended_early {
            results.sockets_ended_early += 1;
            if results.examples.len() < EXAMPLES {
                results
                    .examples
                    .push(format!("seller #{}: socket ended: {reason}", seller + 1));
            }
        }
        let mut balance = Some(*start);
        for item in &recording.items {
            match item {
                Seen::Balance { balance: b, lag } => {
                    balance = *b;
                    results.lag_snapshots += usize::from(*lag);
                }
                Seen::Submission {
                    at,
                    id,
                    status,
                    credited,
                } => pushed.entry(*id).or_default().push(Pushed {
                    seller,
                    at: *at,
                    status: status.clone(),
                    credited: *credited,
                }),
                Seen::Error(code) => results.error_frames.bump(code.clone()),
            }
        }
        last_balance.push(balance);
    }

    let mut submit_http = Vec::new();
    let mut sent_to_routed = Vec::new();
    let mut routed_to_decided = Vec::new();
    let mut decision_to_result = Vec::new();
    let mut sent_to_result = Vec::new();
    let mut results_before_201 = 0;
    let mut server_checks = ServerChecks {
        items_queued: server.items_queued,
        items_assigned: server.items_assigned,
        ..ServerChecks::default()
    };
    for status in server.status_by_submission.values() {
        server_checks.stored_by_status.bump(status.clone());
    }
    // Per seller: points approved, and whether the end balance can be known.
    let mut approved_points = vec![0i64; observed.len()];
    let mut uncertain = vec![false; observed.len()];
    let mut known_ids = HashSet::new();

    for submission in submissions {
        uncertain[submission.seller] |= submission.outcome.uncertain();
        let Outcome::Accepted {
            id,
            moderated,
            status,
            credited,
        } = &submission.outcome
        else {
            continue;
        };
        known_ids.insert(*id);
        latest(&mut timeline.last_accepted, submission.answered);
        submit_http.push(submission.answered.duration_since(submission.sent));
        let stored = server.status_by_submission.get(id);
        if stored.is_none() {
            server_checks.not_stored += 1;
        }
        if !moderated {
            // Approved at once: credited, and nothing more to follow.
            if stored.is_some_and(|stored| stored != status) {
                server_checks.status_mismatch += 1;
            }
            if status == "approved" {
                approved_points[submission.seller] += credited.map_or(0, |p| p.0);
            }
            continue;
        }
        decisions.expected += 1;
        let trace = item_of.get(id).and_then(|item| traces.get(item));
        let Some(trace) = trace.filter(|t| !t.assigned.is_empty()) else {
            decisions.never_routed += 1;
            uncertain[submission.seller] = true;
            continue;
        };
        let first_routed = trace
            .assigned
            .iter()
            .min()
            .copied()
            .unwrap_or(submission.sent);
        timeline.routed += 1;
        latest(&mut timeline.last_routed, first_routed);
        decisions.rerouted += trace.assigned.len() - 1;
        sent_to_routed.push(first_routed.saturating_duration_since(submission.sent));
        let decision = match trace.decided.as_slice() {
            [] => {
                decisions.routed_not_decided += 1;
                uncertain[submission.seller] = true;
                continue;
            }
            [(at, decision)] => {
                decisions.decided_once += 1;
                (*at, decision.as_str())
            }
            [(at, decision), ..] => {
                decisions.decided_more_than_once += 1;
                (*at, decision.as_str())
            }
        };
        timeline.decided += 1;
        latest(&mut timeline.last_decided, decision.0);
        if let Some(routed) = trace.assigned.last() {
            routed_to_decided.push(decision.0.saturating_duration_since(*routed));
        }
        let expected_status = match decision.1 {
            "approve" => "approved",
            "reject" => "rejected",
            _ => "rework",
        };
        if expected_status == "approved" {
            decisions.approved += 1;
        } else {
            decisions.rejected += 1;
        }
        if server
            .status_by_submission
            .get(id)
            .is_some_and(|stored| stored != expected_status)
        {
            server_checks.status_mismatch += 1;
        }

        results.expected += 1;
        let states = pushed.get(id).map(Vec::as_slice).unwrap_or_default();
        let mut answered_at = None;
        let mut answer: Option<&str> = None;
        for state in states {
            if state.seller != submission.seller {
                results.misrouted += 1;
                continue;
            }
            if DECIDED.contains(&state.status.as_str()) {
                if let Some(answer) = answer {
                    if answer == state.status {
                        results.repeated += 1;
                    } else {
                        results.conflicting += 1;
                    }
                    continue;
                }
                answered_at = Some(state.at);
                answer = Some(&state.status);
                if state.at < submission.answered {
                    results_before_201 += 1;
                }
                if state.status != expected_status {
                    results.wrong_result += 1;
                }
                if state.status == "approved" {
                    approved_points[submission.seller] +=
                        state.credited.or(*credited).map_or(0, |p| p.0);
                }
            } else if answered_at.is_some() {
                results.stale_after_result += 1;
            }
        }
        match answered_at {
            Some(at) => {
                results.pushed_once += 1;
                timeline.results += 1;
                latest(&mut timeline.last_result, at);
                sent_to_result.push(at.saturating_duration_since(submission.sent));
                if let Some(sent) = trace.decide_sent {
                    decision_to_result.push(at.saturating_duration_since(sent));
                }
            }
            None => {
                results.missing += 1;
                uncertain[submission.seller] = true;
                if results.examples.len() < EXAMPLES {
                    results.examples.push(format!(
                        "submission {id} of seller #{} was decided ({}) but its result never \
                         reached the seller (pushed states: {})",
                        submission.seller + 1,
                        decision.1,
                        states
                            .iter()
                            .map(|s| s.status.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        }
    }
    timeline.first_sent = submissions.iter().map(|s| s.sent).min();
    results.unmatched = pushed.keys().filter(|id| !known_ids.contains(id)).count();

    let mut balances = BalanceChecks::default();
    for (seller, ((start, _), last)) in observed.iter().zip(&last_balance).enumerate() {
        if uncertain[seller] {
            balances.inconclusive += 1;
            continue;
        }
        balances.checked += 1;
        let expected = Balance {
            available: Points(start.available.0 + approved_points[seller]),
            pending: start.pending,
        };
        if *last != Some(expected) {
            balances.mismatched += 1;
            if balances.mismatch_examples.len() < EXAMPLES {
                let got = last.map_or_else(
                    || "nothing".into(),
                    |b| format!("{} available, {} pending", b.available, b.pending),
                );
                balances.mismatch_examples.push(format!(
                    "seller #{}: started at {} available, {} pending; approved {}; last pushed {got}",
                    seller + 1,
                    start.available,
                    start.pending,
                    Points(approved_points[seller])
                ));
            }
        }
    }

    Analysis {
        timeline,
        latency: LatencyFigures {
            submit_http: LatencySummary::of(submit_http),
            sent_to_routed: LatencySummary::of(sent_to_routed),
            routed_to_decided: LatencySummary::of(routed_to_decided),
            decision_to_result: LatencySummary::of(decision_to_result),
            sent_to_result: LatencySummary::of(sent_to_result),
            results_before_201,
        },
        decisions,
        results,
        server: server_checks,
        balances,
    }
}

fn verdict(ledger_sound: bool, stream: &StreamFigures, analysis: &Analysis) -> Verdict {
    let (d, r, s, b) = (
        &analysis.decisions,
        &analysis.results,
        &analysis.server,
        &analysis.balances,
    );
    let mut failures = Vec::new();
    let mut fail = |bad: bool, text: String| {
        if bad {
            failures.push(text);
        }
    };
    fail(
        stream.moderated == 0,
        "no submission went to moderation".into(),
    );
    fail(
        stream.stalled,
        "submitting stalled: no result freed a slot within the drain timeout".into(),
    );
    fail(
        !ledger_sound,
        "the ledger check does not say \"sound\": true".into(),
    );
    fail(
        d.never_routed > 0,
        format!("{} submissions never reached a moderator", d.never_routed),
    );
    fail(
        d.routed_not_decided > 0,
        format!("{} routed items were never decided", d.routed_not_decided),
    );
    fail(
        d.decided_more_than_once > 0,
        format!(
            "{} items were decided more than once",
            d.decided_more_than_once
        ),
    );
    fail(
        r.missing > 0,
        format!(
            "{} decided submissions never pushed their result",
            r.missing
        ),
    );
    fail(
        r.conflicting > 0,
        format!(
            "{} submissions were pushed a second, different result",
            r.conflicting
        ),
    );
    fail(
        r.misrouted > 0,
        format!("{} submission events reached the wrong seller", r.misrouted),
    );
    fail(
        r.wrong_result > 0,
        format!("{} pushed results differ from the decision", r.wrong_result),
    );
    fail(
        r.stale_after_result > 0,
        format!(
            "{} submissions were pushed as pending after their result",
            r.stale_after_result
        ),
    );
    let seq_breaks = r.seq.gaps + r.seq.repeats + d.seq.gaps + d.seq.repeats;
    fail(
        seq_breaks > 0,
        format!(
            "sequence numbers broke: sellers {} gaps, {} repeats; moderators {} gaps, {} repeats",
            r.seq.gaps, r.seq.repeats, d.seq.gaps, d.seq.repeats
        ),
    );
    fail(
        r.sockets_ended_early + d.sockets_ended_early > 0,
        format!(
            "{} seller and {} moderator sockets ended before the run did",
            r.sockets_ended_early, d.sockets_ended_early
        ),
    );
    fail(
        s.not_stored + s.status_mismatch > 0,
        format!(
            "the server's submissions disagree: {} not listed, {} with another status",
            s.not_stored, s.status_mismatch
        ),
    );
    fail(
        s.items_queued + s.items_assigned > 0,
        format!(
            "{} items of the run are still queued and {} held",
            s.items_queued, s.items_assigned
        ),
    );
    fail(
        b.mismatched > 0,
        format!(
            "{} sellers' last pushed balance is not their start plus their approved points",
            b.mismatched
        ),
    );
    Verdict::from_failures(failures)
}

// ---------------------------------------------------------------------------------
// The report.

#[derive(Debug, Serialize)]
struct Settings {
    sellers: usize,
    stores: usize,
    moderators: usize,
    capacity: u32,
    submissions: usize,
    in_flight: usize,
    reject_percent: u32,
    think_ms: u64,
    decide_via: DecideVia,
    points: String,
    photo_bytes: usize,
    task_id: i64,
}

#[derive(Debug, Serialize)]
struct Invariants {
    #[serde(flatten)]
    ledger: LedgerCheck,
    decisions: DecisionChecks,
    results: ResultChecks,
    server: ServerChecks,
    balances: BalanceChecks,
}

#[derive(Debug, Serialize)]
struct ModerationReport {
    scenario: &'static str,
    run_id: String,
    base_url: String,
    settings: Settings,
    setup: SetupReport,
    moderator_setup: ModeratorSetup,
    connect_secs: f64,
    stream: StreamFigures,
    latency: LatencyFigures,
    /// From the first submission sent to the end of the drain.
    cpu_during_stream: Vec<ProcessCpu>,
    invariants: Invariants,
    verdict: Verdict,
}

fn counts_line(counts: &Counts) -> String {
    if counts.total() == 0 {
        return "none".into();
    }
    counts
        .iter()
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ModerationReport {
    fn render(&self) -> String {
        let s = &self.settings;
        let mut out = format!(
            "\nModeration queue: {} sellers in {} stores submit {} shelf photos ({} bytes), at most {} \
             waiting; {} moderators of capacity {} decide over {}{}, rejecting {} %; against {} \
             (run {}, task {})\n",
            s.sellers,
            s.stores,
            s.submissions,
            s.photo_bytes,
            s.in_flight,
            s.moderators,
            s.capacity,
            match s.decide_via {
                DecideVia::Ws => "WebSocket",
                DecideVia::Http => "HTTP",
            },
            if s.think_ms > 0 {
                format!(" after {} ms", s.think_ms)
            } else {
                String::new()
            },
            s.reject_percent,
            self.base_url,
            self.run_id,
            s.task_id
        );

        let m = &self.moderator_setup;
        let mut setup = setup_table(&self.setup, self.connect_secs);
        setup.row(
            "moderators",
            format!(
                "{} created, {} reused ({} given the role), {:.1} s",
                m.created, m.reused, m.roles_assigned, m.secs
            ),
        );
        out += &setup.render();

        let st = &self.stream;
        let mut stream = Table::new("Stream");
        stream
            .row("submissions sent", st.sent)
            .row("accepted (201)", count_of(st.accepted, st.sent))
            .row(
                "  to moderation",
                format!("{} ({} approved at once)", st.moderated, st.not_moderated),
            )
            .row("errors", count_of(st.errors.total(), st.sent));
        for (kind, n) in st.errors.iter() {
            stream.row(format!("  {kind}"), n);
        }
        if st.stalled {
            stream.row("stalled", "yes: submitting stopped waiting for results");
        }
        stream
            .row(
                "submissions",
                format!(
                    "{:.1}/s (first sent to last 201: {:.2} s)",
                    st.submissions_per_sec, st.submit_secs
                ),
            )
            .row(
                "items routed",
                format!("{} at {:.1}/s", st.routed, st.routed_per_sec),
            )
            .row(
                "decisions",
                format!("{} at {:.1}/s", st.decided, st.decisions_per_sec),
            )
            .row(
                "results pushed",
                format!(
                    "{} at {:.1}/s (first sent to last result: {:.2} s)",
                    st.results, st.results_per_sec, st.pipeline_secs
                ),
            )
            .row(
                "drain after last 201",
                format!(
                    "{:.3} s{}",
                    st.drain_secs,
                    if st.all_results_arrived {
                        ""
                    } else {
                        " (timed out)"
                    }
                ),
            );
        out += &stream.render();

        let l = &self.latency;
        out += &latency_table(
            "Latency",
            &[
                ("submission sent -> 201", l.submit_http.as_ref()),
                ("sent -> routed to a moderator", l.sent_to_routed.as_ref()),
                ("routed -> decision confirmed", l.routed_to_decided.as_ref()),
                (
                    "decision sent -> result pushed",
                    l.decision_to_result.as_ref(),
                ),
                ("sent -> result pushed", l.sent_to_result.as_ref()),
            ],
        );
        let results = l.sent_to_result.as_ref().map_or(0, |s| s.count);
        out += &format!(
            "  results pushed before their submission's 201: {}\n",
            count_of(l.results_before_201, results)
        );
        out += &cpu_table(
            "CPU during the stream (cores busy on average)",
            &self.cpu_during_stream,
        );

        let inv = &self.invariants;
        let (d, r, sv, b) = (&inv.decisions, &inv.results, &inv.server, &inv.balances);
        let mut table = Table::new("Invariants");
        table
            .row("ledger check", inv.ledger.summary())
            .row(
                "decisions",
                format!(
                    "{} expected, {} once ({} approved, {} rejected), {} never routed, {} not decided, {} twice, {} re-routed",
                    d.expected,
                    d.decided_once,
                    d.approved,
                    d.rejected,
                    d.never_routed,
                    d.routed_not_decided,
                    d.decided_more_than_once,
                    d.rerouted
                ),
            )
            .row("  refused", counts_line(&d.refused))
            .row("  revoked", counts_line(&d.revoked))
            .row(
                "  other items",
                format!(
                    "{} leftovers of earlier runs decided, {} foreign left alone",
                    d.leftovers, d.foreign
                ),
            )
            .row(
                "results",
                format!(
                    "{} expected, {} once, {} missing, {} repeated, {} conflicting, {} misrouted, {} wrong, {} stale after",
                    r.expected,
                    r.pushed_once,
                    r.missing,
                    r.repeated,
                    r.conflicting,
                    r.misrouted,
                    r.wrong_result,
                    r.stale_after_result
                ),
            )
            .row(
                "other events",
                format!(
                    "{} unmatched, {} lag snapshots, error frames: sellers {}, moderators {}",
                    r.unmatched,
                    r.lag_snapshots,
                    counts_line(&r.error_frames),
                    counts_line(&d.error_frames)
                ),
            )
            .row(
                "seq per socket",
                format!(
                    "sellers {} gaps ({} skipped), {} repeats; moderators {} gaps, {} repeats",
                    r.seq.gaps, r.seq.skipped, r.seq.repeats, d.seq.gaps, d.seq.repeats
                ),
            )
            .row(
                "sockets ended early",
                format!(
                    "{} sellers, {} moderators",
                    r.sockets_ended_early, d.sockets_ended_early
                ),
            )
            .row(
                "server: submissions",
                format!(
                    "{}; {} not listed, {} with another status",
                    counts_line(&sv.stored_by_status),
                    sv.not_stored,
                    sv.status_mismatch
                ),
            )
            .row(
                "server: queue",
                format!(
                    "{} of the run's items queued, {} held",
                    sv.items_queued, sv.items_assigned
                ),
            )
            .row(
                "final balances",
                format!(
                    "{} checked, {} mismatched, {} inconclusive",
                    b.checked, b.mismatched, b.inconclusive
                ),
            );
        for example in r.examples.iter().chain(&b.mismatch_examples) {
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
    fn rejections_are_the_share_asked_for() {
        let share = |percent| (1..=10_000).filter(|id| rejects(*id, percent)).count();
        assert_eq!(share(0), 0);
        assert_eq!(share(100), 10_000);
        let tenth = share(10);
        assert!((900..=1100).contains(&tenth), "{tenth}");
    }

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    fn submitted(seller: usize, base: Instant, id: i64, credited: i64) -> Submission {
        Submission {
            seller,
            sent: base,
            answered: at(base, 3),
            outcome: Outcome::Accepted {
                id,
                moderated: true,
                status: "pending".into(),
                credited: Some(Points(credited)),
            },
        }
    }

    fn state(base: Instant, ms: u64, id: i64, status: &str) -> Seen {
        Seen::Submission {
            at: at(base, ms),
            id,
            status: status.into(),
            credited: Some(Points(1000)),
        }
    }

    fn balance(available: i64, pending: i64) -> Balance {
        Balance {
            available: Points(available),
            pending: Points(pending),
        }
    }

    fn routed_and_decided(
        base: Instant,
        item: i64,
        subject: i64,
        decisions: &[&str],
    ) -> Vec<DeskEvent> {
        let mut events = vec![
            DeskEvent::Assigned {
                at: at(base, 5),
                item_id: item,
                subject_id: subject,
                whose: Whose::Run,
            },
            DeskEvent::DecideSent {
                at: at(base, 6),
                item_id: item,
                reject: decisions.first() == Some(&"reject"),
            },
        ];
        for decision in decisions {
            events.push(DeskEvent::Decided {
                at: at(base, 8),
                item_id: item,
                decision: (*decision).into(),
            });
        }
        events
    }

    #[test]
    fn items_results_and_balances_are_matched_to_submissions() {
        let t = Instant::now();
        let submissions = vec![
            submitted(0, t, 11, 1000),
            submitted(1, t, 12, 1000),
            submitted(1, t, 13, 1000),
            Submission {
                seller: 0,
                sent: t,
                answered: t,
                outcome: Outcome::Refused {
                    status: 422,
                    code: Some("validation_failed".into()),
                },
            },
        ];
        let mut events = routed_and_decided(t, 101, 11, &["approve"]);
        events.extend(routed_and_decided(t, 102, 12, &["reject"]));
        // Decided twice, and its result never pushed.
        events.extend(routed_and_decided(t, 103, 13, &["approve", "approve"]));
        events.push(DeskEvent::Assigned {
            at: t,
            item_id: 900,
            subject_id: 1,
            whose: Whose::Foreign,
        });
        let desks = vec![DeskLog {
            events,
            seq: SeqCheck::default(),
            ended_early: None,
        }];
        let recording = |items| Recording {
            items,
            seq: SeqCheck::default(),
            ended_early: None,
        };
        let observed = vec![
            // Seller 0 starts at 5.00: held 10.00, then approved.
            (
                balance(500, 0),
                recording(vec![
                    Seen::Balance {
                        balance: Some(balance(500, 1000)),
                        lag: false,
                    },
                    state(t, 4, 11, "pending"),
                    Seen::Balance {
                        balance: Some(balance(1500, 0)),
                        lag: false,
                    },
                    state(t, 7, 11, "approved"),
                ]),
            ),
            // Seller 1: submission 12's result twice, 13's never.
            (
                balance(0, 0),
                recording(vec![
                    state(t, 9, 12, "rejected"),
                    state(t, 10, 12, "rejected"),
                    state(t, 11, 13, "pending"),
                ]),
            ),
        ];
        let server = ServerView {
            status_by_submission: HashMap::from([
                (11, "approved".to_string()),
                (12, "rejected".to_string()),
                (13, "approved".to_string()),
            ]),
            items_queued: 0,
            items_assigned: 0,
        };
        let analysis = analyse(&submissions, &desks, &observed, &server);
        let d = &analysis.decisions;
        assert_eq!(
            (
                d.expected,
                d.decided_once,
                d.decided_more_than_once,
                d.never_routed
            ),
            (3, 2, 1, 0)
        );
        assert_eq!((d.approved, d.rejected, d.foreign), (2, 1, 1));
        let r = &analysis.results;
        assert_eq!(
            (
                r.expected,
                r.pushed_once,
                r.missing,
                r.repeated,
                r.conflicting,
                r.wrong_result
            ),
            (3, 2, 1, 1, 0, 0)
        );
        assert_eq!(analysis.server.status_mismatch, 0);
        let b = &analysis.balances;
        assert_eq!((b.checked, b.mismatched, b.inconclusive), (1, 0, 1));
        let whole = analysis.latency.sent_to_result.expect("samples");
        assert_eq!((whole.count, whole.p50_ms, whole.max_ms), (2, 7.0, 9.0));
        let routed = analysis.latency.sent_to_routed.expect("samples");
        assert_eq!((routed.count, routed.max_ms), (3, 5.0));
        assert_eq!(
            (
                analysis.timeline.routed,
                analysis.timeline.decided,
                analysis.timeline.results
            ),
            (3, 3, 2)
        );

        let submitted = Submitted {
            submissions,
            stalled: false,
        };
        let stream = StreamFigures::of(&submitted, &analysis.timeline, true, Duration::ZERO);
        assert_eq!(
            (
                stream.sent,
                stream.accepted,
                stream.moderated,
                stream.errors.total()
            ),
            (4, 3, 3, 1)
        );
        let Verdict::Failed(failures) = verdict(true, &stream, &analysis) else {
            panic!("a missing result fails the run");
        };
        // The missing result and the double decision; the repeated result is reported.
        assert_eq!(failures.len(), 2, "{failures:?}");
    }
}

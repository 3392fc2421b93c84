//! Points expire by lots, by the program's rule (see
//! [`stimul_actors::rules::expiry`] for the dates and the order lots are spent in).
//!
//! The ledger's commit forms lots and spends them (`ledger::lots`); this area holds the
//! rest:
//!
//! - the rule (`getExpiryRule` with the forecast of what expires when, and
//!   `updateExpiryRule`: a change applies to lots credited after it; a lot keeps its
//!   date);
//! - the expiry run, started nightly on every node (the program's local date is unique
//!   per program, so two nodes start one) or by hand (`runExpiry`). It counts what is
//!   due at its cutoff, writes the warnings of what expires within the warning window
//!   (one per participant and expiry moment, ever), then moves, page by page on the
//!   effect queue, what is left of each participant's due lots to the program's
//!   `expired` account: one ledger transaction per participant keyed by participant
//!   and local date, through the group committer (so credits keep flowing beside it,
//!   and a rerun, a crash or a second node moves nothing twice);
//! - "expiring soon" for `getMe`, the `me` snapshot and the seller's pages.
//!
//! Expiry is not income: it changes neither lifetime points nor leaderboards.

pub mod repo;

use std::sync::Arc;

use async_trait::async_trait;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use stimul_actors::ledger::{AccountKey, Movement, Purpose, TransactionRequest, TransactionStatus};
use stimul_actors::live::RealtimeCore;
use stimul_actors::rules::expiry::{ExpiryRule, RunStatus};
use stimul_actors::rules::points::Points;
use tokio::sync::watch;
use utoipa::ToSchema;

use crate::db::{Clock, Db};
use crate::effects::{self, Effect, EffectHandler, Effects, Failure, NewEffect};
use crate::error::{ApiError, ApiResult};
use crate::notifications::Notice;
use repo::{DueParticipant, RunRow};
use stimul_actors::rules::notifications::Trigger;

/// The effect kind that expires one page of a run and queues the next.
pub const PAGE_EFFECT: &str = "expiry.page";
/// The effect kind that tells the participants a run warned.
pub const WARN_EFFECT: &str = "expiry.warn";
const DAY_MS: i64 = 86_400_000;
/// Expiry moments the forecast and a participant's list show.
const FORECAST_MOMENTS: i64 = 12;

/// A moment points expire, with how much goes then.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Expiring {
    /// Hundredths as a decimal string.
    #[schema(value_type = String)]
    pub amount: Points,
    /// The program's local date at whose start the points are gone (`YYYY-MM-DD`).
    pub on: String,
    /// The same moment, epoch milliseconds.
    pub at: i64,
}

/// One moment of the program's forecast.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ForecastMoment {
    #[serde(flatten)]
    pub expiring: Expiring,
    /// Participants losing points then.
    pub participants: i64,
}

/// The program's expiry rule and what it will do.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExpirySettings {
    pub rule: ExpiryRule,
    /// Days before an expiry the participant is warned (0: never).
    pub warn_days: i64,
    /// When the rule last changed (epoch ms), if ever: points credited before keep the
    /// dates they were given.
    pub since: Option<i64>,
    /// What a change means, in words.
    pub applies_to: String,
    /// What is due now and not yet moved (the next run moves it).
    #[schema(value_type = String)]
    pub due_now: Points,
    /// The next expiry moments with what goes then.
    pub forecast: Vec<ForecastMoment>,
}

/// A run of the expiry job and how far it got.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExpiryRun {
    pub id: i64,
    pub status: RunStatus,
    /// Lots due at this moment (epoch ms) expire.
    pub cutoff: i64,
    /// The program's local date of the run: the date in its transactions' keys.
    pub on: String,
    /// Started by the nightly schedule (else by `started_by`).
    pub nightly: bool,
    pub started_by: Option<i64>,
    /// Participants with due lots when it started, and their points.
    pub participants_due: i64,
    #[schema(value_type = String)]
    pub points_due: Points,
    /// Participants done so far, and the points moved to `expired`.
    pub participants_done: i64,
    #[schema(value_type = String)]
    pub points_expired: Points,
    /// Warnings written (expiries within the warning window not warned before).
    pub warnings: i64,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

impl From<RunRow> for ExpiryRun {
    fn from(row: RunRow) -> Self {
        Self {
            id: row.id,
            status: row.status,
            cutoff: row.cutoff,
            on: row.local_date,
            nightly: row.nightly_on.is_some(),
            started_by: row.started_by,
            participants_due: row.participants_due,
            points_due: Points::from_hundredths(row.points_due),
            participants_done: row.participants_done,
            points_expired: Points::from_hundredths(row.points_expired),
            warnings: row.warnings,
            created_at: row.created_at,
            finished_at: row.finished_at,
        }
    }
}

/// The `points_expiring` event on `me`: points will expire soon.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PointsExpiring {
    #[serde(flatten)]
    pub expiring: Expiring,
}

impl stimul_actors::hub::LiveEvent for PointsExpiring {
    const NAME: &'static str = "points_expiring";
}

fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::Europe::Moscow)
}

fn local_date(at_ms: i64, tz: Tz) -> String {
    chrono::DateTime::from_timestamp_millis(at_ms)
        .map(|at| at.with_timezone(&tz).date_naive().to_string())
        .unwrap_or_default()
}

fn expiring(at: i64, amount: i64, tz: Tz) -> Expiring {
    Expiring {
        amount: Points::from_hundredths(amount),
        on: local_date(at, tz),
        at,
    }
}

fn rule_of(text: &str) -> ApiResult<ExpiryRule> {
    serde_json::from_str(text)
        .map_err(|err| ApiError::internal(anyhow::anyhow!("stored expiry rule unreadable: {err}")))
}

/// The program's rule, with the forecast.
#[tracing::instrument(skip_all)]
pub async fn settings(db: &Db, clock: &Clock, program_id: i64) -> ApiResult<ExpirySettings> {
    let row = repo::rule(&db.pool, program_id).await?;
    let tz = zone(&row.timezone);
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let due = repo::due_totals(&mut tx, program_id, now).await?;
    tx.commit().await?;
    let forecast = repo::upcoming(db, program_id, None, now, FORECAST_MOMENTS)
        .await?
        .into_iter()
        .map(|moment| ForecastMoment {
            expiring: expiring(moment.expires_at, moment.amount, tz),
            participants: moment.participants,
        })
        .collect();
    let rule = rule_of(&row.expiry_rule)?;
    Ok(ExpirySettings {
        applies_to: match row.expiry_rule_since {
            Some(since) => format!(
                "points credited from {} on expire by this rule; earlier points keep the dates they were given",
                local_date(since, tz)
            ),
            None => "points credited from now on expire by this rule".into(),
        },
        rule,
        warn_days: row.expiry_warn_days,
        since: row.expiry_rule_since,
        due_now: Points::from_hundredths(due.points.unwrap_or(0)),
        forecast,
    })
}

/// The most days ahead a warning may come.
pub const MAX_WARN_DAYS: i64 = 90;

/// Changes the rule (for lots credited from now on) and the warning days; audited.
#[tracing::instrument(skip_all)]
pub async fn update(
    db: &Db,
    clock: &Clock,
    live: &RealtimeCore,
    program_id: i64,
    actor_id: i64,
    rule: Option<ExpiryRule>,
    warn_days: Option<i64>,
) -> ApiResult<ExpirySettings> {
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let before = repo::rule(&mut *tx, program_id).await?;
    let old_rule = rule_of(&before.expiry_rule)?;
    let new_rule = rule.unwrap_or(old_rule);
    let text = serde_json::to_string(&new_rule)
        .map_err(|err| ApiError::internal(anyhow::anyhow!("expiry rule: {err}")))?;
    let since = if new_rule == old_rule {
        before.expiry_rule_since
    } else {
        Some(now)
    };
    let warn_days = warn_days.unwrap_or(before.expiry_warn_days);
    repo::set_rule(&mut tx, program_id, &text, warn_days, since).await?;
    crate::audit::record(
        &mut tx,
        program_id,
        Some(actor_id),
        "expiry.rule",
        &format!("program:{program_id}"),
        Some(serde_json::json!({"rule": old_rule, "warn_days": before.expiry_warn_days})),
        Some(serde_json::json!({"rule": new_rule, "warn_days": warn_days})),
        now,
    )
    .await?;
    tx.commit().await?;
    live.publish(stimul_actors::bus::BusEvent::ProgramChanged { program_id });
    settings(db, clock, program_id).await
}

/// Starts a run of the program's expiry at the clock's now: counts what is due, writes
/// the warnings and queues the first page. `nightly` runs are one per local date (the
/// answer is `None` when that date's run exists).
#[tracing::instrument(skip_all, fields(program = program_id))]
pub async fn start(
    db: &Db,
    clock: &Clock,
    effects: &Effects,
    program_id: i64,
    started_by: Option<i64>,
    nightly: bool,
) -> ApiResult<Option<ExpiryRun>> {
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let rule = repo::rule(&mut *tx, program_id).await?;
    let on = local_date(now, zone(&rule.timezone));
    let due = repo::due_totals(&mut tx, program_id, now).await?;
    let new = repo::NewRun {
        program_id,
        cutoff: now,
        local_date: &on,
        nightly_on: nightly.then_some(on.as_str()),
        started_by,
        due,
    };
    let Some(run_id) = repo::insert_run(&mut tx, &new, now).await? else {
        return Ok(None);
    };
    let warnings = if rule.expiry_warn_days > 0 {
        let until = now.saturating_add(rule.expiry_warn_days.saturating_mul(DAY_MS));
        repo::warn(&mut tx, run_id, program_id, now, until, now).await?
    } else {
        0
    };
    repo::count_warnings(&mut tx, run_id, warnings).await?;
    effects::enqueue(&mut tx, &page_effect(program_id, run_id, 0), now).await?;
    if warnings > 0 {
        let warn = NewEffect {
            kind: WARN_EFFECT,
            dedupe_key: Some(format!("expiry-warn:{run_id}")),
            program_id: Some(program_id),
            payload: serde_json::json!({ "run_id": run_id }),
        };
        effects::enqueue(&mut tx, &warn, now).await?;
    }
    let run = repo::run(&mut *tx, program_id, run_id).await?;
    tx.commit().await?;
    effects.ring();
    tracing::info!(
        run = run_id,
        participants = due.participants,
        points = due.points.unwrap_or(0),
        warnings,
        "expiry run started"
    );
    Ok(run.map(ExpiryRun::from))
}

fn page_effect(program_id: i64, run_id: i64, after: i64) -> NewEffect {
    NewEffect {
        kind: PAGE_EFFECT,
        dedupe_key: Some(format!("expiry-run:{run_id}:{after}")),
        program_id: Some(program_id),
        payload: serde_json::json!({ "run_id": run_id }),
    }
}

#[tracing::instrument(skip_all)]
pub async fn run(db: &Db, program_id: i64, id: i64) -> ApiResult<ExpiryRun> {
    repo::run(&db.pool, program_id, id)
        .await?
        .map(ExpiryRun::from)
        .ok_or_else(|| ApiError::not_found(format!("expiry run {id}")))
}

#[tracing::instrument(skip_all)]
pub async fn runs(
    db: &Db,
    program_id: i64,
    before: i64,
    limit: i64,
) -> ApiResult<crate::paging::Page<ExpiryRun>> {
    let rows = repo::runs(db, program_id, before, limit + 1).await?;
    Ok(crate::paging::page_of(
        rows.into_iter().map(ExpiryRun::from).collect(),
        limit,
        |run| run.id,
    ))
}

/// A participant's next expiry, if any.
#[tracing::instrument(skip_all)]
pub async fn next_of(db: &Db, clock: &Clock, participant_id: i64) -> ApiResult<Option<Expiring>> {
    let Some((at, amount)) = repo::next_expiry(db, participant_id, clock.now_ms()).await? else {
        return Ok(None);
    };
    let timezone = repo::timezone_of(db, participant_id).await?;
    Ok(Some(expiring(at, amount, zone(&timezone))))
}

/// A participant's coming expiries, soonest first.
#[tracing::instrument(skip_all)]
pub async fn upcoming_of(
    db: &Db,
    clock: &Clock,
    program_id: i64,
    participant_id: i64,
) -> ApiResult<Vec<Expiring>> {
    let timezone = zone(&repo::rule(&db.pool, program_id).await?.timezone);
    Ok(repo::upcoming(
        db,
        program_id,
        Some(participant_id),
        clock.now_ms(),
        FORECAST_MOMENTS,
    )
    .await?
    .into_iter()
    .map(|moment| expiring(moment.expires_at, moment.amount, timezone))
    .collect())
}

/// The transaction that expires `due`'s remainder in `run`.
fn expiry_request(run: &RunRow, due: &DueParticipant) -> TransactionRequest {
    TransactionRequest {
        program_id: run.program_id,
        // Participant and local date: a rerun, a retried page or another node's run of
        // the same date moves nothing twice.
        idempotency_key: format!("expiry:{}:{}", due.participant_id, run.local_date),
        reason: "expiry".into(),
        participant_id: Some(due.participant_id),
        store_id: due.store_id,
        source: Some(("expiry_run".into(), run.id.to_string())),
        actor_id: run.started_by,
        comment: None,
        status: TransactionStatus::Posted,
        settles: None,
        movements: vec![Movement {
            from: AccountKey::Participant(due.participant_id),
            to: AccountKey::Expired,
            amount: Points::from_hundredths(due.amount),
            purpose: Purpose::Expiry,
        }],
        completed_tasks: 0,
        campaign_id: None,
        fingerprint: None,
        earning: None,
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct RunPayload {
    run_id: i64,
}

/// What the expiry effects and the nightly start own.
#[derive(Clone)]
pub struct ExpiryJob {
    /// Reads lots and runs, and writes a page's progress.
    pub db: Db,
    /// Stamps runs; tests move it.
    pub clock: Clock,
    /// Posts expiries through the group committer and pushes warnings.
    pub live: Arc<RealtimeCore>,
    /// Participants per page (`expiry.page_size`).
    pub page_size: i64,
}

/// How long one effect of a run goes on expiring pages before it hands the rest to a
/// fresh effect: well inside the effect's lease, so no other node takes it over while
/// it runs, and long enough that claiming effects (a write that waits its turn behind
/// the credits on SQLite) costs little.
const PAGES_FOR: std::time::Duration = std::time::Duration::from_secs(15);

/// Expires a run's pages for up to [`PAGES_FOR`], recording each page's progress, then
/// queues the rest (or finishes the run).
pub struct PageEffect(pub ExpiryJob);

#[async_trait]
impl EffectHandler for PageEffect {
    async fn run(&self, effects: &Effects, effect: &Effect) -> Result<(), Failure> {
        let job = &self.0;
        let RunPayload { run_id } = effect.payload()?;
        let began = std::time::Instant::now();
        loop {
            let run = repo::run_by_id(&job.db, run_id)
                .await?
                .ok_or_else(|| Failure::Permanent(format!("expiry run {run_id} not found")))?;
            if run.status != RunStatus::Running {
                return Ok(());
            }
            let Some(after) = expire_page(job, &run).await? else {
                let mut tx = job.db.begin().await?;
                repo::finish(&mut tx, run_id, job.clock.now_ms()).await?;
                tx.commit().await?;
                return Ok(());
            };
            if began.elapsed() >= PAGES_FOR {
                let mut tx = job.db.begin().await?;
                effects::enqueue(
                    &mut tx,
                    &page_effect(run.program_id, run_id, after),
                    job.clock.now_ms(),
                )
                .await?;
                tx.commit().await?;
                effects.ring();
                return Ok(());
            }
        }
    }
}

/// Expires the next page of `run` and records it; answers the last participant done,
/// or `None` when the page was the last.
#[tracing::instrument(skip_all, fields(run = run.id))]
async fn expire_page(job: &ExpiryJob, run: &RunRow) -> Result<Option<i64>, Failure> {
    let page = repo::due_page(
        &job.db,
        run.program_id,
        run.cutoff,
        run.after_participant,
        job.page_size,
    )
    .await?;
    let answers = job
        .live
        .commit_in_bursts(page.iter().map(|due| expiry_request(run, due)).collect())
        .await;
    let mut done = 0;
    let mut expired = 0;
    for (due, answer) in page.iter().zip(answers) {
        match answer {
            Ok(committed) => {
                done += 1;
                if !committed.replayed {
                    expired += due.amount;
                }
            }
            Err(err @ stimul_actors::ledger::LedgerError::InsufficientFunds { .. }) => {
                // The lots outran the balance, which the commit prevents; the next run
                // looks again rather than stopping this one.
                tracing::error!(participant = due.participant_id, error = %err, "expiry refused");
            }
            Err(err) => return Err(Failure::Retry(format!("ledger: {err}"))),
        }
    }
    let Some(last) = page.last() else {
        return Ok(None);
    };
    let mut tx = job.db.begin().await?;
    repo::page_done(&mut tx, run.id, last.participant_id, done, expired).await?;
    tx.commit().await?;
    Ok((page.len() as i64 >= job.page_size).then_some(last.participant_id))
}

/// Pushes `points_expiring` to every participant a run warned.
pub struct WarnEffect(pub ExpiryJob);

#[async_trait]
impl EffectHandler for WarnEffect {
    async fn run(&self, effects: &Effects, effect: &Effect) -> Result<(), Failure> {
        let job = &self.0;
        let RunPayload { run_id } = effect.payload()?;
        let Some(run) = repo::run_by_id(&job.db, run_id).await? else {
            return Ok(());
        };
        let tz = zone(&repo::rule(&job.db.pool, run.program_id).await?.timezone);
        let warnings = repo::warnings_of(&job.db, run_id).await?;
        // Into the inbox (once per participant and expiry moment: the cause is unique),
        // then the live toast.
        let notices: Vec<Notice> = warnings
            .iter()
            .map(|warning| {
                let coming = expiring(warning.expires_at, warning.amount, tz);
                Notice::new(
                    run.program_id,
                    warning.participant_id,
                    Trigger::PointsExpiring,
                    format!("expiring:{}:{}", warning.participant_id, warning.expires_at),
                )
                .with("amount", coming.amount)
                .with("on", coming.on)
            })
            .collect();
        let mut tx = job.db.begin().await?;
        crate::notifications::notify_in(&mut tx, &notices, job.clock.now_ms()).await?;
        tx.commit().await?;
        effects.ring();
        for warning in warnings {
            job.live.push(
                &stimul_actors::participant::topic(warning.participant_id),
                &PointsExpiring {
                    expiring: expiring(warning.expires_at, warning.amount, tz),
                },
            );
        }
        Ok(())
    }
}

/// Starts the program's run of its local date unless it exists; the check spares
/// counting the due lots every tick, the unique date settles a race.
#[tracing::instrument(skip_all)]
async fn start_nightly(job: &ExpiryJob, effects: &Effects, program_id: i64) -> ApiResult<()> {
    let timezone = zone(&repo::rule(&job.db.pool, program_id).await?.timezone);
    let on = local_date(job.clock.now_ms(), timezone);
    if !repo::nightly_exists(&job.db, program_id, &on).await? {
        start(&job.db, &job.clock, effects, program_id, None, true).await?;
    }
    Ok(())
}

/// Starts each program's nightly run once its local date has begun, looking every
/// `every` until `shutdown`; every node runs it, and the run's unique local date lets
/// one of them start it.
#[tracing::instrument(skip_all)]
pub async fn run_nightly(
    job: ExpiryJob,
    effects: Arc<Effects>,
    every: std::time::Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let programs = match repo::programs_with_rules(&job.db).await {
            Ok(programs) => programs,
            Err(err) => {
                tracing::warn!(error = %err, "reading programs with expiry rules failed");
                continue;
            }
        };
        for program_id in programs {
            if let Err(err) = start_nightly(&job, &effects, program_id).await {
                tracing::warn!(program = program_id, error = %err.detail, "starting the nightly expiry run failed");
            }
        }
    }
}

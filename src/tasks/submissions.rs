//! Submissions: a participant doing a task, and everything that follows.
//!
//! A submission is checked in full before anything is written; then, in one
//! transaction, it is recorded with its photos as `approved` (a task that scores
//! itself, or a trusted participant's low-risk one), `failed` (a quiz below its pass
//! mark) or `pending` (waiting for a moderator). What touches points happens after that
//! commit, in [`follow_up`]: crediting at once (`task-submission:{id}`, one completed
//! task), or holding the points as pending and only then queueing the moderation item
//! (so a moderator never sees an item without its hold); bonuses of quests the
//! completion finishes; and the `task_submission` push. The follow-up is an effect
//! ([`FOLLOW_UP_EFFECT`]) queued with the change that calls for it and run right after
//! the commit, or retried by the effect queue, so a crash in between loses nothing and
//! the ledger's keys keep a retry from paying twice.
//!
//! A moderator's decision ([`decide_in_transaction`]) updates the submission in the
//! decision's transaction and returns the hold to settle: approve confirms it (and
//! completes the task), reject and rework cancel it. A rework waits for the
//! participant, whose next submission of the task fixes it (a new row pointing at the
//! old one, which becomes `resubmitted`) with a new hold and a new moderation item.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use stimul_actors::ledger::AccountKey;
use stimul_actors::live::{RealtimeCore, SALE_REASONS};
use stimul_actors::moderation::ItemView;
use stimul_actors::participant::Earn;
use stimul_actors::rules::points::Points;
use stimul_actors::rules::routing::ItemKind;
pub use stimul_actors::rules::tasks::SubmissionStatus;
use stimul_actors::rules::tasks::answers::{self, Answers, Context, PlanProgress};
use stimul_actors::rules::tasks::limits::{Refusal, Usage};
use stimul_actors::rules::tasks::schedule::Period;
use stimul_actors::rules::tasks::spec::TaskSpec;
use stimul_actors::rules::tasks::trust::{self, Routing, TrustHistory};
use utoipa::ToSchema;

use super::Task;
use super::rows::{count_column, json_column, optional_count_column};
use crate::auth::Principal;
use crate::db::{Backend, Clock, Db, Sql, Tx};
use crate::effects::{self, Effects, NewEffect};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::moderation::{self, DecisionKind, DecisionRequest, Effect, NewItem};

/// The body of `submitTask`: JSON, or the `data` part of a multipart upload whose
/// `photos` parts carry the photos.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct SubmissionRequest {
    #[serde(flatten)]
    pub answers: Answers,
    /// The reworked submission this one fixes. Without it, a submission of a task
    /// with work sent back fixes the oldest such submission.
    pub resubmits: Option<i64>,
}

/// A submission as its participant and staff see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Submission {
    pub id: i64,
    pub task_id: i64,
    pub participant_id: i64,
    pub status: SubmissionStatus,
    /// The period it counts in: `all`, a local date, or an ISO week like `2024-W24`.
    pub period_key: String,
    /// The attempt within the period, from 1; a resubmission keeps its attempt.
    pub attempt: u32,
    pub resubmission_of: Option<i64>,
    /// The answer as checked: questions with the options chosen (and for a quiz
    /// whether each was right), ticks, code, prices, comment.
    #[schema(value_type = Object)]
    pub answers: serde_json::Value,
    /// SHA-256 of each photo; fetch with `getPhoto`.
    pub photos: Vec<String>,
    /// Right answers of a quiz.
    pub score: Option<u32>,
    pub max_score: Option<u32>,
    /// Base points of the task when submitted.
    #[schema(value_type = String)]
    pub points: Points,
    /// Points credited or held, after the level multiplier; `null` until known.
    #[schema(value_type = Option<String>)]
    pub credited: Option<Points>,
    pub requires_moderation: bool,
    /// Approved without a moderator (a trusted participant's low-risk task).
    pub auto_approved: bool,
    /// The rejection reason code.
    pub decision_reason: Option<String>,
    /// The moderator's words: what to fix, or why not.
    pub decision_comment: Option<String>,
    pub decided_at: Option<i64>,
    /// The pending credit while a moderator decides.
    pub hold_transaction_id: Option<i64>,
    /// The credit of a task that paid at once.
    pub transaction_id: Option<i64>,
    pub completed_at: Option<i64>,
    pub created_at: i64,
    #[serde(skip)]
    pub program_id: i64,
    #[serde(skip)]
    pub store_id: Option<i64>,
    #[serde(skip)]
    pub region_id: Option<i64>,
    #[serde(skip)]
    pub followup_done: bool,
}

/// Pushed on `me` when a submission is recorded or decided.
impl stimul_actors::hub::LiveEvent for Submission {
    const NAME: &'static str = "task_submission";
}

const SUBMISSION_COLUMNS: &str = "id, program_id, task_id, participant_id, store_id, region_id, period_key, attempt, resubmission_of, status, answers, photos, score, max_score, points, credited, moderated, auto_approved, decision_reason, decision_comment, decided_at, hold_transaction_id, transaction_id, completed_at, followup, created_at";

/// A submission as stored ([`SUBMISSION_COLUMNS`]).
#[derive(FromRow)]
struct SubmissionRow {
    id: i64,
    program_id: i64,
    task_id: i64,
    participant_id: i64,
    store_id: Option<i64>,
    region_id: Option<i64>,
    period_key: String,
    attempt: i64,
    resubmission_of: Option<i64>,
    #[sqlx(try_from = "String")]
    status: SubmissionStatus,
    /// JSON.
    answers: String,
    /// JSON list of photo hashes.
    photos: String,
    score: Option<i64>,
    max_score: Option<i64>,
    points: i64,
    credited: Option<i64>,
    /// Stored as INTEGER, 0 or 1.
    moderated: i64,
    auto_approved: i64,
    decision_reason: Option<String>,
    decision_comment: Option<String>,
    decided_at: Option<i64>,
    hold_transaction_id: Option<i64>,
    transaction_id: Option<i64>,
    completed_at: Option<i64>,
    /// `pending` or `done`.
    followup: String,
    created_at: i64,
}

impl TryFrom<SubmissionRow> for Submission {
    type Error = sqlx::Error;

    fn try_from(row: SubmissionRow) -> sqlx::Result<Submission> {
        Ok(Submission {
            id: row.id,
            program_id: row.program_id,
            task_id: row.task_id,
            participant_id: row.participant_id,
            store_id: row.store_id,
            region_id: row.region_id,
            period_key: row.period_key,
            attempt: count_column(row.attempt)?,
            resubmission_of: row.resubmission_of,
            status: row.status,
            answers: json_column(&row.answers)?,
            photos: json_column(&row.photos)?,
            score: optional_count_column(row.score)?,
            max_score: optional_count_column(row.max_score)?,
            points: Points::from_hundredths(row.points),
            credited: row.credited.map(Points::from_hundredths),
            requires_moderation: row.moderated != 0,
            auto_approved: row.auto_approved != 0,
            decision_reason: row.decision_reason,
            decision_comment: row.decision_comment,
            decided_at: row.decided_at,
            hold_transaction_id: row.hold_transaction_id,
            transaction_id: row.transaction_id,
            completed_at: row.completed_at,
            followup_done: row.followup == "done",
            created_at: row.created_at,
        })
    }
}

#[tracing::instrument(skip_all, fields(id = ?id))]
pub async fn load<'e, E>(executor: E, id: i64) -> ApiResult<Submission>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row: Option<SubmissionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SUBMISSION_COLUMNS} FROM task_submissions WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(executor)
    .await?;
    match row {
        Some(row) => Ok(row.try_into()?),
        None => Err(ApiError::not_found(format!("submission {id}"))),
    }
}

/// Rows of `sql` (a `SELECT {SUBMISSION_COLUMNS} …`) as submissions.
#[tracing::instrument(skip_all)]
pub async fn fetch(db: &Db, sql: &Sql) -> ApiResult<Vec<Submission>> {
    let rows: Vec<SubmissionRow> = sql.query_as().fetch_all(&db.pool).await?;
    Ok(rows
        .into_iter()
        .map(Submission::try_from)
        .collect::<Result<Vec<_>, _>>()?)
}

/// `SELECT {columns} FROM task_submissions WHERE ` to build on.
pub fn select_where() -> Sql {
    Sql::new(&format!(
        "SELECT {SUBMISSION_COLUMNS} FROM task_submissions WHERE "
    ))
}

/// Sales counted towards a plan.
#[derive(FromRow)]
struct SalesRow {
    quantity: i64,
    amount: i64,
}

/// The participant's sales in `period`: income credited for codes and receipts (a
/// receipt's income is the confirmation of its hold, so the hold's reason counts).
#[tracing::instrument(skip_all, fields(participant_id = ?participant_id))]
pub async fn plan_progress(
    db: &Db,
    participant_id: i64,
    period: &Period,
) -> ApiResult<PlanProgress> {
    let mut sql = Sql::new(
        "SELECT COUNT(*) AS quantity, CAST(COALESCE(SUM(t.earned), 0) AS BIGINT) AS amount
         FROM ledger_transactions t LEFT JOIN ledger_transactions h ON h.id = t.settles_id
         WHERE t.participant_id = ",
    );
    sql.bind(participant_id)
        .push(" AND t.earned > 0 AND t.created_at >= ")
        .bind(period.start_ms)
        .push(" AND t.created_at < ")
        .bind(period.end_ms.unwrap_or(i64::MAX))
        .push(" AND (t.reason IN ")
        .bind_list(SALE_REASONS.iter().map(|r| r.to_string()))
        .push(" OR h.reason IN ")
        .bind_list(SALE_REASONS.iter().map(|r| r.to_string()))
        .push(")");
    let row: SalesRow = sql.query_as().fetch_one(&db.pool).await?;
    Ok(PlanProgress {
        quantity: row.quantity,
        amount: Points::from_hundredths(row.amount),
    })
}

/// Sums of submissions by status, as SQL columns: completed, pending, rework, attempts.
const USAGE_SUMS: &str =
    "CAST(COALESCE(SUM(CASE WHEN status = 'approved' THEN 1 ELSE 0 END), 0) AS BIGINT) AS completed,
     CAST(COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS BIGINT) AS pending,
     CAST(COALESCE(SUM(CASE WHEN status = 'rework' THEN 1 ELSE 0 END), 0) AS BIGINT) AS rework,
     CAST(COALESCE(SUM(CASE WHEN resubmission_of IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS attempts";

/// A task's [`USAGE_SUMS`] in a participant's period.
#[derive(FromRow)]
struct UsageRow {
    task_id: i64,
    completed: i64,
    pending: i64,
    rework: i64,
    attempts: i64,
}

impl UsageRow {
    fn usage(&self) -> sqlx::Result<Usage> {
        Ok(Usage {
            completed: count_column(self.completed)?,
            pending: count_column(self.pending)?,
            rework: count_column(self.rework)?,
            attempts: count_column(self.attempts)?,
        })
    }
}

/// What a participant did with each of `periods` (task id, period start) in it.
#[tracing::instrument(skip_all, fields(participant_id = ?participant_id))]
pub async fn usage_in<'e, E>(
    executor: E,
    participant_id: i64,
    periods: &[(i64, i64)],
) -> ApiResult<Vec<(i64, Usage)>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    if periods.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(&format!(
        "SELECT task_id, {USAGE_SUMS} FROM task_submissions WHERE participant_id = "
    ));
    sql.bind(participant_id).push(" AND (");
    for (i, (task_id, start)) in periods.iter().enumerate() {
        sql.push(if i > 0 { " OR (" } else { "(" })
            .push("task_id = ")
            .bind(*task_id)
            .push(" AND period_start = ")
            .bind(*start)
            .push(")");
    }
    sql.push(") GROUP BY task_id");
    let rows: Vec<UsageRow> = sql.query_as().fetch_all(executor).await?;
    Ok(rows
        .iter()
        .map(|row| Ok((row.task_id, row.usage()?)))
        .collect::<sqlx::Result<Vec<_>>>()?)
}

/// Serialises a participant's submissions on PostgreSQL (SQLite's `BEGIN IMMEDIATE`
/// already does): two phones submitting at once must not both take the last attempt.
#[tracing::instrument(skip_all, fields(participant_id = ?participant_id))]
async fn lock_participant(tx: &mut Tx, backend: Backend, participant_id: i64) -> ApiResult<()> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
            .bind(participant_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The reworked submission a new one fixes: the one named, or the oldest waiting.
#[tracing::instrument(skip_all, fields(task_id = ?task_id, participant_id = ?participant_id))]
async fn reworked(
    tx: &mut Tx,
    task_id: i64,
    participant_id: i64,
    named: Option<i64>,
) -> ApiResult<Option<Submission>> {
    let mut sql = select_where();
    sql.push("task_id = ")
        .bind(task_id)
        .push(" AND participant_id = ")
        .bind(participant_id)
        .push(" AND status = 'rework'");
    if let Some(id) = named {
        sql.push(" AND id = ").bind(id);
    }
    sql.push(" ORDER BY id LIMIT 1");
    let row: Option<SubmissionRow> = sql.query_as().fetch_optional(&mut **tx).await?;
    match (row, named) {
        (Some(row), _) => Ok(Some(row.try_into()?)),
        (None, Some(id)) => Err(ApiError::field(
            "resubmits",
            format!("submission {id} of this task is not waiting for rework"),
        )),
        (None, None) => Ok(None),
    }
}

/// A participant's moderator decisions by outcome.
#[derive(FromRow)]
struct TrustRow {
    approved: i64,
    rejected: i64,
    /// Sent back for rework (resubmitted or not).
    reworked: i64,
}

/// The participant's moderator decisions so far, for trust.
#[tracing::instrument(skip_all, fields(participant_id = ?participant_id))]
async fn trust_history(tx: &mut Tx, participant_id: i64) -> ApiResult<TrustHistory> {
    let row: TrustRow = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN status = 'approved' THEN 1 ELSE 0 END), 0) AS BIGINT) AS approved,
                CAST(COALESCE(SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END), 0) AS BIGINT) AS rejected,
                CAST(COALESCE(SUM(CASE WHEN status IN ('rework', 'resubmitted') THEN 1 ELSE 0 END), 0) AS BIGINT) AS reworked
         FROM task_submissions WHERE participant_id = $1 AND decided_by IS NOT NULL",
    )
    .bind(participant_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(TrustHistory {
        approved: count_column(row.approved)?,
        rejected: count_column(row.rejected)?,
        reworked: count_column(row.reworked)?,
    })
}

fn refusal(refusal: Refusal, task: &Task) -> ApiError {
    match refusal {
        Refusal::CompletionLimit => ApiError::new(
            ErrorCode::CompletionLimitReached,
            format!(
                "task {} is done (or waiting for a moderator) {} time(s) this period, as often as it allows",
                task.id, task.max_completions
            ),
        ),
        Refusal::AttemptsExhausted => ApiError::new(
            ErrorCode::AttemptsExhausted,
            format!(
                "all {} attempt(s) at task {} are used this period",
                task.max_attempts.unwrap_or_default(),
                task.id
            ),
        ),
    }
}

/// What submitting reaches.
#[derive(Clone, Copy)]
pub struct Submitting<'a> {
    /// The submission's transaction, and the follow-up run at once.
    pub db: &'a Db,
    /// Stamps the submission and checks the task's schedule.
    pub clock: &'a Clock,
    /// The participant's live view (audience, limits), and the follow-up's push.
    pub live: &'a Arc<RealtimeCore>,
    /// Runs the follow-up queued with the submission right after the commit.
    pub effects: &'a Effects,
}

/// Records a participant's submission of task `task_id` and follows it up; its
/// photos are stored under `data_dir`.
#[tracing::instrument(skip_all, fields(task_id = ?task_id))]
pub async fn submit(
    submitting: Submitting<'_>,
    data_dir: &Path,
    caller: &Principal,
    task_id: i64,
    request: &SubmissionRequest,
    photos: &[Vec<u8>],
) -> ApiResult<Submission> {
    let Submitting {
        db,
        clock,
        live,
        effects,
    } = submitting;
    let program_id = caller.program_id();
    let participant = super::visibility::participant(db, live, program_id, caller.id()).await?;
    let task = super::rows::get(&db.pool, program_id, task_id).await?;
    // Tasks outside the participant's audience do not exist for them.
    if !task.audience.includes(&participant.member) {
        return Err(ApiError::not_found(format!("task {task_id}")));
    }
    let now = clock.now_ms();
    if !task.active || !task.schedule().is_open(now) {
        return Err(ApiError::new(
            ErrorCode::TaskUnavailable,
            format!("task {task_id} is not open now"),
        ));
    }
    let zone = super::settings::program_zone(&db.pool, program_id).await?;
    let period = task
        .schedule()
        .period(now, zone)
        .map_err(super::checks::window_error)?;
    let plan = match task.spec {
        TaskSpec::SalesPlan { .. } => Some(plan_progress(db, caller.id(), &period).await?),
        _ => None,
    };
    let context = Context {
        photos: photos.len(),
        plan,
    };
    let checked = answers::check(&task.spec, &request.answers, &context)
        .map_err(|issues| ApiError::fields(super::checks::field_errors(issues).collect()))?;
    if let (TaskSpec::SalesPlan { .. }, Some(progress)) = (&task.spec, plan)
        && !checked.passed
    {
        return Err(ApiError::new(
            ErrorCode::PlanNotMet,
            format!(
                "sold {} for {} points so far this period; the plan is not met yet",
                progress.quantity, progress.amount
            ),
        ));
    }

    let mut tx = db.begin().await?;
    lock_participant(&mut tx, db.backend, caller.id()).await?;
    let (period_start, period_key, attempt, resubmission_of) = match reworked(
        &mut tx,
        task.id,
        caller.id(),
        request.resubmits,
    )
    .await?
    {
        Some(old) => {
            sqlx::query("UPDATE task_submissions SET status = 'resubmitted', updated_at = $1 WHERE id = $2 AND status = 'rework'")
                    .bind(now)
                    .bind(old.id)
                    .execute(&mut *tx)
                    .await?;
            let start: i64 =
                sqlx::query_scalar("SELECT period_start FROM task_submissions WHERE id = $1")
                    .bind(old.id)
                    .fetch_one(&mut *tx)
                    .await?;
            (start, old.period_key, old.attempt, Some(old.id))
        }
        None => {
            let usage = usage_in(&mut *tx, caller.id(), &[(task.id, period.start_ms)])
                .await?
                .first()
                .map(|(_, usage)| *usage)
                .unwrap_or_default();
            task.limits()
                .may_start(&usage)
                .map_err(|r| refusal(r, &task))?;
            (period.start_ms, period.key, usage.attempts + 1, None)
        }
    };
    if let Some(code) = checked.code {
        let seen: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM task_submissions WHERE task_id = $1 AND participant_id = $2 AND period_start = $3
               AND code = $4 AND status IN ('pending', 'approved', 'rework')",
        )
        .bind(task.id)
        .bind(caller.id())
        .bind(period_start)
        .bind(code.as_str())
        .fetch_one(&mut *tx)
        .await?;
        if seen > 0 {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!("package {code} was already scanned for this task this period"),
            ));
        }
        if let TaskSpec::StockCheck {
            product_id: Some(product_id),
            ..
        } = &task.spec
        {
            // Printed codes only: a pool code never left the factory.
            let on_record: Option<i64> = sqlx::query_scalar(
                "SELECT product_id FROM codes WHERE code = $1 AND status <> 'pool'",
            )
            .bind(code.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .flatten();
            if on_record != Some(*product_id) {
                return Err(ApiError::field(
                    "code",
                    format!("{code} is not the code of a package of this task's product"),
                ));
            }
        }
    }
    let mut hashes = Vec::with_capacity(photos.len());
    for bytes in photos {
        let photo =
            crate::photos::store(&mut tx, data_dir, program_id, caller.id(), bytes, now).await?;
        hashes.push(photo.sha256);
    }
    let (status, auto_approved) = if !checked.passed {
        (SubmissionStatus::Failed, false)
    } else if !task.requires_moderation {
        (SubmissionStatus::Approved, false)
    } else {
        let policy = super::settings::trust_policy(&mut *tx, program_id).await?;
        let routing = if policy.enabled {
            let history = trust_history(&mut tx, caller.id()).await?;
            trust::route(
                &policy,
                &history,
                task.points,
                rand::random_range(0..100u32),
            )
        } else {
            Routing::Moderate
        };
        match routing {
            Routing::AutoApprove => (SubmissionStatus::Approved, true),
            Routing::Moderate | Routing::SpotCheck => (SubmissionStatus::Pending, false),
        }
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO task_submissions (program_id, task_id, participant_id, store_id, region_id, period_start, period_key, attempt,
                resubmission_of, status, answers, photos, code, score, max_score, points, moderated, auto_approved, completed_at,
                followup, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, 'pending', $20, $20)
         RETURNING id",
    )
    .bind(program_id)
    .bind(task.id)
    .bind(caller.id())
    .bind(participant.person.store_id)
    .bind(participant.person.region_id)
    .bind(period_start)
    .bind(&period_key)
    .bind(i64::from(attempt))
    .bind(resubmission_of)
    .bind(status.as_str())
    .bind(checked.record.to_string())
    .bind(serde_json::to_string(&hashes).map_err(ApiError::internal)?)
    .bind(checked.code.map(|c| c.as_str().to_string()))
    .bind(checked.score.map(|s| i64::from(s.correct)))
    .bind(checked.score.map(|s| i64::from(s.total)))
    .bind(task.points.hundredths())
    .bind(i64::from(task.requires_moderation))
    .bind(i64::from(auto_approved))
    .bind((status == SubmissionStatus::Approved).then_some(now))
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let follow_up = enqueue_follow_up(&mut tx, program_id, id, status, now).await?;
    tx.commit().await?;
    // Done now in the common case; the effect queue finishes whatever this leaves.
    effects::run_now(db, effects, follow_up).await;
    load(&db.pool, id).await
}

/// Holds the points as pending, then queues the moderation item with the hold.
#[tracing::instrument(skip_all)]
async fn queue_for_moderation(
    db: &Db,
    clock: &Clock,
    live: &Arc<RealtimeCore>,
    submission: &Submission,
    task: &Task,
) -> ApiResult<()> {
    let earn = Earn {
        base: submission.points,
        reason: "task".into(),
        idempotency_key: format!("task-submission:{}", submission.id),
        pay_from: AccountKey::Issued,
        hold: true,
        source: Some(("submission".into(), submission.id.to_string())),
        actor_id: None,
        comment: Some(task.title.clone()),
        completed_tasks: 0,
        fingerprint: None,
    };
    let outcome = live.earn(submission.participant_id, earn).await?;
    let previous_comment: Option<String> = match submission.resubmission_of {
        Some(old) => {
            sqlx::query_scalar("SELECT decision_comment FROM task_submissions WHERE id = $1")
                .bind(old)
                .fetch_one(&db.pool)
                .await?
        }
        None => None,
    };
    let summary = serde_json::json!({
        "task": { "id": task.id, "title": task.title, "kind": task.kind },
        "answers": submission.answers,
        "photos": submission.photos,
        "points": outcome.amount,
        "attempt": submission.attempt,
        "resubmission_of": submission.resubmission_of,
        "previous_comment": previous_comment,
    });
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let item = moderation::enqueue(
        &mut tx,
        submission.program_id,
        &NewItem {
            kind: ItemKind::TaskSubmission,
            subject_id: submission.id,
            participant_id: Some(submission.participant_id),
            store_id: submission.store_id,
            region_id: submission.region_id,
            summary,
        },
        now,
    )
    .await?;
    sqlx::query("UPDATE task_submissions SET hold_transaction_id = $1, credited = $2, moderation_item_id = $3, updated_at = $4 WHERE id = $5")
        .bind(outcome.transaction_id)
        .bind(outcome.amount.hundredths())
        .bind(item)
        .bind(now)
        .bind(submission.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    moderation::announce(live, submission.program_id);
    Ok(())
}

/// Credits a completed submission at once (one completed task for levels).
#[tracing::instrument(skip_all)]
async fn credit(
    db: &Db,
    clock: &Clock,
    live: &Arc<RealtimeCore>,
    submission: &Submission,
    task: &Task,
) -> ApiResult<()> {
    let earn = Earn {
        base: submission.points,
        reason: "task".into(),
        idempotency_key: format!("task-submission:{}", submission.id),
        pay_from: AccountKey::Issued,
        hold: false,
        source: Some(("submission".into(), submission.id.to_string())),
        actor_id: None,
        comment: Some(task.title.clone()),
        completed_tasks: 1,
        fingerprint: None,
    };
    let outcome = live.earn(submission.participant_id, earn).await?;
    sqlx::query("UPDATE task_submissions SET transaction_id = $1, credited = $2, updated_at = $3 WHERE id = $4")
        .bind(outcome.transaction_id)
        .bind(outcome.amount.hundredths())
        .bind(clock.now_ms())
        .bind(submission.id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The effect kind that finishes a submission after its commit (see [`follow_up`]).
pub const FOLLOW_UP_EFFECT: &str = "tasks.follow_up";

#[derive(Debug, Serialize, Deserialize)]
struct FollowUpPayload {
    submission_id: i64,
}

/// Queues the follow-up of submission `id` now in `status`, in the transaction that
/// put it there; returns the effect's id.
#[tracing::instrument(skip_all, fields(program_id = ?program_id, id = ?id))]
async fn enqueue_follow_up(
    tx: &mut Tx,
    program_id: i64,
    id: i64,
    status: SubmissionStatus,
    now: i64,
) -> ApiResult<i64> {
    let effect = NewEffect {
        kind: FOLLOW_UP_EFFECT,
        dedupe_key: Some(format!("task-follow-up:{id}:{status}")),
        program_id: Some(program_id),
        payload: serde_json::to_value(FollowUpPayload { submission_id: id })
            .map_err(ApiError::internal)?,
    };
    effects::enqueue_for_caller(tx, &effect, now).await
}

/// Runs [`FOLLOW_UP_EFFECT`]s.
pub struct FollowUpEffect {
    /// The request pool, as the submission's own request uses.
    pub db: Db,
    /// Stamps the credit and the quest progress it brings.
    pub clock: Clock,
    /// Pushes the settled submission and credits through the participant's actor.
    pub live: Arc<RealtimeCore>,
}

#[async_trait::async_trait]
impl crate::effects::EffectHandler for FollowUpEffect {
    async fn run(
        &self,
        _effects: &Effects,
        effect: &crate::effects::Effect,
    ) -> Result<(), crate::effects::Failure> {
        let FollowUpPayload { submission_id } = effect.payload()?;
        Ok(follow_up(&self.db, &self.clock, &self.live, submission_id).await?)
    }
}

/// Finishes what a submission (or a decision on it) leaves to do after its commit.
/// Safe to run again: every step is keyed or checks first.
#[tracing::instrument(skip_all, fields(id = ?id))]
pub async fn follow_up(db: &Db, clock: &Clock, live: &Arc<RealtimeCore>, id: i64) -> ApiResult<()> {
    let submission = load(&db.pool, id).await?;
    if submission.followup_done {
        return Ok(());
    }
    let task = super::rows::get(&db.pool, submission.program_id, submission.task_id).await?;
    let unpaid = submission.hold_transaction_id.is_none() && submission.transaction_id.is_none();
    match submission.status {
        SubmissionStatus::Pending if unpaid => {
            queue_for_moderation(db, clock, live, &submission, &task).await?
        }
        SubmissionStatus::Approved if unpaid => credit(db, clock, live, &submission, &task).await?,
        _ => {}
    }
    if submission.status == SubmissionStatus::Approved {
        super::quests::on_completion(db, clock, live, &submission).await?;
    }
    let fresh = load(&db.pool, id).await?;
    live.push(
        &stimul_actors::participant::topic(fresh.participant_id),
        &fresh,
    );
    // Only if no decision came meanwhile: it reset the follow-up to pending, and its
    // own follow-up (push, quests) must still run.
    sqlx::query("UPDATE task_submissions SET followup = 'done' WHERE id = $1 AND status = $2")
        .bind(id)
        .bind(submission.status.as_str())
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// What a decision needs of the submission it decides.
#[derive(FromRow)]
struct DecidedRow {
    #[sqlx(try_from = "String")]
    status: SubmissionStatus,
    participant_id: i64,
    hold_transaction_id: Option<i64>,
    program_id: i64,
}

/// A moderator's decision on a task submission, inside the decision's transaction:
/// records it on the submission, says which hold to settle, and queues the
/// submission's follow-up (returned, to run after the settlement).
#[tracing::instrument(skip_all, fields(moderator_id = ?moderator_id))]
pub async fn decide_in_transaction(
    tx: &mut Tx,
    item: &ItemView,
    request: &DecisionRequest,
    moderator_id: i64,
    now: i64,
) -> ApiResult<(Effect, i64)> {
    let row: Option<DecidedRow> = sqlx::query_as(
        "SELECT status, participant_id, hold_transaction_id, program_id FROM task_submissions WHERE id = $1",
    )
    .bind(item.subject_id)
    .fetch_optional(&mut **tx)
    .await?;
    let row = row.ok_or_else(|| ApiError::not_found(format!("submission {}", item.subject_id)))?;
    let DecidedRow {
        status,
        participant_id,
        hold_transaction_id: hold,
        program_id,
    } = row;
    if status != SubmissionStatus::Pending {
        return Err(ApiError::invalid_state(format!(
            "submission {} is {status}, not waiting for a decision",
            item.subject_id
        )));
    }
    let hold = hold.ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!(
            "submission {} was queued without its hold",
            item.subject_id
        ))
    })?;
    let (new_status, completed_at) = match request.decision {
        DecisionKind::Approve => (SubmissionStatus::Approved, Some(now)),
        DecisionKind::Reject => (SubmissionStatus::Rejected, None),
        DecisionKind::Rework => (SubmissionStatus::Rework, None),
    };
    sqlx::query(
        "UPDATE task_submissions SET status = $1, completed_at = $2, decision_reason = $3, decision_comment = $4,
                decided_by = $5, decided_at = $6, followup = 'pending', updated_at = $6
         WHERE id = $7 AND status = 'pending'",
    )
    .bind(new_status.as_str())
    .bind(completed_at)
    .bind(request.reason.clone())
    .bind(request.comment.clone())
    .bind(moderator_id)
    .bind(now)
    .bind(item.subject_id)
    .execute(&mut **tx)
    .await?;
    let follow_up = enqueue_follow_up(tx, program_id, item.subject_id, new_status, now).await?;
    let task: String = sqlx::query_scalar(
        "SELECT t.title FROM tasks t JOIN task_submissions s ON s.task_id = t.id WHERE s.id = $1",
    )
    .bind(item.subject_id)
    .fetch_one(&mut **tx)
    .await?;
    crate::webhooks::emit_in(
        tx,
        program_id,
        crate::webhooks::EventType::TaskDecided,
        serde_json::json!({
            "submission_id": item.subject_id,
            "participant_id": participant_id,
            "task": task,
            "decision": new_status.as_str(),
            "reason": request.reason,
            "comment": request.comment,
        }),
        now,
    )
    .await?;
    crate::notifications::notify_in(
        tx,
        &[crate::notifications::Notice::new(
            program_id,
            participant_id,
            stimul_actors::rules::notifications::Trigger::TaskDecided,
            format!("submission:{}:decided", item.subject_id),
        )
        .with("task", task)
        .with("decision", new_status.as_str())
        .with("comment", request.comment.clone().unwrap_or_default())],
        now,
    )
    .await?;
    let approved = request.decision == DecisionKind::Approve;
    Ok((
        Effect::SettleHold {
            participant_id,
            hold_transaction_id: hold,
            confirm: approved,
            completed_tasks: i64::from(approved),
        },
        follow_up,
    ))
}

/// Decides `task_submission` items for moderation.
pub struct SubmissionDecisions;

#[async_trait::async_trait]
impl moderation::DecisionHandler for SubmissionDecisions {
    fn reworkable(&self) -> bool {
        true
    }

    async fn decide(
        &self,
        tx: &mut Tx,
        decision: &moderation::Decision<'_>,
    ) -> ApiResult<moderation::Outcome> {
        let (settle, follow_up) = decide_in_transaction(
            tx,
            decision.item,
            decision.request,
            decision.moderator.id(),
            decision.now,
        )
        .await?;
        Ok(moderation::Outcome {
            settle,
            follow_ups: vec![follow_up],
        })
    }
}

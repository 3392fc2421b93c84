//! Quests: a chain (in order) or set of tasks, or a streak of any of them on
//! consecutive days or weeks, with a bonus. Progress is computed from completed
//! submissions whenever it is asked for (never kept as a counter that could drift);
//! after every completion, the quests containing the task are evaluated, a finished
//! one pays its bonus once per period (ledger key `quest:{id}:{user}:{period}`, reason
//! `quest`, income like any other: the level multiplier and the owner's share apply),
//! and the participant gets `quest_progress` on `me`.

use std::sync::Arc;

use std::collections::{BTreeMap, BTreeSet};

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use stimul_actors::ledger::AccountKey;
use stimul_actors::live::RealtimeCore;
use stimul_actors::participant::Earn;
use stimul_actors::rules::points::Points;
use stimul_actors::rules::tasks::audience::{Audience, Member};
use stimul_actors::rules::tasks::quests::{
    QuestKind, StreakUnit, steps_done, streak_bonus_due, streak_run,
};
use stimul_actors::rules::tasks::schedule::{Period, Recurrence, Schedule};
use utoipa::ToSchema;

use super::checks::{IdRow, check_audience_and_schedule, positive_points, push, window_error};
use super::rows::json_column;
use super::submissions::Submission;
use super::{Description, yes};
use crate::access::{Permission, Section};
use crate::auth::Principal;
use crate::db::{Clock, Db, Sql, Tx};
use crate::error::{ApiError, ApiResult};

/// Tasks one chain or set may hold.
pub const MAX_QUEST_TASKS: usize = 20;
/// The longest streak: a year of days.
pub const MAX_STREAK: u32 = 366;
/// How far back a streak's run is counted, in periods. A run this long is not paid
/// again (its true length is unknown beyond the window), which only a participant
/// active every day for over two years would notice.
const STREAK_WINDOW: u32 = 800;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Quest {
    pub id: i64,
    pub program_id: i64,
    pub kind: QuestKind,
    pub title: String,
    pub description: String,
    /// The quest's tasks, in order (the order matters for a chain).
    pub task_ids: Vec<i64>,
    /// Base bonus points, decimal string (income: the level multiplier applies).
    #[schema(value_type = String)]
    pub bonus: Points,
    pub audience: Audience,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    /// Chains and sets: how often they start over (the bonus is paid once per period).
    pub recurrence: Recurrence,
    /// Streaks: periods in a row.
    pub streak_length: Option<u32>,
    pub streak_unit: Option<StreakUnit>,
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

const QUEST_COLUMNS: &str = "id, program_id, kind, title, description, bonus, audience, starts_at, ends_at, recurrence, streak_length, streak_unit, active, created_at, updated_at";

fn decode<T, E: std::fmt::Display>(value: Result<T, E>) -> sqlx::Result<T> {
    value.map_err(|e| sqlx::Error::Decode(e.to_string().into()))
}

/// A quest as stored ([`QUEST_COLUMNS`]), without its tasks.
#[derive(FromRow)]
struct QuestRow {
    id: i64,
    program_id: i64,
    #[sqlx(try_from = "String")]
    kind: QuestKind,
    title: String,
    description: String,
    bonus: i64,
    /// JSON.
    audience: String,
    starts_at: Option<i64>,
    ends_at: Option<i64>,
    recurrence: String,
    streak_length: Option<i64>,
    streak_unit: Option<String>,
    /// Stored as INTEGER, 0 or 1.
    active: i64,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<QuestRow> for Quest {
    type Error = sqlx::Error;

    fn try_from(row: QuestRow) -> sqlx::Result<Quest> {
        Ok(Quest {
            id: row.id,
            program_id: row.program_id,
            kind: row.kind,
            title: row.title,
            description: row.description,
            task_ids: Vec::new(),
            bonus: Points::from_hundredths(row.bonus),
            audience: json_column(&row.audience)?,
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            recurrence: decode(Recurrence::parse(&row.recurrence))?,
            streak_length: decode(row.streak_length.map(u32::try_from).transpose())?,
            streak_unit: decode(
                row.streak_unit
                    .as_deref()
                    .map(StreakUnit::parse)
                    .transpose(),
            )?,
            active: row.active != 0,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A task of a quest, in the quest's order.
#[derive(FromRow)]
struct QuestTaskRow {
    quest_id: i64,
    task_id: i64,
}

/// A task a participant completed, and when.
#[derive(FromRow)]
struct CompletionRow {
    task_id: i64,
    completed_at: i64,
}

impl Quest {
    /// Without a start, a quest starts when it was created: it rewards what is done
    /// for it, not what was done before anyone announced it.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            starts_at: Some(self.starts_at.unwrap_or(self.created_at)),
            ends_at: self.ends_at,
            recurrence: self.recurrence,
        }
    }

    fn as_input(&self) -> QuestInput {
        QuestInput {
            title: self.title.clone(),
            description: self.description.clone(),
            kind: self.kind,
            task_ids: self.task_ids.clone(),
            bonus: self.bonus.to_string(),
            audience: self.audience.clone(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            recurrence: self.recurrence,
            streak_length: self.streak_length,
            streak_unit: self.streak_unit,
            active: self.active,
        }
    }
}

/// A new quest (`createQuest`); also what an update is checked as, after the patch.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct QuestInput {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub kind: QuestKind,
    /// The tasks, in order; a streak counts any of them.
    pub task_ids: Vec<i64>,
    /// Base bonus points, decimal string.
    pub bonus: String,
    #[serde(default)]
    pub audience: Audience,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    /// Chains and sets only; a streak has its own unit.
    #[serde(default)]
    pub recurrence: Recurrence,
    /// Streaks: periods in a row, 2 to 366.
    pub streak_length: Option<u32>,
    /// Streaks: `day` or `week`.
    pub streak_unit: Option<StreakUnit>,
    #[serde(default = "yes")]
    pub active: bool,
}

/// Changes to a quest (`updateQuest`); its kind stays. `null` clears `starts_at` and
/// `ends_at`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct QuestPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub task_ids: Option<Vec<i64>>,
    pub bonus: Option<String>,
    pub audience: Option<Audience>,
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<i64>)]
    pub starts_at: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<i64>)]
    pub ends_at: Option<Option<i64>>,
    pub recurrence: Option<Recurrence>,
    pub streak_length: Option<u32>,
    pub streak_unit: Option<StreakUnit>,
    pub active: Option<bool>,
}

impl QuestPatch {
    fn apply(self, mut input: QuestInput) -> QuestInput {
        input.title = self.title.unwrap_or(input.title);
        input.description = self.description.unwrap_or(input.description);
        input.task_ids = self.task_ids.unwrap_or(input.task_ids);
        input.bonus = self.bonus.unwrap_or(input.bonus);
        input.audience = self.audience.unwrap_or(input.audience);
        input.starts_at = self.starts_at.unwrap_or(input.starts_at);
        input.ends_at = self.ends_at.unwrap_or(input.ends_at);
        input.recurrence = self.recurrence.unwrap_or(input.recurrence);
        input.streak_length = self.streak_length.or(input.streak_length);
        input.streak_unit = self.streak_unit.or(input.streak_unit);
        input.active = self.active.unwrap_or(input.active);
        input
    }
}

struct ValidQuest {
    title: String,
    description: String,
    bonus: Points,
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
async fn validate(
    conn: &mut sqlx::AnyConnection,
    program_id: i64,
    input: &QuestInput,
) -> ApiResult<ValidQuest> {
    let mut errors = Vec::new();
    let title = crate::domain::Title::parse(&input.title)
        .map_err(|e| push(&mut errors, "title", e))
        .ok();
    let description = Description::parse_optional(&input.description)
        .map_err(|e| push(&mut errors, "description", e))
        .ok();
    let bonus = positive_points(&input.bonus)
        .map_err(|e| push(&mut errors, "bonus", e))
        .ok();
    let distinct: BTreeSet<i64> = input.task_ids.iter().copied().collect();
    if input.task_ids.is_empty() || input.task_ids.len() > MAX_QUEST_TASKS {
        push(
            &mut errors,
            "task_ids",
            format!("1 to {MAX_QUEST_TASKS} tasks"),
        );
    } else if distinct.len() != input.task_ids.len() {
        push(&mut errors, "task_ids", "each task once");
    } else {
        let mut sql = Sql::new("SELECT id FROM tasks WHERE program_id = ");
        sql.bind(program_id)
            .push(" AND id IN ")
            .bind_list(distinct.iter().copied());
        let found: BTreeSet<i64> = sql
            .query_as::<IdRow>()
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|row| row.id)
            .collect();
        if let Some(missing) = distinct.difference(&found).next() {
            push(
                &mut errors,
                "task_ids",
                format!("there is no task {missing} in this program"),
            );
        }
    }
    match input.kind {
        QuestKind::Streak => {
            if !input
                .streak_length
                .is_some_and(|n| (2..=MAX_STREAK).contains(&n))
            {
                push(
                    &mut errors,
                    "streak_length",
                    format!("a streak is 2 to {MAX_STREAK} periods"),
                );
            }
            if input.streak_unit.is_none() {
                push(&mut errors, "streak_unit", "day or week");
            }
            if input.recurrence != Recurrence::None {
                push(
                    &mut errors,
                    "recurrence",
                    "a streak runs over its own days or weeks; leave recurrence none",
                );
            }
        }
        QuestKind::Chain | QuestKind::Set => {
            if input.streak_length.is_some() || input.streak_unit.is_some() {
                push(&mut errors, "streak_length", "only streaks have a length");
            }
        }
    }
    let schedule = Schedule {
        starts_at: input.starts_at,
        ends_at: input.ends_at,
        recurrence: input.recurrence,
    };
    check_audience_and_schedule(
        &mut *conn,
        program_id,
        &input.audience,
        &schedule,
        &mut errors,
    )
    .await?;
    match (title, description, bonus) {
        (Some(title), Some(description), Some(bonus)) if errors.is_empty() => Ok(ValidQuest {
            title: title.into_string(),
            description: description.into_string(),
            bonus,
        }),
        _ => Err(ApiError::fields(errors)),
    }
}

/// Loads the task lists of `quests`.
#[tracing::instrument(skip_all)]
async fn with_tasks<'e, E>(executor: E, mut quests: Vec<Quest>) -> ApiResult<Vec<Quest>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    if quests.is_empty() {
        return Ok(quests);
    }
    let mut sql = Sql::new("SELECT quest_id, task_id FROM quest_tasks WHERE quest_id IN ");
    sql.bind_list(quests.iter().map(|q| q.id))
        .push(" ORDER BY quest_id, position");
    let mut tasks: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for row in sql.query_as::<QuestTaskRow>().fetch_all(executor).await? {
        tasks.entry(row.quest_id).or_default().push(row.task_id);
    }
    for quest in &mut quests {
        quest.task_ids = tasks.remove(&quest.id).unwrap_or_default();
    }
    Ok(quests)
}

#[tracing::instrument(skip_all)]
async fn select(tx: &mut Tx, sql: &Sql) -> ApiResult<Vec<Quest>> {
    let rows: Vec<QuestRow> = sql.query_as().fetch_all(&mut **tx).await?;
    let quests = rows
        .into_iter()
        .map(Quest::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    with_tasks(&mut **tx, quests).await
}

#[tracing::instrument(skip_all)]
async fn select_pool(db: &Db, sql: &Sql) -> ApiResult<Vec<Quest>> {
    let rows: Vec<QuestRow> = sql.query_as().fetch_all(&db.pool).await?;
    let quests = rows
        .into_iter()
        .map(Quest::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    with_tasks(&db.pool, quests).await
}

fn by_id(program_id: i64, id: i64) -> Sql {
    let mut sql = Sql::new(&format!("SELECT {QUEST_COLUMNS} FROM quests WHERE id = "));
    sql.bind(id).push(" AND program_id = ").bind(program_id);
    sql
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id, id = ?id))]
async fn get(tx: &mut Tx, program_id: i64, id: i64) -> ApiResult<Quest> {
    select(tx, &by_id(program_id, id))
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found(format!("quest {id}")))
}

#[tracing::instrument(skip_all, fields(quest_id = ?quest_id))]
async fn write_tasks(tx: &mut Tx, quest_id: i64, task_ids: &[i64]) -> ApiResult<()> {
    sqlx::query("DELETE FROM quest_tasks WHERE quest_id = $1")
        .bind(quest_id)
        .execute(&mut **tx)
        .await?;
    let mut sql = Sql::new("INSERT INTO quest_tasks (quest_id, task_id, position) VALUES ");
    for (position, task_id) in task_ids.iter().enumerate() {
        sql.push(if position > 0 { ", (" } else { "(" })
            .bind(quest_id)
            .push(", ")
            .bind(*task_id)
            .push(", ")
            .bind(position as i64)
            .push(")");
    }
    sql.query().execute(&mut **tx).await?;
    Ok(())
}

impl Quest {
    /// The quest as something that opens to its audience.
    fn opening(&self) -> super::Opening<'_> {
        super::Opening {
            program_id: self.program_id,
            subject: format!("quest:{}", self.id),
            title: &self.title,
            points: self.bonus,
            audience: &self.audience,
            active: self.active,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
        }
    }
}

/// Quests are the program's own: editing them needs `tasks.edit` program-wide.
#[tracing::instrument(skip_all)]
pub async fn create(
    db: &Db,
    clock: &Clock,
    caller: &Principal,
    input: &QuestInput,
) -> ApiResult<Quest> {
    caller.require_program_wide(Permission::edit(Section::Tasks))?;
    let program_id = caller.program_id();
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let valid = validate(&mut tx, program_id, input).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO quests (program_id, kind, title, description, bonus, audience, starts_at, ends_at, recurrence,
                             streak_length, streak_unit, active, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id",
    )
    .bind(program_id)
    .bind(input.kind.as_str())
    .bind(&valid.title)
    .bind(&valid.description)
    .bind(valid.bonus.hundredths())
    .bind(serde_json::to_string(&input.audience).map_err(ApiError::internal)?)
    .bind(input.starts_at)
    .bind(input.ends_at)
    .bind(input.recurrence.as_str())
    .bind(input.streak_length.map(i64::from))
    .bind(input.streak_unit.map(|u| u.as_str().to_string()))
    .bind(i64::from(input.active))
    .bind(caller.id())
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    write_tasks(&mut tx, id, &input.task_ids).await?;
    let quest = get(&mut tx, program_id, id).await?;
    super::announce_open(&mut tx, &quest.opening(), now).await?;
    crate::audit::record(
        &mut tx,
        program_id,
        Some(caller.id()),
        "quest.create",
        &format!("quest:{id}"),
        None,
        serde_json::to_value(&quest).ok(),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(quest)
}

#[tracing::instrument(skip_all, fields(id = ?id))]
pub async fn update(
    db: &Db,
    clock: &Clock,
    caller: &Principal,
    id: i64,
    patch: QuestPatch,
) -> ApiResult<Quest> {
    caller.require_program_wide(Permission::edit(Section::Tasks))?;
    let program_id = caller.program_id();
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let before = get(&mut tx, program_id, id).await?;
    let input = patch.apply(before.as_input());
    let valid = validate(&mut tx, program_id, &input).await?;
    sqlx::query(
        "UPDATE quests SET title = $1, description = $2, bonus = $3, audience = $4, starts_at = $5, ends_at = $6,
                recurrence = $7, streak_length = $8, streak_unit = $9, active = $10, updated_at = $11
         WHERE id = $12",
    )
    .bind(&valid.title)
    .bind(&valid.description)
    .bind(valid.bonus.hundredths())
    .bind(serde_json::to_string(&input.audience).map_err(ApiError::internal)?)
    .bind(input.starts_at)
    .bind(input.ends_at)
    .bind(input.recurrence.as_str())
    .bind(input.streak_length.map(i64::from))
    .bind(input.streak_unit.map(|u| u.as_str().to_string()))
    .bind(i64::from(input.active))
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    write_tasks(&mut tx, id, &input.task_ids).await?;
    let after = get(&mut tx, program_id, id).await?;
    if !before.active {
        super::announce_open(&mut tx, &after.opening(), now).await?;
    }
    crate::audit::record(
        &mut tx,
        program_id,
        Some(caller.id()),
        "quest.update",
        &format!("quest:{id}"),
        serde_json::to_value(&before).ok(),
        serde_json::to_value(&after).ok(),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Every quest of the program (a program has tens of quests, not thousands).
#[tracing::instrument(skip_all)]
pub async fn list(db: &Db, caller: &Principal) -> ApiResult<Vec<Quest>> {
    caller.require_program_wide(Permission::view(Section::Tasks))?;
    let mut sql = Sql::new(&format!(
        "SELECT {QUEST_COLUMNS} FROM quests WHERE program_id = "
    ));
    sql.bind(caller.program_id()).push(" ORDER BY id");
    select_pool(db, &sql).await
}

/// Active quests of a program, optionally only those containing `task_id`.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
async fn active(db: &Db, program_id: i64, task_id: Option<i64>) -> ApiResult<Vec<Quest>> {
    let mut sql = Sql::new(&format!(
        "SELECT {QUEST_COLUMNS} FROM quests WHERE active = 1 AND program_id = "
    ));
    sql.bind(program_id);
    if let Some(task_id) = task_id {
        sql.push(" AND id IN (SELECT quest_id FROM quest_tasks WHERE task_id = ")
            .bind(task_id)
            .push(")");
    }
    sql.push(" ORDER BY id");
    select_pool(db, &sql).await
}

/// Where a participant stands with a quest now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestProgress {
    pub quest_id: i64,
    pub title: String,
    pub description: String,
    pub kind: QuestKind,
    /// Base bonus points, decimal string.
    #[schema(value_type = String)]
    pub bonus: Points,
    pub task_ids: Vec<i64>,
    /// The current period: the quest's, or for a streak the current day or week.
    pub period: Period,
    /// Steps done this period (a chain counts them in order); for a streak, the
    /// current run of consecutive periods.
    pub done: u32,
    /// Steps to do; for a streak, its length.
    pub total: u32,
    /// The task to do next (a chain's next step, a set's first undone task).
    pub next_task_id: Option<i64>,
    /// The bonus of this period is credited.
    pub completed: bool,
    pub bonus_transaction_id: Option<i64>,
}

impl stimul_actors::hub::LiveEvent for QuestProgress {
    const NAME: &'static str = "quest_progress";
}

/// Approved completions of `task_ids` by a participant in `[from, until)`.
#[tracing::instrument(skip_all, fields(participant_id = ?participant_id, from = ?from, until = ?until))]
async fn completions(
    db: &Db,
    participant_id: i64,
    task_ids: &[i64],
    from: i64,
    until: i64,
) -> ApiResult<Vec<(i64, i64)>> {
    let mut sql = Sql::new(
        "SELECT task_id, completed_at FROM task_submissions WHERE status = 'approved' AND participant_id = ",
    );
    sql.bind(participant_id)
        .push(" AND completed_at >= ")
        .bind(from)
        .push(" AND completed_at < ")
        .bind(until)
        .push(" AND task_id IN ")
        .bind_list(task_ids.iter().copied());
    let rows: Vec<CompletionRow> = sql.query_as().fetch_all(&db.pool).await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.task_id, row.completed_at))
        .collect())
}

/// A quest's progress for a participant at `now`, and whether its bonus is due.
#[tracing::instrument(skip_all, fields(participant_id = ?participant_id))]
async fn evaluate(
    db: &Db,
    quest: &Quest,
    participant_id: i64,
    now: i64,
    zone: Tz,
) -> ApiResult<(QuestProgress, bool)> {
    let (period, done, total, next_task_id, due) = match (quest.kind, quest.streak_unit) {
        (QuestKind::Streak, Some(unit)) => {
            let length = quest.streak_length.unwrap_or(MAX_STREAK);
            let period = Schedule {
                recurrence: unit.recurrence(),
                ..quest.schedule()
            }
            .period(now, zone)
            .map_err(window_error)?;
            let period_ms: i64 = match unit {
                StreakUnit::Day => 86_400_000,
                StreakUnit::Week => 7 * 86_400_000,
            };
            let from =
                (now - i64::from(STREAK_WINDOW) * period_ms).max(quest.starts_at.unwrap_or(0));
            let until = period.end_ms.unwrap_or(i64::MAX);
            let active: BTreeSet<i64> =
                completions(db, participant_id, &quest.task_ids, from, until)
                    .await?
                    .into_iter()
                    .map(|(_, at)| unit.index(at, zone))
                    .collect::<Result<_, _>>()
                    .map_err(window_error)?;
            let current = unit.index(now, zone).map_err(window_error)?;
            let run = streak_run(&active, current);
            let due = run < STREAK_WINDOW && streak_bonus_due(&active, current, length);
            let next = (!active.contains(&current))
                .then(|| quest.task_ids.first().copied())
                .flatten();
            (period, run, length, next, due)
        }
        _ => {
            let period = quest.schedule().period(now, zone).map_err(window_error)?;
            let found = completions(
                db,
                participant_id,
                &quest.task_ids,
                period.start_ms,
                period.end_ms.unwrap_or(i64::MAX),
            )
            .await?;
            let steps: Vec<Vec<i64>> = quest
                .task_ids
                .iter()
                .map(|task| {
                    found
                        .iter()
                        .filter(|(t, _)| t == task)
                        .map(|(_, at)| *at)
                        .collect()
                })
                .collect();
            let done = steps_done(quest.kind, &steps);
            let next = match quest.kind {
                QuestKind::Chain => quest.task_ids.get(done).copied(),
                _ => quest
                    .task_ids
                    .iter()
                    .zip(&steps)
                    .find(|(_, times)| times.is_empty())
                    .map(|(task, _)| *task),
            };
            let total = quest.task_ids.len();
            (
                period,
                u32::try_from(done).unwrap_or(u32::MAX),
                u32::try_from(total).unwrap_or(u32::MAX),
                next,
                total > 0 && done == total,
            )
        }
    };
    let paid: Option<i64> = sqlx::query_scalar(
        "SELECT transaction_id FROM quest_completions WHERE quest_id = $1 AND participant_id = $2 AND period_key = $3",
    )
    .bind(quest.id)
    .bind(participant_id)
    .bind(&period.key)
    .fetch_optional(&db.pool)
    .await?;
    Ok((
        QuestProgress {
            quest_id: quest.id,
            title: quest.title.clone(),
            description: quest.description.clone(),
            kind: quest.kind,
            bonus: quest.bonus,
            task_ids: quest.task_ids.clone(),
            period,
            done,
            total,
            next_task_id,
            completed: paid.is_some(),
            bonus_transaction_id: paid,
        },
        due,
    ))
}

fn open_to(quest: &Quest, member: &Member, now: i64) -> bool {
    quest.schedule().is_open(now) && quest.audience.includes(member)
}

/// The quests open to a participant now, with their progress.
#[tracing::instrument(skip_all, fields(program_id = ?program_id, participant_id = ?participant_id))]
pub async fn for_participant(
    db: &Db,
    clock: &Clock,
    program_id: i64,
    participant_id: i64,
    member: &Member,
    zone: Tz,
) -> ApiResult<Vec<QuestProgress>> {
    let now = clock.now_ms();
    let mut progress = Vec::new();
    for quest in active(db, program_id, None).await? {
        if open_to(&quest, member, now) {
            progress.push(evaluate(db, &quest, participant_id, now, zone).await?.0);
        }
    }
    Ok(progress)
}

/// After a submission completed its task: evaluates the quests containing the task,
/// pays the bonus of any finished one, and pushes `quest_progress` for each.
#[tracing::instrument(skip_all)]
pub async fn on_completion(
    db: &Db,
    clock: &Clock,
    live: &Arc<RealtimeCore>,
    submission: &Submission,
) -> ApiResult<()> {
    let quests = active(db, submission.program_id, Some(submission.task_id)).await?;
    if quests.is_empty() {
        return Ok(());
    }
    let participant =
        super::visibility::participant(db, live, submission.program_id, submission.participant_id)
            .await?;
    let zone = super::settings::program_zone(&db.pool, submission.program_id).await?;
    let now = clock.now_ms();
    let user = submission.participant_id;
    for quest in quests
        .iter()
        .filter(|q| open_to(q, &participant.member, now))
    {
        let (mut progress, due) = evaluate(db, quest, user, now, zone).await?;
        if due && !progress.completed {
            let earn = Earn {
                base: quest.bonus,
                reason: "quest".into(),
                idempotency_key: format!("quest:{}:{user}:{}", quest.id, progress.period.key),
                pay_from: AccountKey::Issued,
                hold: false,
                source: Some(("quest".into(), quest.id.to_string())),
                actor_id: None,
                comment: Some(quest.title.clone()),
                completed_tasks: 0,
                fingerprint: None,
            };
            let outcome = live.earn(user, earn).await?;
            sqlx::query(
                "INSERT INTO quest_completions (quest_id, participant_id, period_key, transaction_id, created_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (quest_id, participant_id, period_key) DO NOTHING",
            )
            .bind(quest.id)
            .bind(user)
            .bind(&progress.period.key)
            .bind(outcome.transaction_id)
            .bind(now)
            .execute(&db.pool)
            .await?;
            progress.completed = true;
            progress.bonus_transaction_id = Some(outcome.transaction_id);
        }
        live.push(&stimul_actors::participant::topic(user), &progress);
    }
    Ok(())
}

//! Tasks and quests: the definitions admins and brands write (checked in full, audited
//! with before and after), who sees which task, and the program's task settings.
//!
//! | file | owns |
//! | --- | --- |
//! | here | the task, its input and patch: creating and changing one |
//! | [`checks`] | a task input checked in full, and the field checks quests and campaigns share |
//! | [`rows`] | tasks as stored: their columns, a row decoded, one task, the active ones |
//! | [`visibility`] | who sees which task: the list staff may see, a participant as tasks see them |
//! | [`settings`] | the program's task settings (trust policy) and its time zone |
//! | [`submissions`] | submissions and what happens to them |
//! | [`quests`] | quests, their progress and bonuses |
//! | [`mine`] | what a participant sees |
//!
//! The pure rules (answer checking, periods, limits, audiences, streaks, trust) are
//! `stimul_actors::rules::tasks`.

pub mod checks;
pub mod my_tasks;
pub mod quests;
pub mod rows;
pub mod settings;
pub mod submissions;
pub mod visibility;

use serde::{Deserialize, Serialize};
use stimul_actors::rules::points::Points;
use stimul_actors::rules::tasks::audience::Audience;
use stimul_actors::rules::tasks::limits::Limits;
use stimul_actors::rules::tasks::schedule::{Recurrence, Schedule};
use stimul_actors::rules::tasks::spec::{TaskKind, TaskSpec};
use utoipa::ToSchema;

use crate::access::{Permission, Section, Target};
use crate::auth::Principal;
use crate::db::{Clock, Db, Tx};
use crate::domain::Text;
use crate::error::ApiResult;
use checks::validate;
use rows::{get, to_json};

/// The most one task or quest may pay: a typo guard (a hundred thousand points).
pub const MAX_POINTS_HUNDREDTHS: i64 = 10_000_000;
/// Completions or attempts per period: more is a typo, not a plan.
pub const MAX_PER_PERIOD: u32 = 100;

pub type Description = Text<2000>;

fn one() -> u32 {
    1
}

pub(crate) fn yes() -> bool {
    true
}

/// A task as stored and as staff see it (participants get the same shape without the
/// quiz's right answers).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Task {
    pub id: i64,
    pub program_id: i64,
    /// The brand whose task this is; `null` for the program's own.
    pub brand_id: Option<i64>,
    /// The spec's kind, repeated here for filtering and display.
    pub kind: TaskKind,
    pub title: String,
    pub description: String,
    pub spec: TaskSpec,
    pub audience: Audience,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub recurrence: Recurrence,
    /// Base points before the level multiplier, decimal string.
    #[schema(value_type = String)]
    pub points: Points,
    /// Per participant per period.
    pub max_completions: u32,
    /// Attempts per participant per period; `null` is unlimited.
    pub max_attempts: Option<u32>,
    /// Submissions wait for a moderator, their points held as pending meanwhile.
    pub requires_moderation: bool,
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Task {
    pub fn schedule(&self) -> Schedule {
        Schedule {
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            recurrence: self.recurrence,
        }
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_completions: self.max_completions,
            max_attempts: self.max_attempts,
        }
    }

    /// Where the task sits, for access checks: its program, and its brand if any.
    pub fn target(&self) -> Target {
        Target::branded(self.program_id, self.brand_id)
    }

    /// The task as a participant sees it.
    pub fn for_participants(&self) -> Task {
        Task {
            spec: self.spec.for_participants(),
            ..self.clone()
        }
    }

    /// The task as an input, so an update is validated exactly like a creation.
    fn as_input(&self) -> TaskInput {
        TaskInput {
            title: self.title.clone(),
            description: self.description.clone(),
            spec: self.spec.clone(),
            audience: self.audience.clone(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            recurrence: self.recurrence,
            points: self.points.to_string(),
            max_completions: self.max_completions,
            max_attempts: self.max_attempts,
            requires_moderation: Some(self.requires_moderation),
            active: self.active,
            brand_id: self.brand_id,
        }
    }
}

/// A new task (`createTask`); also what an update is checked as, after the patch.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct TaskInput {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub spec: TaskSpec,
    /// Everyone when omitted.
    #[serde(default)]
    pub audience: Audience,
    /// Epoch ms; open from creation when omitted.
    pub starts_at: Option<i64>,
    /// Epoch ms, exclusive; open-ended when omitted.
    pub ends_at: Option<i64>,
    /// `none` (default), `daily` or `weekly`, in the program's time zone.
    #[serde(default)]
    pub recurrence: Recurrence,
    /// Base points before the level multiplier, decimal string (`"25.00"`).
    pub points: String,
    /// Per participant per period, default 1.
    #[serde(default = "one")]
    pub max_completions: u32,
    /// Attempts per participant per period (a quiz's tries); unlimited when omitted.
    pub max_attempts: Option<u32>,
    /// Photo tasks are always moderated, quizzes and sales plans never; the others
    /// default by kind (a price report yes, the rest no).
    pub requires_moderation: Option<bool>,
    #[serde(default = "yes")]
    pub active: bool,
    /// A brand's task; brand users may only create their own brand's.
    pub brand_id: Option<i64>,
}

/// Changes to a task (`updateTask`): what is present replaces what is stored; `null`
/// clears `starts_at`, `ends_at`, `max_attempts` and `brand_id`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct TaskPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub spec: Option<TaskSpec>,
    pub audience: Option<Audience>,
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<i64>)]
    pub starts_at: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<i64>)]
    pub ends_at: Option<Option<i64>>,
    pub recurrence: Option<Recurrence>,
    pub points: Option<String>,
    pub max_completions: Option<u32>,
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<u32>)]
    pub max_attempts: Option<Option<u32>>,
    pub requires_moderation: Option<bool>,
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<i64>)]
    pub brand_id: Option<Option<i64>>,
}

impl TaskPatch {
    fn apply(self, mut input: TaskInput) -> TaskInput {
        if let Some(spec) = self.spec {
            // A new kind starts from its own moderation default unless told otherwise.
            if spec.kind() != input.spec.kind() {
                input.requires_moderation = None;
            }
            input.spec = spec;
        }
        input.title = self.title.unwrap_or(input.title);
        input.description = self.description.unwrap_or(input.description);
        input.audience = self.audience.unwrap_or(input.audience);
        input.starts_at = self.starts_at.unwrap_or(input.starts_at);
        input.ends_at = self.ends_at.unwrap_or(input.ends_at);
        input.recurrence = self.recurrence.unwrap_or(input.recurrence);
        input.points = self.points.unwrap_or(input.points);
        input.max_completions = self.max_completions.unwrap_or(input.max_completions);
        input.max_attempts = self.max_attempts.unwrap_or(input.max_attempts);
        input.requires_moderation = self.requires_moderation.or(input.requires_moderation);
        input.active = self.active.unwrap_or(input.active);
        input.brand_id = self.brand_id.unwrap_or(input.brand_id);
        input
    }
}

/// Creates a task, audited.
#[tracing::instrument(skip_all)]
pub async fn create(
    db: &Db,
    clock: &Clock,
    caller: &Principal,
    input: &TaskInput,
) -> ApiResult<Task> {
    create_branded(
        db,
        clock,
        caller,
        Section::Tasks,
        input.brand_id,
        async |tx: &mut Tx, program_id, actor, now| insert(tx, program_id, input, actor, now).await,
    )
    .await
}

/// Creates a definition a program or one of its brands owns (a task, a campaign) in the
/// caller's name: the caller must be allowed to edit `section` for the brand the input
/// names (the program's own when none), and `insert` checks, stores and audits it in
/// one transaction, as done by the caller, now.
#[tracing::instrument(skip_all)]
pub(crate) async fn create_branded<T>(
    db: &Db,
    clock: &Clock,
    caller: &Principal,
    section: Section,
    brand_id: Option<i64>,
    insert: impl AsyncFnOnce(&mut Tx, i64, Option<i64>, i64) -> ApiResult<T>,
) -> ApiResult<T> {
    let program_id = caller.program_id();
    caller.require(
        Permission::edit(section),
        &Target::branded(program_id, brand_id),
    )?;
    let mut tx = db.begin().await?;
    let created = insert(&mut tx, program_id, Some(caller.id()), clock.now_ms()).await?;
    tx.commit().await?;
    Ok(created)
}

/// Checks and stores a new task in the caller's transaction, audited as done by
/// `actor` (nobody for the demo). Access is the caller's to check.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn insert(
    tx: &mut Tx,
    program_id: i64,
    input: &TaskInput,
    actor: Option<i64>,
    now: i64,
) -> ApiResult<Task> {
    let valid = validate(tx, program_id, input).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO tasks (program_id, brand_id, kind, title, description, spec, audience, starts_at, ends_at, recurrence,
                            points, max_completions, max_attempts, moderated, active, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17) RETURNING id",
    )
    .bind(program_id)
    .bind(valid.brand_id)
    .bind(valid.spec.kind().as_str())
    .bind(&valid.title)
    .bind(&valid.description)
    .bind(to_json(&valid.spec)?)
    .bind(to_json(&valid.audience)?)
    .bind(valid.schedule.starts_at)
    .bind(valid.schedule.ends_at)
    .bind(valid.schedule.recurrence.as_str())
    .bind(valid.points.hundredths())
    .bind(i64::from(valid.max_completions))
    .bind(valid.max_attempts.map(i64::from))
    .bind(i64::from(valid.moderated))
    .bind(i64::from(valid.active))
    .bind(actor)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    let task = get(&mut **tx, program_id, id).await?;
    // Tasks a person creates are announced; the demo's, loaded with their history,
    // are not news.
    if actor.is_some() {
        announce_open(tx, &task.opening(), now).await?;
    }
    crate::audit::record(
        tx,
        program_id,
        actor,
        "task.create",
        &format!("task:{id}"),
        None,
        serde_json::to_value(&task).ok(),
        now,
    )
    .await?;
    Ok(task)
}

/// Something that opens to an audience: a task or a quest.
pub(crate) struct Opening<'a> {
    pub program_id: i64,
    /// Unique per program: `task:{id}` or `quest:{id}`.
    pub subject: String,
    pub title: &'a str,
    /// What completing it pays (a task's points, a quest's bonus).
    pub points: Points,
    pub audience: &'a Audience,
    pub active: bool,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
}

/// Tells the audience something is open (once per subject, from its start): a
/// `new_task` message to each person the audience includes, written by the mailings'
/// pages.
#[tracing::instrument(skip_all, fields(subject = %opening.subject))]
pub(crate) async fn announce_open(tx: &mut Tx, opening: &Opening<'_>, now: i64) -> ApiResult<()> {
    if !opening.active || opening.ends_at.is_some_and(|ends| ends <= now) {
        return Ok(());
    }
    let values = [
        ("task".to_string(), opening.title.to_string()),
        ("points".to_string(), opening.points.to_string()),
    ]
    .into_iter()
    .collect();
    crate::mailings::announce_in(
        tx,
        opening.program_id,
        stimul_actors::rules::notifications::Trigger::NewTask,
        &values,
        &to_json(opening.audience)?,
        &format!("{}:open", opening.subject),
        opening.starts_at.unwrap_or(now),
        now,
    )
    .await
}

impl Task {
    /// The task as something that opens to its audience.
    fn opening(&self) -> Opening<'_> {
        Opening {
            program_id: self.program_id,
            subject: format!("task:{}", self.id),
            title: &self.title,
            points: self.points,
            audience: &self.audience,
            active: self.active,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
        }
    }
}

/// Applies `patch` to a task, audited with the state before and after.
#[tracing::instrument(skip_all, fields(id = ?id))]
pub async fn update(
    db: &Db,
    clock: &Clock,
    caller: &Principal,
    id: i64,
    patch: TaskPatch,
) -> ApiResult<Task> {
    let program_id = caller.program_id();
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let before = get(&mut *tx, program_id, id).await?;
    caller.require(Permission::edit(Section::Tasks), &before.target())?;
    let input = patch.apply(before.as_input());
    caller.require(
        Permission::edit(Section::Tasks),
        &Target::branded(program_id, input.brand_id),
    )?;
    let valid = validate(&mut tx, program_id, &input).await?;
    sqlx::query(
        "UPDATE tasks SET brand_id = $1, kind = $2, title = $3, description = $4, spec = $5, audience = $6, starts_at = $7,
                ends_at = $8, recurrence = $9, points = $10, max_completions = $11, max_attempts = $12, moderated = $13,
                active = $14, updated_at = $15
         WHERE id = $16",
    )
    .bind(valid.brand_id)
    .bind(valid.spec.kind().as_str())
    .bind(&valid.title)
    .bind(&valid.description)
    .bind(to_json(&valid.spec)?)
    .bind(to_json(&valid.audience)?)
    .bind(valid.schedule.starts_at)
    .bind(valid.schedule.ends_at)
    .bind(valid.schedule.recurrence.as_str())
    .bind(valid.points.hundredths())
    .bind(i64::from(valid.max_completions))
    .bind(valid.max_attempts.map(i64::from))
    .bind(i64::from(valid.moderated))
    .bind(i64::from(valid.active))
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let after = get(&mut *tx, program_id, id).await?;
    if !before.active {
        announce_open(&mut tx, &after.opening(), now).await?;
    }
    crate::audit::record(
        &mut tx,
        program_id,
        Some(caller.id()),
        "task.update",
        &format!("task:{id}"),
        serde_json::to_value(&before).ok(),
        serde_json::to_value(&after).ok(),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

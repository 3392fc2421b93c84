//! Tasks and quests: the definitions admins and brands write (checked in full, audited
//! with before and after), who sees which task, and the program's task settings.
//! Submissions and what happens to them live in `submissions.rs`; quests, their
//! progress and bonuses in `quests.rs`; what a participant sees in `mine.rs`. The pure rules (answer checking, periods,
//! limits, audiences, streaks, trust) are `stimul_actors::rules::tasks`.

pub mod mine;
pub mod quests;
pub mod submissions;

use std::collections::BTreeSet;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use stimul_actors::rules::points::Points;
use stimul_actors::rules::tasks::Issue;
use stimul_actors::rules::tasks::audience::{Audience, Member};
use stimul_actors::rules::tasks::limits::Limits;
use stimul_actors::rules::tasks::schedule::{Recurrence, Schedule};
use stimul_actors::rules::tasks::spec::TaskSpec;
use stimul_actors::rules::tasks::trust::TrustPolicy;
use utoipa::ToSchema;

use crate::access::scoped::{ScopeColumns, restrict_to};
use crate::access::{Permission, Section, Target};
use crate::auth::Principal;
use crate::db::{Bind, Sql, SqlFilter, Tx};
use crate::domain::Text;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::org::{people, programs};
use crate::paging::{Page, page_of};
use crate::state::AppState;

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
    pub kind: String,
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

const TASK_COLUMNS: &str = "id, program_id, brand_id, title, description, spec, audience, starts_at, ends_at, recurrence, points, max_completions, max_attempts, moderated, active, created_at, updated_at";

/// Decodes JSON stored as text; a bad value is a storage error, not the client's.
fn json_column<T: serde::de::DeserializeOwned>(row: &AnyRow, index: usize) -> sqlx::Result<T> {
    let text: String = row.try_get(index)?;
    serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(e.into()))
}

/// Reads a count column stored as BIGINT into the `u32` the rules use.
fn count_column(row: &AnyRow, index: usize) -> sqlx::Result<u32> {
    let value: i64 = row.try_get(index)?;
    u32::try_from(value).map_err(|e| sqlx::Error::Decode(e.into()))
}

fn task_from_row(row: &AnyRow) -> sqlx::Result<Task> {
    let spec: TaskSpec = json_column(row, 5)?;
    let recurrence: String = row.try_get(9)?;
    let max_attempts: Option<i64> = row.try_get(12)?;
    Ok(Task {
        id: row.try_get(0)?,
        program_id: row.try_get(1)?,
        brand_id: row.try_get(2)?,
        kind: spec.kind().into(),
        title: row.try_get(3)?,
        description: row.try_get(4)?,
        spec,
        audience: json_column(row, 6)?,
        starts_at: row.try_get(7)?,
        ends_at: row.try_get(8)?,
        recurrence: Recurrence::parse(&recurrence).map_err(|e| sqlx::Error::Decode(e.into()))?,
        points: Points::from_hundredths(row.try_get(10)?),
        max_completions: count_column(row, 11)?,
        max_attempts: max_attempts
            .map(u32::try_from)
            .transpose()
            .map_err(|e| sqlx::Error::Decode(e.into()))?,
        requires_moderation: row.try_get::<i64, _>(13)? != 0,
        active: row.try_get::<i64, _>(14)? != 0,
        created_at: row.try_get(15)?,
        updated_at: row.try_get(16)?,
    })
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

/// A task input that passed every check, ready to store.
struct ValidTask {
    title: String,
    description: String,
    spec: TaskSpec,
    audience: Audience,
    schedule: Schedule,
    points: Points,
    max_completions: u32,
    max_attempts: Option<u32>,
    moderated: bool,
    active: bool,
    brand_id: Option<i64>,
}

/// The rules' issues as the API's field errors.
pub(crate) fn field_errors(issues: Vec<Issue>) -> impl Iterator<Item = FieldError> {
    issues.into_iter().map(|i| FieldError {
        field: i.field,
        message: i.message,
    })
}

pub(crate) fn push(errors: &mut Vec<FieldError>, field: &str, message: impl Into<String>) {
    errors.push(FieldError {
        field: field.into(),
        message: message.into(),
    });
}

/// A period that cannot be computed: only a moment beyond the calendar gets here.
pub(crate) fn window_error(err: stimul_actors::rules::windows::WindowError) -> ApiError {
    ApiError::internal(anyhow::anyhow!(err))
}

/// Parses a positive amount of points with the typo guard.
pub fn positive_points(value: &str) -> Result<Points, String> {
    let points = Points::parse(value)
        .map_err(|e| format!("{e}; write the amount as a decimal string like \"25.00\""))?;
    if !points.is_positive() {
        return Err("must be positive".into());
    }
    if points.hundredths() > MAX_POINTS_HUNDREDTHS {
        return Err(format!(
            "at most {}",
            Points::from_hundredths(MAX_POINTS_HUNDREDTHS)
        ));
    }
    Ok(points)
}

/// Adds an error for `field` when one of `ids` is not a row of `table` (plural noun)
/// in the program. Lists longer than an audience may be are left to the size check.
pub(crate) async fn check_ids_exist(
    conn: &mut sqlx::AnyConnection,
    program_id: i64,
    field: &str,
    table: &'static str,
    ids: &[i64],
    errors: &mut Vec<FieldError>,
) -> ApiResult<()> {
    let wanted: BTreeSet<i64> = ids.iter().copied().collect();
    if wanted.is_empty() || wanted.len() > stimul_actors::rules::tasks::audience::MAX_AUDIENCE {
        return Ok(());
    }
    let mut sql = Sql::new(&format!("SELECT id FROM {table} WHERE program_id = "));
    sql.bind(program_id)
        .push(" AND id IN ")
        .bind_list(wanted.iter().copied());
    let found: BTreeSet<i64> = sql
        .query()
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    if let Some(missing) = wanted.difference(&found).next() {
        push(
            errors,
            field,
            format!(
                "there is no {} {missing} in this program",
                &table[..table.len() - 1]
            ),
        );
    }
    Ok(())
}

/// Checks an audience and a schedule, shared by tasks and quests: sizes, that every
/// region and store exists in the program, that the end follows the start.
pub async fn check_audience_and_schedule(
    conn: &mut sqlx::AnyConnection,
    program_id: i64,
    audience: &Audience,
    schedule: &Schedule,
    errors: &mut Vec<FieldError>,
) -> ApiResult<()> {
    errors.extend(field_errors(audience.validate()));
    errors.extend(field_errors(schedule.validate().into_iter().collect()));
    for (field, table, ids) in [
        ("audience.regions", "regions", &audience.regions),
        ("audience.stores", "stores", &audience.stores),
    ] {
        check_ids_exist(&mut *conn, program_id, field, table, ids, errors).await?;
    }
    for (i, role) in audience.roles.iter().enumerate() {
        if role.trim().is_empty() || role.len() > 64 {
            push(errors, &format!("audience.roles[{i}]"), "a role name");
        }
    }
    Ok(())
}

async fn validate(
    conn: &mut sqlx::AnyConnection,
    program_id: i64,
    input: &TaskInput,
) -> ApiResult<ValidTask> {
    let mut errors = Vec::new();
    let title = crate::domain::Title::parse(&input.title)
        .map_err(|e| push(&mut errors, "title", e))
        .ok();
    let description = Description::parse_optional(&input.description)
        .map_err(|e| push(&mut errors, "description", e))
        .ok();
    let points = positive_points(&input.points)
        .map_err(|e| push(&mut errors, "points", e))
        .ok();
    errors.extend(field_errors(input.spec.validate()));
    let moderated = input
        .spec
        .resolve_moderation(input.requires_moderation)
        .map_err(|e| push(&mut errors, "requires_moderation", e))
        .ok();
    if !(1..=MAX_PER_PERIOD).contains(&input.max_completions) {
        push(
            &mut errors,
            "max_completions",
            format!("1 to {MAX_PER_PERIOD}"),
        );
    }
    if input
        .max_attempts
        .is_some_and(|a| !(1..=MAX_PER_PERIOD).contains(&a))
    {
        push(
            &mut errors,
            "max_attempts",
            format!("1 to {MAX_PER_PERIOD}"),
        );
    }
    let schedule = Schedule {
        starts_at: input.starts_at,
        ends_at: input.ends_at,
        recurrence: input.recurrence,
    };
    if matches!(input.spec, TaskSpec::SalesPlan { .. })
        && input.recurrence == Recurrence::None
        && input.starts_at.is_none()
    {
        push(
            &mut errors,
            "starts_at",
            "a sales plan that does not recur counts sales from its start: set starts_at",
        );
    }
    check_audience_and_schedule(
        &mut *conn,
        program_id,
        &input.audience,
        &schedule,
        &mut errors,
    )
    .await?;
    if let TaskSpec::StockCheck {
        product_id: Some(product),
        ..
    } = &input.spec
        && !crate::org::stores::exists_in_program(&mut *conn, "products", program_id, *product)
            .await?
    {
        push(
            &mut errors,
            "spec.product_id",
            format!("there is no product {product} in this program"),
        );
    }
    if let Some(brand) = input.brand_id
        && !crate::org::stores::exists_in_program(&mut *conn, "brands", program_id, brand).await?
    {
        push(
            &mut errors,
            "brand_id",
            format!("there is no brand {brand} in this program"),
        );
    }
    match (title, description, points, moderated) {
        (Some(title), Some(description), Some(points), Some(moderated)) if errors.is_empty() => {
            Ok(ValidTask {
                title: title.into_string(),
                description: description.into_string(),
                spec: input.spec.clone(),
                audience: input.audience.clone(),
                schedule,
                points,
                max_completions: input.max_completions,
                max_attempts: input.max_attempts,
                moderated,
                active: input.active,
                brand_id: input.brand_id,
            })
        }
        _ => Err(ApiError::fields(errors)),
    }
}

fn to_json<T: Serialize>(value: &T) -> ApiResult<String> {
    serde_json::to_string(value).map_err(ApiError::internal)
}

/// A task of the caller's program.
pub async fn get<'e, E>(executor: E, program_id: i64, id: i64) -> ApiResult<Task>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1 AND program_id = $2"
    )))
    .bind(id)
    .bind(program_id)
    .fetch_optional(executor)
    .await?;
    match row {
        Some(row) => Ok(task_from_row(&row)?),
        None => Err(ApiError::not_found(format!("task {id}"))),
    }
}

/// The program's active tasks (a program has tens of tasks, not thousands).
pub async fn active<'e, E>(executor: E, program_id: i64) -> ApiResult<Vec<Task>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE program_id = $1 AND active = 1 ORDER BY id"
    )))
    .bind(program_id)
    .fetch_all(executor)
    .await?;
    Ok(rows
        .iter()
        .map(task_from_row)
        .collect::<Result<Vec<_>, _>>()?)
}

/// Creates a task, audited.
pub async fn create(state: &AppState, caller: &Principal, input: &TaskInput) -> ApiResult<Task> {
    let program_id = caller.program_id();
    caller.require(
        Permission::edit(Section::Tasks),
        &Target::branded(program_id, input.brand_id),
    )?;
    let mut tx = state.db.begin().await?;
    let task = insert(
        &mut tx,
        program_id,
        input,
        Some(caller.id()),
        state.clock.now_ms(),
    )
    .await?;
    tx.commit().await?;
    Ok(task)
}

/// Checks and stores a new task in the caller's transaction, audited as done by
/// `actor` (nobody for the demo). Access is the caller's to check.
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
    .bind(valid.spec.kind())
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

/// Applies `patch` to a task, audited with the state before and after.
pub async fn update(
    state: &AppState,
    caller: &Principal,
    id: i64,
    patch: TaskPatch,
) -> ApiResult<Task> {
    let program_id = caller.program_id();
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
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
    .bind(valid.spec.kind())
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

/// Filters of `listTasks`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskFilter {
    /// Only this kind (`quiz`, `shelf_photo`, …).
    pub kind: Option<String>,
    /// Only active (`true`) or inactive (`false`) tasks.
    pub active: Option<bool>,
}

const KINDS: [&str; 8] = [
    "shelf_photo",
    "stock_check",
    "quiz",
    "survey",
    "sales_plan",
    "self_audit",
    "price_report",
    "training",
];

/// The tasks the caller may see: the whole program's, or their brands'.
pub async fn list(
    state: &AppState,
    caller: &Principal,
    filter: &TaskFilter,
    after: i64,
    limit: i64,
) -> ApiResult<Page<Task>> {
    let visibility = caller.require_anywhere(Permission::view(Section::Tasks))?;
    let mut sql = SqlFilter::new();
    restrict_to(
        &mut sql,
        caller.program_id(),
        &visibility,
        &ScopeColumns {
            program: "program_id",
            region: None,
            partner: None,
            brand: Some("brand_id"),
            store: None,
        },
    );
    let after_p = sql.placeholder(Bind::Int(after));
    sql.push(format!("id > {after_p}"));
    if let Some(kind) = &filter.kind {
        if !KINDS.contains(&kind.as_str()) {
            return Err(ApiError::field(
                "kind",
                format!("one of {}", KINDS.join(", ")),
            ));
        }
        let p = sql.placeholder(Bind::Text(kind.clone()));
        sql.push(format!("kind = {p}"));
    }
    if let Some(active) = filter.active {
        let p = sql.placeholder(Bind::Int(i64::from(active)));
        sql.push(format!("active = {p}"));
    }
    let limit_p = sql.placeholder(Bind::Int(limit + 1));
    let text = format!(
        "SELECT {TASK_COLUMNS} FROM tasks{} ORDER BY id LIMIT {limit_p}",
        sql.where_sql()
    );
    let rows = sql
        .bind_all(sqlx::query(sqlx::AssertSqlSafe(text)))
        .fetch_all(&state.db.pool)
        .await?;
    let tasks = rows
        .iter()
        .map(task_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_of(tasks, limit, |t| t.id))
}

/// A participant as tasks see them: where they are, their level and roles.
pub struct Participant {
    pub person: people::Person,
    pub member: Member,
}

/// Loads `user_id` as a participant of `program_id`; staff have no tasks.
pub async fn participant(
    state: &AppState,
    program_id: i64,
    user_id: i64,
) -> ApiResult<Participant> {
    let person = people::get(&state.db.pool, program_id, user_id).await?;
    if !person.kind.is_participant() {
        return Err(ApiError::forbidden(
            "tasks are done by participants; staff accounts have none",
        ));
    }
    let view = state.live.participant_view(user_id).await.map_err(|e| {
        ApiError::new(
            crate::error::ErrorCode::ServiceUnavailable,
            format!("the participant's live state is unavailable: {e}"),
        )
    })?;
    let access = crate::access::store::load_access(&state.db.pool, user_id, program_id).await?;
    let member = Member {
        region: person.region_id,
        store: person.store_id,
        level: u32::try_from(view.level.index).unwrap_or(u32::MAX),
        roles: access
            .role_names()
            .into_iter()
            .map(str::to_string)
            .collect(),
    };
    Ok(Participant { person, member })
}

/// The program's time zone.
pub async fn program_zone<'e, E>(executor: E, program_id: i64) -> ApiResult<Tz>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let program = programs::by_id(executor, program_id).await?;
    program.timezone.parse().map_err(|_| {
        ApiError::internal(anyhow::anyhow!(
            "program {program_id} has an unknown time zone {:?}",
            program.timezone
        ))
    })
}

/// The program's trust policy; defaults (off) when never set.
pub async fn trust_policy<'e, E>(executor: E, program_id: i64) -> ApiResult<TrustPolicy>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(
        "SELECT trust_enabled, trust_threshold, trust_min_decisions, trust_max_points, spot_check_percent
         FROM task_settings WHERE program_id = $1",
    )
    .bind(program_id)
    .fetch_optional(executor)
    .await?;
    let Some(row) = row else {
        return Ok(TrustPolicy::default());
    };
    Ok(TrustPolicy {
        enabled: row.try_get::<i64, _>(0)? != 0,
        threshold: count_column(&row, 1)?,
        min_decisions: count_column(&row, 2)?,
        max_points: Points::from_hundredths(row.try_get(3)?),
        spot_check_percent: count_column(&row, 4)?,
    })
}

/// Replaces the program's trust policy, audited.
pub async fn set_trust_policy(
    state: &AppState,
    caller: &Principal,
    policy: &TrustPolicy,
) -> ApiResult<TrustPolicy> {
    caller.require_program_wide(Permission::edit(Section::Tasks))?;
    let issues = policy.validate();
    if !issues.is_empty() {
        return Err(ApiError::fields(field_errors(issues).collect()));
    }
    let program_id = caller.program_id();
    let now = state.clock.now_ms();
    let mut tx: Tx = state.db.begin().await?;
    let before = trust_policy(&mut *tx, program_id).await?;
    sqlx::query(
        "INSERT INTO task_settings (program_id, trust_enabled, trust_threshold, trust_min_decisions, trust_max_points, spot_check_percent, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (program_id) DO UPDATE SET trust_enabled = $2, trust_threshold = $3, trust_min_decisions = $4,
             trust_max_points = $5, spot_check_percent = $6, updated_at = $7",
    )
    .bind(program_id)
    .bind(i64::from(policy.enabled))
    .bind(i64::from(policy.threshold))
    .bind(i64::from(policy.min_decisions))
    .bind(policy.max_points.hundredths())
    .bind(i64::from(policy.spot_check_percent))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    crate::audit::record(
        &mut tx,
        program_id,
        Some(caller.id()),
        "task_settings.update",
        &format!("program:{program_id}"),
        serde_json::to_value(before).ok(),
        serde_json::to_value(policy).ok(),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(*policy)
}

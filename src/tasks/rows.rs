//! Tasks as stored: their columns, a row decoded into a [`Task`], one task of a
//! program, and its active ones.

use serde::Serialize;
use sqlx::FromRow;
use sqlx::any::AnyRow;
use stimul_actors::rules::points::Points;
use stimul_actors::rules::tasks::schedule::Recurrence;
use stimul_actors::rules::tasks::spec::TaskSpec;

use super::Task;
use crate::error::{ApiError, ApiResult};

pub(super) const TASK_COLUMNS: &str = "id, program_id, brand_id, title, description, spec, audience, starts_at, ends_at, recurrence, points, max_completions, max_attempts, moderated, active, created_at, updated_at";

/// Decodes JSON stored as text; a bad value is a storage error, not the client's.
pub(super) fn json_column<T: serde::de::DeserializeOwned>(text: &str) -> sqlx::Result<T> {
    serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(e.into()))
}

/// Reads a count stored as BIGINT into the `u32` the rules use.
pub(super) fn count_column(value: i64) -> sqlx::Result<u32> {
    u32::try_from(value).map_err(|e| sqlx::Error::Decode(e.into()))
}

/// Reads a nullable count stored as BIGINT into the `u32` the rules use.
pub(super) fn optional_count_column(value: Option<i64>) -> sqlx::Result<Option<u32>> {
    value.map(count_column).transpose()
}

/// A task as stored ([`TASK_COLUMNS`]).
#[derive(FromRow)]
struct TaskRow {
    id: i64,
    program_id: i64,
    brand_id: Option<i64>,
    title: String,
    description: String,
    /// [`TaskSpec`] as JSON.
    spec: String,
    /// The audience as JSON.
    audience: String,
    starts_at: Option<i64>,
    ends_at: Option<i64>,
    recurrence: String,
    points: i64,
    max_completions: i64,
    max_attempts: Option<i64>,
    /// Stored as INTEGER, 0 or 1.
    moderated: i64,
    active: i64,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<TaskRow> for Task {
    type Error = sqlx::Error;

    fn try_from(row: TaskRow) -> sqlx::Result<Task> {
        let spec: TaskSpec = json_column(&row.spec)?;
        Ok(Task {
            id: row.id,
            program_id: row.program_id,
            brand_id: row.brand_id,
            kind: spec.kind(),
            title: row.title,
            description: row.description,
            spec,
            audience: json_column(&row.audience)?,
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            recurrence: Recurrence::parse(&row.recurrence)
                .map_err(|e| sqlx::Error::Decode(e.into()))?,
            points: Points::from_hundredths(row.points),
            max_completions: count_column(row.max_completions)?,
            max_attempts: optional_count_column(row.max_attempts)?,
            requires_moderation: row.moderated != 0,
            active: row.active != 0,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// Decodes a row of [`TASK_COLUMNS`] into a [`Task`], by column name.
pub(super) fn task_from_row(row: &AnyRow) -> sqlx::Result<Task> {
    TaskRow::from_row(row)?.try_into()
}

pub(super) fn to_json<T: Serialize>(value: &T) -> ApiResult<String> {
    serde_json::to_string(value).map_err(ApiError::internal)
}

/// A task of the caller's program.
#[tracing::instrument(skip_all, fields(program_id = ?program_id, id = ?id))]
pub async fn get<'e, E>(executor: E, program_id: i64, id: i64) -> ApiResult<Task>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row: Option<TaskRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1 AND program_id = $2"
    )))
    .bind(id)
    .bind(program_id)
    .fetch_optional(executor)
    .await?;
    match row {
        Some(row) => Ok(row.try_into()?),
        None => Err(ApiError::not_found(format!("task {id}"))),
    }
}

/// The program's active tasks (a program has tens of tasks, not thousands).
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn active<'e, E>(executor: E, program_id: i64) -> ApiResult<Vec<Task>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows: Vec<TaskRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE program_id = $1 AND active = 1 ORDER BY id"
    )))
    .bind(program_id)
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .map(Task::try_from)
        .collect::<Result<Vec<_>, _>>()?)
}

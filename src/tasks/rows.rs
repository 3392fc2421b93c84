//! Tasks as stored: their columns, a row decoded into a [`Task`], one task of a
//! program, and its active ones.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use stimul_actors::rules::points::Points;
use stimul_actors::rules::tasks::schedule::Recurrence;
use stimul_actors::rules::tasks::spec::TaskSpec;

use super::Task;
use crate::error::{ApiError, ApiResult};

pub(super) const TASK_COLUMNS: &str = "id, program_id, brand_id, title, description, spec, audience, starts_at, ends_at, recurrence, points, max_completions, max_attempts, moderated, active, created_at, updated_at";

/// Decodes JSON stored as text; a bad value is a storage error, not the client's.
pub(super) fn json_column<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    index: usize,
) -> sqlx::Result<T> {
    let text: String = row.try_get(index)?;
    serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(e.into()))
}

/// Reads a count column stored as BIGINT into the `u32` the rules use.
pub(super) fn count_column(row: &AnyRow, index: usize) -> sqlx::Result<u32> {
    let value: i64 = row.try_get(index)?;
    u32::try_from(value).map_err(|e| sqlx::Error::Decode(e.into()))
}

pub(super) fn task_from_row(row: &AnyRow) -> sqlx::Result<Task> {
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

pub(super) fn to_json<T: Serialize>(value: &T) -> ApiResult<String> {
    serde_json::to_string(value).map_err(ApiError::internal)
}

/// A task of the caller's program.
#[tracing::instrument(skip_all, fields(program_id = ?program_id, id = ?id))]
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
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
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

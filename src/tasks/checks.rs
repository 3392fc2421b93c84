//! Checking definitions: a task input checked in full before it is stored, and the
//! field checks tasks, quests and campaigns share (points with the typo guard, ids that
//! must exist in the program, audiences and schedules).

use std::collections::BTreeSet;

use sqlx::FromRow;
use stimul_actors::rules::points::Points;
use stimul_actors::rules::tasks::Issue;
use stimul_actors::rules::tasks::audience::Audience;
use stimul_actors::rules::tasks::schedule::{Recurrence, Schedule};
use stimul_actors::rules::tasks::spec::TaskSpec;

use super::{Description, MAX_PER_PERIOD, MAX_POINTS_HUNDREDTHS, TaskInput};
use crate::db::Sql;
use crate::error::{ApiError, ApiResult, FieldError};

/// A row's id, for checking that ids named in a request exist.
#[derive(FromRow)]
pub(super) struct IdRow {
    pub id: i64,
}

/// A task input that passed every check, ready to store.
pub(super) struct ValidTask {
    pub(super) title: String,
    pub(super) description: String,
    pub(super) spec: TaskSpec,
    pub(super) audience: Audience,
    pub(super) schedule: Schedule,
    pub(super) points: Points,
    pub(super) max_completions: u32,
    pub(super) max_attempts: Option<u32>,
    pub(super) moderated: bool,
    pub(super) active: bool,
    pub(super) brand_id: Option<i64>,
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
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
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
        .query_as::<IdRow>()
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|row| row.id)
        .collect();
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
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
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

#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub(super) async fn validate(
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

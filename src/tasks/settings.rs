//! The program's task settings (the trust policy, read and replaced, audited) and the
//! program's time zone that periods are cut in.

use chrono_tz::Tz;
use sqlx::FromRow;
use stimul_actors::rules::points::Points;
use stimul_actors::rules::tasks::trust::TrustPolicy;

use super::checks::field_errors;
use super::rows::count_column;
use crate::access::{Permission, Section};
use crate::auth::Principal;
use crate::db::{Clock, Db, Tx};
use crate::error::{ApiError, ApiResult};
use crate::org::programs;

/// The program's time zone.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
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

/// A program's trust policy as stored.
#[derive(FromRow)]
struct TrustPolicyRow {
    /// Stored as INTEGER, 0 or 1.
    trust_enabled: i64,
    trust_threshold: i64,
    trust_min_decisions: i64,
    trust_max_points: i64,
    spot_check_percent: i64,
}

/// The program's trust policy; defaults (off) when never set.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn trust_policy<'e, E>(executor: E, program_id: i64) -> ApiResult<TrustPolicy>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row: Option<TrustPolicyRow> = sqlx::query_as(
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
        enabled: row.trust_enabled != 0,
        threshold: count_column(row.trust_threshold)?,
        min_decisions: count_column(row.trust_min_decisions)?,
        max_points: Points::from_hundredths(row.trust_max_points),
        spot_check_percent: count_column(row.spot_check_percent)?,
    })
}

/// Replaces the program's trust policy, audited.
#[tracing::instrument(skip_all)]
pub async fn set_trust_policy(
    db: &Db,
    clock: &Clock,
    caller: &Principal,
    policy: &TrustPolicy,
) -> ApiResult<TrustPolicy> {
    caller.require_program_wide(Permission::edit(Section::Tasks))?;
    let issues = policy.validate();
    if !issues.is_empty() {
        return Err(ApiError::fields(field_errors(issues).collect()));
    }
    let program_id = caller.program_id();
    let now = clock.now_ms();
    let mut tx: Tx = db.begin().await?;
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

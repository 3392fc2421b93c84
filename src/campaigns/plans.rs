//! Participants' personal plans in a plan-percent campaign, set by staff, audited.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rows::get;
use crate::access::{Permission, Section};
use crate::auth::Principal;
use crate::db::{Clock, Db};
use crate::error::{ApiError, ApiResult};
use crate::tasks::checks::{check_ids_exist, positive_points, push};
use stimul_actors::live::RealtimeCore;

/// Sets participants' personal plans for a plan-percent campaign (`setCampaignPlans`).
#[tracing::instrument(skip_all, fields(id = ?id))]
pub async fn set_plans(
    db: &Db,
    clock: &Clock,
    live: &Arc<RealtimeCore>,
    caller: &Principal,
    id: i64,
    plans: &[PlanInput],
) -> ApiResult<usize> {
    let program_id = caller.program_id();
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let campaign = get(&mut tx, program_id, id).await?;
    caller.require(Permission::edit(Section::Campaigns), &campaign.target())?;
    let mut errors = Vec::new();
    let mut valid = Vec::new();
    for (i, plan) in plans.iter().enumerate() {
        match positive_points(&plan.plan) {
            Ok(points) => valid.push((plan.participant_id, points)),
            Err(e) => push(&mut errors, &format!("[{i}].plan"), e),
        }
    }
    let people: Vec<i64> = valid.iter().map(|(p, _)| *p).collect();
    check_ids_exist(
        &mut tx,
        program_id,
        "participant_id",
        "users",
        &people,
        &mut errors,
    )
    .await?;
    if !errors.is_empty() {
        return Err(ApiError::fields(errors));
    }
    for (participant, plan) in &valid {
        sqlx::query(
            "INSERT INTO campaign_plans (campaign_id, participant_id, plan) VALUES ($1, $2, $3)
             ON CONFLICT (campaign_id, participant_id) DO UPDATE SET plan = $3",
        )
        .bind(id)
        .bind(participant)
        .bind(plan.hundredths())
        .execute(&mut *tx)
        .await?;
    }
    crate::audit::record(
        &mut tx,
        program_id,
        Some(caller.id()),
        "campaign.plans",
        &format!("campaign:{id}"),
        None,
        serde_json::to_value(plans).ok(),
        now,
    )
    .await?;
    tx.commit().await?;
    live.forget_campaign(id);
    Ok(valid.len())
}

/// A participant's personal plan in a campaign.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct PlanInput {
    pub participant_id: i64,
    /// Points to earn in the campaign, decimal string.
    pub plan: String,
}

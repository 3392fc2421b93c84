//! The prize fund in the ledger: a budget moved into the campaign's fund account, funds
//! short of their budget topped up, and credits paid from a fund.

use std::sync::Arc;

use stimul_actors::ledger::{
    AccountKey, LedgerError, Movement, Purpose, TransactionRequest, TransactionStatus,
};
use stimul_actors::live::RealtimeCore;
use stimul_actors::participant::{ChangeOutcome, Earn, ParticipantError};
use stimul_actors::rules::points::Points;

use super::Campaign;
use super::rows::get;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};

/// Moves what the budget holds beyond what was already funded from the program's
/// issued account into the campaign's fund. The ledger key names the budget funded up
/// to, and budgets only grow, so a retry after a crash replays instead of paying twice.
#[tracing::instrument(skip_all)]
pub async fn fund(
    db: &Db,
    live: &Arc<RealtimeCore>,
    campaign: &Campaign,
    actor: Option<i64>,
) -> ApiResult<()> {
    let funded: i64 = sqlx::query_scalar("SELECT funded FROM campaigns WHERE id = $1")
        .bind(campaign.id)
        .fetch_one(&db.pool)
        .await?;
    let missing = campaign.budget.hundredths() - funded;
    if missing <= 0 {
        return Ok(());
    }
    let request = TransactionRequest {
        program_id: campaign.program_id,
        idempotency_key: format!(
            "campaign:{}:funded-to:{}",
            campaign.id,
            campaign.budget.hundredths()
        ),
        reason: "campaign_fund".into(),
        participant_id: None,
        store_id: None,
        source: Some(("campaign".into(), campaign.id.to_string())),
        actor_id: actor,
        comment: Some(format!("fund of campaign {:?}", campaign.name)),
        status: TransactionStatus::Posted,
        settles: None,
        movements: vec![Movement {
            from: AccountKey::Issued,
            to: AccountKey::CampaignFund(campaign.id),
            amount: Points::from_hundredths(missing),
            purpose: Purpose::Funding,
        }],
        completed_tasks: 0,
        campaign_id: None,
        fingerprint: None,
        earning: None,
    };
    live.commit(request).await.map_err(|e| {
        ApiError::internal(anyhow::anyhow!("funding campaign {}: {e}", campaign.id))
    })?;
    sqlx::query("UPDATE campaigns SET funded = $1 WHERE id = $2 AND funded < $1")
        .bind(campaign.budget.hundredths())
        .bind(campaign.id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Funds every started campaign whose fund is short of its budget: at start (a crash
/// between activation and funding, a demo loaded before the server) and when a credit
/// finds a fund empty. Returns how many were topped up.
#[tracing::instrument(skip_all)]
pub async fn fund_pending(
    db: &Db,
    live: &Arc<RealtimeCore>,
    only: Option<i64>,
) -> ApiResult<usize> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, program_id FROM campaigns WHERE status <> 'draft' AND funded < budget AND ($1 = 0 OR id = $1) ORDER BY id",
    )
    .bind(only.unwrap_or(0))
    .fetch_all(&db.pool)
    .await?;
    for (id, program_id) in &rows {
        // The connection goes back before funding waits for the committer.
        let campaign = get(&mut *db.pool.acquire().await?, *program_id, *id).await?;
        fund(db, live, &campaign, None).await?;
    }
    Ok(rows.len())
}

/// Credits `earn` (paid from the campaign's fund) through the participant's actor.
/// A fund found short of its budget (activated just before a crash, a demo loaded
/// before the server started) is topped up and the credit tried once more. The outer
/// error is the server's; the inner one the credit's refusal.
#[tracing::instrument(skip_all, fields(participant = ?participant, campaign_id = ?campaign_id))]
pub async fn earn_from_fund(
    db: &Db,
    live: &Arc<RealtimeCore>,
    participant: i64,
    campaign_id: i64,
    earn: Earn,
) -> ApiResult<Result<ChangeOutcome, ParticipantError>> {
    let outcome = live.earn(participant, earn.clone()).await;
    if let Err(ParticipantError::Ledger(LedgerError::InsufficientFunds {
        account: AccountKey::CampaignFund(_),
    })) = &outcome
    {
        // Try once more whether or not this call funded it: a concurrent credit may
        // have topped the fund up between our refusal and our look.
        fund_pending(db, live, Some(campaign_id)).await?;
        return Ok(live.earn(participant, earn).await);
    }
    Ok(outcome)
}

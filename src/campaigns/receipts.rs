//! Sale receipts (`registerSale`): a participant reports a sale with the receipt's
//! number and a photo of it; a moderator checks it; approval pays the product's points
//! per unit × quantity from the campaign's fund (level multiplier and owner share as
//! for codes).
//!
//! Decisions:
//! - A receipt number counts once per program while its receipt is pending or
//!   approved (a partial unique index): the same paper receipt cannot be paid twice,
//!   by the same or another seller. A rejected receipt, or one sent back for rework,
//!   frees its number so the corrected report can be made.
//! - Numbers are compared upper-cased without spaces: `ab 123` and `AB123` are one.
//! - The points are held (pending) from the moment of the report, so the seller sees
//!   them at once; the campaign is chosen then, like for a code.
//! - The row is written first, then the hold and the queue item; a receipt left
//!   without a hold by a crash is finished at the next start ([`resume`]).

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use stimul_actors::ledger::AccountKey;
use stimul_actors::live::RealtimeCore;
use stimul_actors::participant::Earn;
use stimul_actors::rules::campaigns::{NoOffer, choose_offer, code_points};
use stimul_actors::rules::points::Points;
use stimul_actors::rules::routing::ItemKind;
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::db::{Clock, Db, Tx};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::moderation::{self, DecisionKind, DecisionRequest, Effect, NewItem};
use crate::paging::{Page, page_of};

/// Units one receipt may report: more is a typo or a wholesale deal, not a shop sale.
pub const MAX_QUANTITY: i64 = 1000;

/// What the participant reports (the `data` part of the form).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct SaleInput {
    /// As printed on the receipt.
    pub receipt_number: String,
    pub product_id: i64,
    /// Units sold, default 1.
    pub quantity: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Receipt {
    pub id: i64,
    pub participant_id: i64,
    pub campaign_id: i64,
    pub product_id: i64,
    pub quantity: i64,
    /// As compared: upper-cased, without spaces.
    pub receipt_number: String,
    /// SHA-256 of the photo: `GET /api/v1/photos/{sha256}`.
    pub photo: String,
    /// Base points before the level multiplier.
    #[schema(value_type = String)]
    pub points: Points,
    /// `pending`, `approved`, `rejected` or `rework`.
    pub status: String,
    pub decision_reason: Option<String>,
    pub decision_comment: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const RECEIPT_COLUMNS: &str = "id, participant_id, campaign_id, product_id, quantity, receipt_number, photo, points, status, decision_reason, decision_comment, created_at, updated_at";

/// A receipt as stored ([`RECEIPT_COLUMNS`]).
#[derive(FromRow)]
struct ReceiptRow {
    id: i64,
    participant_id: i64,
    campaign_id: i64,
    product_id: i64,
    quantity: i64,
    receipt_number: String,
    photo: String,
    points: i64,
    status: String,
    decision_reason: Option<String>,
    decision_comment: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl From<ReceiptRow> for Receipt {
    fn from(row: ReceiptRow) -> Receipt {
        Receipt {
            id: row.id,
            participant_id: row.participant_id,
            campaign_id: row.campaign_id,
            product_id: row.product_id,
            quantity: row.quantity,
            receipt_number: row.receipt_number,
            photo: row.photo,
            points: Points::from_hundredths(row.points),
            status: row.status,
            decision_reason: row.decision_reason,
            decision_comment: row.decision_comment,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Where a receipt's participant works, for the moderation queue.
#[derive(FromRow)]
struct PlaceRow {
    store_id: Option<i64>,
    region_id: Option<i64>,
}

/// What a decision needs of a pending receipt.
#[derive(FromRow)]
struct PendingReceiptRow {
    participant_id: i64,
    hold_transaction_id: Option<i64>,
}

/// The receipt number as compared: upper-cased, spaces removed; 1 to 64 letters,
/// digits and `-/.`.
pub fn normalize_number(input: &str) -> Result<String, String> {
    let number: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect();
    if number.is_empty() {
        return Err("must not be empty".into());
    }
    if number.chars().count() > 64 {
        return Err("at most 64 characters".into());
    }
    if !number
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '/' | '.'))
    {
        return Err("letters, digits and - / . only".into());
    }
    Ok(number)
}

#[tracing::instrument(skip_all, fields(id = ?id))]
async fn get(executor: &mut sqlx::AnyConnection, id: i64) -> ApiResult<Receipt> {
    let row: Option<ReceiptRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RECEIPT_COLUMNS} FROM receipts WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(executor)
    .await?;
    match row {
        Some(row) => Ok(row.into()),
        None => Err(ApiError::not_found(format!("receipt {id}"))),
    }
}

/// Registers a sale with its receipt photo: stored, held, queued for a moderator.
#[tracing::instrument(skip_all)]
pub async fn register(
    db: &Db,
    clock: &Clock,
    live: &Arc<RealtimeCore>,
    data_dir: &Path,
    caller: &Principal,
    input: &SaleInput,
    photos: &[Vec<u8>],
) -> ApiResult<Receipt> {
    if !caller.account.kind.is_participant() {
        return Err(ApiError::forbidden(
            "sales are registered by participants; staff accounts earn no points",
        ));
    }
    let number = normalize_number(&input.receipt_number)
        .map_err(|e| ApiError::field("receipt_number", e))?;
    let quantity = input.quantity.unwrap_or(1);
    if !(1..=MAX_QUANTITY).contains(&quantity) {
        return Err(ApiError::field("quantity", format!("1 to {MAX_QUANTITY}")));
    }
    let [photo] = photos else {
        return Err(ApiError::field(
            "photo",
            "attach exactly one photo of the receipt",
        ));
    };
    let program_id = caller.program_id();
    let now = clock.now_ms();
    let product = super::products::get(&db.pool, program_id, input.product_id)
        .await
        .map_err(|_| ApiError::field("product_id", "there is no such product"))?;
    let offers = super::code_claims::offers_for(db, program_id, product.id).await?;
    let earner = super::visibility::audience_member(db, live, caller.id()).await?;
    let campaign_id = match choose_offer(&offers, &earner, now) {
        Ok(id) => id,
        Err(NoOffer::Inactive(why)) => {
            return Err(ApiError::new(ErrorCode::CampaignInactive, why));
        }
        Err(NoOffer::NotEligible(why)) => return Err(ApiError::new(ErrorCode::NotEligible, why)),
    };
    let per_unit = super::code_claims::points_per_unit(db, campaign_id, product.id).await?;
    let points = code_points(per_unit, quantity)
        .ok_or_else(|| ApiError::field("quantity", "the points overflow"))?;

    let mut tx: Tx = db.begin().await?;
    let duplicate: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM receipts WHERE program_id = $1 AND receipt_number = $2 AND status IN ('pending', 'approved')",
    )
    .bind(program_id)
    .bind(&number)
    .fetch_optional(&mut *tx)
    .await?;
    if duplicate.is_some() {
        return Err(duplicate_receipt(&number));
    }
    let stored =
        crate::photos::store(&mut tx, data_dir, program_id, caller.id(), photo, now).await?;
    let region_id: Option<i64> = earner.region;
    let inserted = sqlx::query_scalar::<_, i64>(
        "INSERT INTO receipts (program_id, participant_id, store_id, region_id, campaign_id, product_id, quantity, receipt_number, photo, points, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $11) RETURNING id",
    )
    .bind(program_id)
    .bind(caller.id())
    .bind(caller.account.store_id)
    .bind(region_id)
    .bind(campaign_id)
    .bind(product.id)
    .bind(quantity)
    .bind(&number)
    .bind(&stored.sha256)
    .bind(points.hundredths())
    .bind(now)
    .fetch_one(&mut *tx)
    .await;
    let id = match inserted {
        Ok(id) => id,
        // Two reports of one receipt at once: the index lets one in.
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            return Err(duplicate_receipt(&number));
        }
        Err(err) => return Err(err.into()),
    };
    tx.commit().await?;
    hold_and_queue(db, clock, live, id).await?;
    let mut conn = db.pool.acquire().await?;
    get(&mut conn, id).await
}

fn duplicate_receipt(number: &str) -> ApiError {
    ApiError::new(
        ErrorCode::DuplicateReceipt,
        format!("receipt {number} is already registered; a receipt counts once"),
    )
}

/// Holds a reported receipt's points and queues it for a moderator. Safe to repeat:
/// the hold is keyed by the receipt, the queue keeps one open item per receipt.
#[tracing::instrument(skip_all, fields(id = ?id))]
async fn hold_and_queue(
    db: &Db,
    clock: &Clock,
    live: &Arc<RealtimeCore>,
    id: i64,
) -> ApiResult<()> {
    let mut conn = db.pool.acquire().await?;
    let receipt = get(&mut conn, id).await?;
    drop(conn);
    let earn = Earn {
        base: receipt.points,
        reason: "receipt".into(),
        idempotency_key: format!("receipt:{id}"),
        pay_from: AccountKey::CampaignFund(receipt.campaign_id),
        hold: true,
        source: Some(("receipt".into(), id.to_string())),
        actor_id: None,
        comment: Some(format!("receipt {}", receipt.receipt_number)),
        completed_tasks: 0,
        fingerprint: None,
    };
    let outcome = match super::funding::earn_from_fund(
        db,
        live,
        receipt.participant_id,
        receipt.campaign_id,
        earn,
    )
    .await?
    {
        Ok(outcome) => outcome,
        Err(err) => {
            // The fund cannot hold it: the report is refused and its number freed.
            sqlx::query("UPDATE receipts SET status = 'rejected', decision_reason = 'fund_exhausted', updated_at = $1 WHERE id = $2")
                .bind(clock.now_ms())
                .bind(id)
                .execute(&db.pool)
                .await?;
            return Err(err.into());
        }
    };
    let program_id: i64 = sqlx::query_scalar("SELECT program_id FROM receipts WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await?;
    let place: PlaceRow = sqlx::query_as("SELECT store_id, region_id FROM receipts WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await?;
    let mut tx = db.begin().await?;
    let item = NewItem {
        kind: ItemKind::Receipt,
        subject_id: id,
        participant_id: Some(receipt.participant_id),
        store_id: place.store_id,
        region_id: place.region_id,
        summary: serde_json::json!({
            "receipt_number": receipt.receipt_number,
            "photos": [receipt.photo],
            "product_id": receipt.product_id,
            "quantity": receipt.quantity,
            "campaign_id": receipt.campaign_id,
            "points": outcome.amount,
        }),
    };
    let item_id = moderation::enqueue(&mut tx, program_id, &item, clock.now_ms()).await?;
    sqlx::query(
        "UPDATE receipts SET hold_transaction_id = $1, moderation_item_id = $2 WHERE id = $3",
    )
    .bind(outcome.transaction_id)
    .bind(item_id)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    moderation::announce(live, program_id);
    Ok(())
}

/// Finishes receipts a crash left without their hold or queue item. Returns how many.
#[tracing::instrument(skip_all)]
pub async fn resume(db: &Db, clock: &Clock, live: &Arc<RealtimeCore>) -> ApiResult<usize> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM receipts WHERE status = 'pending' AND (hold_transaction_id IS NULL OR moderation_item_id IS NULL)",
    )
    .fetch_all(&db.pool)
    .await?;
    for id in &ids {
        hold_and_queue(db, clock, live, *id).await?;
    }
    Ok(ids.len())
}

/// A moderator's decision on a receipt, inside the decision's transaction: the
/// receipt's status follows the decision, the held points are settled after.
#[tracing::instrument(skip_all, fields(id = ?id))]
pub async fn decide_in_transaction(
    tx: &mut Tx,
    id: i64,
    request: &DecisionRequest,
    now: i64,
) -> ApiResult<Effect> {
    let row: Option<PendingReceiptRow> = sqlx::query_as(
        "SELECT participant_id, hold_transaction_id FROM receipts WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Err(ApiError::invalid_state(format!(
            "receipt {id} is not waiting for a decision"
        )));
    };
    let participant_id = row.participant_id;
    let Some(hold_transaction_id) = row.hold_transaction_id else {
        return Err(ApiError::invalid_state(format!(
            "receipt {id}'s points are not held yet; try again in a moment"
        )));
    };
    let status = match request.decision {
        DecisionKind::Approve => "approved",
        DecisionKind::Reject => "rejected",
        DecisionKind::Rework => "rework",
    };
    sqlx::query(
        "UPDATE receipts SET status = $1, decision_reason = $2, decision_comment = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(status)
    .bind(request.reason.clone())
    .bind(request.comment.clone())
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(Effect::SettleHold {
        participant_id,
        hold_transaction_id,
        confirm: request.decision == DecisionKind::Approve,
        completed_tasks: 0,
    })
}

/// The caller's receipts, newest first.
#[tracing::instrument(skip_all, fields(before = ?before, limit = ?limit))]
pub async fn mine(
    db: &Db,
    caller: &Principal,
    before: i64,
    limit: i64,
) -> ApiResult<Page<Receipt>> {
    // Newest first, like the seller's other lists: the receipt they just sent and the
    // ones still waiting are on the first page, however many they have sent before.
    let before = if before > 0 { before } else { i64::MAX };
    let rows: Vec<ReceiptRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RECEIPT_COLUMNS} FROM receipts WHERE participant_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    )))
    .bind(caller.id())
    .bind(before)
    .bind(limit + 1)
    .fetch_all(&db.pool)
    .await?;
    let receipts = rows.into_iter().map(Receipt::from).collect();
    Ok(page_of(receipts, limit, |r| r.id))
}

/// Decides `receipt` items for moderation.
pub struct ReceiptDecisions;

#[async_trait::async_trait]
impl moderation::DecisionHandler for ReceiptDecisions {
    fn reworkable(&self) -> bool {
        true
    }

    async fn decide(
        &self,
        tx: &mut Tx,
        decision: &moderation::Decision<'_>,
    ) -> ApiResult<moderation::Outcome> {
        let settle =
            decide_in_transaction(tx, decision.item.subject_id, decision.request, decision.now)
                .await?;
        Ok(moderation::Outcome::settle(settle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_without_case_or_spaces() {
        assert_eq!(normalize_number(" ab 12-3/4 "), Ok("AB12-3/4".into()));
        assert_eq!(normalize_number("AB123"), normalize_number("a b 1 2 3"));
        assert!(normalize_number("   ").is_err());
        assert!(normalize_number("12;DROP").is_err());
        assert!(normalize_number(&"9".repeat(65)).is_err());
    }
}

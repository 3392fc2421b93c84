//! Code registration (`registerCode`): a seller types the code from a package or scans
//! its QR code and gets the product's points at once, through their participant actor.
//!
//! The order of checks is the order of cost: the check letter (no database), the
//! anti-fraud gate (rate limits and brute-force block, counted from `code_attempts` so
//! every node sees the same counts), the code, the campaign, the audience. Every
//! attempt is logged in `code_attempts` with its outcome and reason.
//!
//! A code counts once, ever: it is claimed by a conditional update (`issued` →
//! `registered`/`held`) that only one registration can win, before any points move. The
//! credit's ledger key is derived from the claim (code, claimant, claim time), so a
//! retry after a crash between claim and credit finishes the same credit instead of
//! paying twice, and a code returned to circulation by a moderator's rejection gets a
//! fresh key when it is claimed again.
//!
//! Suspicious registrations (a code others tried first, a burst far above the seller's
//! usual rate, a success right after many failures) are claimed as `held`: the points
//! wait as pending and a `code_review` item goes to the moderation queue. Approval
//! releases them; rejection returns them and puts the code back in circulation.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use stimul_actors::ledger::AccountKey;
use stimul_actors::live::RealtimeCore;
use stimul_actors::participant::{Earn, ParticipantError};
use stimul_actors::rules::campaigns::{
    AttemptHistory, FraudLimits, Gate, HoldReason, NoOffer, choose_offer, code_points,
};
use stimul_actors::rules::codes::CodeStatus;
use stimul_actors::rules::codes::{CodeError, ProductCode};
use stimul_actors::rules::points::Points;
use stimul_actors::rules::routing::ItemKind;
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::db::{Clock, Db, Tx};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::moderation::{self, Effect, NewItem};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
const WEEK_MS: i64 = 7 * 24 * HOUR_MS;

/// `registerCode`'s body.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct RegisterCode {
    /// The code as typed (dashes, spaces and lower case are fine) or the QR payload.
    pub code: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationStatus {
    /// The points are available now.
    Credited,
    /// Held for a moderator's review; the points show as pending meanwhile.
    Pending,
}

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct RegisteredProduct {
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub kind: String,
    pub pack_size: i64,
}

/// The answer to a registration.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CodeRegistration {
    /// The code, as printed (`ABCD-EFGH-JKL`).
    pub code: String,
    pub status: RegistrationStatus,
    /// Points credited (or held), after the level multiplier, decimal string.
    #[schema(value_type = String)]
    pub points: Points,
    /// The product's base points before the multiplier.
    #[schema(value_type = String)]
    pub base_points: Points,
    pub product: RegisteredProduct,
    pub campaign_id: i64,
    pub transaction_id: i64,
    /// Why the registration waits for a moderator, when it does.
    pub review_reason: Option<HoldReason>,
}

/// What one attempt came to, for the log.
struct Logged<'a> {
    input: &'a str,
    code_id: Option<i64>,
    outcome: &'static str,
    reason: &'a str,
}

#[tracing::instrument(skip_all)]
async fn log_attempt(
    db: &Db,
    clock: &Clock,
    caller: &Principal,
    store_id: Option<i64>,
    attempt: Logged<'_>,
) -> ApiResult<()> {
    sqlx::query(
        "INSERT INTO code_attempts (program_id, participant_id, store_id, input, code_id, outcome, reason, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(caller.program_id())
    .bind(caller.id())
    .bind(store_id)
    .bind(attempt.input.chars().take(64).collect::<String>())
    .bind(attempt.code_id)
    .bind(attempt.outcome)
    .bind(attempt.reason)
    .bind(clock.now_ms())
    .execute(&db.pool)
    .await?;
    tracing::info!(
        participant = caller.id(),
        code_id = attempt.code_id,
        outcome = attempt.outcome,
        reason = attempt.reason,
        "code registration attempt"
    );
    Ok(())
}

#[tracing::instrument(skip_all)]
async fn count(db: &Db, sql: &'static str, binds: &[i64]) -> ApiResult<u32> {
    let mut query = sqlx::query_scalar::<_, i64>(sql);
    for bind in binds {
        query = query.bind(*bind);
    }
    let n = query.fetch_one(&db.pool).await?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// The counts the gate needs, before the code is looked up. Each stops at its limit
/// (the gate only asks whether it is reached), so a store flooding past its limit does
/// not make every later count read more rows.
#[tracing::instrument(skip_all, fields(participant = ?participant))]
async fn gate_history(
    db: &Db,
    limits: &FraudLimits,
    participant: i64,
    store_id: Option<i64>,
    now: i64,
) -> ApiResult<AttemptHistory> {
    let participant_last_minute = count(db,
        "SELECT COUNT(*) FROM (SELECT 1 FROM code_attempts WHERE participant_id = $1 AND created_at > $2 LIMIT $3) AS recent",
        &[participant, now - MINUTE_MS, i64::from(limits.participant_per_minute)],
    )
    .await?;
    let store_last_minute = match store_id {
        Some(store) => {
            count(db,
                "SELECT COUNT(*) FROM (SELECT 1 FROM code_attempts WHERE store_id = $1 AND created_at > $2 LIMIT $3) AS recent",
                &[store, now - MINUTE_MS, i64::from(limits.store_per_minute)],
            )
            .await?
        }
        None => 0,
    };
    // Failed attempts are the refusals a guesser collects: typos, unknown codes and
    // codes someone else registered (one's own repeat or a closed campaign are not).
    let failures_last_hour = count(db,
        "SELECT COUNT(*) FROM (SELECT 1 FROM code_attempts WHERE participant_id = $1 AND created_at > $2 AND outcome = 'refused' AND reason IN ('mistyped', 'unknown', 'registered_by_other') LIMIT $3) AS failed",
        &[participant, now - HOUR_MS, i64::from(limits.failures_to_block)],
    )
    .await?;
    Ok(AttemptHistory {
        participant_last_minute,
        store_last_minute,
        failures_last_hour,
        ..AttemptHistory::default()
    })
}

/// Adds what the hold rules need once the code is known.
#[tracing::instrument(skip_all, fields(participant = ?participant))]
async fn hold_history(
    db: &Db,
    participant: i64,
    code_id: i64,
    now: i64,
    mut history: AttemptHistory,
) -> ApiResult<AttemptHistory> {
    history.registered_last_hour = count(db,
        "SELECT COUNT(*) FROM code_attempts WHERE participant_id = $1 AND created_at > $2 AND outcome IN ('credited', 'held')",
        &[participant, now - HOUR_MS],
    )
    .await?;
    history.registered_last_week = count(db,
        "SELECT COUNT(*) FROM code_attempts WHERE participant_id = $1 AND created_at > $2 AND created_at <= $3 AND outcome IN ('credited', 'held')",
        &[participant, now - HOUR_MS - WEEK_MS, now - HOUR_MS],
    )
    .await?;
    history.others_tried_code = count(db,
        // Any other participant is enough to hold it: stop at the first.
        "SELECT COUNT(*) FROM (SELECT 1 FROM code_attempts WHERE code_id = $1 AND participant_id <> $2 LIMIT 1) AS others",
        &[code_id, participant],
    )
    .await?;
    Ok(history)
}

/// A code row as registration reads it.
#[derive(FromRow)]
struct CodeRow {
    id: i64,
    #[sqlx(try_from = "String")]
    status: CodeStatus,
    product_id: Option<i64>,
    registered_by: Option<i64>,
    registered_at: Option<i64>,
    campaign_id: Option<i64>,
    transaction_id: Option<i64>,
}

#[tracing::instrument(skip_all)]
async fn find_code(db: &Db, code: &ProductCode) -> ApiResult<Option<CodeRow>> {
    Ok(sqlx::query_as(
        "SELECT id, status, product_id, registered_by, registered_at, campaign_id, transaction_id FROM codes WHERE code = $1",
    )
    .bind(code.as_str())
    .fetch_optional(&db.pool)
    .await?)
}

/// The ledger key of a claim: the same claim always gets the same key.
fn ledger_key(code_id: i64, participant: i64, claimed_at: i64) -> String {
    format!("code:{code_id}:{participant}:{claimed_at}")
}

#[tracing::instrument(skip_all, fields(id = ?id))]
async fn product(db: &Db, id: i64) -> ApiResult<RegisteredProduct> {
    Ok(
        sqlx::query_as("SELECT id, sku, name, kind, pack_size FROM products WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await?,
    )
}

#[tracing::instrument(skip_all, fields(campaign_id = ?campaign_id, product_id = ?product_id))]
pub(super) async fn points_per_unit(
    db: &Db,
    campaign_id: i64,
    product_id: i64,
) -> ApiResult<Points> {
    let hundredths: i64 = sqlx::query_scalar(
        "SELECT points_per_unit FROM campaign_products WHERE campaign_id = $1 AND product_id = $2",
    )
    .bind(campaign_id)
    .bind(product_id)
    .fetch_one(&db.pool)
    .await?;
    Ok(Points::from_hundredths(hundredths))
}

fn mistyped(err: CodeError) -> ApiError {
    ApiError::new(
        ErrorCode::CodeMistyped,
        format!("{err}; check the code on the package and type it again"),
    )
}

/// Registers a code for the calling participant.
#[tracing::instrument(skip_all)]
pub async fn register(
    db: &Db,
    clock: &Clock,
    live: &Arc<RealtimeCore>,
    caller: &Principal,
    limits: &FraudLimits,
    input: &RegisterCode,
) -> ApiResult<CodeRegistration> {
    if !caller.account.kind.is_participant() {
        return Err(ApiError::forbidden(
            "codes are registered by participants; staff accounts earn no points",
        ));
    }
    let participant = caller.id();
    let store_id = caller.account.store_id;
    let now = clock.now_ms();
    let raw = input.code.trim();
    if raw.chars().count() > 200 {
        return Err(ApiError::field("code", "at most 200 characters"));
    }

    let history = gate_history(db, limits, participant, store_id, now).await?;
    match limits.gate(&history) {
        Gate::Open => {}
        Gate::Blocked => {
            let logged = Logged {
                input: raw,
                code_id: None,
                outcome: "blocked",
                reason: "too_many_failures",
            };
            log_attempt(db, clock, caller, store_id, logged).await?;
            let mut err = ApiError::new(
                ErrorCode::CodeAttemptsBlocked,
                "too many wrong codes in the last hour; registration is blocked for now",
            );
            err.retry_after = Some((HOUR_MS / 1000) as u64);
            return Err(err);
        }
        Gate::RateLimited { store } => {
            let reason = if store {
                "rate_limited_store"
            } else {
                "rate_limited_participant"
            };
            let logged = Logged {
                input: raw,
                code_id: None,
                outcome: "blocked",
                reason,
            };
            log_attempt(db, clock, caller, store_id, logged).await?;
            let mut err = ApiError::new(
                ErrorCode::RateLimited,
                if store {
                    "your store registers codes too fast; wait a minute"
                } else {
                    "you register codes too fast; wait a minute"
                },
            );
            err.retry_after = Some((MINUTE_MS / 1000) as u64);
            return Err(err);
        }
    }

    let refuse = |code_id: Option<i64>, reason: &'static str, err: ApiError| async move {
        let logged = Logged {
            input: raw,
            code_id,
            outcome: "refused",
            reason,
        };
        log_attempt(db, clock, caller, store_id, logged).await?;
        Err::<CodeRegistration, ApiError>(err)
    };

    let code = match ProductCode::parse_scanned(raw) {
        Ok(code) => code,
        Err(err) => return refuse(None, "mistyped", mistyped(err)).await,
    };
    let Some(row) = find_code(db, &code).await? else {
        return refuse(
            None,
            "unknown",
            ApiError::new(
                ErrorCode::CodeUnknown,
                format!("there is no code {code}; check it against the package"),
            ),
        )
        .await;
    };
    let Some(product_id) = row.product_id.filter(|_| row.status != CodeStatus::Pool) else {
        // Generated but never printed: as far as anyone outside knows, it does not exist.
        return refuse(
            Some(row.id),
            "unknown",
            ApiError::new(
                ErrorCode::CodeUnknown,
                format!("there is no code {code}; check it against the package"),
            ),
        )
        .await;
    };
    if row.status != CodeStatus::Issued {
        if row.registered_by == Some(participant) {
            if row.transaction_id.is_none()
                && let (Some(campaign_id), Some(claimed_at)) = (row.campaign_id, row.registered_at)
            {
                // Our own claim whose credit never finished (a crash): finish it.
                let held = row.status == CodeStatus::Held;
                return credit(
                    db,
                    clock,
                    live,
                    caller,
                    &code,
                    row.id,
                    product_id,
                    campaign_id,
                    claimed_at,
                    held.then_some(HoldReason::SharedCode),
                )
                .await;
            }
            return refuse(
                Some(row.id),
                "registered_by_self",
                ApiError::new(
                    ErrorCode::CodeAlreadyRegistered,
                    format!("you already registered code {code}"),
                ),
            )
            .await;
        }
        return refuse(
            Some(row.id),
            "registered_by_other",
            ApiError::new(
                ErrorCode::CodeAlreadyRegistered,
                format!(
                    "code {code} was already registered by another participant; a code counts once"
                ),
            ),
        )
        .await;
    }

    let offers = offers_for(db, caller.program_id(), product_id).await?;
    let earner = super::visibility::audience_member(db, live, participant).await?;
    let campaign_id = match choose_offer(&offers, &earner, now) {
        Ok(id) => id,
        Err(NoOffer::Inactive(why)) => {
            return refuse(
                Some(row.id),
                "campaign_inactive",
                ApiError::new(ErrorCode::CampaignInactive, format!("code {code}: {why}")),
            )
            .await;
        }
        Err(NoOffer::NotEligible(why)) => {
            return refuse(
                Some(row.id),
                "not_eligible",
                ApiError::new(ErrorCode::NotEligible, format!("code {code}: {why}")),
            )
            .await;
        }
    };

    let history = hold_history(db, participant, row.id, now, history).await?;
    let hold = limits.hold(&history);
    let claimed = sqlx::query(
        "UPDATE codes SET status = $1, registered_by = $2, registered_at = $3, campaign_id = $4
         WHERE id = $5 AND status = 'issued'",
    )
    .bind(
        if hold.is_some() {
            CodeStatus::Held
        } else {
            CodeStatus::Registered
        }
        .as_str(),
    )
    .bind(participant)
    .bind(now)
    .bind(campaign_id)
    .bind(row.id)
    .execute(&db.pool)
    .await?
    .rows_affected();
    if claimed != 1 {
        return refuse(
            Some(row.id),
            "registered_by_other",
            ApiError::new(
                ErrorCode::CodeAlreadyRegistered,
                format!(
                    "code {code} was registered by someone else a moment ago; a code counts once"
                ),
            ),
        )
        .await;
    }
    credit(
        db,
        clock,
        live,
        caller,
        &code,
        row.id,
        product_id,
        campaign_id,
        now,
        hold,
    )
    .await
}

/// Campaigns offering a product, with their state.
#[tracing::instrument(skip_all, fields(program_id = ?program_id, product_id = ?product_id))]
pub(super) async fn offers_for(
    db: &Db,
    program_id: i64,
    product_id: i64,
) -> ApiResult<Vec<stimul_actors::rules::campaigns::Offer>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT c.id FROM campaigns c JOIN campaign_products cp ON cp.campaign_id = c.id
         WHERE c.program_id = $1 AND cp.product_id = $2 ORDER BY c.id",
    )
    .bind(program_id)
    .bind(product_id)
    .fetch_all(&db.pool)
    .await?;
    let mut conn = db.pool.acquire().await?;
    let mut offers = Vec::with_capacity(ids.len());
    for id in ids {
        offers.push(super::rows::get(&mut conn, program_id, id).await?.offer());
    }
    Ok(offers)
}

/// Credits (or holds) a claimed code and records the outcome. Undoes the claim when
/// the fund cannot pay, so the code stays registrable once it is topped up.
#[allow(clippy::too_many_arguments)]
#[tracing::instrument(skip_all, fields(product_id = ?product_id, campaign_id = ?campaign_id, claimed_at = ?claimed_at))]
async fn credit(
    db: &Db,
    clock: &Clock,
    live: &Arc<RealtimeCore>,
    caller: &Principal,
    code: &ProductCode,
    code_id: i64,
    product_id: i64,
    campaign_id: i64,
    claimed_at: i64,
    hold: Option<HoldReason>,
) -> ApiResult<CodeRegistration> {
    let participant = caller.id();
    let store_id = caller.account.store_id;
    let product = product(db, product_id).await?;
    let per_unit = points_per_unit(db, campaign_id, product_id).await?;
    let base = code_points(per_unit, product.pack_size)
        .ok_or_else(|| ApiError::field("code", "the product's points overflow"))?;
    let earn = Earn {
        base,
        reason: "code".into(),
        idempotency_key: ledger_key(code_id, participant, claimed_at),
        pay_from: AccountKey::CampaignFund(campaign_id),
        hold: hold.is_some(),
        source: Some(("code".into(), code.as_str().into())),
        actor_id: None,
        comment: Some(product.name.clone()),
        completed_tasks: 0,
        fingerprint: None,
    };
    let outcome = match super::funding::earn_from_fund(db, live, participant, campaign_id, earn)
        .await?
    {
        Ok(outcome) => outcome,
        Err(err) => {
            if matches!(err, ParticipantError::Ledger(_)) {
                // Nothing moved: give the code back so it can be registered later.
                sqlx::query(
                    "UPDATE codes SET status = 'issued', registered_by = NULL, registered_at = NULL, campaign_id = NULL
                     WHERE id = $1 AND registered_by = $2 AND transaction_id IS NULL",
                )
                .bind(code_id)
                .bind(participant)
                .execute(&db.pool)
                .await?;
            }
            let err = ApiError::from(err);
            let logged = Logged {
                input: code.as_str(),
                code_id: Some(code_id),
                outcome: "refused",
                reason: err.code.as_str(),
            };
            log_attempt(db, clock, caller, store_id, logged).await?;
            return Err(err);
        }
    };
    let mut tx: Tx = db.begin().await?;
    sqlx::query("UPDATE codes SET transaction_id = $1 WHERE id = $2")
        .bind(outcome.transaction_id)
        .bind(code_id)
        .execute(&mut *tx)
        .await?;
    if let Some(reason) = hold {
        let region_id: Option<i64> = match store_id {
            Some(store) => {
                sqlx::query_scalar("SELECT region_id FROM stores WHERE id = $1")
                    .bind(store)
                    .fetch_one(&mut *tx)
                    .await?
            }
            None => None,
        };
        let item = NewItem {
            kind: ItemKind::CodeReview,
            subject_id: code_id,
            participant_id: Some(participant),
            store_id,
            region_id,
            summary: serde_json::json!({
                "code": code.to_string(),
                "product": { "id": product.id, "sku": product.sku, "name": product.name },
                "campaign_id": campaign_id,
                "points": outcome.amount,
                "reason": reason,
                "why": reason.describe(),
            }),
        };
        moderation::enqueue(&mut tx, caller.program_id(), &item, clock.now_ms()).await?;
    }
    crate::webhooks::emit_in(
        &mut tx,
        caller.program_id(),
        crate::webhooks::EventType::CodeRegistered,
        serde_json::json!({
            "code": code.to_string(),
            "participant_id": participant,
            "store_id": store_id,
            "product_id": product.id,
            "sku": product.sku,
            "campaign_id": campaign_id,
            "points": outcome.amount,
            "held": hold.is_some(),
            "transaction_id": outcome.transaction_id,
        }),
        clock.now_ms(),
    )
    .await?;
    tx.commit().await?;
    if hold.is_some() {
        moderation::announce(live, caller.program_id());
    }
    let logged = Logged {
        input: code.as_str(),
        code_id: Some(code_id),
        outcome: if hold.is_some() { "held" } else { "credited" },
        reason: hold.map_or("ok", HoldReason::as_str),
    };
    log_attempt(db, clock, caller, store_id, logged).await?;
    Ok(CodeRegistration {
        code: code.to_string(),
        status: if hold.is_some() {
            RegistrationStatus::Pending
        } else {
            RegistrationStatus::Credited
        },
        points: outcome.amount,
        base_points: base,
        product,
        campaign_id,
        transaction_id: outcome.transaction_id,
        review_reason: hold,
    })
}

/// A held registration: who registered the code, and the hold of their points.
#[derive(FromRow)]
struct HeldCodeRow {
    registered_by: Option<i64>,
    transaction_id: Option<i64>,
}

/// A moderator's decision on a held registration, inside the decision's transaction:
/// approval makes the code registered for good; rejection puts it back in circulation.
/// Either way the held points are settled after the commit.
#[tracing::instrument(skip_all, fields(approve = ?approve))]
pub async fn decide_in_transaction(tx: &mut Tx, code_id: i64, approve: bool) -> ApiResult<Effect> {
    let row: Option<HeldCodeRow> = sqlx::query_as(
        "SELECT registered_by, transaction_id FROM codes WHERE id = $1 AND status = 'held'",
    )
    .bind(code_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Err(ApiError::invalid_state(format!(
            "code {code_id} is not held for review"
        )));
    };
    let (Some(participant_id), Some(hold_transaction_id)) = (row.registered_by, row.transaction_id)
    else {
        return Err(ApiError::invalid_state(format!(
            "code {code_id}'s held credit is not posted yet; try again in a moment"
        )));
    };
    let update = if approve {
        "UPDATE codes SET status = 'registered' WHERE id = $1"
    } else {
        "UPDATE codes SET status = 'issued', registered_by = NULL, registered_at = NULL, campaign_id = NULL, transaction_id = NULL WHERE id = $1"
    };
    sqlx::query(update).bind(code_id).execute(&mut **tx).await?;
    Ok(Effect::SettleHold {
        participant_id,
        hold_transaction_id,
        confirm: approve,
        completed_tasks: 0,
    })
}

/// Decides `code_review` items for moderation.
pub struct CodeReviewDecisions;

#[async_trait::async_trait]
impl moderation::DecisionHandler for CodeReviewDecisions {
    async fn decide(
        &self,
        tx: &mut Tx,
        decision: &moderation::Decision<'_>,
    ) -> ApiResult<moderation::Outcome> {
        let approve = decision.request.decision == moderation::DecisionKind::Approve;
        let settle = decide_in_transaction(tx, decision.item.subject_id, approve).await?;
        Ok(moderation::Outcome::settle(settle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_keeps_its_key_and_a_new_claim_gets_another() {
        assert_eq!(ledger_key(7, 3, 1000), ledger_key(7, 3, 1000));
        assert_ne!(ledger_key(7, 3, 1000), ledger_key(7, 3, 1001));
        assert_ne!(ledger_key(7, 3, 1000), ledger_key(7, 4, 1000));
    }
}

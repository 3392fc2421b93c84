//! Payouts to a bank card: points leaving as money.
//!
//! A participant adds a card once (`addPayoutCard`): the number is checked (Luhn) and
//! handed straight to the payout provider, which answers a token; only the token and the
//! masked number (first six, last four) are kept. This one call goes to the provider
//! directly rather than through the effect queue, because the queue stores what it will
//! send and a card number must never be stored.
//!
//! `requestPayout` reserves the amount (participant → order hold) in the transaction
//! that records the payout, after checking the program's minimum and the limits per
//! day and per 30 days (counted inside that transaction, whose reservation locks the
//! participant's account, so two racing requests cannot both squeeze under a limit),
//! and queues a `payout` moderation item. A moderator's approval queues
//! [`PAYOUT_EFFECT`], which pays through the provider with our id (`payout-{id}`) as its
//! idempotency key: paid captures the points (hold → redeemed), a refusal or no answer
//! after the kind's tries fails it and returns them; a rejection returns them.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use stimul_actors::ledger::{AccountKey, LedgerError, Movement, Purpose};
use stimul_actors::live::RealtimeCore;
use stimul_actors::moderation::ItemView;
use stimul_actors::rules::points::Points;
use stimul_actors::rules::rewards::{CardNumber, PayoutLimits, PayoutRefusal, PayoutStatus};
use stimul_actors::rules::routing::ItemKind;
use utoipa::ToSchema;

use super::orders::{Spending, spend_request};
use super::repo::{self, PayoutCardRow, PayoutRow};
use crate::auth::Principal;
use crate::config::PayoutSettings;
use crate::db::{Clock, Db, Tx};
use crate::effects::{self, Effect, EffectHandler, Effects, Failure, NewEffect};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::integrations::DeliveryError;
use crate::integrations::payouts::PayoutProvider;
use crate::integrations::rewards::ProviderStatus;
use crate::ledger::SqlActorStorage;
use crate::moderation::{self, DecisionKind, DecisionRequest, NewItem};
use crate::paging::{Page, page_of};

/// The effect kind that pays an approved payout, or returns a rejected one's points.
pub const PAYOUT_EFFECT: &str = "payouts.process";
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CardInput {
    /// The card number; spaces and dashes are fine. Never stored.
    pub number: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PayoutCard {
    pub id: i64,
    /// First six and last four digits.
    pub masked: String,
    pub created_at: i64,
}

impl From<PayoutCardRow> for PayoutCard {
    fn from(row: PayoutCardRow) -> Self {
        Self {
            id: row.id,
            masked: row.masked,
            created_at: row.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PayoutInput {
    pub card_id: i64,
    /// Decimal string.
    pub amount: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Payout {
    pub id: i64,
    pub card_id: i64,
    pub card: String,
    #[schema(value_type = String)]
    pub amount: Points,
    pub status: PayoutStatus,
    pub failure_reason: Option<String>,
    pub hold_transaction_id: Option<i64>,
    pub settled_transaction_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<PayoutRow> for Payout {
    fn from(row: PayoutRow) -> Self {
        Self {
            id: row.id,
            card_id: row.card_id,
            card: row.masked,
            amount: Points::from_hundredths(row.amount),
            status: row.status,
            failure_reason: row.failure_reason,
            hold_transaction_id: row.hold_transaction_id,
            settled_transaction_id: row.settled_transaction_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

fn participant_only(caller: &Principal) -> ApiResult<()> {
    if caller.account.kind.is_participant() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "payouts are requested by participants for their own points",
        ))
    }
}

/// What settling a payout's hold reaches (requests and decisions use them too).
#[derive(Clone, Copy)]
pub struct Payouts<'a> {
    /// Reads, and the transaction the settlement is written in.
    pub db: &'a Db,
    /// Stamps the settlement.
    pub clock: &'a Clock,
    /// Announces the posting and `payout_status` once committed.
    pub live: &'a Arc<RealtimeCore>,
    /// Posts the hold's capture or release in the payout's own transaction.
    pub ledger: &'a SqlActorStorage,
}

/// `addPayoutCard`.
#[tracing::instrument(skip(db, clock, provider, caller, input))]
pub async fn add_card(
    db: &Db,
    clock: &Clock,
    provider: &dyn PayoutProvider,
    caller: &Principal,
    input: &CardInput,
) -> ApiResult<PayoutCard> {
    participant_only(caller)?;
    let card = CardNumber::parse(&input.number).map_err(|e| ApiError::field("number", e))?;
    let token = provider.tokenize(&card).await.map_err(|err| match err {
        DeliveryError::Permanent(reason) => ApiError::field("number", reason),
        DeliveryError::Retryable(reason) => ApiError::new(
            ErrorCode::ServiceUnavailable,
            format!("the payout provider is unavailable; try again ({reason})"),
        ),
    })?;
    let row = repo::insert_card(
        db,
        caller.program_id(),
        caller.id(),
        &token,
        &card.masked(),
        clock.now_ms(),
    )
    .await?;
    Ok(row.into())
}

/// `listPayoutCards`.
#[tracing::instrument(skip_all)]
pub async fn cards(db: &Db, caller: &Principal) -> ApiResult<Vec<PayoutCard>> {
    participant_only(caller)?;
    Ok(repo::cards(&db.pool, caller.id())
        .await?
        .into_iter()
        .map(PayoutCard::from)
        .collect())
}

fn limits(settings: &PayoutSettings) -> ApiResult<PayoutLimits> {
    let parse = |name: &str, value: &str| {
        Points::parse(value).map_err(|e| {
            ApiError::internal(anyhow::anyhow!("payouts.{name} is not an amount: {e}"))
        })
    };
    Ok(PayoutLimits {
        minimum: parse("minimum", &settings.minimum)?,
        per_day: parse("per_day", &settings.per_day)?,
        per_month: parse("per_month", &settings.per_month)?,
    })
}

/// The payout rules as they apply to the caller now (`getPayoutRules`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PayoutRules {
    #[schema(value_type = String)]
    pub minimum: Points,
    #[schema(value_type = String)]
    pub per_day: Points,
    #[schema(value_type = String)]
    pub per_month: Points,
    /// What may still be paid out in the next 24 hours and 30 days.
    #[schema(value_type = String)]
    pub left_today: Points,
    #[schema(value_type = String)]
    pub left_this_month: Points,
}

/// `getPayoutRules`: the program's minimum and limits, and what is left of them.
#[tracing::instrument(skip_all)]
pub async fn rules(
    db: &Db,
    clock: &Clock,
    settings: &PayoutSettings,
    caller: &Principal,
) -> ApiResult<PayoutRules> {
    participant_only(caller)?;
    let limits = limits(settings)?;
    let now = clock.now_ms();
    let mut conn = db.pool.acquire().await?;
    let last_day = repo::paid_out_since(&mut *conn, caller.id(), now - DAY_MS, 0).await?;
    let last_month = repo::paid_out_since(&mut *conn, caller.id(), now - 30 * DAY_MS, 0).await?;
    drop(conn);
    let left =
        |limit: Points, used: i64| Points::from_hundredths((limit.hundredths() - used).max(0));
    Ok(PayoutRules {
        minimum: limits.minimum,
        per_day: limits.per_day,
        per_month: limits.per_month,
        left_today: left(limits.per_day, last_day),
        left_this_month: left(limits.per_month, last_month),
    })
}

/// The `payout_status` event on `me`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PayoutStatusChanged {
    pub payout_id: i64,
    pub status: PayoutStatus,
    pub failure_reason: Option<String>,
}

impl stimul_actors::hub::LiveEvent for PayoutStatusChanged {
    const NAME: &'static str = "payout_status";
}

fn push(
    live: &Arc<RealtimeCore>,
    participant: i64,
    payout_id: i64,
    status: PayoutStatus,
    reason: Option<&str>,
) {
    live.push(
        &stimul_actors::participant::topic(participant),
        &PayoutStatusChanged {
            payout_id,
            status,
            failure_reason: reason.map(str::to_string),
        },
    );
}

/// `requestPayout`: answers the payout and whether an earlier request with the same
/// key made it.
#[tracing::instrument(skip(payouts, settings, caller, input, key))]
pub async fn request(
    payouts: Payouts<'_>,
    settings: &PayoutSettings,
    caller: &Principal,
    input: &PayoutInput,
    key: Option<&str>,
) -> ApiResult<(Payout, bool)> {
    let Payouts {
        db,
        clock,
        live,
        ledger,
    } = payouts;
    participant_only(caller)?;
    let participant = caller.id();
    let program_id = caller.program_id();
    if let Some(key) = key
        && let Some(existing) = repo::payout_by_request_key(&db.pool, participant, key).await?
    {
        return Ok((existing.into(), true));
    }
    let amount =
        Points::parse(input.amount.trim()).map_err(|e| ApiError::field("amount", e.to_string()))?;
    if !amount.is_positive() {
        return Err(ApiError::field("amount", "must be more than zero"));
    }
    let limits = limits(settings)?;
    if let Err(refusal @ PayoutRefusal::BelowMinimum { .. }) =
        limits.check(amount, Points::ZERO, Points::ZERO)
    {
        return Err(ApiError::field("amount", refusal.to_string()));
    }
    let card = repo::cards(&db.pool, participant)
        .await?
        .into_iter()
        .find(|card| card.id == input.card_id)
        .ok_or_else(|| ApiError::field("card_id", "not one of your cards"))?;
    let region: Option<i64> = match caller.account.store_id {
        Some(store_id) => {
            sqlx::query_scalar("SELECT region_id FROM stores WHERE id = $1")
                .bind(store_id)
                .fetch_one(&db.pool)
                .await?
        }
        None => None,
    };
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let inserted = repo::insert_payout(
        &mut tx,
        program_id,
        participant,
        card.id,
        amount.hundredths(),
        key,
        now,
    )
    .await;
    let id = match inserted {
        Ok(id) => id,
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
            drop(tx);
            let existing = match key {
                Some(key) => repo::payout_by_request_key(&db.pool, participant, key).await?,
                None => None,
            };
            let existing = existing.ok_or_else(|| {
                ApiError::new(
                    ErrorCode::RequestInProgress,
                    "the same payout is being requested",
                )
            })?;
            return Ok((existing.into(), true));
        }
        Err(err) => return Err(err.into()),
    };
    let request = spend_request(
        program_id,
        participant,
        caller.account.store_id,
        Spending { kind: "payout", id },
        "reserve",
        Movement {
            from: AccountKey::Participant(participant),
            to: AccountKey::OrderHold(participant),
            amount,
            purpose: Purpose::Reservation,
        },
        Some(format!("payout to {}", card.masked)),
    );
    let committed = match ledger.post_in(&mut tx, &request).await? {
        Ok(committed) => committed,
        Err(LedgerError::InsufficientFunds { .. }) => {
            return Err(ApiError::new(
                ErrorCode::InsufficientPoints,
                format!("a payout of {amount} is more than you have available"),
            ));
        }
        Err(err) => return Err(ApiError::internal(anyhow::anyhow!("reserving: {err}"))),
    };
    // Counted after the reservation locked the participant's account: racing requests
    // of one participant are counted one after the other.
    let last_day = repo::paid_out_since(&mut *tx, participant, now - DAY_MS, id).await?;
    let last_month = repo::paid_out_since(&mut *tx, participant, now - 30 * DAY_MS, id).await?;
    if let Err(refusal) = limits.check(
        amount,
        Points::from_hundredths(last_day),
        Points::from_hundredths(last_month),
    ) {
        return Err(ApiError::new(
            ErrorCode::PayoutLimitExceeded,
            refusal.to_string(),
        ));
    }
    repo::set_payout_hold(&mut tx, id, committed.transaction_id).await?;
    let item = NewItem {
        kind: ItemKind::Payout,
        subject_id: id,
        participant_id: Some(participant),
        store_id: caller.account.store_id,
        region_id: region,
        summary: serde_json::json!({ "amount": amount, "card": card.masked }),
    };
    moderation::enqueue(&mut tx, program_id, &item, now).await?;
    tx.commit().await?;
    live.committed_elsewhere(&request, &committed);
    moderation::announce(live, program_id);
    let row = repo::payout(&db.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("payout {id}")))?;
    Ok((row.into(), false))
}

/// `listMyPayouts`.
#[tracing::instrument(skip_all, fields(after = ?after, limit = ?limit))]
pub async fn mine(db: &Db, caller: &Principal, after: i64, limit: i64) -> ApiResult<Page<Payout>> {
    participant_only(caller)?;
    let rows = repo::payouts_of(db, caller.id(), after, limit + 1).await?;
    Ok(page_of(
        rows.into_iter().map(Payout::from).collect(),
        limit,
        |p| p.id,
    ))
}

#[derive(Debug, Serialize, Deserialize)]
struct PayoutPayload {
    payout_id: i64,
}

/// A moderator's decision on a payout, inside the decision's transaction: approved
/// or rejected, and the effect that pays it or returns its points (returned, to run
/// after the commit).
#[tracing::instrument(skip_all)]
pub async fn decide_in_transaction(
    tx: &mut Tx,
    item: &ItemView,
    request: &DecisionRequest,
    now: i64,
) -> ApiResult<i64> {
    let row = repo::payout(&mut **tx, item.subject_id)
        .await?
        .filter(|row| row.status == PayoutStatus::Review)
        .ok_or_else(|| {
            ApiError::invalid_state(format!(
                "payout {} is not waiting for a decision",
                item.subject_id
            ))
        })?;
    let (status, reason) = match request.decision {
        DecisionKind::Approve => (PayoutStatus::Approved, None),
        DecisionKind::Reject | DecisionKind::Rework => (
            PayoutStatus::Rejected,
            request.comment.as_deref().or(request.reason.as_deref()),
        ),
    };
    repo::set_payout_status(
        tx,
        row.id,
        PayoutStatus::Review,
        status,
        reason,
        None,
        None,
        now,
    )
    .await?;
    effects::enqueue_for_caller(
        tx,
        &NewEffect {
            kind: PAYOUT_EFFECT,
            dedupe_key: Some(format!("payout:{}:process", row.id)),
            program_id: Some(row.program_id),
            payload: serde_json::to_value(PayoutPayload { payout_id: row.id })
                .map_err(ApiError::internal)?,
        },
        now,
    )
    .await
}

/// Decides `payout` items for moderation.
pub struct PayoutDecisions;

#[async_trait::async_trait]
impl moderation::DecisionHandler for PayoutDecisions {
    async fn decide(
        &self,
        tx: &mut Tx,
        decision: &moderation::Decision<'_>,
    ) -> ApiResult<moderation::Outcome> {
        let process =
            decide_in_transaction(tx, decision.item, decision.request, decision.now).await?;
        Ok(moderation::Outcome {
            settle: moderation::Effect::None,
            follow_ups: vec![process],
        })
    }
}

/// Ends a payout: moves it from `from` to `status` and captures or returns its points,
/// in one transaction.
#[tracing::instrument(skip_all, fields(capture = ?capture))]
async fn settle(
    payouts: Payouts<'_>,
    row: &PayoutRow,
    capture: bool,
    status: PayoutStatus,
    reason: Option<&str>,
    reference: Option<&str>,
) -> ApiResult<()> {
    let Payouts {
        db,
        clock,
        live,
        ledger,
    } = payouts;
    let now = clock.now_ms();
    let store_id: Option<i64> = sqlx::query_scalar("SELECT store_id FROM users WHERE id = $1")
        .bind(row.participant_id)
        .fetch_one(&db.pool)
        .await?;
    let amount = Points::from_hundredths(row.amount);
    let (step, movement) = if capture {
        (
            "capture",
            Movement {
                from: AccountKey::OrderHold(row.participant_id),
                to: AccountKey::Redeemed,
                amount,
                purpose: Purpose::Redemption,
            },
        )
    } else {
        (
            "release",
            Movement {
                from: AccountKey::OrderHold(row.participant_id),
                to: AccountKey::Participant(row.participant_id),
                amount,
                purpose: Purpose::Refund,
            },
        )
    };
    let request = spend_request(
        row.program_id,
        row.participant_id,
        store_id,
        Spending {
            kind: "payout",
            id: row.id,
        },
        step,
        movement,
        reason.map(str::to_string),
    );
    let mut tx = db.begin().await?;
    let posted = ledger
        .post_in(&mut tx, &request)
        .await?
        .map_err(|err| ApiError::internal(anyhow::anyhow!("settling payout {}: {err}", row.id)))?;
    repo::set_payout_status(
        &mut tx,
        row.id,
        row.status,
        status,
        reason,
        reference,
        Some(posted.transaction_id),
        now,
    )
    .await?;
    tx.commit().await?;
    live.committed_elsewhere(&request, &posted);
    push(live, row.participant_id, row.id, status, reason);
    Ok(())
}

/// Pays approved payouts and returns rejected ones' points (see the module header).
pub struct PayoutEffect {
    /// What settling the payout reaches.
    pub handles: super::EffectHandles,
    /// The provider that pays (the same one cards are tokenised with).
    pub provider: Arc<dyn PayoutProvider>,
    /// Tries before a payout the provider never answered fails (`payouts.max_attempts`).
    pub max_attempts: u32,
}

#[async_trait::async_trait]
impl EffectHandler for PayoutEffect {
    fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    async fn run(&self, _effects: &Effects, effect: &Effect) -> Result<(), Failure> {
        let payouts = self.handles.payouts();
        let (db, provider) = (payouts.db, &*self.provider);
        let PayoutPayload { payout_id } = effect.payload()?;
        let Some(row) = repo::payout(&db.pool, payout_id).await? else {
            return Err(Failure::Permanent(format!(
                "payout {payout_id} does not exist"
            )));
        };
        match row.status {
            PayoutStatus::Rejected if row.settled_transaction_id.is_none() => {
                settle(payouts, &row, false, PayoutStatus::Rejected, None, None).await?;
                return Ok(());
            }
            PayoutStatus::Approved => {
                if effect.attempt == 1 {
                    push(
                        payouts.live,
                        row.participant_id,
                        row.id,
                        PayoutStatus::Approved,
                        None,
                    );
                }
            }
            _ => return Ok(()),
        }
        let id = format!("payout-{payout_id}");
        let amount = Points::from_hundredths(row.amount).to_string();
        let answer = if row.provider_reference.is_some() {
            provider.status(&id).await
        } else {
            provider.pay(&id, &row.token, &amount).await
        };
        match answer {
            Ok(ProviderStatus::Done { reference, .. }) => {
                settle(
                    payouts,
                    &row,
                    true,
                    PayoutStatus::Paid,
                    None,
                    reference.as_deref(),
                )
                .await?;
                Ok(())
            }
            Ok(ProviderStatus::Processing { reference }) => {
                if let Some(reference) = reference {
                    repo::record_payout_reference(db, payout_id, &reference).await?;
                }
                Err(Failure::Retry("the provider is still paying".into()))
            }
            Ok(ProviderStatus::Failed { reason }) | Err(DeliveryError::Permanent(reason)) => {
                settle(
                    payouts,
                    &row,
                    false,
                    PayoutStatus::Failed,
                    Some(&reason),
                    None,
                )
                .await?;
                Ok(())
            }
            Err(DeliveryError::Retryable(reason)) => {
                if effect.attempt >= i64::from(self.max_attempts) {
                    let reason = format!(
                        "the provider did not answer after {} tries: {reason}",
                        effect.attempt
                    );
                    settle(
                        payouts,
                        &row,
                        false,
                        PayoutStatus::Failed,
                        Some(&reason),
                        None,
                    )
                    .await?;
                    return Ok(());
                }
                Err(Failure::Retry(reason))
            }
        }
    }
}

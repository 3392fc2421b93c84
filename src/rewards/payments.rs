//! Paying the shortfall of an order by card, where the program takes card payments.
//!
//! - **Checkout** (`orders::place` with `pay_shortfall`): the available points are
//!   reserved as for any order, the rest becomes a pending payment ([`open`]) and the
//!   order waits in `awaiting_payment`. The payment effect ([`PAYMENT_EFFECT`]) is run
//!   by the checkout itself, so its answer carries the provider's payment page.
//! - **Confirmation** ([`PaymentEffect`] asking the provider with backoff, or the
//!   provider's signed [`callback`]): only a success the provider reports, for exactly
//!   the amount asked, moves the order on to `placed` and queues its delivery, in one
//!   transaction. Nothing proceeds on a payment not seen confirmed.
//! - **No payment**: declined, or still unpaid when `payments.expire_ms` has passed,
//!   the order is cancelled and its points and stock return.
//! - **Refunds**: a paid order that ends undelivered (failed, cancelled by staff), or a
//!   payment that arrives after its order was cancelled, is refunded in full through
//!   [`REFUND_EFFECT`], once (the provider's key is ours).
//!
//! Card money is roubles, not points, so it never enters the ledger: the order's
//! `card_amount` and its payment row (with the provider's reference) are its record,
//! and the points part is captured or released like any order's.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use stimul_actors::rules::points::Points;
use stimul_actors::rules::rewards::CardPaymentStatus::{
    Cancelled, Pending, RefundPending, Succeeded,
};
use stimul_actors::rules::rewards::OrderStatus;

use super::orders::{self, Change, Orders};
use super::repo::{self, OrderRow, PaymentRow};
use crate::config::PaymentSettings;
use crate::db::Tx;
use crate::effects::{self, Effect, EffectHandler, Effects, Failure, NewEffect};
use crate::error::{ApiError, ApiResult};
use crate::integrations::DeliveryError;
use crate::integrations::payments::{
    PaymentAnswer, PaymentProvider, PaymentRequest, PaymentStatus,
};

/// The effect that asks for an order's card payment and follows it to an end.
pub const PAYMENT_EFFECT: &str = "payments.settle";
/// The effect that returns a payment taken for an order that ended undelivered.
pub const REFUND_EFFECT: &str = "payments.refund";

#[derive(Debug, Serialize, Deserialize)]
struct PaymentPayload {
    order_id: i64,
}

/// The provider's id of an order's payment: ours, its idempotency key.
fn payment_id(order_id: i64) -> String {
    format!("payment-{order_id}")
}

fn parse_payment_id(id: &str) -> Option<i64> {
    id.strip_prefix("payment-")?.parse().ok()
}

fn payload(order_id: i64) -> ApiResult<serde_json::Value> {
    serde_json::to_value(PaymentPayload { order_id }).map_err(ApiError::internal)
}

/// Writes the pending payment of `amount` for a new order and queues asking for it;
/// answers the effect's id for the checkout to run at once.
#[tracing::instrument(skip_all, fields(program_id = ?program_id, order_id = ?order_id))]
pub(super) async fn open(
    settings: &PaymentSettings,
    tx: &mut Tx,
    program_id: i64,
    order_id: i64,
    amount: Points,
    now: i64,
) -> ApiResult<i64> {
    let expires_at = now + settings.expire_ms;
    repo::insert_payment(
        tx,
        order_id,
        program_id,
        amount.hundredths(),
        expires_at,
        now,
    )
    .await?;
    effects::enqueue_for_caller(
        tx,
        &NewEffect {
            kind: PAYMENT_EFFECT,
            dedupe_key: Some(format!("order:{order_id}:payment")),
            program_id: Some(program_id),
            payload: payload(order_id)?,
        },
        now,
    )
    .await
}

/// An order with a card part ended undelivered (in the transaction that ends it): a
/// paid payment is queued for refund (answers true); one still pending is cancelled,
/// and should it be paid after all, [`confirm`] refunds it.
#[tracing::instrument(skip_all)]
pub(super) async fn on_order_ended(tx: &mut Tx, order: &OrderRow, now: i64) -> ApiResult<bool> {
    let refund =
        repo::set_payment_status(tx, order.id, Succeeded, RefundPending, None, now).await?;
    if refund {
        enqueue_refund(tx, order.program_id, order.id, now).await?;
    } else {
        repo::set_payment_status(
            tx,
            order.id,
            Pending,
            Cancelled,
            Some("the order ended before it was paid"),
            now,
        )
        .await?;
    }
    Ok(refund)
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id, order_id = ?order_id))]
async fn enqueue_refund(tx: &mut Tx, program_id: i64, order_id: i64, now: i64) -> ApiResult<()> {
    effects::enqueue(
        tx,
        &NewEffect {
            kind: REFUND_EFFECT,
            dedupe_key: Some(format!("order:{order_id}:refund")),
            program_id: Some(program_id),
            payload: payload(order_id)?,
        },
        now,
    )
    .await
    .map(|_| ())
}

/// Where applying a provider's word left the payment.
#[derive(Debug, PartialEq, Eq)]
enum Applied {
    /// Still pending: ask again later (or wait for the callback).
    Waiting,
    /// Confirmed, refused or otherwise ended: nothing more to ask.
    Ended,
}

/// Applies what the provider says about an order's payment.
#[tracing::instrument(skip_all, fields(order_id = ?order_id))]
async fn apply(orders: Orders<'_>, order_id: i64, status: PaymentStatus) -> ApiResult<Applied> {
    let Orders { db, clock, .. } = orders;
    match status {
        PaymentStatus::Pending {
            reference,
            confirmation_url,
        } => {
            repo::record_payment_page(
                &db.pool,
                order_id,
                reference.as_deref(),
                confirmation_url.as_deref(),
                clock.now_ms(),
            )
            .await?;
            Ok(Applied::Waiting)
        }
        PaymentStatus::Succeeded { reference, amount } => {
            confirm(orders, order_id, amount, reference.as_deref()).await?;
            Ok(Applied::Ended)
        }
        PaymentStatus::Failed { reason } => {
            end_unpaid(
                orders,
                order_id,
                &format!("the card payment failed: {reason}"),
            )
            .await?;
            Ok(Applied::Ended)
        }
    }
}

/// The provider confirmed `amount` paid. If the order still waits for it, the payment
/// is recorded, the order placed and its delivery queued, in one transaction; if the
/// order ended meanwhile, the money goes back. A second report changes nothing; a
/// different amount is refused and changes nothing.
#[tracing::instrument(skip_all, fields(order_id = ?order_id))]
async fn confirm(
    orders: Orders<'_>,
    order_id: i64,
    amount: Points,
    reference: Option<&str>,
) -> ApiResult<()> {
    let Orders {
        db,
        clock,
        live,
        effects,
        ledger,
    } = orders;
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let order = repo::order_for_update(&mut tx, db.backend, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("order {order_id}")))?;
    let payment = payment_of(&mut tx, order_id).await?;
    if payment.amount != amount.hundredths() {
        tracing::error!(order_id, paid = %amount, "a payment was reported for another amount than asked");
        return Err(ApiError::field(
            "amount",
            format!(
                "{amount} was reported paid, but {} was asked",
                Points::from_hundredths(payment.amount)
            ),
        ));
    }
    if !payment.status.awaits_confirmation() {
        // Already confirmed (or being refunded): a repeated report.
        return Ok(());
    }
    repo::record_payment_page(&mut *tx, order_id, reference, None, now).await?;
    let awaiting = order.status == OrderStatus::AwaitingPayment;
    if !(awaiting && payment.status == Pending) {
        // Paid after the order was cancelled or expired: returned in full.
        tracing::warn!(
            order_id,
            "a payment arrived for an order that no longer waits for it; refunding"
        );
        repo::set_payment_status(&mut tx, order_id, payment.status, RefundPending, None, now)
            .await?;
        enqueue_refund(&mut tx, order.program_id, order_id, now).await?;
        tx.commit().await?;
        effects.ring();
        return Ok(());
    }
    repo::set_payment_status(&mut tx, order_id, Pending, Succeeded, None, now).await?;
    let change = Change {
        next: OrderStatus::Placed,
        note: Some("paid by card"),
        actor_id: None,
        failure_reason: None,
    };
    let moved = orders::move_in(db, ledger, &mut tx, order_id, change, now).await?;
    orders::enqueue_fulfilment(&mut tx, order.program_id, order_id, now).await?;
    tx.commit().await?;
    moved.announce(live, effects);
    effects.ring();
    Ok(())
}

#[tracing::instrument(skip_all, fields(order_id = ?order_id))]
async fn payment_of(tx: &mut Tx, order_id: i64) -> ApiResult<PaymentRow> {
    repo::payment(&mut **tx, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("the payment of order {order_id}")))
}

/// The payment will not come: the order is cancelled with `reason` (points and stock
/// back, the payment marked cancelled) unless it already moved on.
#[tracing::instrument(skip_all, fields(order_id = ?order_id))]
async fn end_unpaid(orders: Orders<'_>, order_id: i64, reason: &str) -> ApiResult<()> {
    let Orders { .. } = orders;
    let change = Change {
        next: OrderStatus::Cancelled,
        note: None,
        actor_id: None,
        failure_reason: Some(reason),
    };
    match orders::move_to(orders, order_id, change).await {
        Ok(_) => Ok(()),
        // Paid or ended meanwhile.
        Err(err) if err.code == crate::error::ErrorCode::InvalidState => Ok(()),
        Err(err) => Err(err),
    }
}

/// Asks the provider for an order's payment, then follows it with backoff until it is
/// confirmed, refused, or unpaid past its time. Holds the provider.
pub struct PaymentEffect {
    /// What asking for the payment and moving the order reaches.
    pub handles: super::EffectHandles,
    pub provider: Arc<dyn PaymentProvider>,
    /// Where the payment page sends the buyer back.
    pub return_url: Option<String>,
    /// Tries before the queue parks it: enough to follow a payment past its expiry
    /// at the queue's longest backoff ([`PaymentEffect::attempts_for`]).
    pub max_attempts: u32,
}

impl PaymentEffect {
    /// Tries that outlast a wait of `expire_ms` (the backoff reaches its 5-minute cap
    /// after about 10 tries), with room for an unreachable provider afterwards.
    pub fn attempts_for(expire_ms: i64) -> u32 {
        let capped = u32::try_from(expire_ms / 300_000).unwrap_or(u32::MAX / 2);
        capped.saturating_add(effects::DEFAULT_MAX_ATTEMPTS)
    }
}

#[async_trait::async_trait]
impl EffectHandler for PaymentEffect {
    fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    async fn run(&self, effects: &Effects, effect: &Effect) -> Result<(), Failure> {
        let orders = self.handles.orders(effects);
        let Orders { db, clock, .. } = orders;
        let PaymentPayload { order_id } = effect.payload()?;
        let Some(payment) = repo::payment(&db.pool, order_id).await? else {
            return Err(Failure::Permanent(format!(
                "order {order_id} has no card payment"
            )));
        };
        if payment.status != Pending {
            return Ok(());
        }
        let id = payment_id(order_id);
        let answer = if payment.provider_reference.is_none() && payment.confirmation_url.is_none() {
            let request = PaymentRequest {
                id: id.clone(),
                amount: Points::from_hundredths(payment.amount).to_string(),
                description: format!("Order {order_id}"),
                return_url: self.return_url.clone(),
            };
            self.provider.create(&request).await
        } else {
            self.provider.status(&id).await
        };
        let applied = match answer {
            Ok(status) => apply(orders, order_id, status).await?,
            Err(DeliveryError::Permanent(reason)) => {
                // A refusal or an answer nobody can read: the buyer has nothing to pay.
                end_unpaid(
                    orders,
                    order_id,
                    &format!("the card payment could not be asked: {reason}"),
                )
                .await?;
                return Ok(());
            }
            // Unknown whether it was paid: never cancelled on a guess; asked again.
            Err(DeliveryError::Retryable(reason)) => return Err(Failure::Retry(reason)),
        };
        if applied == Applied::Ended {
            return Ok(());
        }
        if clock.now_ms() >= payment.expires_at {
            end_unpaid(orders, order_id, "the card payment did not come in time").await?;
            return Ok(());
        }
        Err(Failure::Retry("waiting for the card payment".into()))
    }
}

/// Refunds a payment whose order ended undelivered.
pub struct RefundEffect {
    /// The payment's row and the clock (only those are used).
    pub handles: super::EffectHandles,
    pub provider: Arc<dyn PaymentProvider>,
}

#[async_trait::async_trait]
impl EffectHandler for RefundEffect {
    async fn run(&self, _effects: &Effects, effect: &Effect) -> Result<(), Failure> {
        let (db, clock) = (&self.handles.db, &self.handles.clock);
        let PaymentPayload { order_id } = effect.payload()?;
        let Some(payment) = repo::payment(&db.pool, order_id).await? else {
            return Err(Failure::Permanent(format!(
                "order {order_id} has no card payment"
            )));
        };
        if payment.status != RefundPending {
            return Ok(());
        }
        let amount = Points::from_hundredths(payment.amount).to_string();
        self.provider.refund(&payment_id(order_id), &amount).await?;
        repo::record_refunded(db, order_id, clock.now_ms()).await?;
        tracing::info!(order_id, %amount, "card payment refunded");
        Ok(())
    }
}

/// The payment provider's signed callback about an order's payment (the body as its
/// API answers a status).
#[tracing::instrument(skip(orders, settings, body, signature))]
pub async fn callback(
    orders: Orders<'_>,
    settings: &PaymentSettings,
    body: &[u8],
    signature: Option<&str>,
) -> ApiResult<()> {
    let Orders { db, .. } = orders;
    crate::integrations::signature::verify_callback(
        settings.callback_secret.as_ref(),
        body,
        signature,
    )?;
    let answer: PaymentAnswer = serde_json::from_slice(body).map_err(|err| {
        ApiError::new(
            crate::error::ErrorCode::InvalidJson,
            format!("the callback is unreadable: {err}"),
        )
    })?;
    let order_id = answer
        .id
        .as_deref()
        .and_then(parse_payment_id)
        .ok_or_else(|| ApiError::field("id", "not a payment of ours"))?;
    if repo::payment(&db.pool, order_id).await?.is_none() {
        return Err(ApiError::not_found(format!("payment {order_id}")));
    }
    let status = answer
        .into_status()
        .map_err(|err| ApiError::field("status", err.to_string()))?;
    apply(orders, order_id, status).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payment_id_names_its_order_and_nothing_else() {
        assert_eq!(payment_id(12), "payment-12");
        assert_eq!(parse_payment_id("payment-12"), Some(12));
        assert_eq!(parse_payment_id("order-12-1"), None);
        assert_eq!(parse_payment_id("payment-x"), None);
    }
}

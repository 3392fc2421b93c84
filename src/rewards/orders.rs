//! Orders: points leaving the system, exactly once and each step a ledger posting.
//!
//! - **Checkout** ([`place`]): in one database transaction the order and its lines are
//!   written, stock is taken (a conditional update per reward, in id order), the total
//!   moves from the participant's available points to the program's order-hold account
//!   (the ledger's own posting code, inside this transaction), and the fulfilment
//!   effect is queued. Insufficient points, empty stock, a reward switched off or not
//!   offered to the caller: each refuses with its own problem and writes nothing. The
//!   checkout's `Idempotency-Key` is stored on the order, so a retry (even after a crash
//!   between the commit and the answer) finds this order instead of placing another.
//! - **Fulfilment** ([`FULFIL_EFFECT`], on the effect queue): every provider line is
//!   ordered with our id (`order-{order}-{line}`) as the provider's idempotency key, so
//!   a retry after a timeout never buys twice; a line the provider is still working on
//!   is asked again with backoff or settled by its signed callback ([`callback`]).
//!   When every line is delivered the order is `fulfilled` and its points captured
//!   (hold → redeemed); a provider's refusal or unreadable answer fails it and returns
//!   the points (hold → participant) with the stock. Goods and merch wait for staff
//!   (`shipped`, then `delivered`, which captures).
//! - Every change of status is kept in the order's history and pushed on `me` as
//!   `order_status`. Certificates (code, PIN) are shown to the order's owner only and
//!   never logged.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use stimul_actors::ledger::{
    AccountKey, Committed, LedgerError, Movement, Purpose, TransactionRequest, TransactionStatus,
};
use stimul_actors::live::RealtimeCore;
use stimul_actors::rules::points::Points;
use stimul_actors::rules::rewards::{
    CardPaymentStatus, OrderStatus, PaymentSplit, RewardKind, Settlement, on_offer, order_total,
    split_payment,
};
use utoipa::{IntoParams, ToSchema};

use super::repo::{self, OrderItemRow, OrderQuery, OrderRow};
use crate::access::{Permission, Section};
use crate::auth::Principal;
use crate::config::{PaymentSettings, Settings};
use crate::db::{Clock, Db};
use crate::effects::{self, Effect, EffectHandler, Effects, Failure, NewEffect};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::integrations::DeliveryError;
use crate::integrations::rewards::{ProviderOrder, ProviderStatus, RewardProvider};
use crate::integrations::topups::{Topup, TopupProvider};
use crate::ledger::SqlActorStorage;
use crate::paging::{Page, page_of};

/// The effect kind that gets an order's rewards delivered.
pub const FULFIL_EFFECT: &str = "rewards.fulfil";
/// Most lines in one order.
const MAX_LINES: usize = 20;

/// One line of a checkout.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct OrderLineInput {
    pub reward_id: i64,
    /// 1 when absent.
    pub quantity: Option<i64>,
    /// The chosen face value of a reward sold by amount, decimal string.
    pub amount: Option<String>,
}

/// Where goods go (required when the order holds goods or merch); `phone` is also the
/// number a phone top-up goes to (the participant's own when absent).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
pub struct Delivery {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub comment: Option<String>,
}

/// `placeOrder`'s body.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct OrderInput {
    pub items: Vec<OrderLineInput>,
    pub delivery: Option<Delivery>,
    /// Pay what the available points do not cover by card (when the program takes
    /// card payments): the order then waits in `awaiting_payment` for the payment.
    pub pay_shortfall: Option<bool>,
}

/// A delivered certificate: shown to the order's owner only.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Certificate {
    pub code: Option<String>,
    pub pin: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderItem {
    pub reward_id: i64,
    pub kind: String,
    pub title: String,
    pub quantity: i64,
    #[schema(value_type = String)]
    pub unit_price: Points,
    #[schema(value_type = String)]
    pub amount: Points,
    pub delivered: bool,
    /// Only in the owner's view, once delivered.
    pub certificate: Option<Certificate>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderEvent {
    pub status: String,
    pub note: Option<String>,
    pub at: i64,
}

/// An order as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub id: i64,
    pub participant_id: i64,
    pub status: OrderStatus,
    #[schema(value_type = String)]
    pub total: Points,
    /// The part of the total paid with points (all of it unless a card pays the rest).
    #[schema(value_type = String)]
    pub points: Points,
    /// The card payment of the rest, when there is one.
    pub payment: Option<OrderPayment>,
    pub items: Vec<OrderItem>,
    pub delivery: Option<Delivery>,
    pub failure_reason: Option<String>,
    /// The reservation's ledger transaction; then the capture's or the return's.
    pub hold_transaction_id: Option<i64>,
    pub settled_transaction_id: Option<i64>,
    pub history: Vec<OrderEvent>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The card payment of the part of an order points do not cover.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderPayment {
    #[schema(value_type = String)]
    pub amount: Points,
    pub status: CardPaymentStatus,
    /// The provider's payment page, while pending; shown to the buyer only.
    pub confirmation_url: Option<String>,
    /// When an unpaid order is cancelled (epoch ms).
    pub expires_at: i64,
    /// Why it was never paid.
    pub reason: Option<String>,
}

/// The `order_status` event on `me`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderStatusChanged {
    pub order_id: i64,
    pub status: OrderStatus,
    pub failure_reason: Option<String>,
}

impl stimul_actors::hub::LiveEvent for OrderStatusChanged {
    const NAME: &'static str = "order_status";
}

#[derive(Debug, Serialize, Deserialize)]
struct FulfilPayload {
    order_id: i64,
}

fn kind_of(item: &OrderItemRow) -> ApiResult<RewardKind> {
    RewardKind::parse(&item.kind).map_err(|e| ApiError::internal(anyhow::anyhow!(e)))
}

/// Reads an order with its lines and history; the certificates only for its owner.
#[tracing::instrument(skip_all, fields(owner_view = ?owner_view))]
async fn view(db: &Db, row: OrderRow, owner_view: bool) -> ApiResult<Order> {
    let mut conn = db.pool.acquire().await?;
    let items = repo::items(&mut *conn, row.id).await?;
    let history = repo::history(&mut *conn, row.id).await?;
    let payment = if row.card_amount > 0 {
        repo::payment(&mut *conn, row.id).await?
    } else {
        None
    };
    drop(conn);
    Ok(Order {
        id: row.id,
        participant_id: row.participant_id,
        points: points_of(&row),
        status: row.status,
        total: Points::from_hundredths(row.total),
        payment: payment.map(|payment| OrderPayment {
            amount: Points::from_hundredths(payment.amount),
            confirmation_url: (owner_view && payment.status == CardPaymentStatus::Pending)
                .then_some(payment.confirmation_url)
                .flatten(),
            status: payment.status,
            expires_at: payment.expires_at,
            reason: payment.reason,
        }),
        items: items
            .into_iter()
            .map(|item| OrderItem {
                reward_id: item.reward_id,
                kind: item.kind,
                title: item.title,
                quantity: item.quantity,
                unit_price: Points::from_hundredths(item.unit_price),
                amount: Points::from_hundredths(item.unit_price.saturating_mul(item.quantity)),
                delivered: item.delivered_at.is_some(),
                certificate: (owner_view
                    && (item.certificate_code.is_some() || item.certificate_pin.is_some()))
                .then_some(Certificate {
                    code: item.certificate_code,
                    pin: item.certificate_pin,
                }),
            })
            .collect(),
        delivery: row
            .delivery
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok()),
        failure_reason: row.failure_reason,
        hold_transaction_id: row.hold_transaction_id,
        settled_transaction_id: row.settled_transaction_id,
        history: history
            .into_iter()
            .map(|h| OrderEvent {
                status: h.status,
                note: h.note,
                at: h.created_at,
            })
            .collect(),
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// A checked line, ready to write.
struct Line {
    reward_id: i64,
    quantity: i64,
    unit_price: Points,
    total: Points,
    title: String,
}

fn field(errors: &mut Vec<FieldError>, field: String, message: impl Into<String>) {
    errors.push(FieldError {
        field,
        message: message.into(),
    });
}

fn nonempty(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !v.trim().is_empty())
}

/// `placeOrder`: answers the order and whether it was placed by an earlier request with
/// the same key.
#[tracing::instrument(skip(orders, settings, caller, input, key))]
pub async fn place(
    orders: Orders<'_>,
    settings: &PaymentSettings,
    caller: &Principal,
    input: &OrderInput,
    key: Option<&str>,
) -> ApiResult<(Order, bool)> {
    let Orders {
        db,
        clock,
        live,
        effects,
        ledger,
    } = orders;
    if !caller.account.kind.is_participant() {
        return Err(ApiError::forbidden(
            "orders are placed by participants with their own points",
        ));
    }
    let participant = caller.id();
    let program_id = caller.program_id();
    if let Some(key) = key
        && let Some(existing) = repo::order_by_request_key(&db.pool, participant, key).await?
    {
        return Ok((view(db, existing, true).await?, true));
    }
    let mut errors = Vec::new();
    if input.items.is_empty() || input.items.len() > MAX_LINES {
        field(
            &mut errors,
            "items".into(),
            format!("1 to {MAX_LINES} lines"),
        );
    }
    let delivery = input.delivery.clone().unwrap_or_default();
    for (name, value, max) in [
        ("name", &delivery.name, 200),
        ("phone", &delivery.phone, 32),
        ("address", &delivery.address, 500),
        ("comment", &delivery.comment, 1000),
    ] {
        if value.as_deref().is_some_and(|v| v.chars().count() > max) {
            field(
                &mut errors,
                format!("delivery.{name}"),
                format!("at most {max} characters"),
            );
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::fields(errors));
    }
    // The actor is asked before any connection is taken.
    let (customer, _available) = super::customer(db, live, caller).await?;
    let now = clock.now_ms();
    let mut lines = Vec::new();
    let mut needs_address = false;
    let mut tops_up = false;
    for (i, line) in input.items.iter().enumerate() {
        let row = repo::reward(&db.pool, program_id, line.reward_id).await?;
        let Some(row) = row else {
            field(
                &mut errors,
                format!("items[{i}].reward_id"),
                "there is no such reward",
            );
            continue;
        };
        let kind = row.kind()?;
        if kind == RewardKind::CardPayout {
            field(
                &mut errors,
                format!("items[{i}].reward_id"),
                "payouts to a card are requested with requestPayout, not ordered",
            );
            continue;
        }
        if row.status != stimul_actors::rules::rewards::RewardStatus::Active
            || !on_offer(row.active_from, row.active_to, now)
        {
            return Err(ApiError::new(
                ErrorCode::RewardUnavailable,
                format!("{:?} is not on offer now", row.title),
            ));
        }
        if let Err(why) = row.audience().admits(&customer) {
            return Err(ApiError::new(
                ErrorCode::RewardNotEligible,
                format!("{:?}: {why}", row.title),
            ));
        }
        let quantity = line.quantity.unwrap_or(1);
        let chosen = match line.amount.as_deref().map(|a| Points::parse(a.trim())) {
            None => None,
            Some(Ok(points)) => Some(points),
            Some(Err(err)) => {
                field(&mut errors, format!("items[{i}].amount"), err.to_string());
                continue;
            }
        };
        let pricing = row.pricing()?;
        match pricing.line_total(chosen, quantity) {
            Ok(total) => lines.push(Line {
                reward_id: row.id,
                quantity,
                unit_price: pricing.unit_price(chosen).unwrap_or(total),
                total,
                title: row.title.clone(),
            }),
            Err(err) => {
                let at = if matches!(
                    err,
                    stimul_actors::rules::rewards::PriceError::Quantity { .. }
                ) {
                    "quantity"
                } else {
                    "amount"
                };
                field(&mut errors, format!("items[{i}].{at}"), err.to_string());
            }
        }
        needs_address |= kind.is_shipped();
        tops_up |= kind == RewardKind::PhoneTopup;
    }
    if needs_address {
        for (name, value) in [
            ("name", &delivery.name),
            ("phone", &delivery.phone),
            ("address", &delivery.address),
        ] {
            if !nonempty(value) {
                field(
                    &mut errors,
                    format!("delivery.{name}"),
                    "goods need a delivery name, phone and address",
                );
            }
        }
    }
    let total = order_total(lines.iter().map(|l| l.total));
    if total.is_none() {
        field(&mut errors, "items".into(), "the total is too large");
    }
    if !errors.is_empty() {
        return Err(ApiError::fields(errors));
    }
    let total = total.unwrap_or(Points::ZERO);
    let mut delivery = delivery;
    if tops_up && !nonempty(&delivery.phone) {
        delivery.phone = caller.account.phone.clone();
    }
    let delivery_json = (delivery != Delivery::default())
        .then(|| serde_json::to_string(&delivery))
        .transpose()
        .map_err(ApiError::internal)?;
    // Stock is taken in reward order, so two checkouts never wait on each other's rows.
    lines.sort_by_key(|line| line.reward_id);
    let pay_shortfall = input.pay_shortfall.unwrap_or(false);
    let cards_taken = pay_shortfall
        && crate::org::programs::by_id(&db.pool, program_id)
            .await?
            .card_payments
            .0;

    let mut tx = db.begin().await?;
    // Points first; a card only for what they do not cover, read in this transaction.
    let split = if pay_shortfall {
        let available =
            crate::ledger::queries::available_in(&mut tx, program_id, participant).await?;
        split_payment(total, available, pay_shortfall, cards_taken)
            .map_err(|why| ApiError::new(ErrorCode::InsufficientPoints, why.to_string()))?
    } else {
        PaymentSplit {
            points: total,
            card: Points::ZERO,
        }
    };
    let first = if split.card > Points::ZERO {
        OrderStatus::AwaitingPayment
    } else {
        OrderStatus::Placed
    };
    let inserted = repo::insert_order(
        &mut tx,
        &repo::NewOrder {
            program_id,
            participant_id: participant,
            status: first,
            total: total.hundredths(),
            card_amount: split.card.hundredths(),
            delivery: delivery_json.as_deref(),
        },
        key,
        now,
    )
    .await;
    let order_id = match inserted {
        Ok(id) => id,
        // The same key raced in from a retry: answer with the order it placed.
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
            drop(tx);
            let existing = match key {
                Some(key) => repo::order_by_request_key(&db.pool, participant, key).await?,
                None => None,
            };
            let existing = existing.ok_or_else(|| {
                ApiError::new(
                    ErrorCode::RequestInProgress,
                    "the same order is being placed",
                )
            })?;
            return Ok((view(db, existing, true).await?, true));
        }
        Err(err) => return Err(err.into()),
    };
    for line in &lines {
        repo::insert_item(
            &mut tx,
            order_id,
            line.reward_id,
            line.quantity,
            line.unit_price.hundredths(),
        )
        .await?;
        if !repo::take_stock(&mut tx, line.reward_id, line.quantity).await? {
            return Err(ApiError::new(
                ErrorCode::OutOfStock,
                format!("{:?} has fewer than {} left", line.title, line.quantity),
            ));
        }
    }
    let titles: Vec<&str> = lines.iter().map(|l| l.title.as_str()).collect();
    let request = spend_request(
        program_id,
        participant,
        caller.account.store_id,
        Spending {
            kind: "order",
            id: order_id,
        },
        "reserve",
        Movement {
            from: AccountKey::Participant(participant),
            to: AccountKey::OrderHold(participant),
            amount: split.points,
            purpose: Purpose::Reservation,
        },
        Some(titles.join(", ")),
    );
    let committed = match ledger.post_in(&mut tx, &request).await? {
        Ok(committed) => committed,
        Err(LedgerError::InsufficientFunds { .. }) => {
            return Err(ApiError::new(
                ErrorCode::InsufficientPoints,
                format!("the order costs {total} points, more than you have available"),
            ));
        }
        Err(err) => return Err(ApiError::internal(anyhow::anyhow!("reserving: {err}"))),
    };
    repo::set_transactions(&mut tx, order_id, Some(committed.transaction_id), None).await?;
    repo::insert_history(
        &mut tx,
        order_id,
        first.as_str(),
        None,
        Some(participant),
        now,
    )
    .await?;
    crate::webhooks::emit_in(
        &mut tx,
        program_id,
        crate::webhooks::EventType::OrderPlaced,
        serde_json::json!({
            "order_id": order_id,
            "participant_id": participant,
            "status": first.as_str(),
            "total": total,
            "card_amount": split.card,
        }),
        now,
    )
    .await?;
    let payment_effect = if split.card > Points::ZERO {
        Some(super::payments::open(settings, &mut tx, program_id, order_id, split.card, now).await?)
    } else {
        enqueue_fulfilment(&mut tx, program_id, order_id, now).await?;
        None
    };
    tx.commit().await?;
    live.committed_elsewhere(&request, &committed);
    push(live, participant, order_id, first, None);
    effects.ring();
    if let Some(effect) = payment_effect {
        // The payment page is asked for now, so the answer can carry it; a failure is
        // the queue's to retry.
        effects::run_now(db, effects, effect).await;
    }
    let row = repo::order(&db.pool, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("order {order_id}")))?;
    Ok((view(db, row, true).await?, false))
}

/// Queues the delivery of a placed order, in the transaction that placed it.
#[tracing::instrument(skip_all, fields(program_id = ?program_id, order_id = ?order_id))]
pub(super) async fn enqueue_fulfilment(
    tx: &mut crate::db::Tx,
    program_id: i64,
    order_id: i64,
    now: i64,
) -> ApiResult<()> {
    effects::enqueue(
        tx,
        &NewEffect {
            kind: FULFIL_EFFECT,
            dedupe_key: Some(format!("order:{order_id}:fulfil")),
            program_id: Some(program_id),
            payload: serde_json::to_value(FulfilPayload { order_id })
                .map_err(ApiError::internal)?,
        },
        now,
    )
    .await
    .map(|_| ())
}

/// What points are spent on: an order or a payout, by id.
#[derive(Debug, Clone, Copy)]
pub(super) struct Spending<'a> {
    pub kind: &'a str,
    pub id: i64,
}

/// A ledger transaction of an order or a payout: `step` names it in the key
/// (`reserve`, `capture`, `release`), so each step moves points once, whatever retries
/// it.
pub(super) fn spend_request(
    program_id: i64,
    participant: i64,
    store_id: Option<i64>,
    spending: Spending<'_>,
    step: &str,
    movement: Movement,
    comment: Option<String>,
) -> TransactionRequest {
    let Spending { kind, id } = spending;
    TransactionRequest {
        program_id,
        idempotency_key: format!("{kind}:{id}:{step}"),
        reason: kind.into(),
        participant_id: Some(participant),
        store_id,
        source: Some((kind.into(), id.to_string())),
        actor_id: None,
        comment,
        status: TransactionStatus::Posted,
        settles: None,
        movements: vec![movement],
        completed_tasks: 0,
        campaign_id: None,
        fingerprint: None,
        earning: None,
    }
}

fn push(
    live: &Arc<RealtimeCore>,
    participant: i64,
    order_id: i64,
    status: OrderStatus,
    failure_reason: Option<String>,
) {
    live.push(
        &stimul_actors::participant::topic(participant),
        &OrderStatusChanged {
            order_id,
            status,
            failure_reason,
        },
    );
}

/// What moving an order reaches: the use cases that change an order's status (and
/// its card payment's) take these together.
#[derive(Clone, Copy)]
pub struct Orders<'a> {
    /// Reads, and the transaction each move is written in.
    pub db: &'a Db,
    /// Stamps each move and its history.
    pub clock: &'a Clock,
    /// Announces a committed move: the ledger posting (balances, levels) and
    /// `order_status`; the participant's actor also checks a new order's balance.
    pub live: &'a Arc<RealtimeCore>,
    /// Woken for the refund or delivery a move queues.
    pub effects: &'a Effects,
    /// Posts or releases the order's reservation in the move's own transaction.
    pub ledger: &'a SqlActorStorage,
}

/// Who changed an order's status, for its history.
pub struct Change<'a> {
    pub next: OrderStatus,
    pub note: Option<&'a str>,
    pub actor_id: Option<i64>,
    /// Why it failed (shown to the participant).
    pub failure_reason: Option<&'a str>,
}

/// An order moved inside a caller's transaction: what to announce once it commits.
pub(super) struct Moved {
    participant_id: i64,
    order_id: i64,
    next: OrderStatus,
    failure_reason: Option<String>,
    posted: Option<(TransactionRequest, Committed)>,
    /// A refund of the order's card payment was queued with the move.
    refund_queued: bool,
}

impl Moved {
    /// Tells the live side: the ledger posting (balances, levels) and `order_status`;
    /// wakes the effect worker for a queued refund.
    pub(super) fn announce(&self, live: &Arc<RealtimeCore>, effects: &Effects) {
        if let Some((request, posted)) = &self.posted {
            live.committed_elsewhere(request, posted);
        }
        if self.refund_queued {
            effects.ring();
        }
        push(
            live,
            self.participant_id,
            self.order_id,
            self.next,
            self.failure_reason.clone(),
        );
    }
}

/// The points an order holds: its total less the part paid by card.
fn points_of(row: &OrderRow) -> Points {
    Points::from_hundredths(row.total - row.card_amount)
}

/// Moves an order to `change.next` in the caller's transaction with what that does to
/// its points (capture or release, once: the ledger keys are the order's), its stock
/// and its card payment (a paid one is refunded when the order ends undelivered);
/// keeps the history. Refuses a move its status does not allow. Announce the answer
/// after the commit.
#[tracing::instrument(skip(db, ledger, tx, change), fields(next = change.next.as_str()))]
pub(super) async fn move_in(
    db: &Db,
    ledger: &SqlActorStorage,
    tx: &mut crate::db::Tx,
    order_id: i64,
    change: Change<'_>,
    now: i64,
) -> ApiResult<Moved> {
    let row = repo::order_for_update(tx, db.backend, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("order {order_id}")))?;
    let current = row.status;
    let items = repo::items(&mut **tx, order_id).await?;
    let shipped = items
        .iter()
        .any(|i| kind_of(i).is_ok_and(RewardKind::is_shipped));
    if !current.may_become(change.next, shipped) {
        return Err(ApiError::invalid_state(format!(
            "order {order_id} is {}; it cannot become {}",
            current.as_str(),
            change.next.as_str()
        )));
    }
    let store_id: Option<i64> = sqlx::query_scalar("SELECT store_id FROM users WHERE id = $1")
        .bind(row.participant_id)
        .fetch_one(&mut **tx)
        .await?;
    let points = points_of(&row);
    let spending = Spending {
        kind: "order",
        id: order_id,
    };
    let posting = match change.next.settlement() {
        Settlement::Keep => None,
        Settlement::Capture => Some(spend_request(
            row.program_id,
            row.participant_id,
            store_id,
            spending,
            "capture",
            Movement {
                from: AccountKey::OrderHold(row.participant_id),
                to: AccountKey::Redeemed,
                amount: points,
                purpose: Purpose::Redemption,
            },
            None,
        )),
        Settlement::Release => Some(spend_request(
            row.program_id,
            row.participant_id,
            store_id,
            spending,
            "release",
            Movement {
                from: AccountKey::OrderHold(row.participant_id),
                to: AccountKey::Participant(row.participant_id),
                amount: points,
                purpose: Purpose::Refund,
            },
            change.failure_reason.map(str::to_string),
        )),
    };
    let mut posted = None;
    if let Some(request) = posting {
        let committed = ledger.post_in(tx, &request).await?.map_err(|err| {
            ApiError::internal(anyhow::anyhow!("settling order {order_id}: {err}"))
        })?;
        repo::set_transactions(tx, order_id, None, Some(committed.transaction_id)).await?;
        posted = Some((request, committed));
    }
    let mut refund_queued = false;
    if change.next.settlement() == Settlement::Release {
        repo::return_stock(tx, order_id).await?;
        if row.card_amount > 0 {
            refund_queued = super::payments::on_order_ended(tx, &row, now).await?;
        }
    }
    repo::set_status(
        tx,
        order_id,
        current,
        change.next,
        change.failure_reason,
        now,
    )
    .await?;
    repo::insert_history(
        tx,
        order_id,
        change.next.as_str(),
        change.note.or(change.failure_reason),
        change.actor_id,
        now,
    )
    .await?;
    crate::webhooks::emit_in(
        tx,
        row.program_id,
        crate::webhooks::EventType::OrderStatusChanged,
        serde_json::json!({
            "order_id": order_id,
            "participant_id": row.participant_id,
            "status": change.next.as_str(),
            "previous": current.as_str(),
            "reason": change.failure_reason,
        }),
        now,
    )
    .await?;
    crate::notifications::notify_in(
        tx,
        &[crate::notifications::Notice::new(
            row.program_id,
            row.participant_id,
            stimul_actors::rules::notifications::Trigger::OrderStatus,
            format!("order:{order_id}:{}", change.next.as_str()),
        )
        .with("order_id", order_id)
        .with("status", change.next.as_str())],
        now,
    )
    .await?;
    Ok(Moved {
        participant_id: row.participant_id,
        order_id,
        next: change.next,
        failure_reason: change.failure_reason.map(str::to_string),
        posted,
        refund_queued,
    })
}

/// [`move_in`] in a transaction of its own; answers the order as it now is.
#[tracing::instrument(skip_all, fields(order_id = ?order_id))]
pub async fn move_to(orders: Orders<'_>, order_id: i64, change: Change<'_>) -> ApiResult<OrderRow> {
    let Orders {
        db,
        clock,
        live,
        effects,
        ledger,
    } = orders;
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let moved = move_in(db, ledger, &mut tx, order_id, change, now).await?;
    tx.commit().await?;
    moved.announce(live, effects);
    repo::order(&db.pool, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("order {order_id}")))
}

/// Fails an order (points and stock back) unless it already ended.
#[tracing::instrument(skip_all, fields(order_id = ?order_id))]
async fn fail(orders: Orders<'_>, order_id: i64, reason: &str) -> ApiResult<()> {
    let Orders { .. } = orders;
    let change = Change {
        next: OrderStatus::Failed,
        note: None,
        actor_id: None,
        failure_reason: Some(reason),
    };
    match move_to(orders, order_id, change).await {
        Ok(_) => Ok(()),
        // Ended meanwhile (a callback, staff): nothing left to fail.
        Err(err) if err.code == ErrorCode::InvalidState => Ok(()),
        Err(err) => Err(err),
    }
}

/// The provider's id of an order line: ours, its idempotency key.
fn provider_id(order_id: i64, item_id: i64) -> String {
    format!("order-{order_id}-{item_id}")
}

fn parse_provider_id(id: &str) -> Option<(i64, i64)> {
    let rest = id.strip_prefix("order-")?;
    let (order, item) = rest.split_once('-')?;
    Some((order.parse().ok()?, item.parse().ok()?))
}

/// What a provider said about a line, applied: a delivery recorded (once), a refusal
/// failing the order. Answers whether the line is still being worked on.
#[tracing::instrument(skip_all, fields(order_id = ?order_id, item_id = ?item_id))]
async fn apply_provider_status(
    orders: Orders<'_>,
    order_id: i64,
    item_id: i64,
    status: ProviderStatus,
) -> ApiResult<bool> {
    let Orders { db, clock, .. } = orders;
    match status {
        ProviderStatus::Done {
            reference,
            code,
            pin,
        } => {
            repo::record_delivered(
                db,
                item_id,
                reference.as_deref(),
                code.as_deref(),
                pin.as_deref(),
                clock.now_ms(),
            )
            .await?;
            Ok(false)
        }
        ProviderStatus::Processing { reference } => {
            if let Some(reference) = reference {
                repo::record_reference(db, item_id, &reference).await?;
            }
            Ok(true)
        }
        ProviderStatus::Failed { reason } => {
            fail(orders, order_id, &format!("the provider refused: {reason}")).await?;
            Ok(false)
        }
    }
}

/// Fulfils the order once every provider line is delivered and it holds no goods for
/// staff to ship.
#[tracing::instrument(skip_all, fields(order_id = ?order_id))]
async fn complete_if_delivered(orders: Orders<'_>, order_id: i64) -> ApiResult<()> {
    let Orders { db, .. } = orders;
    let Some(row) = repo::order(&db.pool, order_id).await? else {
        return Ok(());
    };
    if row.status.is_final() {
        return Ok(());
    }
    let items = repo::items(&db.pool, order_id).await?;
    let mut shipped = false;
    for item in &items {
        if kind_of(item)?.is_shipped() {
            shipped = true;
        } else if item.delivered_at.is_none() {
            return Ok(());
        }
    }
    if shipped {
        return Ok(());
    }
    let change = Change {
        next: OrderStatus::Fulfilled,
        note: None,
        actor_id: None,
        failure_reason: None,
    };
    match move_to(orders, order_id, change).await {
        Ok(_) => Ok(()),
        Err(err) if err.code == ErrorCode::InvalidState => Ok(()),
        Err(err) => Err(err),
    }
}

/// Gets an order's rewards delivered (see the module header). Holds the provider.
pub struct FulfilEffect {
    /// What delivering and moving the order reaches.
    pub handles: super::EffectHandles,
    /// Certificates and virtual cards.
    pub provider: Box<dyn RewardProvider>,
    /// Phone top-ups.
    pub topups: Box<dyn TopupProvider>,
    /// Tries before an order the provider never answered is failed and its points
    /// returned (`rewards.max_attempts`).
    pub max_attempts: u32,
}

#[async_trait::async_trait]
impl EffectHandler for FulfilEffect {
    fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    async fn run(&self, effects: &Effects, effect: &Effect) -> Result<(), Failure> {
        let orders = self.handles.orders(effects);
        let Orders { db, .. } = orders;
        let FulfilPayload { order_id } = effect.payload()?;
        let Some(row) = repo::order(&db.pool, order_id).await? else {
            return Err(Failure::Permanent(format!(
                "order {order_id} does not exist"
            )));
        };
        let status = row.status;
        if status.is_final() || status == OrderStatus::AwaitingPayment {
            // Ended, or not paid yet (its payment queues the delivery once confirmed).
            return Ok(());
        }
        if status == OrderStatus::Placed {
            let change = Change {
                next: OrderStatus::Processing,
                note: None,
                actor_id: None,
                failure_reason: None,
            };
            move_to(orders, order_id, change).await?;
        }
        let delivery: Delivery = row
            .delivery
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or_default();
        let items = repo::items(&db.pool, order_id).await?;
        let mut waiting = false;
        for item in items {
            let kind = kind_of(&item)?;
            if kind.is_shipped() || item.delivered_at.is_some() {
                continue;
            }
            let id = provider_id(order_id, item.id);
            let asked_before = item.provider_reference.is_some();
            let answer = if kind == RewardKind::PhoneTopup {
                let Some(phone) = delivery.phone.clone() else {
                    fail(orders, order_id, "a top-up needs a phone number").await?;
                    return Ok(());
                };
                if asked_before {
                    self.topups.status(&id).await
                } else {
                    let amount =
                        Points::from_hundredths(item.unit_price.saturating_mul(item.quantity));
                    let topup = Topup {
                        id: id.clone(),
                        phone,
                        amount: amount.to_string(),
                    };
                    self.topups.top_up(&topup).await
                }
            } else if asked_before {
                self.provider.status(&id).await
            } else {
                let order = ProviderOrder {
                    id: id.clone(),
                    kind: kind.as_str().into(),
                    sku: item.sku.clone(),
                    network: item.network.clone(),
                    amount: Points::from_hundredths(item.unit_price).to_string(),
                    quantity: item.quantity,
                };
                self.provider.order(&order).await
            };
            match answer {
                Ok(status) => {
                    waiting |= apply_provider_status(orders, order_id, item.id, status).await?
                }
                Err(DeliveryError::Permanent(reason)) => {
                    fail(orders, order_id, &reason).await?;
                    return Ok(());
                }
                Err(DeliveryError::Retryable(reason)) => {
                    if effect.attempt >= i64::from(self.max_attempts) {
                        let reason = format!(
                            "the provider did not answer after {} tries: {reason}",
                            effect.attempt
                        );
                        fail(orders, order_id, &reason).await?;
                        return Ok(());
                    }
                    return Err(Failure::Retry(reason));
                }
            }
        }
        complete_if_delivered(orders, order_id).await?;
        if waiting {
            // Asked again with backoff, unless its callback comes first.
            return Err(Failure::Retry("the provider is still working on it".into()));
        }
        Ok(())
    }
}

/// A provider's signed callback: the rewards or top-up provider's about one order line
/// (`status` as in its API), or the payment provider's about an order's card payment.
#[tracing::instrument(skip(orders, settings, body, signature))]
pub async fn callback(
    orders: Orders<'_>,
    settings: &Settings,
    provider: &str,
    body: &[u8],
    signature: Option<&str>,
) -> ApiResult<()> {
    let Orders { db, .. } = orders;
    let secret = match provider {
        "rewards" => settings.rewards.callback_secret.as_ref(),
        "topups" => settings.topups.callback_secret.as_ref(),
        "payments" => {
            return super::payments::callback(orders, &settings.payments, body, signature).await;
        }
        _ => return Err(ApiError::not_found(format!("provider {provider:?}"))),
    };
    crate::integrations::signature::verify_callback(secret, body, signature)?;
    let answer: crate::integrations::rewards::ProviderAnswer = serde_json::from_slice(body)
        .map_err(|err| {
            ApiError::new(
                ErrorCode::InvalidJson,
                format!("the callback is unreadable: {err}"),
            )
        })?;
    let (order_id, item_id) = answer
        .id
        .as_deref()
        .and_then(parse_provider_id)
        .ok_or_else(|| ApiError::field("id", "not an order line of ours"))?;
    let known = repo::items(&db.pool, order_id)
        .await?
        .iter()
        .any(|item| item.id == item_id);
    if !known {
        return Err(ApiError::not_found(format!(
            "order line {order_id}-{item_id}"
        )));
    }
    let status = answer
        .into_status()
        .map_err(|err| ApiError::field("status", err.to_string()))?;
    let Some(row) = repo::order(&db.pool, order_id).await? else {
        return Err(ApiError::not_found(format!("order {order_id}")));
    };
    if row.status.is_final() {
        // A second report of the same end (or one after staff ended it): nothing to do.
        return Ok(());
    }
    apply_provider_status(orders, order_id, item_id, status).await?;
    complete_if_delivered(orders, order_id).await
}

/// An order the caller may see: their own, or any of the program's for staff with
/// `rewards.view` program-wide.
#[tracing::instrument(skip(db, caller))]
pub async fn get(db: &Db, caller: &Principal, id: i64) -> ApiResult<Order> {
    let row = repo::order(&db.pool, id)
        .await?
        .filter(|row| row.program_id == caller.program_id())
        .ok_or_else(|| ApiError::not_found(format!("order {id}")))?;
    let own = row.participant_id == caller.id();
    if !own {
        caller
            .require_program_wide(Permission::view(Section::Rewards))
            .map_err(|_| ApiError::not_found(format!("order {id}")))?;
    }
    view(db, row, own).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderFilter {
    pub status: Option<String>,
    pub participant_id: Option<i64>,
    /// Epoch ms, inclusive.
    pub from: Option<i64>,
    /// Epoch ms, exclusive.
    pub to: Option<i64>,
}

/// `listMyOrders` (`mine`) or staff's `listOrders`.
#[tracing::instrument(skip(db, caller))]
pub async fn list(
    db: &Db,
    caller: &Principal,
    filter: &OrderFilter,
    mine: bool,
    after: i64,
    limit: i64,
) -> ApiResult<Page<Order>> {
    if !mine {
        caller.require_program_wide(Permission::view(Section::Rewards))?;
    }
    if let Some(status) = filter.status.as_deref() {
        OrderStatus::parse(status).map_err(|e| ApiError::field("status", e))?;
    }
    let query = OrderQuery {
        participant_id: if mine {
            Some(caller.id())
        } else {
            filter.participant_id
        },
        status: filter.status.as_deref(),
        since: filter.from,
        until: filter.to,
        after,
        limit: limit + 1,
    };
    let rows = repo::orders(db, caller.program_id(), &query).await?;
    let mut orders = Vec::with_capacity(rows.len());
    for row in rows {
        orders.push(view(db, row, mine).await?);
    }
    Ok(page_of(orders, limit, |order| order.id))
}

/// `cancelOrder`: the participant while it is placed or waits for its payment; staff (`rewards.edit`) until a
/// provider delivered any of it or the goods shipped. Points and stock go back.
#[tracing::instrument(skip(orders, caller, reason))]
pub async fn cancel(
    orders: Orders<'_>,
    caller: &Principal,
    id: i64,
    reason: Option<&str>,
) -> ApiResult<Order> {
    let Orders { db, .. } = orders;
    let row = repo::order(&db.pool, id)
        .await?
        .filter(|row| row.program_id == caller.program_id())
        .ok_or_else(|| ApiError::not_found(format!("order {id}")))?;
    let own = row.participant_id == caller.id();
    if !own {
        caller.require_program_wide(Permission::edit(Section::Rewards))?;
    }
    let status = row.status;
    if own && !matches!(status, OrderStatus::Placed | OrderStatus::AwaitingPayment) {
        return Err(ApiError::invalid_state(format!(
            "order {id} is {}; ask support to cancel it",
            status.as_str()
        )));
    }
    let delivered = repo::items(&db.pool, id)
        .await?
        .iter()
        .any(|item| item.delivered_at.is_some());
    if delivered {
        return Err(ApiError::invalid_state(format!(
            "order {id} is partly delivered; it can no longer be cancelled"
        )));
    }
    let change = Change {
        next: OrderStatus::Cancelled,
        note: reason,
        actor_id: Some(caller.id()),
        failure_reason: None,
    };
    let row = move_to(orders, id, change).await?;
    view(db, row, own).await
}

/// A status staff set by hand (`setOrderStatus`): goods `shipped` and `delivered`, or an
/// order `fulfilled` or `failed` outside the provider.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct StatusInput {
    pub status: String,
    pub note: Option<String>,
}

#[tracing::instrument(skip(orders, caller, input))]
pub async fn set_status(
    orders: Orders<'_>,
    caller: &Principal,
    id: i64,
    input: &StatusInput,
) -> ApiResult<Order> {
    let Orders { db, .. } = orders;
    caller.require_program_wide(Permission::edit(Section::Rewards))?;
    let next = OrderStatus::parse(input.status.trim()).map_err(|e| ApiError::field("status", e))?;
    if matches!(
        next,
        OrderStatus::Placed | OrderStatus::Cancelled | OrderStatus::AwaitingPayment
    ) {
        return Err(ApiError::field(
            "status",
            "cancel with cancelOrder; an order is placed only by its checkout or its payment",
        ));
    }
    if input
        .note
        .as_deref()
        .is_some_and(|n| n.chars().count() > 1000)
    {
        return Err(ApiError::field("note", "at most 1000 characters"));
    }
    repo::order(&db.pool, id)
        .await?
        .filter(|row| row.program_id == caller.program_id())
        .ok_or_else(|| ApiError::not_found(format!("order {id}")))?;
    let failure_reason =
        (next == OrderStatus::Failed).then(|| input.note.as_deref().unwrap_or("failed by staff"));
    let change = Change {
        next,
        note: input.note.as_deref(),
        actor_id: Some(caller.id()),
        failure_reason,
    };
    let row = move_to(orders, id, change).await?;
    view(db, row, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_id_names_its_order_line_and_nothing_else() {
        assert_eq!(provider_id(12, 7), "order-12-7");
        assert_eq!(parse_provider_id("order-12-7"), Some((12, 7)));
        assert_eq!(parse_provider_id("order-12"), None);
        assert_eq!(parse_provider_id("payout-12-7"), None);
        assert_eq!(parse_provider_id("order-x-7"), None);
    }
}

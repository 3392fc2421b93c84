//! Moderation: queueing items for people to check, deciding them, and what a decision
//! does. The live routing of items to moderators is the `ModerationActor`
//! (`stimul_actors::moderation`); the SQL it uses is in `repo.rs`.
//!
//! A decision is made in one database transaction with its direct effects (approving a
//! registration); effects on points (settling a held credit) are queued on the effect
//! queue in that transaction ([`SETTLE_HOLD_EFFECT`]) and run right after the commit,
//! or retried by the queue until applied — a crash between the two loses nothing, and
//! the ledger's idempotency key keeps a retry from paying twice.
//!
//! Moderation knows no subject: what deciding a kind of item does to its object (a
//! person, a receipt, a task submission, a held code, a payout) is that area's
//! [`DecisionHandler`], registered at start-up (`startup::decision_handlers`); a new
//! kind adds a handler, not an edit here.

pub mod repo;

use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use stimul_actors::bus::BusEvent;
use stimul_actors::live::RealtimeCore;
use stimul_actors::moderation::{ItemView, SettleReason};
use stimul_actors::participant::Settle;
use stimul_actors::rules::routing::ItemStatus;
use stimul_actors::rules::routing::{ItemKind, PriorityBoosts, queue_key};
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::db::{Clock, Db, Tx};
use crate::effects::{self, NewEffect};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::metrics::Metrics;

pub use repo::SqlModeration;
use repo::{ITEM_COLUMNS, ItemRow};

/// How far ahead of its age each kind is served: people waiting for money first.
pub fn boosts() -> PriorityBoosts {
    PriorityBoosts::from([
        (ItemKind::Payout, 3_600_000),
        (ItemKind::CodeReview, 600_000),
    ])
}

/// An item to queue.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub kind: ItemKind,
    pub subject_id: i64,
    pub participant_id: Option<i64>,
    pub store_id: Option<i64>,
    pub region_id: Option<i64>,
    pub summary: serde_json::Value,
}

/// Queues `item` in the caller's transaction (an open item of the same subject is
/// reused). Call [`announce`] after the commit so every node routes it.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn enqueue(tx: &mut Tx, program_id: i64, item: &NewItem, now_ms: i64) -> ApiResult<i64> {
    let open: Option<i64> = sqlx::query_scalar("SELECT id FROM moderation_items WHERE kind = $1 AND subject_id = $2 AND status IN ('queued', 'assigned')")
        .bind(item.kind.as_str())
        .bind(item.subject_id)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(id) = open {
        return Ok(id);
    }
    let key = queue_key(
        &stimul_actors::rules::routing::Item {
            id: 0,
            kind: item.kind,
            region_id: item.region_id,
            created_at_ms: now_ms,
        },
        &boosts(),
    );
    let id = sqlx::query_scalar(
        "INSERT INTO moderation_items (program_id, kind, subject_id, participant_id, store_id, region_id, summary, status, priority_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', $8, $9) RETURNING id",
    )
    .bind(program_id)
    .bind(item.kind.as_str())
    .bind(item.subject_id)
    .bind(item.participant_id)
    .bind(item.store_id)
    .bind(item.region_id)
    .bind(item.summary.to_string())
    .bind(key.effective_at_ms)
    .bind(now_ms)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// Tells every node that the program's queue has new items.
pub fn announce(live: &RealtimeCore, program_id: i64) {
    live.publish(BusEvent::ModerationQueued { program_id });
}

/// Closes the open item of a subject decided outside the queue (a manager approving a
/// registration directly). Publish the returned item with [`settled`] after the commit.
#[tracing::instrument(skip_all, fields(subject_id = ?subject_id, decided_by = ?decided_by))]
pub async fn withdraw(
    tx: &mut Tx,
    kind: ItemKind,
    subject_id: i64,
    decided_by: i64,
    now_ms: i64,
) -> ApiResult<Option<ItemView>> {
    let row: Option<ItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS} FROM moderation_items WHERE kind = $1 AND subject_id = $2 AND status IN ('queued', 'assigned')"
    )))
    .bind(kind.as_str())
    .bind(subject_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let item: ItemView = row.try_into()?;
    sqlx::query("UPDATE moderation_items SET status = 'withdrawn', decided_by = $1, decided_at = $2 WHERE id = $3")
        .bind(decided_by)
        .bind(now_ms)
        .bind(item.id)
        .execute(&mut **tx)
        .await?;
    Ok(Some(item))
}

/// After a commit: frees the holder's slot (on whichever node they are).
pub fn settled(live: &RealtimeCore, item: ItemView, reason: SettleReason) {
    live.publish(BusEvent::ModerationSettled { item, reason });
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Approve,
    Reject,
    /// Send back to the participant to fix and resubmit.
    Rework,
}

impl DecisionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Approve => "approve",
            DecisionKind::Reject => "reject",
            DecisionKind::Rework => "rework",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DecisionRequest {
    pub decision: DecisionKind,
    /// Required to reject: a code from `listRejectionReasons`.
    pub reason: Option<String>,
    /// Shown to the participant; required for rework.
    pub comment: Option<String>,
}

/// What happens to points after a decision commits.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Effect {
    None,
    /// Confirm or cancel a held credit.
    SettleHold {
        participant_id: i64,
        hold_transaction_id: i64,
        confirm: bool,
        completed_tasks: i64,
    },
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Decided {
    pub item_id: i64,
    pub decision: DecisionKind,
    /// `applied`, or `pending` if the points part is still being applied (it will be).
    pub effect: &'static str,
}

/// A decision as a kind's handler sees it.
pub struct Decision<'a> {
    pub item: &'a ItemView,
    pub request: &'a DecisionRequest,
    pub moderator: &'a Principal,
    pub now: i64,
}

/// What deciding an item did inside the decision's transaction: the held points to
/// settle (queued by moderation) and the effects the subject queued, to run after the
/// settlement.
pub struct Outcome {
    pub settle: Effect,
    pub follow_ups: Vec<i64>,
}

impl Outcome {
    pub fn settle(settle: Effect) -> Self {
        Self {
            settle,
            follow_ups: Vec::new(),
        }
    }
}

/// What a kind of item does when it is decided. Each area whose objects are checked
/// registers one for its kind at start-up, so moderation knows no subject: a new kind
/// adds a handler, not an edit here.
#[async_trait::async_trait]
pub trait DecisionHandler: Send + Sync + 'static {
    /// Whether sending the item back for rework makes sense (the participant can fix
    /// and resubmit it).
    fn reworkable(&self) -> bool {
        false
    }

    /// Records the decision on the subject, inside the decision's transaction.
    async fn decide(&self, tx: &mut Tx, decision: &Decision<'_>) -> ApiResult<Outcome>;

    /// After the commit, in this process only (caches); what must not be lost is an
    /// effect queued in [`Self::decide`].
    async fn after_commit(&self, _item: &ItemView) {}
}

/// The handlers by kind, built at start-up.
#[derive(Default)]
pub struct DecisionHandlers {
    handlers: std::collections::HashMap<ItemKind, std::sync::Arc<dyn DecisionHandler>>,
}

impl DecisionHandlers {
    pub fn register(&mut self, kind: ItemKind, handler: std::sync::Arc<dyn DecisionHandler>) {
        let previous = self.handlers.insert(kind, handler);
        debug_assert!(previous.is_none(), "two decision handlers for {kind:?}");
    }

    fn of(&self, kind: ItemKind) -> ApiResult<&std::sync::Arc<dyn DecisionHandler>> {
        self.handlers.get(&kind).ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("no decision handler for {kind:?} items"))
        })
    }
}

/// A reason a moderator may give for a rejection.
#[derive(FromRow)]
struct ReasonRow {
    code: String,
    title: String,
}

/// Rejection reasons of a program: code → title.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn rejection_reasons<'e, E>(
    executor: E,
    program_id: i64,
) -> ApiResult<Vec<(String, String)>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows: Vec<ReasonRow> = sqlx::query_as(
        "SELECT code, title FROM rejection_reasons WHERE program_id = $1 ORDER BY code",
    )
    .bind(program_id)
    .fetch_all(executor)
    .await?;
    Ok(rows.into_iter().map(|r| (r.code, r.title)).collect())
}

/// The default reasons of a new program.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn seed_rejection_reasons(tx: &mut Tx, program_id: i64) -> sqlx::Result<()> {
    for (code, title) in [
        ("photo_unclear", "The photo is unclear or cut off"),
        ("wrong_product", "Not a product of the program"),
        ("duplicate", "Already submitted"),
        ("not_eligible", "Does not meet the conditions"),
        ("suspected_fraud", "Suspected fraud"),
        ("other", "Other (see comment)"),
    ] {
        sqlx::query("INSERT INTO rejection_reasons (program_id, code, title) VALUES ($1, $2, $3)")
            .bind(program_id)
            .bind(code)
            .bind(title)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// An item to decide, with its status and program.
#[derive(FromRow)]
struct DecidedItemRow {
    #[sqlx(flatten)]
    item: ItemRow,
    #[sqlx(try_from = "String")]
    status: ItemStatus,
    program_id: i64,
}

/// What deciding an item reaches.
#[derive(Clone, Copy)]
pub struct Moderation<'a> {
    /// The decision's transaction, and the effects it runs at once.
    pub db: &'a Db,
    /// Stamps the decision (and its time to decision).
    pub clock: &'a Clock,
    /// Frees the holder's slot on whichever node they are.
    pub live: &'a RealtimeCore,
    /// Decisions by kind, and the time they took.
    pub metrics: &'a Metrics,
    /// What deciding each kind does, registered by its area.
    pub decisions: &'a DecisionHandlers,
    /// Runs the settlement and the subject's follow-ups right after the commit.
    pub effects: &'a effects::Effects,
}

/// Decides an item the moderator holds.
#[tracing::instrument(skip_all, fields(item_id = ?item_id))]
pub async fn decide(
    moderation: Moderation<'_>,
    moderator: &Principal,
    item_id: i64,
    request: &DecisionRequest,
) -> ApiResult<Decided> {
    let Moderation {
        db,
        clock,
        live,
        metrics,
        decisions,
        effects,
    } = moderation;
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let row: Option<DecidedItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS}, status, program_id FROM moderation_items WHERE id = $1"
    )))
    .bind(item_id)
    .fetch_optional(&mut *tx)
    .await?;
    let row = row.ok_or_else(|| ApiError::not_found(format!("moderation item {item_id}")))?;
    let program_id = row.program_id;
    if program_id != moderator.program_id() {
        return Err(ApiError::not_found(format!("moderation item {item_id}")));
    }
    let status = row.status;
    let item: ItemView = row.item.try_into()?;
    let handler = decisions.of(item.kind)?.clone();
    if status != ItemStatus::Assigned || item.assigned_to != Some(moderator.id()) {
        return Err(ApiError::new(
            ErrorCode::ItemNotHeld,
            format!("you do not hold item {item_id} (it is {status}); only its holder decides it"),
        ));
    }
    match request.decision {
        DecisionKind::Reject => {
            let code = request
                .reason
                .as_deref()
                .ok_or_else(|| ApiError::field("reason", "a rejection needs a reason code"))?;
            let known = rejection_reasons(&mut *tx, program_id).await?;
            if !known.iter().any(|(c, _)| c == code) {
                let codes: Vec<&str> = known.iter().map(|(c, _)| c.as_str()).collect();
                return Err(ApiError::field(
                    "reason",
                    format!("unknown reason {code:?}; one of {}", codes.join(", ")),
                ));
            }
        }
        DecisionKind::Rework if !handler.reworkable() => {
            return Err(ApiError::field(
                "decision",
                format!(
                    "{} items cannot be sent back for rework",
                    item.kind.as_str()
                ),
            ));
        }
        DecisionKind::Rework
            if request
                .comment
                .as_deref()
                .is_none_or(|c| c.trim().is_empty()) =>
        {
            return Err(ApiError::field("comment", "say what to fix"));
        }
        _ => {}
    }
    if request
        .comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > 1000)
    {
        return Err(ApiError::field("comment", "at most 1000 characters"));
    }
    let decision = Decision {
        item: &item,
        request,
        moderator,
        now,
    };
    let Outcome {
        settle: effect,
        follow_ups,
    } = handler.decide(&mut tx, &decision).await?;
    let settle_effect = if effect == Effect::None {
        None
    } else {
        let queued = NewEffect {
            kind: SETTLE_HOLD_EFFECT,
            dedupe_key: Some(format!("moderation:{item_id}")),
            program_id: Some(program_id),
            payload: serde_json::to_value(SettleHoldPayload {
                item_id,
                effect: effect.clone(),
            })
            .map_err(ApiError::internal)?,
        };
        Some(effects::enqueue_for_caller(&mut tx, &queued, now).await?)
    };
    let effect_status = if settle_effect.is_some() {
        "pending"
    } else {
        "none"
    };
    let updated = sqlx::query(
        "UPDATE moderation_items SET status = 'decided', decision = $1, reason = $2, comment = $3, decided_by = $4, decided_at = $5,
                effect_status = $6, effect = $7
         WHERE id = $8 AND status = 'assigned' AND assigned_to = $4",
    )
    .bind(request.decision.as_str())
    .bind(request.reason.clone())
    .bind(request.comment.clone())
    .bind(moderator.id())
    .bind(now)
    .bind(effect_status)
    .bind(serde_json::to_string(&effect).map_err(ApiError::internal)?)
    .bind(item_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated != 1 {
        return Err(ApiError::new(
            ErrorCode::ItemNotHeld,
            format!("item {item_id} was decided or taken back meanwhile"),
        ));
    }
    crate::audit::record(
        &mut tx,
        program_id,
        Some(moderator.id()),
        "moderation.decide",
        &format!("moderation_item:{item_id}"),
        Some(serde_json::json!({ "status": status, "kind": item.kind, "subject_id": item.subject_id })),
        Some(serde_json::json!({ "decision": request.decision, "reason": request.reason, "comment": request.comment })),
        now,
    )
    .await?;
    tx.commit().await?;
    metrics
        .moderation_decisions
        .with_label_values(&[item.kind.as_str(), request.decision.as_str()])
        .inc();
    metrics
        .moderation_time_to_decision
        .with_label_values(&[item.kind.as_str()])
        .observe((now - item.created_at).max(0) as f64 / 1000.0);
    settled(live, item.clone(), SettleReason::Decided);
    let applied = match settle_effect {
        Some(id) => effects::run_now(db, effects, id).await,
        None => true,
    };
    for id in follow_ups {
        effects::run_now(db, effects, id).await;
    }
    handler.after_commit(&item).await;
    Ok(Decided {
        item_id,
        decision: request.decision,
        effect: if applied { "applied" } else { "pending" },
    })
}

/// The effect kind that settles a decided item's held points.
pub const SETTLE_HOLD_EFFECT: &str = "moderation.settle_hold";

/// The payload of [`SETTLE_HOLD_EFFECT`].
#[derive(Debug, Serialize, Deserialize)]
struct SettleHoldPayload {
    item_id: i64,
    effect: Effect,
}

/// Settles a decided item's hold through the participant's actor (ledger key
/// `moderation:{item}`, so a second run moves nothing) and records it applied.
pub struct SettleHoldEffect {
    /// Records the item's effect applied (the request pool, as before).
    pub db: Db,
    /// The participant's actor settles the hold.
    pub live: std::sync::Arc<RealtimeCore>,
}

#[async_trait::async_trait]
impl crate::effects::EffectHandler for SettleHoldEffect {
    async fn run(
        &self,
        _effects: &crate::effects::Effects,
        effect: &crate::effects::Effect,
    ) -> Result<(), crate::effects::Failure> {
        let SettleHoldPayload { item_id, effect } = effect.payload()?;
        if let Effect::SettleHold {
            participant_id,
            hold_transaction_id,
            confirm,
            completed_tasks,
        } = effect
        {
            let settle = Settle {
                hold_transaction_id,
                confirm,
                idempotency_key: format!("moderation:{item_id}"),
                actor_id: None,
                comment: None,
                completed_tasks,
                fingerprint: None,
            };
            match self.live.settle(participant_id, settle).await {
                // Already settled by an earlier run of this same effect.
                Ok(_)
                | Err(stimul_actors::participant::ParticipantError::Ledger(
                    stimul_actors::ledger::LedgerError::NotPending { .. },
                )) => {}
                Err(err) => return Err(crate::effects::Failure::Retry(err.to_string())),
            }
        }
        sqlx::query("UPDATE moderation_items SET effect_status = 'applied' WHERE id = $1")
            .bind(item_id)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }
}

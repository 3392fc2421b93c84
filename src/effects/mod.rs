//! The one durable effect queue. Everything that must happen after a commit (settling
//! a decided hold, a task's follow-up) and every call to the outside world (SMS,
//! providers, webhooks) is a row written by [`enqueue`] in the same transaction as the
//! change that causes it, then run by a handler its area registered for its kind:
//!
//! - right away by the request that caused it ([`run_now`]), when the caller wants the
//!   result in its answer, or by the worker ([`run_worker`]) woken by [`Effects::ring`];
//! - claimed with a lease in one statement (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so
//!   several nodes share the work and no effect runs twice at once; a node that dies
//!   mid-effect leaves it to whoever claims it once the lease ends;
//! - retried with backoff after a temporary failure, and parked as dead with its
//!   reason after its kind's number of tries or a permanent failure, where admins see
//!   it and may send it again (`listEffects`, `retryEffect`).
//!
//! Handlers must be safe to run again (an effect can be cut short by a crash after it
//! acted and before it was marked done): ledger keys, provider idempotency keys carrying
//! the effect's cause, conditional updates. No area writes a retry loop of its own.

pub mod repo;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};
use utoipa::ToSchema;

use crate::db::{Clock, Db, Tx};
use crate::error::{ApiError, ApiResult};
use crate::integrations::DeliveryError;
use crate::paging::{Page, page_of};

pub use repo::EffectRow;

/// Effects one worker runs side by side.
const RUNNING: usize = 32;
/// Polling when nobody rings: picks up effects written by other nodes and retries whose
/// backoff has run out.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Tries before an effect is parked as dead, unless its kind says otherwise: with the
/// backoff below, about an hour and a half of trying.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 20;

/// Backoff before try `n + 1` after `n` failed tries: 0.5 s, 1 s, 2 s … capped at 5
/// minutes.
pub fn backoff_ms(attempt: i64) -> i64 {
    let exponent = attempt.clamp(1, 20) - 1;
    (500_i64 << exponent).min(300_000)
}

/// Why an effect did not happen, which decides whether it is tried again.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Worth another try later: timeouts, a busy database, a provider's 5xx.
    #[error("temporary failure: {0}")]
    Retry(String),
    /// Trying again cannot help: parked as dead at once, with the reason.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl From<ApiError> for Failure {
    fn from(err: ApiError) -> Self {
        Failure::Retry(format!("{}: {}", err.code.as_str(), err.detail))
    }
}

impl From<sqlx::Error> for Failure {
    fn from(err: sqlx::Error) -> Self {
        Failure::Retry(format!("database: {err}"))
    }
}

/// A provider's temporary failure is retried; its refusal parks the effect.
impl From<DeliveryError> for Failure {
    fn from(err: DeliveryError) -> Self {
        match err {
            DeliveryError::Retryable(reason) => Failure::Retry(reason),
            DeliveryError::Permanent(reason) => Failure::Permanent(reason),
        }
    }
}

/// An effect as its handler sees it.
pub struct Effect {
    pub id: i64,
    /// This try, from 1.
    pub attempt: i64,
    pub program_id: Option<i64>,
    payload: String,
}

impl Effect {
    /// The payload as the kind wrote it; unreadable is permanent.
    pub fn payload<T: DeserializeOwned>(&self) -> Result<T, Failure> {
        serde_json::from_str(&self.payload)
            .map_err(|err| Failure::Permanent(format!("unreadable payload: {err}")))
    }
}

/// What an area registers for each kind of effect it enqueues.
#[async_trait]
pub trait EffectHandler: Send + Sync + 'static {
    /// Tries before the effect is parked as dead.
    fn max_attempts(&self) -> u32 {
        DEFAULT_MAX_ATTEMPTS
    }

    /// Does the effect. Must be safe to run again after a crash. The handler owns the
    /// handles it needs (given at start-up); `effects` is the queue running it, for a
    /// handler that wakes the worker or runs what it queued.
    async fn run(&self, effects: &Effects, effect: &Effect) -> Result<(), Failure>;
}

/// The handlers by kind, the worker's bell and this node's name. Built at start-up.
pub struct Effects {
    handlers: HashMap<&'static str, Arc<dyn EffectHandler>>,
    bell: Notify,
    /// Who holds a claim (shown on running effects).
    node: String,
    /// Reserved connections for the worker's claims: the queue keeps moving when
    /// request traffic has taken every connection of the shared pool.
    db: Db,
    /// How long a claim lasts (`effects.lease_ms`): longer than any handler's own
    /// timeouts, so a live runner is never overtaken.
    lease_ms: i64,
    /// Stamps claims, outcomes and retries (the application's clock, which tests move).
    clock: Clock,
}

impl Effects {
    pub fn new(node: String, db: Db, lease_ms: i64, clock: Clock) -> Self {
        Self {
            handlers: HashMap::new(),
            bell: Notify::new(),
            node,
            db,
            lease_ms: lease_ms.max(1_000),
            clock,
        }
    }

    /// Registers the handler of `kind` (one per kind).
    pub fn register(&mut self, kind: &'static str, handler: Arc<dyn EffectHandler>) {
        let previous = self.handlers.insert(kind, handler);
        debug_assert!(previous.is_none(), "two handlers for effect kind {kind}");
    }

    /// Wakes the worker after a commit that enqueued effects.
    pub fn ring(&self) {
        self.bell.notify_one();
    }
}

/// An effect to write.
pub struct NewEffect {
    pub kind: &'static str,
    /// The effect's cause, unique: the same cause enqueued twice runs once.
    pub dedupe_key: Option<String>,
    /// Whose admins see it.
    pub program_id: Option<i64>,
    pub payload: serde_json::Value,
}

/// How long an effect its caller runs itself ([`enqueue_for_caller`]) is left to the
/// caller before the worker takes it: the caller answers only once it is done, unless
/// it crashed.
const CALLER_GRACE_MS: i64 = 5_000;

/// Writes `effect` in the caller's transaction, due at once, and returns its id. Call
/// [`Effects::ring`] after the commit.
#[tracing::instrument(skip_all)]
pub async fn enqueue(tx: &mut Tx, effect: &NewEffect, now_ms: i64) -> ApiResult<i64> {
    insert(tx, effect, now_ms, now_ms).await
}

/// Writes `effect` in the caller's transaction, due at `due_ms` (a message held back
/// until quiet hours end). Call [`Effects::ring`] after the commit.
#[tracing::instrument(skip_all)]
pub async fn enqueue_at(
    tx: &mut Tx,
    effect: &NewEffect,
    now_ms: i64,
    due_ms: i64,
) -> ApiResult<i64> {
    insert(tx, effect, now_ms, due_ms.max(now_ms)).await
}

/// Writes `effect` in the caller's transaction for the caller to run with [`run_now`]
/// right after the commit; the worker takes it only if the caller has not within a
/// few seconds (it crashed). Returns its id.
#[tracing::instrument(skip_all)]
pub async fn enqueue_for_caller(tx: &mut Tx, effect: &NewEffect, now_ms: i64) -> ApiResult<i64> {
    insert(tx, effect, now_ms, now_ms + CALLER_GRACE_MS).await
}

#[tracing::instrument(skip_all, fields(due_ms = ?due_ms))]
async fn insert(tx: &mut Tx, effect: &NewEffect, now_ms: i64, due_ms: i64) -> ApiResult<i64> {
    Ok(repo::insert(
        tx,
        effect.kind,
        effect.dedupe_key.as_deref(),
        effect.program_id,
        &effect.payload.to_string(),
        now_ms,
        due_ms,
    )
    .await?)
}

/// Runs the effect `id` now, on the caller's task, if nobody else has claimed it;
/// answers whether it is done. Whatever fails is left to the worker's retries. `db` is
/// the caller's pool (the request pool), not the worker's reserved one.
#[tracing::instrument(skip_all, fields(id = ?id))]
pub async fn run_now(db: &Db, effects: &Effects, id: i64) -> bool {
    let now = effects.clock.now_ms();
    match repo::claim_one(db, id, &effects.node, now, now + effects.lease_ms).await {
        Ok(Some(row)) => execute(effects, db, row).await,
        Ok(None) => false,
        Err(err) => {
            tracing::warn!(effect = id, error = %err, "claiming an effect failed; the worker will run it");
            effects.ring();
            false
        }
    }
}

/// Runs one claimed effect and records how it went (on `db`, the pool of whoever
/// claimed it); answers whether it is done.
#[tracing::instrument(skip(effects, db, row), fields(effect = row.id, kind = %row.kind, attempt = row.attempts))]
async fn execute(effects: &Effects, db: &Db, row: EffectRow) -> bool {
    let handler = effects.handlers.get(row.kind.as_str()).cloned();
    let effect = Effect {
        id: row.id,
        attempt: row.attempts,
        program_id: row.program_id,
        payload: row.payload,
    };
    let (outcome, max_attempts) = match &handler {
        Some(handler) => (
            handler.run(effects, &effect).await,
            i64::from(handler.max_attempts()),
        ),
        None => (
            Err(Failure::Permanent(format!(
                "no handler for effect kind {:?}",
                row.kind
            ))),
            1,
        ),
    };
    let now = effects.clock.now_ms();
    let recorded = match &outcome {
        Ok(()) => repo::mark_done(db, row.id, now).await,
        Err(Failure::Retry(reason)) if effect.attempt < max_attempts => {
            tracing::warn!(%reason, "effect failed; will retry");
            repo::schedule_retry(db, row.id, now + backoff_ms(effect.attempt), reason).await
        }
        Err(failure) => {
            tracing::error!(error = %failure, "effect parked as dead");
            repo::park_dead(db, row.id, now, &failure.to_string()).await
        }
    };
    if let Err(err) = recorded {
        // The lease runs out and the effect is tried again: handlers are safe to repeat.
        tracing::warn!(error = %err, "recording an effect's outcome failed");
    }
    outcome.is_ok()
}

/// Runs due effects until `shutdown` flips to true, then waits for those it started.
/// Up to [`RUNNING`] run side by side, each a task of its own (so one holding a
/// connection never waits for the worker to poll it); whenever one ends, or the bell
/// rings, the worker claims as many more as there is room for, so one slow provider
/// never holds up the rest of the queue.
#[tracing::instrument(skip_all)]
pub async fn run_worker(effects: Arc<Effects>, mut shutdown: watch::Receiver<bool>) {
    let mut running = tokio::task::JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        while running.try_join_next().is_some() {}
        let room = RUNNING.saturating_sub(running.len());
        if room > 0 {
            let now = effects.clock.now_ms();
            match repo::claim_due(
                &effects.db,
                &effects.node,
                now,
                now + effects.lease_ms,
                room as i64,
            )
            .await
            {
                Ok(claimed) => {
                    for row in claimed {
                        let effects = effects.clone();
                        running.spawn(async move {
                            let db = effects.db.clone();
                            execute(&effects, &db, row).await;
                        });
                    }
                }
                Err(err) => tracing::warn!(error = %err, "claiming effects failed"),
            }
        }
        tokio::select! {
            Some(_) = running.join_next(), if !running.is_empty() => {}
            _ = effects.bell.notified() => {}
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
            _ = shutdown.changed() => {}
        }
    }
    while running.join_next().await.is_some() {}
    tracing::debug!("effect worker stopped");
}

/// An effect as admins see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EffectView {
    pub id: i64,
    pub kind: String,
    /// `pending` (due or running), `done` or `dead`.
    pub status: String,
    pub attempts: i64,
    pub dedupe_key: Option<String>,
    pub created_at: i64,
    /// When it is due next (pending) or when its current try's lease ends.
    pub next_attempt_at: i64,
    pub done_at: Option<i64>,
    pub dead_at: Option<i64>,
    pub last_error: Option<String>,
}

impl From<EffectRow> for EffectView {
    fn from(row: EffectRow) -> Self {
        let status = if row.delivered_at.is_some() {
            "done"
        } else if row.failed_at.is_some() {
            "dead"
        } else {
            "pending"
        };
        Self {
            id: row.id,
            kind: row.kind,
            status: status.into(),
            attempts: row.attempts,
            dedupe_key: row.dedupe_key,
            created_at: row.created_at,
            next_attempt_at: row.next_attempt_at,
            done_at: row.delivered_at,
            dead_at: row.failed_at,
            last_error: row.last_error,
        }
    }
}

/// A page of the program's effects (`listEffects`), oldest first: `status` one of
/// `pending`, `done`, `dead`.
#[tracing::instrument(skip_all, fields(program_id = ?program_id, after = ?after, limit = ?limit))]
pub async fn list(
    db: &Db,
    program_id: i64,
    status: Option<&str>,
    kind: Option<&str>,
    after: i64,
    limit: i64,
) -> ApiResult<Page<EffectView>> {
    let status = match status {
        None => None,
        Some("pending") => Some(repo::Listed::Pending),
        Some("done") => Some(repo::Listed::Done),
        Some("dead") => Some(repo::Listed::Dead),
        Some(other) => {
            return Err(ApiError::field(
                "status",
                format!("{other:?} is not one of pending, done, dead"),
            ));
        }
    };
    let rows = repo::list(db, program_id, status, kind, after, limit + 1).await?;
    let views = rows.into_iter().map(EffectView::from).collect();
    Ok(page_of(views, limit, |view: &EffectView| view.id))
}

/// Sends a dead effect again (`retryEffect`): back in the queue with a fresh count of
/// tries, run now.
#[tracing::instrument(skip_all, fields(program_id = ?program_id, id = ?id))]
pub async fn retry(db: &Db, effects: &Effects, program_id: i64, id: i64) -> ApiResult<EffectView> {
    let now = effects.clock.now_ms();
    if repo::revive(db, id, program_id, now).await?.is_none() {
        return match repo::get(db, id, program_id).await? {
            None => Err(ApiError::not_found(format!("effect {id}"))),
            Some(_) => Err(ApiError::invalid_state(format!(
                "effect {id} is not dead; only dead effects are sent again"
            ))),
        };
    }
    run_now(db, effects, id).await;
    repo::get(db, id, program_id)
        .await?
        .map(EffectView::from)
        .ok_or_else(|| ApiError::not_found(format!("effect {id}")))
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff_ms(1), 500);
        assert_eq!(backoff_ms(2), 1_000);
        assert_eq!(backoff_ms(4), 4_000);
        assert_eq!(backoff_ms(30), 300_000);
    }
}

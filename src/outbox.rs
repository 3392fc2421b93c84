//! The transactional outbox: messages to the outside world are rows written in the
//! same transaction as the change that causes them; a background worker delivers them
//! with retries and backoff. A crash between commit and delivery loses nothing, and
//! several nodes may run workers: each claims a row by moving its `next_attempt_at`
//! forward with a conditional update, so only one node sends it at a time.

use std::sync::Arc;
use std::time::Duration;

use serde::{Serialize, de::DeserializeOwned};
use sqlx::Row;
use tokio::sync::{Notify, watch};

use crate::db::{Clock, Db, Tx};
use crate::integrations::DeliveryError;
use crate::integrations::sms::{SmsMessage, SmsSender};

pub const KIND_SMS: &str = "sms";

/// How long a claimed row is reserved for the node that claimed it: longer than any
/// provider timeout, so a live sender is never overtaken.
const CLAIM_LEASE_MS: i64 = 60_000;
/// Rows handled per pass.
const BATCH: i64 = 50;
/// Polling interval when nobody rings: picks up rows written by other nodes and
/// retries whose backoff has run out.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Writes a message into the outbox inside the caller's transaction.
pub async fn enqueue<T: Serialize>(
    tx: &mut Tx,
    kind: &str,
    payload: &T,
    now_ms: i64,
) -> anyhow::Result<()> {
    let payload = serde_json::to_string(payload)?;
    sqlx::query(
        "INSERT INTO outbox (kind, payload, created_at, next_attempt_at) VALUES ($1, $2, $3, $3)",
    )
    .bind(kind)
    .bind(payload)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Wakes the worker right after a commit so a login code does not wait for the poll.
#[derive(Clone, Default)]
pub struct OutboxBell(Arc<Notify>);

impl OutboxBell {
    pub fn ring(&self) {
        self.0.notify_one();
    }
}

pub struct OutboxWorker {
    pub db: Db,
    pub clock: Clock,
    pub sms: Box<dyn SmsSender>,
    pub bell: OutboxBell,
    pub max_attempts: u32,
}

/// Backoff before attempt `n` (1-based): 0.5 s, 1 s, 2 s … capped at 5 minutes.
pub fn backoff_ms(attempt: i64) -> i64 {
    let exponent = attempt.clamp(1, 20) - 1;
    (500_i64 << exponent).min(300_000)
}

impl OutboxWorker {
    /// Runs until `shutdown` flips to true, finishing the pass in progress.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.pass().await {
                Ok(handled) if handled > 0 => continue,
                Ok(_) => {}
                Err(err) => tracing::warn!(error = ?err, "outbox pass failed"),
            }
            tokio::select! {
                _ = self.bell.0.notified() => {}
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::debug!("outbox worker stopped");
    }

    /// Delivers the rows that are due; returns how many it handled.
    pub async fn pass(&self) -> anyhow::Result<usize> {
        let now = self.clock.now_ms();
        let due = sqlx::query(
            "SELECT id, kind, payload, attempts FROM outbox
             WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
             ORDER BY next_attempt_at, id LIMIT $2",
        )
        .bind(now)
        .bind(BATCH)
        .fetch_all(&self.db.pool)
        .await?;
        let mut handled = 0;
        for row in due {
            let id: i64 = row.try_get(0)?;
            let kind: String = row.try_get(1)?;
            let payload: String = row.try_get(2)?;
            let attempts: i64 = row.try_get(3)?;
            let claimed = sqlx::query(
                "UPDATE outbox SET next_attempt_at = $1, attempts = attempts + 1
                 WHERE id = $2 AND delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $3",
            )
            .bind(now + CLAIM_LEASE_MS)
            .bind(id)
            .bind(now)
            .execute(&self.db.pool)
            .await?
            .rows_affected()
                == 1;
            if !claimed {
                continue;
            }
            handled += 1;
            let attempt = attempts + 1;
            let outcome = self.deliver(&kind, &payload).await;
            self.record(id, attempt, outcome).await?;
        }
        Ok(handled)
    }

    async fn deliver(&self, kind: &str, payload: &str) -> Result<(), DeliveryError> {
        match kind {
            KIND_SMS => {
                let message: SmsMessage = parse_payload(payload)?;
                self.sms.send(&message).await
            }
            other => Err(DeliveryError::Permanent(format!(
                "unknown outbox kind {other:?}"
            ))),
        }
    }

    async fn record(
        &self,
        id: i64,
        attempt: i64,
        outcome: Result<(), DeliveryError>,
    ) -> anyhow::Result<()> {
        let now = self.clock.now_ms();
        match outcome {
            Ok(()) => {
                sqlx::query("UPDATE outbox SET delivered_at = $1, last_error = NULL WHERE id = $2")
                    .bind(now)
                    .bind(id)
                    .execute(&self.db.pool)
                    .await?;
            }
            Err(DeliveryError::Retryable(reason)) if attempt < i64::from(self.max_attempts) => {
                tracing::warn!(id, attempt, %reason, "outbox delivery failed; will retry");
                sqlx::query(
                    "UPDATE outbox SET next_attempt_at = $1, last_error = $2 WHERE id = $3",
                )
                .bind(now + backoff_ms(attempt))
                .bind(reason)
                .bind(id)
                .execute(&self.db.pool)
                .await?;
            }
            Err(err) => {
                tracing::error!(id, attempt, error = %err, "outbox delivery gave up");
                sqlx::query("UPDATE outbox SET failed_at = $1, last_error = $2 WHERE id = $3")
                    .bind(now)
                    .bind(err.to_string())
                    .bind(id)
                    .execute(&self.db.pool)
                    .await?;
            }
        }
        Ok(())
    }
}

fn parse_payload<T: DeserializeOwned>(payload: &str) -> Result<T, DeliveryError> {
    serde_json::from_str(payload)
        .map_err(|err| DeliveryError::Permanent(format!("unreadable outbox payload: {err}")))
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

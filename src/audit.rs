//! The audit log: who changed what, when, with the state before and after. Written in
//! the same transaction as the change, so the log and the data never disagree.

use crate::db::Tx;

#[allow(clippy::too_many_arguments)]
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn record(
    tx: &mut Tx,
    program_id: i64,
    actor_id: Option<i64>,
    action: &str,
    subject: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    now_ms: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (program_id, actor_id, action, subject, before, after, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(program_id)
    .bind(actor_id)
    .bind(action)
    .bind(subject)
    .bind(before.map(|v| v.to_string()))
    .bind(after.map(|v| v.to_string()))
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

//! The SQL of the webhooks area: subscriptions, deliveries and their attempts.

use sqlx::FromRow;

use super::DeliveryStatus;
use crate::db::{Db, Tx};

pub const SUBSCRIPTION_COLUMNS: &str =
    "id, program_id, url, events, secret, description, active, created_at, updated_at";

#[derive(Debug, Clone, FromRow)]
pub struct SubscriptionRow {
    pub id: i64,
    pub program_id: i64,
    pub url: String,
    /// JSON list of event types.
    pub events: String,
    pub secret: String,
    pub description: String,
    /// 0 or 1.
    pub active: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[tracing::instrument(skip_all)]
pub async fn subscriptions<'e, E>(
    executor: E,
    program_id: i64,
    active_only: bool,
) -> sqlx::Result<Vec<SubscriptionRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE program_id = $1 AND ($2 = 0 OR active = 1) ORDER BY id"
    )))
    .bind(program_id)
    .bind(i64::from(active_only))
    .fetch_all(executor)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn subscription<'e, E>(executor: E, id: i64) -> sqlx::Result<Option<SubscriptionRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(executor)
    .await
}

/// Subscription fields to write.
pub struct SubscriptionFields<'a> {
    pub url: &'a str,
    pub events: &'a str,
    pub description: &'a str,
    pub active: bool,
}

#[tracing::instrument(skip_all)]
pub async fn insert_subscription(
    tx: &mut Tx,
    program_id: i64,
    fields: &SubscriptionFields<'_>,
    secret: &str,
    created_by: i64,
    now: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO webhook_subscriptions (program_id, url, events, secret, description, active, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(program_id)
    .bind(fields.url)
    .bind(fields.events)
    .bind(secret)
    .bind(fields.description)
    .bind(i64::from(fields.active))
    .bind(created_by)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn update_subscription(
    tx: &mut Tx,
    id: i64,
    fields: &SubscriptionFields<'_>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE webhook_subscriptions SET url = $1, events = $2, description = $3, active = $4, updated_at = $5 WHERE id = $6",
    )
    .bind(fields.url)
    .bind(fields.events)
    .bind(fields.description)
    .bind(i64::from(fields.active))
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// A delivery to write.
pub struct NewDelivery<'a> {
    pub subscription_id: i64,
    pub program_id: i64,
    pub message_id: &'a str,
    pub event_type: &'a str,
    pub payload: &'a str,
}

#[tracing::instrument(skip_all)]
pub async fn insert_delivery(tx: &mut Tx, new: &NewDelivery<'_>, now: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO webhook_deliveries (subscription_id, program_id, message_id, event_type, payload, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(new.subscription_id)
    .bind(new.program_id)
    .bind(new.message_id)
    .bind(new.event_type)
    .bind(new.payload)
    .bind(DeliveryStatus::Pending.as_str())
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

pub const DELIVERY_COLUMNS: &str = "id, subscription_id, program_id, message_id, event_type, payload, status, attempts, created_at, delivered_at";

#[derive(Debug, Clone, FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub subscription_id: i64,
    pub program_id: i64,
    pub message_id: String,
    pub event_type: String,
    pub payload: String,
    #[sqlx(try_from = "String")]
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

#[tracing::instrument(skip_all)]
pub async fn delivery<'e, E>(executor: E, id: i64) -> sqlx::Result<Option<DeliveryRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(executor)
    .await
}

/// A subscription's deliveries with ids below `before`, newest first.
#[tracing::instrument(skip_all)]
pub async fn deliveries(
    db: &Db,
    subscription_id: i64,
    before: i64,
    limit: i64,
) -> sqlx::Result<Vec<DeliveryRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE subscription_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    )))
    .bind(subscription_id)
    .bind(before)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

#[derive(Debug, Clone, FromRow)]
pub struct AttemptRow {
    pub id: i64,
    pub delivery_id: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub created_at: i64,
}

#[tracing::instrument(skip_all)]
pub async fn attempts(db: &Db, deliveries: &[i64]) -> sqlx::Result<Vec<AttemptRow>> {
    if deliveries.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = crate::db::Sql::new(
        "SELECT id, delivery_id, status_code, error, duration_ms, created_at FROM webhook_attempts WHERE delivery_id IN ",
    );
    sql.bind_list(deliveries.iter().copied())
        .push(" ORDER BY id");
    sql.query_as().fetch_all(&db.pool).await
}

/// Records one try and where the delivery stands after it.
#[tracing::instrument(skip_all)]
pub async fn record_attempt(
    tx: &mut Tx,
    delivery_id: i64,
    status_code: Option<i64>,
    error: Option<&str>,
    duration_ms: i64,
    status: DeliveryStatus,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, status_code, error, duration_ms, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(delivery_id)
    .bind(status_code)
    .bind(error)
    .bind(duration_ms)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, status = $1, delivered_at = $2 WHERE id = $3",
    )
    .bind(status.as_str())
    .bind((status == DeliveryStatus::Delivered).then_some(now))
    .bind(delivery_id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

#[tracing::instrument(skip_all)]
pub async fn set_status(tx: &mut Tx, delivery_id: i64, status: DeliveryStatus) -> sqlx::Result<()> {
    sqlx::query("UPDATE webhook_deliveries SET status = $1 WHERE id = $2")
        .bind(status.as_str())
        .bind(delivery_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

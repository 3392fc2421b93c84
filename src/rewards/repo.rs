//! The SQL of the rewards area: the showcase's rewards, orders with their lines and
//! history. Rows are read by name into typed structs; statuses and kinds are parsed by
//! the use cases.

use sqlx::FromRow;
use stimul_actors::rules::rewards::RewardStatus;
use stimul_actors::rules::rewards::{CardPaymentStatus, OrderStatus, PayoutStatus};

use crate::db::{Bind, Db, Sql, Tx};

pub const REWARD_COLUMNS: &str = "id, program_id, brand_id, sku, kind, title, description, category, network, price, min_amount, max_amount, stock, picture, regions, levels, roles, active_from, active_to, status, created_at, updated_at";

#[derive(Debug, Clone, FromRow)]
pub struct RewardRow {
    pub id: i64,
    pub program_id: i64,
    pub brand_id: Option<i64>,
    pub sku: String,
    pub kind: String,
    pub title: String,
    pub description: String,
    pub category: String,
    pub network: Option<String>,
    pub price: Option<i64>,
    pub min_amount: Option<i64>,
    pub max_amount: Option<i64>,
    pub stock: Option<i64>,
    pub picture: Option<String>,
    /// JSON arrays.
    pub regions: String,
    pub levels: String,
    pub roles: String,
    pub active_from: Option<i64>,
    pub active_to: Option<i64>,
    #[sqlx(try_from = "String")]
    pub status: RewardStatus,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A reward as written (the use cases have checked it).
#[derive(Debug, Clone)]
pub struct RewardFields {
    pub brand_id: Option<i64>,
    pub sku: String,
    pub kind: &'static str,
    pub title: String,
    pub description: String,
    pub category: String,
    pub network: Option<String>,
    pub price: Option<i64>,
    pub min_amount: Option<i64>,
    pub max_amount: Option<i64>,
    pub stock: Option<i64>,
    pub picture: Option<String>,
    pub regions: String,
    pub levels: String,
    pub roles: String,
    pub active_from: Option<i64>,
    pub active_to: Option<i64>,
    pub status: RewardStatus,
}

/// Creates the reward, or updates the program's reward with the same SKU (imports are
/// matched on it); answers its id.
#[tracing::instrument(skip(tx, fields), fields(sku = %fields.sku))]
pub async fn upsert(
    tx: &mut Tx,
    program_id: i64,
    fields: &RewardFields,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO rewards (program_id, brand_id, sku, kind, title, description, category, network, price, min_amount, max_amount,
                              stock, picture, regions, levels, roles, active_from, active_to, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20)
         ON CONFLICT (program_id, sku) DO UPDATE SET brand_id = $2, kind = $4, title = $5, description = $6, category = $7,
             network = $8, price = $9, min_amount = $10, max_amount = $11, stock = $12, picture = $13, regions = $14,
             levels = $15, roles = $16, active_from = $17, active_to = $18, status = $19, updated_at = $20
         RETURNING id",
    )
    .bind(program_id)
    .bind(fields.brand_id)
    .bind(&fields.sku)
    .bind(fields.kind)
    .bind(&fields.title)
    .bind(&fields.description)
    .bind(&fields.category)
    .bind(&fields.network)
    .bind(fields.price)
    .bind(fields.min_amount)
    .bind(fields.max_amount)
    .bind(fields.stock)
    .bind(&fields.picture)
    .bind(&fields.regions)
    .bind(&fields.levels)
    .bind(&fields.roles)
    .bind(fields.active_from)
    .bind(fields.active_to)
    .bind(fields.status.as_str())
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

#[tracing::instrument(skip(executor))]
pub async fn reward<'e, E>(
    executor: E,
    program_id: i64,
    id: i64,
) -> Result<Option<RewardRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {REWARD_COLUMNS} FROM rewards WHERE id = $1 AND program_id = $2"
    )))
    .bind(id)
    .bind(program_id)
    .fetch_optional(executor)
    .await
}

#[tracing::instrument(skip(executor))]
pub async fn sku_exists<'e, E>(executor: E, program_id: i64, sku: &str) -> Result<bool, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM rewards WHERE program_id = $1 AND sku = $2")
            .bind(program_id)
            .bind(sku)
            .fetch_optional(executor)
            .await?;
    Ok(found.is_some())
}

/// What a listing of rewards asks for.
#[derive(Debug, Default)]
pub struct RewardQuery<'a> {
    pub category: Option<&'a str>,
    pub kind: Option<&'a str>,
    /// Only active rewards (the showcase).
    pub active_only: bool,
    /// Only rewards of these brands, or of none (`Some(vec![])`: program rewards only
    /// cannot be expressed; a brand user sees their brands').
    pub brands: Option<Vec<i64>>,
    pub after: i64,
    pub limit: i64,
}

#[tracing::instrument(skip(db))]
pub async fn rewards(
    db: &Db,
    program_id: i64,
    query: &RewardQuery<'_>,
) -> Result<Vec<RewardRow>, sqlx::Error> {
    let mut sql = Sql::new(&format!(
        "SELECT {REWARD_COLUMNS} FROM rewards WHERE program_id = "
    ));
    sql.bind(program_id);
    if let Some(category) = query.category {
        sql.push(" AND category = ")
            .bind(Bind::Text(category.to_string()));
    }
    if let Some(kind) = query.kind {
        sql.push(" AND kind = ").bind(Bind::Text(kind.to_string()));
    }
    if query.active_only {
        sql.push(" AND status = 'active'");
    }
    if let Some(brands) = &query.brands {
        if brands.is_empty() {
            sql.push(" AND 1 = 0");
        } else {
            sql.push(" AND brand_id IN ")
                .bind_list(brands.iter().copied());
        }
    }
    sql.push(" AND id > ").bind(query.after);
    sql.push(" ORDER BY id LIMIT ").bind(query.limit);
    sql.query_as().fetch_all(&db.pool).await
}

/// The categories of the program's active rewards, for the showcase's filter.
#[tracing::instrument(skip(db))]
pub async fn categories(db: &Db, program_id: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT category FROM rewards WHERE program_id = $1 AND status = 'active' AND category <> '' ORDER BY category",
    )
    .bind(program_id)
    .fetch_all(&db.pool)
    .await
}

/// Takes `quantity` from a reward's stock unless that would go below zero; unlimited
/// stock always gives. Answers whether it gave. One conditional update, so racing
/// buyers can never overdraw it.
#[tracing::instrument(skip(tx))]
pub async fn take_stock(tx: &mut Tx, reward_id: i64, quantity: i64) -> Result<bool, sqlx::Error> {
    let taken = sqlx::query(
        "UPDATE rewards SET stock = stock - $1 WHERE id = $2 AND stock IS NOT NULL AND stock >= $1",
    )
    .bind(quantity)
    .bind(reward_id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if taken == 1 {
        return Ok(true);
    }
    let unlimited: Option<i64> =
        sqlx::query_scalar("SELECT id FROM rewards WHERE id = $1 AND stock IS NULL")
            .bind(reward_id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(unlimited.is_some())
}

/// Puts an order's units back on the shelf (a cancelled or failed order).
#[tracing::instrument(skip(tx))]
pub async fn return_stock(tx: &mut Tx, order_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE rewards SET stock = stock + (SELECT COALESCE(SUM(i.quantity), 0) FROM order_items i WHERE i.order_id = $1 AND i.reward_id = rewards.id)
         WHERE stock IS NOT NULL AND id IN (SELECT reward_id FROM order_items WHERE order_id = $1)",
    )
    .bind(order_id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub const ORDER_COLUMNS: &str = "id, program_id, participant_id, status, total, card_amount, delivery, hold_transaction_id, settled_transaction_id, failure_reason, request_key, created_at, updated_at";

#[derive(Debug, Clone, FromRow)]
pub struct OrderRow {
    pub id: i64,
    pub program_id: i64,
    pub participant_id: i64,
    #[sqlx(try_from = "String")]
    pub status: OrderStatus,
    pub total: i64,
    /// The part of `total` paid by card; the rest is the participant's points.
    pub card_amount: i64,
    /// JSON.
    pub delivery: Option<String>,
    pub hold_transaction_id: Option<i64>,
    pub settled_transaction_id: Option<i64>,
    pub failure_reason: Option<String>,
    pub request_key: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct OrderItemRow {
    pub id: i64,
    pub order_id: i64,
    pub reward_id: i64,
    pub quantity: i64,
    pub unit_price: i64,
    pub provider_reference: Option<String>,
    pub certificate_code: Option<String>,
    pub certificate_pin: Option<String>,
    /// When the provider delivered it.
    pub delivered_at: Option<i64>,
    /// From the reward, for the view and for fulfilment.
    pub kind: String,
    pub title: String,
    pub sku: String,
    pub network: Option<String>,
}

#[derive(Debug, Clone, FromRow)]
pub struct HistoryRow {
    pub status: String,
    pub note: Option<String>,
    pub actor_id: Option<i64>,
    pub created_at: i64,
}

/// An order to write: its first status, total and card part.
#[derive(Debug)]
pub struct NewOrder<'a> {
    pub program_id: i64,
    pub participant_id: i64,
    pub status: OrderStatus,
    pub total: i64,
    pub card_amount: i64,
    /// JSON.
    pub delivery: Option<&'a str>,
}

#[tracing::instrument(skip(tx))]
pub async fn insert_order(
    tx: &mut Tx,
    order: &NewOrder<'_>,
    request_key: Option<&str>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO orders (program_id, participant_id, status, total, card_amount, delivery, request_key, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(order.program_id)
    .bind(order.participant_id)
    .bind(order.status.as_str())
    .bind(order.total)
    .bind(order.card_amount)
    .bind(order.delivery)
    .bind(request_key)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

#[tracing::instrument(skip(tx))]
pub async fn insert_item(
    tx: &mut Tx,
    order_id: i64,
    reward_id: i64,
    quantity: i64,
    unit_price: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO order_items (order_id, reward_id, quantity, unit_price) VALUES ($1, $2, $3, $4)",
    )
    .bind(order_id)
    .bind(reward_id)
    .bind(quantity)
    .bind(unit_price)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

#[tracing::instrument(skip(tx, note))]
pub async fn insert_history(
    tx: &mut Tx,
    order_id: i64,
    status: &str,
    note: Option<&str>,
    actor_id: Option<i64>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO order_history (order_id, status, note, actor_id, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(order_id)
    .bind(status)
    .bind(note)
    .bind(actor_id)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

#[tracing::instrument(skip(executor))]
pub async fn order<'e, E>(executor: E, id: i64) -> Result<Option<OrderRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(executor)
    .await
}

/// Locks an order for a change of status: `FOR UPDATE` on PostgreSQL (SQLite's
/// `BEGIN IMMEDIATE` already holds the only write lock).
#[tracing::instrument(skip(tx))]
pub async fn order_for_update(
    tx: &mut Tx,
    backend: crate::db::Backend,
    id: i64,
) -> Result<Option<OrderRow>, sqlx::Error> {
    let lock = match backend {
        crate::db::Backend::Postgres => " FOR UPDATE",
        crate::db::Backend::Sqlite => "",
    };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

#[tracing::instrument(skip(executor))]
pub async fn order_by_request_key<'e, E>(
    executor: E,
    participant_id: i64,
    key: &str,
) -> Result<Option<OrderRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE participant_id = $1 AND request_key = $2"
    )))
    .bind(participant_id)
    .bind(key)
    .fetch_optional(executor)
    .await
}

#[tracing::instrument(skip(executor))]
pub async fn items<'e, E>(executor: E, order_id: i64) -> Result<Vec<OrderItemRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(
        "SELECT i.id, i.order_id, i.reward_id, i.quantity, i.unit_price, i.provider_reference, i.certificate_code,
                i.certificate_pin, i.delivered_at, r.kind, r.title, r.sku, r.network
         FROM order_items i JOIN rewards r ON r.id = i.reward_id WHERE i.order_id = $1 ORDER BY i.id",
    )
    .bind(order_id)
    .fetch_all(executor)
    .await
}

#[tracing::instrument(skip(executor))]
pub async fn history<'e, E>(executor: E, order_id: i64) -> Result<Vec<HistoryRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(
        "SELECT status, note, actor_id, created_at FROM order_history WHERE order_id = $1 ORDER BY id",
    )
    .bind(order_id)
    .fetch_all(executor)
    .await
}

/// What a listing of orders asks for.
#[derive(Debug, Default)]
pub struct OrderQuery<'a> {
    pub participant_id: Option<i64>,
    pub status: Option<&'a str>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub after: i64,
    pub limit: i64,
}

#[tracing::instrument(skip(db))]
pub async fn orders(
    db: &Db,
    program_id: i64,
    query: &OrderQuery<'_>,
) -> Result<Vec<OrderRow>, sqlx::Error> {
    let mut sql = Sql::new(&format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE program_id = "
    ));
    sql.bind(program_id);
    if let Some(participant) = query.participant_id {
        sql.push(" AND participant_id = ").bind(participant);
    }
    if let Some(status) = query.status {
        sql.push(" AND status = ")
            .bind(Bind::Text(status.to_string()));
    }
    if let Some(since) = query.since {
        sql.push(" AND created_at >= ").bind(since);
    }
    if let Some(until) = query.until {
        sql.push(" AND created_at < ").bind(until);
    }
    sql.push(" AND id > ").bind(query.after);
    sql.push(" ORDER BY id LIMIT ").bind(query.limit);
    sql.query_as().fetch_all(&db.pool).await
}

/// Moves an order to `status` if it is still in `from` (the caller checked the move
/// is allowed); answers whether it moved.
#[tracing::instrument(skip(tx, failure_reason))]
pub async fn set_status(
    tx: &mut Tx,
    id: i64,
    from: OrderStatus,
    status: OrderStatus,
    failure_reason: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let moved = sqlx::query(
        "UPDATE orders SET status = $1, failure_reason = COALESCE($2, failure_reason), updated_at = $3
         WHERE id = $4 AND status = $5",
    )
    .bind(status.as_str())
    .bind(failure_reason)
    .bind(now)
    .bind(id)
    .bind(from.as_str())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(moved == 1)
}

#[tracing::instrument(skip(tx))]
pub async fn set_transactions(
    tx: &mut Tx,
    id: i64,
    hold: Option<i64>,
    settled: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE orders SET hold_transaction_id = COALESCE($1, hold_transaction_id),
                settled_transaction_id = COALESCE($2, settled_transaction_id) WHERE id = $3",
    )
    .bind(hold)
    .bind(settled)
    .bind(id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Records the provider's reference of a line it is still working on.
#[tracing::instrument(skip(db))]
pub async fn record_reference(db: &Db, item_id: i64, reference: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE order_items SET provider_reference = $1 WHERE id = $2")
        .bind(reference)
        .bind(item_id)
        .execute(&db.pool)
        .await
        .map(|_| ())
}

/// Records that the provider delivered a line, with its certificate where there is
/// one; the first delivery stands (a provider reporting success twice changes nothing).
#[tracing::instrument(skip(db, code, pin))]
pub async fn record_delivered(
    db: &Db,
    item_id: i64,
    reference: Option<&str>,
    code: Option<&str>,
    pin: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE order_items SET provider_reference = COALESCE($1, provider_reference), certificate_code = $2,
                certificate_pin = $3, delivered_at = $4
         WHERE id = $5 AND delivered_at IS NULL",
    )
    .bind(reference)
    .bind(code)
    .bind(pin)
    .bind(now)
    .bind(item_id)
    .execute(&db.pool)
    .await
    .map(|_| ())
}

#[derive(Debug, Clone, FromRow)]
pub struct PayoutCardRow {
    pub id: i64,
    pub participant_id: i64,
    pub token: String,
    pub masked: String,
    pub created_at: i64,
}

/// Keeps a card (its token and masked number); the same card added twice is one.
#[tracing::instrument(skip(db, token))]
pub async fn insert_card(
    db: &Db,
    program_id: i64,
    participant_id: i64,
    token: &str,
    masked: &str,
    now: i64,
) -> Result<PayoutCardRow, sqlx::Error> {
    sqlx::query(
        "INSERT INTO payout_cards (program_id, participant_id, token, masked, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (participant_id, token) DO NOTHING",
    )
    .bind(program_id)
    .bind(participant_id)
    .bind(token)
    .bind(masked)
    .bind(now)
    .execute(&db.pool)
    .await?;
    sqlx::query_as(
        "SELECT id, participant_id, token, masked, created_at FROM payout_cards WHERE participant_id = $1 AND token = $2",
    )
    .bind(participant_id)
    .bind(token)
    .fetch_one(&db.pool)
    .await
}

#[tracing::instrument(skip(executor))]
pub async fn cards<'e, E>(
    executor: E,
    participant_id: i64,
) -> Result<Vec<PayoutCardRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(
        "SELECT id, participant_id, token, masked, created_at FROM payout_cards WHERE participant_id = $1 ORDER BY id",
    )
    .bind(participant_id)
    .fetch_all(executor)
    .await
}

pub const PAYOUT_COLUMNS: &str = "p.id, p.program_id, p.participant_id, p.card_id, c.masked, c.token, p.amount, p.status, p.hold_transaction_id, p.settled_transaction_id, p.provider_reference, p.failure_reason, p.created_at, p.updated_at";

#[derive(Debug, Clone, FromRow)]
pub struct PayoutRow {
    pub id: i64,
    pub program_id: i64,
    pub participant_id: i64,
    pub card_id: i64,
    pub masked: String,
    pub token: String,
    pub amount: i64,
    #[sqlx(try_from = "String")]
    pub status: PayoutStatus,
    pub hold_transaction_id: Option<i64>,
    pub settled_transaction_id: Option<i64>,
    pub provider_reference: Option<String>,
    pub failure_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[tracing::instrument(skip(tx))]
pub async fn insert_payout(
    tx: &mut Tx,
    program_id: i64,
    participant_id: i64,
    card_id: i64,
    amount: i64,
    request_key: Option<&str>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO payouts (program_id, participant_id, card_id, amount, status, request_key, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'review', $5, $6, $6) RETURNING id",
    )
    .bind(program_id)
    .bind(participant_id)
    .bind(card_id)
    .bind(amount)
    .bind(request_key)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

#[tracing::instrument(skip(executor))]
pub async fn payout<'e, E>(executor: E, id: i64) -> Result<Option<PayoutRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PAYOUT_COLUMNS} FROM payouts p JOIN payout_cards c ON c.id = p.card_id WHERE p.id = $1"
    )))
    .bind(id)
    .fetch_optional(executor)
    .await
}

#[tracing::instrument(skip(executor))]
pub async fn payout_by_request_key<'e, E>(
    executor: E,
    participant_id: i64,
    key: &str,
) -> Result<Option<PayoutRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PAYOUT_COLUMNS} FROM payouts p JOIN payout_cards c ON c.id = p.card_id WHERE p.participant_id = $1 AND p.request_key = $2"
    )))
    .bind(participant_id)
    .bind(key)
    .fetch_optional(executor)
    .await
}

#[tracing::instrument(skip(db))]
pub async fn payouts_of(
    db: &Db,
    participant_id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<PayoutRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PAYOUT_COLUMNS} FROM payouts p JOIN payout_cards c ON c.id = p.card_id
         WHERE p.participant_id = $1 AND p.id > $2 ORDER BY p.id LIMIT $3"
    )))
    .bind(participant_id)
    .bind(after)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

/// What a participant has paid out, or has on its way, since `since` (the limits),
/// not counting payout `except`.
#[tracing::instrument(skip(executor))]
pub async fn paid_out_since<'e, E>(
    executor: E,
    participant_id: i64,
    since: i64,
    except: i64,
) -> Result<i64, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payouts
         WHERE participant_id = $1 AND created_at >= $2 AND id <> $3 AND status IN ('review', 'approved', 'paid')",
    )
    .bind(participant_id)
    .bind(since)
    .bind(except)
    .fetch_one(executor)
    .await
}

/// Moves a payout from `from` to `status`; answers whether it moved.
#[tracing::instrument(skip(tx, reason, reference))]
#[allow(clippy::too_many_arguments)]
pub async fn set_payout_status(
    tx: &mut Tx,
    id: i64,
    from: PayoutStatus,
    status: PayoutStatus,
    reason: Option<&str>,
    reference: Option<&str>,
    settled: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let moved = sqlx::query(
        "UPDATE payouts SET status = $1, failure_reason = COALESCE($2, failure_reason),
                provider_reference = COALESCE($3, provider_reference),
                settled_transaction_id = COALESCE($4, settled_transaction_id), updated_at = $5
         WHERE id = $6 AND status = $7",
    )
    .bind(status.as_str())
    .bind(reason)
    .bind(reference)
    .bind(settled)
    .bind(now)
    .bind(id)
    .bind(from.as_str())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(moved == 1)
}

/// Records the provider's reference of a payout it is still paying.
#[tracing::instrument(skip(db))]
pub async fn record_payout_reference(db: &Db, id: i64, reference: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE payouts SET provider_reference = $1 WHERE id = $2")
        .bind(reference)
        .bind(id)
        .execute(&db.pool)
        .await
        .map(|_| ())
}

#[tracing::instrument(skip(tx))]
pub async fn set_payout_hold(tx: &mut Tx, id: i64, hold: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE payouts SET hold_transaction_id = $1 WHERE id = $2")
        .bind(hold)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// An order's card payment (`order_payments`).
#[derive(Debug, Clone, FromRow)]
pub struct PaymentRow {
    pub order_id: i64,
    pub program_id: i64,
    pub amount: i64,
    #[sqlx(try_from = "String")]
    pub status: CardPaymentStatus,
    pub provider_reference: Option<String>,
    pub confirmation_url: Option<String>,
    pub reason: Option<String>,
    pub expires_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const PAYMENT_COLUMNS: &str = "order_id, program_id, amount, status, provider_reference, confirmation_url, reason, expires_at, created_at, updated_at";

#[tracing::instrument(skip(tx))]
pub async fn insert_payment(
    tx: &mut Tx,
    order_id: i64,
    program_id: i64,
    amount: i64,
    expires_at: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO order_payments (order_id, program_id, amount, status, expires_at, created_at, updated_at)
         VALUES ($1, $2, $3, 'pending', $4, $5, $5)",
    )
    .bind(order_id)
    .bind(program_id)
    .bind(amount)
    .bind(expires_at)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

#[tracing::instrument(skip(executor))]
pub async fn payment<'e, E>(executor: E, order_id: i64) -> Result<Option<PaymentRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PAYMENT_COLUMNS} FROM order_payments WHERE order_id = $1"
    )))
    .bind(order_id)
    .fetch_optional(executor)
    .await
}

/// Moves a payment from `from` to `status` (with a reason when it ends unpaid); answers
/// whether it moved, so two reports of the same thing act once.
#[tracing::instrument(skip(tx))]
pub async fn set_payment_status(
    tx: &mut Tx,
    order_id: i64,
    from: CardPaymentStatus,
    status: CardPaymentStatus,
    reason: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let moved = sqlx::query(
        "UPDATE order_payments SET status = $1, reason = COALESCE($2, reason), updated_at = $3
         WHERE order_id = $4 AND status = $5",
    )
    .bind(status.as_str())
    .bind(reason)
    .bind(now)
    .bind(order_id)
    .bind(from.as_str())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(moved == 1)
}

/// Records the provider's reference and payment page of a payment not yet settled.
#[tracing::instrument(skip(executor, confirmation_url))]
pub async fn record_payment_page<'e, E>(
    executor: E,
    order_id: i64,
    reference: Option<&str>,
    confirmation_url: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "UPDATE order_payments SET provider_reference = COALESCE($1, provider_reference),
                confirmation_url = COALESCE($2, confirmation_url), updated_at = $3
         WHERE order_id = $4 AND status IN ('pending', 'cancelled')",
    )
    .bind(reference)
    .bind(confirmation_url)
    .bind(now)
    .bind(order_id)
    .execute(executor)
    .await
    .map(|_| ())
}

/// Marks a refund done.
#[tracing::instrument(skip(db))]
pub async fn record_refunded(db: &Db, order_id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE order_payments SET status = 'refunded', updated_at = $1
         WHERE order_id = $2 AND status = 'refund_pending'",
    )
    .bind(now)
    .bind(order_id)
    .execute(&db.pool)
    .await
    .map(|_| ())
}

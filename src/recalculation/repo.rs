//! The SQL of the recalculation area: the earnings a rule reprices (with what they
//! paid, from their postings and earlier recalculations), recalculations with their
//! items and per-participant lines, and open debts. Compensations themselves are
//! posted through the ledger's committer; this side never writes a posting.

use sqlx::FromRow;
use stimul_actors::rules::recalculation::{RecalculationRule, RecalculationStatus};

use crate::db::{Db, Sql, Tx};

/// Rows per multi-row statement: well inside SQLite's limit on bound values.
const CHUNK: usize = 400;

/// An earning transaction a rule applies to, with its recorded terms.
#[derive(Debug, Clone, FromRow)]
pub struct EarningRow {
    pub id: i64,
    pub participant_id: i64,
    pub store_id: Option<i64>,
    pub campaign_id: Option<i64>,
    /// 1 while the earning is a hold waiting for a decision, else 0.
    pub held: i64,
    pub earn_base: i64,
    /// Decimal text of the multiplier applied.
    pub earn_multiplier: String,
    /// Units of the product paid for (product rules only).
    pub units: Option<i64>,
    /// The transaction that released the hold, if it was one.
    pub settlement_id: Option<i64>,
}

/// The earnings in `[starts_at, ends_at)` of `program_id` that `rule` applies to,
/// in transaction order.
#[tracing::instrument(skip_all)]
pub async fn earnings(
    db: &Db,
    program_id: i64,
    rule: &RecalculationRule,
    starts_at: i64,
    ends_at: i64,
) -> sqlx::Result<Vec<EarningRow>> {
    let mut sql = Sql::new(
        "SELECT t.id, t.participant_id, t.store_id, t.campaign_id, CASE WHEN t.status = 'pending' THEN 1 ELSE 0 END AS held, t.earn_base, t.earn_multiplier, ",
    );
    match rule {
        RecalculationRule::CampaignProduct { product_id, .. } => {
            sql.push("CASE WHEN t.source_type = 'code' THEN (SELECT pack_size FROM products WHERE id = ")
                .bind(*product_id)
                .push(") ELSE (SELECT r.quantity FROM receipts r WHERE r.hold_transaction_id = t.id) END AS units");
        }
        _ => {
            sql.push("CAST(NULL AS BIGINT) AS units");
        }
    }
    sql.push(
        ", (SELECT s.id FROM ledger_transactions s WHERE s.settles_id = t.id) AS settlement_id
         FROM ledger_transactions t WHERE t.program_id = ",
    )
    .bind(program_id)
    .push(" AND t.created_at >= ")
    .bind(starts_at)
    .push(" AND t.created_at < ")
    .bind(ends_at)
    .push(" AND t.earn_base IS NOT NULL AND t.status IN ('posted', 'confirmed', 'pending')");
    match rule {
        RecalculationRule::CampaignProduct {
            campaign_id,
            product_id,
            ..
        } => {
            sql.push(" AND t.campaign_id = ")
                .bind(*campaign_id)
                .push(" AND ((t.source_type = 'code' AND t.id IN (SELECT c.transaction_id FROM codes c WHERE c.product_id = ")
                .bind(*product_id)
                .push(" AND c.campaign_id = ")
                .bind(*campaign_id)
                .push(")) OR (t.source_type = 'receipt' AND t.id IN (SELECT r.hold_transaction_id FROM receipts r WHERE r.product_id = ")
                .bind(*product_id)
                .push(" AND r.campaign_id = ")
                .bind(*campaign_id)
                .push(")))");
        }
        RecalculationRule::LevelMultiplier { level, .. } => {
            sql.push(" AND t.earn_level = ").bind(*level);
        }
        RecalculationRule::TaskPoints { task_id, .. } => {
            sql.push(" AND t.source_type = 'submission' AND t.id IN (SELECT s.hold_transaction_id FROM task_submissions s WHERE s.task_id = ")
                .bind(*task_id)
                .push(" AND s.hold_transaction_id IS NOT NULL UNION SELECT s.transaction_id FROM task_submissions s WHERE s.task_id = ")
                .bind(*task_id)
                .push(" AND s.transaction_id IS NOT NULL)");
        }
    }
    sql.push(" ORDER BY t.id");
    sql.query_as().fetch_all(&db.pool).await
}

/// A posting of an earning or its settlement, with both accounts named.
#[derive(Debug, Clone, FromRow)]
pub struct PostingRow {
    pub transaction_id: i64,
    pub purpose: String,
    pub amount: i64,
    pub debit_kind: String,
    pub debit_owner: i64,
    /// The participant credited, when a participant's available points are.
    pub credit_participant: Option<i64>,
}

/// The postings of `transactions`.
#[tracing::instrument(skip_all)]
pub async fn postings(db: &Db, transactions: &[i64]) -> sqlx::Result<Vec<PostingRow>> {
    let mut rows = Vec::new();
    for chunk in transactions.chunks(CHUNK) {
        let mut sql = Sql::new(
            "SELECT p.transaction_id, p.purpose, p.amount, d.kind AS debit_kind, d.owner_id AS debit_owner,
                    CASE WHEN c.kind = 'participant' THEN c.owner_id END AS credit_participant
             FROM postings p JOIN accounts d ON d.id = p.debit_account JOIN accounts c ON c.id = p.credit_account
             WHERE p.transaction_id IN ",
        );
        sql.bind_list(chunk.iter().copied());
        rows.extend(sql.query_as::<PostingRow>().fetch_all(&db.pool).await?);
    }
    Ok(rows)
}

/// What an earlier recalculation made an earning pay.
#[derive(Debug, Clone, FromRow)]
pub struct ItemRow {
    pub recalculation_id: i64,
    pub transaction_id: i64,
    pub recalculated: i64,
    pub owner_recalculated: i64,
    pub base: i64,
    /// Decimal text.
    pub multiplier: String,
}

/// Every earlier recalculation item of `transactions`, oldest first (the last one of a
/// transaction is what it pays now).
#[tracing::instrument(skip_all)]
pub async fn items(db: &Db, transactions: &[i64]) -> sqlx::Result<Vec<ItemRow>> {
    let mut rows = Vec::new();
    for chunk in transactions.chunks(CHUNK) {
        let mut sql = Sql::new(
            "SELECT recalculation_id, transaction_id, recalculated, owner_recalculated, base, multiplier FROM recalculation_items WHERE transaction_id IN ",
        );
        sql.bind_list(chunk.iter().copied())
            .push(" ORDER BY recalculation_id");
        rows.extend(sql.query_as::<ItemRow>().fetch_all(&db.pool).await?);
    }
    Ok(rows)
}

/// A person as the preview names them.
#[derive(Debug, Clone, FromRow)]
pub struct PersonRow {
    pub id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub available: i64,
    pub debt_balance: i64,
}

/// Names and current balances of `users`.
#[tracing::instrument(skip_all)]
pub async fn people(db: &Db, program_id: i64, users: &[i64]) -> sqlx::Result<Vec<PersonRow>> {
    let mut rows = Vec::new();
    for chunk in users.chunks(CHUNK) {
        let mut sql = Sql::new(&format!(
            "SELECT u.id, u.name, u.phone, {available} AS available, {debt} AS debt_balance FROM users u WHERE u.id IN ",
            available = balance_of("participant"),
            debt = balance_of("debt"),
        ));
        sql.bind_list(chunk.iter().copied())
            .push(" AND u.program_id = ")
            .bind(program_id);
        rows.extend(sql.query_as::<PersonRow>().fetch_all(&db.pool).await?);
    }
    Ok(rows)
}

/// The balance of a user's account of `kind` (0 when it does not exist), as a column.
fn balance_of(kind: &str) -> String {
    format!(
        "COALESCE((SELECT a.balance FROM accounts a WHERE a.program_id = u.program_id AND a.kind = '{kind}' AND a.owner_id = u.id), 0)"
    )
}

pub const COLUMNS: &str = "id, program_id, idempotency_key, rule, period_from, period_to, starts_at, ends_at, comment, status, transactions, participants, gainers, losers, gains, losses, owner_gains, owner_losses, posted, failed, created_by, created_at, finished_at";

#[derive(Debug, Clone, FromRow)]
pub struct RecalculationRow {
    pub id: i64,
    pub program_id: i64,
    pub idempotency_key: String,
    /// JSON of the [`RecalculationRule`].
    pub rule: String,
    pub period_from: String,
    pub period_to: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub comment: String,
    #[sqlx(try_from = "String")]
    pub status: RecalculationStatus,
    pub transactions: i64,
    pub participants: i64,
    pub gainers: i64,
    pub losers: i64,
    pub gains: i64,
    pub losses: i64,
    pub owner_gains: i64,
    pub owner_losses: i64,
    pub posted: i64,
    pub failed: i64,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// A recalculation to write.
pub struct NewRecalculation<'a> {
    pub program_id: i64,
    pub idempotency_key: &'a str,
    pub rule: &'a str,
    pub period_from: &'a str,
    pub period_to: &'a str,
    pub starts_at: i64,
    pub ends_at: i64,
    pub comment: &'a str,
    pub status: RecalculationStatus,
    pub transactions: i64,
    pub participants: i64,
    pub gainers: i64,
    pub losers: i64,
    pub gains: i64,
    pub losses: i64,
    pub owner_gains: i64,
    pub owner_losses: i64,
    pub created_by: i64,
}

#[tracing::instrument(skip_all)]
pub async fn insert(tx: &mut Tx, new: &NewRecalculation<'_>, now: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO recalculations (program_id, idempotency_key, rule, period_from, period_to, starts_at, ends_at, comment, status, transactions, participants, gainers, losers, gains, losses, owner_gains, owner_losses, created_by, created_at, finished_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) RETURNING id",
    )
    .bind(new.program_id)
    .bind(new.idempotency_key)
    .bind(new.rule)
    .bind(new.period_from)
    .bind(new.period_to)
    .bind(new.starts_at)
    .bind(new.ends_at)
    .bind(new.comment)
    .bind(new.status.as_str())
    .bind(new.transactions)
    .bind(new.participants)
    .bind(new.gainers)
    .bind(new.losers)
    .bind(new.gains)
    .bind(new.losses)
    .bind(new.owner_gains)
    .bind(new.owner_losses)
    .bind(new.created_by)
    .bind(now)
    .bind((new.status == RecalculationStatus::Finished).then_some(now))
    .fetch_one(&mut **tx)
    .await
}

/// An item to write.
pub struct NewItem {
    pub transaction_id: i64,
    pub participant_id: i64,
    pub paid: i64,
    pub recalculated: i64,
    pub owner_paid: i64,
    pub owner_recalculated: i64,
    pub base: i64,
    pub multiplier: String,
}

#[tracing::instrument(skip_all)]
pub async fn insert_items(
    tx: &mut Tx,
    recalculation_id: i64,
    items: &[NewItem],
) -> sqlx::Result<()> {
    for chunk in items.chunks(CHUNK) {
        let mut sql = Sql::new(
            "INSERT INTO recalculation_items (recalculation_id, transaction_id, participant_id, paid, recalculated, owner_paid, owner_recalculated, base, multiplier) VALUES ",
        );
        for (i, item) in chunk.iter().enumerate() {
            sql.push(if i > 0 { ", (" } else { "(" })
                .bind(recalculation_id)
                .push(", ")
                .bind(item.transaction_id)
                .push(", ")
                .bind(item.participant_id)
                .push(", ")
                .bind(item.paid)
                .push(", ")
                .bind(item.recalculated)
                .push(", ");
            sql.bind(item.owner_paid)
                .push(", ")
                .bind(item.owner_recalculated)
                .push(", ")
                .bind(item.base)
                .push(", ")
                .bind(item.multiplier.clone())
                .push(")");
        }
        sql.query().execute(&mut **tx).await?;
    }
    Ok(())
}

/// A participant's compensation as stored.
#[derive(Debug, Clone, FromRow)]
pub struct LineRow {
    pub participant_id: i64,
    pub store_id: Option<i64>,
    pub campaign_id: Option<i64>,
    pub difference: i64,
    pub owner_difference: i64,
    /// JSON of the ledger movements.
    pub movements: String,
}

#[tracing::instrument(skip_all)]
pub async fn insert_lines(
    tx: &mut Tx,
    recalculation_id: i64,
    lines: &[LineRow],
) -> sqlx::Result<()> {
    for chunk in lines.chunks(CHUNK) {
        let mut sql = Sql::new(
            "INSERT INTO recalculation_lines (recalculation_id, participant_id, store_id, campaign_id, difference, owner_difference, movements) VALUES ",
        );
        for (i, line) in chunk.iter().enumerate() {
            sql.push(if i > 0 { ", (" } else { "(" })
                .bind(recalculation_id)
                .push(", ")
                .bind(line.participant_id)
                .push(", ")
                .bind(line.store_id)
                .push(", ")
                .bind(line.campaign_id)
                .push(", ")
                .bind(line.difference)
                .push(", ")
                .bind(line.owner_difference)
                .push(", ")
                .bind(line.movements.clone())
                .push(")");
        }
        sql.query().execute(&mut **tx).await?;
    }
    Ok(())
}

/// The next lines still to post (neither posted nor refused), in participant order.
#[tracing::instrument(skip_all)]
pub async fn unposted(db: &Db, recalculation_id: i64, limit: i64) -> sqlx::Result<Vec<LineRow>> {
    sqlx::query_as(
        "SELECT participant_id, store_id, campaign_id, difference, owner_difference, movements FROM recalculation_lines
         WHERE recalculation_id = $1 AND transaction_id IS NULL AND error IS NULL ORDER BY participant_id LIMIT $2",
    )
    .bind(recalculation_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

/// What became of one line: its transaction, or why the ledger refused it.
pub enum LineOutcome {
    Posted(i64),
    Refused(String),
}

/// Records what became of a page of lines and counts it on the recalculation.
#[tracing::instrument(skip_all)]
pub async fn record_lines(
    tx: &mut Tx,
    recalculation_id: i64,
    outcomes: &[(i64, LineOutcome)],
) -> sqlx::Result<()> {
    let (mut posted, mut failed) = (0_i64, 0_i64);
    for (participant, outcome) in outcomes {
        let (transaction, error) = match outcome {
            LineOutcome::Posted(id) => {
                posted += 1;
                (Some(*id), None)
            }
            LineOutcome::Refused(error) => {
                failed += 1;
                (None, Some(error.as_str()))
            }
        };
        sqlx::query(
            "UPDATE recalculation_lines SET transaction_id = $1, error = $2 WHERE recalculation_id = $3 AND participant_id = $4",
        )
        .bind(transaction)
        .bind(error)
        .bind(recalculation_id)
        .bind(*participant)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(
        "UPDATE recalculations SET posted = posted + $1, failed = failed + $2 WHERE id = $3",
    )
    .bind(posted)
    .bind(failed)
    .bind(recalculation_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn finish(tx: &mut Tx, recalculation_id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE recalculations SET status = $1, finished_at = $2 WHERE id = $3 AND status = $4",
    )
    .bind(RecalculationStatus::Finished.as_str())
    .bind(now)
    .bind(recalculation_id)
    .bind(RecalculationStatus::Posting.as_str())
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

#[tracing::instrument(skip_all)]
pub async fn by_id<'e, E>(executor: E, id: i64) -> sqlx::Result<Option<RecalculationRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM recalculations WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(executor)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn by_key(db: &Db, program_id: i64, key: &str) -> sqlx::Result<Option<RecalculationRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM recalculations WHERE program_id = $1 AND idempotency_key = $2"
    )))
    .bind(program_id)
    .bind(key)
    .fetch_optional(&db.pool)
    .await
}

/// The recalculation of the program still posting, if any.
#[tracing::instrument(skip_all)]
pub async fn posting(tx: &mut Tx, program_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT id FROM recalculations WHERE program_id = $1 AND status = $2")
        .bind(program_id)
        .bind(RecalculationStatus::Posting.as_str())
        .fetch_optional(&mut **tx)
        .await
}

/// The program's recalculations with ids below `before`, newest first.
#[tracing::instrument(skip_all)]
pub async fn list(
    db: &Db,
    program_id: i64,
    before: i64,
    limit: i64,
) -> sqlx::Result<Vec<RecalculationRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM recalculations WHERE program_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    )))
    .bind(program_id)
    .bind(before)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

/// A participant with an open debt.
#[derive(Debug, Clone, FromRow)]
pub struct DebtRow {
    pub participant_id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub store_id: Option<i64>,
    /// The debt account's balance: minus what is owed.
    pub balance: i64,
}

/// The program's open debts with participant ids above `after`, in id order.
#[tracing::instrument(skip_all)]
pub async fn debts(db: &Db, program_id: i64, after: i64, limit: i64) -> sqlx::Result<Vec<DebtRow>> {
    sqlx::query_as(
        "SELECT u.id AS participant_id, u.name, u.phone, u.store_id, a.balance FROM accounts a JOIN users u ON u.id = a.owner_id
         WHERE a.program_id = $1 AND a.kind = 'debt' AND a.balance < 0 AND u.id > $2 ORDER BY u.id LIMIT $3",
    )
    .bind(program_id)
    .bind(after)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

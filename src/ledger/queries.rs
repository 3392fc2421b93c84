//! Reading the ledger: a participant's history and the invariant check.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use stimul_actors::rules::points::Points;
use utoipa::{IntoParams, ToSchema};

use crate::db::{Db, Sql, Tx};
use crate::error::{ApiError, ApiResult};
use crate::paging::{Page, page_of};

/// One line of a participant's history: a ledger transaction and what it did to the
/// participant's available and pending points.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryItem {
    pub id: i64,
    pub created_at: i64,
    /// `adjustment`, `award`, `code`, `task`, `approval`, `rejection`, …
    pub reason: String,
    /// `posted`, or for holds `pending`, `confirmed`, `cancelled`.
    pub status: String,
    /// Change of available points, e.g. `"12.50"` or `"-3.00"`.
    #[schema(value_type = String)]
    pub amount: Points,
    /// Change of pending points.
    #[schema(value_type = String)]
    pub pending_amount: Points,
    pub comment: Option<String>,
    pub source_type: Option<String>,
    pub source_id: Option<String>,
    /// True when the line is an owner's share of another participant's earning.
    pub owner_share: bool,
    /// The lots a debit took its points from (an expiry: what was left of each due
    /// lot), soonest to expire first; empty for credits and for points from before
    /// the program had an expiry rule.
    pub lots: Vec<SpentLot>,
}

/// What a debit took from one lot.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpentLot {
    /// When the lot was credited (epoch ms).
    pub credited_at: i64,
    /// When it expires (epoch ms), or null: never.
    pub expires_at: Option<i64>,
    /// Taken from it.
    #[schema(value_type = String)]
    pub amount: Points,
}

#[derive(FromRow)]
struct SpentLotRow {
    transaction_id: i64,
    credited_at: i64,
    expires_at: Option<i64>,
    amount: i64,
}

/// What the debits among `transactions` took from which lot.
#[tracing::instrument(skip_all)]
async fn spent_lots(db: &Db, transactions: &[i64]) -> ApiResult<Vec<SpentLotRow>> {
    if transactions.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(
        "SELECT s.transaction_id, l.created_at AS credited_at, l.expires_at, s.amount
         FROM lot_spendings s JOIN point_lots l ON l.id = s.lot_id WHERE s.transaction_id IN ",
    );
    sql.bind_list(transactions.iter().copied());
    sql.push(" ORDER BY s.transaction_id, l.expires_at, l.id");
    Ok(sql.query_as().fetch_all(&db.pool).await?)
}

/// A history line as read: the transaction and its net change on each account.
#[derive(FromRow)]
struct HistoryRow {
    id: i64,
    created_at: i64,
    reason: String,
    status: String,
    comment: Option<String>,
    source_type: Option<String>,
    source_id: Option<String>,
    participant_id: Option<i64>,
    available_delta: i64,
    pending_delta: i64,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryFilter {
    /// Only this reason (`adjustment`, `award`, `code`, …).
    pub reason: Option<String>,
    /// `credit` (available points went up) or `debit`.
    pub direction: Option<String>,
    /// Epoch ms, inclusive.
    pub since: Option<i64>,
    /// Epoch ms, exclusive.
    pub until: Option<i64>,
}

/// The history of `user_id`, newest first; the cursor is the last id seen.
#[tracing::instrument(skip_all, fields(program_id = ?program_id, user_id = ?user_id, limit = ?limit))]
pub async fn history(
    db: &Db,
    program_id: i64,
    user_id: i64,
    filter: &HistoryFilter,
    before_id: Option<i64>,
    limit: i64,
) -> ApiResult<Page<HistoryItem>> {
    let direction = match filter.direction.as_deref() {
        None => None,
        Some("credit") => Some(">"),
        Some("debit") => Some("<"),
        Some(other) => {
            return Err(ApiError::field(
                "direction",
                format!("{other:?} is not credit or debit"),
            ));
        }
    };
    let accounts: Vec<i64> = sqlx::query_scalar("SELECT id FROM accounts WHERE program_id = $1 AND kind IN ('participant', 'pending') AND owner_id = $2")
        .bind(program_id)
        .bind(user_id)
        .fetch_all(&db.pool)
        .await?;
    if accounts.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        });
    }
    let available: i64 = sqlx::query_scalar(
        "SELECT id FROM accounts WHERE program_id = $1 AND kind = 'participant' AND owner_id = $2",
    )
    .bind(program_id)
    .bind(user_id)
    .fetch_optional(&db.pool)
    .await?
    .unwrap_or(-1);
    let mut sql = Sql::new(
        "SELECT t.id, t.created_at, t.reason, t.status, t.comment, t.source_type, t.source_id, t.participant_id, CAST(SUM(CASE WHEN p.credit_account = ",
    );
    sql.bind(available)
        .push(" THEN p.amount WHEN p.debit_account = ")
        .bind(available)
        .push(" THEN -p.amount ELSE 0 END) AS BIGINT) AS available_delta, ");
    sql.push("CAST(SUM(CASE WHEN p.credit_account <> ")
        .bind(available)
        .push(" AND p.credit_account IN ")
        .bind_list(accounts.iter().copied());
    sql.push(" THEN p.amount WHEN p.debit_account <> ")
        .bind(available)
        .push(" AND p.debit_account IN ")
        .bind_list(accounts.iter().copied());
    sql.push(" THEN -p.amount ELSE 0 END) AS BIGINT) AS pending_delta FROM postings p JOIN ledger_transactions t ON t.id = p.transaction_id WHERE (p.debit_account IN ");
    sql.bind_list(accounts.iter().copied())
        .push(" OR p.credit_account IN ")
        .bind_list(accounts.iter().copied())
        .push(")");
    if let Some(before) = before_id {
        sql.push(" AND t.id < ").bind(before);
    }
    if let Some(reason) = &filter.reason {
        sql.push(" AND t.reason = ").bind(reason.clone());
    }
    if let Some(since) = filter.since {
        sql.push(" AND t.created_at >= ").bind(since);
    }
    if let Some(until) = filter.until {
        sql.push(" AND t.created_at < ").bind(until);
    }
    sql.push(" GROUP BY t.id, t.created_at, t.reason, t.status, t.comment, t.source_type, t.source_id, t.participant_id");
    if let Some(op) = direction {
        sql.push(" HAVING SUM(CASE WHEN p.credit_account = ")
            .bind(available)
            .push(" THEN p.amount WHEN p.debit_account = ")
            .bind(available)
            .push(" THEN -p.amount ELSE 0 END) ")
            .push(op)
            .push(" 0");
    }
    sql.push(" ORDER BY t.id DESC LIMIT ").bind(limit + 1);
    let rows: Vec<HistoryRow> = sql.query_as().fetch_all(&db.pool).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        items.push(HistoryItem {
            id: row.id,
            created_at: row.created_at,
            reason: row.reason,
            status: row.status,
            comment: row.comment,
            source_type: row.source_type,
            source_id: row.source_id,
            owner_share: row.participant_id.is_some_and(|p| p != user_id),
            amount: Points::from_hundredths(row.available_delta),
            pending_amount: Points::from_hundredths(row.pending_delta),
            lots: Vec::new(),
        });
    }
    let debits: Vec<i64> = items
        .iter()
        .filter(|item| item.amount.is_negative())
        .map(|item| item.id)
        .collect();
    for lot in spent_lots(db, &debits).await? {
        if let Some(item) = items.iter_mut().find(|item| item.id == lot.transaction_id) {
            item.lots.push(SpentLot {
                credited_at: lot.credited_at,
                expires_at: lot.expires_at,
                amount: Points::from_hundredths(lot.amount),
            });
        }
    }
    Ok(page_of(items, limit, |item| item.id))
}

/// What the invariant check found.
#[derive(Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct LedgerCheck {
    pub accounts: i64,
    pub postings: i64,
    /// Sum of all balances: zero in a sound double-entry ledger.
    #[schema(value_type = String)]
    pub balance_sum: Points,
    /// Accounts whose balance differs from their postings.
    pub mismatched_accounts: i64,
    /// Participant accounts below zero.
    pub negative_participants: i64,
    /// Transactions whose idempotency key appears more than once.
    pub duplicate_keys: i64,
    pub sound: bool,
}

/// How many accounts, and the sum of their balances.
#[derive(FromRow)]
struct AccountTotals {
    accounts: i64,
    balance_sum: i64,
}

/// Checks the ledger of a program (or all programs): sums, balances against postings,
/// no participant below zero, no key twice.
#[tracing::instrument(skip_all)]
pub async fn check(db: &Db, program_id: Option<i64>) -> ApiResult<LedgerCheck> {
    let program = program_id.unwrap_or(-1);
    let totals: AccountTotals = sqlx::query_as("SELECT COUNT(*) AS accounts, CAST(COALESCE(SUM(balance), 0) AS BIGINT) AS balance_sum FROM accounts WHERE ($1 = -1 OR program_id = $1)").bind(program).fetch_one(&db.pool).await?;
    let postings: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM postings p JOIN ledger_transactions t ON t.id = p.transaction_id WHERE ($1 = -1 OR t.program_id = $1)",
    )
    .bind(program)
    .fetch_one(&db.pool)
    .await?;
    let mismatched: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM accounts a WHERE ($1 = -1 OR a.program_id = $1) AND a.balance <>
            COALESCE((SELECT CAST(SUM(amount) AS BIGINT) FROM postings WHERE credit_account = a.id), 0)
          - COALESCE((SELECT CAST(SUM(amount) AS BIGINT) FROM postings WHERE debit_account = a.id), 0)",
    )
    .bind(program)
    .fetch_one(&db.pool)
    .await?;
    let negative: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE ($1 = -1 OR program_id = $1) AND kind IN ('participant', 'pending') AND balance < 0")
        .bind(program)
        .fetch_one(&db.pool)
        .await?;
    let duplicates: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT idempotency_key FROM ledger_transactions WHERE ($1 = -1 OR program_id = $1) GROUP BY idempotency_key HAVING COUNT(*) > 1) d",
    )
    .bind(program)
    .fetch_one(&db.pool)
    .await?;
    let balance_sum = Points::from_hundredths(totals.balance_sum);
    Ok(LedgerCheck {
        accounts: totals.accounts,
        postings,
        balance_sum,
        mismatched_accounts: mismatched,
        negative_participants: negative,
        duplicate_keys: duplicates,
        sound: balance_sum == Points::ZERO && mismatched == 0 && negative == 0 && duplicates == 0,
    })
}

/// A participant's available points as committed, read in the caller's transaction
/// (where a checkout splits its total between points and a card).
#[tracing::instrument(skip_all, fields(program_id = ?program_id, participant_id = ?participant_id))]
pub async fn available_in(
    tx: &mut Tx,
    program_id: i64,
    participant_id: i64,
) -> Result<Points, sqlx::Error> {
    let balance: Option<i64> = sqlx::query_scalar(
        "SELECT balance FROM accounts WHERE program_id = $1 AND kind = 'participant' AND owner_id = $2",
    )
    .bind(program_id)
    .bind(participant_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(Points::from_hundredths(balance.unwrap_or(0)))
}

/// The participant of a ledger transaction of the program (none for a system
/// transaction or another program's).
#[tracing::instrument(skip_all, fields(program_id = ?program_id, transaction_id = ?transaction_id))]
pub async fn participant_of(
    db: &Db,
    program_id: i64,
    transaction_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let participant: Option<Option<i64>> = sqlx::query_scalar(
        "SELECT participant_id FROM ledger_transactions WHERE id = $1 AND program_id = $2",
    )
    .bind(transaction_id)
    .bind(program_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(participant.flatten())
}

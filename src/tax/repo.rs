//! The SQL of the tax area: the program's rule, participants' tax numbers, and a
//! person's events of a year. The events and yearly totals are written by the ledger's
//! commit (`ledger::tax`); this side reads them.

use sqlx::FromRow;

use crate::db::{Db, Tx};

#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn rule<'e, E>(executor: E, program_id: i64) -> sqlx::Result<String>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_scalar("SELECT tax_rule FROM programs WHERE id = $1")
        .bind(program_id)
        .fetch_one(executor)
        .await
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn set_rule(tx: &mut Tx, program_id: i64, rule: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE programs SET tax_rule = $1 WHERE id = $2")
        .bind(rule)
        .bind(program_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

#[tracing::instrument(skip_all, fields(user_id = ?user_id))]
pub async fn set_tax_id(tx: &mut Tx, user_id: i64, tax_id: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET tax_id = $1, updated_at = $2 WHERE id = $3")
        .bind(tax_id)
        .bind(now)
        .bind(user_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Who a certificate is for.
#[derive(Debug, Clone, FromRow)]
pub struct PersonRow {
    pub id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub tax_id: Option<String>,
}

#[tracing::instrument(skip_all, fields(user_id = ?user_id))]
pub async fn person(db: &Db, program_id: i64, user_id: i64) -> sqlx::Result<Option<PersonRow>> {
    sqlx::query_as(
        "SELECT id, name, phone, tax_id FROM users WHERE id = $1 AND program_id = $2 AND kind = 'participant'",
    )
    .bind(user_id)
    .bind(program_id)
    .fetch_optional(&db.pool)
    .await
}

/// A month's sums of a person's taxable events.
#[derive(Debug, Clone, FromRow)]
pub struct MonthRow {
    pub month: i64,
    pub income: i64,
    pub tax: i64,
    pub paid: i64,
}

#[tracing::instrument(skip_all, fields(user_id = ?user_id, year = ?year))]
pub async fn months(db: &Db, user_id: i64, year: i64) -> sqlx::Result<Vec<MonthRow>> {
    sqlx::query_as(
        "SELECT month, CAST(SUM(income) AS BIGINT) AS income, CAST(SUM(tax) AS BIGINT) AS tax,
                CAST(SUM(paid) AS BIGINT) AS paid
         FROM tax_events WHERE participant_id = $1 AND year = $2 GROUP BY month ORDER BY month",
    )
    .bind(user_id)
    .bind(year)
    .fetch_all(&db.pool)
    .await
}

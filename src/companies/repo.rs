//! The SQL of company lookups: the register's answers kept by INN.

use sqlx::FromRow;

use crate::db::Db;

#[derive(Debug, Clone, FromRow)]
pub struct LookupRow {
    /// 0 or 1.
    pub found: i64,
    /// JSON of the company, when found.
    pub company: Option<String>,
    pub fetched_at: i64,
}

#[tracing::instrument(skip_all)]
pub async fn cached(db: &Db, inn: &str) -> sqlx::Result<Option<LookupRow>> {
    sqlx::query_as("SELECT found, company, fetched_at FROM company_lookups WHERE inn = $1")
        .bind(inn)
        .fetch_optional(&db.pool)
        .await
}

#[tracing::instrument(skip_all)]
pub async fn keep(db: &Db, inn: &str, company: Option<&str>, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO company_lookups (inn, found, company, fetched_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (inn) DO UPDATE SET found = excluded.found, company = excluded.company, fetched_at = excluded.fetched_at",
    )
    .bind(inn)
    .bind(i64::from(company.is_some()))
    .bind(company)
    .bind(now)
    .execute(&db.pool)
    .await
    .map(|_| ())
}

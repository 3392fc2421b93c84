//! The SQL of the effect queue (the `outbox` table). Rows are claimed by moving
//! `next_attempt_at` past a lease in one statement, so a claim is atomic on both
//! backends; on PostgreSQL the candidates are picked `FOR UPDATE SKIP LOCKED`, so the
//! workers of several nodes take different rows instead of queueing on one.

use sqlx::FromRow;

use crate::db::{Backend, Bind, Db, Sql, Tx};

const COLUMNS: &str = "id, kind, payload, attempts, program_id, dedupe_key, created_at, next_attempt_at, delivered_at, failed_at, last_error";

/// One effect as stored.
#[derive(Debug, Clone, FromRow)]
pub struct EffectRow {
    pub id: i64,
    pub kind: String,
    /// JSON, read by the kind's handler.
    pub payload: String,
    /// Tries so far, this one included once claimed.
    pub attempts: i64,
    pub program_id: Option<i64>,
    pub dedupe_key: Option<String>,
    pub created_at: i64,
    /// Due time; while running, the end of the claim's lease.
    pub next_attempt_at: i64,
    pub delivered_at: Option<i64>,
    /// Set when parked as dead.
    pub failed_at: Option<i64>,
    pub last_error: Option<String>,
}

/// Writes an effect in the caller's transaction; an effect with the same dedupe key is
/// not written twice (its id is returned instead).
#[tracing::instrument(skip(tx, payload))]
pub async fn insert(
    tx: &mut Tx,
    kind: &str,
    dedupe_key: Option<&str>,
    program_id: Option<i64>,
    payload: &str,
    now_ms: i64,
    due_ms: i64,
) -> Result<i64, sqlx::Error> {
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO outbox (kind, payload, created_at, next_attempt_at, dedupe_key, program_id)
         VALUES ($1, $2, $3, $6, $4, $5) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
    )
    .bind(kind)
    .bind(payload)
    .bind(now_ms)
    .bind(dedupe_key)
    .bind(program_id)
    .bind(due_ms)
    .fetch_optional(&mut **tx)
    .await?;
    match inserted {
        Some(id) => Ok(id),
        None => {
            sqlx::query_scalar("SELECT id FROM outbox WHERE dedupe_key = $1")
                .bind(dedupe_key)
                .fetch_one(&mut **tx)
                .await
        }
    }
}

/// Claims up to `limit` due effects for `node` until `lease_until`.
#[tracing::instrument(skip(db))]
pub async fn claim_due(
    db: &Db,
    node: &str,
    now_ms: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<EffectRow>, sqlx::Error> {
    let lock = match db.backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE outbox SET next_attempt_at = $1, attempts = attempts + 1, claimed_by = $2
         WHERE id IN (SELECT id FROM outbox
                      WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $3
                      ORDER BY next_attempt_at, id LIMIT $4{lock})
         RETURNING {COLUMNS}"
    )))
    .bind(lease_until)
    .bind(node)
    .bind(now_ms)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

/// Claims one effect unless another runner holds it under a lease (a request running
/// the effect it just caused, before the worker's grace runs out).
#[tracing::instrument(skip(db))]
pub async fn claim_one(
    db: &Db,
    id: i64,
    node: &str,
    now_ms: i64,
    lease_until: i64,
) -> Result<Option<EffectRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE outbox SET next_attempt_at = $1, attempts = attempts + 1, claimed_by = $2
         WHERE id = $3 AND delivered_at IS NULL AND failed_at IS NULL
               AND (claimed_by IS NULL OR next_attempt_at <= $4)
         RETURNING {COLUMNS}"
    )))
    .bind(lease_until)
    .bind(node)
    .bind(id)
    .bind(now_ms)
    .fetch_optional(&db.pool)
    .await
}

#[tracing::instrument(skip(db))]
pub async fn mark_done(db: &Db, id: i64, now_ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE outbox SET delivered_at = $1, last_error = NULL WHERE id = $2")
        .bind(now_ms)
        .bind(id)
        .execute(&db.pool)
        .await
        .map(|_| ())
}

#[tracing::instrument(skip(db, error))]
pub async fn schedule_retry(db: &Db, id: i64, at_ms: i64, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE outbox SET next_attempt_at = $1, last_error = $2 WHERE id = $3")
        .bind(at_ms)
        .bind(error)
        .bind(id)
        .execute(&db.pool)
        .await
        .map(|_| ())
}

#[tracing::instrument(skip(db, error))]
pub async fn park_dead(db: &Db, id: i64, now_ms: i64, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE outbox SET failed_at = $1, last_error = $2 WHERE id = $3")
        .bind(now_ms)
        .bind(error)
        .bind(id)
        .execute(&db.pool)
        .await
        .map(|_| ())
}

/// Puts a dead effect back in the queue with a fresh count of tries.
#[tracing::instrument(skip(db))]
pub async fn revive(
    db: &Db,
    id: i64,
    program_id: i64,
    now_ms: i64,
) -> Result<Option<EffectRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE outbox SET failed_at = NULL, attempts = 0, next_attempt_at = $1
         WHERE id = $2 AND program_id = $3 AND failed_at IS NOT NULL
         RETURNING {COLUMNS}"
    )))
    .bind(now_ms)
    .bind(id)
    .bind(program_id)
    .fetch_optional(&db.pool)
    .await
}

#[tracing::instrument(skip(db))]
pub async fn get(db: &Db, id: i64, program_id: i64) -> Result<Option<EffectRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM outbox WHERE id = $1 AND program_id = $2"
    )))
    .bind(id)
    .bind(program_id)
    .fetch_optional(&db.pool)
    .await
}

/// Which effects a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listed {
    Pending,
    Done,
    Dead,
}

/// A page of a program's effects in order of id, from after `after` (keyset).
#[tracing::instrument(skip(db))]
pub async fn list(
    db: &Db,
    program_id: i64,
    status: Option<Listed>,
    kind: Option<&str>,
    after: i64,
    limit: i64,
) -> Result<Vec<EffectRow>, sqlx::Error> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM outbox WHERE program_id = "));
    sql.bind(program_id);
    match status {
        Some(Listed::Pending) => sql.push(" AND delivered_at IS NULL AND failed_at IS NULL"),
        Some(Listed::Done) => sql.push(" AND delivered_at IS NOT NULL"),
        Some(Listed::Dead) => sql.push(" AND failed_at IS NOT NULL"),
        None => &mut sql,
    };
    if let Some(kind) = kind {
        sql.push(" AND kind = ").bind(Bind::Text(kind.to_string()));
    }
    sql.push(" AND id > ").bind(after);
    sql.push(" ORDER BY id LIMIT ").bind(limit);
    sql.query_as().fetch_all(&db.pool).await
}

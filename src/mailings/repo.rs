//! The SQL of the mailings area: mailings, their recipients page by page, and what
//! their messages became on each channel.

use sqlx::FromRow;

use super::{MailingStatus, Segment};
use crate::db::{Db, Sql, Tx};

pub const COLUMNS: &str = "id, program_id, texts, channels, audience, status, send_at, recipients, written, after_user, trigger_kind, vals, created_by, created_at, started_at, finished_at";

#[derive(Debug, Clone, FromRow)]
pub struct MailingRow {
    pub id: i64,
    pub program_id: i64,
    /// JSON `{"ru": {"title","body"}, "en": {…}}`.
    pub texts: String,
    /// JSON list of channels besides the inbox.
    pub channels: String,
    /// JSON of the [`Segment`].
    pub audience: String,
    #[sqlx(try_from = "String")]
    pub status: MailingStatus,
    pub send_at: i64,
    pub recipients: i64,
    pub written: i64,
    pub after_user: i64,
    /// An announcement's trigger (`None`: a mailing with its own texts).
    pub trigger_kind: Option<String>,
    /// An announcement's template values (JSON object).
    pub vals: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// A mailing to write.
pub struct NewMailing<'a> {
    pub program_id: i64,
    pub texts: &'a str,
    pub channels: &'a str,
    pub audience: &'a str,
    pub status: MailingStatus,
    pub send_at: i64,
    pub recipients: i64,
    pub request_key: Option<&'a str>,
    pub trigger_kind: Option<&'a str>,
    pub vals: Option<&'a str>,
    pub created_by: Option<i64>,
}

/// Writes a mailing; `None` when its request key was written already.
#[tracing::instrument(skip_all)]
pub async fn insert(tx: &mut Tx, new: &NewMailing<'_>, now: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "INSERT INTO mailings (program_id, texts, channels, audience, status, send_at, recipients, request_key, trigger_kind, vals, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (program_id, request_key) DO NOTHING RETURNING id",
    )
    .bind(new.program_id)
    .bind(new.texts)
    .bind(new.channels)
    .bind(new.audience)
    .bind(new.status.as_str())
    .bind(new.send_at)
    .bind(new.recipients)
    .bind(new.request_key)
    .bind(new.trigger_kind)
    .bind(new.vals)
    .bind(new.created_by)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn by_id<'e, E>(executor: E, id: i64) -> sqlx::Result<Option<MailingRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM mailings WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(executor)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn by_key(db: &Db, program_id: i64, key: &str) -> sqlx::Result<Option<MailingRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM mailings WHERE program_id = $1 AND request_key = $2"
    )))
    .bind(program_id)
    .bind(key)
    .fetch_optional(&db.pool)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn list(
    db: &Db,
    program_id: i64,
    before: i64,
    limit: i64,
) -> sqlx::Result<Vec<MailingRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM mailings WHERE program_id = $1 AND id < $2 AND trigger_kind IS NULL ORDER BY id DESC LIMIT $3"
    )))
    .bind(program_id)
    .bind(before)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

/// Records a page: people written to and the cursor; starts or finishes the mailing.
#[tracing::instrument(skip_all)]
pub async fn page_done(
    tx: &mut Tx,
    id: i64,
    written: i64,
    after_user: i64,
    status: MailingStatus,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE mailings SET written = written + $1, after_user = $2, status = $3,
                started_at = COALESCE(started_at, $4),
                finished_at = CASE WHEN $3 = 'finished' THEN $4 ELSE finished_at END
         WHERE id = $5",
    )
    .bind(written)
    .bind(after_user)
    .bind(status.as_str())
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

#[tracing::instrument(skip_all)]
pub async fn cancel(tx: &mut Tx, id: i64, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE mailings SET status = 'cancelled', finished_at = $1 WHERE id = $2 AND status IN ('scheduled', 'sending')",
    )
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A participant as a segment sees them.
#[derive(Debug, Clone, FromRow)]
pub struct CandidateRow {
    pub id: i64,
    pub region_id: Option<i64>,
    pub store_id: Option<i64>,
    pub lifetime: i64,
    pub completed_tasks: i64,
    /// 1 when they own a store.
    pub owner: i64,
    /// Their message language.
    pub language: String,
}

/// Active participants of the program with ids above `after`, in id order, narrowed by
/// what SQL can narrow (regions, stores, activity); levels and roles are the caller's.
#[tracing::instrument(skip_all)]
pub async fn candidates<'e, E>(
    executor: E,
    program_id: i64,
    segment: &Segment,
    active_since: Option<i64>,
    inactive_since: Option<i64>,
    after: i64,
    limit: i64,
) -> sqlx::Result<Vec<CandidateRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let mut sql = Sql::new(
        "SELECT u.id, s.region_id, u.store_id, COALESCE(pp.lifetime, 0) AS lifetime, COALESCE(pp.completed_tasks, 0) AS completed_tasks,
                CASE WHEN EXISTS (SELECT 1 FROM stores o WHERE o.owner_user_id = u.id) THEN 1 ELSE 0 END AS owner,
                COALESCE(ns.language, 'ru') AS language
         FROM users u LEFT JOIN stores s ON s.id = u.store_id
         LEFT JOIN participant_progress pp ON pp.user_id = u.id
         LEFT JOIN notification_settings ns ON ns.user_id = u.id
         WHERE u.kind = 'participant' AND u.status = 'active' AND u.program_id = ",
    );
    sql.bind(program_id).push(" AND u.id > ").bind(after);
    if !segment.regions.is_empty() {
        sql.push(" AND s.region_id IN ")
            .bind_list(segment.regions.iter().copied());
    }
    if !segment.stores.is_empty() {
        sql.push(" AND u.store_id IN ")
            .bind_list(segment.stores.iter().copied());
    }
    if let Some(since) = active_since {
        sql.push(" AND EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.participant_id = u.id AND t.created_at >= ")
            .bind(since)
            .push(")");
    }
    if let Some(since) = inactive_since {
        sql.push(" AND NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.participant_id = u.id AND t.created_at >= ")
            .bind(since)
            .push(")");
    }
    sql.push(" ORDER BY u.id LIMIT ").bind(limit);
    sql.query_as().fetch_all(executor).await
}

/// The role names of `users`: (user, role).
#[tracing::instrument(skip_all)]
pub async fn roles_of(db: &Db, users: &[i64]) -> sqlx::Result<Vec<(i64, String)>> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(
        "SELECT a.user_id, r.name FROM role_assignments a JOIN roles r ON r.id = a.role_id WHERE a.user_id IN ",
    );
    sql.bind_list(users.iter().copied());
    let rows: Vec<RoleRow> = sql.query_as().fetch_all(&db.pool).await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.user_id, row.name))
        .collect())
}

#[derive(FromRow)]
struct RoleRow {
    user_id: i64,
    name: String,
}

/// What a mailing's messages became on `channel`: (queued, delivered, failed).
#[tracing::instrument(skip_all)]
pub async fn channel_counts(
    db: &Db,
    mailing_id: i64,
    channel: &str,
) -> sqlx::Result<(i64, i64, i64)> {
    let mut sql = Sql::new(
        "SELECT COUNT(o.id) AS queued,
                COALESCE(SUM(CASE WHEN o.delivered_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS delivered,
                COALESCE(SUM(CASE WHEN o.failed_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS failed
         FROM notifications n JOIN outbox o ON o.dedupe_key = 'notification:' || CAST(n.id AS TEXT) || ",
    );
    sql.bind(format!(":{channel}"))
        .push(" WHERE n.mailing_id = ")
        .bind(mailing_id);
    let row: Counts = sql.query_as().fetch_one(&db.pool).await?;
    Ok((row.queued, row.delivered, row.failed))
}

#[derive(FromRow)]
struct Counts {
    queued: i64,
    delivered: i64,
    failed: i64,
}

/// The program's time zone (IANA name), for the segment's days.
#[tracing::instrument(skip_all)]
pub async fn timezone<'e, E>(executor: E, program_id: i64) -> sqlx::Result<String>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_scalar("SELECT timezone FROM programs WHERE id = $1")
        .bind(program_id)
        .fetch_one(executor)
        .await
}

/// The program's level scale (JSON), for the segment's level filter.
#[tracing::instrument(skip_all)]
pub async fn levels<'e, E>(executor: E, program_id: i64) -> sqlx::Result<String>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_scalar("SELECT levels FROM programs WHERE id = $1")
        .bind(program_id)
        .fetch_one(executor)
        .await
}

//! The SQL of the support area: requests and their messages.

use sqlx::FromRow;
use stimul_actors::rules::support::RequestStatus;

use crate::db::{Db, Tx};

pub const REQUEST_COLUMNS: &str = "r.id, r.program_id, r.participant_id, u.name AS participant_name, r.subject, r.status, r.created_at, r.updated_at";

#[derive(Debug, Clone, FromRow)]
pub struct RequestRow {
    pub id: i64,
    pub program_id: i64,
    pub participant_id: i64,
    pub participant_name: String,
    pub subject: String,
    #[sqlx(try_from = "String")]
    pub status: RequestStatus,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub request_id: i64,
    pub author_id: i64,
    pub author_name: String,
    /// 0 or 1.
    pub from_staff: i64,
    pub text: String,
    pub photo_sha256: Option<String>,
    pub created_at: i64,
}

#[tracing::instrument(skip_all)]
pub async fn insert_request(
    tx: &mut Tx,
    program_id: i64,
    participant_id: i64,
    subject: &str,
    now: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO support_requests (program_id, participant_id, subject, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(program_id)
    .bind(participant_id)
    .bind(subject)
    .bind(RequestStatus::Open.as_str())
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

/// A message to write.
pub struct NewMessage<'a> {
    pub request_id: i64,
    pub author_id: i64,
    pub from_staff: bool,
    pub text: &'a str,
    pub photo_sha256: Option<&'a str>,
}

#[tracing::instrument(skip_all)]
pub async fn insert_message(tx: &mut Tx, message: &NewMessage<'_>, now: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO support_messages (request_id, author_id, from_staff, text, photo_sha256, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(message.request_id)
    .bind(message.author_id)
    .bind(i64::from(message.from_staff))
    .bind(message.text)
    .bind(message.photo_sha256)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn set_status(tx: &mut Tx, id: i64, status: RequestStatus, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE support_requests SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

#[tracing::instrument(skip_all)]
pub async fn request<'e, E>(
    executor: E,
    program_id: i64,
    id: i64,
) -> sqlx::Result<Option<RequestRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {REQUEST_COLUMNS} FROM support_requests r JOIN users u ON u.id = r.participant_id
         WHERE r.id = $1 AND r.program_id = $2"
    )))
    .bind(id)
    .bind(program_id)
    .fetch_optional(executor)
    .await
}

/// Requests with ids below `before`, newest first: a participant's own
/// (`participant`), or the program's, of one status or all.
#[tracing::instrument(skip_all)]
pub async fn requests(
    db: &Db,
    program_id: i64,
    participant: Option<i64>,
    status: Option<RequestStatus>,
    before: i64,
    limit: i64,
) -> sqlx::Result<Vec<RequestRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {REQUEST_COLUMNS} FROM support_requests r JOIN users u ON u.id = r.participant_id
         WHERE r.program_id = $1 AND ($2 = 0 OR r.participant_id = $2) AND ($3 = '' OR r.status = $3) AND r.id < $4
         ORDER BY r.id DESC LIMIT $5"
    )))
    .bind(program_id)
    .bind(participant.unwrap_or(0))
    .bind(status.map_or("", RequestStatus::as_str))
    .bind(before)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn messages<'e, E>(executor: E, request_id: i64) -> sqlx::Result<Vec<MessageRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(
        "SELECT m.id, m.request_id, m.author_id, u.name AS author_name, m.from_staff, m.text, m.photo_sha256, m.created_at
         FROM support_messages m JOIN users u ON u.id = m.author_id WHERE m.request_id = $1 ORDER BY m.id",
    )
    .bind(request_id)
    .fetch_all(executor)
    .await
}

/// The program's requests by status: (open, answered).
#[tracing::instrument(skip_all)]
pub async fn counts(db: &Db, program_id: i64) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END), 0) AS open,
                COALESCE(SUM(CASE WHEN status = 'answered' THEN 1 ELSE 0 END), 0) AS answered
         FROM support_requests WHERE program_id = $1",
    )
    .bind(program_id)
    .fetch_one(&db.pool)
    .await
}

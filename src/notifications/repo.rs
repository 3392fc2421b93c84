//! The SQL of the notifications area: inbox rows, reading and marking them, and the
//! credits digest (its watermark and what it gathers from the ledger).

use sqlx::FromRow;

use crate::db::{Db, Sql, Tx};

/// Rows per multi-row insert.
const CHUNK: usize = 400;

/// A message to write.
pub struct NewRow<'a> {
    pub program_id: i64,
    pub user_id: i64,
    pub trigger: &'a str,
    pub dedupe_key: &'a str,
    pub data: String,
    /// JSON list of channels replacing the trigger's (a mailing's).
    pub channels: Option<String>,
    pub mailing_id: Option<i64>,
}

#[derive(FromRow)]
struct Written {
    id: i64,
}

/// Writes `rows`, skipping causes already written; answers the ids written.
#[tracing::instrument(skip_all)]
pub async fn insert(tx: &mut Tx, rows: &[NewRow<'_>], now: i64) -> sqlx::Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(CHUNK) {
        let mut sql = Sql::new(
            "INSERT INTO notifications (program_id, user_id, trigger_kind, dedupe_key, data, channels, mailing_id, created_at) VALUES ",
        );
        for (i, row) in chunk.iter().enumerate() {
            sql.push(if i > 0 { ", (" } else { "(" })
                .bind(row.program_id)
                .push(", ")
                .bind(row.user_id)
                .push(", ")
                .bind(row.trigger.to_string())
                .push(", ")
                .bind(row.dedupe_key.to_string())
                .push(", ")
                .bind(row.data.clone())
                .push(", ")
                .bind(row.channels.clone())
                .push(", ")
                .bind(row.mailing_id)
                .push(", ")
                .bind(now)
                .push(")");
        }
        sql.push(" ON CONFLICT (dedupe_key) DO NOTHING RETURNING id");
        let written: Vec<Written> = sql.query_as().fetch_all(&mut **tx).await?;
        ids.extend(written.into_iter().map(|row| row.id));
    }
    Ok(ids)
}

pub const COLUMNS: &str =
    "id, program_id, user_id, trigger_kind, data, channels, read_at, created_at";

#[derive(Debug, Clone, FromRow)]
pub struct NotificationRow {
    pub id: i64,
    pub program_id: i64,
    pub user_id: i64,
    pub trigger_kind: String,
    /// JSON object of the template's values.
    pub data: String,
    /// JSON list of channels replacing the trigger's, if the message names its own.
    pub channels: Option<String>,
    pub read_at: Option<i64>,
    pub created_at: i64,
}

/// `user_id`'s messages with ids below `before`, newest first.
#[tracing::instrument(skip_all)]
pub async fn page(
    db: &Db,
    user_id: i64,
    before: i64,
    limit: i64,
) -> sqlx::Result<Vec<NotificationRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM notifications WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    )))
    .bind(user_id)
    .bind(before)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn by_ids(db: &Db, ids: &[i64]) -> sqlx::Result<Vec<NotificationRow>> {
    let mut rows = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM notifications WHERE id IN "));
        sql.bind_list(chunk.iter().copied()).push(" ORDER BY id");
        rows.extend(
            sql.query_as::<NotificationRow>()
                .fetch_all(&db.pool)
                .await?,
        );
    }
    Ok(rows)
}

#[tracing::instrument(skip_all)]
pub async fn unread(db: &Db, user_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL")
        .bind(user_id)
        .fetch_one(&db.pool)
        .await
}

/// Marks `user_id`'s messages read: those of `ids`, or every unread one.
#[tracing::instrument(skip_all)]
pub async fn mark_read(db: &Db, user_id: i64, ids: Option<&[i64]>, now: i64) -> sqlx::Result<()> {
    let mut sql = Sql::new("UPDATE notifications SET read_at = ");
    sql.bind(now)
        .push(" WHERE user_id = ")
        .bind(user_id)
        .push(" AND read_at IS NULL");
    if let Some(ids) = ids {
        if ids.is_empty() {
            return Ok(());
        }
        sql.push(" AND id IN ").bind_list(ids.iter().copied());
    }
    sql.query().execute(&db.pool).await.map(|_| ())
}

/// Programs with participants, for the digest.
#[tracing::instrument(skip_all)]
pub async fn programs(db: &Db) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT id FROM programs ORDER BY id")
        .fetch_all(&db.pool)
        .await
}

/// The program's digest watermark, starting it at the ledger's end (a new digest
/// announces what comes next, not the whole history).
#[tracing::instrument(skip_all)]
pub async fn watermark(tx: &mut Tx, program_id: i64) -> sqlx::Result<i64> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT after_transaction FROM notification_digests WHERE program_id = $1",
    )
    .bind(program_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(after) = found {
        return Ok(after);
    }
    sqlx::query(
        "INSERT INTO notification_digests (program_id, after_transaction)
         SELECT $1, COALESCE(MAX(id), 0) FROM ledger_transactions WHERE true
         ON CONFLICT (program_id) DO NOTHING",
    )
    .bind(program_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query_scalar("SELECT after_transaction FROM notification_digests WHERE program_id = $1")
        .bind(program_id)
        .fetch_one(&mut **tx)
        .await
}

/// Moves the watermark from `from` to `to`; false when another node moved it first.
#[tracing::instrument(skip_all)]
pub async fn advance(tx: &mut Tx, program_id: i64, from: i64, to: i64) -> sqlx::Result<bool> {
    let moved = sqlx::query(
        "UPDATE notification_digests SET after_transaction = $1 WHERE program_id = $2 AND after_transaction = $3",
    )
    .bind(to)
    .bind(program_id)
    .bind(from)
    .execute(&mut **tx)
    .await?;
    Ok(moved.rows_affected() == 1)
}

/// One participant's credits after the watermark.
#[derive(Debug, Clone, FromRow)]
pub struct CreditsRow {
    pub participant_id: i64,
    pub amount: i64,
    pub credits: i64,
    pub last: i64,
    pub balance: i64,
}

/// The credits of `program_id` with ids in `(after, upto]`, per participant.
#[tracing::instrument(skip_all)]
pub async fn credits(
    tx: &mut Tx,
    program_id: i64,
    after: i64,
    upto: i64,
) -> sqlx::Result<Vec<CreditsRow>> {
    sqlx::query_as(
        "SELECT t.participant_id, CAST(SUM(t.earned) AS BIGINT) AS amount, COUNT(*) AS credits, MAX(t.id) AS last,
                COALESCE((SELECT a.balance FROM accounts a WHERE a.program_id = $1 AND a.kind = 'participant' AND a.owner_id = t.participant_id), 0) AS balance
         FROM ledger_transactions t
         WHERE t.program_id = $1 AND t.id > $2 AND t.id <= $3 AND t.earned > 0 AND t.participant_id IS NOT NULL
         GROUP BY t.participant_id ORDER BY t.participant_id",
    )
    .bind(program_id)
    .bind(after)
    .bind(upto)
    .fetch_all(&mut **tx)
    .await
}

/// The last transaction of `program_id` committed before `quiet_before` (ms).
#[tracing::instrument(skip_all)]
pub async fn settled_upto(
    tx: &mut Tx,
    program_id: i64,
    after: i64,
    quiet_before: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT MAX(id) FROM ledger_transactions WHERE program_id = $1 AND id > $2 AND created_at < $3",
    )
    .bind(program_id)
    .bind(after)
    .bind(quiet_before)
    .fetch_one(&mut **tx)
    .await
}

/// A person's message choices as stored (absent: the defaults).
#[derive(Debug, Clone, FromRow)]
pub struct SettingsRow {
    pub language: String,
    pub sms: i64,
    pub email: i64,
    pub push: i64,
    pub quiet_from: Option<String>,
    pub quiet_to: Option<String>,
}

#[tracing::instrument(skip_all)]
pub async fn settings<'e, E>(executor: E, user_id: i64) -> sqlx::Result<Option<SettingsRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(
        "SELECT language, sms, email, push, quiet_from, quiet_to FROM notification_settings WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(executor)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn set_settings(
    tx: &mut Tx,
    user_id: i64,
    row: &SettingsRow,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO notification_settings (user_id, language, sms, email, push, quiet_from, quiet_to, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (user_id) DO UPDATE SET language = excluded.language, sms = excluded.sms, email = excluded.email,
             push = excluded.push, quiet_from = excluded.quiet_from, quiet_to = excluded.quiet_to, updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(&row.language)
    .bind(row.sms)
    .bind(row.email)
    .bind(row.push)
    .bind(&row.quiet_from)
    .bind(&row.quiet_to)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

#[tracing::instrument(skip_all)]
pub async fn set_email(
    tx: &mut Tx,
    user_id: i64,
    email: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET email = $1, updated_at = $2 WHERE id = $3")
        .bind(email)
        .bind(now)
        .bind(user_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Where a person can be reached, and their program's time zone.
#[derive(Debug, Clone, FromRow)]
pub struct ContactRow {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub timezone: String,
}

#[tracing::instrument(skip_all)]
pub async fn contact<'e, E>(executor: E, user_id: i64) -> sqlx::Result<Option<ContactRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(
        "SELECT u.phone, u.email, p.timezone FROM users u JOIN programs p ON p.id = u.program_id WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_optional(executor)
    .await
}

/// A program's template for a trigger as stored.
#[derive(Debug, Clone, FromRow)]
pub struct TemplateRow {
    pub trigger_kind: String,
    /// JSON list of channels.
    pub channels: String,
    /// JSON `{"ru": {"title","body"}, "en": {…}}`, or NULL for the built-in texts.
    pub texts: Option<String>,
    pub updated_at: i64,
}

#[tracing::instrument(skip_all)]
pub async fn templates<'e, E>(executor: E, program_id: i64) -> sqlx::Result<Vec<TemplateRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(
        "SELECT trigger_kind, channels, texts, updated_at FROM notification_templates WHERE program_id = $1",
    )
    .bind(program_id)
    .fetch_all(executor)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn set_template(
    tx: &mut Tx,
    program_id: i64,
    trigger: &str,
    channels: &str,
    texts: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO notification_templates (program_id, trigger_kind, channels, texts, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (program_id, trigger_kind) DO UPDATE SET channels = excluded.channels, texts = excluded.texts, updated_at = excluded.updated_at",
    )
    .bind(program_id)
    .bind(trigger)
    .bind(channels)
    .bind(texts)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

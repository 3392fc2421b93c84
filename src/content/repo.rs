//! The SQL of the content area: news with their reads, the program's rules, FAQ
//! entries.

use sqlx::FromRow;

use crate::db::{Db, Tx};

pub const NEWS_COLUMNS: &str = "id, program_id, title, body, audience, publish_at, archived, created_by, created_at, updated_at";

#[derive(Debug, Clone, FromRow)]
pub struct NewsRow {
    pub id: i64,
    pub program_id: i64,
    pub title: String,
    pub body: String,
    /// JSON of the audience.
    pub audience: String,
    pub publish_at: i64,
    /// 0 or 1.
    pub archived: i64,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The program's news with ids below `before`, newest first; `published_by` keeps
/// only what is published at that moment and not archived.
#[tracing::instrument(skip_all)]
pub async fn news_page(
    db: &Db,
    program_id: i64,
    published_by: Option<i64>,
    before: i64,
    limit: i64,
) -> sqlx::Result<Vec<NewsRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {NEWS_COLUMNS} FROM news WHERE program_id = $1 AND id < $2
           AND ($3 = -1 OR (publish_at <= $3 AND archived = 0))
         ORDER BY id DESC LIMIT $4"
    )))
    .bind(program_id)
    .bind(before)
    .bind(published_by.unwrap_or(-1))
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn news<'e, E>(executor: E, program_id: i64, id: i64) -> sqlx::Result<Option<NewsRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {NEWS_COLUMNS} FROM news WHERE id = $1 AND program_id = $2"
    )))
    .bind(id)
    .bind(program_id)
    .fetch_optional(executor)
    .await
}

/// News fields to write.
pub struct NewsFields<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub audience: &'a str,
    pub publish_at: i64,
    pub archived: bool,
}

#[tracing::instrument(skip_all)]
pub async fn insert_news(
    tx: &mut Tx,
    program_id: i64,
    fields: &NewsFields<'_>,
    created_by: i64,
    now: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO news (program_id, title, body, audience, publish_at, archived, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(program_id)
    .bind(fields.title)
    .bind(fields.body)
    .bind(fields.audience)
    .bind(fields.publish_at)
    .bind(i64::from(fields.archived))
    .bind(created_by)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn update_news(
    tx: &mut Tx,
    id: i64,
    fields: &NewsFields<'_>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE news SET title = $1, body = $2, audience = $3, publish_at = $4, archived = $5, updated_at = $6 WHERE id = $7",
    )
    .bind(fields.title)
    .bind(fields.body)
    .bind(fields.audience)
    .bind(fields.publish_at)
    .bind(i64::from(fields.archived))
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Which of `ids` `user_id` has read.
#[tracing::instrument(skip_all)]
pub async fn read_of(db: &Db, user_id: i64, ids: &[i64]) -> sqlx::Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = crate::db::Sql::new("SELECT news_id FROM news_reads WHERE user_id = ");
    sql.bind(user_id)
        .push(" AND news_id IN ")
        .bind_list(ids.iter().copied());
    let rows: Vec<NewsIdRow> = sql.query_as().fetch_all(&db.pool).await?;
    Ok(rows.into_iter().map(|row| row.news_id).collect())
}

#[derive(FromRow)]
struct NewsIdRow {
    news_id: i64,
}

/// Every published news item of the program: (id, audience JSON), for the unread count.
#[tracing::instrument(skip_all)]
pub async fn published(db: &Db, program_id: i64, now: i64) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(
        "SELECT id, audience FROM news WHERE program_id = $1 AND publish_at <= $2 AND archived = 0",
    )
    .bind(program_id)
    .bind(now)
    .fetch_all(&db.pool)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn mark_read(db: &Db, news_id: i64, user_id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO news_reads (news_id, user_id, read_at) VALUES ($1, $2, $3) ON CONFLICT (news_id, user_id) DO NOTHING",
    )
    .bind(news_id)
    .bind(user_id)
    .bind(now)
    .execute(&db.pool)
    .await
    .map(|_| ())
}

#[derive(Debug, Clone, FromRow)]
pub struct RulesRow {
    pub rules_text: String,
    pub rules_updated_at: Option<i64>,
}

#[tracing::instrument(skip_all)]
pub async fn rules<'e, E>(executor: E, program_id: i64) -> sqlx::Result<RulesRow>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as("SELECT rules_text, rules_updated_at FROM programs WHERE id = $1")
        .bind(program_id)
        .fetch_one(executor)
        .await
}

#[tracing::instrument(skip_all)]
pub async fn set_rules(tx: &mut Tx, program_id: i64, text: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE programs SET rules_text = $1, rules_updated_at = $2 WHERE id = $3")
        .bind(text)
        .bind(now)
        .bind(program_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

#[derive(Debug, Clone, FromRow)]
pub struct FaqRow {
    pub id: i64,
    pub question: String,
    pub answer: String,
    pub position: i64,
    pub updated_at: i64,
}

#[tracing::instrument(skip_all)]
pub async fn faq<'e, E>(executor: E, program_id: i64) -> sqlx::Result<Vec<FaqRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(
        "SELECT id, question, answer, position, updated_at FROM faq_entries WHERE program_id = $1 ORDER BY position, id",
    )
    .bind(program_id)
    .fetch_all(executor)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn faq_entry(tx: &mut Tx, program_id: i64, id: i64) -> sqlx::Result<Option<FaqRow>> {
    sqlx::query_as(
        "SELECT id, question, answer, position, updated_at FROM faq_entries WHERE id = $1 AND program_id = $2",
    )
    .bind(id)
    .bind(program_id)
    .fetch_optional(&mut **tx)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn insert_faq(
    tx: &mut Tx,
    program_id: i64,
    question: &str,
    answer: &str,
    position: Option<i64>,
    now: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO faq_entries (program_id, question, answer, position, created_at, updated_at)
         VALUES ($1, $2, $3, COALESCE($4, (SELECT COALESCE(MAX(position), 0) + 1 FROM faq_entries WHERE program_id = $1)), $5, $5)
         RETURNING id",
    )
    .bind(program_id)
    .bind(question)
    .bind(answer)
    .bind(position)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn update_faq(
    tx: &mut Tx,
    id: i64,
    question: &str,
    answer: &str,
    position: i64,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE faq_entries SET question = $1, answer = $2, position = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(question)
    .bind(answer)
    .bind(position)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

#[tracing::instrument(skip_all)]
pub async fn delete_faq(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM faq_entries WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

//! Programs: a brand's motivation program. The server hosts several; each has its own
//! people, stores, roles and rules, and nothing crosses between them.

use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

use crate::access::repo::seed_builtin_roles;
use crate::db::{Db, Tx};
use crate::domain::{Slug, TimeZoneName, Title};

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Program {
    pub id: i64,
    pub slug: String,
    pub name: String,
    /// IANA zone: days, weeks and schedules of the program are in this zone.
    pub timezone: String,
    pub created_at: i64,
    /// The level scale: `[{"name","min_completed_tasks","min_lifetime_points","multiplier"}]`.
    #[sqlx(try_from = "String")]
    #[schema(value_type = Vec<Object>)]
    pub levels: JsonText,
    /// The store owner's percent of each seller's earned points, e.g. `"5"`.
    pub owner_share_percent: String,
    /// Whether a seller may pay the part of an order their points do not cover by card.
    #[sqlx(try_from = "i64")]
    #[schema(value_type = bool)]
    pub card_payments: Flag,
}

/// A yes/no setting, stored as 0/1 (the same on SQLite and PostgreSQL), shown as a
/// JSON boolean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Flag(pub bool);

impl From<i64> for Flag {
    fn from(stored: i64) -> Self {
        Flag(stored != 0)
    }
}

/// What `updateProgram` may change, each already validated.
pub struct ProgramChange {
    pub name: String,
    pub timezone: String,
    /// The level scale as JSON text.
    pub levels: String,
    pub owner_share_percent: String,
    pub card_payments: bool,
}

/// JSON stored as text, shown as JSON.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct JsonText(pub serde_json::Value);

impl TryFrom<String> for JsonText {
    type Error = serde_json::Error;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        serde_json::from_str(&text).map(JsonText)
    }
}

const PROGRAM_COLUMNS: &str =
    "id, slug, name, timezone, created_at, levels, owner_share_percent, card_payments";

/// Creates a program with its built-in roles.
#[tracing::instrument(skip_all)]
pub async fn create(
    tx: &mut Tx,
    slug: &Slug,
    name: &Title,
    timezone: &TimeZoneName,
    now_ms: i64,
) -> sqlx::Result<Program> {
    let program: Program = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO programs (slug, name, timezone, created_at) VALUES ($1, $2, $3, $4)
         RETURNING {PROGRAM_COLUMNS}"
    )))
    .bind(slug.as_str())
    .bind(name.as_str())
    .bind(timezone.as_str())
    .bind(now_ms)
    .fetch_one(&mut **tx)
    .await?;
    seed_builtin_roles(tx, program.id, now_ms).await?;
    crate::moderation::seed_rejection_reasons(tx, program.id).await?;
    Ok(program)
}

#[tracing::instrument(skip_all)]
pub async fn by_slug(db: &Db, slug: &str) -> sqlx::Result<Option<Program>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PROGRAM_COLUMNS} FROM programs WHERE slug = $1"
    )))
    .bind(slug)
    .fetch_optional(&db.pool)
    .await
}

#[tracing::instrument(skip_all, fields(id = ?id))]
pub async fn by_id<'e, E>(executor: E, id: i64) -> sqlx::Result<Program>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PROGRAM_COLUMNS} FROM programs WHERE id = $1"
    )))
    .bind(id)
    .fetch_one(executor)
    .await
}

/// Writes a program's settings.
#[tracing::instrument(skip_all, fields(id = ?id))]
pub async fn update(tx: &mut Tx, id: i64, change: &ProgramChange) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE programs SET name = $1, timezone = $2, levels = $3, owner_share_percent = $4,
                card_payments = $5
         WHERE id = $6",
    )
    .bind(&change.name)
    .bind(&change.timezone)
    .bind(&change.levels)
    .bind(&change.owner_share_percent)
    .bind(i64::from(change.card_payments))
    .bind(id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// The program with `slug`, created (named after the slug, Moscow time) if missing.
#[tracing::instrument(skip_all)]
pub async fn ensure(db: &Db, slug: &Slug, now_ms: i64) -> anyhow::Result<Program> {
    if let Some(program) = by_slug(db, slug.as_str()).await? {
        return Ok(program);
    }
    let mut tx = db.begin().await?;
    let name = Title::parse(slug.as_str()).map_err(anyhow::Error::msg)?;
    let zone = TimeZoneName::parse("Europe/Moscow").map_err(anyhow::Error::msg)?;
    let program = create(&mut tx, slug, &name, &zone, now_ms).await?;
    tx.commit().await?;
    Ok(program)
}

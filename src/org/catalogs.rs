//! The program's reference lists: regions, partners and brands, each a named item
//! unique within the program.

use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

use crate::access::Section;
use crate::db::{Clock, Db};
use crate::domain::Title;
use crate::error::{ApiError, ApiResult, ErrorCode};

/// A region, partner or brand.
#[derive(Debug, Serialize, FromRow, ToSchema)]
pub struct NamedItem {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
}

/// A reference list: its table (a fixed name, never input) and the section guarding it.
pub struct Catalog {
    pub table: &'static str,
    pub section: Section,
    pub noun: &'static str,
}

pub const REGIONS: Catalog = Catalog {
    table: "regions",
    section: Section::Regions,
    noun: "region",
};
pub const PARTNERS: Catalog = Catalog {
    table: "partners",
    section: Section::Partners,
    noun: "partner",
};
pub const BRANDS: Catalog = Catalog {
    table: "brands",
    section: Section::Brands,
    noun: "brand",
};

/// Adds an item; a name the list already has is a conflict.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn create(
    db: &Db,
    clock: &Clock,
    program_id: i64,
    catalog: &Catalog,
    name: &Title,
) -> ApiResult<NamedItem> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {} (program_id, name, created_at) VALUES ($1, $2, $3) RETURNING id, name, created_at",
        catalog.table
    )))
    .bind(program_id)
    .bind(name.as_str())
    .bind(clock.now_ms())
    .fetch_one(&db.pool)
    .await
    .map_err(|err| match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let mut e = ApiError::field(
                "name",
                format!("a {} with this name exists", catalog.noun),
            );
            e.code = ErrorCode::Conflict;
            e
        }
        _ => err.into(),
    })
}

/// The list, by name.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn list(db: &Db, program_id: i64, catalog: &Catalog) -> ApiResult<Vec<NamedItem>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, name, created_at FROM {} WHERE program_id = $1 ORDER BY name",
        catalog.table
    )))
    .bind(program_id)
    .fetch_all(&db.pool)
    .await?)
}

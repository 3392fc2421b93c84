//! Stores: the shops a program works through. Managers connect and disconnect them in
//! their region; only program-wide editors (admins) block and unblock them. A store's
//! owner holds the `owner` role scoped to that store.

use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

use crate::access::repo::{assign, role_id, unassign_named};
use crate::access::scoped::{ScopeColumns, restrict_to};
use crate::access::{OWNER, Scope, Target, Visibility};
use crate::db::{Db, Sql, Tx};
use crate::error::{ApiError, ApiResult};
use crate::paging::{Page, page_of};

stimul_actors::stored_enum! {
    /// Where a store stands in the program.
    pub enum StoreStatus {
        /// Registered as a group and waiting for approval.
        Pending = "pending",
        /// Taking part in the program.
        Connected = "connected",
        /// Taken out of the program (e.g. inactive); may be connected again.
        Disconnected = "disconnected",
        /// Barred by an admin (e.g. fraud); only an admin can lift it.
        Blocked = "blocked",
    }
}

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Store {
    pub id: i64,
    pub program_id: i64,
    /// The store's code in the program's own systems; imports match on it.
    pub external_ref: Option<String>,
    pub name: String,
    pub address: String,
    pub region_id: Option<i64>,
    pub partner_id: Option<i64>,
    pub owner_user_id: Option<i64>,
    #[sqlx(try_from = "String")]
    pub status: StoreStatus,
    /// The monthly target in points (decimal string), for plan attainment.
    #[serde(serialize_with = "crate::domain::hundredths_as_decimal")]
    #[schema(value_type = Option<String>)]
    pub monthly_plan: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const STORE_COLUMNS: &str = "s.id, s.program_id, s.external_ref, s.name, s.address, s.region_id, \
     s.partner_id, s.owner_user_id, s.status, s.monthly_plan, s.created_at, s.updated_at";

impl Store {
    pub fn target(&self) -> Target {
        Target {
            program_id: self.program_id,
            region_id: self.region_id,
            partner_id: self.partner_id,
            brand_id: None,
            store_id: Some(self.id),
        }
    }
}

#[tracing::instrument(skip_all, fields(id = ?id))]
pub async fn get<'e, E>(executor: E, id: i64) -> ApiResult<Store>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {STORE_COLUMNS} FROM stores s WHERE s.id = $1"
    )))
    .bind(id)
    .fetch_optional(executor)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("store {id}")))
}

/// A store of `program_id`, or not found (ids of other programs do not exist here).
#[tracing::instrument(skip_all, fields(program_id = ?program_id, id = ?id))]
pub async fn get_in_program<'e, E>(executor: E, program_id: i64, id: i64) -> ApiResult<Store>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let store = get(executor, id).await?;
    if store.program_id != program_id {
        return Err(ApiError::not_found(format!("store {id}")));
    }
    Ok(store)
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn by_external_ref(
    tx: &mut Tx,
    program_id: i64,
    external_ref: &str,
) -> sqlx::Result<Option<Store>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {STORE_COLUMNS} FROM stores s WHERE s.program_id = $1 AND s.external_ref = $2"
    )))
    .bind(program_id)
    .bind(external_ref)
    .fetch_optional(&mut **tx)
    .await
}

/// The fields of a store that a create or update sets.
#[derive(Debug, Clone)]
pub struct StoreFields {
    pub name: String,
    pub address: String,
    pub region_id: Option<i64>,
    pub partner_id: Option<i64>,
    pub external_ref: Option<String>,
    /// Hundredths of a point.
    pub monthly_plan: Option<i64>,
}

/// Checks that referenced regions and partners exist in the same program; returns
/// field errors keyed by the request's field names.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn check_references(
    conn: &mut sqlx::AnyConnection,
    program_id: i64,
    region_id: Option<i64>,
    partner_id: Option<i64>,
) -> ApiResult<()> {
    let mut errors = Vec::new();
    if let Some(region_id) = region_id
        && !exists_in_program(&mut *conn, "regions", program_id, region_id).await?
    {
        errors.push(crate::error::FieldError {
            field: "region_id".into(),
            message: format!("there is no region {region_id} in this program"),
        });
    }
    if let Some(partner_id) = partner_id
        && !exists_in_program(&mut *conn, "partners", program_id, partner_id).await?
    {
        errors.push(crate::error::FieldError {
            field: "partner_id".into(),
            message: format!("there is no partner {partner_id} in this program"),
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::fields(errors))
    }
}

/// Whether `table` (a fixed table name, never user input) has row `id` in the program.
#[tracing::instrument(skip_all, fields(program_id = ?program_id, id = ?id))]
pub async fn exists_in_program<'e, E>(
    executor: E,
    table: &'static str,
    program_id: i64,
    id: i64,
) -> sqlx::Result<bool>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let found: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM {table} WHERE id = $1 AND program_id = $2"
    )))
    .bind(id)
    .bind(program_id)
    .fetch_optional(executor)
    .await?;
    Ok(found.is_some())
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn create(
    tx: &mut Tx,
    program_id: i64,
    fields: &StoreFields,
    status: StoreStatus,
    now_ms: i64,
) -> ApiResult<Store> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO stores (program_id, external_ref, name, address, region_id, partner_id, status, monthly_plan, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $9, $8, $8) RETURNING id",
    )
    .bind(program_id)
    .bind(fields.external_ref.clone())
    .bind(&fields.name)
    .bind(&fields.address)
    .bind(fields.region_id)
    .bind(fields.partner_id)
    .bind(status.as_str())
    .bind(now_ms)
    .bind(fields.monthly_plan)
    .fetch_one(&mut **tx)
    .await
    .map_err(|err| conflict_on_external_ref(err, fields.external_ref.as_deref()))?;
    get(&mut **tx, id).await
}

#[tracing::instrument(skip_all, fields(id = ?id))]
pub async fn update(tx: &mut Tx, id: i64, fields: &StoreFields, now_ms: i64) -> ApiResult<Store> {
    sqlx::query(
        "UPDATE stores SET external_ref = $1, name = $2, address = $3, region_id = $4, partner_id = $5, updated_at = $6,
         monthly_plan = $8 WHERE id = $7",
    )
    .bind(fields.external_ref.clone())
    .bind(&fields.name)
    .bind(&fields.address)
    .bind(fields.region_id)
    .bind(fields.partner_id)
    .bind(now_ms)
    .bind(id)
    .bind(fields.monthly_plan)
    .execute(&mut **tx)
    .await
    .map_err(|err| conflict_on_external_ref(err, fields.external_ref.as_deref()))?;
    get(&mut **tx, id).await
}

fn conflict_on_external_ref(err: sqlx::Error, external_ref: Option<&str>) -> ApiError {
    match (&err, external_ref) {
        (sqlx::Error::Database(db), Some(external_ref)) if db.is_unique_violation() => {
            ApiError::field(
                "external_ref",
                format!("another store already has code {external_ref:?}"),
            )
        }
        _ => err.into(),
    }
}

#[tracing::instrument(skip_all, fields(id = ?id))]
pub async fn set_status(
    tx: &mut Tx,
    id: i64,
    status: StoreStatus,
    now_ms: i64,
) -> ApiResult<Store> {
    sqlx::query("UPDATE stores SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(now_ms)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    get(&mut **tx, id).await
}

/// Makes `owner_user_id` the store's owner (or clears it), moving the store-scoped
/// `owner` role from the previous owner to the new one.
#[tracing::instrument(skip_all)]
pub async fn set_owner(
    tx: &mut Tx,
    store: &Store,
    owner_user_id: Option<i64>,
    now_ms: i64,
) -> ApiResult<()> {
    if store.owner_user_id == owner_user_id {
        return Ok(());
    }
    if let Some(previous) = store.owner_user_id {
        unassign_named(
            tx,
            previous,
            store.program_id,
            OWNER,
            Scope::Store(store.id),
        )
        .await?;
    }
    if let Some(owner) = owner_user_id {
        let owner_role = role_id(&mut **tx, store.program_id, OWNER).await?;
        assign(tx, owner, owner_role, Scope::Store(store.id), now_ms).await?;
    }
    sqlx::query("UPDATE stores SET owner_user_id = $1, updated_at = $2 WHERE id = $3")
        .bind(owner_user_id)
        .bind(now_ms)
        .bind(store.id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Optional filters of the store list.
#[derive(Debug, Default)]
pub struct StoreQuery {
    pub status: Option<StoreStatus>,
    pub region_id: Option<i64>,
    pub partner_id: Option<i64>,
    /// Case-insensitive part of the name, address or code.
    pub search: Option<String>,
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id, after_id = ?after_id, limit = ?limit))]
pub async fn list(
    db: &Db,
    program_id: i64,
    visibility: &Visibility,
    query: &StoreQuery,
    after_id: i64,
    limit: i64,
) -> ApiResult<Page<Store>> {
    let mut filter = Sql::default();
    restrict_to(
        &mut filter,
        program_id,
        visibility,
        &ScopeColumns {
            program: "s.program_id",
            region: Some("s.region_id"),
            partner: Some("s.partner_id"),
            brand: None,
            store: Some("s.id"),
        },
    );
    let after = filter.placeholder(after_id);
    filter.and_where(format!("s.id > {after}"));
    if let Some(status) = query.status {
        let p = filter.placeholder(status.as_str());
        filter.and_where(format!("s.status = {p}"));
    }
    if let Some(region_id) = query.region_id {
        let p = filter.placeholder(region_id);
        filter.and_where(format!("s.region_id = {p}"));
    }
    if let Some(partner_id) = query.partner_id {
        let p = filter.placeholder(partner_id);
        filter.and_where(format!("s.partner_id = {p}"));
    }
    if let Some(search) = query.search.as_deref().filter(|s| !s.trim().is_empty()) {
        let p = filter.placeholder(format!("%{}%", search.trim().to_lowercase()));
        filter.and_where(format!(
            "(LOWER(s.name) LIKE {p} OR LOWER(s.address) LIKE {p} OR LOWER(COALESCE(s.external_ref, '')) LIKE {p})"
        ));
    }
    let limit_p = filter.placeholder(limit + 1);
    filter
        .push(&format!("SELECT {STORE_COLUMNS} FROM stores s"))
        .push_where()
        .push(&format!(" ORDER BY s.id LIMIT {limit_p}"));
    let rows: Vec<Store> = filter.query_as().fetch_all(&db.pool).await?;
    Ok(page_of(rows, limit, |s| s.id))
}

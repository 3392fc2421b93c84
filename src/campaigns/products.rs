//! The product catalog: what brands sell, what codes are printed for and campaigns pay
//! for. A product is known by its SKU within a program; creating or importing a known
//! SKU updates it, so a brand's catalog export can be uploaded again and again.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use sqlx::any::AnyRow;
use utoipa::{IntoParams, ToSchema};

use crate::access::scoped::{ScopeColumns, restrict_to};
use crate::access::{Permission, Section, Target};
use crate::auth::Principal;
use crate::db::{Clock, Db, Sql, Tx};
use crate::domain::{Text, Title};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, RowError};
use crate::org::imports::{
    CsvTable, ImportSummary, RowCheck, finish, lookup, names_to_ids, reject_if_any,
};
use crate::paging::{Page, page_of};

/// The largest pack a code may stand for: more is a typo.
pub const MAX_PACK_SIZE: i64 = 10_000;

pub type Sku = Text<64>;
pub type ProductKind = Text<100>;

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Product {
    pub id: i64,
    pub program_id: i64,
    pub brand_id: Option<i64>,
    pub sku: String,
    pub name: String,
    /// The product type as the brand names it.
    pub kind: String,
    /// Units in one package; a code on it counts this many units.
    pub pack_size: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Product {
    pub fn target(&self) -> Target {
        Target::branded(self.program_id, self.brand_id)
    }
}

const PRODUCT_COLUMNS: &str =
    "id, program_id, brand_id, sku, name, kind, pack_size, created_at, updated_at";

fn product_from_row(row: &AnyRow) -> sqlx::Result<Product> {
    Product::from_row(row)
}

/// A product to create or update (`createProduct`), matched on `sku`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ProductInput {
    pub sku: String,
    pub name: String,
    #[serde(default)]
    pub kind: String,
    /// Default 1.
    pub pack_size: Option<i64>,
    /// The brand whose product this is; brand users may only write their own.
    pub brand_id: Option<i64>,
}

/// A product input that passed every check.
#[derive(Debug, Clone)]
pub struct ValidProduct {
    pub sku: String,
    pub name: String,
    pub kind: String,
    pub pack_size: i64,
    pub brand_id: Option<i64>,
}

impl ValidProduct {
    /// Checks the fields that need no database; `errors` gets one entry per bad field.
    pub fn check(
        sku: &str,
        name: &str,
        kind: &str,
        pack_size: Option<i64>,
        brand_id: Option<i64>,
        errors: &mut Vec<FieldError>,
    ) -> Option<Self> {
        let mut take = |field: &str, result: Result<String, String>| {
            result
                .map_err(|message| {
                    errors.push(FieldError {
                        field: field.into(),
                        message,
                    })
                })
                .ok()
        };
        let sku = take("sku", Sku::parse(sku).map(Text::into_string));
        let name = take("name", Title::parse(name).map(Text::into_string));
        let kind = take(
            "kind",
            ProductKind::parse_optional(kind).map(Text::into_string),
        );
        let pack_size = pack_size.unwrap_or(1);
        let pack = take(
            "pack_size",
            if (1..=MAX_PACK_SIZE).contains(&pack_size) {
                Ok(String::new())
            } else {
                Err(format!("1 to {MAX_PACK_SIZE}"))
            },
        );
        Some(Self {
            sku: sku?,
            name: name?,
            kind: kind?,
            pack_size: pack.map(|_| pack_size)?,
            brand_id,
        })
    }

    fn target(&self, program_id: i64) -> Target {
        Target::branded(program_id, self.brand_id)
    }
}

/// A product of the program by id.
#[tracing::instrument(skip_all, fields(program_id = ?program_id, id = ?id))]
pub async fn get<'e, E>(executor: E, program_id: i64, id: i64) -> ApiResult<Product>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row: Option<Product> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE id = $1 AND program_id = $2"
    )))
    .bind(id)
    .bind(program_id)
    .fetch_optional(executor)
    .await?;
    match row {
        Some(product) => Ok(product),
        None => Err(ApiError::not_found(format!("product {id}"))),
    }
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
async fn by_sku(tx: &mut Tx, program_id: i64, sku: &str) -> ApiResult<Option<Product>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE program_id = $1 AND sku = $2"
    )))
    .bind(program_id)
    .bind(sku)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Whether the write created the product or updated an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Created,
    Updated,
}

/// Creates or updates (by SKU) a checked product in the caller's transaction, checking
/// the caller may edit both the stored product and what it becomes.
#[tracing::instrument(skip_all)]
pub async fn upsert(
    tx: &mut Tx,
    caller: &Principal,
    product: &ValidProduct,
    now: i64,
) -> ApiResult<(Product, Written)> {
    let program_id = caller.program_id();
    caller.require(
        Permission::edit(Section::Products),
        &product.target(program_id),
    )?;
    if let Some(brand) = product.brand_id
        && !crate::org::stores::exists_in_program(&mut **tx, "brands", program_id, brand).await?
    {
        return Err(ApiError::field(
            "brand_id",
            format!("there is no brand {brand} in this program"),
        ));
    }
    let written = match by_sku(tx, program_id, &product.sku).await? {
        Some(existing) => {
            caller.require(Permission::edit(Section::Products), &existing.target())?;
            sqlx::query(
                "UPDATE products SET name = $1, kind = $2, pack_size = $3, brand_id = $4, updated_at = $5 WHERE id = $6",
            )
            .bind(&product.name)
            .bind(&product.kind)
            .bind(product.pack_size)
            .bind(product.brand_id)
            .bind(now)
            .bind(existing.id)
            .execute(&mut **tx)
            .await?;
            Written::Updated
        }
        None => {
            sqlx::query(
                "INSERT INTO products (program_id, brand_id, sku, name, kind, pack_size, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
            )
            .bind(program_id)
            .bind(product.brand_id)
            .bind(&product.sku)
            .bind(&product.name)
            .bind(&product.kind)
            .bind(product.pack_size)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            Written::Created
        }
    };
    let stored = by_sku(tx, program_id, &product.sku)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the product just written is gone")))?;
    Ok((stored, written))
}

/// Creates or updates one product (`createProduct`).
#[tracing::instrument(skip_all)]
pub async fn create(
    db: &Db,
    clock: &Clock,
    caller: &Principal,
    input: &ProductInput,
) -> ApiResult<Product> {
    let mut errors = Vec::new();
    let valid = ValidProduct::check(
        &input.sku,
        &input.name,
        &input.kind,
        input.pack_size,
        input.brand_id,
        &mut errors,
    );
    let valid = match valid {
        Some(valid) if errors.is_empty() => valid,
        _ => return Err(ApiError::fields(errors)),
    };
    let mut tx = db.begin().await?;
    let (product, _) = upsert(&mut tx, caller, &valid, clock.now_ms()).await?;
    tx.commit().await?;
    Ok(product)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductFilter {
    pub brand_id: Option<i64>,
}

/// The products the caller may see, by id.
#[tracing::instrument(skip_all, fields(after = ?after, limit = ?limit))]
pub async fn list(
    db: &Db,
    caller: &Principal,
    filter: &ProductFilter,
    after: i64,
    limit: i64,
) -> ApiResult<Page<Product>> {
    let visibility = caller
        .access
        .visibility(Permission::view(Section::Products));
    let mut sql = Sql::default();
    restrict_to(
        &mut sql,
        caller.program_id(),
        &visibility,
        &ScopeColumns {
            program: "program_id",
            region: None,
            partner: None,
            brand: Some("brand_id"),
            store: None,
        },
    );
    let after_p = sql.placeholder(after);
    sql.and_where(format!("id > {after_p}"));
    if let Some(brand) = filter.brand_id {
        let p = sql.placeholder(brand);
        sql.and_where(format!("brand_id = {p}"));
    }
    let limit_p = sql.placeholder(limit + 1);
    sql.push(&format!("SELECT {PRODUCT_COLUMNS} FROM products"))
        .push_where()
        .push(&format!(" ORDER BY id LIMIT {limit_p}"));
    let rows = sql.query().fetch_all(&db.pool).await?;
    let products = rows
        .iter()
        .map(product_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_of(products, limit, |p| p.id))
}

/// The columns of `importProducts`: required, then optional.
pub const IMPORT_COLUMNS: (&[&str], &[&str]) = (&["sku", "name"], &["kind", "pack_size", "brand"]);

/// `importProducts`: the product catalog from CSV, all rows or none: new SKUs are created, known SKUs updated.
#[tracing::instrument(skip_all, fields(dry_run = ?dry_run))]
pub async fn import(
    db: &crate::db::Db,
    caller: &Principal,
    table: &CsvTable,
    dry_run: bool,
    now_ms: i64,
) -> ApiResult<ImportSummary> {
    let program_id = caller.program_id();
    let brands = names_to_ids(db, "brands", program_id).await?;
    let mut seen = std::collections::HashSet::new();
    let mut bad = Vec::new();
    let mut good = Vec::new();
    for (number, record) in table.rows() {
        let mut check = RowCheck::default();
        let brand_id = lookup(
            &brands,
            &mut check,
            "brand",
            "brand",
            table.cell(record, "brand"),
        );
        let pack_size = match table.cell(record, "pack_size") {
            "" => None,
            text => check.take(
                "pack_size",
                text.parse::<i64>()
                    .map_err(|_| "a whole number of units".to_string()),
            ),
        };
        let product = ValidProduct::check(
            table.cell(record, "sku"),
            table.cell(record, "name"),
            table.cell(record, "kind"),
            pack_size.or(Some(1)),
            brand_id,
            &mut check.errors,
        );
        if let Some(product) = &product
            && !seen.insert(product.sku.to_lowercase())
        {
            check.fail(
                "sku",
                format!("SKU {:?} appears more than once in the file", product.sku),
            );
        }
        match product {
            Some(product) if check.errors.is_empty() => good.push((*number, product)),
            _ => bad.push(RowError {
                row: *number,
                errors: check.errors,
            }),
        }
    }
    reject_if_any(bad)?;
    let mut tx = db.begin().await?;
    let mut summary = ImportSummary {
        rows: table.rows().len() as u64,
        created: 0,
        updated: 0,
        dry_run,
    };
    let mut bad = Vec::new();
    for (number, product) in &good {
        match upsert(&mut tx, caller, product, now_ms).await {
            Ok((_, Written::Created)) => summary.created += 1,
            Ok((_, Written::Updated)) => summary.updated += 1,
            Err(err)
                if err.code == ErrorCode::Forbidden || err.code == ErrorCode::ValidationFailed =>
            {
                bad.push(RowError {
                    row: *number,
                    errors: vec![FieldError {
                        field: "sku".into(),
                        message: err.detail,
                    }],
                })
            }
            Err(err) => return Err(err),
        }
    }
    reject_if_any(bad)?;
    finish(tx, dry_run).await?;
    Ok(summary)
}

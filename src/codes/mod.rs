//! Code pools and issued batches: creating pools, their status (codes by status, the
//! running refill and its shards), ordering a batch of codes for a product, and
//! streaming a batch as CSV for the printer. Refilling and the moving of codes are done
//! by the `CodegenSupervisor` (`stimul_actors::codegen`) through [`repo::SqlCodegen`].
//!
//! A batch reserves its quantity from the pool's `available` count in the transaction
//! that creates it, so two orders can never promise the same codes and an order larger
//! than the pool is refused before anything changes. The codes themselves then move
//! from `pool` to `issued` chunk by chunk; a restart resumes where it stopped.

pub mod repo;

use std::sync::Arc;
use std::time::Duration;
use stimul_actors::error::StorageError;

use crate::db::OnServerRuntime;
use actix_web::web::Bytes;
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use stimul_actors::codegen::{
    BatchProgress, ChunkError, Codegen, CodegenConfig, CodegenStore, PoolCheck, ShardClaim,
    WorkerView,
};
pub use stimul_actors::rules::codes::BatchStatus;
use stimul_actors::rules::codes::{ProductCode, QR_PREFIX};
use stimul_actors::rules::refill::{NightlyWindow, RefillTrigger, check_pool_sizes};
use utoipa::ToSchema;

use crate::access::Target;
use crate::config::Settings;
use crate::db::{Clock, Db};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::metrics::Metrics;

pub use repo::SqlCodegen;

/// The most codes one order may ask for; a day's print run in the source cases is 2
/// million.
pub const MAX_BATCH: i64 = 10_000_000;

/// The header line of a batch's CSV.
pub const CSV_HEADER: &str = "code,qr_payload\n";

/// Starts this node's codegen supervisor and workers on the server's database.
pub fn start(
    db: &Db,
    settings: &Settings,
    clock: &Clock,
    metrics: &Metrics,
    node: String,
) -> anyhow::Result<Codegen> {
    let codes = &settings.codes;
    let window = NightlyWindow::parse(&codes.night_start, &codes.night_end)
        .map_err(|e| anyhow::anyhow!("codes.night_start/night_end: {e}"))?;
    let store = SqlCodegen::new(
        db.clone(),
        &settings.database_url(),
        codes.workers as u32 + 1,
        clock.clone(),
        Some(metrics.clone()),
    )?;
    let config = CodegenConfig {
        workers: codes.workers.max(1),
        chunk_size: codes.chunk_size.max(1),
        check_interval: Duration::from_millis(codes.check_interval_ms.max(10)),
        lease: Duration::from_millis(codes.lease_ms.max(100)),
        window,
    };
    let now = clock.clone();
    Ok(Codegen::start(
        Arc::new(OnServerRuntime::new(store)),
        config,
        std::sync::Arc::new(move || now.now_ms()),
        node,
    ))
}

#[async_trait::async_trait]
impl<S: CodegenStore> CodegenStore for OnServerRuntime<S> {
    async fn pools(&self, now: i64) -> Result<Vec<PoolCheck>, StorageError> {
        self.run(move |s| async move { s.pools(now).await }).await?
    }

    async fn plan_refill(
        &self,
        pool_id: i64,
        trigger: RefillTrigger,
        shards: u64,
        now: i64,
    ) -> Result<Option<i64>, StorageError> {
        self.run(move |s| async move { s.plan_refill(pool_id, trigger, shards, now).await })
            .await?
    }

    async fn claim_shard(
        &self,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<ShardClaim>, StorageError> {
        let owner = owner.to_string();
        self.run(move |s| async move { s.claim_shard(&owner, now, lease_until).await })
            .await?
    }

    async fn insert_chunk(
        &self,
        claim: &ShardClaim,
        codes: &[ProductCode],
        lease_until: i64,
    ) -> Result<i64, ChunkError> {
        let (claim, codes) = (claim.clone(), codes.to_vec());
        self.run(move |s| async move { s.insert_chunk(&claim, &codes, lease_until).await })
            .await
            .map_err(ChunkError::Storage)?
    }

    async fn release_shard(&self, claim: &ShardClaim, now: i64) -> Result<(), StorageError> {
        let claim = claim.clone();
        self.run(move |s| async move { s.release_shard(&claim, now).await })
            .await?
    }

    async fn issue_chunk(&self, batch_id: i64, limit: i64) -> Result<BatchProgress, StorageError> {
        self.run(move |s| async move { s.issue_chunk(batch_id, limit).await })
            .await?
    }

    async fn unfinished_batches(&self) -> Result<Vec<i64>, StorageError> {
        self.run(|s| async move { s.unfinished_batches().await })
            .await?
    }
}

/// A pool of pre-generated codes.
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct CodePool {
    pub id: i64,
    pub name: String,
    /// The pool is refilled up to this many codes.
    pub target_size: i64,
    /// Below this many available codes a refill starts at any hour.
    pub low_watermark: i64,
    /// Codes in the pool not promised to an order.
    pub available: i64,
    pub created_at: i64,
}

const POOL_COLUMNS: &str = "id, name, target_size, low_watermark, available, created_at";

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct PoolRequest {
    /// Unique within the program, 1 to 100 characters.
    pub name: String,
    /// Codes to keep ready, e.g. 15000000.
    pub target_size: i64,
    /// Refill at any hour below this many; 0 to `target_size`.
    pub low_watermark: i64,
}

/// Codes of a pool by status.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct CodeCounts {
    /// Generated, waiting in the pool (including codes reserved by an order still being
    /// issued).
    pub pool: i64,
    pub issued: i64,
    pub held: i64,
    pub registered: i64,
}

/// One shard of a refill.
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct ShardView {
    pub shard: i64,
    pub quota: i64,
    pub done: i64,
    /// `node/worker` holding it now, if any.
    pub owner: Option<String>,
    pub lease_until: Option<i64>,
}

/// A refill and its progress.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RefillView {
    pub id: i64,
    /// `schedule`, `watermark` or `manual`.
    pub trigger: String,
    /// `running`, `done` or `failed`.
    pub status: String,
    /// Codes this refill adds.
    pub requested: i64,
    /// Codes added so far.
    pub done: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub shards: Vec<ShardView>,
}

/// A pool with its codes by status, its latest refill and this node's workers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PoolStatus {
    #[serde(flatten)]
    pub pool: CodePool,
    pub codes: CodeCounts,
    /// The running refill, else the latest one.
    pub refill: Option<RefillView>,
    /// What the codegen workers of the node that answered are doing.
    pub workers: Vec<WorkerView>,
}

/// Checks and creates a pool in the caller's program.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn create_pool(
    db: &Db,
    program_id: i64,
    request: &PoolRequest,
    now: i64,
) -> ApiResult<CodePool> {
    let name = request.name.trim();
    let mut errors = Vec::new();
    if !(1..=100).contains(&name.chars().count()) {
        errors.push(("name", "must be 1 to 100 characters".to_string()));
    }
    if let Err(err) = check_pool_sizes(request.target_size, request.low_watermark) {
        let field = match err {
            stimul_actors::rules::refill::PoolSizeError::Target => "target_size",
            stimul_actors::rules::refill::PoolSizeError::Watermark => "low_watermark",
        };
        errors.push((field, err.to_string()));
    }
    if !errors.is_empty() {
        return Err(ApiError::fields(
            errors
                .into_iter()
                .map(|(field, message)| crate::error::FieldError {
                    field: field.into(),
                    message,
                })
                .collect(),
        ));
    }
    let taken: Option<i64> =
        sqlx::query_scalar("SELECT id FROM code_pools WHERE program_id = $1 AND name = $2")
            .bind(program_id)
            .bind(name)
            .fetch_optional(&db.pool)
            .await?;
    if taken.is_some() {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("a code pool named {name:?} exists already"),
        ));
    }
    let pool = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO code_pools (program_id, name, target_size, low_watermark, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING {POOL_COLUMNS}"
    )))
    .bind(program_id)
    .bind(name)
    .bind(request.target_size)
    .bind(request.low_watermark)
    .bind(now)
    .fetch_one(&db.pool)
    .await?;
    Ok(pool)
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn list_pools(db: &Db, program_id: i64) -> ApiResult<Vec<CodePool>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {POOL_COLUMNS} FROM code_pools WHERE program_id = $1 ORDER BY id"
    )))
    .bind(program_id)
    .fetch_all(&db.pool)
    .await?)
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id, pool_id = ?pool_id))]
pub async fn pool(db: &Db, program_id: i64, pool_id: i64) -> ApiResult<CodePool> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {POOL_COLUMNS} FROM code_pools WHERE id = $1 AND program_id = $2"
    )))
    .bind(pool_id)
    .bind(program_id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("code pool {pool_id}")))
}

/// The program's default pool: its oldest.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn default_pool(db: &Db, program_id: i64) -> ApiResult<CodePool> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {POOL_COLUMNS} FROM code_pools WHERE program_id = $1 ORDER BY id LIMIT 1"
    )))
    .bind(program_id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or_else(|| ApiError::not_found("a code pool of this program (create one first)"))
}

/// A pool's status. Counting by status reads the pool's index, so it costs more the
/// bigger the pool; it is for people, not for polling loops.
#[tracing::instrument(skip_all, fields(program_id = ?program_id, pool_id = ?pool_id))]
pub async fn pool_status(
    db: &Db,
    metrics: &Metrics,
    codegen: &Codegen,
    program_id: i64,
    pool_id: i64,
) -> ApiResult<PoolStatus> {
    let pool = pool(db, program_id, pool_id).await?;
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, COUNT(*) FROM codes WHERE pool_id = $1 GROUP BY status")
            .bind(pool_id)
            .fetch_all(&db.pool)
            .await?;
    let mut codes = CodeCounts::default();
    for (status, count) in rows {
        match status.as_str() {
            "pool" => codes.pool = count,
            "issued" => codes.issued = count,
            "held" => codes.held = count,
            "registered" => codes.registered = count,
            _ => {}
        }
        metrics
            .code_pool_codes
            .with_label_values(&[pool_id.to_string().as_str(), status.as_str()])
            .set(count);
    }
    let refill: Option<(i64, String, String, i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, trigger_kind, status, requested, started_at, finished_at FROM code_refills
         WHERE pool_id = $1 ORDER BY CASE WHEN status = 'running' THEN 0 ELSE 1 END, id DESC LIMIT 1",
    )
    .bind(pool_id)
    .fetch_optional(&db.pool)
    .await?;
    let refill = match refill {
        None => None,
        Some((id, trigger, status, requested, started_at, finished_at)) => {
            let shards: Vec<ShardView> = sqlx::query_as(
                "SELECT shard, quota, done, owner, lease_until FROM code_refill_shards WHERE refill_id = $1 ORDER BY shard",
            )
            .bind(id)
            .fetch_all(&db.pool)
            .await?;
            Some(RefillView {
                id,
                trigger,
                status,
                requested,
                done: shards.iter().map(|s| s.done).sum(),
                started_at,
                finished_at,
                shards,
            })
        }
    };
    Ok(PoolStatus {
        pool,
        codes,
        refill,
        workers: codegen.workers().await,
    })
}

/// What a manual refill found: the refill serving it and the pool as it is now.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefillStarted {
    pub refill_id: i64,
    /// `running`, or `done` when the refill that served this request finished before
    /// the answer was written.
    pub status: String,
    /// The pool's available codes and target, read after the refill was found.
    pub available: i64,
    pub target_size: i64,
}

/// Starts a refill of the pool now, or answers the one already serving it: one that
/// runs, or one that ran while this request was being handled (the automatic refill
/// can start and finish between the generator's answer and this look-up). A pool
/// that is full and has no such refill is `invalid_state`, with its numbers as they
/// are now, so the message never contradicts itself.
#[tracing::instrument(skip_all, fields(program_id = ?program_id, pool_id = ?pool_id))]
pub async fn refill_now(
    db: &Db,
    clock: &Clock,
    codegen: &Codegen,
    program_id: i64,
    pool_id: i64,
) -> ApiResult<RefillStarted> {
    let pool = pool(db, program_id, pool_id).await?;
    let asked_at = clock.now_ms();
    let planned = codegen
        .refill(pool.id, RefillTrigger::Manual)
        .await
        .map_err(|err| {
            ApiError::new(
                ErrorCode::ServiceUnavailable,
                "the code generator is unavailable; retry shortly",
            )
            .with_source(anyhow::anyhow!(err))
        })?;
    let serving: Option<(i64, String)> = match planned {
        Some(refill_id) => Some((refill_id, "running".into())),
        None => {
            sqlx::query_as(
                "SELECT id, status FROM code_refills
                 WHERE pool_id = $1 AND (status = 'running' OR finished_at >= $2)
                 ORDER BY id DESC LIMIT 1",
            )
            .bind(pool.id)
            .bind(asked_at)
            .fetch_optional(&db.pool)
            .await?
        }
    };
    let now = self::pool(db, program_id, pool_id).await?;
    match serving {
        Some((refill_id, status)) => Ok(RefillStarted {
            refill_id,
            status,
            available: now.available,
            target_size: now.target_size,
        }),
        None => Err(ApiError::invalid_state(format!(
            "code pool {pool_id} is full ({} of {} codes available)",
            now.available, now.target_size
        ))),
    }
}

/// An order of codes for one product.
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct CodeBatch {
    pub id: i64,
    pub pool_id: i64,
    pub product_id: i64,
    pub quantity: i64,
    /// Codes moved out of the pool so far; the CSV is ready at `quantity`.
    pub issued: i64,
    #[sqlx(try_from = "String")]
    pub status: BatchStatus,
    pub created_by: Option<i64>,
    pub created_at: i64,
}

const BATCH_COLUMNS: &str =
    "id, pool_id, product_id, quantity, issued, status, created_by, created_at";

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct BatchRequest {
    /// The pool to take codes from; the program's default (oldest) pool when absent.
    pub pool_id: Option<i64>,
    pub product_id: i64,
    /// 1 to 10000000.
    pub quantity: i64,
}

/// Where a product sits, for access checks: its program and brand.
#[tracing::instrument(skip_all, fields(program_id = ?program_id, product_id = ?product_id))]
pub async fn product_target(db: &Db, program_id: i64, product_id: i64) -> ApiResult<Target> {
    let brand: Option<(Option<i64>,)> =
        sqlx::query_as("SELECT brand_id FROM products WHERE id = $1 AND program_id = $2")
            .bind(product_id)
            .bind(program_id)
            .fetch_optional(&db.pool)
            .await?;
    let (brand_id,) = brand.ok_or_else(|| ApiError::field("product_id", "no such product"))?;
    Ok(Target {
        brand_id,
        ..Target::program(program_id)
    })
}

/// Reserves `quantity` codes of the pool for a new batch (refused with
/// `not_enough_codes`, changing nothing, when the pool has fewer available).
#[tracing::instrument(skip_all, fields(program_id = ?program_id, pool_id = ?pool_id, product_id = ?product_id, quantity = ?quantity))]
pub async fn create_batch(
    db: &Db,
    program_id: i64,
    pool_id: i64,
    product_id: i64,
    quantity: i64,
    created_by: Option<i64>,
    now: i64,
) -> ApiResult<CodeBatch> {
    if !(1..=MAX_BATCH).contains(&quantity) {
        return Err(ApiError::field(
            "quantity",
            format!("must be 1 to {MAX_BATCH}"),
        ));
    }
    let mut tx = db.begin().await?;
    let reserved = sqlx::query(
        "UPDATE code_pools SET available = available - $1 WHERE id = $2 AND program_id = $3 AND available >= $1",
    )
    .bind(quantity)
    .bind(pool_id)
    .bind(program_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if reserved == 0 {
        let available: Option<i64> = sqlx::query_scalar(
            "SELECT available FROM code_pools WHERE id = $1 AND program_id = $2",
        )
        .bind(pool_id)
        .bind(program_id)
        .fetch_optional(&mut *tx)
        .await?;
        return Err(match available {
            None => ApiError::field("pool_id", "no such code pool"),
            Some(available) => ApiError::new(
                ErrorCode::NotEnoughCodes,
                format!(
                    "code pool {pool_id} has {available} codes available, fewer than the {quantity} ordered; a refill has been started, order again once it is done"
                ),
            ),
        });
    }
    let batch = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO code_batches (program_id, pool_id, product_id, quantity, issued, status, created_by, created_at)
         VALUES ($1, $2, $3, $4, 0, 'issuing', $5, $6) RETURNING {BATCH_COLUMNS}"
    )))
    .bind(program_id)
    .bind(pool_id)
    .bind(product_id)
    .bind(quantity)
    .bind(created_by)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(batch)
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id, batch_id = ?batch_id))]
pub async fn batch(db: &Db, program_id: i64, batch_id: i64) -> ApiResult<CodeBatch> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {BATCH_COLUMNS} FROM code_batches WHERE id = $1 AND program_id = $2"
    )))
    .bind(batch_id)
    .bind(program_id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("code batch {batch_id}")))
}

/// Where the keyset walk over a batch's codes stands.
enum CsvCursor {
    Header,
    After(i64),
    End,
}

/// The batch's codes as CSV lines `code,qr_payload` after a header, read one page of
/// `page_size` codes at a time by keyset (`id > last`), so memory holds one page however
/// big the batch is.
pub fn csv_lines(
    db: Db,
    batch_id: i64,
    page_size: i64,
) -> impl Stream<Item = Result<Bytes, sqlx::Error>> {
    let page_size = page_size.max(1);
    futures_util::stream::try_unfold(CsvCursor::Header, move |cursor| {
        let db = db.clone();
        async move {
            let last = match cursor {
                CsvCursor::Header => {
                    return Ok(Some((
                        Bytes::from_static(CSV_HEADER.as_bytes()),
                        CsvCursor::After(0),
                    )));
                }
                CsvCursor::End => return Ok(None),
                CsvCursor::After(last) => last,
            };
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, code FROM codes WHERE batch_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            )
            .bind(batch_id)
            .bind(last)
            .bind(page_size)
            .fetch_all(&db.pool)
            .await?;
            let Some(&(last_id, _)) = rows.last() else {
                return Ok(None);
            };
            let mut page = String::with_capacity(rows.len() * (2 * 11 + QR_PREFIX.len() + 2));
            for (_, code) in &rows {
                page.push_str(code);
                page.push(',');
                page.push_str(QR_PREFIX);
                page.push_str(code);
                page.push('\n');
            }
            let next = if (rows.len() as i64) < page_size {
                CsvCursor::End
            } else {
                CsvCursor::After(last_id)
            };
            Ok(Some((Bytes::from(page), next)))
        }
    })
}

//! The code pool in SQL: what the `CodegenSupervisor` and its workers read and write.
//!
//! Every chunk is one transaction that checks the worker still holds its shard (owner
//! and `done` as the worker last saw it), inserts the codes with `ON CONFLICT (code) DO
//! NOTHING`, and adds exactly the inserted count to the shard's `done` and the pool's
//! `available`. Inserting has a fast path per backend, behind [`SqlCodegen::insert_codes`]:
//! PostgreSQL `COPY`s the chunk into a temporary table and moves it over with one
//! `INSERT … SELECT` (the `Any` driver cannot `COPY`, so this uses a `PgPool` of its own
//! on the same URL); SQLite takes multi-row `INSERT`s in the chunk's transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use stimul_actors::error::StorageError;

use async_trait::async_trait;
use chrono_tz::Tz;
use sqlx::FromRow;
use sqlx::postgres::{PgPool, PgPoolOptions};
use stimul_actors::codegen::{BatchProgress, ChunkError, CodegenStore, PoolCheck, ShardClaim};
use stimul_actors::rules::codes::{CodeShard, ProductCode};
use stimul_actors::rules::refill::{PoolLevel, RefillTrigger, split_quota};

use crate::db::{Backend, Clock, Db};
use crate::metrics::Metrics;

/// Renews the claim's lease in the chunk's transaction if the claim still holds the shard
/// at the progress it knows; returns early with [`ChunkError::LeaseLost`] otherwise.
/// A macro because the chunk's transaction is `Any` on SQLite and `Postgres` for `COPY`.
macro_rules! hold_shard {
    ($tx:expr, $claim:expr, $lease_until:expr) => {
        if sqlx::query(RENEW_LEASE)
            .bind($lease_until)
            .bind($claim.refill_id)
            .bind($claim.shard.index() as i64)
            .bind(&$claim.owner)
            .bind($claim.done)
            .execute(&mut *$tx)
            .await
            .map_err(storage)?
            .rows_affected()
            == 0
        {
            return Err(ChunkError::LeaseLost);
        }
    };
}

/// Adds the codes a chunk really inserted to its shard's progress and its pool's level,
/// in the chunk's transaction (either backend, as [`hold_shard`]).
macro_rules! record_inserted {
    ($tx:expr, $claim:expr, $inserted:expr) => {
        sqlx::query(ADD_DONE)
            .bind($inserted)
            .bind($claim.refill_id)
            .bind($claim.shard.index() as i64)
            .execute(&mut *$tx)
            .await
            .map_err(storage)?;
        sqlx::query(ADD_AVAILABLE)
            .bind($inserted)
            .bind($claim.pool_id)
            .execute(&mut *$tx)
            .await
            .map_err(storage)?;
    };
}

const RENEW_LEASE: &str = "UPDATE code_refill_shards SET lease_until = $1 WHERE refill_id = $2 AND shard = $3 AND owner = $4 AND done = $5";
const ADD_DONE: &str =
    "UPDATE code_refill_shards SET done = done + $1 WHERE refill_id = $2 AND shard = $3";
const ADD_AVAILABLE: &str = "UPDATE code_pools SET available = available + $1 WHERE id = $2";

/// Rows per multi-row `INSERT` on SQLite: 1,000 rows bind 1,003 values, far below
/// SQLite's limit of 32,766, and the statement text is prepared once per connection.
const SQLITE_ROWS_PER_INSERT: usize = 1_000;

/// Counting a big pool's codes by status is an index scan over millions of rows, so the
/// metric of counts by status is refreshed at most this often (the status API counts on
/// every call).
const STATUS_COUNTS_EVERY_MS: i64 = 300_000;

pub struct SqlCodegen {
    db: Db,
    /// PostgreSQL only: a small pool for `COPY`.
    pg: Option<PgPool>,
    clock: Clock,
    metrics: Option<Metrics>,
    status_counted_at: AtomicI64,
}

impl SqlCodegen {
    /// `database_url` is the URL `db` was opened with (PostgreSQL opens its `COPY` pool
    /// from it lazily, with `connections` connections at most).
    pub fn new(
        db: Db,
        database_url: &str,
        connections: u32,
        clock: Clock,
        metrics: Option<Metrics>,
    ) -> anyhow::Result<Arc<Self>> {
        let pg = match db.backend {
            Backend::Postgres => Some(
                PgPoolOptions::new()
                    .max_connections(connections.max(1))
                    .acquire_timeout(std::time::Duration::from_secs(30))
                    .connect_lazy(database_url)?,
            ),
            Backend::Sqlite => None,
        };
        Ok(Arc::new(Self {
            db,
            pg,
            clock,
            metrics,
            status_counted_at: AtomicI64::new(i64::MIN / 2),
        }))
    }

    fn for_update(&self) -> &'static str {
        match self.db.backend {
            Backend::Postgres => " FOR UPDATE",
            // SQLite: `BEGIN IMMEDIATE` already holds the only write lock.
            Backend::Sqlite => "",
        }
    }

    fn skip_locked(&self) -> &'static str {
        match self.db.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        }
    }

    /// Inserts one chunk for `claim` in one transaction; see the module header.
    async fn insert_codes(
        &self,
        claim: &ShardClaim,
        codes: &[ProductCode],
        lease_until: i64,
    ) -> Result<i64, ChunkError> {
        let now = self.clock.now_ms();
        match &self.pg {
            Some(pg) => copy_chunk(pg, claim, codes, lease_until, now).await,
            None => {
                self.insert_chunk_sqlite(claim, codes, lease_until, now)
                    .await
            }
        }
    }

    async fn insert_chunk_sqlite(
        &self,
        claim: &ShardClaim,
        codes: &[ProductCode],
        lease_until: i64,
        now: i64,
    ) -> Result<i64, ChunkError> {
        let mut tx = self.db.begin().await.map_err(storage)?;
        hold_shard!(tx, claim, lease_until);
        let mut inserted = 0_i64;
        for rows in codes.chunks(SQLITE_ROWS_PER_INSERT) {
            let mut sql = String::with_capacity(64 + rows.len() * 24);
            sql.push_str(
                "INSERT INTO codes (code, pool_id, status, refill_id, created_at) VALUES ",
            );
            for i in 0..rows.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                // $1..$3 are shared by every row; the codes are $4 onwards.
                sql.push_str(&format!("(${}, $1, 'pool', $2, $3)", i + 4));
            }
            sql.push_str(" ON CONFLICT (code) DO NOTHING");
            let query = rows.iter().fold(
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(claim.pool_id)
                    .bind(claim.refill_id)
                    .bind(now),
                |query, code| query.bind(code.as_str().to_string()),
            );
            inserted += query
                .execute(&mut *tx)
                .await
                .map_err(storage)?
                .rows_affected() as i64;
        }
        record_inserted!(tx, claim, inserted);
        tx.commit().await.map_err(storage)?;
        Ok(inserted)
    }

    /// Marks running refills whose every shard is done as done. Looks before it writes:
    /// this runs on every check, and a write would queue behind SQLite's one writer.
    async fn complete_refills(&self, refill_id: Option<i64>, now: i64) -> Result<(), sqlx::Error> {
        let mut finished = crate::db::Sql::new(
            "SELECT id FROM code_refills WHERE status = 'running' AND NOT EXISTS (SELECT 1 FROM code_refill_shards s WHERE s.refill_id = code_refills.id AND s.done < s.quota)",
        );
        if let Some(refill_id) = refill_id {
            finished.push(" AND id = ").bind(refill_id);
        }
        let ids: Vec<i64> = finished
            .query_as::<(i64,)>()
            .fetch_all(&self.db.pool)
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let mut update =
            crate::db::Sql::new("UPDATE code_refills SET status = 'done', finished_at = ");
        update
            .bind(now)
            .push(" WHERE status = 'running' AND id IN ")
            .bind_list(ids.iter().copied());
        update.query().execute(&self.db.pool).await?;
        Ok(())
    }

    /// Exports pool levels, what running refills still miss and (now and then) the
    /// codes by status as gauges.
    async fn export_gauges(&self, pools: &[PoolCheck], now: i64) -> Result<(), sqlx::Error> {
        let Some(metrics) = &self.metrics else {
            return Ok(());
        };
        for pool in pools {
            metrics
                .code_pool_available
                .with_label_values(&[pool.pool_id.to_string().as_str()])
                .set(pool.level.available);
        }
        let remaining: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT r.pool_id, CAST(COALESCE(SUM(s.quota - s.done), 0) AS BIGINT) FROM code_refills r
             JOIN code_refill_shards s ON s.refill_id = r.id WHERE r.status = 'running' GROUP BY r.pool_id",
        )
        .fetch_all(&self.db.pool)
        .await?;
        for pool in pools {
            let left = remaining
                .iter()
                .find(|(id, _)| *id == pool.pool_id)
                .map_or(0, |(_, left)| *left);
            metrics
                .code_refill_remaining
                .with_label_values(&[pool.pool_id.to_string().as_str()])
                .set(left);
        }
        let last = self.status_counted_at.load(Ordering::Relaxed);
        if now - last >= STATUS_COUNTS_EVERY_MS {
            self.status_counted_at.store(now, Ordering::Relaxed);
            let counts: Vec<(i64, String, i64)> = sqlx::query_as(
                "SELECT pool_id, status, COUNT(*) FROM codes GROUP BY pool_id, status",
            )
            .fetch_all(&self.db.pool)
            .await?;
            for (pool_id, status, count) in counts {
                metrics
                    .code_pool_codes
                    .with_label_values(&[pool_id.to_string().as_str(), status.as_str()])
                    .set(count);
            }
        }
        Ok(())
    }
}

fn storage(err: sqlx::Error) -> ChunkError {
    ChunkError::Storage(StorageError::from_cause(err))
}

/// PostgreSQL's fast path: `COPY` into a temporary table, then one `INSERT … SELECT`
/// that skips codes that already exist, all in the chunk's transaction.
#[tracing::instrument(skip_all, fields(lease_until = ?lease_until))]
async fn copy_chunk(
    pg: &PgPool,
    claim: &ShardClaim,
    codes: &[ProductCode],
    lease_until: i64,
    now: i64,
) -> Result<i64, ChunkError> {
    let mut tx = pg.begin().await.map_err(storage)?;
    hold_shard!(tx, claim, lease_until);
    // ON COMMIT DROP: a fresh table per chunk, so nothing lingers on a pooled connection.
    sqlx::query("CREATE TEMPORARY TABLE codegen_incoming (code TEXT NOT NULL) ON COMMIT DROP")
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
    // Text format: one code per line; codes are letters only, so nothing needs escaping.
    let mut data = Vec::with_capacity(codes.len() * 12);
    for code in codes {
        data.extend_from_slice(code.as_str().as_bytes());
        data.push(b'\n');
    }
    let mut copy = tx
        .copy_in_raw("COPY codegen_incoming (code) FROM STDIN")
        .await
        .map_err(storage)?;
    copy.send(data).await.map_err(storage)?;
    copy.finish().await.map_err(storage)?;
    let inserted = sqlx::query(
        "INSERT INTO codes (code, pool_id, status, refill_id, created_at)
         SELECT code, $1, 'pool', $2, $3 FROM codegen_incoming ON CONFLICT (code) DO NOTHING",
    )
    .bind(claim.pool_id)
    .bind(claim.refill_id)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(storage)?
    .rows_affected() as i64;
    record_inserted!(tx, claim, inserted);
    tx.commit().await.map_err(storage)?;
    Ok(inserted)
}

fn text(err: sqlx::Error) -> StorageError {
    StorageError::from_cause(err)
}

/// A pool with its level and its program's time zone.
#[derive(FromRow)]
struct PoolRow {
    id: i64,
    timezone: String,
    target_size: i64,
    low_watermark: i64,
    available: i64,
    /// Refills of the pool still running.
    running: i64,
}

/// A shard of a running refill with codes still to make.
#[derive(FromRow)]
struct ShardRow {
    refill_id: i64,
    shard: i64,
    quota: i64,
    done: i64,
    pool_id: i64,
    shard_count: i64,
}

#[async_trait]
impl CodegenStore for SqlCodegen {
    async fn pools(&self, now: i64) -> Result<Vec<PoolCheck>, StorageError> {
        self.complete_refills(None, now).await.map_err(text)?;
        let rows: Vec<PoolRow> = sqlx::query_as(
            "SELECT p.id, pr.timezone, p.target_size, p.low_watermark, p.available,
                    (SELECT COUNT(*) FROM code_refills r WHERE r.pool_id = p.id AND r.status = 'running') AS running
             FROM code_pools p JOIN programs pr ON pr.id = p.program_id ORDER BY p.id",
        )
        .fetch_all(&self.db.pool)
        .await
        .map_err(text)?;
        let mut pools = Vec::with_capacity(rows.len());
        for row in rows {
            let pool_id = row.id;
            let timezone = row.timezone;
            pools.push(PoolCheck {
                pool_id,
                timezone: timezone.parse::<Tz>().unwrap_or_else(|_| {
                    tracing::warn!(pool_id, timezone, "unknown program time zone; using UTC");
                    Tz::UTC
                }),
                level: PoolLevel {
                    target_size: row.target_size,
                    low_watermark: row.low_watermark,
                    available: row.available,
                },
                refilling: row.running > 0,
            });
        }
        if let Err(err) = self.export_gauges(&pools, now).await {
            tracing::warn!(error = %err, "exporting code pool gauges failed");
        }
        Ok(pools)
    }

    async fn plan_refill(
        &self,
        pool_id: i64,
        trigger: RefillTrigger,
        shards: u64,
        now: i64,
    ) -> Result<Option<i64>, StorageError> {
        let attempt = async {
            let mut tx = self.db.begin().await?;
            // Locks the pool: orders reserving codes wait, so the deficit stays true.
            let level: Option<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT target_size, available FROM code_pools WHERE id = $1{}",
                self.for_update()
            )))
            .bind(pool_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((target, available)) = level else {
                return Ok(None);
            };
            let running: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM code_refills WHERE pool_id = $1 AND status = 'running'",
            )
            .bind(pool_id)
            .fetch_optional(&mut *tx)
            .await?;
            let deficit = target - available;
            if running.is_some() || deficit <= 0 {
                return Ok(None);
            }
            let refill_id: i64 = sqlx::query_scalar(
                "INSERT INTO code_refills (pool_id, trigger_kind, requested, shard_count, status, started_at)
                 VALUES ($1, $2, $3, $4, 'running', $5) RETURNING id",
            )
            .bind(pool_id)
            .bind(trigger.as_str())
            .bind(deficit)
            .bind(shards as i64)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            for (shard, quota) in split_quota(deficit as u64, shards).into_iter().enumerate() {
                if quota == 0 {
                    continue;
                }
                sqlx::query(
                    "INSERT INTO code_refill_shards (refill_id, shard, quota, done) VALUES ($1, $2, $3, 0)",
                )
                .bind(refill_id)
                .bind(shard as i64)
                .bind(quota as i64)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(refill_id))
        };
        match attempt.await {
            Ok(planned) => Ok(planned),
            // Another node planned one at the same moment: the index kept it to one.
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(None),
            Err(err) => Err(StorageError::from_cause(err)),
        }
    }

    async fn claim_shard(
        &self,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<ShardClaim>, StorageError> {
        let attempt = async {
            let mut tx = self.db.begin().await?;
            let candidate: Option<ShardRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT s.refill_id, s.shard, s.quota, s.done, r.pool_id, r.shard_count
                 FROM code_refill_shards s JOIN code_refills r ON r.id = s.refill_id
                 WHERE r.status = 'running' AND s.done < s.quota AND (s.owner IS NULL OR s.lease_until < $1)
                 ORDER BY s.refill_id, s.shard LIMIT 1{}",
                match self.db.backend {
                    Backend::Postgres => " FOR UPDATE OF s SKIP LOCKED",
                    Backend::Sqlite => "",
                }
            )))
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = candidate else {
                return Ok(None);
            };
            let refill_id = row.refill_id;
            let shard = row.shard;
            let taken = sqlx::query(
                "UPDATE code_refill_shards SET owner = $1, lease_until = $2
                 WHERE refill_id = $3 AND shard = $4 AND (owner IS NULL OR lease_until < $5)",
            )
            .bind(owner)
            .bind(lease_until)
            .bind(refill_id)
            .bind(shard)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            if taken == 0 {
                return Ok(None);
            }
            let code_shard = CodeShard::new(shard as u64, row.shard_count as u64)
                .map_err(|e| sqlx::Error::Decode(e.to_string().into()))?;
            Ok::<_, sqlx::Error>(Some(ShardClaim {
                refill_id,
                pool_id: row.pool_id,
                shard: code_shard,
                quota: row.quota,
                done: row.done,
                owner: owner.to_string(),
            }))
        };
        attempt.await.map_err(text)
    }

    async fn insert_chunk(
        &self,
        claim: &ShardClaim,
        codes: &[ProductCode],
        lease_until: i64,
    ) -> Result<i64, ChunkError> {
        let inserted = self.insert_codes(claim, codes, lease_until).await?;
        if let Some(metrics) = &self.metrics {
            metrics.codes_generated.inc_by(inserted as u64);
            let rejected = codes.len() as u64 - inserted as u64;
            if rejected > 0 {
                metrics.codes_regenerated.inc_by(rejected);
            }
        }
        Ok(inserted)
    }

    async fn release_shard(&self, claim: &ShardClaim, now: i64) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE code_refill_shards SET owner = NULL, lease_until = NULL WHERE refill_id = $1 AND shard = $2 AND owner = $3",
        )
        .bind(claim.refill_id)
        .bind(claim.shard.index() as i64)
        .bind(&claim.owner)
        .execute(&self.db.pool)
        .await
        .map_err(text)?;
        self.complete_refills(Some(claim.refill_id), now)
            .await
            .map_err(text)
    }

    async fn issue_chunk(&self, batch_id: i64, limit: i64) -> Result<BatchProgress, StorageError> {
        let attempt = async {
            let mut tx = self.db.begin().await?;
            // Locks the batch: two nodes resuming it take turns, each moving what is left.
            let batch: (i64, i64, i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT pool_id, product_id, quantity, issued FROM code_batches WHERE id = $1{}",
                self.for_update()
            )))
            .bind(batch_id)
            .fetch_one(&mut *tx)
            .await?;
            let (pool_id, product_id, quantity, issued) = batch;
            let wanted = (quantity - issued).min(limit);
            if wanted <= 0 {
                return Ok((BatchProgress { issued, quantity }, 0));
            }
            let moved = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE codes SET status = 'issued', batch_id = $1, product_id = $2
                 WHERE id IN (SELECT id FROM codes WHERE pool_id = $3 AND status = 'pool' ORDER BY id LIMIT $4{})",
                self.skip_locked()
            )))
            .bind(batch_id)
            .bind(product_id)
            .bind(pool_id)
            .bind(wanted)
            .execute(&mut *tx)
            .await?
            .rows_affected() as i64;
            if moved == 0 {
                return Err(sqlx::Error::Protocol(format!(
                    "pool {pool_id} has no codes left for batch {batch_id}"
                )));
            }
            sqlx::query(
                "UPDATE code_batches SET issued = issued + $1,
                     status = CASE WHEN issued + $1 >= quantity THEN 'issued' ELSE 'issuing' END
                 WHERE id = $2",
            )
            .bind(moved)
            .bind(batch_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>((
                BatchProgress {
                    issued: issued + moved,
                    quantity,
                },
                moved,
            ))
        };
        let (progress, moved) = attempt.await.map_err(text)?;
        if let Some(metrics) = &self.metrics {
            metrics.codes_issued.inc_by(moved as u64);
        }
        Ok(progress)
    }

    async fn unfinished_batches(&self) -> Result<Vec<i64>, StorageError> {
        sqlx::query_scalar("SELECT id FROM code_batches WHERE status = 'issuing' ORDER BY id")
            .fetch_all(&self.db.pool)
            .await
            .map_err(text)
    }
}

//! The moderation queue in SQL: claims (with `FOR UPDATE SKIP LOCKED` on PostgreSQL so
//! two nodes never claim one item), releases, lease expiry and statistics.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;
use stimul_actors::error::StorageError;
use stimul_actors::moderation::{Assign, ItemView, ModerationStore, QueueStats};
use stimul_actors::rules::routing::ItemStatus;
use stimul_actors::rules::routing::{Item, ItemKind};

use crate::access::Visibility;
use crate::access::scoped::{ScopeColumns, restrict_to};
use crate::db::{Backend, Db, Sql};

pub const ITEM_COLUMNS: &str = "id, kind, subject_id, participant_id, store_id, region_id, summary, created_at, assigned_to, lease_expires_at";

pub fn item_from_row(row: &AnyRow) -> Result<ItemView, sqlx::Error> {
    let kind: String = row.try_get(1)?;
    let summary: String = row.try_get(6)?;
    Ok(ItemView {
        id: row.try_get(0)?,
        kind: kind
            .parse()
            .map_err(|e: stimul_actors::rules::routing::UnknownItemKind| {
                sqlx::Error::Decode(e.to_string().into())
            })?,
        subject_id: row.try_get(2)?,
        participant_id: row.try_get(3)?,
        store_id: row.try_get(4)?,
        region_id: row.try_get(5)?,
        summary: serde_json::from_str(&summary).unwrap_or(serde_json::Value::Null),
        created_at: row.try_get(7)?,
        assigned_to: row.try_get(8)?,
        lease_expires_at: row.try_get(9)?,
    })
}

/// What a listing of the queue and its history asks for.
pub struct ItemQuery<'a> {
    pub program_id: i64,
    /// Only items in the caller's regions and stores.
    pub visibility: &'a Visibility,
    /// `queued`, `assigned`, `decided` or `withdrawn`.
    pub status: Option<&'a str>,
    pub kind: Option<ItemKind>,
    pub after: i64,
    pub limit: i64,
}

/// Items by id, as far as the caller's scope reaches.
#[tracing::instrument(skip_all)]
pub async fn items(db: &Db, query: &ItemQuery<'_>) -> Result<Vec<ItemView>, sqlx::Error> {
    let mut sql = Sql::default();
    restrict_to(
        &mut sql,
        query.program_id,
        query.visibility,
        &ScopeColumns {
            program: "program_id",
            region: Some("region_id"),
            partner: None,
            brand: None,
            store: Some("store_id"),
        },
    );
    let after = sql.placeholder(query.after);
    sql.and_where(format!("id > {after}"));
    if let Some(status) = query.status {
        let p = sql.placeholder(status.to_string());
        sql.and_where(format!("status = {p}"));
    }
    if let Some(kind) = query.kind {
        let p = sql.placeholder(kind.as_str());
        sql.and_where(format!("kind = {p}"));
    }
    let limit = sql.placeholder(query.limit);
    sql.push(&format!("SELECT {ITEM_COLUMNS} FROM moderation_items"))
        .push_where()
        .push(&format!(" ORDER BY id LIMIT {limit}"));
    let rows = sql.query().fetch_all(&db.pool).await?;
    rows.iter().map(item_from_row).collect()
}

pub struct SqlModeration {
    pub db: Db,
}

impl SqlModeration {
    fn skip_locked(&self) -> &'static str {
        match self.db.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            // SQLite: the write transaction already holds the only write lock.
            Backend::Sqlite => "",
        }
    }

    async fn requeue(&self, sql_filter: &str, bind: i64) -> Result<Vec<ItemView>, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ITEM_COLUMNS} FROM moderation_items WHERE status = 'assigned' AND {sql_filter} ORDER BY id{}",
            self.skip_locked()
        )))
        .bind(bind)
        .fetch_all(&mut *tx)
        .await?;
        let items: Vec<ItemView> = rows.iter().map(item_from_row).collect::<Result<_, _>>()?;
        if !items.is_empty() {
            let mut update = Sql::new(
                "UPDATE moderation_items SET status = 'queued', assigned_to = NULL, assigned_at = NULL, lease_expires_at = NULL WHERE status = 'assigned' AND id IN ",
            );
            update.bind_list(items.iter().map(|i| i.id));
            update.query().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(items)
    }
}

#[async_trait]
impl ModerationStore for SqlModeration {
    async fn claim(
        &self,
        program_id: i64,
        limit: i64,
        now: i64,
        lease_until: i64,
        assign: std::sync::Arc<Assign>,
    ) -> Result<Vec<(ItemView, i64)>, StorageError> {
        let attempt = async {
            let mut tx = self.db.begin().await?;
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT id, kind, region_id, priority_at FROM moderation_items WHERE program_id = $1 AND status = 'queued'
                 ORDER BY priority_at, id LIMIT $2{}",
                self.skip_locked()
            )))
            .bind(program_id)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
            let mut candidates = Vec::with_capacity(rows.len());
            for row in &rows {
                let kind: String = row.try_get(1)?;
                let Ok(kind) = kind.parse::<ItemKind>() else {
                    continue;
                };
                // The stored priority already includes the kind's boost.
                candidates.push(Item {
                    id: row.try_get(0)?,
                    kind,
                    region_id: row.try_get(2)?,
                    created_at_ms: row.try_get(3)?,
                });
            }
            let mut claimed = Vec::new();
            for (item_id, moderator_id) in assign(&candidates) {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE moderation_items SET status = 'assigned', assigned_to = $1, assigned_at = $2, lease_expires_at = $3,
                            assignments = assignments + 1
                     WHERE id = $4 AND status = 'queued' RETURNING {ITEM_COLUMNS}"
                )))
                .bind(moderator_id)
                .bind(now)
                .bind(lease_until)
                .bind(item_id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(row) = row {
                    claimed.push((item_from_row(&row)?, moderator_id));
                }
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(claimed)
        };
        attempt.await.map_err(StorageError::from_cause)
    }

    async fn held(&self, moderator_id: i64) -> Result<Vec<ItemView>, StorageError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ITEM_COLUMNS} FROM moderation_items WHERE assigned_to = $1 AND status = 'assigned' ORDER BY priority_at, id")))
            .bind(moderator_id)
            .fetch_all(&self.db.pool)
            .await
            .map_err(StorageError::from_cause)?;
        rows.iter()
            .map(item_from_row)
            .collect::<Result<_, _>>()
            .map_err(StorageError::from_cause)
    }

    async fn release(&self, moderator_id: i64) -> Result<Vec<ItemView>, StorageError> {
        self.requeue("assigned_to = $1", moderator_id)
            .await
            .map_err(StorageError::from_cause)
    }

    async fn expire_leases(&self, now: i64) -> Result<Vec<ItemView>, StorageError> {
        self.requeue("lease_expires_at <= $1", now)
            .await
            .map_err(StorageError::from_cause)
    }

    async fn stats(&self, program_id: i64, now: i64) -> Result<QueueStats, StorageError> {
        let attempt = async {
            let mut stats = QueueStats {
                program_id,
                ..QueueStats::default()
            };
            let counts = sqlx::query("SELECT kind, status, COUNT(*), MIN(created_at) FROM moderation_items WHERE program_id = $1 AND status IN ('queued', 'assigned') GROUP BY kind, status")
                .bind(program_id)
                .fetch_all(&self.db.pool)
                .await?;
            let mut oldest = None;
            for row in counts {
                let kind: String = row.try_get(0)?;
                let status: ItemStatus = crate::db::stored(&row, 1)?;
                let count: i64 = row.try_get(2)?;
                let first: Option<i64> = row.try_get(3)?;
                if status == ItemStatus::Queued {
                    stats.queued.insert(kind, count);
                    oldest = oldest.min(first).or(first);
                } else {
                    stats.assigned += count;
                }
            }
            stats.oldest_queued_ms = oldest.map_or(0, |first| (now - first).max(0));
            let hour_ago = now - 3_600_000;
            let per_moderator = sqlx::query("SELECT decided_by, COUNT(*) FROM moderation_items WHERE program_id = $1 AND decided_at >= $2 AND decided_by IS NOT NULL GROUP BY decided_by")
                .bind(program_id)
                .bind(hour_ago)
                .fetch_all(&self.db.pool)
                .await?;
            for row in per_moderator {
                let moderator: i64 = row.try_get(0)?;
                stats
                    .decisions_last_hour
                    .insert(moderator.to_string(), row.try_get(1)?);
            }
            let mut durations: Vec<i64> = sqlx::query_scalar("SELECT decided_at - created_at FROM moderation_items WHERE program_id = $1 AND decided_at >= $2 ORDER BY decided_at DESC LIMIT 10000")
                .bind(program_id)
                .bind(hour_ago)
                .fetch_all(&self.db.pool)
                .await?;
            durations.sort_unstable();
            stats.time_to_decision_p50_ms = percentile(&durations, 50);
            stats.time_to_decision_p95_ms = percentile(&durations, 95);
            Ok::<_, sqlx::Error>(stats)
        };
        attempt.await.map_err(StorageError::from_cause)
    }
}

/// The `p`-th percentile of sorted values (nearest rank); 0 for none.
pub fn percentile(sorted: &[i64], p: usize) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len()).div_ceil(100).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Moderation storage calls run on the server's runtime, never on the actor's thread:
/// a claim's transaction dropped with a stopping actor thread would otherwise return
/// its connection without a runtime and abort the process.
#[async_trait]
impl<S: ModerationStore> ModerationStore for crate::db::OnServerRuntime<S> {
    async fn claim(
        &self,
        program_id: i64,
        limit: i64,
        now: i64,
        lease_until: i64,
        assign: std::sync::Arc<Assign>,
    ) -> Result<Vec<(ItemView, i64)>, StorageError> {
        self.run(move |s| async move { s.claim(program_id, limit, now, lease_until, assign).await })
            .await?
    }

    async fn held(&self, moderator_id: i64) -> Result<Vec<ItemView>, StorageError> {
        self.run(move |s| async move { s.held(moderator_id).await })
            .await?
    }

    async fn release(&self, moderator_id: i64) -> Result<Vec<ItemView>, StorageError> {
        self.run(move |s| async move { s.release(moderator_id).await })
            .await?
    }

    async fn expire_leases(&self, now: i64) -> Result<Vec<ItemView>, StorageError> {
        self.run(move |s| async move { s.expire_leases(now).await })
            .await?
    }

    async fn stats(&self, program_id: i64, now: i64) -> Result<QueueStats, StorageError> {
        self.run(move |s| async move { s.stats(program_id, now).await })
            .await?
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50), 50);
        assert_eq!(percentile(&values, 95), 95);
        assert_eq!(percentile(&[7], 95), 7);
        assert_eq!(percentile(&[], 50), 0);
    }
}

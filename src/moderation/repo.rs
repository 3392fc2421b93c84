//! The moderation queue in SQL: claims (with `FOR UPDATE SKIP LOCKED` on PostgreSQL so
//! two nodes never claim one item), releases, lease expiry and statistics.

use async_trait::async_trait;
use sqlx::FromRow;
use sqlx::any::AnyRow;
use stimul_actors::error::StorageError;
use stimul_actors::moderation::{Assign, ItemView, ModerationStore, QueueStats};
use stimul_actors::rules::routing::ItemStatus;
use stimul_actors::rules::routing::{Item, ItemKind};

use crate::access::Visibility;
use crate::access::scoped::{ScopeColumns, restrict_to};
use crate::db::{Backend, Db, Sql};

pub const ITEM_COLUMNS: &str = "id, kind, subject_id, participant_id, store_id, region_id, summary, created_at, assigned_to, lease_expires_at";

/// A queue item as stored ([`ITEM_COLUMNS`]).
#[derive(FromRow)]
pub struct ItemRow {
    id: i64,
    kind: String,
    subject_id: i64,
    participant_id: Option<i64>,
    store_id: Option<i64>,
    region_id: Option<i64>,
    /// JSON.
    summary: String,
    created_at: i64,
    assigned_to: Option<i64>,
    lease_expires_at: Option<i64>,
}

impl TryFrom<ItemRow> for ItemView {
    type Error = sqlx::Error;

    fn try_from(row: ItemRow) -> Result<ItemView, sqlx::Error> {
        Ok(ItemView {
            id: row.id,
            kind: row.kind.parse().map_err(
                |e: stimul_actors::rules::routing::UnknownItemKind| {
                    sqlx::Error::Decode(e.to_string().into())
                },
            )?,
            subject_id: row.subject_id,
            participant_id: row.participant_id,
            store_id: row.store_id,
            region_id: row.region_id,
            summary: serde_json::from_str(&row.summary).unwrap_or(serde_json::Value::Null),
            created_at: row.created_at,
            assigned_to: row.assigned_to,
            lease_expires_at: row.lease_expires_at,
        })
    }
}

/// Decodes a row of [`ITEM_COLUMNS`] by column name.
pub fn item_from_row(row: &AnyRow) -> Result<ItemView, sqlx::Error> {
    ItemRow::from_row(row)?.try_into()
}

/// An item waiting in the queue, as the claim's routing sees it.
#[derive(FromRow)]
struct CandidateRow {
    id: i64,
    kind: String,
    region_id: Option<i64>,
    /// Creation time with the kind's boost.
    priority_at: i64,
}

/// Open items of one kind and status.
#[derive(FromRow)]
struct OpenCountRow {
    kind: String,
    #[sqlx(try_from = "String")]
    status: ItemStatus,
    items: i64,
    oldest_at: Option<i64>,
}

/// Decisions of one moderator.
#[derive(FromRow)]
struct DecisionCountRow {
    decided_by: i64,
    decisions: i64,
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
        let rows: Vec<ItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ITEM_COLUMNS} FROM moderation_items WHERE status = 'assigned' AND {sql_filter} ORDER BY id{}",
            self.skip_locked()
        )))
        .bind(bind)
        .fetch_all(&mut *tx)
        .await?;
        let items: Vec<ItemView> = rows
            .into_iter()
            .map(ItemView::try_from)
            .collect::<Result<_, _>>()?;
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
            let rows: Vec<CandidateRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT id, kind, region_id, priority_at FROM moderation_items WHERE program_id = $1 AND status = 'queued'
                 ORDER BY priority_at, id LIMIT $2{}",
                self.skip_locked()
            )))
            .bind(program_id)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
            let mut candidates = Vec::with_capacity(rows.len());
            for row in rows {
                let Ok(kind) = row.kind.parse::<ItemKind>() else {
                    continue;
                };
                // The stored priority already includes the kind's boost.
                candidates.push(Item {
                    id: row.id,
                    kind,
                    region_id: row.region_id,
                    created_at_ms: row.priority_at,
                });
            }
            let mut claimed = Vec::new();
            for (item_id, moderator_id) in assign(&candidates) {
                let row: Option<ItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
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
                    claimed.push((row.try_into()?, moderator_id));
                }
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(claimed)
        };
        attempt.await.map_err(StorageError::from_cause)
    }

    async fn held(&self, moderator_id: i64) -> Result<Vec<ItemView>, StorageError> {
        let rows: Vec<ItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {ITEM_COLUMNS} FROM moderation_items WHERE assigned_to = $1 AND status = 'assigned' ORDER BY priority_at, id")))
            .bind(moderator_id)
            .fetch_all(&self.db.pool)
            .await
            .map_err(StorageError::from_cause)?;
        rows.into_iter()
            .map(ItemView::try_from)
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
            let counts: Vec<OpenCountRow> = sqlx::query_as("SELECT kind, status, COUNT(*) AS items, MIN(created_at) AS oldest_at FROM moderation_items WHERE program_id = $1 AND status IN ('queued', 'assigned') GROUP BY kind, status")
                .bind(program_id)
                .fetch_all(&self.db.pool)
                .await?;
            let mut oldest = None;
            for row in counts {
                let count = row.items;
                let first = row.oldest_at;
                if row.status == ItemStatus::Queued {
                    stats.queued.insert(row.kind, count);
                    oldest = oldest.min(first).or(first);
                } else {
                    stats.assigned += count;
                }
            }
            stats.oldest_queued_ms = oldest.map_or(0, |first| (now - first).max(0));
            let hour_ago = now - 3_600_000;
            let per_moderator: Vec<DecisionCountRow> = sqlx::query_as("SELECT decided_by, COUNT(*) AS decisions FROM moderation_items WHERE program_id = $1 AND decided_at >= $2 AND decided_by IS NOT NULL GROUP BY decided_by")
                .bind(program_id)
                .bind(hour_ago)
                .fetch_all(&self.db.pool)
                .await?;
            for row in per_moderator {
                stats
                    .decisions_last_hour
                    .insert(row.decided_by.to_string(), row.decisions);
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

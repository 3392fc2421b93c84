//! What campaign leaderboards are built from: each participant's earned points in the
//! campaign within a window, summed from the ledger, with their name, store and region.

use async_trait::async_trait;
use sqlx::Row;
use stimul_actors::campaign::{CampaignInfo, LeaderboardStore, Ranking, ScoreRow};
use stimul_actors::error::StorageError;

use crate::db::Db;

/// A campaign as its boards need it, read by column name.
#[derive(sqlx::FromRow)]
struct CampaignRow {
    program_id: i64,
    timezone: String,
    starts_at: i64,
    ends_at: i64,
    #[sqlx(try_from = "String")]
    ranking: Ranking,
}

pub struct SqlLeaderboards {
    pub db: Db,
}

fn score_row(row: &sqlx::any::AnyRow, with_earnings: bool) -> Result<ScoreRow, sqlx::Error> {
    Ok(ScoreRow {
        participant_id: row.try_get(0)?,
        name: row.try_get(1)?,
        store_id: row.try_get(2)?,
        region_id: row.try_get(3)?,
        plan: row.try_get(4)?,
        earned: if with_earnings { row.try_get(5)? } else { 0 },
        last_at: if with_earnings { row.try_get(6)? } else { 0 },
    })
}

#[async_trait]
impl LeaderboardStore for SqlLeaderboards {
    async fn campaign(&self, campaign_id: i64) -> Result<Option<CampaignInfo>, StorageError> {
        let row: Option<CampaignRow> = sqlx::query_as("SELECT c.program_id, p.timezone, c.starts_at, c.ends_at, c.ranking FROM campaigns c JOIN programs p ON p.id = c.program_id WHERE c.id = $1")
            .bind(campaign_id)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(StorageError::from_cause)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(CampaignInfo {
            campaign_id,
            program_id: row.program_id,
            timezone: row.timezone.parse().map_err(|_| {
                StorageError::message(format!("unknown time zone {:?}", row.timezone))
            })?,
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            ranking: row.ranking,
        }))
    }

    async fn scores(
        &self,
        campaign_id: i64,
        since: i64,
        until: i64,
    ) -> Result<Vec<ScoreRow>, StorageError> {
        let rows = sqlx::query(
            "SELECT t.participant_id, u.name, u.store_id, s.region_id, cp.plan, CAST(SUM(t.earned) AS BIGINT), MAX(t.created_at)
             FROM ledger_transactions t JOIN users u ON u.id = t.participant_id LEFT JOIN stores s ON s.id = u.store_id
             LEFT JOIN campaign_plans cp ON cp.campaign_id = t.campaign_id AND cp.participant_id = t.participant_id
             WHERE t.campaign_id = $1 AND t.created_at >= $2 AND t.created_at < $3 AND t.earned <> 0
             GROUP BY t.participant_id, u.name, u.store_id, s.region_id, cp.plan
             HAVING SUM(t.earned) > 0",
        )
        .bind(campaign_id)
        .bind(since)
        .bind(until)
        .fetch_all(&self.db.pool)
        .await
        .map_err(StorageError::from_cause)?;
        rows.iter()
            .map(|row| score_row(row, true))
            .collect::<Result<_, _>>()
            .map_err(StorageError::from_cause)
    }

    async fn participant(
        &self,
        campaign_id: i64,
        participant_id: i64,
    ) -> Result<Option<ScoreRow>, StorageError> {
        let row = sqlx::query("SELECT u.id, u.name, u.store_id, s.region_id, cp.plan FROM users u LEFT JOIN stores s ON s.id = u.store_id
                               LEFT JOIN campaign_plans cp ON cp.campaign_id = $1 AND cp.participant_id = u.id WHERE u.id = $2")
            .bind(campaign_id)
            .bind(participant_id)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(StorageError::from_cause)?;
        row.map(|row| score_row(&row, false))
            .transpose()
            .map_err(StorageError::from_cause)
    }
}

/// The campaign actors read their boards from their own threads; the reads run on the
/// server's runtime (see [`crate::db::OnServerRuntime`]).
#[async_trait]
impl<S: LeaderboardStore> LeaderboardStore for crate::db::OnServerRuntime<S> {
    async fn campaign(&self, campaign_id: i64) -> Result<Option<CampaignInfo>, StorageError> {
        self.run(move |s| async move { s.campaign(campaign_id).await })
            .await?
    }

    async fn scores(
        &self,
        campaign_id: i64,
        since: i64,
        until: i64,
    ) -> Result<Vec<ScoreRow>, StorageError> {
        self.run(move |s| async move { s.scores(campaign_id, since, until).await })
            .await?
    }

    async fn participant(
        &self,
        campaign_id: i64,
        participant_id: i64,
    ) -> Result<Option<ScoreRow>, StorageError> {
        self.run(move |s| async move { s.participant(campaign_id, participant_id).await })
            .await?
    }
}

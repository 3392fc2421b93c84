//! What campaign leaderboards are built from: each participant's earned points in the
//! campaign within a window, summed from the ledger, with their name, store and region.

use async_trait::async_trait;
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

/// A participant as a board shows them, read by column name.
#[derive(sqlx::FromRow)]
struct EntrantRow {
    participant_id: i64,
    name: String,
    store_id: Option<i64>,
    region_id: Option<i64>,
    /// Personal plan in hundredths.
    plan: Option<i64>,
}

impl EntrantRow {
    fn score(self, earned: i64, last_at: i64) -> ScoreRow {
        ScoreRow {
            participant_id: self.participant_id,
            name: self.name,
            store_id: self.store_id,
            region_id: self.region_id,
            plan: self.plan,
            earned,
            last_at,
        }
    }
}

/// A participant with what they earned in the window, read by column name.
#[derive(sqlx::FromRow)]
struct EarningsRow {
    #[sqlx(flatten)]
    entrant: EntrantRow,
    earned: i64,
    last_at: i64,
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
        let rows: Vec<EarningsRow> = sqlx::query_as(
            "SELECT t.participant_id, u.name, u.store_id, s.region_id, cp.plan, CAST(SUM(t.earned) AS BIGINT) AS earned, MAX(t.created_at) AS last_at
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
        Ok(rows
            .into_iter()
            .map(|row| row.entrant.score(row.earned, row.last_at))
            .collect())
    }

    async fn participant(
        &self,
        campaign_id: i64,
        participant_id: i64,
    ) -> Result<Option<ScoreRow>, StorageError> {
        let row: Option<EntrantRow> = sqlx::query_as("SELECT u.id AS participant_id, u.name, u.store_id, s.region_id, cp.plan FROM users u LEFT JOIN stores s ON s.id = u.store_id
                               LEFT JOIN campaign_plans cp ON cp.campaign_id = $1 AND cp.participant_id = u.id WHERE u.id = $2")
            .bind(campaign_id)
            .bind(participant_id)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(StorageError::from_cause)?;
        Ok(row.map(|row| row.score(0, 0)))
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

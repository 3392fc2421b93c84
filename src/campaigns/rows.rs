//! Campaigns as stored: their columns, a row decoded into a [`Campaign`] (its days in
//! the program's zone), its products attached, one campaign of a program, and its
//! product list written.

use chrono_tz::Tz;
use serde::Serialize;
use sqlx::FromRow;
use sqlx::any::AnyRow;
use stimul_actors::campaign::Ranking;
use stimul_actors::rules::campaigns::CampaignStatus;
use stimul_actors::rules::points::Points;

use super::{Campaign, CampaignProduct};
use crate::db::{Sql, Tx};
use crate::error::{ApiError, ApiResult};
use crate::tasks::settings::program_zone;

pub(super) fn to_json<T: Serialize>(value: &T) -> ApiResult<String> {
    serde_json::to_string(value).map_err(ApiError::internal)
}

pub(super) const CAMPAIGN_COLUMNS: &str = "c.id, c.program_id, c.brand_id, c.name, c.description, c.starts_at, c.ends_at, c.status, c.audience, c.budget, c.allow_overdraft, c.ranking, c.created_at, c.updated_at, COALESCE(a.balance, 0) AS fund_balance";
pub(super) const CAMPAIGN_FROM: &str = "campaigns c LEFT JOIN accounts a ON a.program_id = c.program_id AND a.kind = 'campaign_fund' AND a.owner_id = c.id";

fn decode<T>(result: Result<T, String>) -> sqlx::Result<T> {
    result.map_err(|e| sqlx::Error::Decode(e.into()))
}

/// A campaign as stored ([`CAMPAIGN_COLUMNS`]), without its products.
#[derive(FromRow)]
struct CampaignRow {
    id: i64,
    program_id: i64,
    brand_id: Option<i64>,
    name: String,
    description: String,
    starts_at: i64,
    /// Exclusive.
    ends_at: i64,
    status: String,
    /// JSON.
    audience: String,
    budget: i64,
    /// Stored as INTEGER, 0 or 1.
    allow_overdraft: i64,
    #[sqlx(try_from = "String")]
    ranking: Ranking,
    created_at: i64,
    updated_at: i64,
    /// The campaign fund's balance; 0 before it has an account.
    fund_balance: i64,
}

impl CampaignRow {
    /// The campaign, its days in the program's `zone`.
    fn into_campaign(self, zone: Tz) -> sqlx::Result<Campaign> {
        let local_day = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|t| t.with_timezone(&zone).date_naive())
                .ok_or_else(|| format!("{ms} is beyond the calendar"))
        };
        Ok(Campaign {
            id: self.id,
            program_id: self.program_id,
            brand_id: self.brand_id,
            name: self.name,
            description: self.description,
            starts_on: decode(local_day(self.starts_at))?,
            // The stored end is exclusive: the last day is the one before it.
            ends_on: decode(local_day(self.ends_at - 1))?,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            status: decode(CampaignStatus::parse(&self.status))?,
            audience: decode(serde_json::from_str(&self.audience).map_err(|e| e.to_string()))?,
            budget: Points::from_hundredths(self.budget),
            allow_overdraft: self.allow_overdraft != 0,
            ranking: self.ranking,
            products: Vec::new(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            fund_balance: Points::from_hundredths(self.fund_balance),
        })
    }
}

/// Decodes a row of [`CAMPAIGN_COLUMNS`] by column name, its days in `zone`.
pub(super) fn campaign_from_row(row: &AnyRow, zone: Tz) -> sqlx::Result<Campaign> {
    CampaignRow::from_row(row)?.into_campaign(zone)
}

/// A product of a campaign, with the points it earns.
#[derive(FromRow)]
struct CampaignProductRow {
    campaign_id: i64,
    id: i64,
    sku: String,
    name: String,
    pack_size: i64,
    points_per_unit: i64,
}

#[tracing::instrument(skip_all)]
pub(super) async fn load_products(
    conn: &mut sqlx::AnyConnection,
    campaigns: &mut [Campaign],
) -> ApiResult<()> {
    if campaigns.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new(
        "SELECT cp.campaign_id, p.id, p.sku, p.name, p.pack_size, cp.points_per_unit
         FROM campaign_products cp JOIN products p ON p.id = cp.product_id WHERE cp.campaign_id IN ",
    );
    sql.bind_list(campaigns.iter().map(|c| c.id))
        .push(" ORDER BY cp.campaign_id, p.id");
    let rows: Vec<CampaignProductRow> = sql.query_as().fetch_all(&mut *conn).await?;
    for row in rows {
        let campaign_id = row.campaign_id;
        let pack_size = row.pack_size;
        let per_unit = Points::from_hundredths(row.points_per_unit);
        let product = CampaignProduct {
            product_id: row.id,
            sku: row.sku,
            name: row.name,
            pack_size,
            points_per_unit: per_unit,
            points_per_code: stimul_actors::rules::campaigns::code_points(per_unit, pack_size)
                .unwrap_or(per_unit),
        };
        if let Some(campaign) = campaigns.iter_mut().find(|c| c.id == campaign_id) {
            campaign.products.push(product);
        }
    }
    Ok(())
}

/// A campaign of the program, with its products.
#[tracing::instrument(skip_all, fields(program_id = ?program_id, id = ?id))]
pub async fn get(conn: &mut sqlx::AnyConnection, program_id: i64, id: i64) -> ApiResult<Campaign> {
    let zone = program_zone(&mut *conn, program_id).await?;
    let row: Option<CampaignRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CAMPAIGN_COLUMNS} FROM {CAMPAIGN_FROM} WHERE c.id = $1 AND c.program_id = $2"
    )))
    .bind(id)
    .bind(program_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Err(ApiError::not_found(format!("campaign {id}")));
    };
    let mut campaigns = vec![row.into_campaign(zone)?];
    load_products(conn, &mut campaigns).await?;
    Ok(campaigns.remove(0))
}

#[tracing::instrument(skip_all, fields(campaign_id = ?campaign_id))]
pub(super) async fn write_products(
    tx: &mut Tx,
    campaign_id: i64,
    products: &[(i64, Points)],
) -> ApiResult<()> {
    sqlx::query("DELETE FROM campaign_products WHERE campaign_id = $1")
        .bind(campaign_id)
        .execute(&mut **tx)
        .await?;
    for (product_id, points) in products {
        sqlx::query(
            "INSERT INTO campaign_products (campaign_id, product_id, points_per_unit) VALUES ($1, $2, $3)",
        )
        .bind(campaign_id)
        .bind(product_id)
        .bind(points.hundredths())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

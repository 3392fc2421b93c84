//! Campaigns as stored: their columns, a row decoded into a [`Campaign`] (its days in
//! the program's zone), its products attached, one campaign of a program, and its
//! product list written.

use chrono_tz::Tz;
use serde::Serialize;
use sqlx::Row;
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

pub(super) const CAMPAIGN_COLUMNS: &str = "c.id, c.program_id, c.brand_id, c.name, c.description, c.starts_at, c.ends_at, c.status, c.audience, c.budget, c.allow_overdraft, c.ranking, c.created_at, c.updated_at, COALESCE(a.balance, 0)";
pub(super) const CAMPAIGN_FROM: &str = "campaigns c LEFT JOIN accounts a ON a.program_id = c.program_id AND a.kind = 'campaign_fund' AND a.owner_id = c.id";

fn decode<T>(result: Result<T, String>) -> sqlx::Result<T> {
    result.map_err(|e| sqlx::Error::Decode(e.into()))
}

pub(super) fn campaign_from_row(row: &AnyRow, zone: Tz) -> sqlx::Result<Campaign> {
    let starts_at: i64 = row.try_get(5)?;
    let ends_at: i64 = row.try_get(6)?;
    let local_day = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.with_timezone(&zone).date_naive())
            .ok_or_else(|| format!("{ms} is beyond the calendar"))
    };
    let status: String = row.try_get(7)?;
    let audience: String = row.try_get(8)?;
    let ranking: String = row.try_get(11)?;
    Ok(Campaign {
        id: row.try_get(0)?,
        program_id: row.try_get(1)?,
        brand_id: row.try_get(2)?,
        name: row.try_get(3)?,
        description: row.try_get(4)?,
        starts_on: decode(local_day(starts_at))?,
        // The stored end is exclusive: the last day is the one before it.
        ends_on: decode(local_day(ends_at - 1))?,
        starts_at,
        ends_at,
        status: decode(CampaignStatus::parse(&status))?,
        audience: decode(serde_json::from_str(&audience).map_err(|e| e.to_string()))?,
        budget: Points::from_hundredths(row.try_get(9)?),
        allow_overdraft: row.try_get::<i64, _>(10)? != 0,
        ranking: decode(Ranking::parse(&ranking))?,
        products: Vec::new(),
        created_at: row.try_get(12)?,
        updated_at: row.try_get(13)?,
        fund_balance: Points::from_hundredths(row.try_get(14)?),
    })
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
    for row in sql.query().fetch_all(&mut *conn).await? {
        let campaign_id: i64 = row.try_get(0)?;
        let pack_size: i64 = row.try_get(4)?;
        let per_unit = Points::from_hundredths(row.try_get(5)?);
        let product = CampaignProduct {
            product_id: row.try_get(1)?,
            sku: row.try_get(2)?,
            name: row.try_get(3)?,
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
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CAMPAIGN_COLUMNS} FROM {CAMPAIGN_FROM} WHERE c.id = $1 AND c.program_id = $2"
    )))
    .bind(id)
    .bind(program_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Err(ApiError::not_found(format!("campaign {id}")));
    };
    let mut campaigns = vec![campaign_from_row(&row, zone)?];
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

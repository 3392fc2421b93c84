//! Campaigns: a brand's products paying points per unit between two dates of the
//! program's calendar, for an audience, out of a prize fund.
//!
//! Decisions:
//! - Dates are entered as calendar days in the program's time zone (`starts_on`,
//!   `ends_on`, both inclusive) and stored as the epoch-ms span they cover, so "the
//!   campaign ends on the 31st" means midnight of the 1st in Moscow, not in UTC.
//! - The fund is real money in the ledger: when a campaign becomes active its budget is
//!   posted from the program's issued account into the campaign's fund account, and a
//!   budget raised later is topped up the same way. Credits draw from that account, so
//!   a fund that runs dry refuses further credits (`fund_exhausted`) unless the campaign
//!   allows overdraft. Once funded a budget can grow, never shrink: points already in
//!   participants' hands cannot be taken back by editing a number.
//! - A finished campaign stays finished; its leaderboards remain readable.
//!
//! | file | owns |
//! | --- | --- |
//! | here | the campaign, its input and patch: creating and changing one |
//! | [`checks`] | a campaign input checked in full |
//! | [`rows`] | campaigns as stored: columns, a row decoded, products attached, one campaign |
//! | [`funding`] | the prize fund in the ledger: funding, topping up, earning from it |
//! | [`visibility`] | who sees which campaign: staff by scope, participants by audience |
//! | [`plans`] | participants' personal plans for plan-percent campaigns |
//!
//! The pure rules (statuses, audiences, what a code pays, which campaign pays, fraud
//! verdicts) are `stimul_actors::rules::campaigns`; the product catalog is
//! [`products`], code registration [`code_claims`], sale receipts [`receipts`].

pub mod checks;
pub mod code_claims;
pub mod funding;
pub mod plans;
pub mod products;
pub mod receipts;
pub mod rows;
pub mod visibility;

// Named from outside the area (the WebSocket session checks a campaign's leaderboard
// subscription with it).
pub use visibility::visible;

use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use stimul_actors::campaign::Ranking;
use stimul_actors::live::RealtimeCore;
use stimul_actors::rules::campaigns::{CampaignAudience, CampaignStatus, Offer};
use stimul_actors::rules::points::Points;
use utoipa::ToSchema;

use crate::access::{Permission, Section, Target};
use crate::auth::Principal;
use crate::db::{Clock, Db, Tx};
use crate::domain::Text;
use crate::error::{ApiError, ApiResult};
use crate::tasks::create_branded;
use crate::tasks::settings::program_zone;
use checks::validate;
use funding::fund;
use rows::{get, to_json, write_products};

/// The largest fund one campaign may have: a typo guard (a billion points).
pub const MAX_BUDGET_HUNDREDTHS: i64 = 100_000_000_000;
/// Products one campaign may list.
pub const MAX_PRODUCTS: usize = 500;

pub type Description = Text<2000>;

/// A product a campaign pays for.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignProduct {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub pack_size: i64,
    /// Base points per unit, decimal string.
    #[schema(value_type = String)]
    pub points_per_unit: Points,
    /// Base points one code on a package pays (per unit × pack size).
    #[schema(value_type = String)]
    pub points_per_code: Points,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Campaign {
    pub id: i64,
    pub program_id: i64,
    pub brand_id: Option<i64>,
    pub name: String,
    pub description: String,
    /// First day, in the program's time zone.
    #[schema(value_type = String, example = "2026-12-01")]
    pub starts_on: NaiveDate,
    /// Last day (inclusive), in the program's time zone.
    #[schema(value_type = String, example = "2026-12-31")]
    pub ends_on: NaiveDate,
    /// The span as epoch ms: `[starts_at, ends_at)`.
    pub starts_at: i64,
    pub ends_at: i64,
    pub status: CampaignStatus,
    pub audience: CampaignAudience,
    /// The prize fund, decimal string.
    #[schema(value_type = String)]
    pub budget: Points,
    /// What is left in the fund's account (negative only with overdraft).
    #[schema(value_type = String)]
    pub fund_balance: Points,
    pub allow_overdraft: bool,
    pub ranking: Ranking,
    pub products: Vec<CampaignProduct>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Campaign {
    pub fn target(&self) -> Target {
        Target::branded(self.program_id, self.brand_id)
    }

    /// The campaign as registration sees it.
    pub fn offer(&self) -> Offer {
        Offer {
            campaign_id: self.id,
            status: self.status,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            audience: self.audience.clone(),
        }
    }

    fn as_input(&self) -> CampaignInput {
        CampaignInput {
            name: self.name.clone(),
            description: self.description.clone(),
            starts_on: self.starts_on,
            ends_on: self.ends_on,
            audience: self.audience.clone(),
            budget: self.budget.to_string(),
            allow_overdraft: self.allow_overdraft,
            ranking: self.ranking,
            products: self
                .products
                .iter()
                .map(|p| ProductPoints {
                    product_id: p.product_id,
                    points_per_unit: p.points_per_unit.to_string(),
                })
                .collect(),
            brand_id: self.brand_id,
        }
    }
}

/// A product and what one unit of it pays.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ProductPoints {
    pub product_id: i64,
    /// Decimal string, e.g. `"2.50"`.
    pub points_per_unit: String,
}

fn points_ranking() -> Ranking {
    Ranking::Points
}

/// A new campaign (`createCampaign`), created as a draft.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct CampaignInput {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[schema(value_type = String, example = "2026-12-01")]
    pub starts_on: NaiveDate,
    #[schema(value_type = String, example = "2026-12-31")]
    pub ends_on: NaiveDate,
    /// Everyone when omitted.
    #[serde(default)]
    pub audience: CampaignAudience,
    /// The prize fund, decimal string.
    pub budget: String,
    #[serde(default)]
    pub allow_overdraft: bool,
    /// `points` (default) or `plan_percent`.
    #[serde(default = "points_ranking")]
    pub ranking: Ranking,
    #[serde(default)]
    pub products: Vec<ProductPoints>,
    /// A brand's campaign; brand users may only create their own brand's.
    pub brand_id: Option<i64>,
}

/// Changes to a campaign (`updateCampaign`): present fields replace stored ones;
/// `status` moves it through its life (draft → active ⇄ paused → finished).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct CampaignPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Option<String>)]
    pub starts_on: Option<NaiveDate>,
    #[schema(value_type = Option<String>)]
    pub ends_on: Option<NaiveDate>,
    pub audience: Option<CampaignAudience>,
    pub budget: Option<String>,
    pub allow_overdraft: Option<bool>,
    pub ranking: Option<Ranking>,
    pub products: Option<Vec<ProductPoints>>,
    pub status: Option<CampaignStatus>,
}

impl CampaignPatch {
    fn apply(self, mut input: CampaignInput) -> CampaignInput {
        input.name = self.name.unwrap_or(input.name);
        input.description = self.description.unwrap_or(input.description);
        input.starts_on = self.starts_on.unwrap_or(input.starts_on);
        input.ends_on = self.ends_on.unwrap_or(input.ends_on);
        input.audience = self.audience.unwrap_or(input.audience);
        input.budget = self.budget.unwrap_or(input.budget);
        input.allow_overdraft = self.allow_overdraft.unwrap_or(input.allow_overdraft);
        input.ranking = self.ranking.unwrap_or(input.ranking);
        input.products = self.products.unwrap_or(input.products);
        input
    }
}

/// Creates a draft campaign with its fund account (overdraft as asked), audited.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn insert(
    tx: &mut Tx,
    program_id: i64,
    input: &CampaignInput,
    actor: Option<i64>,
    now: i64,
) -> ApiResult<Campaign> {
    let zone = program_zone(&mut **tx, program_id).await?;
    let valid = validate(tx, program_id, zone, input).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO campaigns (program_id, brand_id, name, description, starts_at, ends_at, status, audience, budget, allow_overdraft, ranking, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'draft', $7, $8, $9, $10, $11, $12, $12) RETURNING id",
    )
    .bind(program_id)
    .bind(valid.brand_id)
    .bind(&valid.name)
    .bind(&valid.description)
    .bind(valid.starts_at)
    .bind(valid.ends_at)
    .bind(to_json(&valid.audience)?)
    .bind(valid.budget.hundredths())
    .bind(i64::from(valid.allow_overdraft))
    .bind(valid.ranking.as_str())
    .bind(actor)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    write_products(tx, id, &valid.products).await?;
    sqlx::query(
        "INSERT INTO accounts (program_id, kind, owner_id, allow_negative, created_at) VALUES ($1, 'campaign_fund', $2, $3, $4)",
    )
    .bind(program_id)
    .bind(id)
    .bind(i64::from(valid.allow_overdraft))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let campaign = get(tx, program_id, id).await?;
    crate::audit::record(
        tx,
        program_id,
        actor,
        "campaign.create",
        &format!("campaign:{id}"),
        None,
        serde_json::to_value(&campaign).ok(),
        now,
    )
    .await?;
    Ok(campaign)
}

/// Creates a campaign (`createCampaign`).
#[tracing::instrument(skip_all)]
pub async fn create(
    db: &Db,
    clock: &Clock,
    caller: &Principal,
    input: &CampaignInput,
) -> ApiResult<Campaign> {
    create_branded(
        db,
        clock,
        caller,
        Section::Campaigns,
        input.brand_id,
        async |tx: &mut Tx, program_id, actor, now| insert(tx, program_id, input, actor, now).await,
    )
    .await
}

/// Changes a campaign (`updateCampaign`); a campaign that becomes active, or whose
/// budget grows while funded, gets its fund topped up in the ledger.
#[tracing::instrument(skip_all, fields(id = ?id))]
pub async fn update(
    db: &Db,
    clock: &Clock,
    live: &Arc<RealtimeCore>,
    caller: &Principal,
    id: i64,
    patch: CampaignPatch,
) -> ApiResult<Campaign> {
    let program_id = caller.program_id();
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let before = get(&mut tx, program_id, id).await?;
    caller.require(Permission::edit(Section::Campaigns), &before.target())?;
    let next_status = patch.status.unwrap_or(before.status);
    if !before.status.can_become(next_status) {
        return Err(ApiError::invalid_state(format!(
            "a {} campaign cannot become {}",
            before.status.as_str(),
            next_status.as_str()
        )));
    }
    let input = patch.apply(before.as_input());
    let zone = program_zone(&mut *tx, program_id).await?;
    let valid = validate(&mut tx, program_id, zone, &input).await?;
    let funded: i64 = sqlx::query_scalar("SELECT funded FROM campaigns WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    if valid.budget.hundredths() < funded {
        return Err(ApiError::field(
            "budget",
            format!(
                "{} is already in the fund; a funded budget can grow, not shrink",
                Points::from_hundredths(funded)
            ),
        ));
    }
    sqlx::query(
        "UPDATE campaigns SET name = $1, description = $2, starts_at = $3, ends_at = $4, status = $5, audience = $6,
             budget = $7, allow_overdraft = $8, ranking = $9, updated_at = $10 WHERE id = $11",
    )
    .bind(&valid.name)
    .bind(&valid.description)
    .bind(valid.starts_at)
    .bind(valid.ends_at)
    .bind(next_status.as_str())
    .bind(to_json(&valid.audience)?)
    .bind(valid.budget.hundredths())
    .bind(i64::from(valid.allow_overdraft))
    .bind(valid.ranking.as_str())
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    write_products(&mut tx, id, &valid.products).await?;
    if valid.allow_overdraft != before.allow_overdraft {
        if !valid.allow_overdraft && before.fund_balance.is_negative() {
            return Err(ApiError::field(
                "allow_overdraft",
                "the fund is overdrawn; raise the budget before turning overdraft off",
            ));
        }
        sqlx::query(
            "UPDATE accounts SET allow_negative = $1 WHERE program_id = $2 AND kind = 'campaign_fund' AND owner_id = $3",
        )
        .bind(i64::from(valid.allow_overdraft))
        .bind(program_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    let after = get(&mut tx, program_id, id).await?;
    crate::audit::record(
        &mut tx,
        program_id,
        Some(caller.id()),
        "campaign.update",
        &format!("campaign:{id}"),
        serde_json::to_value(&before).ok(),
        serde_json::to_value(&after).ok(),
        now,
    )
    .await?;
    tx.commit().await?;
    if after.status != CampaignStatus::Draft {
        fund(db, live, &after, Some(caller.id())).await?;
    }
    if before.ranking != after.ranking
        || before.starts_at != after.starts_at
        || before.ends_at != after.ends_at
    {
        live.forget_campaign(id);
    }
    let mut conn = db.pool.acquire().await?;
    get(&mut conn, program_id, id).await
}

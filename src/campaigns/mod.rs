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
//! The pure rules (statuses, audiences, what a code pays, which campaign pays, fraud
//! verdicts) are `stimul_actors::rules::campaigns`; the product catalog is
//! [`products`], code registration [`registration`], sale receipts [`receipts`].

pub mod products;
pub mod receipts;
pub mod registration;

use std::collections::BTreeSet;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use stimul_actors::campaign::Ranking;
use stimul_actors::ledger::{
    AccountKey, LedgerError, Movement, Purpose, TransactionRequest, TransactionStatus,
};
use stimul_actors::participant::{ChangeOutcome, Earn, ParticipantError};
use stimul_actors::rules::campaigns::{CampaignAudience, CampaignStatus, Earner, Offer};
use stimul_actors::rules::points::Points;
use stimul_actors::rules::windows::start_of_local_day;
use utoipa::{IntoParams, ToSchema};

use crate::access::scoped::{ScopeColumns, restrict_to};
use crate::access::{Permission, Section, Target};
use crate::auth::Principal;
use crate::db::{Bind, Sql, SqlFilter, Tx};
use crate::domain::{Text, Title};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::paging::{Page, page_of};
use crate::state::AppState;
use crate::tasks::checks::{check_ids_exist, positive_points, push};
use crate::tasks::settings::program_zone;

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

struct ValidCampaign {
    name: String,
    description: String,
    starts_at: i64,
    ends_at: i64,
    audience: CampaignAudience,
    budget: Points,
    allow_overdraft: bool,
    ranking: Ranking,
    products: Vec<(i64, Points)>,
    brand_id: Option<i64>,
}

/// Epoch ms of the first moment of `day` in `zone`.
fn day_start(day: NaiveDate, zone: Tz) -> Result<i64, String> {
    start_of_local_day(day, zone).map_err(|e| e.to_string())
}

async fn validate(
    tx: &mut Tx,
    program_id: i64,
    zone: Tz,
    input: &CampaignInput,
) -> ApiResult<ValidCampaign> {
    let mut errors: Vec<FieldError> = Vec::new();
    let name = Title::parse(&input.name)
        .map_err(|e| push(&mut errors, "name", e))
        .ok();
    let description = Description::parse_optional(&input.description)
        .map_err(|e| push(&mut errors, "description", e))
        .ok();
    let budget = Points::parse(&input.budget)
        .map_err(|e| e.to_string())
        .and_then(|b| {
            if b.is_negative() {
                Err("must not be negative".into())
            } else if b.hundredths() > MAX_BUDGET_HUNDREDTHS {
                Err(format!(
                    "at most {}",
                    Points::from_hundredths(MAX_BUDGET_HUNDREDTHS)
                ))
            } else {
                Ok(b)
            }
        })
        .map_err(|e| push(&mut errors, "budget", e))
        .ok();
    let starts_at = day_start(input.starts_on, zone)
        .map_err(|e| push(&mut errors, "starts_on", e))
        .ok();
    let ends_at = input
        .ends_on
        .succ_opt()
        .ok_or_else(|| "beyond the calendar".to_string())
        .and_then(|next| day_start(next, zone))
        .map_err(|e| push(&mut errors, "ends_on", e))
        .ok();
    if input.ends_on < input.starts_on {
        push(&mut errors, "ends_on", "must not be before starts_on");
    }
    for (field, message) in input.audience.validate() {
        push(&mut errors, &field, message);
    }
    for (field, table, ids) in [
        ("audience.regions", "regions", &input.audience.regions),
        ("audience.stores", "stores", &input.audience.stores),
        ("audience.partners", "partners", &input.audience.partners),
    ] {
        check_ids_exist(tx, program_id, field, table, ids, &mut errors).await?;
    }
    if input.products.len() > MAX_PRODUCTS {
        push(
            &mut errors,
            "products",
            format!("at most {MAX_PRODUCTS} products"),
        );
    }
    let mut products = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, product) in input.products.iter().enumerate() {
        if !seen.insert(product.product_id) {
            push(
                &mut errors,
                &format!("products[{i}].product_id"),
                "listed twice",
            );
        }
        match positive_points(&product.points_per_unit) {
            Ok(points) => products.push((product.product_id, points)),
            Err(e) => push(&mut errors, &format!("products[{i}].points_per_unit"), e),
        }
    }
    let listed: Vec<i64> = seen.iter().copied().collect();
    check_ids_exist(tx, program_id, "products", "products", &listed, &mut errors).await?;
    if let Some(brand) = input.brand_id
        && !crate::org::stores::exists_in_program(&mut **tx, "brands", program_id, brand).await?
    {
        push(
            &mut errors,
            "brand_id",
            format!("there is no brand {brand} in this program"),
        );
    }
    match (name, description, budget, starts_at, ends_at) {
        (Some(name), Some(description), Some(budget), Some(starts_at), Some(ends_at))
            if errors.is_empty() =>
        {
            Ok(ValidCampaign {
                name: name.into_string(),
                description: description.into_string(),
                starts_at,
                ends_at,
                audience: input.audience.clone(),
                budget,
                allow_overdraft: input.allow_overdraft,
                ranking: input.ranking,
                products,
                brand_id: input.brand_id,
            })
        }
        _ => Err(ApiError::fields(errors)),
    }
}

fn to_json<T: Serialize>(value: &T) -> ApiResult<String> {
    serde_json::to_string(value).map_err(ApiError::internal)
}

const CAMPAIGN_COLUMNS: &str = "c.id, c.program_id, c.brand_id, c.name, c.description, c.starts_at, c.ends_at, c.status, c.audience, c.budget, c.allow_overdraft, c.ranking, c.created_at, c.updated_at, COALESCE(a.balance, 0)";
const CAMPAIGN_FROM: &str = "campaigns c LEFT JOIN accounts a ON a.program_id = c.program_id AND a.kind = 'campaign_fund' AND a.owner_id = c.id";

fn decode<T>(result: Result<T, String>) -> sqlx::Result<T> {
    result.map_err(|e| sqlx::Error::Decode(e.into()))
}

fn campaign_from_row(row: &AnyRow, zone: Tz) -> sqlx::Result<Campaign> {
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
        ranking: decode(
            serde_json::from_value(serde_json::Value::String(ranking)).map_err(|e| e.to_string()),
        )?,
        products: Vec::new(),
        created_at: row.try_get(12)?,
        updated_at: row.try_get(13)?,
        fund_balance: Points::from_hundredths(row.try_get(14)?),
    })
}

async fn load_products(
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

async fn write_products(
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

/// Creates a draft campaign with its fund account (overdraft as asked), audited.
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
    .bind(ranking_name(valid.ranking))
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

fn ranking_name(ranking: Ranking) -> &'static str {
    match ranking {
        Ranking::Points => "points",
        Ranking::PlanPercent => "plan_percent",
    }
}

/// Creates a campaign (`createCampaign`).
pub async fn create(
    state: &AppState,
    caller: &Principal,
    input: &CampaignInput,
) -> ApiResult<Campaign> {
    let program_id = caller.program_id();
    caller.require(
        Permission::edit(Section::Campaigns),
        &Target::branded(program_id, input.brand_id),
    )?;
    let mut tx = state.db.begin().await?;
    let campaign = insert(
        &mut tx,
        program_id,
        input,
        Some(caller.id()),
        state.clock.now_ms(),
    )
    .await?;
    tx.commit().await?;
    Ok(campaign)
}

/// Changes a campaign (`updateCampaign`); a campaign that becomes active, or whose
/// budget grows while funded, gets its fund topped up in the ledger.
pub async fn update(
    state: &AppState,
    caller: &Principal,
    id: i64,
    patch: CampaignPatch,
) -> ApiResult<Campaign> {
    let program_id = caller.program_id();
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
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
    .bind(ranking_name(valid.ranking))
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
        fund(state, &after, Some(caller.id())).await?;
    }
    if before.ranking != after.ranking
        || before.starts_at != after.starts_at
        || before.ends_at != after.ends_at
    {
        state.live.forget_campaign(id);
    }
    let mut conn = state.db.pool.acquire().await?;
    get(&mut conn, program_id, id).await
}

/// Moves what the budget holds beyond what was already funded from the program's
/// issued account into the campaign's fund. The ledger key names the budget funded up
/// to, and budgets only grow, so a retry after a crash replays instead of paying twice.
pub async fn fund(state: &AppState, campaign: &Campaign, actor: Option<i64>) -> ApiResult<()> {
    let funded: i64 = sqlx::query_scalar("SELECT funded FROM campaigns WHERE id = $1")
        .bind(campaign.id)
        .fetch_one(&state.db.pool)
        .await?;
    let missing = campaign.budget.hundredths() - funded;
    if missing <= 0 {
        return Ok(());
    }
    let request = TransactionRequest {
        program_id: campaign.program_id,
        idempotency_key: format!(
            "campaign:{}:funded-to:{}",
            campaign.id,
            campaign.budget.hundredths()
        ),
        reason: "campaign_fund".into(),
        participant_id: None,
        store_id: None,
        source: Some(("campaign".into(), campaign.id.to_string())),
        actor_id: actor,
        comment: Some(format!("fund of campaign {:?}", campaign.name)),
        status: TransactionStatus::Posted,
        settles: None,
        movements: vec![Movement {
            from: AccountKey::Issued,
            to: AccountKey::CampaignFund(campaign.id),
            amount: Points::from_hundredths(missing),
            purpose: Purpose::Funding,
        }],
        completed_tasks: 0,
        campaign_id: None,
        fingerprint: None,
    };
    state.live.commit(request).await.map_err(|e| {
        ApiError::internal(anyhow::anyhow!("funding campaign {}: {e}", campaign.id))
    })?;
    sqlx::query("UPDATE campaigns SET funded = $1 WHERE id = $2 AND funded < $1")
        .bind(campaign.budget.hundredths())
        .bind(campaign.id)
        .execute(&state.db.pool)
        .await?;
    Ok(())
}

/// Funds every started campaign whose fund is short of its budget: at start (a crash
/// between activation and funding, a demo loaded before the server) and when a credit
/// finds a fund empty. Returns how many were topped up.
pub async fn fund_pending(state: &AppState, only: Option<i64>) -> ApiResult<usize> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, program_id FROM campaigns WHERE status <> 'draft' AND funded < budget AND ($1 = 0 OR id = $1) ORDER BY id",
    )
    .bind(only.unwrap_or(0))
    .fetch_all(&state.db.pool)
    .await?;
    for (id, program_id) in &rows {
        // The connection goes back before funding waits for the committer.
        let campaign = get(&mut *state.db.pool.acquire().await?, *program_id, *id).await?;
        fund(state, &campaign, None).await?;
    }
    Ok(rows.len())
}

/// Credits `earn` (paid from the campaign's fund) through the participant's actor.
/// A fund found short of its budget (activated just before a crash, a demo loaded
/// before the server started) is topped up and the credit tried once more. The outer
/// error is the server's; the inner one the credit's refusal.
pub async fn earn_from_fund(
    state: &AppState,
    participant: i64,
    campaign_id: i64,
    earn: Earn,
) -> ApiResult<Result<ChangeOutcome, ParticipantError>> {
    let outcome = state.live.earn(participant, earn.clone()).await;
    if let Err(ParticipantError::Ledger(LedgerError::InsufficientFunds {
        account: AccountKey::CampaignFund(_),
    })) = &outcome
    {
        // Try once more whether or not this call funded it: a concurrent credit may
        // have topped the fund up between our refusal and our look.
        fund_pending(state, Some(campaign_id)).await?;
        return Ok(state.live.earn(participant, earn).await);
    }
    Ok(outcome)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CampaignFilter {
    /// `draft`, `active`, `paused` or `finished`.
    pub status: Option<String>,
}

/// The campaigns the caller may see (`listCampaigns`): staff see those in their
/// scope; a participant sees the running campaigns (active or paused) whose audience
/// includes them.
pub async fn list(
    state: &AppState,
    caller: &Principal,
    filter: &CampaignFilter,
    after: i64,
    limit: i64,
) -> ApiResult<Page<Campaign>> {
    let program_id = caller.program_id();
    let mut sql = SqlFilter::new();
    let participant = caller.account.kind.is_participant();
    if participant {
        let p = sql.placeholder(Bind::Int(program_id));
        sql.push(format!(
            "c.program_id = {p} AND c.status IN ('active', 'paused')"
        ));
    } else {
        let visibility = caller
            .access
            .visibility(Permission::view(Section::Campaigns));
        restrict_to(
            &mut sql,
            program_id,
            &visibility,
            &ScopeColumns {
                program: "c.program_id",
                region: None,
                partner: None,
                brand: Some("c.brand_id"),
                store: None,
            },
        );
    }
    let after_p = sql.placeholder(Bind::Int(after));
    sql.push(format!("c.id > {after_p}"));
    if let Some(status) = &filter.status {
        let status = CampaignStatus::parse(status).map_err(|e| ApiError::field("status", e))?;
        let p = sql.placeholder(Bind::Text(status.as_str().into()));
        sql.push(format!("c.status = {p}"));
    }
    // A participant's page is filtered by audience after reading; read in pages of
    // the same size until one is full or the table ends.
    // The audience asks the participant's actor: ask before taking a connection.
    let earner = if participant {
        Some(earner(state, caller.id()).await?)
    } else {
        None
    };
    let mut conn = state.db.pool.acquire().await?;
    let zone = program_zone(&mut *conn, program_id).await?;
    let limit_p = sql.placeholder(Bind::Int(limit + 1));
    let text = format!(
        "SELECT {CAMPAIGN_COLUMNS} FROM {CAMPAIGN_FROM}{} ORDER BY c.id LIMIT {limit_p}",
        sql.where_sql()
    );
    let rows = sql
        .bind_all(sqlx::query(sqlx::AssertSqlSafe(text)))
        .fetch_all(&mut *conn)
        .await?;
    let campaigns = rows
        .iter()
        .map(|row| campaign_from_row(row, zone))
        .collect::<Result<Vec<_>, _>>()?;
    // The cursor names the last campaign read, so the audience filter below may leave
    // a page short without skipping or repeating one.
    let mut page = page_of(campaigns, limit, |c| c.id);
    if let Some(earner) = &earner {
        page.items.retain(|c| c.audience.admits(earner).is_ok());
    }
    load_products(&mut conn, &mut page.items).await?;
    Ok(page)
}

/// A campaign the caller may see: staff by scope, a participant one they take part in
/// (drafts and campaigns outside their audience do not exist for them).
pub async fn visible(state: &AppState, caller: &Principal, id: i64) -> ApiResult<Campaign> {
    let mut conn = state.db.pool.acquire().await?;
    let campaign = get(&mut conn, caller.program_id(), id).await?;
    drop(conn);
    if caller.account.kind.is_participant() {
        let earner = earner(state, caller.id()).await?;
        if campaign.status == CampaignStatus::Draft || campaign.audience.admits(&earner).is_err() {
            return Err(ApiError::not_found(format!("campaign {id}")));
        }
    } else {
        caller.require(Permission::view(Section::Campaigns), &campaign.target())?;
    }
    Ok(campaign)
}

/// A participant as campaign audiences see them: region, store, partners and level.
pub async fn earner(state: &AppState, user_id: i64) -> ApiResult<Earner> {
    let row = sqlx::query(
        "SELECT u.store_id, s.region_id, u.partner_id, s.partner_id FROM users u LEFT JOIN stores s ON s.id = u.store_id WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_one(&state.db.pool)
    .await?;
    let view = state.live.participant_view(user_id).await.map_err(|e| {
        ApiError::new(
            ErrorCode::ServiceUnavailable,
            format!("the participant's live state is unavailable: {e}"),
        )
    })?;
    let partners: [Option<i64>; 2] = [row.try_get(2)?, row.try_get(3)?];
    Ok(Earner {
        store: row.try_get(0)?,
        region: row.try_get(1)?,
        partners: partners.into_iter().flatten().collect(),
        level: u32::try_from(view.level.index).unwrap_or(u32::MAX),
    })
}

/// Sets participants' personal plans for a plan-percent campaign (`setCampaignPlans`).
pub async fn set_plans(
    state: &AppState,
    caller: &Principal,
    id: i64,
    plans: &[PlanInput],
) -> ApiResult<usize> {
    let program_id = caller.program_id();
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
    let campaign = get(&mut tx, program_id, id).await?;
    caller.require(Permission::edit(Section::Campaigns), &campaign.target())?;
    let mut errors = Vec::new();
    let mut valid = Vec::new();
    for (i, plan) in plans.iter().enumerate() {
        match positive_points(&plan.plan) {
            Ok(points) => valid.push((plan.participant_id, points)),
            Err(e) => push(&mut errors, &format!("[{i}].plan"), e),
        }
    }
    let people: Vec<i64> = valid.iter().map(|(p, _)| *p).collect();
    check_ids_exist(
        &mut tx,
        program_id,
        "participant_id",
        "users",
        &people,
        &mut errors,
    )
    .await?;
    if !errors.is_empty() {
        return Err(ApiError::fields(errors));
    }
    for (participant, plan) in &valid {
        sqlx::query(
            "INSERT INTO campaign_plans (campaign_id, participant_id, plan) VALUES ($1, $2, $3)
             ON CONFLICT (campaign_id, participant_id) DO UPDATE SET plan = $3",
        )
        .bind(id)
        .bind(participant)
        .bind(plan.hundredths())
        .execute(&mut *tx)
        .await?;
    }
    crate::audit::record(
        &mut tx,
        program_id,
        Some(caller.id()),
        "campaign.plans",
        &format!("campaign:{id}"),
        None,
        serde_json::to_value(plans).ok(),
        now,
    )
    .await?;
    tx.commit().await?;
    state.live.forget_campaign(id);
    Ok(valid.len())
}

/// A participant's personal plan in a campaign.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct PlanInput {
    pub participant_id: i64,
    /// Points to earn in the campaign, decimal string.
    pub plan: String,
}

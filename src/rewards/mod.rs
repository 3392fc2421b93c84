//! The rewards showcase: what points buy. Staff with `rewards.edit` (admins; brands for
//! their own rewards) create, change and import rewards; participants see the active
//! rewards on offer to them (audience, window), with what they can afford. Ordering is
//! in [`orders`]; the provider that delivers certificates in
//! `crate::integrations::rewards`.
//!
//! A reward has a fixed `price` or a chosen amount between `min_amount` and
//! `max_amount` (a certificate of any face value within bounds); `stock` is unlimited
//! when absent and never goes below zero under racing buyers (one conditional update).

pub mod orders;
pub mod payments;
pub mod payouts;
pub mod repo;

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use stimul_actors::live::RealtimeCore;
use stimul_actors::rules::points::Points;
use stimul_actors::rules::rewards::RewardStatus;
use stimul_actors::rules::rewards::{Customer, Pricing, RewardAudience, RewardKind, on_offer};
use utoipa::{IntoParams, ToSchema};

use crate::access::{Permission, Section, Target};
use crate::auth::Principal;
use crate::db::{Clock, Db};
use crate::effects::Effects;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, RowError};
use crate::ledger::SqlActorStorage;
use crate::org::imports::{CsvTable, ImportSummary, RowCheck, finish, reject_if_any};
use crate::paging::{Page, page_of};
use repo::{RewardFields, RewardQuery, RewardRow};

/// What this area's effect handlers own (cheap clones, given at start-up): the queue
/// itself is handed to a handler when it runs, so it is not kept here.
#[derive(Clone)]
pub struct EffectHandles {
    /// The shared request pool, as the requests that queued the effect use.
    pub db: Db,
    /// Stamps moves, settlements and their history.
    pub clock: Clock,
    /// Announces moves and postings to the participant's topic.
    pub live: Arc<RealtimeCore>,
    /// Posts an order's or a payout's hold in the handler's own transaction.
    pub ledger: Arc<SqlActorStorage>,
}

impl EffectHandles {
    /// The handles moving an order takes, with the queue running the handler.
    pub fn orders<'a>(&'a self, effects: &'a Effects) -> orders::Orders<'a> {
        orders::Orders {
            db: &self.db,
            clock: &self.clock,
            live: &self.live,
            effects,
            ledger: &self.ledger,
        }
    }

    /// The handles settling a payout takes.
    pub fn payouts(&self) -> payouts::Payouts<'_> {
        payouts::Payouts {
            db: &self.db,
            clock: &self.clock,
            live: &self.live,
            ledger: &self.ledger,
        }
    }
}

/// A reward as the API shows it. Amounts are decimal strings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Reward {
    pub id: i64,
    pub sku: String,
    /// `gift_certificate`, `goods`, `virtual_card`, `phone_topup`, `card_payout`, `merch`.
    pub kind: String,
    pub title: String,
    pub description: String,
    pub category: String,
    /// The retail network of a certificate.
    pub network: Option<String>,
    /// The fixed price, or absent for a chosen amount.
    #[schema(value_type = Option<String>)]
    pub price: Option<Points>,
    #[schema(value_type = Option<String>)]
    pub min_amount: Option<Points>,
    #[schema(value_type = Option<String>)]
    pub max_amount: Option<Points>,
    /// Units left; absent means unlimited.
    pub stock: Option<i64>,
    /// The picture's photo hash (`GET /api/v1/photos/{hash}`).
    pub picture: Option<String>,
    pub regions: Vec<i64>,
    pub levels: Vec<u32>,
    pub roles: Vec<String>,
    /// Epoch ms; open when absent.
    pub active_from: Option<i64>,
    /// Epoch ms, exclusive; open when absent.
    pub active_to: Option<i64>,
    pub active: bool,
    /// A brand's own reward.
    pub brand_id: Option<i64>,
    /// For a participant: whether their available points pay for one unit (at the
    /// lowest amount of a chosen one).
    pub affordable: Option<bool>,
}

/// A reward as created, replaced or imported.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct RewardInput {
    /// Unique in the program; imports match on it.
    pub sku: String,
    pub kind: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub category: String,
    pub network: Option<String>,
    /// Decimal string; or give `min_amount` and `max_amount`.
    pub price: Option<String>,
    pub min_amount: Option<String>,
    pub max_amount: Option<String>,
    /// Unlimited when absent.
    pub stock: Option<i64>,
    /// A photo hash from the photo store.
    pub picture: Option<String>,
    #[serde(default)]
    pub regions: Vec<i64>,
    #[serde(default)]
    pub levels: Vec<u32>,
    #[serde(default)]
    pub roles: Vec<String>,
    pub active_from: Option<i64>,
    pub active_to: Option<i64>,
    #[serde(default = "yes")]
    pub active: bool,
    /// A brand funds its own rewards; brand users may only set their brand.
    pub brand_id: Option<i64>,
}

fn yes() -> bool {
    true
}

fn amount(field: &str, value: Option<&str>, errors: &mut Vec<FieldError>) -> Option<i64> {
    let value = value?;
    match Points::parse(value.trim()) {
        Ok(points) if points.is_positive() => Some(points.hundredths()),
        Ok(_) => {
            push(errors, field, "must be more than zero");
            None
        }
        Err(err) => {
            push(errors, field, err.to_string());
            None
        }
    }
}

fn push(errors: &mut Vec<FieldError>, field: &str, message: impl Into<String>) {
    errors.push(FieldError {
        field: field.into(),
        message: message.into(),
    });
}

fn text(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let value = value.trim();
    if value.chars().count() > max {
        push(errors, field, format!("at most {max} characters"));
    }
    value.to_string()
}

impl RewardInput {
    /// Checks every field, collecting every error; the brand and the role names are
    /// the caller's to check against the program.
    fn check(&self, errors: &mut Vec<FieldError>) -> Option<RewardFields> {
        let sku = text("sku", &self.sku, 64, errors);
        if sku.is_empty() {
            push(errors, "sku", "required");
        }
        let kind = match RewardKind::parse(self.kind.trim()) {
            Ok(kind) => Some(kind),
            Err(message) => {
                push(errors, "kind", message);
                None
            }
        };
        let title = text("title", &self.title, 200, errors);
        if title.is_empty() {
            push(errors, "title", "required");
        }
        let description = text("description", &self.description, 4000, errors);
        let category = text("category", &self.category, 100, errors);
        let network = self
            .network
            .as_deref()
            .map(|n| text("network", n, 100, errors))
            .filter(|n| !n.is_empty());
        let price = amount("price", self.price.as_deref(), errors);
        let min_amount = amount("min_amount", self.min_amount.as_deref(), errors);
        let max_amount = amount("max_amount", self.max_amount.as_deref(), errors);
        match (price, min_amount, max_amount) {
            (Some(_), None, None) | (None, Some(_), Some(_)) => {}
            _ if !errors
                .iter()
                .any(|e| e.field.ends_with("amount") || e.field == "price") =>
            {
                push(
                    errors,
                    "price",
                    "give either a fixed price or both min_amount and max_amount",
                );
            }
            _ => {}
        }
        if let (Some(min), Some(max)) = (min_amount, max_amount)
            && max < min
        {
            push(errors, "max_amount", "must not be less than min_amount");
        }
        if self.stock.is_some_and(|s| s < 0) {
            push(errors, "stock", "must not be negative");
        }
        if let (Some(from), Some(to)) = (self.active_from, self.active_to)
            && to <= from
        {
            push(errors, "active_to", "must be after active_from");
        }
        if self
            .picture
            .as_deref()
            .is_some_and(|p| p.len() != 64 || !p.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            push(errors, "picture", "a photo hash: 64 hexadecimal characters");
        }
        for role in &self.roles {
            if crate::access::builtin_role(role).is_none() {
                push(errors, "roles", format!("unknown role {role:?}"));
            }
        }
        let kind = kind?;
        if !errors.is_empty() {
            return None;
        }
        Some(RewardFields {
            brand_id: self.brand_id,
            sku,
            kind: kind.as_str(),
            title,
            description,
            category,
            network,
            price,
            min_amount,
            max_amount,
            stock: self.stock,
            picture: self.picture.clone(),
            regions: json_list(&self.regions),
            levels: json_list(&self.levels),
            roles: json_list(&self.roles),
            active_from: self.active_from,
            active_to: self.active_to,
            status: if self.active {
                RewardStatus::Active
            } else {
                RewardStatus::Inactive
            },
        })
    }
}

/// Audience lists are stored as JSON text.
fn json_list<T: Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

impl RewardRow {
    fn kind(&self) -> ApiResult<RewardKind> {
        RewardKind::parse(&self.kind).map_err(|e| ApiError::internal(anyhow::anyhow!(e)))
    }

    fn pricing(&self) -> ApiResult<Pricing> {
        match (self.price, self.min_amount, self.max_amount) {
            (Some(price), _, _) => Ok(Pricing::Fixed(Points::from_hundredths(price))),
            (None, Some(min), Some(max)) => Ok(Pricing::Chosen {
                min: Points::from_hundredths(min),
                max: Points::from_hundredths(max),
            }),
            _ => Err(ApiError::internal(anyhow::anyhow!(
                "reward {} has no price",
                self.id
            ))),
        }
    }

    fn audience(&self) -> RewardAudience {
        RewardAudience {
            regions: serde_json::from_str(&self.regions).unwrap_or_default(),
            levels: serde_json::from_str(&self.levels).unwrap_or_default(),
            roles: serde_json::from_str(&self.roles).unwrap_or_default(),
        }
    }

    fn view(&self, available: Option<Points>) -> Reward {
        let audience = self.audience();
        let cheapest = self.price.or(self.min_amount).unwrap_or(i64::MAX);
        Reward {
            id: self.id,
            sku: self.sku.clone(),
            kind: self.kind.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            category: self.category.clone(),
            network: self.network.clone(),
            price: self.price.map(Points::from_hundredths),
            min_amount: self.min_amount.map(Points::from_hundredths),
            max_amount: self.max_amount.map(Points::from_hundredths),
            stock: self.stock,
            picture: self.picture.clone(),
            regions: audience.regions,
            levels: audience.levels,
            roles: audience.roles,
            active_from: self.active_from,
            active_to: self.active_to,
            active: self.status == RewardStatus::Active,
            brand_id: self.brand_id,
            affordable: available.map(|points| points.hundredths() >= cheapest),
        }
    }
}

/// The participant as reward audiences see them, with their available points. Asks
/// the participant's actor: call it before taking a connection.
#[tracing::instrument(skip_all)]
pub async fn customer(
    db: &Db,
    live: &Arc<RealtimeCore>,
    caller: &Principal,
) -> ApiResult<(Customer, Points)> {
    let earner = crate::campaigns::visibility::audience_member(db, live, caller.id()).await?;
    let view = live.participant_view(caller.id()).await.map_err(|e| {
        ApiError::new(
            ErrorCode::ServiceUnavailable,
            format!("the participant's live state is unavailable: {e}"),
        )
    })?;
    let roles = caller
        .access
        .grants
        .iter()
        .map(|grant| grant.role.clone())
        .chain(["seller".to_string()])
        .collect();
    Ok((
        Customer {
            region: earner.region,
            level: earner.level,
            roles,
        },
        view.balance.available,
    ))
}

fn is_participant(caller: &Principal) -> bool {
    caller.account.kind.is_participant()
}

/// Who may change a reward of `brand_id`.
fn require_edit(caller: &Principal, brand_id: Option<i64>) -> ApiResult<()> {
    caller.require(
        Permission::edit(Section::Rewards),
        &Target::branded(caller.program_id(), brand_id),
    )
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
async fn check_brand(db: &Db, program_id: i64, brand_id: Option<i64>) -> ApiResult<()> {
    if let Some(brand) = brand_id {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM brands WHERE id = $1 AND program_id = $2")
                .bind(brand)
                .bind(program_id)
                .fetch_optional(&db.pool)
                .await?;
        if found.is_none() {
            return Err(ApiError::field("brand_id", "there is no such brand"));
        }
    }
    Ok(())
}

fn checked(input: &RewardInput) -> ApiResult<RewardFields> {
    let mut errors = Vec::new();
    match input.check(&mut errors) {
        Some(fields) if errors.is_empty() => Ok(fields),
        _ => Err(ApiError::fields(errors)),
    }
}

/// `createReward`.
#[tracing::instrument(skip(db, clock, caller, input), fields(sku = %input.sku))]
pub async fn create(
    db: &Db,
    clock: &Clock,
    caller: &Principal,
    input: &RewardInput,
) -> ApiResult<Reward> {
    let program_id = caller.program_id();
    require_edit(caller, input.brand_id)?;
    let fields = checked(input)?;
    check_brand(db, program_id, fields.brand_id).await?;
    let mut tx = db.begin().await?;
    if repo::sku_exists(&mut *tx, program_id, &fields.sku).await? {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "a reward with SKU {:?} exists; change it instead",
                fields.sku
            ),
        ));
    }
    let id = repo::upsert(&mut tx, program_id, &fields, clock.now_ms()).await?;
    let row = repo::reward(&mut *tx, program_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("reward {id}")))?;
    tx.commit().await?;
    Ok(row.view(None))
}

/// Checks and writes a reward in the caller's transaction with no access check (the
/// demo loader); answers its id.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn insert_checked(
    tx: &mut crate::db::Tx,
    program_id: i64,
    input: &RewardInput,
    now: i64,
) -> ApiResult<i64> {
    let fields = checked(input)?;
    Ok(repo::upsert(tx, program_id, &fields, now).await?)
}

/// `updateReward`: replaces the reward with `input` (its SKU may change if free).
#[tracing::instrument(skip(db, clock, caller, input))]
pub async fn update(
    db: &Db,
    clock: &Clock,
    caller: &Principal,
    id: i64,
    input: &RewardInput,
) -> ApiResult<Reward> {
    let program_id = caller.program_id();
    let fields = checked(input)?;
    check_brand(db, program_id, fields.brand_id).await?;
    let mut tx = db.begin().await?;
    let before = repo::reward(&mut *tx, program_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("reward {id}")))?;
    require_edit(caller, before.brand_id)?;
    require_edit(caller, fields.brand_id)?;
    if fields.sku != before.sku && repo::sku_exists(&mut *tx, program_id, &fields.sku).await? {
        return Err(ApiError::field(
            "sku",
            format!("another reward has SKU {:?}", fields.sku),
        ));
    }
    sqlx::query("UPDATE rewards SET sku = $1 WHERE id = $2")
        .bind(&fields.sku)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    repo::upsert(&mut tx, program_id, &fields, clock.now_ms()).await?;
    let row = repo::reward(&mut *tx, program_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("reward {id}")))?;
    tx.commit().await?;
    Ok(row.view(None))
}

/// `setRewardPicture`: stores the photo (checked by content, content-addressed), shows
/// it to every participant, and makes it the reward's picture.
#[tracing::instrument(skip(db, clock, data_dir, caller, photo))]
pub async fn set_picture(
    db: &Db,
    clock: &Clock,
    data_dir: &Path,
    caller: &Principal,
    id: i64,
    photo: &[u8],
) -> ApiResult<Reward> {
    let program_id = caller.program_id();
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let row = repo::reward(&mut *tx, program_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("reward {id}")))?;
    require_edit(caller, row.brand_id)?;
    let stored =
        crate::photos::store(&mut tx, data_dir, program_id, caller.id(), photo, now).await?;
    crate::photos::publish(&mut tx, program_id, &stored.sha256).await?;
    sqlx::query("UPDATE rewards SET picture = $1, updated_at = $2 WHERE id = $3")
        .bind(&stored.sha256)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let row = repo::reward(&mut *tx, program_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("reward {id}")))?;
    tx.commit().await?;
    Ok(row.view(None))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RewardFilter {
    pub category: Option<String>,
    pub kind: Option<String>,
    /// Participants: only what their available points pay for.
    pub affordable: Option<bool>,
}

/// `listRewards`: a participant sees the active rewards on offer to them now; staff
/// see the rewards they may manage.
#[tracing::instrument(skip(db, clock, live, caller))]
pub async fn list(
    db: &Db,
    clock: &Clock,
    live: &Arc<RealtimeCore>,
    caller: &Principal,
    filter: &RewardFilter,
    after: i64,
    limit: i64,
) -> ApiResult<Page<Reward>> {
    let program_id = caller.program_id();
    if let Some(kind) = filter.kind.as_deref() {
        RewardKind::parse(kind).map_err(|e| ApiError::field("kind", e))?;
    }
    let participant = is_participant(caller);
    let (customer, available) = if participant {
        let (customer, available) = customer(db, live, caller).await?;
        (Some(customer), Some(available))
    } else {
        let visibility = caller.access.visibility(Permission::view(Section::Rewards));
        if !visibility.whole_program && visibility.brands.is_empty() {
            return Err(ApiError::forbidden(
                "you need the rewards.view permission to see the catalog",
            ));
        }
        (None, None)
    };
    let brands = (!participant)
        .then(|| {
            let visibility = caller.access.visibility(Permission::view(Section::Rewards));
            (!visibility.whole_program).then(|| visibility.brands.iter().copied().collect())
        })
        .flatten();
    let now = clock.now_ms();
    let mut shown = Vec::new();
    let mut cursor = after;
    // A participant's page is filtered after reading; read until it is full.
    loop {
        let query = RewardQuery {
            category: filter.category.as_deref(),
            kind: filter.kind.as_deref(),
            active_only: participant,
            brands: brands.clone(),
            after: cursor,
            limit: limit + 1,
        };
        let rows = repo::rewards(db, program_id, &query).await?;
        let ended = (rows.len() as i64) <= limit;
        for row in rows {
            cursor = row.id;
            let offered = match &customer {
                Some(customer) => {
                    row.kind()? != RewardKind::CardPayout
                        && on_offer(row.active_from, row.active_to, now)
                        && row.audience().admits(customer).is_ok()
                }
                None => true,
            };
            let view = row.view(available);
            if offered && (filter.affordable != Some(true) || view.affordable == Some(true)) {
                shown.push(view);
            }
            if shown.len() as i64 > limit {
                break;
            }
        }
        if ended || shown.len() as i64 > limit {
            break;
        }
    }
    Ok(page_of(shown, limit, |reward| reward.id))
}

/// `getReward`: as [`list`] shows it to the caller.
#[tracing::instrument(skip(db, live, caller))]
pub async fn get(
    db: &Db,
    live: &Arc<RealtimeCore>,
    caller: &Principal,
    id: i64,
) -> ApiResult<Reward> {
    let program_id = caller.program_id();
    if is_participant(caller) {
        let (customer, available) = customer(db, live, caller).await?;
        let row = repo::reward(&db.pool, program_id, id)
            .await?
            .filter(|row| row.status == RewardStatus::Active)
            .ok_or_else(|| ApiError::not_found(format!("reward {id}")))?;
        if row.audience().admits(&customer).is_err() {
            return Err(ApiError::not_found(format!("reward {id}")));
        }
        return Ok(row.view(Some(available)));
    }
    let row = repo::reward(&db.pool, program_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("reward {id}")))?;
    caller.require(
        Permission::view(Section::Rewards),
        &Target::branded(program_id, row.brand_id),
    )?;
    Ok(row.view(None))
}

/// The showcase's categories.
#[tracing::instrument(skip_all)]
pub async fn categories(db: &Db, caller: &Principal) -> ApiResult<Vec<String>> {
    Ok(repo::categories(db, caller.program_id()).await?)
}

pub const REWARD_COLUMNS: (&[&str], &[&str]) = (
    &["sku", "kind", "title"],
    &[
        "description",
        "category",
        "network",
        "price",
        "min_amount",
        "max_amount",
        "stock",
        "active",
        "brand",
    ],
);

/// `importRewards`: every row is checked first; a file with any bad row changes
/// nothing. Known SKUs are updated, new ones created.
#[tracing::instrument(skip(db, clock, caller, table))]
pub async fn import(
    db: &Db,
    clock: &Clock,
    caller: &Principal,
    table: &CsvTable,
    dry_run: bool,
) -> ApiResult<ImportSummary> {
    let program_id = caller.program_id();
    let brands: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM brands WHERE program_id = $1")
            .bind(program_id)
            .fetch_all(&db.pool)
            .await?;
    let mut seen = std::collections::HashSet::new();
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for (number, record) in table.rows() {
        let cell = |column: &str| table.cell(record, column);
        let optional = |column: &str| Some(cell(column)).filter(|v| !v.is_empty());
        let mut check = RowCheck::default();
        let brand_id = match optional("brand") {
            None => None,
            Some(name) => check.take(
                "brand",
                brands
                    .iter()
                    .find(|(_, n)| n.eq_ignore_ascii_case(name))
                    .map(|(id, _)| *id)
                    .ok_or_else(|| format!("there is no brand {name:?}")),
            ),
        };
        let stock = optional("stock").and_then(|s| {
            check.take(
                "stock",
                s.parse::<i64>()
                    .map_err(|_| "a whole number of units".to_string()),
            )
        });
        let active = match optional("active").map(str::to_lowercase).as_deref() {
            None | Some("yes" | "true" | "1" | "да") => true,
            Some("no" | "false" | "0" | "нет") => false,
            Some(other) => {
                check.fail("active", format!("{other:?} is not yes or no"));
                true
            }
        };
        let input = RewardInput {
            sku: cell("sku").into(),
            kind: cell("kind").into(),
            title: cell("title").into(),
            description: cell("description").into(),
            category: cell("category").into(),
            network: optional("network").map(Into::into),
            price: optional("price").map(Into::into),
            min_amount: optional("min_amount").map(Into::into),
            max_amount: optional("max_amount").map(Into::into),
            stock,
            picture: None,
            regions: Vec::new(),
            levels: Vec::new(),
            roles: Vec::new(),
            active_from: None,
            active_to: None,
            active,
            brand_id,
        };
        let fields = input.check(&mut check.errors);
        if let Err(err) = require_edit(caller, brand_id) {
            check.fail("brand", err.detail);
        }
        if !seen.insert(input.sku.trim().to_lowercase()) {
            check.fail(
                "sku",
                format!("SKU {:?} appears more than once in the file", input.sku),
            );
        }
        match fields {
            Some(fields) if check.errors.is_empty() => good.push((*number, fields)),
            _ => bad.push(RowError {
                row: *number,
                errors: check.errors,
            }),
        }
    }
    reject_if_any(bad)?;
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let mut summary = ImportSummary {
        rows: table.rows().len() as u64,
        created: 0,
        updated: 0,
        dry_run,
    };
    let mut bad = Vec::new();
    for (number, fields) in &good {
        let existing: Option<Option<i64>> =
            sqlx::query_scalar("SELECT brand_id FROM rewards WHERE program_id = $1 AND sku = $2")
                .bind(program_id)
                .bind(&fields.sku)
                .fetch_optional(&mut *tx)
                .await?;
        match existing {
            // Updating another brand's (or the program's) reward is not this caller's.
            Some(brand) if require_edit(caller, brand).is_err() => {
                bad.push(RowError {
                    row: *number,
                    errors: vec![FieldError {
                        field: "sku".into(),
                        message: format!("SKU {:?} is a reward you may not change", fields.sku),
                    }],
                });
                continue;
            }
            Some(_) => summary.updated += 1,
            None => summary.created += 1,
        }
        repo::upsert(&mut tx, program_id, fields, now).await?;
    }
    reject_if_any(bad)?;
    finish(tx, dry_run).await?;
    Ok(summary)
}

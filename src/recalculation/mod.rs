//! Retroactive recalculation: an admin says what a campaign should have paid per unit,
//! what a level's multiplier should have been, or what a task should have paid, for a
//! past period; the server prices every earning of that period again, shows who gains
//! and who loses how much (the preview, nothing posted), and on confirmation posts one
//! compensating transaction per participant.
//!
//! Decisions:
//! - Earnings are priced from the terms they recorded when paid (base points, level,
//!   multiplier); earnings paid before terms were recorded are not recalculated.
//!   Holds still waiting for a decision are left out and counted (`pending`): they
//!   will pay the rule of the day they are released.
//! - What an earning paid is read from its postings (its own, or its hold's release),
//!   and after a recalculation from that recalculation's items, so recalculating the
//!   same period twice compensates only the second change.
//! - The store owner's share is scaled with the credit it was paid on, so it keeps the
//!   rate it was paid at; it goes to the owner who received it, inside the seller's
//!   compensating transaction.
//! - Confirming stores the preview's lines; the compensations are then posted by the
//!   effect queue through the group committer, each keyed by recalculation and
//!   participant, so a crash or a second node posts nothing twice. One recalculation
//!   posts at a time per program: the next one prices on what this one made each
//!   earning pay.
//! - A loss beyond what a participant may spend becomes a debt (the ledger splits it);
//!   their next income pays it off first. Losses do not lower the tax already
//!   recorded for the year; gains are taxed like any income.
//! - A gain the paying campaign's fund cannot cover is refused by the ledger; the line
//!   is kept with the reason (`failed`) and the rest goes on.

pub mod repo;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use stimul_actors::ledger::{
    AccountKey, LedgerError, Movement, TransactionRequest, TransactionStatus,
};
use stimul_actors::live::RealtimeCore;
use stimul_actors::rules::points::Points;
use stimul_actors::rules::recalculation::{
    Compensation, PaidEarning, RecalculationRule, RecalculationStatus, Repriced, compensations,
};
use stimul_actors::rules::windows::start_of_local_day;
use utoipa::ToSchema;

use crate::db::{Clock, Db};
use crate::effects::{self, Effect, EffectHandler, Effects, Failure, NewEffect};
use crate::error::{ApiError, ApiResult};
use crate::paging::Page;
use repo::{LineOutcome, LineRow, RecalculationRow};

/// The effect kind that posts a confirmed recalculation's compensations.
pub const POST_EFFECT: &str = "recalculation.post";
/// Lines a preview lists (the largest changes first); the figures count them all.
pub const PREVIEW_LINES: usize = 500;
/// The longest period one recalculation covers.
pub const MAX_PERIOD_DAYS: u64 = 366;
/// Lines posted per page of the effect.
const PAGE: i64 = 256;
/// How long one effect goes on posting pages before it hands the rest to a fresh
/// one: well inside the effect's lease.
const PAGES_FOR: std::time::Duration = std::time::Duration::from_secs(15);

/// A recalculation asked for, checked at the edge.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    pub rule: RecalculationRule,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub comment: String,
}

/// One participant in a preview.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewLine {
    pub participant_id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub store_id: Option<i64>,
    /// Earnings of the participant the rule reprices.
    pub earnings: i64,
    /// What those earnings paid, decimal string.
    #[schema(value_type = String)]
    pub paid: Points,
    /// What they pay under the new rule.
    #[schema(value_type = String)]
    pub recalculated: Points,
    /// Gain (positive) or loss.
    #[schema(value_type = String)]
    pub difference: Points,
    /// What their store owners gain or lose with it.
    #[schema(value_type = String)]
    pub owner_difference: Points,
    /// Their spendable balance now.
    #[schema(value_type = String)]
    pub available: Points,
    /// What they would owe if the loss were posted now (the part beyond the balance).
    #[schema(value_type = String)]
    pub debt_after: Points,
}

/// The figures of a recalculation: what the preview shows and the confirmation posts.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Figures {
    /// Earnings repriced.
    pub transactions: i64,
    /// Participants whose points change.
    pub participants: i64,
    pub gainers: i64,
    pub losers: i64,
    /// Sum of the gains, decimal string.
    #[schema(value_type = String)]
    pub gains: Points,
    /// Sum of the losses (positive).
    #[schema(value_type = String)]
    pub losses: Points,
    /// Gains less losses.
    #[schema(value_type = String)]
    pub net: Points,
    #[schema(value_type = String)]
    pub owner_gains: Points,
    #[schema(value_type = String)]
    pub owner_losses: Points,
}

/// `previewRecalculation`: nothing is posted.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecalculationPreview {
    #[schema(value_type = Object)]
    pub rule: RecalculationRule,
    #[schema(value_type = String, example = "2026-11-01")]
    pub from: NaiveDate,
    #[schema(value_type = String, example = "2026-11-30")]
    pub to: NaiveDate,
    #[serde(flatten)]
    pub figures: Figures,
    /// Held earnings of the period still waiting for a decision: left out.
    pub pending: i64,
    /// The participants, largest change first (at most [`PREVIEW_LINES`]).
    pub lines: Vec<PreviewLine>,
}

/// A confirmed recalculation and how far its posting got.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Recalculation {
    pub id: i64,
    #[schema(value_type = Object)]
    pub rule: serde_json::Value,
    pub from: String,
    pub to: String,
    pub comment: String,
    /// `posting` or `finished`.
    #[schema(value_type = String)]
    pub status: RecalculationStatus,
    #[serde(flatten)]
    pub figures: Figures,
    /// Compensations posted so far.
    pub posted: i64,
    /// Compensations the ledger refused (a fund that cannot pay a gain).
    pub failed: i64,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

impl From<RecalculationRow> for Recalculation {
    fn from(row: RecalculationRow) -> Self {
        let points = Points::from_hundredths;
        Recalculation {
            id: row.id,
            rule: serde_json::from_str(&row.rule).unwrap_or(serde_json::Value::Null),
            from: row.period_from,
            to: row.period_to,
            comment: row.comment,
            status: row.status,
            figures: Figures {
                transactions: row.transactions,
                participants: row.participants,
                gainers: row.gainers,
                losers: row.losers,
                gains: points(row.gains),
                losses: points(row.losses),
                net: points(row.gains - row.losses),
                owner_gains: points(row.owner_gains),
                owner_losses: points(row.owner_losses),
            },
            posted: row.posted,
            failed: row.failed,
            created_by: row.created_by,
            created_at: row.created_at,
            finished_at: row.finished_at,
        }
    }
}

/// A participant who owes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Debt {
    pub participant_id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub store_id: Option<i64>,
    /// What they owe, decimal string.
    #[schema(value_type = String)]
    pub amount: Points,
}

/// Every earning the rule reprices, priced, and the compensations they make.
struct Plan {
    starts_at: i64,
    ends_at: i64,
    repriced: Vec<(PaidEarning, Repriced)>,
    pending: i64,
    compensations: Vec<Compensation>,
}

impl Plan {
    fn figures(&self) -> Figures {
        let mut figures = Figures {
            transactions: self.repriced.len() as i64,
            participants: self.compensations.len() as i64,
            ..Figures::default()
        };
        let (mut gains, mut losses, mut owner_gains, mut owner_losses) = (0, 0, 0, 0);
        for line in &self.compensations {
            if line.difference > 0 {
                figures.gainers += 1;
                gains += line.difference;
            } else if line.difference < 0 {
                figures.losers += 1;
                losses -= line.difference;
            }
            if line.owner_difference > 0 {
                owner_gains += line.owner_difference;
            } else {
                owner_losses -= line.owner_difference;
            }
        }
        figures.gains = Points::from_hundredths(gains);
        figures.losses = Points::from_hundredths(losses);
        figures.net = Points::from_hundredths(gains - losses);
        figures.owner_gains = Points::from_hundredths(owner_gains);
        figures.owner_losses = Points::from_hundredths(owner_losses);
        figures
    }
}

/// Checks the rule's target belongs to the program: the campaign pays for the
/// product, the level exists, the task is the program's.
#[tracing::instrument(skip_all, fields(program = program_id))]
async fn check_target(db: &Db, program_id: i64, rule: &RecalculationRule) -> ApiResult<()> {
    let found: Option<i64> = match rule {
        RecalculationRule::CampaignProduct {
            campaign_id,
            product_id,
            ..
        } => {
            sqlx::query_scalar(
                "SELECT c.id FROM campaigns c JOIN campaign_products cp ON cp.campaign_id = c.id
                 WHERE c.id = $1 AND c.program_id = $2 AND cp.product_id = $3",
            )
            .bind(*campaign_id)
            .bind(program_id)
            .bind(*product_id)
            .fetch_optional(&db.pool)
            .await?
        }
        RecalculationRule::LevelMultiplier { level, .. } => {
            let levels: String = sqlx::query_scalar("SELECT levels FROM programs WHERE id = $1")
                .bind(program_id)
                .fetch_one(&db.pool)
                .await?;
            let count = serde_json::from_str::<Vec<serde_json::Value>>(&levels)
                .map_err(|err| ApiError::internal(anyhow::anyhow!("levels: {err}")))?
                .len() as i64;
            (0..count).contains(level).then_some(*level)
        }
        RecalculationRule::TaskPoints { task_id, .. } => {
            sqlx::query_scalar("SELECT id FROM tasks WHERE id = $1 AND program_id = $2")
                .bind(*task_id)
                .bind(program_id)
                .fetch_optional(&db.pool)
                .await?
        }
    };
    match found {
        Some(_) => Ok(()),
        None => Err(ApiError::field(
            "rule",
            match rule {
                RecalculationRule::CampaignProduct { .. } => {
                    "no such campaign paying for that product in this program"
                }
                RecalculationRule::LevelMultiplier { .. } => "no such level in this program",
                RecalculationRule::TaskPoints { .. } => "no such task in this program",
            },
        )),
    }
}

/// The account a posting's side names.
fn account_key(kind: &str, owner: i64) -> Option<AccountKey> {
    match kind {
        "campaign_fund" => Some(AccountKey::CampaignFund(owner)),
        "issued" => Some(AccountKey::Issued),
        _ => None,
    }
}

/// Prices every earning of the request's period again.
#[tracing::instrument(skip_all, fields(program = program_id))]
async fn plan(db: &Db, clock: &Clock, program_id: i64, request: &Request) -> ApiResult<Plan> {
    check_target(db, program_id, &request.rule).await?;
    let zone = crate::tasks::settings::program_zone(&db.pool, program_id).await?;
    let today = chrono::DateTime::from_timestamp_millis(clock.now_ms())
        .map(|now| now.with_timezone(&zone).date_naive())
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the clock is out of range")))?;
    if request.to > today {
        return Err(ApiError::field(
            "to",
            "a recalculation covers past days only",
        ));
    }
    let day = |date: NaiveDate| {
        start_of_local_day(date, zone).map_err(|err| ApiError::field("from", err.to_string()))
    };
    let starts_at = day(request.from)?;
    let ends_at = day(request
        .to
        .checked_add_days(Days::new(1))
        .unwrap_or(request.to))?;
    let rows = repo::earnings(db, program_id, &request.rule, starts_at, ends_at).await?;
    let ids: Vec<i64> = rows
        .iter()
        .flat_map(|row| std::iter::once(row.id).chain(row.settlement_id))
        .collect();
    let mut postings: HashMap<i64, Vec<repo::PostingRow>> = HashMap::new();
    for posting in repo::postings(db, &ids).await? {
        postings
            .entry(posting.transaction_id)
            .or_default()
            .push(posting);
    }
    let earning_ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    // Later items overwrite earlier ones: what each earning pays now, on which terms.
    let latest: HashMap<i64, repo::ItemRow> = repo::items(db, &earning_ids)
        .await?
        .into_iter()
        .map(|item| (item.transaction_id, item))
        .collect();
    let mut repriced = Vec::with_capacity(rows.len());
    let mut pending = 0;
    for row in rows {
        if row.held != 0 {
            pending += 1;
            continue;
        }
        let own = postings.get(&row.id).map(Vec::as_slice).unwrap_or_default();
        let released = row
            .settlement_id
            .and_then(|id| postings.get(&id))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let Some(paid_from) = own
            .iter()
            .find(|p| p.purpose == "earning" || p.purpose == "hold")
            .and_then(|p| account_key(&p.debit_kind, p.debit_owner))
        else {
            tracing::warn!(
                transaction = row.id,
                "an earning without a paying account; left out"
            );
            continue;
        };
        let mut paid = 0;
        let mut owner_id = None;
        let mut owner_paid = 0;
        for posting in own.iter().chain(released) {
            match (posting.purpose.as_str(), posting.credit_participant) {
                ("earning" | "release", Some(user)) if user == row.participant_id => {
                    paid += posting.amount;
                }
                ("owner_share", Some(owner)) => {
                    owner_id = Some(owner);
                    owner_paid += posting.amount;
                }
                _ => {}
            }
        }
        let (mut base, mut multiplier) = (row.earn_base, row.earn_multiplier.as_str());
        if let Some(item) = latest.get(&row.id) {
            paid = item.recalculated;
            owner_paid = item.owner_recalculated;
            base = item.base;
            multiplier = &item.multiplier;
        }
        let earning = PaidEarning {
            transaction_id: row.id,
            participant_id: row.participant_id,
            store_id: row.store_id,
            campaign_id: row.campaign_id,
            paid_from,
            base: Points::from_hundredths(base),
            multiplier: Decimal::from_str(multiplier).map_err(|err| {
                ApiError::internal(anyhow::anyhow!(
                    "transaction {}: multiplier {multiplier:?}: {err}",
                    row.id
                ))
            })?,
            units: row.units,
            paid,
            owner_id,
            owner_paid,
        };
        let new = request
            .rule
            .reprice(&earning)
            .ok_or_else(|| ApiError::field("rule", "the new amounts overflow"))?;
        repriced.push((earning, new));
    }
    let compensations = compensations(&repriced);
    Ok(Plan {
        starts_at,
        ends_at,
        repriced,
        pending,
        compensations,
    })
}

/// What the request would post, nothing posted.
#[tracing::instrument(skip_all, fields(program = program_id))]
pub async fn preview(
    db: &Db,
    clock: &Clock,
    program_id: i64,
    request: &Request,
) -> ApiResult<RecalculationPreview> {
    let plan = plan(db, clock, program_id, request).await?;
    preview_of(db, program_id, request, &plan).await
}

/// The preview of a priced plan.
#[tracing::instrument(skip_all, fields(program = program_id))]
async fn preview_of(
    db: &Db,
    program_id: i64,
    request: &Request,
    plan: &Plan,
) -> ApiResult<RecalculationPreview> {
    let mut shown: Vec<&Compensation> = plan.compensations.iter().collect();
    shown.sort_by_key(|line| {
        (
            std::cmp::Reverse(line.difference.abs()),
            line.participant_id,
        )
    });
    shown.truncate(PREVIEW_LINES);
    let ids: Vec<i64> = shown.iter().map(|line| line.participant_id).collect();
    let people: HashMap<i64, repo::PersonRow> = repo::people(db, program_id, &ids)
        .await?
        .into_iter()
        .map(|person| (person.id, person))
        .collect();
    let mut paid: HashMap<i64, (i64, i64, i64)> = HashMap::new();
    for (earning, new) in &plan.repriced {
        let entry = paid.entry(earning.participant_id).or_default();
        entry.0 += 1;
        entry.1 += earning.paid;
        entry.2 += new.credit;
    }
    let lines = shown
        .into_iter()
        .map(|line| {
            let person = people.get(&line.participant_id);
            let (earnings, was, now) = paid.get(&line.participant_id).copied().unwrap_or_default();
            let available = person.map_or(0, |p| p.available);
            let owed = person.map_or(0, |p| -p.debt_balance);
            PreviewLine {
                participant_id: line.participant_id,
                name: person.map(|p| p.name.clone()).unwrap_or_default(),
                phone: person.and_then(|p| p.phone.clone()),
                store_id: line.store_id,
                earnings,
                paid: Points::from_hundredths(was),
                recalculated: Points::from_hundredths(now),
                difference: Points::from_hundredths(line.difference),
                owner_difference: Points::from_hundredths(line.owner_difference),
                available: Points::from_hundredths(available),
                debt_after: Points::from_hundredths(owed + (-line.difference - available).max(0)),
            }
        })
        .collect();
    Ok(RecalculationPreview {
        rule: request.rule.clone(),
        from: request.from,
        to: request.to,
        figures: plan.figures(),
        pending: plan.pending,
        lines,
    })
}

/// The handles confirming and posting take.
#[derive(Clone)]
pub struct RecalculationJob {
    pub db: Db,
    pub clock: Clock,
    /// Posts compensations through the group committer, which pushes them live.
    pub live: Arc<RealtimeCore>,
}

/// Confirms a recalculation: prices it again (what the preview shows), stores its
/// items and per-participant lines with an audit record holding the preview, and
/// queues the posting. The same `key` answers the same recalculation.
#[tracing::instrument(skip_all, fields(program = program_id))]
pub async fn apply(
    job: &RecalculationJob,
    effects: &Effects,
    program_id: i64,
    actor_id: i64,
    key: &str,
    request: &Request,
) -> ApiResult<Recalculation> {
    if let Some(done) = repo::by_key(&job.db, program_id, key).await? {
        return Ok(done.into());
    }
    let plan = plan(&job.db, &job.clock, program_id, request).await?;
    let preview = preview_of(&job.db, program_id, request, &plan).await?;
    let figures = plan.figures();
    let rule = serde_json::to_string(&request.rule).map_err(ApiError::internal)?;
    let lines = plan
        .compensations
        .iter()
        .map(|line| {
            Ok(LineRow {
                participant_id: line.participant_id,
                store_id: line.store_id,
                campaign_id: line.campaign_id,
                difference: line.difference,
                owner_difference: line.owner_difference,
                movements: serde_json::to_string(&line.movements).map_err(ApiError::internal)?,
            })
        })
        .collect::<ApiResult<Vec<LineRow>>>()?;
    let items: Vec<repo::NewItem> = plan
        .repriced
        .iter()
        .filter(|(earning, new)| {
            new.credit != earning.paid
                || new.owner_share != earning.owner_paid
                || new.base != earning.base
                || new.multiplier != earning.multiplier
        })
        .map(|(earning, new)| repo::NewItem {
            transaction_id: earning.transaction_id,
            participant_id: earning.participant_id,
            paid: earning.paid,
            recalculated: new.credit,
            owner_paid: earning.owner_paid,
            owner_recalculated: new.owner_share,
            base: new.base.hundredths(),
            multiplier: new.multiplier.normalize().to_string(),
        })
        .collect();
    let now = job.clock.now_ms();
    let mut tx = job.db.begin().await?;
    if repo::posting(&mut tx, program_id).await?.is_some() {
        return Err(busy());
    }
    let status = if lines.is_empty() {
        RecalculationStatus::Finished
    } else {
        RecalculationStatus::Posting
    };
    let (from, to) = (request.from.to_string(), request.to.to_string());
    let new = repo::NewRecalculation {
        program_id,
        idempotency_key: key,
        rule: &rule,
        period_from: &from,
        period_to: &to,
        starts_at: plan.starts_at,
        ends_at: plan.ends_at,
        comment: &request.comment,
        status,
        transactions: figures.transactions,
        participants: figures.participants,
        gainers: figures.gainers,
        losers: figures.losers,
        gains: figures.gains.hundredths(),
        losses: figures.losses.hundredths(),
        owner_gains: figures.owner_gains.hundredths(),
        owner_losses: figures.owner_losses.hundredths(),
        created_by: actor_id,
    };
    let id = match repo::insert(&mut tx, &new, now).await {
        Ok(id) => id,
        // Another recalculation began posting meanwhile.
        Err(sqlx::Error::Database(err)) if err.is_unique_violation() => return Err(busy()),
        Err(err) => return Err(err.into()),
    };
    repo::insert_items(&mut tx, id, &items).await?;
    repo::insert_lines(&mut tx, id, &lines).await?;
    crate::audit::record(
        &mut tx,
        program_id,
        Some(actor_id),
        "recalculation.apply",
        &format!("recalculation:{id}"),
        None,
        Some(serde_json::json!({ "request": request, "preview": preview })),
        now,
    )
    .await?;
    if !lines.is_empty() {
        effects::enqueue(&mut tx, &post_effect(program_id, id, 0), now).await?;
    }
    let row = repo::by_id(&mut *tx, id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("recalculation {id} vanished")))?;
    tx.commit().await?;
    effects.ring();
    tracing::info!(
        recalculation = id,
        participants = figures.participants,
        gains = figures.gains.hundredths(),
        losses = figures.losses.hundredths(),
        "recalculation confirmed"
    );
    let mut confirmed = Recalculation::from(row);
    confirmed.figures = figures;
    Ok(confirmed)
}

fn busy() -> ApiError {
    ApiError::invalid_state(
        "another recalculation of the program is still posting; confirm again once it has finished",
    )
}

fn post_effect(program_id: i64, id: i64, page: i64) -> NewEffect {
    NewEffect {
        kind: POST_EFFECT,
        dedupe_key: Some(format!("recalculation:{id}:{page}")),
        program_id: Some(program_id),
        payload: serde_json::json!({ "recalculation_id": id, "page": page }),
    }
}

#[tracing::instrument(skip_all)]
pub async fn get(db: &Db, program_id: i64, id: i64) -> ApiResult<Recalculation> {
    repo::by_id(&db.pool, id)
        .await?
        .filter(|row| row.program_id == program_id)
        .map(Recalculation::from)
        .ok_or_else(|| ApiError::not_found(format!("recalculation {id}")))
}

#[tracing::instrument(skip_all)]
pub async fn list(
    db: &Db,
    program_id: i64,
    before: i64,
    limit: i64,
) -> ApiResult<Page<Recalculation>> {
    let rows = repo::list(db, program_id, before, limit + 1).await?;
    Ok(crate::paging::page_of(
        rows.into_iter().map(Recalculation::from).collect(),
        limit,
        |row| row.id,
    ))
}

/// The program's open debts, by participant id (`after` is the last id seen).
#[tracing::instrument(skip_all)]
pub async fn debts(db: &Db, program_id: i64, after: i64, limit: i64) -> ApiResult<Page<Debt>> {
    let rows = repo::debts(db, program_id, after, limit + 1).await?;
    Ok(crate::paging::page_of(
        rows.into_iter()
            .map(|row| Debt {
                participant_id: row.participant_id,
                name: row.name,
                phone: row.phone,
                store_id: row.store_id,
                amount: Points::from_hundredths(-row.balance),
            })
            .collect(),
        limit,
        |debt| debt.participant_id,
    ))
}

/// The compensating transaction of one line.
fn compensation_request(
    row: &RecalculationRow,
    line: &LineRow,
) -> Result<TransactionRequest, Failure> {
    let movements: Vec<Movement> = serde_json::from_str(&line.movements)
        .map_err(|err| Failure::Permanent(format!("line of {}: {err}", line.participant_id)))?;
    Ok(TransactionRequest {
        program_id: row.program_id,
        // Recalculation and participant: a retried page or another node posts nothing
        // twice.
        idempotency_key: format!("recalculation:{}:{}", row.id, line.participant_id),
        reason: "recalculation".into(),
        participant_id: Some(line.participant_id),
        store_id: line.store_id,
        source: Some(("recalculation".into(), row.id.to_string())),
        actor_id: row.created_by,
        comment: Some(row.comment.clone()),
        status: TransactionStatus::Posted,
        settles: None,
        movements,
        completed_tasks: 0,
        campaign_id: line.campaign_id,
        fingerprint: None,
        earning: None,
    })
}

#[derive(Debug, Deserialize)]
struct PostPayload {
    recalculation_id: i64,
    page: i64,
}

/// Posts a confirmed recalculation's compensations, a page at a time, for up to
/// [`PAGES_FOR`]; then queues the rest or finishes it.
pub struct PostEffect(pub RecalculationJob);

#[async_trait]
impl EffectHandler for PostEffect {
    async fn run(&self, effects: &Effects, effect: &Effect) -> Result<(), Failure> {
        let job = &self.0;
        let PostPayload {
            recalculation_id,
            page,
        } = effect.payload()?;
        let began = std::time::Instant::now();
        let mut pages = page;
        loop {
            let row = repo::by_id(&job.db.pool, recalculation_id)
                .await?
                .ok_or_else(|| {
                    Failure::Permanent(format!("recalculation {recalculation_id} not found"))
                })?;
            if row.status != RecalculationStatus::Posting {
                return Ok(());
            }
            let lines = repo::unposted(&job.db, recalculation_id, PAGE).await?;
            if lines.is_empty() {
                let mut tx = job.db.begin().await?;
                repo::finish(&mut tx, recalculation_id, job.clock.now_ms()).await?;
                tx.commit().await?;
                return Ok(());
            }
            let requests = lines
                .iter()
                .map(|line| compensation_request(&row, line))
                .collect::<Result<Vec<_>, Failure>>()?;
            let answers = job.live.commit_in_bursts(requests).await;
            let mut outcomes = Vec::with_capacity(lines.len());
            for (line, answer) in lines.iter().zip(answers) {
                let outcome = match answer {
                    Ok(committed) => LineOutcome::Posted(committed.transaction_id),
                    Err(err @ (LedgerError::InsufficientFunds { .. } | LedgerError::Empty)) => {
                        tracing::warn!(recalculation = recalculation_id, participant = line.participant_id, error = %err, "compensation refused");
                        LineOutcome::Refused(err.to_string())
                    }
                    Err(err) => return Err(Failure::Retry(format!("ledger: {err}"))),
                };
                outcomes.push((line.participant_id, outcome));
            }
            let mut tx = job.db.begin().await?;
            repo::record_lines(&mut tx, recalculation_id, &outcomes).await?;
            tx.commit().await?;
            pages += 1;
            if began.elapsed() >= PAGES_FOR {
                let mut tx = job.db.begin().await?;
                effects::enqueue(
                    &mut tx,
                    &post_effect(row.program_id, recalculation_id, pages),
                    job.clock.now_ms(),
                )
                .await?;
                tx.commit().await?;
                effects.ring();
                return Ok(());
            }
        }
    }
}

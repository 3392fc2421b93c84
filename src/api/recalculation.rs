//! Retroactive recalculation over HTTP: preview a changed rule for a past period,
//! confirm it (with an `Idempotency-Key`), follow its posting, and list open debts.
//! Previewing and confirming take `points.edit` program-wide; reading takes
//! `points.view` program-wide.

use actix_web::{HttpResponse, get, post, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use stimul_actors::rules::recalculation::RecalculationRule;
use utoipa::ToSchema;

use crate::access::{Permission, Section};
use crate::auth::Caller;
use crate::domain::Text;
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::paging::{Page, PageParams};
use crate::recalculation::{
    self, Debt, MAX_PERIOD_DAYS, Recalculation, RecalculationJob, RecalculationPreview, Request,
};
use crate::state::AppState;
use crate::validate;

/// A changed rule for a past period.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct RecalculationInput {
    /// `{"kind":"campaign_product","campaign_id":1,"product_id":2,"points_per_unit":"3.00"}`,
    /// `{"kind":"level_multiplier","level":1,"multiplier":"1.2"}` (level 0 is the
    /// first) or `{"kind":"task_points","task_id":3,"points":"50.00"}`.
    #[schema(value_type = Object)]
    pub rule: serde_json::Value,
    /// First day of the earnings recalculated, in the program's time zone.
    #[schema(value_type = String, example = "2026-11-01")]
    pub from: NaiveDate,
    /// Last day (inclusive); today at the latest.
    #[schema(value_type = String, example = "2026-11-30")]
    pub to: NaiveDate,
    /// Why: shown on every compensating transaction and in the audit log.
    pub comment: String,
}

fn parse_rule(value: &serde_json::Value) -> Result<RecalculationRule, String> {
    let rule: RecalculationRule = serde_json::from_value(value.clone()).map_err(|err| {
        format!(
            "not a recalculation rule ({err}); kinds are campaign_product, level_multiplier and task_points"
        )
    })?;
    rule.check().map_err(|err| err.to_string())?;
    Ok(rule)
}

fn parse_period(from: NaiveDate, to: NaiveDate) -> Result<(), String> {
    if to < from {
        return Err("the period ends before it starts".into());
    }
    if (to - from).num_days() >= MAX_PERIOD_DAYS as i64 {
        return Err(format!("a period is at most {MAX_PERIOD_DAYS} days"));
    }
    Ok(())
}

impl RecalculationInput {
    fn checked(&self) -> ApiResult<Request> {
        validate! {
            rule = "rule" => parse_rule(&self.rule),
            _period = "to" => parse_period(self.from, self.to),
            comment = "comment" => Text::<500>::parse(&self.comment),
        }
        Ok(Request {
            rule,
            from: self.from,
            to: self.to,
            comment: comment.into_string(),
        })
    }
}

/// Prices every earning of the period under the new rule: who gains, who loses, how
/// much, and the totals. Nothing is posted.
#[utoipa::path(
    operation_id = "previewRecalculation", tag = "recalculation", security(("bearer" = [])), request_body = RecalculationInput,
    responses(
        (status = 200, body = RecalculationPreview),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/recalculations/preview")]
pub async fn preview_recalculation(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<RecalculationInput>,
) -> ApiResult<HttpResponse> {
    let request = body.checked()?;
    caller.require_program_wide(Permission::edit(Section::Points))?;
    let preview =
        recalculation::preview(&state.db, &state.clock, caller.program_id(), &request).await?;
    Ok(HttpResponse::Ok().json(preview))
}

/// Confirms a recalculation: what the preview showed is posted as one compensating
/// transaction per participant (a loss beyond the balance becomes a debt), traced to
/// the recalculation and audited with its preview. Requires an `Idempotency-Key`; the
/// same key answers the same recalculation. Answers at once (`posting`); follow it
/// with `getRecalculation`.
#[utoipa::path(
    operation_id = "applyRecalculation", tag = "recalculation", security(("bearer" = [])), request_body = RecalculationInput,
    params(("Idempotency-Key" = String, Header)),
    responses(
        (status = 202, body = Recalculation),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/recalculations")]
pub async fn apply_recalculation(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    body: web::Json<RecalculationInput>,
) -> ApiResult<HttpResponse> {
    let request = body.checked()?;
    caller.require_program_wide(Permission::edit(Section::Points))?;
    let Some(ledger_key) = key.0.clone() else {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            "applyRecalculation needs an Idempotency-Key header: a retry must not post twice",
        ));
    };
    let job = RecalculationJob {
        db: state.db.clone(),
        clock: state.clock.clone(),
        live: state.live.clone(),
    };
    idempotency::run(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &("applyRecalculation", &*body),
        || async {
            Reply::with_status(
                actix_web::http::StatusCode::ACCEPTED,
                &recalculation::apply(
                    &job,
                    &state.effects,
                    caller.program_id(),
                    caller.id(),
                    &ledger_key,
                    &request,
                )
                .await?,
            )
        },
    )
    .await
}

/// One recalculation and how far its posting got.
#[utoipa::path(
    operation_id = "getRecalculation", tag = "recalculation", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Recalculation), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/recalculations/{id}")]
pub async fn get_recalculation(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    caller.require_program_wide(Permission::view(Section::Points))?;
    let found = recalculation::get(&state.db, caller.program_id(), id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(found))
}

/// The program's recalculations, newest first (`cursor` is the last id seen).
#[utoipa::path(
    operation_id = "listRecalculations", tag = "recalculation", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<Recalculation>), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/recalculations")]
pub async fn list_recalculations(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    caller.require_program_wide(Permission::view(Section::Points))?;
    let (before, limit) = page.newest_first()?;
    let list = recalculation::list(&state.db, caller.program_id(), before, limit).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Participants who owe points after a recalculation, by id.
#[utoipa::path(
    operation_id = "listDebts", tag = "recalculation", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<Debt>), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/debts")]
pub async fn list_debts(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    caller.require_program_wide(Permission::view(Section::Points))?;
    let (after, limit) = page.resolve()?;
    let debts = recalculation::debts(&state.db, caller.program_id(), after, limit).await?;
    Ok(HttpResponse::Ok().json(debts))
}

//! Points expiry over HTTP: the program's rule with its forecast, runs of the expiry
//! job, and a participant's coming expiries. Reading the rule and runs takes
//! `points.view` program-wide, running takes `points.edit`, changing the rule
//! `program.edit` (it is a program setting).

use actix_web::{HttpResponse, get, post, put, web};
use serde::{Deserialize, Serialize};
use stimul_actors::rules::expiry::ExpiryRule;
use utoipa::ToSchema;

use crate::access::{Permission, Section};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::expiry::{self, Expiring, ExpiryRun, ExpirySettings, MAX_WARN_DAYS};
use crate::paging::{Page, PageParams};
use crate::state::AppState;
use crate::validate;

/// The program's expiry rule, when it last changed, what is due now and the next
/// expiry moments with what expires then.
#[utoipa::path(
    operation_id = "getExpiryRule", tag = "expiry", security(("bearer" = [])),
    responses((status = 200, body = ExpirySettings), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/expiry/rule")]
pub async fn get_expiry_rule(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    caller.require_program_wide(Permission::view(Section::Points))?;
    let settings = expiry::settings(&state.db, &state.clock, caller.program_id()).await?;
    Ok(HttpResponse::Ok().json(settings))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ExpiryRuleUpdate {
    /// `{"kind":"never"}`, `{"kind":"after_days","days":N}` or
    /// `{"kind":"end_of_period","period":"month"|"quarter"|"year","then":N}` (`then: 0`
    /// is the end of the credit's own period). Applies to points credited from now on.
    #[schema(value_type = Option<Object>)]
    pub rule: Option<serde_json::Value>,
    /// Days before an expiry the participant is warned, 0 to 90 (0: no warning).
    pub warn_days: Option<i64>,
}

fn parse_rule(value: Option<&serde_json::Value>) -> Result<Option<ExpiryRule>, String> {
    let Some(value) = value else { return Ok(None) };
    let rule: ExpiryRule = serde_json::from_value(value.clone()).map_err(|err| {
        format!("not an expiry rule ({err}); kinds are never, after_days and end_of_period")
    })?;
    rule.check().map_err(|err| err.to_string())?;
    Ok(Some(rule))
}

fn parse_warn_days(value: Option<i64>) -> Result<Option<i64>, String> {
    match value {
        Some(days) if !(0..=MAX_WARN_DAYS).contains(&days) => {
            Err(format!("0 to {MAX_WARN_DAYS} days"))
        }
        other => Ok(other),
    }
}

/// Changes the expiry rule and the warning days. A new rule applies to points credited
/// from now on; points credited before keep their dates. Audited.
#[utoipa::path(
    operation_id = "updateExpiryRule", tag = "expiry", security(("bearer" = [])), request_body = ExpiryRuleUpdate,
    responses(
        (status = 200, body = ExpirySettings),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/v1/expiry/rule")]
pub async fn update_expiry_rule(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<ExpiryRuleUpdate>,
) -> ApiResult<HttpResponse> {
    validate! {
        rule = "rule" => parse_rule(body.rule.as_ref()),
        warn_days = "warn_days" => parse_warn_days(body.warn_days),
    }
    caller.require_program_wide(Permission::edit(Section::Program))?;
    let settings = expiry::update(
        &state.db,
        &state.clock,
        &state.live,
        caller.program_id(),
        caller.id(),
        rule,
        warn_days,
    )
    .await?;
    Ok(HttpResponse::Ok().json(settings))
}

/// Starts a run of the expiry job now (the nightly run starts by itself): it moves
/// what is left of every lot due now to the program's `expired` account, one
/// transaction per participant keyed by participant and local date, so running it
/// again moves nothing twice. Answers the run at once (`running`); follow it with
/// `getExpiryRun`.
#[utoipa::path(
    operation_id = "runExpiry", tag = "expiry", security(("bearer" = [])),
    responses((status = 202, body = ExpiryRun), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/expiry/runs")]
pub async fn run_expiry(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    caller.require_program_wide(Permission::edit(Section::Points))?;
    let run = expiry::start(
        &state.db,
        &state.clock,
        &state.effects,
        caller.program_id(),
        Some(caller.id()),
        false,
    )
    .await?
    .ok_or_else(|| ApiError::invalid_state("the run could not be started"))?;
    Ok(HttpResponse::Accepted().json(run))
}

/// One run and how far it got.
#[utoipa::path(
    operation_id = "getExpiryRun", tag = "expiry", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ExpiryRun), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/expiry/runs/{id}")]
pub async fn get_expiry_run(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    caller.require_program_wide(Permission::view(Section::Points))?;
    let run = expiry::run(&state.db, caller.program_id(), id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(run))
}

/// The program's runs, newest first (`after` is the last id seen).
#[utoipa::path(
    operation_id = "listExpiryRuns", tag = "expiry", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<ExpiryRun>), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/expiry/runs")]
pub async fn list_expiry_runs(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    caller.require_program_wide(Permission::view(Section::Points))?;
    let (before, limit) = page.newest_first()?;
    let runs = expiry::runs(&state.db, caller.program_id(), before, limit).await?;
    Ok(HttpResponse::Ok().json(runs))
}

/// The caller's coming expiries, soonest first: how much goes and on which date.
#[utoipa::path(
    operation_id = "listMyExpiring", tag = "expiry", security(("bearer" = [])),
    responses((status = 200, body = Vec<Expiring>))
)]
#[get("/api/v1/me/expiring")]
pub async fn list_my_expiring(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    let coming =
        expiry::upcoming_of(&state.db, &state.clock, caller.program_id(), caller.id()).await?;
    Ok(HttpResponse::Ok().json(coming))
}

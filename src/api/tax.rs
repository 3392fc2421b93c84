//! The tax agent over HTTP: the program's rule (`points.view` to read, `program.edit`
//! to change), a participant's own tax number and certificates of income (the
//! participant's own, or any in the caller's `reports.view` scope). The yearly report
//! is `GET /api/v1/reports/tax?year=YYYY`.

use actix_web::{HttpResponse, get, put, web};
use serde::{Deserialize, Serialize};
use stimul_actors::rules::tax::TaxRule;
use utoipa::{IntoParams, ToSchema};

use crate::access::{Permission, Section};
use crate::auth::Caller;
use crate::domain::TaxId;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;
use crate::tax::{self, TaxCertificate};
use crate::validate;

/// The program's tax rule: whether it is on, when income arises (`accrual` or
/// `redemption`), who bears the tax (`participant`: withheld; `organiser`: paid on top,
/// grossed up), the yearly tax-free amount and the rate scale.
#[utoipa::path(
    operation_id = "getTaxRule", tag = "tax", security(("bearer" = [])),
    responses((status = 200, body = TaxRule), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/tax/rule")]
pub async fn get_tax_rule(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    caller.require_program_wide(Permission::view(Section::Points))?;
    Ok(HttpResponse::Ok().json(tax::rule(&state.db, caller.program_id()).await?))
}

fn parse_rule(value: &serde_json::Value) -> Result<TaxRule, String> {
    let rule: TaxRule = serde_json::from_value(value.clone()).map_err(|err| {
        format!(
            "not a tax rule ({err}): {{\"enabled\", \"moment\": accrual|redemption, \"bearer\": participant|organiser, \"exemption\", \"scale\": [{{\"above\", \"rate\"}}]}}"
        )
    })?;
    rule.check().map_err(|err| err.to_string())?;
    Ok(rule)
}

/// Replaces the tax rule. It applies to taxable events from now on; the year's running
/// totals carry over. Audited.
#[utoipa::path(
    operation_id = "updateTaxRule", tag = "tax", security(("bearer" = [])), request_body = TaxRule,
    responses(
        (status = 200, body = TaxRule),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/v1/tax/rule")]
pub async fn update_tax_rule(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    validate! { rule = "rule" => parse_rule(&body) }
    caller.require_program_wide(Permission::edit(Section::Program))?;
    let rule = tax::update(
        &state.db,
        &state.clock,
        caller.program_id(),
        caller.id(),
        &rule,
    )
    .await?;
    Ok(HttpResponse::Ok().json(rule))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct TaxIdRequest {
    /// The person's tax number (INN): 12 digits, the last two check digits.
    pub tax_id: String,
}

/// Records the caller's tax number (INN), checked by its check digits; a company's
/// 10-digit number is refused (income is a person's).
#[utoipa::path(
    operation_id = "setMyTaxId", tag = "tax", security(("bearer" = [])), request_body = TaxIdRequest,
    responses(
        (status = 200, body = TaxIdRequest),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/v1/me/tax-id")]
pub async fn set_my_tax_id(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<TaxIdRequest>,
) -> ApiResult<HttpResponse> {
    validate! {
        tax_id = "tax_id" => TaxId::parse(&body.tax_id).and_then(|id| {
            if id.is_company() {
                Err("a person's tax number (INN) has 12 digits; 10 is a company's".to_string())
            } else {
                Ok(id)
            }
        }),
    }
    if !caller.account.kind.is_participant() {
        return Err(ApiError::forbidden(
            "a tax number is recorded for participants",
        ));
    }
    tax::set_tax_id(&state.db, &state.clock, caller.id(), &tax_id).await?;
    Ok(HttpResponse::Ok().json(TaxIdRequest {
        tax_id: tax_id.as_str().to_string(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    /// The calendar year, e.g. 2026.
    pub year: i64,
}

fn check_year(year: i64) -> ApiResult<i64> {
    if (2000..=2100).contains(&year) {
        Ok(year)
    } else {
        Err(ApiError::field("year", "a year from 2000 to 2100"))
    }
}

/// The caller's certificate of income for a year.
#[utoipa::path(
    operation_id = "getMyTaxCertificate", tag = "tax", security(("bearer" = [])), params(YearQuery),
    responses((status = 200, body = TaxCertificate), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/me/tax-certificate")]
pub async fn get_my_tax_certificate(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<YearQuery>,
) -> ApiResult<HttpResponse> {
    let year = check_year(query.year)?;
    let certificate = tax::certificate(&state.db, caller.program_id(), caller.id(), year).await?;
    Ok(HttpResponse::Ok().json(certificate))
}

/// A participant's certificate of income for a year (staff with `reports.view` over
/// the participant).
#[utoipa::path(
    operation_id = "getTaxCertificate", tag = "tax", security(("bearer" = [])), params(("id" = i64, Path), YearQuery),
    responses(
        (status = 200, body = TaxCertificate),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/participants/{id}/tax-certificate")]
pub async fn get_tax_certificate(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    query: web::Query<YearQuery>,
) -> ApiResult<HttpResponse> {
    let year = check_year(query.year)?;
    let person = super::points::participant_in_scope(
        &state,
        &caller,
        id.into_inner(),
        Permission::view(Section::Reports),
    )
    .await?;
    let certificate = tax::certificate(&state.db, caller.program_id(), person.id, year).await?;
    Ok(HttpResponse::Ok().json(certificate))
}

//! Company lookup over HTTP: `lookupCompany`. Open to anyone within a per-address
//! rate limit (the sign-up page asks before a login).

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, get, web};

use crate::domain::TaxId;
use crate::error::{ApiError, ApiResult, Problem};
use crate::integrations::companies::Company;
use crate::ratelimit::Decision;
use crate::state::AppState;
use crate::validate;

/// The company (or sole trader) with this tax number: name, address, KPP, OGRN and
/// status from the register. The INN is checked by its check digits first.
#[utoipa::path(
    operation_id = "lookupCompany", tag = "companies", params(("inn" = String, Path, description = "10 digits (a company) or 12 (a sole trader)")),
    responses(
        (status = 200, body = Company),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/companies/{inn}")]
pub async fn lookup_company(
    state: web::Data<AppState>,
    request: HttpRequest,
    inn: web::Path<String>,
) -> ApiResult<HttpResponse> {
    validate! {
        inn = "inn" => TaxId::parse(&inn),
    }
    let settings = &state.settings.companies;
    let ip = crate::auth::client_ip(&request, state.settings.trust_proxy_headers);
    let decision = state
        .limiter
        .hit(
            &format!("company-lookup:{ip}"),
            settings.lookups_per_ip_per_minute,
            Duration::from_secs(60),
        )
        .await
        .map_err(ApiError::internal)?;
    if let Decision::Limited { retry_after_secs } = decision {
        return Err(ApiError::rate_limited(retry_after_secs));
    }
    let company = crate::companies::lookup(
        &state.db,
        &state.clock,
        state.companies.as_ref(),
        &inn,
        settings.cache_days,
    )
    .await?;
    Ok(HttpResponse::Ok().json(company))
}

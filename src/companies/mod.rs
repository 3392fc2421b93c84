//! Company lookup by tax number: typing an INN (staff creating a store or a partner,
//! a store registering) fills the company's name and address from the register.
//!
//! Decisions:
//! - The INN is checked by its check digits first; a wrong one never reaches the
//!   register.
//! - A lookup is a read the person waits for, so it is one call with a short timeout,
//!   not an effect: a failure answers `service_unavailable` and the person types on.
//!   Answers (and "no such company") are kept for `companies.cache_days`.
//! - Anyone may look up (the sign-up page asks before a login), within a per-address
//!   rate limit.

pub mod repo;

use crate::db::{Clock, Db};
use crate::domain::TaxId;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::integrations::DeliveryError;
use crate::integrations::companies::{Company, CompanyLookup};

const DAY_MS: i64 = 86_400_000;

/// The company of `inn`, from the cache or the register.
#[tracing::instrument(skip_all)]
pub async fn lookup(
    db: &Db,
    clock: &Clock,
    register: &dyn CompanyLookup,
    inn: &TaxId,
    cache_days: i64,
) -> ApiResult<Company> {
    let now = clock.now_ms();
    let not_found = || ApiError::not_found(format!("a company with INN {}", inn.as_str()));
    if let Some(row) = repo::cached(db, inn.as_str()).await?
        && now - row.fetched_at < cache_days * DAY_MS
    {
        return match row.company {
            Some(json) => serde_json::from_str(&json).map_err(ApiError::internal),
            None => Err(not_found()),
        };
    }
    let found = register.find(inn.as_str()).await.map_err(|err| {
        let mut error = ApiError::new(
            ErrorCode::ServiceUnavailable,
            "the company register is unavailable; type the details by hand or try again",
        );
        if matches!(err, DeliveryError::Retryable(_)) {
            error.retry_after = Some(5);
        }
        error.with_source(anyhow::anyhow!(err))
    })?;
    let json = found
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(ApiError::internal)?;
    repo::keep(db, inn.as_str(), json.as_deref(), now).await?;
    found.ok_or_else(not_found)
}

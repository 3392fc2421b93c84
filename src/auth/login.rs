//! Logging in: finding the account a login or phone names (across programs, unless the
//! client says which), checking a password, and issuing a session.

use std::time::Duration;

use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

use super::{create_session, verify_password};
use crate::config::AuthSettings;
use crate::db::{Clock, Db};
use crate::domain::PersonStatus;
use crate::domain::{Login, Phone, Slug};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::metrics::Metrics;
use crate::ratelimit::Decision;
use crate::ratelimit::RateLimiter;

/// What logging in reaches, by password or by SMS code.
#[derive(Clone, Copy)]
pub struct Logins<'a> {
    /// Accounts, one-time codes and the new session.
    pub db: &'a Db,
    /// Stamps sessions and codes.
    pub clock: &'a Clock,
    /// Session lifetime, code lifetime and the attempt budgets.
    pub settings: &'a AuthSettings,
    /// Counts attempts per client address and failures per login, across nodes.
    pub limiter: &'a dyn RateLimiter,
    /// Logins, codes sent and throttled attempts.
    pub metrics: &'a Metrics,
}

/// How an account is named at login.
pub enum AccountKey<'a> {
    Phone(&'a Phone),
    Login(&'a Login),
}

#[derive(Debug, Clone, FromRow)]
pub struct LoginCandidate {
    pub id: i64,
    pub program_id: i64,
    #[sqlx(try_from = "String")]
    pub status: PersonStatus,
    pub password_hash: Option<String>,
}

/// The one account `key` names. Several matches (the same phone in two programs)
/// without `program` is `program_required`; none is `Ok(None)`, which callers turn
/// into the same answer as a wrong secret so accounts cannot be enumerated.
#[tracing::instrument(skip_all)]
pub async fn find_account(
    db: &Db,
    key: AccountKey<'_>,
    program: Option<&Slug>,
) -> ApiResult<Option<LoginCandidate>> {
    let (column, value) = match key {
        AccountKey::Phone(phone) => ("phone", phone.as_str()),
        AccountKey::Login(login) => ("login", login.as_str()),
    };
    let mut sql = format!(
        "SELECT u.id, u.program_id, u.status, u.password_hash FROM users u
         JOIN programs p ON p.id = u.program_id WHERE u.{column} = $1"
    );
    if program.is_some() {
        sql.push_str(" AND p.slug = $2");
    }
    sql.push_str(" ORDER BY u.id LIMIT 2");
    let mut query = sqlx::query_as::<_, LoginCandidate>(sqlx::AssertSqlSafe(sql)).bind(value);
    if let Some(program) = program {
        query = query.bind(program.as_str());
    }
    let mut matches = query.fetch_all(&db.pool).await?;
    match matches.len() {
        0 => Ok(None),
        1 => Ok(matches.pop()),
        _ => Err(ApiError::new(
            ErrorCode::ProgramRequired,
            "this account exists in several programs; pass `program` with the program's slug",
        )),
    }
}

/// A new session, as returned by every login call.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionIssued {
    /// Opaque bearer token; send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Epoch milliseconds.
    pub expires_at: i64,
    pub user_id: i64,
    pub program_id: i64,
    /// `active`, or `pending` while a registration waits for approval.
    pub status: PersonStatus,
}

#[tracing::instrument(skip_all)]
pub async fn issue_session(
    logins: Logins<'_>,
    account: &LoginCandidate,
) -> ApiResult<SessionIssued> {
    let mut tx = logins.db.begin().await?;
    let (token, expires_at) = create_session(
        &mut tx,
        account.id,
        logins.clock.now_ms(),
        logins.settings.session_ttl_days,
    )
    .await?;
    tx.commit().await?;
    logins.metrics.logins.inc();
    Ok(SessionIssued {
        token,
        expires_at,
        user_id: account.id,
        program_id: account.program_id,
        status: account.status,
    })
}

/// Counts one authentication attempt from `ip`; refuses when the address is over
/// its per-minute budget.
#[tracing::instrument(skip_all)]
pub async fn throttle_ip(logins: Logins<'_>, ip: &str) -> ApiResult<()> {
    let limit = logins.settings.auth_attempts_per_ip_per_minute;
    match logins
        .limiter
        .hit(&format!("auth-ip:{ip}"), limit, Duration::from_secs(60))
        .await
        .map_err(ApiError::internal)?
    {
        Decision::Allowed => Ok(()),
        Decision::Limited { retry_after_secs } => {
            logins.metrics.auth_throttled.inc();
            Err(ApiError::rate_limited(retry_after_secs))
        }
    }
}

const PASSWORD_FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Login with login and password.
#[tracing::instrument(skip_all)]
pub async fn login_with_password(
    logins: Logins<'_>,
    login: &Login,
    password: String,
    program: Option<&Slug>,
    ip: &str,
) -> ApiResult<SessionIssued> {
    throttle_ip(logins, ip).await?;
    let failures_key = format!("pw-fail:{}", login.as_str());
    let failure_limit = logins.settings.password_failures_per_login;
    if let Decision::Limited { retry_after_secs } = logins
        .limiter
        .peek(&failures_key, failure_limit, PASSWORD_FAILURE_WINDOW)
        .await
        .map_err(ApiError::internal)?
    {
        logins.metrics.auth_throttled.inc();
        return Err(ApiError::rate_limited(retry_after_secs));
    }
    let account = find_account(logins.db, AccountKey::Login(login), program).await?;
    let hash = account.as_ref().and_then(|a| a.password_hash.clone());
    let matched = verify_password(hash, password).await;
    let account = match account {
        Some(account) if matched => account,
        _ => {
            logins
                .limiter
                .hit(&failures_key, failure_limit, PASSWORD_FAILURE_WINDOW)
                .await
                .map_err(ApiError::internal)?;
            return Err(ApiError::new(
                ErrorCode::InvalidCredentials,
                "the login or password is wrong",
            ));
        }
    };
    if account.status == PersonStatus::Blocked {
        return Err(ApiError::new(
            ErrorCode::AccountBlocked,
            "the account is blocked",
        ));
    }
    logins
        .limiter
        .reset(&failures_key)
        .await
        .map_err(ApiError::internal)?;
    issue_session(logins, &account).await
}

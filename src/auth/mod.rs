//! Identity: password hashing, opaque bearer sessions (stored hashed, revocable), and
//! turning a token into a [`Principal`] with its access ([`authenticate`]); the
//! extractors that do it for a request live in `api::extract`.

use std::ops::Deref;

use actix_web::HttpRequest;
use actix_web::http::header;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::FromRow;
use stimul_actors::live::RealtimeCore;

use self::cache::AccessCache;
use crate::access::repo::load_access;
use crate::access::{Access, Permission, Target, Visibility};
use crate::db::{Clock, Db, Tx};
use crate::domain::{AccountKind, PersonStatus};
use crate::error::{ApiError, ApiResult, ErrorCode};

pub mod cache;
pub mod login;
pub mod otp;

/// Prefix of session tokens, so a leaked one is recognisable in logs and scanners.
const TOKEN_PREFIX: &str = "stm_";

/// A fresh random token and the hash stored for it.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_token(&token);
    (token, hash)
}

/// Tokens are stored as SHA-256: they are 256-bit random, so a fast hash is enough,
/// and a stolen database gives no usable session.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Hashes a password with Argon2id (OWASP's default parameters) off the async threads.
#[tracing::instrument(skip_all)]
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
    })
    .await?
}

/// A PHC string of a password nobody knows: verified against when the login does not
/// exist, so a miss costs the same time as a hit and logins cannot be enumerated.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c3RpbXVsZHVtbXlzYWx0$Z3VHsUB8ff8lGr0RAmF6VhmrBYsWvX5l2m1zzY1ZtZE";

#[tracing::instrument(skip_all)]
pub async fn verify_password(hash: Option<String>, password: String) -> bool {
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_string());
    let matched = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false);
    known && matched
}

/// Starts a session for `user_id`; returns the token (shown once) and its expiry.
#[tracing::instrument(skip_all, fields(user_id = ?user_id, ttl_days = ?ttl_days))]
pub async fn create_session(
    tx: &mut Tx,
    user_id: i64,
    now_ms: i64,
    ttl_days: i64,
) -> sqlx::Result<(String, i64)> {
    let (token, hash) = new_token();
    let expires_at = now_ms + ttl_days * 86_400_000;
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(hash)
    .bind(user_id)
    .bind(now_ms)
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    Ok((token, expires_at))
}

/// Ends one session (logout): its token stops working at once, on every node.
#[tracing::instrument(skip_all)]
pub async fn end_session(
    db: &Db,
    clock: &Clock,
    live: &RealtimeCore,
    token_hash: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
        .bind(clock.now_ms())
        .bind(token_hash)
        .execute(&db.pool)
        .await?;
    cache::session_ended(live, token_hash);
    Ok(())
}

/// Revokes every session of a user (blocking, password change).
#[tracing::instrument(skip_all, fields(user_id = ?user_id))]
pub async fn revoke_all_sessions(tx: &mut Tx, user_id: i64, now_ms: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now_ms)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The account behind a request.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Account {
    pub id: i64,
    pub program_id: i64,
    #[sqlx(try_from = "String")]
    pub kind: AccountKind,
    pub login: Option<String>,
    pub phone: Option<String>,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub status: PersonStatus,
    pub store_id: Option<i64>,
    pub partner_id: Option<i64>,
    pub brand_id: Option<i64>,
}

pub const ACCOUNT_COLUMNS: &str = "u.id, u.program_id, u.kind, u.login, u.phone, u.name, u.status, u.store_id, u.partner_id, u.brand_id";

/// An authenticated caller: its account, what it may do, and its session.
#[derive(Debug, Clone)]
pub struct Principal {
    pub account: Account,
    pub access: Access,
    pub token_hash: String,
}

impl Principal {
    pub fn id(&self) -> i64 {
        self.account.id
    }

    pub fn program_id(&self) -> i64 {
        self.account.program_id
    }

    /// Refuses unless the caller may do `wanted` to an object at `target`.
    pub fn require(&self, wanted: Permission, target: &Target) -> ApiResult<()> {
        if self.access.allows(wanted, target) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "you need the {wanted} permission for this object"
            )))
        }
    }

    /// Refuses unless the caller holds `wanted` somewhere (before listing).
    pub fn require_anywhere(&self, wanted: Permission) -> ApiResult<Visibility> {
        let visibility = self.access.visibility(wanted);
        if visibility.is_nothing() {
            Err(ApiError::forbidden(format!(
                "you need the {wanted} permission"
            )))
        } else {
            Ok(visibility)
        }
    }

    /// Refuses unless the caller holds `wanted` for the whole program.
    pub fn require_program_wide(&self, wanted: Permission) -> ApiResult<()> {
        self.require(wanted, &Target::program(self.program_id()))
    }
}

/// The bearer token of a request: the `Authorization` header, or for WebSocket
/// upgrades (browsers cannot set headers there) the `token` query parameter.
pub fn request_token(request: &HttpRequest) -> Option<String> {
    if let Some(value) = request.headers().get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))?;
        return Some(token.trim().to_string());
    }
    None
}

/// Resolves a token to its principal, whatever the account status.
#[tracing::instrument(skip_all)]
pub async fn authenticate(
    db: &Db,
    clock: &Clock,
    cache: &AccessCache,
    token: &str,
) -> ApiResult<Principal> {
    let token_hash = hash_token(token);
    let now = clock.now_ms();
    if let Some(principal) = cache.get(&token_hash, now) {
        return Ok(principal);
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ACCOUNT_COLUMNS}, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2"
    )))
    .bind(&token_hash)
    .bind(now)
    .fetch_optional(&db.pool)
    .await?;
    let session_expires_at: i64 = match &row {
        Some(row) => sqlx::Row::try_get(row, "expires_at")?,
        None => 0,
    };
    let account: Option<Account> = row
        .as_ref()
        .map(<Account as sqlx::FromRow<sqlx::any::AnyRow>>::from_row)
        .transpose()?;
    let account = account.ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unauthorized,
            "the token is unknown, expired or revoked; log in again",
        )
    })?;
    if account.status == PersonStatus::Blocked {
        return Err(ApiError::new(
            ErrorCode::AccountBlocked,
            "the account is blocked",
        ));
    }
    let access = load_access(&db.pool, account.id, account.program_id).await?;
    let principal = Principal {
        account,
        access,
        token_hash,
    };
    cache.put(&principal, session_expires_at, now);
    Ok(principal)
}

/// An active caller. Pending accounts are refused with `account_pending`: until a
/// moderator approves them they may only see themselves and log out.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Deref for Caller {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.0
    }
}

/// A caller whose account may still be pending (for `getMe` and `logout`).
#[derive(Debug, Clone)]
pub struct AnyCaller(pub Principal);

impl Deref for AnyCaller {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.0
    }
}

/// The client's address for rate limits. Behind a reverse proxy every request comes
/// from the proxy, so with `trust_proxy_headers` the `Forwarded` / `X-Forwarded-For`
/// address is used instead (only enable it when a proxy you run sets those headers).
pub fn client_ip(request: &HttpRequest, trust_proxy_headers: bool) -> String {
    if trust_proxy_headers && let Some(ip) = request.connection_info().realip_remote_addr() {
        return ip.to_string();
    }
    request
        .peer_addr()
        .map(|addr| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_hashed() {
        let (a, hash_a) = new_token();
        let (b, _) = new_token();
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_ne!(a, b);
        assert_eq!(hash_token(&a), hash_a);
        assert_eq!(hash_a.len(), 64);
    }

    #[tokio::test]
    async fn password_hash_verifies_only_the_password() {
        let hash = hash_password("correct horse".into()).await.ok();
        assert!(verify_password(hash.clone(), "correct horse".into()).await);
        assert!(!verify_password(hash, "wrong horse".into()).await);
        assert!(!verify_password(None, "anything".into()).await);
    }

    #[test]
    fn dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}

//! Login by phone and a one-time SMS code. Codes are 6 digits, stored hashed, expire,
//! are single-use, and burn after a few wrong guesses; requests are limited per phone
//! (each costs an SMS) and attempts per client address. Together these bound a
//! guesser to a handful of tries per hour against a million possibilities.

use std::time::Duration;

use rand::Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::FromRow;
use utoipa::ToSchema;

use super::login::{AccountKey, Logins, SessionIssued, find_account, issue_session, throttle_ip};
use crate::domain::{Phone, Slug};
use crate::effects::Effects;
use crate::effects::{self, NewEffect};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::integrations::sms::{SmsMessage, SmsSender};

/// Codes sent to one user in the throttling window.
#[derive(FromRow)]
struct RecentCodes {
    sent: i64,
    oldest_at: Option<i64>,
}

/// A one-time code as stored (only its hash).
#[derive(FromRow)]
struct CodeRow {
    id: i64,
    code_hash: String,
    expires_at: i64,
    attempts: i64,
    consumed_at: Option<i64>,
}

const CODE_DIGITS: u32 = 6;
const PHONE_WINDOW: Duration = Duration::from_secs(3600);

#[derive(Debug, Serialize, ToSchema)]
pub struct OtpRequested {
    /// Always true: the answer is the same whether or not the phone is registered.
    pub sent: bool,
    /// Seconds the code stays valid.
    pub expires_in: i64,
}

fn code_hash(user_id: i64, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{user_id}:{code}").as_bytes()))
}

/// Compares without an early exit, so timing does not reveal a matching prefix.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[tracing::instrument(skip_all)]
pub async fn request_code(
    logins: Logins<'_>,
    effects: &Effects,
    phone: &Phone,
    program: Option<&Slug>,
    ip: &str,
) -> ApiResult<OtpRequested> {
    throttle_ip(logins, ip).await?;
    let answer = OtpRequested {
        sent: true,
        expires_in: logins.settings.otp_ttl_secs,
    };
    let Some(account) = find_account(logins.db, AccountKey::Phone(phone), program).await? else {
        tracing::info!(phone = %phone.masked(), "otp requested for an unknown phone");
        return Ok(answer);
    };
    if account.status == crate::domain::PersonStatus::Blocked {
        tracing::info!(user_id = account.id, "otp requested for a blocked account");
        return Ok(answer);
    }
    let now = logins.clock.now_ms();
    let window_start = now - PHONE_WINDOW.as_millis() as i64;
    let recent: RecentCodes = sqlx::query_as(
        "SELECT COUNT(*) AS sent, MIN(created_at) AS oldest_at FROM otp_codes WHERE user_id = $1 AND created_at > $2",
    )
    .bind(account.id)
    .bind(window_start)
    .fetch_one(&logins.db.pool)
    .await?;
    let count = recent.sent;
    let oldest = recent.oldest_at;
    if count >= i64::from(logins.settings.otp_requests_per_phone_per_hour) {
        let reopens_at = oldest.unwrap_or(now) + PHONE_WINDOW.as_millis() as i64;
        logins.metrics.auth_throttled.inc();
        return Err(ApiError::rate_limited(
            ((reopens_at - now).max(0) as u64).div_ceil(1000),
        ));
    }

    let code = format!(
        "{:0width$}",
        rand::rng().random_range(0..10u32.pow(CODE_DIGITS)),
        width = CODE_DIGITS as usize
    );
    let mut tx = logins.db.begin().await?;
    sqlx::query(
        "INSERT INTO otp_codes (user_id, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(account.id)
    .bind(code_hash(account.id, &code))
    .bind(now)
    .bind(now + logins.settings.otp_ttl_secs * 1000)
    .execute(&mut *tx)
    .await?;
    let message = SmsMessage {
        to: phone.as_str().to_string(),
        text: format!(
            "Stimul login code: {code}. Valid for {} min. Do not tell it to anyone.",
            (logins.settings.otp_ttl_secs / 60).max(1)
        ),
    };
    let effect = NewEffect {
        kind: SMS_EFFECT,
        dedupe_key: None,
        program_id: Some(account.program_id),
        payload: serde_json::to_value(&message).map_err(ApiError::internal)?,
    };
    effects::enqueue(&mut tx, &effect, now).await?;
    tx.commit().await?;
    effects.ring();
    logins.metrics.otp_sent.inc();
    Ok(answer)
}

#[tracing::instrument(skip_all)]
pub async fn verify_code(
    logins: Logins<'_>,
    phone: &Phone,
    code: &str,
    program: Option<&Slug>,
    ip: &str,
) -> ApiResult<SessionIssued> {
    throttle_ip(logins, ip).await?;
    let wrong = || ApiError::new(ErrorCode::OtpInvalid, "the code is wrong");
    let account = match find_account(logins.db, AccountKey::Phone(phone), program).await? {
        Some(account) if account.status != crate::domain::PersonStatus::Blocked => account,
        _ => return Err(wrong()),
    };
    let latest: Option<CodeRow> = sqlx::query_as(
        "SELECT id, code_hash, expires_at, attempts, consumed_at FROM otp_codes
         WHERE user_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(account.id)
    .fetch_optional(&logins.db.pool)
    .await?;
    let Some(latest) = latest else {
        return Err(wrong());
    };
    let CodeRow {
        id,
        code_hash: stored_hash,
        expires_at,
        attempts,
        consumed_at,
    } = latest;
    let now = logins.clock.now_ms();
    let max_attempts = logins.settings.otp_max_attempts;
    let burnt = || {
        logins.metrics.auth_throttled.inc();
        let mut err = ApiError::rate_limited(((expires_at - now).max(1000) as u64).div_ceil(1000));
        err.detail = "too many wrong codes; request a new code".into();
        err
    };

    if consumed_at.is_some() {
        return Err(ApiError::new(
            ErrorCode::OtpUsed,
            "this code was already used; request a new one",
        ));
    }
    if attempts >= max_attempts {
        return Err(burnt());
    }
    if now >= expires_at {
        return Err(ApiError::new(
            ErrorCode::OtpExpired,
            "the code has expired; request a new one",
        ));
    }
    if !same(&code_hash(account.id, code.trim()), &stored_hash) {
        let counted = sqlx::query(
            "UPDATE otp_codes SET attempts = attempts + 1 WHERE id = $1 AND attempts < $2",
        )
        .bind(id)
        .bind(max_attempts)
        .execute(&logins.db.pool)
        .await?
        .rows_affected();
        if counted == 0 || attempts + 1 >= max_attempts {
            return Err(burnt());
        }
        let mut err = wrong();
        err.detail = format!(
            "the code is wrong; {} attempt(s) left",
            max_attempts - attempts - 1
        );
        return Err(err);
    }
    // Consume atomically: of two racing verifications with the right code, one wins.
    let consumed = sqlx::query(
        "UPDATE otp_codes SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL AND attempts < $3",
    )
    .bind(now)
    .bind(id)
    .bind(max_attempts)
    .execute(&logins.db.pool)
    .await?
    .rows_affected();
    if consumed == 0 {
        return Err(ApiError::new(
            ErrorCode::OtpUsed,
            "this code was already used; request a new one",
        ));
    }
    issue_session(logins, &account).await
}

/// The effect kind that sends one SMS; its payload is an [`SmsMessage`].
pub const SMS_EFFECT: &str = "sms";

/// Sends SMS written to the effect queue as [`SMS_EFFECT`].
pub struct SmsEffect {
    pub sender: Box<dyn SmsSender>,
    /// Tries before a message is parked as dead (`sms.max_attempts`).
    pub max_attempts: u32,
}

#[async_trait::async_trait]
impl effects::EffectHandler for SmsEffect {
    fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    async fn run(
        &self,
        _effects: &Effects,
        effect: &effects::Effect,
    ) -> Result<(), effects::Failure> {
        let message: SmsMessage = effect.payload()?;
        Ok(self.sender.send(&message).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_hash_depends_on_user_and_code() {
        assert_ne!(code_hash(1, "123456"), code_hash(2, "123456"));
        assert_ne!(code_hash(1, "123456"), code_hash(1, "123457"));
        assert!(same(&code_hash(1, "1"), &code_hash(1, "1")));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}

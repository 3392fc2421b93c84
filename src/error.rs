//! The one error type of the API. Every failure a client can see is an [`ErrorCode`]:
//! a stable snake_case code mapped once, here, to an HTTP status and an RFC 9457
//! `application/problem+json` body. The same codes appear in WebSocket `error` frames.
//! Causes (database errors, I/O) go to the log, never to the client.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal => ($status:expr, $title:expr) ),+ $(,)?) => {
        /// Stable error codes. Clients switch on these; never rename one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
        pub enum ErrorCode {
            $( $(#[$doc])* #[serde(rename = $name)] #[schema(rename = $name)] $variant, )+
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The snake_case code, as in JSON.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $name,)+ }
            }

            pub fn status(self) -> StatusCode {
                match self { $(ErrorCode::$variant => $status,)+ }
            }

            /// A short, human-readable summary that does not change between occurrences.
            pub fn title(self) -> &'static str {
                match self { $(ErrorCode::$variant => $title,)+ }
            }
        }
    };
}

error_codes! {
    /// The body is not valid JSON or a field has the wrong type.
    InvalidJson = "invalid_json" => (StatusCode::BAD_REQUEST, "The request body is not valid JSON for this operation"),
    /// A query string or path parameter could not be parsed.
    InvalidParameter = "invalid_parameter" => (StatusCode::BAD_REQUEST, "A request parameter is malformed"),
    /// Fields are well-formed JSON but break a rule; `errors` lists them.
    ValidationFailed = "validation_failed" => (StatusCode::UNPROCESSABLE_ENTITY, "Some fields are invalid"),
    PayloadTooLarge = "payload_too_large" => (StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large"),
    UnsupportedMediaType = "unsupported_media_type" => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "The content type is not accepted here"),
    NotFound = "not_found" => (StatusCode::NOT_FOUND, "Not found"),
    MethodNotAllowed = "method_not_allowed" => (StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
    /// No bearer token, or one that is unknown, expired or revoked.
    Unauthorized = "unauthorized" => (StatusCode::UNAUTHORIZED, "Authentication required"),
    InvalidCredentials = "invalid_credentials" => (StatusCode::UNAUTHORIZED, "Login or password is wrong"),
    OtpInvalid = "otp_invalid" => (StatusCode::UNAUTHORIZED, "The one-time code is wrong"),
    OtpExpired = "otp_expired" => (StatusCode::UNAUTHORIZED, "The one-time code has expired; request a new one"),
    OtpUsed = "otp_used" => (StatusCode::UNAUTHORIZED, "The one-time code was already used; request a new one"),
    Forbidden = "forbidden" => (StatusCode::FORBIDDEN, "You are not allowed to do this"),
    AccountPending = "account_pending" => (StatusCode::FORBIDDEN, "The account is waiting for approval"),
    AccountBlocked = "account_blocked" => (StatusCode::FORBIDDEN, "The account is blocked"),
    RateLimited = "rate_limited" => (StatusCode::TOO_MANY_REQUESTS, "Too many attempts; wait and try again"),
    Conflict = "conflict" => (StatusCode::CONFLICT, "The request conflicts with existing data"),
    InvalidState = "invalid_state" => (StatusCode::CONFLICT, "The object is not in a state that allows this"),
    /// The login or phone matches accounts in several programs; say which one.
    ProgramRequired = "program_required" => (StatusCode::CONFLICT, "Several programs match; pass `program`"),
    /// The same `Idempotency-Key` was sent with a different request.
    IdempotencyKeyReused = "idempotency_key_reused" => (StatusCode::UNPROCESSABLE_ENTITY, "The Idempotency-Key was already used for a different request"),
    /// A request with this `Idempotency-Key` is still being processed.
    RequestInProgress = "request_in_progress" => (StatusCode::CONFLICT, "A request with this Idempotency-Key is still in progress"),
    InvalidInvitation = "invalid_invitation" => (StatusCode::UNPROCESSABLE_ENTITY, "The invitation code is unknown, expired or used up"),
    /// A moderation decision on an item the caller does not hold (any more).
    ItemNotHeld = "item_not_held" => (StatusCode::CONFLICT, "You do not hold this moderation item"),
    /// A debit larger than the participant's available points.
    InsufficientPoints = "insufficient_points" => (StatusCode::CONFLICT, "Not enough points"),
    /// The campaign's prize fund cannot pay this.
    FundExhausted = "fund_exhausted" => (StatusCode::CONFLICT, "The campaign's fund is exhausted"),
    /// The task is inactive, not started yet or over.
    TaskUnavailable = "task_unavailable" => (StatusCode::CONFLICT, "The task is not open now"),
    /// Every completion the task allows this period is done or waiting for a moderator.
    CompletionLimitReached = "completion_limit_reached" => (StatusCode::CONFLICT, "The task is done as often as this period allows"),
    /// Every attempt the task allows this period is used (e.g. a failed quiz).
    AttemptsExhausted = "attempts_exhausted" => (StatusCode::CONFLICT, "No attempts left at this task this period"),
    /// A sales plan was claimed before its targets were reached.
    PlanNotMet = "plan_not_met" => (StatusCode::CONFLICT, "The sales plan is not met yet"),
    /// An order for more codes than its pool holds; a refill has been started.
    NotEnoughCodes = "not_enough_codes" => (StatusCode::CONFLICT, "The code pool does not hold that many codes"),
    /// The code's check letter or length is wrong: a typo, caught before any lookup.
    CodeMistyped = "code_mistyped" => (StatusCode::UNPROCESSABLE_ENTITY, "The code is mistyped"),
    /// No such code was ever issued.
    CodeUnknown = "code_unknown" => (StatusCode::NOT_FOUND, "There is no such code"),
    /// The code was registered before (by anyone); a code counts once, ever.
    CodeAlreadyRegistered = "code_already_registered" => (StatusCode::CONFLICT, "The code is already registered"),
    /// No campaign paying for the code's product is running now.
    CampaignInactive = "campaign_inactive" => (StatusCode::CONFLICT, "The campaign is not running"),
    /// The participant is outside the audience of every campaign paying for it.
    NotEligible = "not_eligible" => (StatusCode::FORBIDDEN, "You do not take part in this campaign"),
    /// Too many wrong codes: registration is blocked for a while (brute force).
    CodeAttemptsBlocked = "code_attempts_blocked" => (StatusCode::TOO_MANY_REQUESTS, "Too many wrong codes; registration is blocked for now"),
    /// The receipt number was registered before.
    DuplicateReceipt = "duplicate_receipt" => (StatusCode::CONFLICT, "This receipt is already registered"),
    /// The payout would go past the participant's limit per day or per 30 days.
    PayoutLimitExceeded = "payout_limit_exceeded" => (StatusCode::CONFLICT, "The payout limit is reached"),
    /// No units of the reward are left for this order.
    OutOfStock = "out_of_stock" => (StatusCode::CONFLICT, "The reward is out of stock"),
    /// The reward is switched off or outside its offer window.
    RewardUnavailable = "reward_unavailable" => (StatusCode::CONFLICT, "The reward is not on offer now"),
    /// The participant is outside the reward's audience (region, level, role).
    RewardNotEligible = "reward_not_eligible" => (StatusCode::FORBIDDEN, "This reward is not offered to you"),
    /// A callback whose signature does not match its body and our secret.
    InvalidSignature = "invalid_signature" => (StatusCode::UNAUTHORIZED, "The signature is missing or wrong"),
    /// A CSV import was refused as a whole; `rows` lists every bad row.
    ImportRejected = "import_rejected" => (StatusCode::UNPROCESSABLE_ENTITY, "The file has invalid rows; nothing was imported"),
    ServiceUnavailable = "service_unavailable" => (StatusCode::SERVICE_UNAVAILABLE, "The service is temporarily unavailable"),
    Internal = "internal" => (StatusCode::INTERNAL_SERVER_ERROR, "Internal error"),
}

impl ErrorCode {
    /// The problem `type` URI. Relative, so it resolves against whichever host served
    /// it; `GET /problems/{code}` describes it.
    pub fn type_uri(self) -> String {
        format!("/problems/{}", self.as_str())
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One invalid field: `field` is a JSON pointer-ish dotted path (`store.name`).
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// One rejected row of an import; `row` counts from 1 at the first data row.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct RowError {
    pub row: u64,
    pub errors: Vec<FieldError>,
}

/// The body of every error response (`application/problem+json`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `/problems/{code}`; stable.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: &'static str,
    pub status: u16,
    /// What went wrong in this case, for a human.
    pub detail: String,
    /// The same code as in `type`, for clients that prefer not to parse a URI.
    pub code: ErrorCode,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<RowError>,
    /// Seconds to wait, for `rate_limited`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub rows: Vec<RowError>,
    pub retry_after: Option<u64>,
    /// Logged, never sent.
    pub source: Option<anyhow::Error>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            rows: Vec::new(),
            // Unavailable is always temporary: say when to come back.
            retry_after: (code == ErrorCode::ServiceUnavailable).then_some(1),
            source: None,
        }
    }

    pub fn not_found(what: impl fmt::Display) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, detail)
    }

    pub fn invalid_state(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidState, detail)
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut err = Self::new(
            ErrorCode::RateLimited,
            format!("too many attempts; try again in {retry_after_secs} s"),
        );
        err.retry_after = Some(retry_after_secs.max(1));
        err
    }

    /// A single invalid field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::fields(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    pub fn fields(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        let mut err = Self::new(ErrorCode::ValidationFailed, detail);
        err.errors = errors;
        err
    }

    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        let mut err = Self::new(ErrorCode::Internal, "an internal error occurred");
        err.source = Some(source.into());
        err
    }

    /// `what` (the live state, a leaderboard, the moderation queue) could not be read
    /// from the live actors: the client is told to retry, the log keeps the cause.
    pub fn live_unavailable(what: &str, err: stimul_actors::live::LiveError) -> Self {
        ApiError::new(
            ErrorCode::ServiceUnavailable,
            format!("{what} is unavailable: {err}"),
        )
        .with_source(err)
    }

    pub fn with_source(mut self, source: impl Into<anyhow::Error>) -> Self {
        self.source = Some(source.into());
        self
    }

    pub fn problem(&self) -> Problem {
        Problem {
            type_uri: self.code.type_uri(),
            title: self.code.title(),
            status: self.code.status().as_u16(),
            detail: self.detail.clone(),
            code: self.code,
            errors: self.errors.clone(),
            rows: self.rows.clone(),
            retry_after: self.retry_after,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        // The one place request failures are logged: server-side failures always, client
        // mistakes only when they carry a cause worth reading.
        if self.source.is_none() && self.code.status().is_server_error() {
            tracing::error!(code = %self.code, detail = %self.detail, "request failed");
        }
        if let Some(source) = &self.source {
            if self.code == ErrorCode::Internal {
                tracing::error!(code = %self.code, error = ?source, "request failed");
            } else {
                tracing::warn!(code = %self.code, error = ?source, "request refused");
            }
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        if let Some(secs) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        response.json(self.problem())
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => ApiError::not_found("object").with_source(err),
            sqlx::Error::Database(db) if db.is_unique_violation() => ApiError::new(
                ErrorCode::Conflict,
                "an object with these values already exists",
            )
            .with_source(err),
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => ApiError::new(
                ErrorCode::ValidationFailed,
                "a referenced object does not exist",
            )
            .with_source(err),
            sqlx::Error::Database(db) if db.is_check_violation() => ApiError::new(
                ErrorCode::ValidationFailed,
                "the change breaks a rule of the data model",
            )
            .with_source(err),
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => ApiError::new(
                ErrorCode::ServiceUnavailable,
                "the database is busy; retry shortly",
            )
            .with_source(err),
            _ => ApiError::internal(err),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        match err.downcast::<ApiError>() {
            Ok(api) => api,
            Err(err) => match err.downcast::<sqlx::Error>() {
                Ok(db) => db.into(),
                Err(other) => ApiError::internal(other),
            },
        }
    }
}

impl From<stimul_actors::participant::ParticipantError> for ApiError {
    fn from(err: stimul_actors::participant::ParticipantError) -> Self {
        use stimul_actors::ledger::{AccountKey, LedgerError};
        use stimul_actors::participant::ParticipantError as P;
        match err {
            P::NotFound(id) => ApiError::not_found(format!("participant {id}")),
            P::Overflow => ApiError::field("amount", "the amount is too large"),
            P::ZeroAmount => ApiError::field("amount", "must not be zero"),
            P::Ledger(LedgerError::InsufficientFunds {
                account: AccountKey::CampaignFund(campaign),
            }) => ApiError::new(
                ErrorCode::FundExhausted,
                format!("campaign {campaign}'s fund cannot pay this"),
            ),
            P::Ledger(LedgerError::InsufficientFunds { .. }) => ApiError::new(
                ErrorCode::InsufficientPoints,
                "the participant does not have that many available points",
            ),
            P::Ledger(LedgerError::NotPending { transaction_id }) => ApiError::invalid_state(
                format!("transaction {transaction_id} is not a pending hold (already settled?)"),
            ),
            P::Ledger(LedgerError::Empty) => ApiError::field("amount", "nothing to move"),
            P::Ledger(LedgerError::KeyReused) => ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was used for a different request; use a new key",
            ),
            P::Ledger(err @ (LedgerError::Storage(_) | LedgerError::ShuttingDown)) => {
                ApiError::new(
                    ErrorCode::ServiceUnavailable,
                    "the ledger is unavailable; retry shortly",
                )
                .with_source(anyhow::anyhow!(err))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_serde() {
        for code in ErrorCode::ALL {
            let serde_name = serde_json::to_value(code).ok();
            assert_eq!(
                serde_name,
                Some(serde_json::Value::String(code.as_str().to_string()))
            );
        }
    }

    #[test]
    fn problem_has_stable_type_and_status() {
        let problem = ApiError::field("phone", "must start with +").problem();
        let json = serde_json::to_value(&problem).unwrap_or_default();
        assert_eq!(json["type"], "/problems/validation_failed");
        assert_eq!(json["status"], 422);
        assert_eq!(json["errors"][0]["field"], "phone");
    }
}

//! The extractors that turn a request's bearer token into its caller: [`Caller`] (an
//! active account) and [`AnyCaller`] (pending too), read from the application state;
//! the auth area does the resolving ([`crate::auth::authenticate`]).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use crate::auth::{AnyCaller, Caller, Principal, authenticate, request_token};
use crate::domain::PersonStatus;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::AppState;

/// The outcome of authenticating a request's bearer token, settled before the handler's
/// arguments are read ([`authenticate_early`]), so a refusal for who the caller is
/// always comes before anything about what they sent.
#[derive(Clone)]
enum Authenticated {
    Yes(Principal),
    No { code: ErrorCode, detail: String },
}

/// Authenticates a request that carries a token before its handler runs (a
/// middleware step): the extractors then answer at once, so a body that fails to
/// parse never answers in place of `unauthorized` or `account_pending`.
#[tracing::instrument(skip_all)]
pub async fn authenticate_early(request: &HttpRequest) {
    let Some(state) = request.app_data::<web::Data<AppState>>() else {
        return;
    };
    let Some(token) = request_token(request) else {
        return;
    };
    let outcome = match authenticate(&state.db, &state.clock, &state.access_cache, &token).await {
        Ok(principal) => Authenticated::Yes(principal),
        Err(err) => Authenticated::No {
            code: err.code,
            detail: err.detail,
        },
    };
    actix_web::HttpMessage::extensions_mut(request).insert(outcome);
}

#[tracing::instrument(skip_all)]
async fn principal_from_request(request: HttpRequest) -> ApiResult<Principal> {
    let settled = actix_web::HttpMessage::extensions(&request)
        .get::<Authenticated>()
        .cloned();
    match settled {
        Some(Authenticated::Yes(principal)) => return Ok(principal),
        Some(Authenticated::No { code, detail }) => return Err(ApiError::new(code, detail)),
        None => {}
    }
    let state = request
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))?;
    let token = request_token(&request).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unauthorized,
            "send `Authorization: Bearer <token>`; log in to get a token",
        )
    })?;
    authenticate(&state.db, &state.clock, &state.access_cache, &token).await
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let principal = principal_from_request(request).await?;
            if principal.account.status == PersonStatus::Pending {
                return Err(ApiError::new(
                    ErrorCode::AccountPending,
                    "your registration is waiting for approval by a moderator",
                ));
            }
            Ok(Caller(principal))
        })
    }
}

impl FromRequest for AnyCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move { principal_from_request(request).await.map(AnyCaller) })
    }
}

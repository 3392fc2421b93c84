//! Logging in and out, and `getMe`.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::login::{Logins, SessionIssued, login_with_password as password_login};
use crate::auth::otp::{self, OtpRequested};
use crate::auth::{AnyCaller, client_ip};
use crate::domain::{AccountKind, PersonStatus};
use crate::domain::{Login, Phone, Slug, optional};
use crate::error::{ApiResult, Problem};
use crate::org::programs;
use crate::state::AppState;
use crate::validate;

#[derive(Debug, Deserialize, ToSchema)]
pub struct OtpRequest {
    /// The phone to send the code to, e.g. `+79001234567`.
    pub phone: String,
    /// Program slug; needed only when the phone is registered in several programs.
    pub program: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OtpVerify {
    pub phone: String,
    /// The code from the SMS.
    pub code: String,
    pub program: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordLogin {
    pub login: String,
    pub password: String,
    pub program: Option<String>,
}

/// Sends a one-time login code by SMS. The answer is the same whether or not the phone
/// is registered.
#[utoipa::path(
    operation_id = "requestOtp", tag = "auth", request_body = OtpRequest,
    responses(
        (status = 202, body = OtpRequested),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/auth/otp")]
pub async fn request_otp(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<OtpRequest>,
) -> ApiResult<HttpResponse> {
    validate! {
        phone = "phone" => Phone::parse(&body.phone),
        program = "program" => optional(body.program.as_deref(), Slug::parse),
    }
    let ip = client_ip(&request, state.settings.trust_proxy_headers);
    let answer = otp::request_code(
        logins_of(&state),
        &state.effects,
        &phone,
        program.as_ref(),
        &ip,
    )
    .await?;
    Ok(HttpResponse::Accepted().json(answer))
}

/// Exchanges a one-time code for a session.
#[utoipa::path(
    operation_id = "verifyOtp", tag = "auth", request_body = OtpVerify,
    responses(
        (status = 200, body = SessionIssued),
        (status = 401, description = "otp_invalid, otp_expired or otp_used", body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/auth/otp/verify")]
pub async fn verify_otp(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<OtpVerify>,
) -> ApiResult<HttpResponse> {
    validate! {
        phone = "phone" => Phone::parse(&body.phone),
        code = "code" => check_code_shape(&body.code),
        program = "program" => optional(body.program.as_deref(), Slug::parse),
    }
    let ip = client_ip(&request, state.settings.trust_proxy_headers);
    let session = otp::verify_code(logins_of(&state), &phone, code, program.as_ref(), &ip).await?;
    Ok(HttpResponse::Ok().json(session))
}

fn check_code_shape(code: &str) -> Result<&str, String> {
    let code = code.trim();
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code)
    } else {
        Err("the code has 6 digits".into())
    }
}

/// Logs in with login and password.
#[utoipa::path(
    operation_id = "loginWithPassword", tag = "auth", request_body = PasswordLogin,
    responses(
        (status = 200, body = SessionIssued),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/auth/login")]
pub async fn login_with_password(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<PasswordLogin>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    validate! {
        login = "login" => Login::parse(&body.login),
        program = "program" => optional(body.program.as_deref(), Slug::parse),
    }
    let ip = client_ip(&request, state.settings.trust_proxy_headers);
    let session = password_login(
        logins_of(&state),
        &login,
        body.password,
        program.as_ref(),
        &ip,
    )
    .await?;
    Ok(HttpResponse::Ok().json(session))
}

/// Ends this session (the token stops working at once).
#[utoipa::path(
    operation_id = "logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/auth/logout")]
pub async fn logout(state: web::Data<AppState>, caller: AnyCaller) -> ApiResult<HttpResponse> {
    crate::auth::end_session(&state.db, &state.clock, &state.live, &caller.token_hash).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A role the caller holds and where.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeldRole {
    pub role: String,
    pub scope: crate::access::Scope,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: i64,
    pub login: Option<String>,
    pub phone: Option<String>,
    pub name: String,
    /// `participant` or `staff`.
    pub kind: AccountKind,
    /// `pending` until a registration is approved, then `active`.
    pub status: PersonStatus,
    pub program_id: i64,
    pub program: String,
    /// The participant's store.
    pub store_id: Option<i64>,
    pub partner_id: Option<i64>,
    pub brand_id: Option<i64>,
    pub roles: Vec<HeldRole>,
    /// A participant's points (decimal strings); absent for staff.
    pub balance: Option<stimul_actors::participant::BalanceView>,
    /// A participant's level; absent for staff.
    pub level: Option<stimul_actors::participant::LevelView>,
    pub next_level: Option<stimul_actors::participant::NextLevelView>,
    pub completed_tasks: Option<i64>,
    /// A participant's next expiry (`amount`, `on`, `at`), or null when nothing will
    /// expire.
    pub expiring: Option<crate::expiry::Expiring>,
    /// What a participant owes after a recalculation took back more than they had,
    /// decimal string (`"0.00"` when nothing); absent for staff.
    #[schema(value_type = Option<String>)]
    pub debt: Option<stimul_actors::rules::points::Points>,
    /// Every permission the caller holds somewhere (`stores.view`, …); an edit
    /// permission brings its view permission along.
    pub permissions: Vec<String>,
}

/// The caller's own account, roles and permissions. Works for pending accounts.
#[utoipa::path(
    operation_id = "getMe", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/me")]
pub async fn get_me(state: web::Data<AppState>, caller: AnyCaller) -> ApiResult<HttpResponse> {
    let program = programs::by_id(&state.db.pool, caller.program_id()).await?;
    let account = &caller.account;
    let mut permissions: Vec<String> = caller
        .access
        .grants
        .iter()
        .flat_map(|g| g.permissions.iter())
        .flat_map(|p| [*p, crate::access::Permission::view(p.section)])
        .map(|p| p.to_string())
        .collect();
    permissions.sort();
    permissions.dedup();
    let (standing, expiring) = if account.kind.is_participant() {
        let view = state
            .live
            .participant_view(account.id)
            .await
            .map_err(|e| crate::error::ApiError::live_unavailable("points", e))?;
        let expiring = crate::expiry::next_of(&state.db, &state.clock, account.id).await?;
        (Some(view), expiring)
    } else {
        (None, None)
    };
    let me = Me {
        id: account.id,
        login: account.login.clone(),
        phone: account.phone.clone(),
        name: account.name.clone(),
        kind: account.kind,
        status: account.status,
        program_id: account.program_id,
        program: program.slug,
        store_id: account.store_id,
        partner_id: account.partner_id,
        brand_id: account.brand_id,
        roles: caller
            .access
            .grants
            .iter()
            .map(|g| HeldRole {
                role: g.role.clone(),
                scope: g.scope,
            })
            .collect(),
        permissions,
        balance: standing.as_ref().map(|s| s.balance),
        level: standing.as_ref().map(|s| s.level.clone()),
        next_level: standing.as_ref().and_then(|s| s.next_level.clone()),
        completed_tasks: standing.as_ref().map(|s| s.completed_tasks),
        debt: standing.as_ref().map(|s| s.debt),
        expiring,
    };
    Ok(HttpResponse::Ok().json(me))
}

/// The handles the login use cases take together.
fn logins_of(state: &AppState) -> Logins<'_> {
    Logins {
        db: &state.db,
        clock: &state.clock,
        settings: &state.settings.auth,
        limiter: &*state.limiter,
        metrics: &state.metrics,
    }
}

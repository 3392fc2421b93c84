//! The HTTP API under `/api/v1`. Each submodule holds the handlers of one area; this
//! module wires them up once, for both the router and the OpenAPI document, and maps
//! actix's extractor failures onto the API's error codes.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{ApiError, ErrorCode};

pub mod auth;
pub mod campaigns;
pub mod codes;
pub mod companies;
pub mod content;
pub mod effects;
pub mod expiry;
pub mod extract;
pub mod health;
pub mod imports;
pub mod mailings;
pub mod moderation;
pub mod notifications;
pub mod org;
pub mod participants;
pub mod photos;
pub mod points;
pub mod recalculation;
pub mod reports;
pub mod rewards;
pub mod roles;
pub mod stores;
pub mod support;
pub mod tasks;
pub mod tax;
pub mod webhooks;

/// The JSON body extractor settings: size limit and problem+json errors.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _request| json_error(err).into())
}

fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the body is larger than {limit} bytes"),
        ),
        JsonPayloadError::ContentType => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the body as JSON with `Content-Type: application/json`",
        ),
        JsonPayloadError::Deserialize(err) => {
            ApiError::new(ErrorCode::InvalidJson, describe_json_error(&err))
        }
        other => ApiError::new(
            ErrorCode::InvalidJson,
            format!("the body could not be read: {other}"),
        ),
    }
}

/// serde's own words, which name the field and position ("missing field `phone` at
/// line 1 column 2"), are what a client developer needs.
fn describe_json_error(err: &serde_json::Error) -> String {
    match err.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("the body is not valid JSON: {err}")
        }
        _ => format!("the body does not fit this operation: {err}"),
    }
}

/// Parses a JSON body read by hand (an endpoint that also takes multipart) with the
/// same errors as the JSON extractor.
pub fn json_from_slice<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|err| ApiError::new(ErrorCode::InvalidJson, describe_json_error(&err)))
}

/// Whether the request says its body is a multipart form.
pub fn is_multipart(request: &HttpRequest) -> bool {
    request
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
}

/// Reads a multipart form (its fields and photos), refusing any other body with
/// `unsupported_media_type`; `expected` tells the client what to send.
pub async fn read_multipart(
    request: &HttpRequest,
    payload: web::Payload,
    expected: &str,
) -> Result<crate::photos::Upload, ApiError> {
    if !is_multipart(request) {
        return Err(ApiError::new(ErrorCode::UnsupportedMediaType, expected));
    }
    crate::photos::read_upload(actix_multipart::Multipart::new(request.headers(), payload)).await
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err: PathError, _request| {
        ApiError::new(
            ErrorCode::InvalidParameter,
            format!("the URL has a malformed part: {err}"),
        )
        .into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _request| {
        ApiError::new(
            ErrorCode::InvalidParameter,
            format!("the query string is malformed: {err}"),
        )
        .into()
    })
}

/// Everything that matched no route.
pub async fn not_found(request: HttpRequest) -> Result<HttpResponse, ApiError> {
    // Browsers get the web UI's files; the API gets a problem.
    if request.method() == actix_web::http::Method::GET && !request.path().starts_with("/api/") {
        return Ok(crate::web::asset(request).await);
    }
    Err(ApiError::new(
        ErrorCode::NotFound,
        format!("no such endpoint: {} {}", request.method(), request.path()),
    ))
}

/// `GET /problems/{code}`: what a problem `type` means.
pub async fn problem_page(code: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let code = ErrorCode::ALL
        .iter()
        .find(|candidate| candidate.as_str() == code.as_str())
        .ok_or_else(|| ApiError::not_found(format!("problem type {:?}", code.as_str())))?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "type": code.type_uri(),
        "code": code.as_str(),
        "title": code.title(),
        "status": code.status().as_u16(),
    })))
}

/// Lists each handler once: the router and the OpenAPI document are made from it.
macro_rules! api {
    ($($($segment:ident)::+),+ $(,)?) => {
        pub fn configure(config: &mut web::ServiceConfig) {
            $( config.service($($segment)::+); )+
        }

        #[derive(OpenApi)]
        #[openapi(
            info(
                title = "Stimul API",
                description = "Stimul: a real-time motivation platform. Errors are `application/problem+json` with a stable `code`; mutating calls a phone may retry accept an `Idempotency-Key` header; amounts are decimal strings.",
                license(name = "AGPL-3.0-or-later"),
            ),
            paths($($($segment)::+),+),
            components(schemas(crate::error::Problem, crate::error::ErrorCode, crate::error::FieldError, crate::error::RowError)),
            modifiers(&BearerAuth),
        )]
        pub struct ApiDoc;
    };
}

api! {
    health::healthz,
    health::readyz,
    auth::request_otp,
    auth::verify_otp,
    auth::login_with_password,
    auth::logout,
    auth::get_me,
    participants::register_participant,
    participants::approve_participant,
    participants::reject_participant,
    participants::list_participants,
    participants::get_participant,
    participants::create_participant,
    participants::update_participant,
    participants::set_participant_status,
    participants::create_invitation,
    stores::create_store,
    stores::list_stores,
    stores::get_store,
    stores::update_store,
    stores::set_store_status,
    imports::import_stores,
    imports::import_participants,
    roles::list_permissions,
    roles::list_roles,
    roles::create_role,
    roles::update_role,
    roles::delete_role,
    roles::list_user_roles,
    roles::assign_role,
    roles::revoke_role,
    roles::create_staff_user,
    org::get_program,
    org::update_program,
    org::create_region,
    org::list_regions,
    org::create_partner,
    org::list_partners,
    org::create_brand,
    org::list_brands,
    points::adjust_points,
    points::award_points,
    points::confirm_hold,
    points::cancel_hold,
    points::list_my_transactions,
    points::list_participant_transactions,
    points::get_participant_standing,
    points::get_store_progress,
    points::check_ledger,
    moderation::decide_moderation,
    moderation::take_moderation_item,
    moderation::list_held,
    moderation::list_items,
    moderation::get_stats,
    moderation::list_reasons,
    photos::get_photo,
    tasks::create_task,
    tasks::update_task,
    tasks::list_tasks,
    tasks::get_task,
    tasks::list_task_submissions,
    tasks::submit_task,
    tasks::list_my_tasks,
    tasks::list_my_submissions,
    tasks::create_quest,
    tasks::update_quest,
    tasks::list_quests,
    tasks::get_task_settings,
    tasks::update_task_settings,
    codes::create_code_pool,
    codes::list_code_pools,
    codes::get_code_pool,
    codes::refill_code_pool,
    codes::create_code_batch,
    codes::get_code_batch,
    codes::download_code_batch,
    // Before `downloadReport`, whose `{report}` would take `tax` too.
    reports::get_tax_report,
    reports::download_report,
    campaigns::create_campaign,
    campaigns::update_campaign,
    campaigns::list_campaigns,
    campaigns::get_campaign,
    campaigns::set_campaign_plans,
    campaigns::get_leaderboard,
    campaigns::register_code,
    campaigns::create_product,
    campaigns::list_products,
    campaigns::import_products,
    campaigns::register_sale,
    campaigns::list_my_receipts,
    effects::list_effects,
    effects::retry_effect,
    expiry::get_expiry_rule,
    expiry::update_expiry_rule,
    expiry::run_expiry,
    expiry::get_expiry_run,
    expiry::list_expiry_runs,
    expiry::list_my_expiring,
    notifications::list_my_notifications,
    mailings::count_mailing_audience,
    mailings::create_mailing,
    mailings::get_mailing,
    mailings::list_mailings,
    mailings::cancel_mailing,
    notifications::get_my_notification_settings,
    notifications::update_my_notification_settings,
    notifications::list_notification_templates,
    notifications::update_notification_template,
    content::list_news,
    content::get_news,
    content::create_news,
    content::update_news,
    content::get_program_rules,
    content::update_program_rules,
    content::list_faq,
    content::create_faq_entry,
    content::update_faq_entry,
    content::delete_faq_entry,
    support::create_support_request,
    support::list_my_support_requests,
    support::list_support_requests,
    support::get_support_request,
    support::reply_to_support_request,
    support::close_support_request,
    companies::lookup_company,
    webhooks::list_webhooks,
    webhooks::create_webhook,
    webhooks::update_webhook,
    webhooks::list_webhook_deliveries,
    webhooks::resend_webhook_delivery,
    notifications::mark_notifications_read,
    tax::get_tax_rule,
    tax::update_tax_rule,
    tax::set_my_tax_id,
    tax::get_my_tax_certificate,
    tax::get_tax_certificate,
    // Before `getRecalculation`, whose `{id}` would take `preview` too.
    recalculation::preview_recalculation,
    recalculation::apply_recalculation,
    recalculation::get_recalculation,
    recalculation::list_recalculations,
    recalculation::list_debts,
    rewards::list_reward_categories,
    rewards::list_rewards,
    rewards::get_reward,
    rewards::create_reward,
    rewards::update_reward,
    rewards::set_reward_picture,
    rewards::import_rewards,
    rewards::place_order,
    rewards::list_my_orders,
    rewards::list_orders,
    rewards::get_order,
    rewards::cancel_order,
    rewards::set_order_status,
    rewards::provider_callback,
    rewards::add_payout_card,
    rewards::list_payout_cards,
    rewards::request_payout,
    rewards::list_my_payouts,
    rewards::get_payout_rules,
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A token from loginWithPassword or verifyOtp"))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document as served and as committed to `mobile-contracts/openapi.json`.
pub fn openapi_json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default() + "\n"
}

pub async fn openapi_document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(openapi_json())
}

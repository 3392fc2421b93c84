//! Outbound webhooks over HTTP, for admins (`program.edit`): subscriptions, their
//! delivery log with every try, and "send again".

use actix_web::{HttpResponse, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::domain::Text;
use crate::error::{ApiResult, Problem};
use crate::paging::{Page, PageParams};
use crate::state::AppState;
use crate::validate;
use crate::webhooks::{self, EventType, Webhook, WebhookDelivery, WebhookFields};

/// A subscription; on creation `url` and `events` are required.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct WebhookInput {
    /// Where deliveries are POSTed: http or https.
    pub url: Option<String>,
    /// Any of `points.credited`, `order.placed`, `order.status_changed`,
    /// `code.registered`, `participant.approved`, `task.decided`.
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    pub active: Option<bool>,
}

fn parse_events(events: Option<&[String]>) -> Result<Option<Vec<EventType>>, String> {
    let Some(events) = events else {
        return Ok(None);
    };
    if events.is_empty() {
        return Err("at least one event".into());
    }
    let mut parsed = Vec::with_capacity(events.len());
    for event in events {
        let event = EventType::parse(event).map_err(|_| {
            let known: Vec<&str> = webhooks::EVENT_TYPES.iter().map(|e| e.as_str()).collect();
            format!("unknown event {event:?}; events are {}", known.join(", "))
        })?;
        if !parsed.contains(&event) {
            parsed.push(event);
        }
    }
    Ok(Some(parsed))
}

fn fields(state: &AppState, body: &WebhookInput) -> ApiResult<WebhookFields> {
    let allow_private = state.settings.webhooks.allow_private_urls;
    validate! {
        url = "url" => body.url.as_deref().map(|u| webhooks::check_url(u, allow_private)).transpose(),
        events = "events" => parse_events(body.events.as_deref()),
        description = "description" => body.description.as_deref().map(|d| Text::<500>::parse_optional(d).map(Text::into_string)).transpose(),
    }
    Ok(WebhookFields {
        url,
        events,
        description,
        active: body.active,
    })
}

/// The program's webhook subscriptions, with their secrets.
#[utoipa::path(
    operation_id = "listWebhooks", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = Vec<Webhook>), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/webhooks")]
pub async fn list_webhooks(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(webhooks::list(&state.db, &caller).await?))
}

/// Subscribes a URL to events; answers the subscription with its new secret (`whsec_…`)
/// to verify signatures with. Audited.
#[utoipa::path(
    operation_id = "createWebhook", tag = "webhooks", security(("bearer" = [])), request_body = WebhookInput,
    responses((status = 201, body = Webhook), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/webhooks")]
pub async fn create_webhook(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<WebhookInput>,
) -> ApiResult<HttpResponse> {
    let fields = fields(&state, &body)?;
    let webhook = webhooks::write(&state.db, &state.clock, &caller, None, &fields).await?;
    Ok(HttpResponse::Created().json(webhook))
}

/// Changes a subscription (URL, events, description, on/off); audited.
#[utoipa::path(
    operation_id = "updateWebhook", tag = "webhooks", security(("bearer" = [])), request_body = WebhookInput, params(("id" = i64, Path)),
    responses((status = 200, body = Webhook), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[patch("/api/v1/webhooks/{id}")]
pub async fn update_webhook(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<WebhookInput>,
) -> ApiResult<HttpResponse> {
    let fields = fields(&state, &body)?;
    let webhook = webhooks::write(
        &state.db,
        &state.clock,
        &caller,
        Some(id.into_inner()),
        &fields,
    )
    .await?;
    Ok(HttpResponse::Ok().json(webhook))
}

/// A subscription's deliveries, newest first, each with every try.
#[utoipa::path(
    operation_id = "listWebhookDeliveries", tag = "webhooks", security(("bearer" = [])), params(("id" = i64, Path), PageParams),
    responses((status = 200, body = Page<WebhookDelivery>), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/webhooks/{id}/deliveries")]
pub async fn list_webhook_deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let (before, limit) = page.newest_first()?;
    let list = webhooks::deliveries(&state.db, &caller, id.into_inner(), before, limit).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Sends a delivery again with the same `webhook-id` ("send again").
#[utoipa::path(
    operation_id = "resendWebhookDelivery", tag = "webhooks", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 202), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/webhooks/deliveries/{id}/resend")]
pub async fn resend_webhook_delivery(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    webhooks::resend(
        &state.db,
        &state.clock,
        &state.effects,
        &caller,
        id.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Accepted().finish())
}

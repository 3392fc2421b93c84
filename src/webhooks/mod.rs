//! Outbound webhooks: the program's own systems subscribe (URL, events, secret) and
//! get each event as a signed POST.
//!
//! Decisions:
//! - Events are emitted inside the transaction that makes them true ([`emit_in`]):
//!   one delivery row per matching subscription and an effect to send it, so a crash
//!   loses none and the effect queue retries with its backoff for about a day
//!   (`webhooks.max_attempts`). `points.credited` is emitted by the credits digest
//!   (one event per person and digest, with the amount and the number of credits),
//!   not once per ledger transaction.
//! - Each delivery keeps its message id across retries and a manual resend, and every
//!   attempt is logged with the receiver's status or the error.
//! - The body is `{"type", "timestamp", "data"}`; headers and signature follow the
//!   Standard Webhooks specification (`webhook-id`, `webhook-timestamp`,
//!   `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` under
//!   the key of the `whsec_…` secret).
//! - Admins (`program.edit`) manage subscriptions; the secret is shown to them.

pub mod repo;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::{Permission, Section};
use crate::auth::Principal;
use crate::db::{Clock, Db, Tx};
use crate::effects::{self, Effect, EffectHandler, Effects, Failure, NewEffect};
use crate::error::{ApiError, ApiResult};
use crate::integrations::webhooks::WebhookSender;
use crate::paging::Page;

/// The effect kind that sends one delivery.
pub const DELIVER_EFFECT: &str = "webhooks.deliver";

stimul_actors::stored_enum! {
    /// Where a delivery stands.
    pub enum DeliveryStatus {
        /// Being tried.
        Pending = "pending",
        Delivered = "delivered",
        /// Given up after a day of tries.
        Failed = "failed",
    }
}

stimul_actors::stored_enum! {
    /// The events a subscription may ask for.
    pub enum EventType {
        PointsCredited = "points.credited",
        OrderPlaced = "order.placed",
        OrderStatusChanged = "order.status_changed",
        CodeRegistered = "code.registered",
        ParticipantApproved = "participant.approved",
        TaskDecided = "task.decided",
    }
}

pub const EVENT_TYPES: [EventType; 6] = [
    EventType::PointsCredited,
    EventType::OrderPlaced,
    EventType::OrderStatusChanged,
    EventType::CodeRegistered,
    EventType::ParticipantApproved,
    EventType::TaskDecided,
];

/// A subscription as admins see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    /// `whsec_…`: verify each delivery's signature with it.
    pub secret: String,
    pub description: String,
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<repo::SubscriptionRow> for Webhook {
    fn from(row: repo::SubscriptionRow) -> Self {
        Webhook {
            id: row.id,
            url: row.url,
            events: serde_json::from_str(&row.events).unwrap_or_default(),
            secret: row.secret,
            description: row.description,
            active: row.active != 0,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// One try of a delivery.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookAttempt {
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub created_at: i64,
}

/// A delivery with its tries.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookDelivery {
    pub id: i64,
    /// The `webhook-id` header: the same across retries and a resend.
    pub message_id: String,
    pub event_type: String,
    /// The body sent.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// `pending`, `delivered` or `failed`.
    #[schema(value_type = String)]
    pub status: DeliveryStatus,
    pub attempts: Vec<WebhookAttempt>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

/// A subscription's fields, checked at the edge.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookFields {
    pub url: Option<String>,
    pub events: Option<Vec<EventType>>,
    pub description: Option<String>,
    pub active: Option<bool>,
}

fn events_text(events: &[EventType]) -> ApiResult<String> {
    let names: Vec<&str> = events.iter().map(|event| event.as_str()).collect();
    serde_json::to_string(&names).map_err(ApiError::internal)
}

/// Emits `event` with `data` to the program's active subscriptions that want it,
/// inside the caller's transaction (nothing is sent unless it commits).
#[tracing::instrument(skip_all, fields(program = program_id, event = event.as_str()))]
pub async fn emit_in(
    tx: &mut Tx,
    program_id: i64,
    event: EventType,
    data: serde_json::Value,
    now: i64,
) -> ApiResult<()> {
    emit_all_in(tx, program_id, event, vec![data], now).await
}

/// [`emit_in`] for many events of one type: the subscriptions are read once.
#[tracing::instrument(skip_all, fields(program = program_id, event = event.as_str(), count = events.len()))]
pub async fn emit_all_in(
    tx: &mut Tx,
    program_id: i64,
    event: EventType,
    events: Vec<serde_json::Value>,
    now: i64,
) -> ApiResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let subscriptions = repo::subscriptions(&mut **tx, program_id, true).await?;
    let wanted: Vec<_> = subscriptions
        .into_iter()
        .filter(|sub| {
            serde_json::from_str::<Vec<String>>(&sub.events)
                .is_ok_and(|events| events.iter().any(|e| e == event.as_str()))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let timestamp = chrono::DateTime::from_timestamp_millis(now)
        .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    for data in events {
        let payload = serde_json::to_string(&serde_json::json!({
            "type": event.as_str(),
            "timestamp": timestamp,
            "data": data,
        }))
        .map_err(ApiError::internal)?;
        for subscription in &wanted {
            let message_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
            let id = repo::insert_delivery(
                tx,
                &repo::NewDelivery {
                    subscription_id: subscription.id,
                    program_id,
                    message_id: &message_id,
                    event_type: event.as_str(),
                    payload: &payload,
                },
                now,
            )
            .await?;
            effects::enqueue(tx, &deliver_effect(program_id, id, 0), now).await?;
        }
    }
    Ok(())
}

fn deliver_effect(program_id: i64, delivery_id: i64, resend: i64) -> NewEffect {
    NewEffect {
        kind: DELIVER_EFFECT,
        dedupe_key: Some(format!("webhook:{delivery_id}:{resend}")),
        program_id: Some(program_id),
        payload: serde_json::json!({ "delivery_id": delivery_id }),
    }
}

/// Whether `host` (as a URL writes it) is this machine or a private network.
fn private_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => {
            ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
        }
        Ok(std::net::IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.is_unspecified() || (ip.segments()[0] & 0xfe00) == 0xfc00
        }
        Err(_) => {
            let name = host.to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost") || name.ends_with(".local")
        }
    }
}

/// Checks a subscriber's URL: http or https, a host, and not a private address
/// unless the server allows it.
pub fn check_url(input: &str, allow_private: bool) -> Result<String, String> {
    let url = reqwest::Url::parse(input.trim()).map_err(|err| format!("not a URL: {err}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("an http or https URL".into());
    }
    let Some(host) = url.host_str() else {
        return Err("the URL has no host".into());
    };
    if !allow_private && private_host(host) {
        return Err("the URL points at this machine or a private network".into());
    }
    if input.len() > 2000 {
        return Err("at most 2000 characters".into());
    }
    Ok(url.to_string())
}

/// The program's subscriptions.
#[tracing::instrument(skip_all)]
pub async fn list(db: &Db, caller: &Principal) -> ApiResult<Vec<Webhook>> {
    caller.require_program_wide(Permission::edit(Section::Program))?;
    Ok(repo::subscriptions(&db.pool, caller.program_id(), false)
        .await?
        .into_iter()
        .map(Webhook::from)
        .collect())
}

/// Creates (`id` none) or changes a subscription; audited (without the secret).
#[tracing::instrument(skip_all)]
pub async fn write(
    db: &Db,
    clock: &Clock,
    caller: &Principal,
    id: Option<i64>,
    fields: &WebhookFields,
) -> ApiResult<Webhook> {
    caller.require_program_wide(Permission::edit(Section::Program))?;
    let now = clock.now_ms();
    let program = caller.program_id();
    let mut tx = db.begin().await?;
    let before = match id {
        Some(id) => Some(
            repo::subscription(&mut *tx, id)
                .await?
                .filter(|row| row.program_id == program)
                .map(Webhook::from)
                .ok_or_else(|| ApiError::not_found(format!("webhook {id}")))?,
        ),
        None => None,
    };
    let url = fields
        .url
        .clone()
        .or_else(|| before.as_ref().map(|b| b.url.clone()))
        .ok_or_else(|| ApiError::field("url", "required"))?;
    let events = match (&fields.events, &before) {
        (Some(events), _) => events_text(events)?,
        (None, Some(before)) => {
            serde_json::to_string(&before.events).map_err(ApiError::internal)?
        }
        (None, None) => return Err(ApiError::field("events", "required")),
    };
    let description = fields
        .description
        .clone()
        .or_else(|| before.as_ref().map(|b| b.description.clone()))
        .unwrap_or_default();
    let stored = repo::SubscriptionFields {
        url: &url,
        events: &events,
        description: &description,
        active: fields
            .active
            .or(before.as_ref().map(|b| b.active))
            .unwrap_or(true),
    };
    let id = match &before {
        Some(before) => {
            repo::update_subscription(&mut tx, before.id, &stored, now).await?;
            before.id
        }
        None => {
            let secret = crate::integrations::signature::new_webhook_secret();
            repo::insert_subscription(&mut tx, program, &stored, &secret, caller.id(), now).await?
        }
    };
    crate::audit::record(
        &mut tx,
        program,
        Some(caller.id()),
        "webhook.write",
        &format!("webhook:{id}"),
        before.map(|b| serde_json::json!({ "url": b.url, "events": b.events, "active": b.active })),
        Some(serde_json::json!({ "url": url, "events": serde_json::from_str::<serde_json::Value>(&events).unwrap_or_default(), "active": stored.active })),
        now,
    )
    .await?;
    let row = repo::subscription(&mut *tx, id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("webhook {id} vanished")))?;
    tx.commit().await?;
    Ok(row.into())
}

/// A subscription's deliveries with their tries, newest first.
#[tracing::instrument(skip_all)]
pub async fn deliveries(
    db: &Db,
    caller: &Principal,
    subscription_id: i64,
    before: i64,
    limit: i64,
) -> ApiResult<Page<WebhookDelivery>> {
    caller.require_program_wide(Permission::edit(Section::Program))?;
    repo::subscription(&db.pool, subscription_id)
        .await?
        .filter(|row| row.program_id == caller.program_id())
        .ok_or_else(|| ApiError::not_found(format!("webhook {subscription_id}")))?;
    let rows = repo::deliveries(db, subscription_id, before, limit + 1).await?;
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let mut attempts: HashMap<i64, Vec<WebhookAttempt>> = HashMap::new();
    for attempt in repo::attempts(db, &ids).await? {
        attempts
            .entry(attempt.delivery_id)
            .or_default()
            .push(WebhookAttempt {
                status_code: attempt.status_code,
                error: attempt.error,
                duration_ms: attempt.duration_ms,
                created_at: attempt.created_at,
            });
    }
    let items = rows
        .into_iter()
        .map(|row| WebhookDelivery {
            attempts: attempts.remove(&row.id).unwrap_or_default(),
            id: row.id,
            message_id: row.message_id,
            event_type: row.event_type,
            payload: serde_json::from_str(&row.payload).unwrap_or_default(),
            status: row.status,
            created_at: row.created_at,
            delivered_at: row.delivered_at,
        })
        .collect();
    Ok(crate::paging::page_of(items, limit, |delivery| delivery.id))
}

/// Sends a delivery again ("send again"), with its message id.
#[tracing::instrument(skip_all)]
pub async fn resend(
    db: &Db,
    clock: &Clock,
    effects: &Effects,
    caller: &Principal,
    delivery_id: i64,
) -> ApiResult<()> {
    caller.require_program_wide(Permission::edit(Section::Program))?;
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let delivery = repo::delivery(&mut *tx, delivery_id)
        .await?
        .filter(|row| row.program_id == caller.program_id())
        .ok_or_else(|| ApiError::not_found(format!("webhook delivery {delivery_id}")))?;
    repo::set_status(&mut tx, delivery.id, DeliveryStatus::Pending).await?;
    effects::enqueue(
        &mut tx,
        &deliver_effect(delivery.program_id, delivery.id, delivery.attempts),
        now,
    )
    .await?;
    tx.commit().await?;
    effects.ring();
    Ok(())
}

#[derive(Debug, Deserialize)]
struct DeliverPayload {
    delivery_id: i64,
}

/// Sends one delivery and logs the try; a failed try is retried by the queue until
/// `max_attempts`, after which the delivery is `failed`.
pub struct DeliverEffect {
    pub db: Db,
    pub clock: Clock,
    pub sender: Arc<WebhookSender>,
    pub max_attempts: u32,
}

#[async_trait]
impl EffectHandler for DeliverEffect {
    fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    async fn run(&self, _effects: &Effects, effect: &Effect) -> Result<(), Failure> {
        let DeliverPayload { delivery_id } = effect.payload()?;
        let delivery = repo::delivery(&self.db.pool, delivery_id)
            .await?
            .ok_or_else(|| Failure::Permanent(format!("delivery {delivery_id} not found")))?;
        if delivery.status == DeliveryStatus::Delivered {
            return Ok(());
        }
        let subscription = repo::subscription(&self.db.pool, delivery.subscription_id)
            .await?
            .ok_or_else(|| Failure::Permanent("the subscription is gone".into()))?;
        if subscription.active == 0 {
            let mut tx = self.db.begin().await?;
            repo::set_status(&mut tx, delivery.id, DeliveryStatus::Failed).await?;
            tx.commit().await?;
            return Err(Failure::Permanent(
                "the subscription is switched off".into(),
            ));
        }
        let now = self.clock.now_ms();
        let attempt = self
            .sender
            .send(
                &subscription.url,
                &subscription.secret,
                &delivery.message_id,
                now / 1000,
                &delivery.payload,
            )
            .await;
        let delivered = attempt.delivered();
        let last_try = effect.attempt >= i64::from(self.max_attempts);
        let status = match (delivered, last_try) {
            (true, _) => DeliveryStatus::Delivered,
            (false, true) => DeliveryStatus::Failed,
            (false, false) => DeliveryStatus::Pending,
        };
        let mut tx = self.db.begin().await?;
        repo::record_attempt(
            &mut tx,
            delivery.id,
            attempt.status.map(i64::from),
            attempt.error.as_deref(),
            attempt.duration_ms,
            status,
            self.clock.now_ms(),
        )
        .await?;
        tx.commit().await?;
        if delivered {
            Ok(())
        } else {
            Err(Failure::Retry(
                attempt.error.unwrap_or_else(|| "not delivered".into()),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn subscriber_urls_are_http_and_public_unless_allowed() {
        assert!(check_url("https://erp.example.com/hooks", false).is_ok());
        for private in [
            "http://127.0.0.1:8080/x",
            "http://localhost/x",
            "http://10.1.2.3/x",
            "http://192.168.0.5/x",
            "http://[::1]/x",
            "http://169.254.169.254/latest/meta-data",
        ] {
            assert!(check_url(private, false).is_err(), "{private}");
            assert!(check_url(private, true).is_ok(), "{private}");
        }
        assert!(check_url("ftp://example.com/x", true).is_err());
        assert!(check_url("not a url", true).is_err());
    }
}

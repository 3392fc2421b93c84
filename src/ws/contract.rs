//! The WebSocket contract, generated from the frame types in `frames.rs`: JSON Schemas
//! in `mobile-contracts/websocket.json` and the same messages as an AsyncAPI 3 document
//! in `mobile-contracts/asyncapi.json` (a test keeps both committed copies equal to
//! these, and the tests validate every frame they receive against the first).

use serde_json::{Map, Value, json};
use stimul_actors::campaign::{BoardView, RankChanged};
use stimul_actors::moderation::{ItemView, QueueStats, Revoked};
use stimul_actors::participant::{BalanceChanged, LevelUpEvent, ParticipantView};
use stimul_actors::store::StoreProgress;
use utoipa::OpenApi;

use super::frames::{ClientFrame, Event, ModerationSnapshot, ServerFrame, Snapshot};
use crate::error::ErrorCode;
use crate::moderation::{Decided, DecisionKind};
use crate::tasks::quests::QuestProgress;
use crate::tasks::submissions::Submission;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Stimul WebSocket messages",
        description = "Frames of GET /api/v1/ws?token=<token>. JSON text frames only."
    ),
    components(schemas(
        ClientFrame,
        ServerFrame,
        Snapshot,
        ModerationSnapshot,
        Event,
        Decided,
        ErrorCode,
        ParticipantView,
        BalanceChanged,
        LevelUpEvent,
        StoreProgress,
        ItemView,
        Revoked,
        QueueStats,
        DecisionKind,
        Submission,
        QuestProgress,
        BoardView,
        RankChanged,
        crate::rewards::orders::OrderStatusChanged,
        crate::rewards::payouts::PayoutStatusChanged
    ))
)]
pub struct WebSocketContract;

/// The document committed as `mobile-contracts/websocket.json`.
pub fn websocket_json() -> String {
    WebSocketContract::openapi()
        .to_pretty_json()
        .unwrap_or_default()
        + "\n"
}

/// Where the channel lives, for the AsyncAPI document.
const CHANNEL: &str = "live";

/// The document committed as `mobile-contracts/asyncapi.json`: the frames of
/// [`websocket_json`] as AsyncAPI 3 messages on one channel, from the server's side
/// (it receives client frames and sends the rest), with one message per event so a
/// client generator gets a type per payload. Its schemas are the same components.
pub fn asyncapi_json() -> String {
    let contract = serde_json::to_value(WebSocketContract::openapi()).unwrap_or_default();
    let schemas = &contract["components"]["schemas"];
    let mut messages = Map::new();
    let mut operations = Map::new();
    let mut add = |id: String, action: &str, payload: Value| {
        let description = payload
            .get("description")
            .cloned()
            .unwrap_or_else(|| json!(""));
        messages.insert(
            id.clone(),
            json!({
                "name": id,
                "contentType": "application/json",
                "description": description,
                "payload": payload,
            }),
        );
        operations.insert(
            format!("{action}.{id}"),
            json!({
                "action": action,
                "channel": { "$ref": format!("#/channels/{CHANNEL}") },
                "messages": [{ "$ref": format!("#/channels/{CHANNEL}/messages/{id}") }],
            }),
        );
    };
    for variant in variants(&schemas["ClientFrame"]) {
        if let Some(tag) = tag_of(variant, "type") {
            add(tag, "receive", variant.clone());
        }
    }
    let event_ref = json!({ "$ref": "#/components/schemas/Event" });
    for variant in variants(&schemas["ServerFrame"]) {
        let Some(tag) = tag_of(variant, "type") else {
            continue;
        };
        if tag != "event" {
            add(tag, "send", variant.clone());
            continue;
        }
        // One message per event: the event frame with the union narrowed to the event.
        for event in variants(&schemas["Event"]) {
            if let Some(name) = tag_of(event, "event") {
                let mut payload = replace(variant, &event_ref, event);
                if let (Some(object), Some(description)) =
                    (payload.as_object_mut(), event.get("description"))
                {
                    object.insert("description".into(), description.clone());
                }
                add(format!("event.{name}"), "send", payload);
            }
        }
    }
    let channel_messages: Map<String, Value> = messages
        .keys()
        .map(|id| {
            (
                id.clone(),
                json!({ "$ref": format!("#/components/messages/{id}") }),
            )
        })
        .collect();
    let document = json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "Stimul live messages",
            "version": contract["info"]["version"],
            "description": "The WebSocket of GET /api/v1/ws?token=<session token> (or an Authorization: Bearer header): JSON text frames only. Sequence numbers are consecutive per topic on one connection; a gap means missed events: subscribe again for a fresh snapshot. Generated from the server's frame types, like websocket.json.",
            "license": {
                "name": contract["info"]["license"]["name"],
                "url": "https://www.gnu.org/licenses/agpl-3.0.html",
            },
        },
        "servers": {
            "local": {
                "host": "localhost:8080",
                "protocol": "ws",
                "pathname": "/api/v1",
                "description": "A server run with the README's first command.",
            }
        },
        "defaultContentType": "application/json",
        "channels": {
            CHANNEL: {
                "address": "/ws",
                "title": "Live topics",
                "description": "Subscriptions to `me`, `store:{id}`, `moderation`, `moderation_stats` and `campaign:{id}:leaderboard:{window}`, with snapshots, events and moderation decisions.",
                "messages": channel_messages,
            }
        },
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": schemas,
        },
    });
    serde_json::to_string_pretty(&document).unwrap_or_default() + "\n"
}

/// The alternatives of a union schema.
fn variants(schema: &Value) -> impl Iterator<Item = &Value> {
    schema["oneOf"].as_array().into_iter().flatten()
}

/// The value of the discriminating property `key` of a union's alternative (looked
/// for through `allOf`).
fn tag_of(schema: &Value, key: &str) -> Option<String> {
    let property = &schema["properties"][key];
    if let Some(tag) = property["enum"][0].as_str().or(property["const"].as_str()) {
        return Some(tag.to_string());
    }
    schema["allOf"]
        .as_array()?
        .iter()
        .find_map(|part| tag_of(part, key))
}

/// `schema` with every occurrence of `from` replaced by `to`.
fn replace(schema: &Value, from: &Value, to: &Value) -> Value {
    if schema == from {
        return to.clone();
    }
    match schema {
        Value::Array(items) => Value::Array(items.iter().map(|v| replace(v, from, to)).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), replace(v, from, to)))
                .collect(),
        ),
        other => other.clone(),
    }
}

//! The WebSocket contract as JSON Schemas, published in
//! `mobile-contracts/websocket.json` (a test keeps the committed copy equal to this).

use serde::Serialize;
use stimul_actors::campaign::{BoardView, RankChanged};
use stimul_actors::moderation::{ItemView, QueueStats, Revoked};
use stimul_actors::participant::{BalanceChanged, LevelUpEvent, ParticipantView};
use stimul_actors::store::StoreProgress;
use utoipa::{OpenApi, ToSchema};

use crate::error::ErrorCode;
use crate::moderation::DecisionKind;
use crate::tasks::quests::QuestProgress;
use crate::tasks::submissions::Submission;

/// Client → server.
#[derive(Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Start watching a topic: `me` (a participant's own points), `store:{id}`
    /// (owners and managers of the store), `moderation` (a moderator's items, routed to
    /// them live: `capacity` items at once, default 5, optionally only some `kinds`),
    /// `moderation_stats` (queue figures) or `campaign:{id}:leaderboard:{window}`
    /// (`window` one of `campaign`, `day`, `week`, `month`; optionally followed by
    /// `:region:{id}` or `:store:{id}` for a cohort's board). Answered with a `snapshot`; sending it again
    /// (after a gap in `seq`) gets a fresh one.
    Subscribe {
        topic: String,
        capacity: Option<u32>,
        kinds: Option<Vec<String>>,
    },
    Unsubscribe {
        topic: String,
    },
    /// Answered with `{"type":"pong"}`.
    Ping,
    /// Decide a held moderation item. Answered with `{"type":"decided","item_id",
    /// "decision","effect"}` or an `error` frame with `item_id`.
    Decide {
        item_id: i64,
        decision: DecisionKind,
        reason: Option<String>,
        comment: Option<String>,
    },
}

/// Server → client: the state of a topic when subscribing, numbered with the topic's
/// current sequence number; the next event carries `seq + 1`.
#[derive(Serialize, ToSchema)]
pub struct SnapshotFrame {
    /// Always `snapshot`.
    #[serde(rename = "type")]
    pub kind: String,
    pub topic: String,
    pub seq: u64,
    /// `ParticipantView` for `me`, `StoreProgress` for `store:{id}`,
    /// `{"items": [ItemView], "capacity"}` for `moderation`, `QueueStats` for
    /// `moderation_stats`, `BoardView` for a leaderboard (with the participant's own
    /// rank and neighbours in `around` and `my_rank`).
    pub data: serde_json::Value,
}

/// Server → client: a change on a topic.
#[derive(Serialize, ToSchema)]
pub struct EventFrame {
    /// Always `event`.
    #[serde(rename = "type")]
    pub kind: String,
    pub topic: String,
    /// Consecutive per topic on a connection; a gap means events were missed:
    /// subscribe again for a fresh snapshot.
    pub seq: u64,
    /// On `me`: `balance_changed` (data `BalanceChanged`), `level_up` (data
    /// `LevelUpEvent`), `task_submission` (data `Submission`: a submission recorded or
    /// decided), `quest_progress` (data `QuestProgress`), `rank_changed` (data
    /// `RankChanged`: the participant's rank on a campaign's whole-campaign board moved),
    /// `order_status` (data `OrderStatusChanged`: one of their orders changed status),
    /// `payout_status` (data `PayoutStatusChanged`: one of their payouts changed status).
    /// On `store:{id}`: `progress` (data `StoreProgress`). On a leaderboard topic:
    /// `leaderboard` (data `BoardView`: the top entries, at most two a second; `around`
    /// and `my_rank` are empty there, read them with `getLeaderboard`). On
    /// `moderation`: `item_assigned` (data `ItemView`), `item_revoked` (data `Revoked`).
    /// On `moderation_stats`: `stats` (data `QueueStats`).
    pub event: String,
    pub data: serde_json::Value,
}

/// Server → client: a refused request (codes as in the HTTP API).
#[derive(Serialize, ToSchema)]
pub struct ErrorFrame {
    /// Always `error`.
    #[serde(rename = "type")]
    pub kind: String,
    pub code: ErrorCode,
    pub message: String,
    /// The topic the error is about, if any.
    pub topic: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Stimul WebSocket messages",
        description = "Frames of GET /api/v1/ws?token=<token>. JSON text frames only."
    ),
    components(schemas(
        ClientFrame,
        SnapshotFrame,
        EventFrame,
        ErrorFrame,
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

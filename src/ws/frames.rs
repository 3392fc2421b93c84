//! The frames of `GET /api/v1/ws`: what the server parses from clients and what it
//! writes to them. The published contract (`contract.rs`) is generated from these
//! types, so no frame changes shape without the committed documents changing too.
//!
//! Event payloads are the [`LiveEvent`] types of the areas that push them; [`Event`]
//! is their union, keyed by each type's own event name (checked at compile time), and
//! the hub writes an event frame with exactly [`ServerFrame::Event`]'s fields.

use serde::{Deserialize, Serialize};
use stimul_actors::campaign::{BoardView, RankChanged};
use stimul_actors::hub::LiveEvent;
use stimul_actors::moderation::{ItemView, QueueStats, Revoked};
use stimul_actors::participant::{BalanceChanged, LevelUpEvent, ParticipantView};
use stimul_actors::store::StoreProgress;
use utoipa::ToSchema;

use crate::error::ErrorCode;
use crate::moderation::{Decided, DecisionKind};
use crate::rewards::orders::OrderStatusChanged;
use crate::rewards::payouts::PayoutStatusChanged;
use crate::tasks::quests::QuestProgress;
use crate::tasks::submissions::Submission;

/// Client → server.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Start watching a topic: `me` (a participant's own points), `store:{id}`
    /// (owners and managers of the store), `moderation` (a moderator's items, routed to
    /// them live: `capacity` items at once, default 5, optionally only some `kinds`),
    /// `moderation_stats` (queue figures) or `campaign:{id}:leaderboard:{window}`
    /// (`window` one of `campaign`, `day`, `week`, `month`; optionally followed by
    /// `:region:{id}` or `:store:{id}` for a cohort's board). Answered with a `snapshot`;
    /// sending it again (after a gap in `seq`) gets a fresh one.
    Subscribe {
        topic: String,
        /// For `moderation`: items held at once (1 to 50, default 5).
        #[schema(minimum = 1, maximum = 50)]
        capacity: Option<u32>,
        /// For `moderation`: only items of these kinds.
        kinds: Option<Vec<String>>,
    },
    /// Stop watching a topic; answered with `unsubscribed`.
    Unsubscribe { topic: String },
    /// Answered with `pong`.
    Ping,
    /// Decide a held moderation item. Answered with `decided` or an `error` frame
    /// carrying `item_id`.
    Decide {
        item_id: i64,
        decision: DecisionKind,
        /// Required to reject: a code from `listRejectionReasons`.
        reason: Option<String>,
        /// Shown to the participant; required for rework.
        comment: Option<String>,
    },
}

/// Server → client.
#[derive(Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The state of a topic when subscribing, numbered with the topic's current
    /// sequence number; the next event carries `seq + 1`.
    Snapshot {
        topic: String,
        seq: u64,
        data: Snapshot,
    },
    /// A change on a topic (written by the topic hub).
    Event {
        topic: String,
        /// Consecutive per topic on a connection; a gap means events were missed:
        /// subscribe again for a fresh snapshot.
        seq: u64,
        #[serde(flatten)]
        event: Event,
    },
    /// A refused request (codes as in the HTTP API).
    Error {
        code: ErrorCode,
        message: String,
        /// The topic the error is about, if any.
        topic: Option<String>,
        /// The item of a refused `decide`.
        #[serde(skip_serializing_if = "Option::is_none")]
        item_id: Option<i64>,
    },
    /// A `decide` that committed.
    Decided(Decided),
    /// The answer to `unsubscribe`.
    Unsubscribed { topic: String },
    /// The answer to `ping`.
    Pong,
}

impl ServerFrame {
    pub fn error(code: ErrorCode, message: impl Into<String>, topic: Option<&str>) -> Self {
        ServerFrame::Error {
            code,
            message: message.into(),
            topic: topic.map(str::to_string),
            item_id: None,
        }
    }
}

/// What a `snapshot` carries, by topic.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Snapshot {
    /// On `me`.
    Me(MeSnapshot),
    /// On `store:{id}`.
    Store(StoreProgress),
    /// On `moderation`.
    Moderation(ModerationSnapshot),
    /// On `moderation_stats`.
    ModerationStats(QueueStats),
    /// On `support`: how many requests wait.
    Support(crate::support::SupportCounts),
    /// On a leaderboard topic, with the participant's own rank and neighbours in
    /// `around` and `my_rank`.
    Leaderboard(BoardView),
}

/// The `me` snapshot: the participant's standing and their next expiry.
#[derive(Serialize, ToSchema)]
pub struct MeSnapshot {
    #[serde(flatten)]
    pub view: ParticipantView,
    /// The next expiry (`amount`, `on`, `at`), or null when nothing will expire.
    pub expiring: Option<crate::expiry::Expiring>,
}

/// The `moderation` snapshot: the items the moderator already holds; routing to them
/// starts right after, as `item_assigned` events.
#[derive(Serialize, ToSchema)]
pub struct ModerationSnapshot {
    pub items: Vec<ItemView>,
    pub capacity: u32,
}

/// Compares two names in a constant, so a wrong name fails the build.
const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Declares [`Event`], the union of every pushed event keyed by its name, and checks
/// at compile time that each name is the one its payload type publishes under.
macro_rules! live_events {
    ($($(#[$doc:meta])* $variant:ident($payload:ty) as $name:tt,)*) => {
        /// An event frame's `event` and `data`, by event.
        #[derive(Serialize, ToSchema)]
        #[serde(tag = "event", content = "data")]
        pub enum Event {
            $($(#[$doc])* #[serde(rename = $name)] $variant($payload),)*
        }

        $(const _: () = assert!(
            same_name(<$payload as LiveEvent>::NAME, $name),
            concat!("the LiveEvent name of ", stringify!($payload), " is not ", $name)
        );)*

        /// Every event name, in the order of the union.
        pub const EVENT_NAMES: &[&str] = &[$($name),*];
    };
}

live_events! {
    /// On `me`: the participant's points changed (the change and the standing after it).
    BalanceChanged(BalanceChanged<'static>) as "balance_changed",
    /// On `me`: the participant reached a new level.
    LevelUp(LevelUpEvent) as "level_up",
    /// On `me`: a task submission was recorded or decided.
    TaskSubmission(Submission) as "task_submission",
    /// On `me`: progress on a quest.
    QuestProgress(QuestProgress) as "quest_progress",
    /// On `me`: the participant's rank on a campaign's whole-campaign board moved.
    RankChanged(RankChanged) as "rank_changed",
    /// On `me`: one of the participant's orders changed status.
    OrderStatus(OrderStatusChanged) as "order_status",
    /// On `me`: one of the participant's payouts changed status.
    PayoutStatus(PayoutStatusChanged) as "payout_status",
    /// On `me`: points will expire within the program's warning days (sent once per
    /// expiry date).
    PointsExpiring(crate::expiry::PointsExpiring) as "points_expiring",
    /// On `me`: a new message in the person's inbox, with its texts in every language.
    Notification(crate::notifications::NotificationPushed) as "notification",
    /// On `me`: support staff wrote in one of the participant's requests.
    SupportReply(crate::support::SupportReply) as "support_reply",
    /// On `support`: a request was opened, written in or closed.
    SupportRequest(crate::support::SupportRequestChanged) as "support_request",
    /// On `store:{id}`: the store's progress.
    Progress(StoreProgress) as "progress",
    /// On a leaderboard topic: the top entries, at most two a second; `around` and
    /// `my_rank` are empty here (read them with `getLeaderboard`).
    Leaderboard(BoardView) as "leaderboard",
    /// On `moderation`: an item routed to the moderator.
    ItemAssigned(ItemView) as "item_assigned",
    /// On `moderation`: an item the moderator held left them (decided elsewhere,
    /// withdrawn, lease expired).
    ItemRevoked(Revoked) as "item_revoked",
    /// On `moderation_stats`: the queue's figures.
    Stats(QueueStats) as "stats",
}

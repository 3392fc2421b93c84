//! Events between nodes. Every node publishes what it commits; every node delivers what
//! it hears to its own live actors, which update their state and push to their own
//! WebSocket sessions. Without Redis the bus is in-process; with Redis every event also
//! goes to the other nodes (the server implements that transport).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::ledger::{Committed, ParticipantBalance, TransactionRequest};
use crate::rules::points::Points;

/// A committed ledger transaction, as every node needs to hear it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerFact {
    pub program_id: i64,
    pub transaction_id: i64,
    pub reason: String,
    pub participant_id: Option<i64>,
    pub store_id: Option<i64>,
    pub created_at: i64,
    /// Income credited to `participant_id`.
    pub earned: Points,
    pub completed_tasks: i64,
    /// The campaign whose leaderboards count `earned`.
    pub campaign_id: Option<i64>,
    /// Pending (held) rather than final.
    pub pending: bool,
    pub participants: Vec<ParticipantBalance>,
}

impl LedgerFact {
    pub fn new(request: &TransactionRequest, committed: &Committed) -> Self {
        Self {
            program_id: request.program_id,
            transaction_id: committed.transaction_id,
            reason: request.reason.clone(),
            participant_id: request.participant_id,
            store_id: request.store_id,
            created_at: committed.created_at,
            earned: committed.earned,
            completed_tasks: request.completed_tasks,
            campaign_id: request.campaign_id,
            pending: request.status == crate::ledger::TransactionStatus::Pending,
            participants: committed.participants.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BusEvent {
    Ledger(LedgerFact),
    /// A program's rules (levels, owner share, time zone) changed.
    ProgramChanged {
        program_id: i64,
    },
    /// A participant moved store or changed status.
    ParticipantChanged {
        user_id: i64,
    },
    /// A store's details (plan, owner) changed.
    StoreChanged {
        store_id: i64,
    },
    /// Moderation items of a program were queued or returned to the queue.
    ModerationQueued {
        program_id: i64,
    },
    /// A moderation item left its holder (decided, withdrawn, lease expired); the node
    /// where the holder is connected frees the slot and tells them.
    ModerationSettled {
        item: crate::moderation::ItemView,
        reason: crate::moderation::SettleReason,
    },
    /// An event for a topic's subscribers on every node (a task decision, quest
    /// progress): pushes that do not come from a ledger commit still reach a client
    /// connected to another node.
    Push {
        topic: String,
        event: String,
        data: serde_json::Value,
    },
    /// What someone may do changed (logout, blocking, approval, roles, store): nodes drop
    /// what they cached about them. Both `None` means everyone.
    AccessChanged {
        user_id: Option<i64>,
        token_hash: Option<String>,
    },
    /// A participant's WebSocket sessions on `node` opened (`online`) or all closed.
    Presence {
        node: String,
        store_id: i64,
        user_id: i64,
        online: bool,
    },
    /// Every [`crate::store::PRESENCE_BEAT`], each node restates who is online on it as
    /// `(store, user)` pairs: store actors started since learn them, and the entries of a
    /// node that stopped beating (it crashed) expire.
    PresenceBeat {
        node: String,
        online: Vec<(i64, i64)>,
    },
}

/// Delivers an event to this node's live actors.
pub type Dispatch = Arc<dyn Fn(BusEvent) + Send + Sync>;

pub trait EventBus: Send + Sync {
    /// Delivers `event` to this node at once and, for a shared bus, to every other node.
    fn publish(&self, event: BusEvent);
}

/// The bus of a single node.
pub struct LocalBus {
    dispatch: Dispatch,
}

impl LocalBus {
    pub fn new(dispatch: Dispatch) -> Self {
        Self { dispatch }
    }
}

impl EventBus for LocalBus {
    fn publish(&self, event: BusEvent) {
        (self.dispatch)(event);
    }
}

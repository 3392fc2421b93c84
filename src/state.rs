//! What every request handler can reach: the database, settings, clock, rate limiter,
//! effect queue, metrics, the live core and the code generator. Built once by `startup`
//! and shared by all workers. Only `api`, `ws` and `startup` name it: each hands a use
//! case the handles it uses, so no area imports this module back.

use std::sync::Arc;

use stimul_actors::live::RealtimeCore;

use crate::config::Settings;
use crate::db::{Clock, Db};
use crate::metrics::Metrics;
use crate::ratelimit::SharedRateLimiter;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub clock: Clock,
    pub limiter: SharedRateLimiter,
    /// The one durable effect queue: its handlers by kind and its worker's bell.
    pub effects: Arc<crate::effects::Effects>,
    /// What deciding each kind of moderation item does, registered by its area.
    pub decisions: Arc<crate::moderation::DecisionHandlers>,
    pub metrics: Metrics,
    /// The real-time core: live actors, the topic hub, the ledger committer.
    pub live: Arc<RealtimeCore>,
    /// The SQL ledger, for postings that must commit with other writes (an order's
    /// reservation); everything else goes through the actors.
    pub ledger: Arc<crate::ledger::SqlActorStorage>,
    /// The payout provider: cards are tokenised by a direct call (a card number must
    /// never be stored, so it cannot wait on the effect queue).
    pub payouts: Arc<dyn crate::integrations::payouts::PayoutProvider>,
    /// The company register, asked by tax number while a person types.
    pub companies: Arc<dyn crate::integrations::companies::CompanyLookup>,
    /// Idempotent requests: reserved keys, saved answers (stored off the request path).
    pub idempotency: crate::idempotency::Idempotency,
    /// Tokens resolved recently, so most requests skip two queries.
    pub access_cache: Arc<crate::auth::cache::AccessCache>,
    /// Flips to true when the server starts stopping: WebSocket sessions close at once.
    pub closing: tokio::sync::watch::Receiver<bool>,
    /// This node's code generator: pool refills and batch issuance.
    pub codegen: stimul_actors::codegen::Codegen,
}

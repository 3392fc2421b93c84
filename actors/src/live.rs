//! `RealtimeCore`: the real-time core of one node. It owns the group committer, the topic hub,
//! the bus, and the registries of live participant and store actors (started on
//! demand on a small pool of arbiters, removed when they stop), and routes every bus
//! event to the actors it concerns. The HTTP and WebSocket layers use its typed
//! methods (`live.earn(..)`, `live.participant_view(..)`), never raw messages.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use actix::prelude::*;
use async_trait::async_trait;
use chrono_tz::Tz;
use dashmap::DashMap;
use serde::Serialize;

use crate::bus::{BusEvent, Dispatch, EventBus, LedgerFact};
use crate::campaign::{BoardView, CampaignActor, CampaignInfo, Earned, GetBoard, LeaderboardStore};
use crate::error::StorageError;
use crate::hub::{LiveEvent, Subscriber, TopicHub};
use crate::ledger::{
    AccountKey, CommitListener, Committed, GroupCommitter, LedgerError, LedgerStore,
    ParticipantBalance, TransactionRequest,
};
use crate::moderation::{
    DEFAULT_LEASE, GetStats, ItemView, Join, Leave, ModerationActor, ModerationStore, QueueStats,
    Route, Settled,
};
use crate::participant::{
    Adjust, ApplyChange, ChangeOutcome, Earn, GetView, ParticipantActor, ParticipantError,
    ParticipantView, Reload, Settle,
};
use crate::rules::levels::LevelScale;
use crate::rules::points::{Percent, Points};
use crate::store::{
    GetProgress, Presence, PresenceRefresh, ReloadInfo, StoreActor, StoreFact, StoreProgress,
};

/// The rules of a program that the actors apply.
#[derive(Debug, Clone)]
pub struct ProgramRules {
    pub levels: LevelScale,
    /// The store owner's percent of each seller's earned points.
    pub owner_share: Percent,
    pub timezone: Tz,
}

/// What a participant's actor starts from.
#[derive(Debug, Clone)]
pub struct ParticipantRecord {
    pub program_id: i64,
    pub store_id: Option<i64>,
    pub balance: ParticipantBalance,
    pub rules: Arc<ProgramRules>,
}

/// What a store's actor starts from.
#[derive(Debug, Clone)]
pub struct StoreInfo {
    pub store_id: i64,
    pub program_id: i64,
    pub timezone: Tz,
    pub monthly_plan: Option<Points>,
    /// Active sellers of the store.
    pub sellers: i64,
}

/// Sums over one period of a store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PeriodTotals {
    /// Points the store's sellers earned.
    #[schema(value_type = String)]
    pub earned: Points,
    /// Transactions that earned something.
    pub transactions: i64,
    /// Code and receipt registrations.
    pub sales: i64,
    pub tasks_completed: i64,
}

impl PeriodTotals {
    pub fn add(&mut self, earned: Points, sale: bool, tasks: i64) {
        self.earned = self.earned.checked_add(earned).unwrap_or(self.earned);
        if earned.is_positive() {
            self.transactions += 1;
        }
        if sale {
            self.sales += 1;
        }
        self.tasks_completed += tasks;
    }
}

/// A pending hold, for settling it.
#[derive(Debug, Clone, Copy)]
pub struct HoldRecord {
    pub participant_id: i64,
    pub amount: Points,
    /// The account the held points came from (and return to on rejection).
    pub paid_from: AccountKey,
}

/// Reasons that count as a sale in store progress.
pub const SALE_REASONS: [&str; 2] = ["code", "receipt"];

/// Transactions of a background job handed to the group committer together.
const COMMIT_BURST: usize = 32;

/// Everything the live actors read from storage.
#[async_trait]
pub trait LiveStore: LedgerStore {
    async fn participant(&self, user_id: i64) -> Result<Option<ParticipantRecord>, StorageError>;
    async fn store_info(&self, store_id: i64) -> Result<Option<StoreInfo>, StorageError>;
    async fn store_totals(
        &self,
        store_id: i64,
        since_ms: i64,
    ) -> Result<PeriodTotals, StorageError>;
    /// A pending hold transaction, if `transaction_id` is one that is still pending.
    async fn hold(&self, transaction_id: i64) -> Result<Option<HoldRecord>, StorageError>;
}

pub use crate::Clock;

/// Called with every bus event this node hears, after the live actors had theirs.
pub type EventHook = Arc<dyn Fn(&BusEvent) + Send + Sync>;

/// The storage the live core reads and writes through.
pub struct Stores {
    pub live: Arc<dyn LiveStore>,
    pub moderation: Arc<dyn ModerationStore>,
    pub leaderboards: Arc<dyn LeaderboardStore>,
}

/// The live core of a node. Its parts are private to this crate: the server calls the
/// named methods below, never an actor's address, the committer or the bus directly,
/// so every message keeps one typed entry point.
pub struct RealtimeCore {
    pub(crate) store: Arc<dyn LiveStore>,
    /// The moderation queue of this node.
    pub(crate) moderation: Addr<ModerationActor>,
    pub(crate) committer: GroupCommitter,
    pub(crate) hub: Arc<TopicHub>,
    pub(crate) bus: Arc<dyn EventBus>,
    /// Identifies this node in presence events.
    pub(crate) node: String,
    clock: Clock,
    participants: DashMap<i64, (Addr<ParticipantActor>, i64)>,
    stores: DashMap<i64, Addr<StoreActor>>,
    campaigns: DashMap<i64, Addr<CampaignActor>>,
    /// This node's participants with open sessions: (store, user) → sessions, so a
    /// second tab closing does not take its seller offline.
    sessions: DashMap<(i64, i64), usize>,
    /// The server's own reaction to bus events (e.g. dropping cached access).
    hook: std::sync::OnceLock<EventHook>,
    leaderboards: Arc<dyn LeaderboardStore>,
    arbiters: Vec<ArbiterHandle>,
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the actor stopped")]
    Gone,
}

impl RealtimeCore {
    /// Starts the core: `make_bus` receives the dispatch function the bus must call for
    /// every event it delivers to this node. Spawns the committer on the current tokio
    /// runtime and `arbiters` threads for the actors.
    pub fn start(
        stores: Stores,
        node: String,
        clock: Clock,
        arbiters: usize,
        make_bus: impl FnOnce(Dispatch) -> Arc<dyn EventBus>,
    ) -> (Arc<RealtimeCore>, tokio::task::JoinHandle<()>) {
        let Stores {
            live: store,
            moderation: moderation_store,
            leaderboards,
        } = stores;
        let mut committer_task = None;
        let live = Arc::new_cyclic(|weak: &Weak<RealtimeCore>| {
            let target = weak.clone();
            let dispatch: Dispatch = Arc::new(move |event| {
                if let Some(live) = target.upgrade() {
                    live.dispatch(event);
                }
            });
            let bus = make_bus(dispatch);
            let publisher = bus.clone();
            let listener: CommitListener = Arc::new(move |request, committed| {
                publisher.publish(BusEvent::Ledger(LedgerFact::new(request, committed)))
            });
            let ledger: Arc<dyn LedgerStore> = Arc::new(StoreAsLedger(store.clone()));
            let (committer, task) = GroupCommitter::start(ledger, listener);
            committer_task = Some(task);
            let hub = Arc::new(TopicHub::new());
            let arbiters: Vec<ArbiterHandle> = (0..arbiters.max(1))
                .map(|_| Arbiter::new().handle())
                .collect();
            let moderation = {
                let (hub, clock, bus) = (hub.clone(), clock.clone(), bus.clone());
                let publish: Arc<dyn Fn(BusEvent) + Send + Sync> =
                    Arc::new(move |event| bus.publish(event));
                // unwrap: at least one arbiter was just created
                ModerationActor::start_in_arbiter(&arbiters[0], move |_| {
                    ModerationActor::new(moderation_store, hub, clock, DEFAULT_LEASE, publish)
                })
            };
            RealtimeCore {
                store,
                moderation,
                committer,
                hub,
                bus,
                node,
                clock,
                participants: DashMap::new(),
                stores: DashMap::new(),
                campaigns: DashMap::new(),
                sessions: DashMap::new(),
                hook: std::sync::OnceLock::new(),
                leaderboards,
                arbiters,
            }
        });
        let task = committer_task.unwrap_or_else(|| tokio::spawn(async {}));
        (live, task)
    }

    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    /// This node's name (presence events, effect claims).
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Tells every node (this one included) about `event`.
    pub fn publish(&self, event: BusEvent) {
        self.bus.publish(event);
    }

    /// A new WebSocket session's id on this node's topic hub.
    pub fn subscriber_id(&self) -> u64 {
        self.hub.subscriber_id()
    }

    /// Registers a session on `topic` (shown to clients as `display`); answers the
    /// topic's sequence number, which the session's snapshot carries.
    pub fn subscribe(&self, topic: &str, display: &str, subscriber: Subscriber) -> u64 {
        self.hub.subscribe(topic, display, subscriber)
    }

    pub fn unsubscribe(&self, topic: &str, subscriber_id: u64) {
        self.hub.unsubscribe(topic, subscriber_id);
    }

    /// Topics with subscribers on this node (metrics).
    pub fn topic_count(&self) -> usize {
        self.hub.topic_count()
    }

    /// Posts a transaction through the group committer and tells the live actors, for
    /// postings without a participant's actor (a campaign's funding).
    #[tracing::instrument(skip_all)]
    pub async fn commit(&self, request: TransactionRequest) -> Result<Committed, LedgerError> {
        self.committer.commit(request).await
    }

    /// Commits many transactions of a background job (an expiry run, a recalculation)
    /// a burst at a time: the group committer batches each burst with whatever else is
    /// waiting, so credits arriving meanwhile wait behind one burst, not the whole job.
    /// Answers in order.
    pub async fn commit_in_bursts(
        &self,
        requests: Vec<TransactionRequest>,
    ) -> Vec<Result<Committed, LedgerError>> {
        let mut answers = Vec::with_capacity(requests.len());
        let mut requests = requests.into_iter().peekable();
        while requests.peek().is_some() {
            let burst: Vec<TransactionRequest> = requests.by_ref().take(COMMIT_BURST).collect();
            answers.extend(
                futures_util::future::join_all(
                    burst
                        .into_iter()
                        .map(|request| self.committer.commit(request)),
                )
                .await,
            );
        }
        answers
    }

    /// A moderator's session joins this node's queue; answers the items it holds.
    #[tracing::instrument(skip_all)]
    pub async fn join_moderation(&self, join: Join) -> Result<Vec<ItemView>, LiveError> {
        self.moderation
            .send(join)
            .await
            .map_err(|_| LiveError::Gone)?
            .map_err(LiveError::Storage)
    }

    /// A moderator's session leaves the queue; its items go back to it.
    pub fn leave_moderation(&self, leave: Leave) {
        self.moderation.do_send(leave);
    }

    /// The queue's figures for a program.
    #[tracing::instrument(skip_all, fields(program_id = program_id))]
    pub async fn moderation_stats(&self, program_id: i64) -> Result<QueueStats, LiveError> {
        self.moderation
            .send(GetStats { program_id })
            .await
            .map_err(|_| LiveError::Gone)?
            .map_err(LiveError::Storage)
    }

    fn arbiter_for(&self, id: i64) -> &ArbiterHandle {
        // unwrap: `start` creates at least one arbiter
        &self.arbiters[(id.unsigned_abs() % self.arbiters.len() as u64) as usize]
    }

    /// The live actor of a participant, started (and loaded) if needed. No map guard
    /// is held across the load: a shard lock held over an await blocks every thread
    /// that touches the same shard.
    pub async fn participant(
        self: &Arc<Self>,
        user_id: i64,
    ) -> Result<Addr<ParticipantActor>, LiveError> {
        loop {
            if let Some(entry) = self.participants.get(&user_id)
                && entry.0.connected()
            {
                return Ok(entry.0.clone());
            }
            let record = self
                .store
                .participant(user_id)
                .await
                .map_err(LiveError::Storage)?
                .ok_or(LiveError::NotFound)?;
            match self.participants.entry(user_id) {
                dashmap::Entry::Vacant(vacant) => {
                    let live = self.clone();
                    let program_id = record.program_id;
                    let addr =
                        ParticipantActor::start_in_arbiter(self.arbiter_for(user_id), move |_| {
                            ParticipantActor::new(live, record)
                        });
                    vacant.insert((addr.clone(), program_id));
                    return Ok(addr);
                }
                // Another request started it while we loaded: keep the first one.
                dashmap::Entry::Occupied(occupied) if occupied.get().0.connected() => {
                    return Ok(occupied.get().0.clone());
                }
                // A stopped actor may have committed after our load: load again.
                dashmap::Entry::Occupied(occupied) => {
                    occupied.remove();
                }
            }
        }
    }

    /// Called by a stopping participant actor.
    pub(crate) fn forget_participant(&self, user_id: i64, addr: &Addr<ParticipantActor>) {
        self.participants
            .remove_if(&user_id, |_, (live, _)| live == addr);
    }

    /// The live actor of a store, started (and loaded) if needed; like
    /// [`Self::participant`], without holding a map guard across the load.
    pub async fn store_actor(
        self: &Arc<Self>,
        store_id: i64,
    ) -> Result<Addr<StoreActor>, LiveError> {
        loop {
            if let Some(addr) = self.stores.get(&store_id)
                && addr.connected()
            {
                return Ok(addr.clone());
            }
            let (info, periods) = crate::store::load(self, store_id)
                .await
                .map_err(LiveError::Storage)?
                .ok_or(LiveError::NotFound)?;
            match self.stores.entry(store_id) {
                dashmap::Entry::Vacant(vacant) => {
                    let live = self.clone();
                    let addr =
                        StoreActor::start_in_arbiter(self.arbiter_for(store_id), move |_| {
                            StoreActor::new(live, info, periods)
                        });
                    vacant.insert(addr.clone());
                    return Ok(addr);
                }
                dashmap::Entry::Occupied(occupied) if occupied.get().connected() => {
                    return Ok(occupied.get().clone());
                }
                dashmap::Entry::Occupied(occupied) => {
                    occupied.remove();
                }
            }
        }
    }

    pub(crate) fn forget_store(&self, store_id: i64, addr: &Addr<StoreActor>) {
        self.stores.remove_if(&store_id, |_, live| live == addr);
    }

    /// A ledger transaction committed outside the group committer, inside a database
    /// transaction of its own (an order with its stock and its reservation): every
    /// node's actors learn of it exactly as of the committer's own commits.
    pub fn committed_elsewhere(&self, request: &TransactionRequest, committed: &Committed) {
        if !committed.replayed {
            self.bus
                .publish(BusEvent::Ledger(LedgerFact::new(request, committed)));
        }
    }

    /// Sets the server's hook for bus events (once).
    pub fn on_event(&self, hook: EventHook) {
        let _ = self.hook.set(hook);
    }

    /// Routes a bus event (from this node or another) to the live actors it concerns.
    pub fn dispatch(&self, event: BusEvent) {
        if let Some(hook) = self.hook.get() {
            hook(&event);
        }
        match event {
            BusEvent::Ledger(fact) => {
                for change in &fact.participants {
                    if let Some(entry) = self.participants.get(&change.user_id) {
                        entry.0.do_send(ApplyChange {
                            change: *change,
                            reason: fact.reason.clone(),
                            transaction_id: fact.transaction_id,
                        });
                    }
                }
                if let Some(store_id) = fact.store_id
                    && let Some(addr) = self.stores.get(&store_id)
                {
                    addr.do_send(StoreFact {
                        created_at: fact.created_at,
                        earned: fact.earned,
                        sale: !fact.pending && SALE_REASONS.contains(&fact.reason.as_str()),
                        completed_tasks: fact.completed_tasks,
                    });
                }
                if let (Some(campaign_id), Some(participant_id)) =
                    (fact.campaign_id, fact.participant_id)
                    && fact.earned != Points::ZERO
                    && let Some(addr) = self.campaigns.get(&campaign_id)
                {
                    addr.do_send(Earned {
                        participant_id,
                        delta: fact.earned.hundredths(),
                        at: fact.created_at,
                    });
                }
            }
            BusEvent::ProgramChanged { program_id } => {
                for entry in self.participants.iter() {
                    if entry.1 == program_id {
                        entry.0.do_send(Reload);
                    }
                }
                for addr in self.stores.iter() {
                    addr.do_send(ReloadInfo);
                }
            }
            BusEvent::ParticipantChanged { user_id } => {
                if let Some(entry) = self.participants.get(&user_id) {
                    entry.0.do_send(Reload);
                }
            }
            BusEvent::StoreChanged { store_id } => {
                if let Some(addr) = self.stores.get(&store_id) {
                    addr.do_send(ReloadInfo);
                }
            }
            BusEvent::ModerationQueued { program_id } => {
                self.moderation.do_send(Route { program_id })
            }
            BusEvent::ModerationSettled { item, reason } => {
                self.moderation.do_send(Settled { item, reason })
            }
            BusEvent::AccessChanged { .. } => {}
            BusEvent::Push { topic, event, data } => {
                self.hub.publish_named(&topic, &event, &data);
            }
            BusEvent::Presence {
                node,
                store_id,
                user_id,
                online,
            } => {
                if let Some(addr) = self.stores.get(&store_id) {
                    addr.do_send(Presence {
                        node,
                        user_id,
                        online,
                    });
                }
            }
            BusEvent::PresenceBeat { node, online } => {
                let mut by_store: HashMap<i64, Vec<i64>> = HashMap::new();
                for (store_id, user_id) in online {
                    by_store.entry(store_id).or_default().push(user_id);
                }
                for (store_id, users) in by_store {
                    if let Some(addr) = self.stores.get(&store_id) {
                        addr.do_send(PresenceRefresh {
                            node: node.clone(),
                            users,
                        });
                    }
                }
            }
        }
    }

    /// A participant's WebSocket session opened on this node; the first one makes them
    /// online for their store's watchers on every node.
    pub fn session_opened(&self, store_id: i64, user_id: i64) {
        let mut count = self.sessions.entry((store_id, user_id)).or_insert(0);
        *count += 1;
        if *count == 1 {
            drop(count);
            self.publish_presence(store_id, user_id, true);
        }
    }

    /// A participant's session closed; the last one takes them offline.
    pub fn session_closed(&self, store_id: i64, user_id: i64) {
        let last = self
            .sessions
            .remove_if_mut(&(store_id, user_id), |_, count| {
                *count = count.saturating_sub(1);
                *count == 0
            })
            .is_some();
        if last {
            self.publish_presence(store_id, user_id, false);
        }
    }

    fn publish_presence(&self, store_id: i64, user_id: i64, online: bool) {
        self.bus.publish(BusEvent::Presence {
            node: self.node.clone(),
            store_id,
            user_id,
            online,
        });
    }

    /// Restates this node's online participants (every [`crate::store::PRESENCE_BEAT`]).
    pub fn presence_beat(&self) {
        let online: Vec<(i64, i64)> = self.sessions.iter().map(|entry| *entry.key()).collect();
        self.bus.publish(BusEvent::PresenceBeat {
            node: self.node.clone(),
            online,
        });
    }

    pub async fn earn(
        self: &Arc<Self>,
        user_id: i64,
        earn: Earn,
    ) -> Result<ChangeOutcome, ParticipantError> {
        let addr = self
            .participant(user_id)
            .await
            .map_err(|err| into_participant_error(user_id, err))?;
        addr.send(earn)
            .await
            .map_err(|_| ParticipantError::Ledger(crate::ledger::LedgerError::ShuttingDown))?
    }

    pub async fn adjust(
        self: &Arc<Self>,
        user_id: i64,
        adjust: Adjust,
    ) -> Result<ChangeOutcome, ParticipantError> {
        let addr = self
            .participant(user_id)
            .await
            .map_err(|err| into_participant_error(user_id, err))?;
        addr.send(adjust)
            .await
            .map_err(|_| ParticipantError::Ledger(crate::ledger::LedgerError::ShuttingDown))?
    }

    pub async fn settle(
        self: &Arc<Self>,
        user_id: i64,
        settle: Settle,
    ) -> Result<ChangeOutcome, ParticipantError> {
        let addr = self
            .participant(user_id)
            .await
            .map_err(|err| into_participant_error(user_id, err))?;
        addr.send(settle)
            .await
            .map_err(|_| ParticipantError::Ledger(crate::ledger::LedgerError::ShuttingDown))?
    }

    pub async fn participant_view(
        self: &Arc<Self>,
        user_id: i64,
    ) -> Result<ParticipantView, LiveError> {
        self.participant(user_id)
            .await?
            .send(GetView)
            .await
            .map_err(|_| LiveError::Gone)
    }

    pub async fn store_progress(
        self: &Arc<Self>,
        store_id: i64,
    ) -> Result<StoreProgress, LiveError> {
        self.store_actor(store_id)
            .await?
            .send(GetProgress)
            .await
            .map_err(|_| LiveError::Gone)
    }

    /// The live actor of a campaign, started (and its boards loaded) if needed.
    pub async fn campaign(
        self: &Arc<Self>,
        campaign_id: i64,
    ) -> Result<Addr<CampaignActor>, LiveError> {
        if let Some(addr) = self.campaigns.get(&campaign_id)
            && addr.connected()
        {
            return Ok(addr.clone());
        }
        let info = self
            .leaderboards
            .campaign(campaign_id)
            .await
            .map_err(LiveError::Storage)?
            .ok_or(LiveError::NotFound)?;
        let loaded = CampaignActor::load(self.leaderboards.as_ref(), &info, self.now_ms())
            .await
            .map_err(LiveError::Storage)?;
        let mut entry = self
            .campaigns
            .entry(campaign_id)
            .or_insert_with(|| self.start_campaign(info.clone(), loaded));
        if !entry.connected() {
            let loaded = CampaignActor::load(self.leaderboards.as_ref(), &info, self.now_ms())
                .await
                .map_err(LiveError::Storage)?;
            *entry = self.start_campaign(info, loaded);
        }
        Ok(entry.clone())
    }

    /// Drops this node's actor of a campaign whose rules changed (dates, ranking,
    /// plans): the next read or fact starts a fresh one from the database. The old actor
    /// gets no more facts and stops when idle.
    pub fn forget_campaign(&self, campaign_id: i64) {
        self.campaigns.remove(&campaign_id);
    }

    fn start_campaign(
        self: &Arc<Self>,
        info: CampaignInfo,
        loaded: Vec<(
            crate::rules::windows::Window,
            crate::rules::windows::WindowBucket,
            Vec<crate::campaign::ScoreRow>,
        )>,
    ) -> Addr<CampaignActor> {
        let (store, hub, clock, live) = (
            self.leaderboards.clone(),
            self.hub.clone(),
            self.clock.clone(),
            Arc::downgrade(self),
        );
        let campaign_id = info.campaign_id;
        CampaignActor::start_in_arbiter(self.arbiter_for(campaign_id), move |ctx| {
            let me = ctx.address();
            CampaignActor::new(info, store, hub, clock)
                .with_scores(loaded)
                .on_stop(move || {
                    if let Some(live) = live.upgrade() {
                        live.campaigns
                            .remove_if(&campaign_id, |_, addr| *addr == me);
                    }
                })
        })
    }

    /// A leaderboard of a campaign.
    pub async fn leaderboard(
        self: &Arc<Self>,
        campaign_id: i64,
        request: GetBoard,
    ) -> Result<BoardView, LiveError> {
        self.campaign(campaign_id)
            .await?
            .send(request)
            .await
            .map_err(|_| LiveError::Gone)
    }

    /// Stops every actor thread of this node (after the HTTP server has drained): the
    /// actors stop with them and nothing keeps polling the database.
    /// Stops the actor threads. Call [`RealtimeCore::drain_commits`] after it.
    pub fn shutdown(&self) {
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }

    /// Waits until every transaction handed to the group committer so far is
    /// committed: the last batch is durable before the process exits.
    #[tracing::instrument(skip_all)]
    pub async fn drain_commits(&self) {
        self.committer.flush().await;
    }

    /// Pushes `event` to the subscribers of `topic` on every node.
    pub fn push<T: LiveEvent>(&self, topic: &str, event: &T) {
        match serde_json::to_value(event) {
            Ok(data) => self.bus.publish(BusEvent::Push {
                topic: topic.to_string(),
                event: T::NAME.to_string(),
                data,
            }),
            Err(err) => {
                tracing::warn!(topic, event = T::NAME, error = %err, "an event could not be serialised")
            }
        }
    }

    /// Live actors on this node (for metrics).
    pub fn live_counts(&self) -> (usize, usize) {
        (self.participants.len(), self.stores.len())
    }
}

fn into_participant_error(user_id: i64, err: LiveError) -> ParticipantError {
    match err {
        LiveError::NotFound => ParticipantError::NotFound(user_id),
        LiveError::Storage(message) => {
            ParticipantError::Ledger(crate::ledger::LedgerError::Storage(message))
        }
        LiveError::Gone => ParticipantError::Ledger(crate::ledger::LedgerError::ShuttingDown),
    }
}

/// Lets the committer use the live store as its ledger store.
struct StoreAsLedger(Arc<dyn LiveStore>);

#[async_trait]
impl LedgerStore for StoreAsLedger {
    async fn commit_batch(
        &self,
        requests: &[crate::ledger::TransactionRequest],
    ) -> Result<Vec<Result<crate::ledger::Committed, crate::ledger::LedgerError>>, StorageError>
    {
        self.0.commit_batch(requests).await
    }
}

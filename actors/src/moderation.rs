//! `ModerationActor`: the live moderation queue of one node.
//!
//! It knows which moderators are connected to this node, what each may take (kinds,
//! regions) and how many items each holds against the capacity they declared. Whenever
//! something changes (an item is queued anywhere, a decision frees a slot, a lease
//! expires, a moderator leaves) it routes: queued items go to the least-loaded eligible
//! moderator, oldest first with per-kind boosts ([`crate::rules::routing`]). Claims are
//! made in the database (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so across nodes no
//! item is ever held by two moderators. Each claim carries a lease; an item whose lease
//! runs out, or whose moderator leaves, returns to the queue.
//!
//! Pushes: `item_assigned` / `item_revoked` on each moderator's `moderation` topic, and
//! queue statistics on `moderation_stats` every few seconds while someone watches.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Clock;
use crate::bus::BusEvent;
use crate::error::StorageError;
use crate::hub::{LiveEvent, TopicHub};
use crate::rules::routing::{Item, ItemKind, Moderator, PriorityBoosts, Scope, assign_batch};

/// How long a moderator may hold an item before it goes back to the queue: long enough
/// to look at photos and decide, short enough that an abandoned item waits minutes.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(600);
/// How often leases are checked and held counts resynchronised with the database.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);
const STATS_INTERVAL: Duration = Duration::from_secs(5);
/// Candidates read per claim, as a multiple of the free capacity: room for skipping
/// items no connected moderator may take.
const CANDIDATES_PER_SLOT: i64 = 4;

/// An item as a moderator sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct ItemView {
    pub id: i64,
    /// `registration`, `receipt`, `task_submission`, `code_review`, `payout`.
    #[schema(value_type = String)]
    pub kind: ItemKind,
    /// The checked object in its own list (user, receipt, submission, …).
    pub subject_id: i64,
    pub participant_id: Option<i64>,
    pub store_id: Option<i64>,
    pub region_id: Option<i64>,
    /// What to check: photos, answers, amounts.
    #[schema(value_type = Object)]
    pub summary: serde_json::Value,
    pub created_at: i64,
    pub assigned_to: Option<i64>,
    /// When the item returns to the queue if not decided.
    pub lease_expires_at: Option<i64>,
}

/// Queue figures pushed on `moderation_stats` and exported as metrics.
#[derive(Debug, Clone, Default, Serialize, PartialEq, ToSchema)]
pub struct QueueStats {
    pub program_id: i64,
    /// Queued (not yet assigned) items by kind.
    pub queued: HashMap<String, i64>,
    pub assigned: i64,
    /// Age of the oldest queued item, ms (0 when the queue is empty).
    pub oldest_queued_ms: i64,
    /// Decisions in the last hour per moderator id.
    pub decisions_last_hour: HashMap<String, i64>,
    /// Time from submission to decision over the last hour, ms.
    pub time_to_decision_p50_ms: i64,
    pub time_to_decision_p95_ms: i64,
    /// Moderators connected to this node.
    pub moderators_online: usize,
}

/// Decides which moderator takes which of the candidate items: `(item, moderator)`.
pub type Assign = dyn for<'a> Fn(&'a [Item]) -> Vec<(i64, i64)> + Send + Sync;

/// What the actor needs from storage.
#[async_trait]
pub trait ModerationStore: Send + Sync + 'static {
    /// In one transaction: reads up to `limit` queued items of the program (locked with
    /// `SKIP LOCKED` where the database can), asks `assign` which moderator takes which,
    /// and claims those items until `lease_until`. Returns what was claimed, by whom.
    async fn claim(
        &self,
        program_id: i64,
        limit: i64,
        now: i64,
        lease_until: i64,
        assign: Arc<Assign>,
    ) -> Result<Vec<(ItemView, i64)>, StorageError>;
    /// Items the moderator holds now.
    async fn held(&self, moderator_id: i64) -> Result<Vec<ItemView>, StorageError>;
    /// Returns everything the moderator holds to the queue.
    async fn release(&self, moderator_id: i64) -> Result<Vec<ItemView>, StorageError>;
    /// Returns items whose lease ended to the queue; each as it was held (by whom).
    async fn expire_leases(&self, now: i64) -> Result<Vec<ItemView>, StorageError>;
    async fn stats(&self, program_id: i64, now: i64) -> Result<QueueStats, StorageError>;
}

pub fn topic(moderator_id: i64) -> String {
    format!("moderation:{moderator_id}")
}

pub fn stats_topic(program_id: i64) -> String {
    format!("moderation_stats:{program_id}")
}

struct Connected {
    program_id: i64,
    capacity: u32,
    held: u32,
    kinds: Scope<ItemKind>,
    regions: Scope<i64>,
    /// Open sessions of this moderator on this node.
    sessions: HashSet<u64>,
}

pub struct ModerationActor {
    store: Arc<dyn ModerationStore>,
    hub: Arc<TopicHub>,
    clock: Clock,
    lease: Duration,
    moderators: HashMap<i64, Connected>,
    /// Programs to route again once the routing in progress ends.
    pending_routes: HashSet<i64>,
    routing: bool,
    /// Called with events for other nodes (items released back to the queue).
    publish: Arc<dyn Fn(BusEvent) + Send + Sync>,
}

/// Why an item left its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettleReason {
    /// The holder decided it.
    Decided,
    /// Someone else closed it (e.g. a manager approved the registration directly).
    Withdrawn,
    /// The holder did not decide within the lease; it is queued again.
    LeaseExpired,
}

/// Data of the `item_revoked` event.
#[derive(Serialize, ToSchema)]
pub struct Revoked {
    pub item_id: i64,
    pub reason: SettleReason,
}

impl LiveEvent for Revoked {
    const NAME: &'static str = "item_revoked";
}

/// Pushed on `moderation` when the item is routed to the moderator.
impl LiveEvent for ItemView {
    const NAME: &'static str = "item_assigned";
}

impl LiveEvent for QueueStats {
    const NAME: &'static str = "stats";
}

impl ModerationActor {
    pub fn new(
        store: Arc<dyn ModerationStore>,
        hub: Arc<TopicHub>,
        clock: Clock,
        lease: Duration,
        publish: Arc<dyn Fn(BusEvent) + Send + Sync>,
    ) -> Self {
        Self {
            store,
            hub,
            clock,
            lease,
            moderators: HashMap::new(),
            pending_routes: HashSet::new(),
            routing: false,
            publish,
        }
    }

    fn programs(&self) -> HashSet<i64> {
        self.moderators.values().map(|m| m.program_id).collect()
    }

    /// Routes the queued items of `programs`, one routing at a time.
    fn route(&mut self, programs: impl IntoIterator<Item = i64>, ctx: &mut Context<Self>) {
        self.pending_routes.extend(programs);
        if self.routing || self.pending_routes.is_empty() {
            return;
        }
        let program_id = match self.pending_routes.iter().next().copied() {
            Some(program) => program,
            None => return,
        };
        self.pending_routes.remove(&program_id);
        let moderators: Vec<Moderator> = self
            .moderators
            .iter()
            .filter(|(_, m)| m.program_id == program_id && m.held < m.capacity)
            .map(|(id, m)| Moderator {
                id: *id,
                capacity: m.capacity,
                held: m.held,
                kinds: m.kinds.clone(),
                regions: m.regions.clone(),
            })
            .collect();
        let free: i64 = moderators
            .iter()
            .map(|m| i64::from(m.capacity - m.held))
            .sum();
        if free == 0 {
            self.route(std::iter::empty(), ctx);
            return;
        }
        self.routing = true;
        let store = self.store.clone();
        let now = (self.clock)();
        let lease_until = now + self.lease.as_millis() as i64;
        let assign: Arc<Assign> = Arc::new(move |items: &[Item]| {
            assign_batch(items, &moderators, &PriorityBoosts::new())
        });
        ctx.spawn(
            async move {
                store
                    .claim(
                        program_id,
                        free * CANDIDATES_PER_SLOT,
                        now,
                        lease_until,
                        assign,
                    )
                    .await
            }
            .into_actor(self)
            .map(move |claimed, actor, ctx| {
                actor.routing = false;
                match claimed {
                    Ok(claimed) => {
                        let any = !claimed.is_empty();
                        for (item, moderator_id) in claimed {
                            if let Some(moderator) = actor.moderators.get_mut(&moderator_id) {
                                moderator.held += 1;
                            }
                            actor.hub.publish(&topic(moderator_id), &item);
                        }
                        // More may be claimable (items skipped for eligibility).
                        if any {
                            actor.pending_routes.insert(program_id);
                        }
                    }
                    Err(err) => {
                        tracing::warn!(program_id, error = ?err, "routing moderation items failed")
                    }
                }
                actor.route(std::iter::empty(), ctx);
            }),
        );
    }
}

impl Actor for ModerationActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(SWEEP_INTERVAL, |actor, ctx| {
            let store = actor.store.clone();
            let now = (actor.clock)();
            ctx.spawn(
                async move { store.expire_leases(now).await }
                    .into_actor(actor)
                    .map(|expired, actor, _ctx| match expired {
                        Ok(expired) => {
                            // Through the bus: the holder may be connected to another node. Each
                            // node then frees the slot and routes the item again.
                            for item in expired {
                                (actor.publish)(BusEvent::ModerationSettled {
                                    item,
                                    reason: SettleReason::LeaseExpired,
                                });
                            }
                        }
                        Err(err) => {
                            tracing::warn!(error = ?err, "expiring moderation leases failed")
                        }
                    }),
            );
        });
        ctx.run_interval(STATS_INTERVAL, |actor, ctx| {
            let programs: Vec<i64> = actor.programs().into_iter().collect();
            for program_id in programs {
                if !actor.hub.has_subscribers(&stats_topic(program_id)) {
                    continue;
                }
                let store = actor.store.clone();
                let now = (actor.clock)();
                let online = actor
                    .moderators
                    .values()
                    .filter(|m| m.program_id == program_id)
                    .count();
                ctx.spawn(
                    async move { store.stats(program_id, now).await }
                        .into_actor(actor)
                        .map(move |stats, actor, _| {
                            if let Ok(mut stats) = stats {
                                stats.moderators_online = online;
                                actor.hub.publish(&stats_topic(program_id), &stats);
                            }
                        }),
                );
            }
        });
    }
}

/// A moderator's session opened: they take up to `capacity` items of the given kinds
/// and regions. Answers with what they already hold (the snapshot).
#[derive(Message)]
#[rtype(result = "Result<Vec<ItemView>, StorageError>")]
pub struct Join {
    pub moderator_id: i64,
    /// The joining session (joining again from the same session changes nothing).
    pub session: u64,
    pub program_id: i64,
    pub capacity: u32,
    pub kinds: Scope<ItemKind>,
    pub regions: Scope<i64>,
}

impl Handler<Join> for ModerationActor {
    type Result = ResponseActFuture<Self, Result<Vec<ItemView>, StorageError>>;

    fn handle(&mut self, join: Join, _ctx: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let moderator_id = join.moderator_id;
        Box::pin(
            async move { store.held(moderator_id).await }
                .into_actor(self)
                .map(move |held, actor, ctx| {
                    let held = held?;
                    let entry = actor.moderators.entry(moderator_id).or_insert(Connected {
                        program_id: join.program_id,
                        capacity: join.capacity,
                        held: 0,
                        kinds: join.kinds.clone(),
                        regions: join.regions.clone(),
                        sessions: HashSet::new(),
                    });
                    entry.sessions.insert(join.session);
                    entry.capacity = join.capacity;
                    entry.kinds = join.kinds;
                    entry.regions = join.regions;
                    entry.held = held.len() as u32;
                    actor.route([join.program_id], ctx);
                    Ok(held)
                }),
        )
    }
}

/// A moderator's session closed; with the last one, their items return to the queue.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    pub moderator_id: i64,
    pub session: u64,
}

impl Handler<Leave> for ModerationActor {
    type Result = ();

    fn handle(&mut self, leave: Leave, ctx: &mut Context<Self>) {
        let Some(moderator) = self.moderators.get_mut(&leave.moderator_id) else {
            return;
        };
        moderator.sessions.remove(&leave.session);
        if !moderator.sessions.is_empty() {
            return;
        }
        let program_id = moderator.program_id;
        self.moderators.remove(&leave.moderator_id);
        let store = self.store.clone();
        ctx.wait(
            async move { store.release(leave.moderator_id).await }
                .into_actor(self)
                .map(move |released, actor, ctx| {
                    match released {
                        Ok(items) if !items.is_empty() => {
                            (actor.publish)(BusEvent::ModerationQueued { program_id })
                        }
                        Ok(_) => {}
                        Err(err) => {
                            tracing::warn!(error = ?err, "releasing a moderator's items failed")
                        }
                    }
                    actor.route([program_id], ctx);
                }),
        );
    }
}

/// Items were queued (on any node) or freed: route again.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Route {
    pub program_id: i64,
}

impl Handler<Route> for ModerationActor {
    type Result = ();

    fn handle(&mut self, route: Route, ctx: &mut Context<Self>) {
        self.route([route.program_id], ctx);
    }
}

/// An item left its holder (on any node): free the slot, tell the holder unless they
/// decided it themselves, and route (a lease-expired item is queued again).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Settled {
    pub item: ItemView,
    pub reason: SettleReason,
}

impl Handler<Settled> for ModerationActor {
    type Result = ();

    fn handle(&mut self, settled: Settled, ctx: &mut Context<Self>) {
        let holder = settled.item.assigned_to;
        if let Some(moderator) = holder.and_then(|h| self.moderators.get_mut(&h)) {
            moderator.held = moderator.held.saturating_sub(1);
        }
        if let (Some(holder), true) = (holder, settled.reason != SettleReason::Decided) {
            self.hub.publish(
                &topic(holder),
                &Revoked {
                    item_id: settled.item.id,
                    reason: settled.reason,
                },
            );
        }
        let programs = self.programs();
        self.route(programs, ctx);
    }
}

/// Queue figures for a program, on demand (HTTP, metrics).
#[derive(Message)]
#[rtype(result = "Result<QueueStats, StorageError>")]
pub struct GetStats {
    pub program_id: i64,
}

impl Handler<GetStats> for ModerationActor {
    type Result = ResponseFuture<Result<QueueStats, StorageError>>;

    fn handle(&mut self, request: GetStats, _ctx: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let now = (self.clock)();
        let online = self
            .moderators
            .values()
            .filter(|m| m.program_id == request.program_id)
            .count();
        Box::pin(async move {
            let mut stats = store.stats(request.program_id, now).await?;
            stats.moderators_online = online;
            Ok(stats)
        })
    }
}

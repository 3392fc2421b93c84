//! `CodegenSupervisor` and its `CodegenWorker`s: keep every code pool at its target and
//! move ordered codes out of the pool.
//!
//! One supervisor runs per node with N workers, each on its own thread. On every check
//! (a timer, an order, a request) the supervisor reads each pool's level and plans a
//! refill where [`refill_due`] says so: a refill row and its shards, quotas adding up to
//! exactly the deficit ([`crate::rules::refill::split_quota`]). The database allows one
//! running refill per pool, so two nodes planning at once end up with one refill.
//!
//! Shards are claimed in the database with a lease, by any idle worker of any node. A
//! worker fills its shard chunk by chunk: it draws codes from the shard's key space,
//! inserts them (a unique key rejects codes that already exist), and adds what was really
//! inserted to the shard's `done` in the same transaction, renewing its lease; the next
//! chunk draws again for what is still missing. So a crash loses at most one uncommitted
//! chunk, a restart (or another node, once the lease runs out) continues from `done`, and
//! a refill ends at exactly its quota. A chunk whose lease was taken over is rolled back.
//! On shutdown workers stop between chunks and hand their shards back.
//!
//! Issuing an ordered batch is also done here, chunk by chunk, resumable the same way.
//! Storage is reached through [`CodegenStore`] only.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix::prelude::*;
use async_trait::async_trait;
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use crate::Clock;
use crate::error::StorageError;
use crate::rules::codes::{CodeShard, ProductCode};
use crate::rules::refill::{NightlyWindow, PoolLevel, RefillTrigger, refill_due};

/// A pool as the supervisor checks it.
#[derive(Debug, Clone)]
pub struct PoolCheck {
    pub pool_id: i64,
    pub timezone: Tz,
    pub level: PoolLevel,
    /// A refill of this pool is running (on any node).
    pub refilling: bool,
}

/// A shard a worker holds: which codes to draw and how far it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardClaim {
    pub refill_id: i64,
    pub pool_id: i64,
    pub shard: CodeShard,
    pub quota: i64,
    /// Codes of this shard committed so far.
    pub done: i64,
    /// `node/worker`: who holds the lease.
    pub owner: String,
}

impl ShardClaim {
    pub fn remaining(&self) -> i64 {
        (self.quota - self.done).max(0)
    }
}

/// How far a batch has been moved out of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchProgress {
    pub issued: i64,
    pub quantity: i64,
}

impl BatchProgress {
    pub fn complete(&self) -> bool {
        self.issued >= self.quantity
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// The shard's lease went to another worker (ours ran out); nothing was written.
    #[error("the shard's lease was taken over")]
    LeaseLost,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What the codegen actors need from storage.
#[async_trait]
pub trait CodegenStore: Send + Sync + 'static {
    /// Every pool with its level. Refills whose shards are all done are marked done first
    /// (a crash between a refill's last chunk and its completion leaves that to here).
    async fn pools(&self, now: i64) -> Result<Vec<PoolCheck>, StorageError>;
    /// Plans a refill of the pool's deficit split into `shards`, unless one is running
    /// or nothing is missing. Returns the new refill's id.
    async fn plan_refill(
        &self,
        pool_id: i64,
        trigger: RefillTrigger,
        shards: u64,
        now: i64,
    ) -> Result<Option<i64>, StorageError>;
    /// Claims one unfinished shard of a running refill that nobody holds (or whose
    /// lease ended before `now`) for `owner` until `lease_until`.
    async fn claim_shard(
        &self,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<ShardClaim>, StorageError>;
    /// In one transaction: checks `claim` still holds the shard at `claim.done`, inserts
    /// the codes that do not exist yet, adds their number to the shard's `done` and the
    /// pool's level, and renews the lease. Returns how many were inserted.
    async fn insert_chunk(
        &self,
        claim: &ShardClaim,
        codes: &[ProductCode],
        lease_until: i64,
    ) -> Result<i64, ChunkError>;
    /// Gives the shard back (done or not) and completes the refill when it was the last.
    async fn release_shard(&self, claim: &ShardClaim, now: i64) -> Result<(), StorageError>;
    /// Moves up to `limit` more codes of the batch from the pool to issued.
    async fn issue_chunk(&self, batch_id: i64, limit: i64) -> Result<BatchProgress, StorageError>;
    /// Batches still being issued.
    async fn unfinished_batches(&self) -> Result<Vec<i64>, StorageError>;
}

/// How the codegen actors work.
#[derive(Debug, Clone)]
pub struct CodegenConfig {
    /// Workers on this node; also the shards a refill planned here is split into.
    pub workers: usize,
    /// Codes per transaction, for refills and issuance. Big enough that a transaction's
    /// fixed cost vanishes, small enough that a crash loses little and shutdown is quick.
    pub chunk_size: usize,
    /// How often pools are checked.
    pub check_interval: Duration,
    /// How long a shard stays with a worker that stopped renewing it (a crashed node).
    pub lease: Duration,
    /// Local time of day when pools are topped up to their target.
    pub window: NightlyWindow,
}

/// Draws the next chunk of the claim's shard: `min(chunk_size, remaining)` fresh codes.
/// A cryptographically secure generator is used: codes are bearer tokens for points.
fn draw_chunk(claim: &ShardClaim, chunk_size: usize) -> Vec<ProductCode> {
    let wanted = usize::try_from(claim.remaining())
        .unwrap_or(0)
        .min(chunk_size);
    let mut rng = rand::rng();
    (0..wanted)
        .map(|_| claim.shard.random_code(&mut rng))
        .collect()
}

/// Draws and inserts one chunk, advancing `claim.done` by what was really inserted.
/// Returns whether the shard is complete.
pub async fn fill_chunk(
    store: &dyn CodegenStore,
    claim: &mut ShardClaim,
    chunk_size: usize,
    lease_until: i64,
) -> Result<bool, ChunkError> {
    let codes = draw_chunk(claim, chunk_size);
    if !codes.is_empty() {
        claim.done += store.insert_chunk(claim, &codes, lease_until).await?;
    }
    Ok(claim.remaining() == 0)
}

/// Refills a pool to its target in the calling task, without actors (the demo, bench
/// commands): plans a refill (or joins the running one) and works its shards as
/// `owner` until the refill is done. Returns the codes this call inserted.
pub async fn refill_inline(
    store: &dyn CodegenStore,
    pool_id: i64,
    shards: u64,
    chunk_size: usize,
    owner: &str,
    clock: &Clock,
    lease: Duration,
) -> Result<i64, StorageError> {
    store
        .plan_refill(pool_id, RefillTrigger::Manual, shards, clock())
        .await?;
    let mut inserted = 0;
    loop {
        let now = clock();
        match store.claim_shard(owner, now, now + lease_ms(lease)).await? {
            Some(mut claim) => {
                let before = claim.done;
                let outcome = loop {
                    match fill_chunk(store, &mut claim, chunk_size, clock() + lease_ms(lease)).await
                    {
                        Ok(true) => break Ok(()),
                        Ok(false) => continue,
                        Err(err) => break Err(err),
                    }
                };
                inserted += claim.done - before;
                store.release_shard(&claim, clock()).await?;
                outcome.map_err(|err| match err {
                    ChunkError::Storage(err) => err,
                    ChunkError::LeaseLost => {
                        StorageError::message("the shard's lease was taken over")
                    }
                })?;
            }
            None => {
                let refilling = store
                    .pools(clock())
                    .await?
                    .iter()
                    .any(|pool| pool.pool_id == pool_id && pool.refilling);
                if !refilling {
                    return Ok(inserted);
                }
                // Other workers hold the remaining shards: wait for them.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

fn lease_ms(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2)
}

/// A worker's current work, as the status API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
pub struct WorkerView {
    pub worker: usize,
    pub refill_id: Option<i64>,
    pub shard: Option<u64>,
    pub done: Option<i64>,
    pub quota: Option<i64>,
}

struct WorkerSlot {
    addr: Addr<CodegenWorker>,
    claim: Option<ShardClaim>,
}

pub struct CodegenSupervisor {
    store: Arc<dyn CodegenStore>,
    config: CodegenConfig,
    clock: Clock,
    node: String,
    workers: Vec<WorkerSlot>,
    /// Threads the workers run on, stopped with the supervisor.
    arbiters: Vec<ArbiterHandle>,
    checking: bool,
    /// A check was asked for while one was running: run another after it.
    check_again: bool,
    assigning: bool,
    assign_again: bool,
    issuing: HashSet<i64>,
    stopping: Arc<AtomicBool>,
}

impl CodegenSupervisor {
    /// `arbiters`: one thread per worker (`config.workers` of them).
    pub fn new(
        store: Arc<dyn CodegenStore>,
        config: CodegenConfig,
        clock: Clock,
        node: String,
        arbiters: Vec<ArbiterHandle>,
    ) -> Self {
        Self {
            store,
            config,
            clock,
            node,
            workers: Vec::new(),
            arbiters,
            checking: false,
            check_again: false,
            assigning: false,
            assign_again: false,
            issuing: HashSet::new(),
            stopping: Arc::new(AtomicBool::new(false)),
        }
    }

    fn shards_per_refill(&self) -> u64 {
        self.config.workers.max(1) as u64
    }

    /// Reads every pool, plans the refills that are due, resumes unfinished batches and
    /// hands shards to idle workers.
    fn check(&mut self, ctx: &mut Context<Self>) {
        if self.stopping.load(Ordering::Relaxed) {
            return;
        }
        if self.checking {
            self.check_again = true;
            return;
        }
        self.checking = true;
        let store = self.store.clone();
        let clock = self.clock.clone();
        let window = self.config.window;
        let shards = self.shards_per_refill();
        ctx.spawn(
            async move {
                let now = clock();
                for pool in store.pools(now).await? {
                    if pool.refilling {
                        continue;
                    }
                    let Some(trigger) =
                        refill_due(pool.level, window.contains(now, pool.timezone))
                    else {
                        continue;
                    };
                    if let Some(refill_id) = store
                        .plan_refill(pool.pool_id, trigger, shards, now)
                        .await?
                    {
                        tracing::info!(pool_id = pool.pool_id, refill_id, %trigger, "code pool refill planned");
                    }
                }
                store.unfinished_batches().await
            }
            .into_actor(self)
            .map(|batches, actor, ctx| {
                actor.checking = false;
                match batches {
                    Ok(batches) => {
                        for batch_id in batches {
                            actor.issue(batch_id, ctx);
                        }
                    }
                    Err(err) => tracing::warn!(error = ?err, "checking code pools failed"),
                }
                actor.assign(ctx);
                if std::mem::take(&mut actor.check_again) {
                    actor.check(ctx);
                }
            }),
        );
    }

    /// Claims a shard for every idle worker, while there are shards to claim.
    fn assign(&mut self, ctx: &mut Context<Self>) {
        if self.stopping.load(Ordering::Relaxed) {
            return;
        }
        if self.assigning {
            self.assign_again = true;
            return;
        }
        let idle: Vec<usize> = (0..self.workers.len())
            .filter(|&i| self.workers[i].claim.is_none())
            .collect();
        if idle.is_empty() {
            return;
        }
        self.assigning = true;
        let store = self.store.clone();
        let clock = self.clock.clone();
        let lease = lease_ms(self.config.lease);
        let owners: Vec<(usize, String)> = idle
            .into_iter()
            .map(|i| (i, format!("{}/{i}", self.node)))
            .collect();
        ctx.spawn(
            async move {
                let mut claims = Vec::new();
                for (worker, owner) in owners {
                    let now = clock();
                    match store.claim_shard(&owner, now, now + lease).await {
                        Ok(Some(claim)) => claims.push((worker, claim)),
                        Ok(None) => break,
                        Err(err) => {
                            tracing::warn!(error = ?err, "claiming a code shard failed");
                            break;
                        }
                    }
                }
                claims
            }
            .into_actor(self)
            .map(|claims, actor, ctx| {
                actor.assigning = false;
                for (worker, claim) in claims {
                    if let Some(slot) = actor.workers.get_mut(worker) {
                        slot.claim = Some(claim.clone());
                        slot.addr.do_send(Work(claim));
                    }
                }
                if std::mem::take(&mut actor.assign_again) {
                    actor.assign(ctx);
                }
            }),
        );
    }

    /// Moves a batch's codes out of the pool, chunk by chunk, unless that runs already.
    fn issue(&mut self, batch_id: i64, ctx: &mut Context<Self>) {
        if self.stopping.load(Ordering::Relaxed) || !self.issuing.insert(batch_id) {
            return;
        }
        let store = self.store.clone();
        let limit = i64::try_from(self.config.chunk_size).unwrap_or(i64::MAX);
        let stopping = self.stopping.clone();
        ctx.spawn(
            async move {
                while !stopping.load(Ordering::Relaxed) {
                    if store.issue_chunk(batch_id, limit).await?.complete() {
                        break;
                    }
                }
                Ok::<_, StorageError>(())
            }
            .into_actor(self)
            .map(move |outcome, actor, ctx| {
                actor.issuing.remove(&batch_id);
                if let Err(err) = outcome {
                    tracing::warn!(batch_id, error = ?err, "issuing a code batch failed; it is resumed at the next check");
                }
                // The pool is lower now: maybe below its watermark.
                actor.check(ctx);
            }),
        );
    }
}

impl Actor for CodegenSupervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let me = ctx.address();
        for (index, arbiter) in self.arbiters.iter().enumerate() {
            let worker = CodegenWorker {
                index,
                store: self.store.clone(),
                supervisor: me.clone(),
                chunk_size: self.config.chunk_size.max(1),
                lease: self.config.lease,
                clock: self.clock.clone(),
                claim: None,
                stopping: false,
            };
            let addr = CodegenWorker::start_in_arbiter(arbiter, move |_| worker);
            self.workers.push(WorkerSlot { addr, claim: None });
        }
        // Right away: a refill interrupted by a crash resumes as soon as the node is up.
        self.check(ctx);
        ctx.run_interval(self.config.check_interval, |actor, ctx| actor.check(ctx));
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}

/// Check the pools now (after an order, or on request).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Check;

impl Handler<Check> for CodegenSupervisor {
    type Result = ();

    fn handle(&mut self, _: Check, ctx: &mut Context<Self>) {
        self.check(ctx);
    }
}

/// Refill a pool now (if anything is missing and no refill runs). Answers with the new
/// refill's id.
#[derive(Message)]
#[rtype(result = "Result<Option<i64>, StorageError>")]
pub struct Refill {
    pub pool_id: i64,
    pub trigger: RefillTrigger,
}

impl Handler<Refill> for CodegenSupervisor {
    type Result = ResponseActFuture<Self, Result<Option<i64>, StorageError>>;

    fn handle(&mut self, refill: Refill, _ctx: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let now = (self.clock)();
        let shards = self.shards_per_refill();
        Box::pin(
            async move {
                store
                    .plan_refill(refill.pool_id, refill.trigger, shards, now)
                    .await
            }
            .into_actor(self)
            .map(|planned, actor, ctx| {
                if let Ok(Some(_)) = planned {
                    actor.assign(ctx);
                }
                planned
            }),
        )
    }
}

/// Move an ordered batch's codes out of the pool.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Issue {
    pub batch_id: i64,
}

impl Handler<Issue> for CodegenSupervisor {
    type Result = ();

    fn handle(&mut self, issue: Issue, ctx: &mut Context<Self>) {
        self.issue(issue.batch_id, ctx);
    }
}

/// What this node's workers are doing.
#[derive(Message)]
#[rtype(result = "Vec<WorkerView>")]
pub struct GetWorkers;

impl Handler<GetWorkers> for CodegenSupervisor {
    type Result = MessageResult<GetWorkers>;

    fn handle(&mut self, _: GetWorkers, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(
            self.workers
                .iter()
                .enumerate()
                .map(|(worker, slot)| WorkerView {
                    worker,
                    refill_id: slot.claim.as_ref().map(|c| c.refill_id),
                    shard: slot.claim.as_ref().map(|c| c.shard.index()),
                    done: slot.claim.as_ref().map(|c| c.done),
                    quota: slot.claim.as_ref().map(|c| c.quota),
                })
                .collect(),
        )
    }
}

/// A worker committed a chunk.
#[derive(Message)]
#[rtype(result = "()")]
struct Progress {
    worker: usize,
    done: i64,
}

impl Handler<Progress> for CodegenSupervisor {
    type Result = ();

    fn handle(&mut self, progress: Progress, _ctx: &mut Context<Self>) {
        if let Some(claim) = self
            .workers
            .get_mut(progress.worker)
            .and_then(|slot| slot.claim.as_mut())
        {
            claim.done = progress.done;
        }
    }
}

/// A worker let go of its shard (finished, lost or failed) and can take another.
#[derive(Message)]
#[rtype(result = "()")]
struct Idle {
    worker: usize,
}

impl Handler<Idle> for CodegenSupervisor {
    type Result = ();

    fn handle(&mut self, idle: Idle, ctx: &mut Context<Self>) {
        if let Some(slot) = self.workers.get_mut(idle.worker) {
            slot.claim = None;
        }
        self.assign(ctx);
    }
}

/// Stop between chunks: workers hand their shards back, issuing pauses. Answers once
/// every worker has stopped.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;

impl Handler<Stop> for CodegenSupervisor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: Stop, _ctx: &mut Context<Self>) -> Self::Result {
        self.stopping.store(true, Ordering::Relaxed);
        let workers: Vec<Addr<CodegenWorker>> =
            self.workers.iter().map(|slot| slot.addr.clone()).collect();
        Box::pin(
            async move {
                futures_util::future::join_all(workers.iter().map(|w| w.send(StopWorker))).await;
            }
            .into_actor(self)
            .map(|_, _actor, ctx| ctx.stop()),
        )
    }
}

/// Fills the shards the supervisor hands it, one chunk per message, so a stop request
/// is handled between chunks.
pub struct CodegenWorker {
    index: usize,
    store: Arc<dyn CodegenStore>,
    supervisor: Addr<CodegenSupervisor>,
    chunk_size: usize,
    lease: Duration,
    clock: Clock,
    claim: Option<ShardClaim>,
    stopping: bool,
}

impl Actor for CodegenWorker {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
struct Work(ShardClaim);

impl Handler<Work> for CodegenWorker {
    type Result = ();

    fn handle(&mut self, work: Work, ctx: &mut Context<Self>) {
        if self.stopping {
            return;
        }
        self.claim = Some(work.0);
        ctx.notify(NextChunk);
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct NextChunk;

impl Handler<NextChunk> for CodegenWorker {
    type Result = ();

    fn handle(&mut self, _: NextChunk, ctx: &mut Context<Self>) {
        let Some(mut claim) = self.claim.clone() else {
            return;
        };
        if self.stopping {
            return;
        }
        let store = self.store.clone();
        let chunk_size = self.chunk_size;
        let lease_until = (self.clock)() + lease_ms(self.lease);
        // `wait`: no other message (a stop) is handled until the chunk is committed.
        ctx.wait(
            async move {
                let outcome = fill_chunk(store.as_ref(), &mut claim, chunk_size, lease_until).await;
                (claim, outcome)
            }
            .into_actor(self)
            .map(|(claim, outcome), worker, ctx| match outcome {
                Ok(complete) => {
                    worker.supervisor.do_send(Progress {
                        worker: worker.index,
                        done: claim.done,
                    });
                    worker.claim = Some(claim);
                    if complete {
                        worker.release(ctx);
                    } else {
                        ctx.notify(NextChunk);
                    }
                }
                Err(ChunkError::LeaseLost) => {
                    tracing::warn!(refill_id = claim.refill_id, shard = claim.shard.index(), "a code shard's lease was taken over; leaving it");
                    worker.claim = None;
                    worker.supervisor.do_send(Idle {
                        worker: worker.index,
                    });
                }
                Err(err) => {
                    // The lease runs out and the shard is claimed again (here or elsewhere).
                    tracing::warn!(refill_id = claim.refill_id, shard = claim.shard.index(), error = ?err, "a code chunk failed; the shard will be retried");
                    worker.claim = None;
                    worker.supervisor.do_send(Idle {
                        worker: worker.index,
                    });
                }
            }),
        );
    }
}

impl CodegenWorker {
    /// Hands the current shard back and tells the supervisor this worker is idle.
    fn release(&mut self, ctx: &mut Context<Self>) {
        let Some(claim) = self.claim.take() else {
            return;
        };
        let store = self.store.clone();
        let now = (self.clock)();
        ctx.wait(
            async move { store.release_shard(&claim, now).await }
                .into_actor(self)
                .map(|released, worker, _ctx| {
                    if let Err(err) = released {
                        tracing::warn!(error = ?err, "releasing a code shard failed; its lease will run out");
                    }
                    if !worker.stopping {
                        worker.supervisor.do_send(Idle {
                            worker: worker.index,
                        });
                    }
                }),
        );
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct StopWorker;

impl Handler<StopWorker> for CodegenWorker {
    type Result = ResponseActFuture<Self, ()>;

    /// Handled only between chunks: a chunk in flight holds the mailbox (`wait`) until
    /// it commits. The reply goes out once the shard is handed back.
    fn handle(&mut self, _: StopWorker, _ctx: &mut Context<Self>) -> Self::Result {
        self.stopping = true;
        let claim = self.claim.take();
        let store = self.store.clone();
        let now = (self.clock)();
        Box::pin(
            async move {
                if let Some(claim) = claim
                    && let Err(err) = store.release_shard(&claim, now).await
                {
                    tracing::warn!(error = ?err, "releasing a code shard failed; its lease will run out");
                }
            }
            .into_actor(self),
        )
    }
}

/// The codegen of one node: a typed handle on its supervisor.
#[derive(Clone)]
pub struct Codegen {
    supervisor: Addr<CodegenSupervisor>,
    /// The supervisor's thread and its workers' threads.
    arbiters: Vec<ArbiterHandle>,
}

#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the code generator is stopped")]
    Stopped,
}

impl Codegen {
    /// Starts the supervisor (and its workers) on threads of their own.
    pub fn start(
        store: Arc<dyn CodegenStore>,
        config: CodegenConfig,
        clock: Clock,
        node: String,
    ) -> Self {
        let arbiter = Arbiter::new().handle();
        let workers: Vec<ArbiterHandle> = (0..config.workers.max(1))
            .map(|_| Arbiter::new().handle())
            .collect();
        let mut arbiters = workers.clone();
        let supervisor = CodegenSupervisor::start_in_arbiter(&arbiter, move |_| {
            CodegenSupervisor::new(store, config, clock, node, workers)
        });
        arbiters.push(arbiter);
        Self {
            supervisor,
            arbiters,
        }
    }

    /// Asks for a check of every pool soon (after an order took codes out).
    pub fn check(&self) {
        self.supervisor.do_send(Check);
    }

    /// Starts a refill of the pool now; `None` when one runs already or it is full.
    pub async fn refill(
        &self,
        pool_id: i64,
        trigger: RefillTrigger,
    ) -> Result<Option<i64>, CodegenError> {
        self.supervisor
            .send(Refill { pool_id, trigger })
            .await
            .map_err(|_| CodegenError::Stopped)?
            .map_err(CodegenError::Storage)
    }

    /// Moves an ordered batch's codes out of the pool in the background.
    pub fn issue(&self, batch_id: i64) {
        self.supervisor.do_send(Issue { batch_id });
    }

    /// What this node's workers are doing.
    pub async fn workers(&self) -> Vec<WorkerView> {
        self.supervisor.send(GetWorkers).await.unwrap_or_default()
    }

    /// Stops between chunks and hands shards back, waiting at most `grace`; then stops
    /// the threads.
    pub async fn stop(&self, grace: Duration) {
        let _ = tokio::time::timeout(grace, self.supervisor.send(Stop)).await;
        self.halt();
    }

    /// Stops the threads at once (mid-chunk work is rolled back by the database).
    pub fn halt(&self) {
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// One pool and one refill in memory. Every third code offered is refused as if it
    /// existed already, so filling must draw again for exactly what is missing.
    #[derive(Default)]
    struct Memory {
        state: Mutex<MemoryState>,
    }

    #[derive(Default)]
    struct MemoryState {
        codes: HashSet<ProductCode>,
        offered: u64,
        /// (quota, done, owner) per shard of the one refill.
        shards: Vec<(i64, i64, Option<String>)>,
        available: i64,
        target: i64,
    }

    #[async_trait]
    impl CodegenStore for Memory {
        async fn pools(&self, _now: i64) -> Result<Vec<PoolCheck>, StorageError> {
            let state = self
                .state
                .lock()
                .map_err(|_| StorageError::message("the lock is poisoned"))?;
            Ok(vec![PoolCheck {
                pool_id: 1,
                timezone: Tz::UTC,
                level: PoolLevel {
                    available: state.available,
                    target_size: state.target,
                    low_watermark: 0,
                },
                refilling: state.shards.iter().any(|(quota, done, _)| done < quota),
            }])
        }

        async fn plan_refill(
            &self,
            _pool_id: i64,
            _trigger: RefillTrigger,
            shards: u64,
            _now: i64,
        ) -> Result<Option<i64>, StorageError> {
            let mut state = self
                .state
                .lock()
                .map_err(|_| StorageError::message("the lock is poisoned"))?;
            let deficit = (state.target - state.available).max(0) as u64;
            state.shards = crate::rules::refill::split_quota(deficit, shards)
                .into_iter()
                .map(|quota| (quota as i64, 0, None))
                .collect();
            Ok(Some(1))
        }

        async fn claim_shard(
            &self,
            owner: &str,
            _now: i64,
            _lease_until: i64,
        ) -> Result<Option<ShardClaim>, StorageError> {
            let mut state = self
                .state
                .lock()
                .map_err(|_| StorageError::message("the lock is poisoned"))?;
            let count = state.shards.len() as u64;
            let Some((index, shard)) = state
                .shards
                .iter_mut()
                .enumerate()
                .find(|(_, (quota, done, holder))| done < quota && holder.is_none())
            else {
                return Ok(None);
            };
            shard.2 = Some(owner.to_string());
            Ok(Some(ShardClaim {
                refill_id: 1,
                pool_id: 1,
                shard: CodeShard::new(index as u64, count).map_err(StorageError::from_cause)?,
                quota: shard.0,
                done: shard.1,
                owner: owner.to_string(),
            }))
        }

        async fn insert_chunk(
            &self,
            claim: &ShardClaim,
            codes: &[ProductCode],
            _lease_until: i64,
        ) -> Result<i64, ChunkError> {
            let mut state = self
                .state
                .lock()
                .map_err(|_| ChunkError::Storage(StorageError::message("the lock is poisoned")))?;
            let mut inserted = 0;
            for code in codes {
                state.offered += 1;
                assert!(claim.shard.contains(code), "a code of another shard");
                if state.offered % 3 != 0 && state.codes.insert(*code) {
                    inserted += 1;
                }
            }
            let index = claim.shard.index() as usize;
            state.shards[index].1 += inserted;
            state.available += inserted;
            Ok(inserted)
        }

        async fn release_shard(&self, claim: &ShardClaim, _now: i64) -> Result<(), StorageError> {
            let mut state = self
                .state
                .lock()
                .map_err(|_| StorageError::message("the lock is poisoned"))?;
            state.shards[claim.shard.index() as usize].2 = None;
            Ok(())
        }

        async fn issue_chunk(
            &self,
            _batch_id: i64,
            _limit: i64,
        ) -> Result<BatchProgress, StorageError> {
            Ok(BatchProgress {
                issued: 0,
                quantity: 0,
            })
        }

        async fn unfinished_batches(&self) -> Result<Vec<i64>, StorageError> {
            Ok(Vec::new())
        }
    }

    #[tokio::test]
    async fn rejected_codes_are_drawn_again_until_exactly_the_quota() -> Result<(), StorageError> {
        let store = Memory::default();
        if let Ok(mut state) = store.state.lock() {
            state.target = 10_007;
            state.available = 7;
        }
        let clock: Clock = Arc::new(|| 0);
        let inserted = refill_inline(
            &store,
            1,
            3,
            1_000,
            "test/0",
            &clock,
            Duration::from_secs(1),
        )
        .await?;
        let state = store
            .state
            .lock()
            .map_err(|_| StorageError::message("the lock is poisoned"))?;
        assert_eq!(inserted, 10_000);
        assert_eq!(state.available, 10_007);
        assert_eq!(state.codes.len(), 10_000);
        assert!(
            state.offered >= 14_999,
            "a third was refused and drawn again: {}",
            state.offered
        );
        let quotas: Vec<i64> = state.shards.iter().map(|s| s.0).collect();
        assert_eq!(quotas, vec![3_334, 3_333, 3_333]);
        assert!(
            state
                .shards
                .iter()
                .all(|(quota, done, owner)| quota == done && owner.is_none())
        );
        Ok(())
    }
}

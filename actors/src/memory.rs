//! An in-memory [`LiveStore`] for the actors' own tests: the same contract as the SQL
//! store (all-or-nothing requests, unique keys, no overdraft, owner resolution), kept in
//! maps, with counters and a switch to make batches fail.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;

use crate::error::StorageError;
use crate::ledger::{
    AccountKey, Committed, LedgerError, LedgerStore, ParticipantBalance, Purpose,
    TransactionRequest, TransactionStatus, net_change,
};
use crate::live::{
    HoldRecord, LiveStore, ParticipantRecord, PeriodTotals, ProgramRules, StoreInfo,
};
use crate::moderation::{ItemView, ModerationStore, QueueStats};
use crate::rules::levels::{Level, LevelScale};
use crate::rules::points::{Percent, Points};
use crate::rules::routing::ItemStatus;
use crate::rules::routing::{Item, ItemKind};

/// The time of every commit: the tests' fixed clock.
pub const NOW: i64 = 1_700_000_000_000;

/// A moderation item in memory: (view, status).
type QueueEntry = (ItemView, ItemStatus);

#[derive(Default)]
struct State {
    queue: Vec<QueueEntry>,
    balances: HashMap<AccountKey, i64>,
    /// key → (transaction id, created_at)
    keys: HashMap<String, (i64, Option<String>)>,
    holds: HashMap<i64, (HoldRecord, bool)>,
    progress: HashMap<i64, (i64, i64, i64)>,
    next_id: i64,
}

pub struct MemoryStore {
    state: Mutex<State>,
    pub rules: Arc<ProgramRules>,
    /// store → owner
    pub owners: HashMap<i64, i64>,
    /// participant → store
    pub stores_of: HashMap<i64, i64>,
    pub batches: AtomicUsize,
    /// A batch containing a request with this reason fails as a whole.
    pub poison_reason: &'static str,
    pub fail_loads: AtomicBool,
}

pub fn rules(levels: Vec<Level>, owner_share: &str) -> Arc<ProgramRules> {
    Arc::new(ProgramRules {
        levels: LevelScale::new(levels).expect("valid levels"),
        owner_share: Percent::parse(owner_share).expect("valid percent"),
        timezone: chrono_tz::Europe::Moscow,
    })
}

pub fn level(name: &str, lifetime: &str, multiplier: &str) -> Level {
    Level {
        name: name.into(),
        min_completed_tasks: 0,
        min_lifetime_points: Points::parse(lifetime).expect("points"),
        multiplier: multiplier.parse().expect("decimal"),
    }
}

impl MemoryStore {
    pub fn new(
        rules: Arc<ProgramRules>,
        owners: HashMap<i64, i64>,
        stores_of: HashMap<i64, i64>,
    ) -> Self {
        Self {
            state: Mutex::new(State::default()),
            rules,
            owners,
            stores_of,
            batches: AtomicUsize::new(0),
            poison_reason: "poison",
            fail_loads: AtomicBool::new(false),
        }
    }

    pub fn balance(&self, key: AccountKey) -> i64 {
        self.state
            .lock()
            .map(|s| s.balances.get(&key).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    pub fn sum_of_balances(&self) -> i64 {
        self.state
            .lock()
            .map(|s| s.balances.values().sum())
            .unwrap_or(0)
    }

    /// Moves points behind the actors' backs, as another node would; returns the new
    /// balance of the participant.
    pub fn external_credit(&self, user: i64, amount: i64) -> ParticipantBalance {
        let mut state = self.state.lock().expect("state");
        *state
            .balances
            .entry(AccountKey::Participant(user))
            .or_default() += amount;
        *state.balances.entry(AccountKey::Issued).or_default() -= amount;
        let progress = state.progress.entry(user).or_default();
        progress.0 += amount;
        progress.2 += 1;
        let progress = *progress;
        balance(&state, user, progress, 0, 0)
    }

    fn apply(
        state: &mut State,
        request: &TransactionRequest,
        owners: &HashMap<i64, i64>,
    ) -> Result<Committed, LedgerError> {
        if let Some((id, fingerprint)) = state.keys.get(&request.idempotency_key) {
            if fingerprint.is_some()
                && request.fingerprint.is_some()
                && *fingerprint != request.fingerprint
            {
                return Err(LedgerError::KeyReused);
            }
            let user = request.participant_id.unwrap_or_default();
            let progress = state.progress.get(&user).copied().unwrap_or_default();
            return Ok(Committed {
                transaction_id: *id,
                replayed: true,
                created_at: NOW,
                participants: vec![balance(state, user, progress, 0, 0)],
                earned: Points::ZERO,
            });
        }
        if let Some(settlement) = request.settles {
            match state.holds.get(&settlement.transaction_id) {
                Some((_, false)) => {}
                _ => {
                    return Err(LedgerError::NotPending {
                        transaction_id: settlement.transaction_id,
                    });
                }
            }
        }
        let movements = request.resolve_owners(|store| owners.get(&store).copied());
        let mut scratch = state.balances.clone();
        for m in &movements {
            let from = scratch.entry(m.from).or_default();
            let may_go_negative = matches!(m.from, AccountKey::Issued | AccountKey::Adjustments);
            if !may_go_negative && *from < m.amount.hundredths() {
                return Err(LedgerError::InsufficientFunds { account: m.from });
            }
            *from -= m.amount.hundredths();
            *scratch.entry(m.to).or_default() += m.amount.hundredths();
        }
        state.balances = scratch;
        state.next_id += 1;
        let id = state.next_id;
        state.keys.insert(
            request.idempotency_key.clone(),
            (id, request.fingerprint.clone()),
        );
        if request.status == TransactionStatus::Pending
            && let Some(hold) = movements.iter().find(|m| m.purpose == Purpose::Hold)
        {
            state.holds.insert(
                id,
                (
                    HoldRecord {
                        participant_id: request.participant_id.unwrap_or_default(),
                        amount: hold.amount,
                        paid_from: hold.from,
                    },
                    false,
                ),
            );
        }
        if let Some(settlement) = request.settles
            && let Some(hold) = state.holds.get_mut(&settlement.transaction_id)
        {
            hold.1 = true;
        }
        let mut participants = Vec::new();
        for user in request.touched_participants(&movements) {
            let change = request.progress_change(&movements, user);
            let progress = state.progress.entry(user).or_default();
            progress.0 += change.lifetime;
            progress.1 += change.completed_tasks;
            progress.2 += 1;
            let progress = *progress;
            participants.push(balance(
                state,
                user,
                progress,
                net_change(&movements, AccountKey::Participant(user)),
                net_change(&movements, AccountKey::Pending(user)),
            ));
        }
        let earned = request.earned(&movements);
        Ok(Committed {
            transaction_id: id,
            replayed: false,
            created_at: NOW,
            participants,
            earned: Points::from_hundredths(earned),
        })
    }
}

fn balance(
    state: &State,
    user: i64,
    progress: (i64, i64, i64),
    delta_available: i64,
    delta_pending: i64,
) -> ParticipantBalance {
    ParticipantBalance {
        user_id: user,
        available: Points::from_hundredths(
            state
                .balances
                .get(&AccountKey::Participant(user))
                .copied()
                .unwrap_or(0),
        ),
        pending: Points::from_hundredths(
            state
                .balances
                .get(&AccountKey::Pending(user))
                .copied()
                .unwrap_or(0),
        ),
        lifetime: Points::from_hundredths(progress.0),
        completed_tasks: progress.1,
        version: progress.2,
        delta_available: Points::from_hundredths(delta_available),
        delta_pending: Points::from_hundredths(delta_pending),
        debt: None,
    }
}

#[async_trait]
impl LedgerStore for MemoryStore {
    async fn commit_batch(
        &self,
        requests: &[TransactionRequest],
    ) -> Result<Vec<Result<Committed, LedgerError>>, StorageError> {
        self.batches.fetch_add(1, Ordering::SeqCst);
        if requests.iter().any(|r| r.reason == self.poison_reason) {
            return Err(StorageError::message("a request broke the batch"));
        }
        let mut state = self
            .state
            .lock()
            .map_err(|_| StorageError::message("poisoned"))?;
        // All-or-nothing for the batch as a database transaction would be: work on a copy.
        let mut copy = State {
            queue: std::mem::take(&mut state.queue),
            balances: state.balances.clone(),
            keys: state.keys.clone(),
            holds: state.holds.clone(),
            progress: state.progress.clone(),
            next_id: state.next_id,
        };
        let answers = requests
            .iter()
            .map(|r| Self::apply(&mut copy, r, &self.owners))
            .collect();
        *state = copy;
        Ok(answers)
    }
}

#[async_trait]
impl LiveStore for MemoryStore {
    async fn participant(&self, user_id: i64) -> Result<Option<ParticipantRecord>, StorageError> {
        if self.fail_loads.load(Ordering::SeqCst) {
            return Err(StorageError::message("load failed"));
        }
        let state = self
            .state
            .lock()
            .map_err(|_| StorageError::message("poisoned"))?;
        let progress = state.progress.get(&user_id).copied().unwrap_or_default();
        Ok(Some(ParticipantRecord {
            program_id: 1,
            store_id: self.stores_of.get(&user_id).copied(),
            balance: balance(&state, user_id, progress, 0, 0),
            rules: self.rules.clone(),
        }))
    }

    async fn store_info(&self, store_id: i64) -> Result<Option<StoreInfo>, StorageError> {
        Ok(Some(StoreInfo {
            store_id,
            program_id: 1,
            timezone: self.rules.timezone,
            monthly_plan: None,
            sellers: 0,
        }))
    }

    async fn store_totals(
        &self,
        _store_id: i64,
        _since_ms: i64,
    ) -> Result<PeriodTotals, StorageError> {
        Ok(PeriodTotals::default())
    }

    async fn hold(&self, transaction_id: i64) -> Result<Option<HoldRecord>, StorageError> {
        let state = self
            .state
            .lock()
            .map_err(|_| StorageError::message("poisoned"))?;
        Ok(state
            .holds
            .get(&transaction_id)
            .filter(|(_, settled)| !settled)
            .map(|(hold, _)| *hold))
    }
}

impl MemoryStore {
    /// Queues an item for moderation.
    pub fn enqueue(&self, id: i64, kind: ItemKind, region_id: Option<i64>, created_at: i64) {
        let view = ItemView {
            id,
            kind,
            subject_id: id,
            participant_id: None,
            store_id: None,
            region_id,
            summary: serde_json::Value::Null,
            created_at,
            assigned_to: None,
            lease_expires_at: None,
        };
        if let Ok(mut state) = self.state.lock() {
            state.queue.push((view, ItemStatus::Queued));
        }
    }

    /// Decides an item if `moderator` holds it.
    pub fn decide(&self, item_id: i64, moderator: i64) -> Option<ItemView> {
        let mut state = self.state.lock().ok()?;
        let entry = state.queue.iter_mut().find(|(view, status)| {
            view.id == item_id
                && *status == ItemStatus::Assigned
                && view.assigned_to == Some(moderator)
        })?;
        entry.1 = ItemStatus::Decided;
        Some(entry.0.clone())
    }

    pub fn statuses(&self) -> Vec<(i64, ItemStatus, Option<i64>)> {
        self.state
            .lock()
            .map(|s| {
                s.queue
                    .iter()
                    .map(|(v, status)| (v.id, *status, v.assigned_to))
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[async_trait]
impl ModerationStore for MemoryStore {
    async fn claim(
        &self,
        _program_id: i64,
        limit: i64,
        _now: i64,
        lease_until: i64,
        assign: std::sync::Arc<crate::moderation::Assign>,
    ) -> Result<Vec<(ItemView, i64)>, StorageError> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| StorageError::message("poisoned"))?;
        let mut queued: Vec<&QueueEntry> = state
            .queue
            .iter()
            .filter(|(_, status)| *status == ItemStatus::Queued)
            .collect();
        queued.sort_by_key(|(view, _)| (view.created_at, view.id));
        let candidates: Vec<Item> = queued
            .iter()
            .take(limit.max(0) as usize)
            .map(|(v, _)| Item {
                id: v.id,
                kind: v.kind,
                region_id: v.region_id,
                created_at_ms: v.created_at,
            })
            .collect();
        let pairs = assign(&candidates);
        let mut claimed = Vec::new();
        for (item_id, moderator) in pairs {
            if let Some(entry) = state
                .queue
                .iter_mut()
                .find(|(v, status)| v.id == item_id && *status == ItemStatus::Queued)
            {
                entry.1 = ItemStatus::Assigned;
                entry.0.assigned_to = Some(moderator);
                entry.0.lease_expires_at = Some(lease_until);
                claimed.push((entry.0.clone(), moderator));
            }
        }
        Ok(claimed)
    }

    async fn held(&self, moderator_id: i64) -> Result<Vec<ItemView>, StorageError> {
        let state = self
            .state
            .lock()
            .map_err(|_| StorageError::message("poisoned"))?;
        Ok(state
            .queue
            .iter()
            .filter(|(v, status)| {
                *status == ItemStatus::Assigned && v.assigned_to == Some(moderator_id)
            })
            .map(|(v, _)| v.clone())
            .collect())
    }

    async fn release(&self, moderator_id: i64) -> Result<Vec<ItemView>, StorageError> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| StorageError::message("poisoned"))?;
        let mut released = Vec::new();
        for entry in state.queue.iter_mut().filter(|(v, status)| {
            *status == ItemStatus::Assigned && v.assigned_to == Some(moderator_id)
        }) {
            released.push(entry.0.clone());
            entry.1 = ItemStatus::Queued;
            entry.0.assigned_to = None;
            entry.0.lease_expires_at = None;
        }
        Ok(released)
    }

    async fn expire_leases(&self, now: i64) -> Result<Vec<ItemView>, StorageError> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| StorageError::message("poisoned"))?;
        let mut expired = Vec::new();
        for entry in state.queue.iter_mut().filter(|(v, status)| {
            *status == ItemStatus::Assigned && v.lease_expires_at.is_some_and(|t| t <= now)
        }) {
            expired.push(entry.0.clone());
            entry.1 = ItemStatus::Queued;
            entry.0.assigned_to = None;
            entry.0.lease_expires_at = None;
        }
        Ok(expired)
    }

    async fn stats(&self, program_id: i64, _now: i64) -> Result<QueueStats, StorageError> {
        Ok(QueueStats {
            program_id,
            ..QueueStats::default()
        })
    }
}

/// Campaign 1 runs over all of time; its participants are named after their id.
#[async_trait]
impl crate::campaign::LeaderboardStore for MemoryStore {
    async fn campaign(
        &self,
        campaign_id: i64,
    ) -> Result<Option<crate::campaign::CampaignInfo>, StorageError> {
        Ok(Some(crate::campaign::CampaignInfo {
            campaign_id,
            program_id: 1,
            timezone: self.rules.timezone,
            starts_at: 0,
            ends_at: i64::MAX / 4,
            ranking: crate::campaign::Ranking::Points,
        }))
    }

    async fn scores(
        &self,
        _campaign_id: i64,
        _since: i64,
        _until: i64,
    ) -> Result<Vec<crate::campaign::ScoreRow>, StorageError> {
        Ok(Vec::new())
    }

    async fn participant(
        &self,
        _campaign_id: i64,
        participant_id: i64,
    ) -> Result<Option<crate::campaign::ScoreRow>, StorageError> {
        Ok(Some(crate::campaign::ScoreRow {
            participant_id,
            name: format!("P{participant_id}"),
            store_id: self.stores_of.get(&participant_id).copied(),
            region_id: None,
            plan: None,
            earned: 0,
            last_at: 0,
        }))
    }
}

//! Committing ledger transactions in batches.
//!
//! One database transaction per batch, a fixed number of statements per batch
//! whatever its size: lock the accounts involved (`FOR UPDATE` on PostgreSQL, in id
//! order so two nodes never deadlock; SQLite holds its write lock from `BEGIN
//! IMMEDIATE`), read their balances, apply every request in memory in order (a request
//! that would overdraw an account or settle a hold twice is answered with its error and
//! leaves no trace), then write all transactions, postings, balances and participant
//! progress with multi-row statements, and commit. Idempotency keys are checked after
//! the locks are taken, so a retry racing the original on another node sees it; the
//! unique index on the key stays the last word.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use stimul_actors::error::StorageError;

use async_trait::async_trait;
use dashmap::DashMap;
use sqlx::FromRow;
use stimul_actors::ledger::{
    AccountKey, Committed, LedgerError, LedgerStore, Movement, ParticipantBalance, Purpose,
    TransactionRequest, TransactionStatus, net_change,
};
use stimul_actors::live::{
    HoldRecord, LiveStore, ParticipantRecord, PeriodTotals, ProgramRules, SALE_REASONS, StoreInfo,
};
use stimul_actors::rules::levels::{Level, LevelScale};
use stimul_actors::rules::points::{Percent, Points};

use super::debts;
use super::levels;
use super::lots::{self, LotBook};
use super::tax::TaxBook;
use super::terms;
use crate::db::{Backend, Clock, Db, OnServerRuntime, Sql, Tx};

/// An account's identity in the database: (program, kind, owner).
type Slot = (i64, &'static str, i64);

fn slot(program_id: i64, key: AccountKey) -> Option<Slot> {
    Some(match key {
        AccountKey::Participant(user) => (program_id, "participant", user),
        AccountKey::Pending(user) => (program_id, "pending", user),
        AccountKey::CampaignFund(campaign) => (program_id, "campaign_fund", campaign),
        AccountKey::Issued => (program_id, "issued", 0),
        AccountKey::Adjustments => (program_id, "adjustments", 0),
        AccountKey::Redeemed => (program_id, "redeemed", 0),
        AccountKey::OrderHold(user) => (program_id, "order_hold", user),
        AccountKey::Expired => (program_id, "expired", 0),
        AccountKey::Tax => (program_id, "tax", 0),
        AccountKey::Debt(user) => (program_id, "debt", user),
        AccountKey::StoreOwner(_) => return None,
    })
}

fn key_of(kind: &str, owner: i64) -> Option<AccountKey> {
    Some(match kind {
        "participant" => AccountKey::Participant(owner),
        "pending" => AccountKey::Pending(owner),
        "campaign_fund" => AccountKey::CampaignFund(owner),
        "issued" => AccountKey::Issued,
        "adjustments" => AccountKey::Adjustments,
        "redeemed" => AccountKey::Redeemed,
        "order_hold" => AccountKey::OrderHold(owner),
        "expired" => AccountKey::Expired,
        "tax" => AccountKey::Tax,
        "debt" => AccountKey::Debt(owner),
        _ => return None,
    })
}

/// System accounts that go below zero by design: `issued` is minus everything issued;
/// `adjustments` mirrors corrections both ways; a `debt` is minus what its participant
/// owes. Campaign funds decide per campaign.
fn allows_negative(kind: &str) -> bool {
    matches!(kind, "issued" | "adjustments" | "debt")
}

#[derive(Debug, Clone, Copy)]
struct AccountRow {
    id: i64,
    balance: i64,
    allow_negative: bool,
}

/// An account as read (and locked) for a batch.
#[derive(FromRow)]
struct StoredAccount {
    id: i64,
    program_id: i64,
    kind: String,
    owner_id: i64,
    balance: i64,
    /// Stored as INTEGER, 0 or 1.
    allow_negative: i64,
}

/// A participant's progress as read (and locked) for a batch.
#[derive(FromRow)]
struct StoredProgress {
    user_id: i64,
    lifetime: i64,
    completed_tasks: i64,
    version: i64,
}

/// A transaction already written under one of the batch's idempotency keys.
#[derive(FromRow)]
struct ExistingKey {
    idempotency_key: String,
    id: i64,
    created_at: i64,
    fingerprint: Option<String>,
}

#[derive(FromRow)]
struct HoldStatus {
    id: i64,
    status: String,
}

#[derive(FromRow)]
struct InsertedTransaction {
    id: i64,
    idempotency_key: String,
}

#[derive(FromRow)]
struct StoreOwner {
    id: i64,
    owner_user_id: Option<i64>,
}

/// A participant with their program's rules, progress and balances.
#[derive(FromRow)]
struct ParticipantRow {
    program_id: i64,
    store_id: Option<i64>,
    levels: String,
    owner_share_percent: String,
    timezone: String,
    lifetime: i64,
    completed_tasks: i64,
    version: i64,
    available: i64,
    pending: i64,
    /// The debt account's balance: minus what the participant owes.
    debt_balance: i64,
}

#[derive(FromRow)]
struct StoreInfoRow {
    program_id: i64,
    timezone: String,
    monthly_plan: Option<i64>,
    /// Active participants of the store, its owner not counted.
    sellers: i64,
}

#[derive(FromRow)]
struct PeriodTotalsRow {
    earned: i64,
    transactions: i64,
    sales: i64,
    tasks_completed: i64,
}

/// A pending hold: who it is for, how much, and the account it was paid from.
#[derive(FromRow)]
struct HoldRow {
    participant_id: Option<i64>,
    amount: i64,
    kind: String,
    owner_id: i64,
}

/// A participant's progress as the batch holds it.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Progress {
    pub(super) lifetime: i64,
    pub(super) completed_tasks: i64,
    pub(super) version: i64,
}

/// The ledger as the actors see it, backed by SQL.
pub struct SqlActorStorage {
    /// The shared pool, for loading live state (participants, stores, holds).
    db: Db,
    /// A pool of its own for committing batches: requests waiting for a commit hold
    /// connections of the shared pool, and must never be able to take the one the
    /// committer needs.
    committer: Db,
    clock: Clock,
    /// Account ids never change once created; caching them spares a lookup per batch.
    account_ids: DashMap<Slot, i64>,
}

impl SqlActorStorage {
    pub fn new(db: Db, committer: Db, clock: Clock) -> Arc<Self> {
        Arc::new(Self {
            db,
            committer,
            clock,
            account_ids: DashMap::new(),
        })
    }

    fn lock_suffix(&self) -> &'static str {
        match self.db.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    async fn try_commit(
        &self,
        requests: &[TransactionRequest],
    ) -> Result<Vec<Result<Committed, LedgerError>>, sqlx::Error> {
        let now = self.clock.now_ms();
        let mut tx = self.committer.begin().await?;
        let (answers, accounts) = self.apply_in(&mut tx, requests, now).await?;
        tx.commit().await?;
        for (slot, row) in &accounts {
            self.account_ids.insert(*slot, row.id);
        }
        Ok(answers)
    }

    /// Posts one transaction inside the caller's database transaction, so it commits
    /// (or not) with the caller's other writes: an order, its stock and its reservation
    /// are one. The outer error is the database's; the inner one the ledger's refusal,
    /// which wrote nothing. After the caller commits, announce the result with
    /// `RealtimeCore::committed_elsewhere` so live balances and pushes follow.
    pub async fn post_in(
        &self,
        tx: &mut Tx,
        request: &TransactionRequest,
    ) -> Result<Result<Committed, LedgerError>, sqlx::Error> {
        if request.movements.is_empty() {
            return Ok(Err(LedgerError::Empty));
        }
        let now = self.clock.now_ms();
        let (mut answers, _accounts) = self
            .apply_in(tx, std::slice::from_ref(request), now)
            .await?;
        // Account ids are not cached: the caller's transaction may still roll back.
        Ok(answers
            .pop()
            .unwrap_or(Err(LedgerError::Storage(StorageError::message(
                "unanswered",
            )))))
    }

    /// Locks, checks and writes `requests` in `tx`, each all-or-nothing.
    async fn apply_in(
        &self,
        tx: &mut Tx,
        requests: &[TransactionRequest],
        now: i64,
    ) -> Result<
        (
            Vec<Result<Committed, LedgerError>>,
            HashMap<Slot, AccountRow>,
        ),
        sqlx::Error,
    > {
        // Store owners are resolved inside the transaction, so a change of owner is
        // never missed; an owner's share to themselves is dropped.
        let store_ids: BTreeSet<i64> = requests
            .iter()
            .flat_map(|r| r.movements.iter())
            .flat_map(|m| [m.from, m.to])
            .filter_map(|k| match k {
                AccountKey::StoreOwner(store) => Some(store),
                _ => None,
            })
            .collect();
        let owners = self.store_owners(tx, &store_ids).await?;
        let resolved: Vec<Vec<Movement>> = requests
            .iter()
            .map(|request| request.resolve_owners(|store| owners.get(&store).copied().flatten()))
            .collect();

        // Every participant touched, and both of their accounts.
        let mut slots: BTreeSet<Slot> = BTreeSet::new();
        let mut participants: BTreeSet<i64> = BTreeSet::new();
        for (request, movements) in requests.iter().zip(&resolved) {
            participants.extend(request.participant_id);
            for movement in movements {
                for key in [movement.from, movement.to] {
                    participants.extend(key.participant());
                    slots.extend(slot(request.program_id, key));
                }
            }
            // A recalculation's loss may be posted from the participant's debt.
            for user in debts::losers(movements) {
                slots.extend(slot(request.program_id, AccountKey::Debt(user)));
            }
            for user in request.participant_id.into_iter().chain(
                movements
                    .iter()
                    .flat_map(|m| [m.from.participant(), m.to.participant()])
                    .flatten(),
            ) {
                slots.extend(slot(request.program_id, AccountKey::Participant(user)));
                slots.extend(slot(request.program_id, AccountKey::Pending(user)));
            }
        }
        // The programs' expiry and tax rules; a tax agent's batch may also move points
        // from its participants or its `issued` account to its `tax` account.
        let programs: BTreeSet<i64> = requests.iter().map(|r| r.program_id).collect();
        let terms = terms::of(tx, &programs).await?;
        let mut tax_years: BTreeSet<i64> = BTreeSet::new();
        for (program, program_terms) in &terms {
            if program_terms.tax.is_some() {
                slots.extend(slot(*program, AccountKey::Tax));
                slots.extend(slot(*program, AccountKey::Issued));
                tax_years.insert(program_terms.year_month(now).0);
            }
        }
        let taxed: BTreeSet<i64> = if tax_years.is_empty() {
            BTreeSet::new()
        } else {
            participants.clone()
        };
        let mut accounts = self.lock_accounts(tx, &slots, now).await?;
        // The open debts of everyone the batch pays income to: that income pays them
        // off first. Read after the participants' accounts are locked, so no debt opens
        // unseen meanwhile.
        let earners: BTreeSet<i64> = requests
            .iter()
            .zip(&resolved)
            .flat_map(|(request, movements)| {
                debts::earners(movements)
                    .into_iter()
                    .filter(|user| !accounts.contains_key(&(request.program_id, "debt", *user)))
            })
            .collect();
        accounts.extend(self.lock_debts(tx, &programs, &earners).await?);
        let mut progress = self.lock_progress(tx, &participants).await?;
        // Progress as it was, to tell who reaches a new level with this batch.
        let progress_before: HashMap<i64, Progress> = progress.clone();
        let mut program_of: HashMap<i64, i64> = HashMap::new();
        let existing = self.existing_keys(tx, requests).await?;
        let mut hold_status = self.hold_statuses(tx, requests).await?;
        // Refunds give points back to the lots their reservations took.
        let refunds: BTreeSet<lots::RefundSource> = requests
            .iter()
            .zip(&resolved)
            .filter_map(|(request, movements)| {
                let (kind, id) = request.source.as_ref()?;
                movements.iter().find_map(|m| match m.to {
                    AccountKey::Participant(user) if m.purpose == Purpose::Refund => {
                        Some((user, kind.clone(), id.clone()))
                    }
                    _ => None,
                })
            })
            .collect();
        let mut lots = LotBook::load(tx, resolved.iter().flatten(), &taxed, &refunds).await?;
        let mut taxes = TaxBook::load(tx, &taxed, &tax_years).await?;

        // Apply in memory, in order.
        let mut answers: Vec<Option<Result<Committed, LedgerError>>> =
            Vec::with_capacity(requests.len());
        let mut accepted: Vec<usize> = Vec::new();
        let mut posting_rows: Vec<(usize, i64, i64, i64, &'static str)> = Vec::new();
        let mut earned_of: HashMap<usize, i64> = HashMap::new();
        let mut batch_keys: HashMap<&str, usize> = HashMap::new();
        let mut replays: Vec<(usize, Option<usize>)> = Vec::new();
        let mut changed: HashSet<Slot> = HashSet::new();
        let mut settled: Vec<(i64, &'static str)> = Vec::new();
        for (index, (request, movements)) in requests.iter().zip(&resolved).enumerate() {
            let earlier_fingerprint = match existing.get(request.idempotency_key.as_str()) {
                Some((_, _, fingerprint)) => Some(fingerprint.as_deref()),
                None => batch_keys
                    .get(request.idempotency_key.as_str())
                    .map(|i| requests[*i].fingerprint.as_deref()),
            };
            if let (Some(Some(earlier)), Some(now)) =
                (earlier_fingerprint, request.fingerprint.as_deref())
                && earlier != now
            {
                answers.push(Some(Err(LedgerError::KeyReused)));
                continue;
            }
            if earlier_fingerprint.is_some() {
                replays.push((
                    index,
                    batch_keys.get(request.idempotency_key.as_str()).copied(),
                ));
                answers.push(None);
                continue;
            }
            if let Some(settlement) = request.settles
                && hold_status
                    .get(&settlement.transaction_id)
                    .map(String::as_str)
                    != Some("pending")
            {
                answers.push(Some(Err(LedgerError::NotPending {
                    transaction_id: settlement.transaction_id,
                })));
                continue;
            }
            if movements.is_empty() {
                answers.push(Some(Err(LedgerError::Empty)));
                continue;
            }
            // A recalculation's loss beyond what the participant may spend becomes debt.
            let program = request.program_id;
            let mut planned: Cow<'_, [Movement]> = match debts::split_losses(
                movements,
                |user, others| {
                    balance_in(&HashMap::new(), &accounts, program, user)
                        + net_change(others, AccountKey::Participant(user))
                },
                |user, balance| lots.spendable(user, balance, now),
            ) {
                Some(split) => Cow::Owned(split),
                None => Cow::Borrowed(movements),
            };
            // Try the movements on a scratch copy of the balances they touch.
            let mut scratch = match try_balances(request.program_id, &planned, &accounts) {
                Ok(scratch) => scratch,
                Err(err) => {
                    answers.push(Some(Err(err)));
                    continue;
                }
            };
            let program_terms = terms.get(&request.program_id);
            // The tax the request brings joins its movements.
            let mut tax_plan = None;
            if let Some((rule, program_terms)) =
                program_terms.and_then(|t| t.tax.as_ref().map(|rule| (rule, t)))
            {
                let plan = taxes.plan(
                    index,
                    request,
                    &planned,
                    rule,
                    program_terms.year_month(now),
                    |user| {
                        let balance = balance_in(&scratch, &accounts, request.program_id, user);
                        lots.spendable(user, balance, now)
                    },
                );
                if !plan.movements.is_empty() {
                    planned = Cow::Owned(planned.iter().chain(&plan.movements).cloned().collect());
                    scratch = match try_balances(request.program_id, &planned, &accounts) {
                        Ok(scratch) => scratch,
                        Err(err) => {
                            answers.push(Some(Err(err)));
                            continue;
                        }
                    };
                }
                tax_plan = Some(plan);
            }
            // Then the income pays off open debts before it reaches the balance.
            let repaid = debts::repayments(
                &planned,
                |user| owed_in(&scratch, &accounts, program, user),
                |user| lots.spendable(user, balance_in(&scratch, &accounts, program, user), now),
            );
            if !repaid.is_empty() {
                planned = Cow::Owned(planned.iter().chain(&repaid).cloned().collect());
                scratch = match try_balances(request.program_id, &planned, &accounts) {
                    Ok(scratch) => scratch,
                    Err(err) => {
                        answers.push(Some(Err(err)));
                        continue;
                    }
                };
            }
            let movements: &[Movement] = &planned;
            let balance_after =
                |user: i64| balance_in(&scratch, &accounts, request.program_id, user);
            if let Err(account) = lots.apply(
                index,
                request.program_id,
                program_terms.and_then(|t| t.expiry.as_ref().map(|rule| (rule, t.timezone))),
                request.source.as_ref(),
                movements,
                balance_after,
                now,
            ) {
                answers.push(Some(Err(LedgerError::InsufficientFunds { account })));
                continue;
            }
            if let Some(plan) = tax_plan {
                taxes.record(plan);
            }
            for (slot, balance) in scratch {
                if let Some(row) = accounts.get_mut(&slot) {
                    row.balance = balance;
                    changed.insert(slot);
                }
            }
            // Progress: every participant touched gets a new version.
            let touched = request.touched_participants(movements);
            for user in &touched {
                program_of.insert(*user, request.program_id);
            }
            for user in &touched {
                let change = request.progress_change(movements, *user);
                let entry = progress.entry(*user).or_default();
                entry.version += 1;
                entry.lifetime += change.lifetime;
                entry.completed_tasks += change.completed_tasks;
            }
            let earned = request.earned(movements);
            earned_of.insert(index, earned);
            for movement in movements {
                if let (Some(from), Some(to)) = (
                    slot(request.program_id, movement.from),
                    slot(request.program_id, movement.to),
                ) {
                    let (Some(from), Some(to)) = (accounts.get(&from), accounts.get(&to)) else {
                        continue;
                    };
                    posting_rows.push((
                        index,
                        from.id,
                        to.id,
                        movement.amount.hundredths(),
                        movement.purpose.as_str(),
                    ));
                }
            }
            if let Some(settlement) = request.settles {
                let status = if settlement.confirm {
                    "confirmed"
                } else {
                    "cancelled"
                };
                hold_status.insert(settlement.transaction_id, status.to_string());
                settled.push((settlement.transaction_id, status));
            }
            let balances = touched
                .iter()
                .map(|user| balance_of(request.program_id, *user, &accounts, &progress, movements))
                .collect();
            batch_keys.insert(request.idempotency_key.as_str(), index);
            accepted.push(index);
            answers.push(Some(Ok(Committed {
                transaction_id: 0,
                replayed: false,
                created_at: now,
                participants: balances,
                earned: Points::from_hundredths(earned),
            })));
        }

        let level_ups = levels::reached(&terms, &progress_before, &progress, &program_of);

        // Write.
        let ids = self
            .insert_transactions(tx, requests, &accepted, &earned_of, now)
            .await?;
        self.insert_postings(tx, &posting_rows, &ids, now).await?;
        lots.write(tx, &ids, now).await?;
        taxes.write(tx, &ids, now).await?;
        self.write_balances(tx, &accounts, &changed).await?;
        self.write_progress(tx, &progress, &participants).await?;
        self.write_settlements(tx, &settled).await?;
        levels::announce(tx, &level_ups, now).await?;
        for (index, answer) in answers.iter_mut().enumerate() {
            if let Some(Ok(committed)) = answer {
                committed.transaction_id = ids.get(&index).copied().unwrap_or_default();
            }
        }
        for (index, earlier) in replays {
            let request = &requests[index];
            let (transaction_id, created_at) = match earlier {
                Some(earlier) => (ids.get(&earlier).copied().unwrap_or_default(), now),
                None => existing
                    .get(request.idempotency_key.as_str())
                    .map(|(id, at, _)| (*id, *at))
                    .unwrap_or_default(),
            };
            let participants = request.participant_id.map(|user| {
                let mut balance = balance_of(request.program_id, user, &accounts, &progress, &[]);
                balance.delta_available = Points::ZERO;
                balance.delta_pending = Points::ZERO;
                balance
            });
            answers[index] = Some(Ok(Committed {
                transaction_id,
                replayed: true,
                created_at,
                participants: participants.into_iter().collect(),
                earned: Points::ZERO,
            }));
        }
        let answers = answers
            .into_iter()
            .map(|a| {
                a.unwrap_or(Err(LedgerError::Storage(StorageError::message(
                    "unanswered",
                ))))
            })
            .collect();
        Ok((answers, accounts))
    }

    async fn store_owners(
        &self,
        tx: &mut Tx,
        stores: &BTreeSet<i64>,
    ) -> Result<HashMap<i64, Option<i64>>, sqlx::Error> {
        if stores.is_empty() {
            return Ok(HashMap::new());
        }
        let mut sql = Sql::new("SELECT id, owner_user_id FROM stores WHERE id IN ");
        sql.bind_list(stores.iter().copied());
        let rows: Vec<StoreOwner> = sql.query_as().fetch_all(&mut **tx).await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.id, row.owner_user_id))
            .collect())
    }

    /// Creates missing accounts, then locks and reads every account in `slots`.
    async fn lock_accounts(
        &self,
        tx: &mut Tx,
        slots: &BTreeSet<Slot>,
        now: i64,
    ) -> Result<HashMap<Slot, AccountRow>, sqlx::Error> {
        let missing: Vec<&Slot> = slots
            .iter()
            .filter(|s| !self.account_ids.contains_key(*s))
            .collect();
        if !missing.is_empty() {
            let mut insert = Sql::new(
                "INSERT INTO accounts (program_id, kind, owner_id, allow_negative, created_at) VALUES ",
            );
            for (i, (program, kind, owner)) in missing.iter().enumerate() {
                if i > 0 {
                    insert.push(", ");
                }
                insert
                    .push("(")
                    .bind(*program)
                    .push(", ")
                    .bind(*kind)
                    .push(", ")
                    .bind(*owner)
                    .push(", ")
                    .bind(i64::from(allows_negative(kind)))
                    .push(", ")
                    .bind(now)
                    .push(")");
            }
            insert.push(" ON CONFLICT (program_id, kind, owner_id) DO NOTHING");
            insert.query().execute(&mut **tx).await?;
        }
        let mut select = Sql::new(
            "SELECT id, program_id, kind, owner_id, balance, allow_negative FROM accounts WHERE ",
        );
        let cached: Vec<i64> = slots
            .iter()
            .filter_map(|s| self.account_ids.get(s).map(|id| *id))
            .collect();
        let mut first = true;
        if !cached.is_empty() {
            select.push("id IN ").bind_list(cached);
            first = false;
        }
        for (program, kind, owner) in &missing {
            select.push(if first { "(" } else { " OR (" });
            select
                .push("program_id = ")
                .bind(*program)
                .push(" AND kind = ")
                .bind(*kind)
                .push(" AND owner_id = ")
                .bind(*owner)
                .push(")");
            first = false;
        }
        if first {
            return Ok(HashMap::new());
        }
        select.push(" ORDER BY id").push(self.lock_suffix());
        let rows: Vec<StoredAccount> = select.query_as().fetch_all(&mut **tx).await?;
        Ok(account_map(rows))
    }

    /// Locks and reads the debt accounts of `users` in `programs` that are owed.
    async fn lock_debts(
        &self,
        tx: &mut Tx,
        programs: &BTreeSet<i64>,
        users: &BTreeSet<i64>,
    ) -> Result<HashMap<Slot, AccountRow>, sqlx::Error> {
        if users.is_empty() {
            return Ok(HashMap::new());
        }
        let mut select = Sql::new(
            "SELECT id, program_id, kind, owner_id, balance, allow_negative FROM accounts WHERE kind = 'debt' AND balance < 0 AND program_id IN ",
        );
        select
            .bind_list(programs.iter().copied())
            .push(" AND owner_id IN ")
            .bind_list(users.iter().copied())
            .push(" ORDER BY id")
            .push(self.lock_suffix());
        let rows: Vec<StoredAccount> = select.query_as().fetch_all(&mut **tx).await?;
        Ok(account_map(rows))
    }

    async fn lock_progress(
        &self,
        tx: &mut Tx,
        participants: &BTreeSet<i64>,
    ) -> Result<HashMap<i64, Progress>, sqlx::Error> {
        if participants.is_empty() {
            return Ok(HashMap::new());
        }
        let mut insert = Sql::new("INSERT INTO participant_progress (user_id) VALUES ");
        for (i, user) in participants.iter().enumerate() {
            insert
                .push(if i > 0 { ", (" } else { "(" })
                .bind(*user)
                .push(")");
        }
        insert.push(" ON CONFLICT (user_id) DO NOTHING");
        insert.query().execute(&mut **tx).await?;
        let mut select = Sql::new(
            "SELECT user_id, lifetime, completed_tasks, version FROM participant_progress WHERE user_id IN ",
        );
        select
            .bind_list(participants.iter().copied())
            .push(" ORDER BY user_id")
            .push(self.lock_suffix());
        let rows: Vec<StoredProgress> = select.query_as().fetch_all(&mut **tx).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                (
                    row.user_id,
                    Progress {
                        lifetime: row.lifetime,
                        completed_tasks: row.completed_tasks,
                        version: row.version,
                    },
                )
            })
            .collect())
    }

    async fn existing_keys<'a>(
        &self,
        tx: &mut Tx,
        requests: &'a [TransactionRequest],
    ) -> Result<HashMap<&'a str, (i64, i64, Option<String>)>, sqlx::Error> {
        let mut sql = Sql::new(
            "SELECT idempotency_key, id, created_at, fingerprint FROM ledger_transactions WHERE idempotency_key IN ",
        );
        sql.bind_list(requests.iter().map(|r| r.idempotency_key.clone()));
        let rows: Vec<ExistingKey> = sql.query_as().fetch_all(&mut **tx).await?;
        let mut found = HashMap::new();
        for row in rows {
            if let Some(request) = requests
                .iter()
                .find(|r| r.idempotency_key == row.idempotency_key)
            {
                found.insert(
                    request.idempotency_key.as_str(),
                    (row.id, row.created_at, row.fingerprint),
                );
            }
        }
        Ok(found)
    }

    async fn hold_statuses(
        &self,
        tx: &mut Tx,
        requests: &[TransactionRequest],
    ) -> Result<HashMap<i64, String>, sqlx::Error> {
        let holds: BTreeSet<i64> = requests
            .iter()
            .filter_map(|r| r.settles.map(|s| s.transaction_id))
            .collect();
        if holds.is_empty() {
            return Ok(HashMap::new());
        }
        let mut sql = Sql::new("SELECT id, status FROM ledger_transactions WHERE id IN ");
        sql.bind_list(holds.iter().copied())
            .push(" ORDER BY id")
            .push(self.lock_suffix());
        let rows: Vec<HoldStatus> = sql.query_as().fetch_all(&mut **tx).await?;
        Ok(rows.into_iter().map(|row| (row.id, row.status)).collect())
    }

    async fn insert_transactions(
        &self,
        tx: &mut Tx,
        requests: &[TransactionRequest],
        accepted: &[usize],
        earned: &HashMap<usize, i64>,
        now: i64,
    ) -> Result<HashMap<usize, i64>, sqlx::Error> {
        if accepted.is_empty() {
            return Ok(HashMap::new());
        }
        let mut sql = Sql::new(
            "INSERT INTO ledger_transactions (program_id, idempotency_key, reason, participant_id, store_id, source_type, source_id, actor_id, comment, status, settles_id, earned, completed_tasks, campaign_id, fingerprint, earn_base, earn_level, earn_multiplier, created_at) VALUES ",
        );
        for (i, index) in accepted.iter().enumerate() {
            let request = &requests[*index];
            let status = match request.status {
                TransactionStatus::Posted => "posted",
                TransactionStatus::Pending => "pending",
            };
            sql.push(if i > 0 { ", (" } else { "(" });
            sql.bind(request.program_id)
                .push(", ")
                .bind(request.idempotency_key.clone())
                .push(", ")
                .bind(request.reason.clone())
                .push(", ");
            sql.bind(request.participant_id)
                .push(", ")
                .bind(request.store_id)
                .push(", ");
            sql.bind(request.source.as_ref().map(|s| s.0.clone()))
                .push(", ")
                .bind(request.source.as_ref().map(|s| s.1.clone()))
                .push(", ");
            sql.bind(request.actor_id)
                .push(", ")
                .bind(request.comment.clone())
                .push(", ")
                .bind(status)
                .push(", ");
            sql.bind(request.settles.map(|s| s.transaction_id))
                .push(", ")
                .bind(earned.get(index).copied().unwrap_or(0))
                .push(", ");
            sql.bind(request.completed_tasks)
                .push(", ")
                .bind(request.campaign_id)
                .push(", ")
                .bind(request.fingerprint.clone())
                .push(", ");
            let earning = request.earning.as_ref();
            sql.bind(earning.map(|terms| terms.base.hundredths()))
                .push(", ")
                .bind(earning.map(|terms| terms.level))
                .push(", ")
                .bind(earning.map(|terms| terms.multiplier.normalize().to_string()))
                .push(", ")
                .bind(now)
                .push(")");
        }
        sql.push(" RETURNING id, idempotency_key");
        let rows: Vec<InsertedTransaction> = sql.query_as().fetch_all(&mut **tx).await?;
        let mut ids = HashMap::with_capacity(rows.len());
        for row in rows {
            if let Some(index) = accepted
                .iter()
                .find(|i| requests[**i].idempotency_key == row.idempotency_key)
            {
                ids.insert(*index, row.id);
            }
        }
        Ok(ids)
    }

    async fn insert_postings(
        &self,
        tx: &mut Tx,
        rows: &[(usize, i64, i64, i64, &'static str)],
        ids: &HashMap<usize, i64>,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut sql = Sql::new(
            "INSERT INTO postings (transaction_id, debit_account, credit_account, amount, purpose, created_at) VALUES ",
        );
        for (i, (index, from, to, amount, purpose)) in rows.iter().enumerate() {
            let transaction_id = ids.get(index).copied().unwrap_or_default();
            sql.push(if i > 0 { ", (" } else { "(" });
            sql.bind(transaction_id)
                .push(", ")
                .bind(*from)
                .push(", ")
                .bind(*to)
                .push(", ")
                .bind(*amount)
                .push(", ")
                .bind(*purpose)
                .push(", ")
                .bind(now)
                .push(")");
        }
        sql.query().execute(&mut **tx).await?;
        Ok(())
    }

    async fn write_balances(
        &self,
        tx: &mut Tx,
        accounts: &HashMap<Slot, AccountRow>,
        changed: &HashSet<Slot>,
    ) -> Result<(), sqlx::Error> {
        let rows: Vec<AccountRow> = changed
            .iter()
            .filter_map(|slot| accounts.get(slot).copied())
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
        let mut sql = Sql::new("UPDATE accounts SET balance = CASE id");
        for row in &rows {
            sql.push(" WHEN ")
                .bind(row.id)
                .push(" THEN ")
                .bind(row.balance);
        }
        sql.push(" ELSE balance END WHERE id IN ")
            .bind_list(rows.iter().map(|row| row.id));
        sql.query().execute(&mut **tx).await?;
        Ok(())
    }

    async fn write_progress(
        &self,
        tx: &mut Tx,
        progress: &HashMap<i64, Progress>,
        participants: &BTreeSet<i64>,
    ) -> Result<(), sqlx::Error> {
        if participants.is_empty() {
            return Ok(());
        }
        let mut sql = Sql::new("UPDATE participant_progress SET ");
        for (column, value) in [("lifetime", 0usize), ("completed_tasks", 1), ("version", 2)] {
            if value > 0 {
                sql.push(", ");
            }
            sql.push(column).push(" = CASE user_id");
            for user in participants {
                let p = progress.get(user).copied().unwrap_or_default();
                let v = [p.lifetime, p.completed_tasks, p.version][value];
                sql.push(" WHEN ").bind(*user).push(" THEN ").bind(v);
            }
            sql.push(" ELSE ").push(column).push(" END");
        }
        sql.push(" WHERE user_id IN ")
            .bind_list(participants.iter().copied());
        sql.query().execute(&mut **tx).await?;
        Ok(())
    }

    async fn write_settlements(
        &self,
        tx: &mut Tx,
        settled: &[(i64, &'static str)],
    ) -> Result<(), sqlx::Error> {
        for (id, status) in settled {
            sqlx::query("UPDATE ledger_transactions SET status = $1 WHERE id = $2")
                .bind(*status)
                .bind(*id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

/// Accounts as read, by slot.
fn account_map(rows: Vec<StoredAccount>) -> HashMap<Slot, AccountRow> {
    let mut accounts = HashMap::with_capacity(rows.len());
    for row in rows {
        let Some(slot) = key_of(&row.kind, row.owner_id).and_then(|key| slot(row.program_id, key))
        else {
            continue;
        };
        accounts.insert(
            slot,
            AccountRow {
                id: row.id,
                balance: row.balance,
                allow_negative: row.allow_negative != 0,
            },
        );
    }
    accounts
}

/// `movements` tried on a scratch copy of the balances they touch: the new balances,
/// or the account they would overdraw.
fn try_balances(
    program_id: i64,
    movements: &[Movement],
    accounts: &HashMap<Slot, AccountRow>,
) -> Result<HashMap<Slot, i64>, LedgerError> {
    let mut scratch: HashMap<Slot, i64> = HashMap::new();
    for movement in movements {
        let (Some(from), Some(to)) = (
            slot(program_id, movement.from),
            slot(program_id, movement.to),
        ) else {
            continue;
        };
        let amount = movement.amount.hundredths();
        let from_row = accounts.get(&from).copied();
        let from_balance = scratch
            .get(&from)
            .copied()
            .or(from_row.map(|a| a.balance))
            .unwrap_or(0);
        let allowed = from_row.is_some_and(|a| a.allow_negative);
        if !allowed && from_balance < amount {
            return Err(LedgerError::InsufficientFunds {
                account: movement.from,
            });
        }
        scratch.insert(from, from_balance - amount);
        let to_balance = scratch
            .get(&to)
            .copied()
            .or(accounts.get(&to).map(|a| a.balance))
            .unwrap_or(0);
        scratch.insert(to, to_balance + amount);
    }
    Ok(scratch)
}

/// A participant's available balance as `scratch` (a request tried) leaves it.
fn balance_in(
    scratch: &HashMap<Slot, i64>,
    accounts: &HashMap<Slot, AccountRow>,
    program_id: i64,
    user: i64,
) -> i64 {
    let slot = (program_id, "participant", user);
    scratch
        .get(&slot)
        .copied()
        .or(accounts.get(&slot).map(|a| a.balance))
        .unwrap_or(0)
}

/// What `user` owes after the scratch movements, when the batch holds their debt
/// account (it reads those of everyone who owes and earns); 0 otherwise.
fn owed_in(
    scratch: &HashMap<Slot, i64>,
    accounts: &HashMap<Slot, AccountRow>,
    program_id: i64,
    user: i64,
) -> i64 {
    let slot = (program_id, "debt", user);
    -scratch
        .get(&slot)
        .copied()
        .or(accounts.get(&slot).map(|a| a.balance))
        .unwrap_or(0)
}

fn balance_of(
    program_id: i64,
    user: i64,
    accounts: &HashMap<Slot, AccountRow>,
    progress: &HashMap<i64, Progress>,
    movements: &[Movement],
) -> ParticipantBalance {
    let balance = |key| {
        slot(program_id, key)
            .and_then(|s| accounts.get(&s))
            .map_or(0, |row| row.balance)
    };
    let p = progress.get(&user).copied().unwrap_or_default();
    ParticipantBalance {
        user_id: user,
        available: Points::from_hundredths(balance(AccountKey::Participant(user))),
        pending: Points::from_hundredths(balance(AccountKey::Pending(user))),
        lifetime: Points::from_hundredths(p.lifetime),
        completed_tasks: p.completed_tasks,
        version: p.version,
        delta_available: Points::from_hundredths(net_change(
            movements,
            AccountKey::Participant(user),
        )),
        delta_pending: Points::from_hundredths(net_change(movements, AccountKey::Pending(user))),
        debt: slot(program_id, AccountKey::Debt(user))
            .and_then(|s| accounts.get(&s))
            .map(|row| Points::from_hundredths(-row.balance)),
    }
}

#[async_trait]
impl LedgerStore for SqlActorStorage {
    async fn commit_batch(
        &self,
        requests: &[TransactionRequest],
    ) -> Result<Vec<Result<Committed, LedgerError>>, StorageError> {
        self.try_commit(requests).await.map_err(|err| {
            tracing::warn!(error = ?err, size = requests.len(), "ledger batch failed");
            StorageError::from_cause(err)
        })
    }
}

/// Parses a program's stored rules.
pub fn program_rules(
    levels: &str,
    owner_share: &str,
    timezone: &str,
) -> Result<ProgramRules, StorageError> {
    let levels: Vec<Level> =
        serde_json::from_str(levels).map_err(|e| StorageError::message(format!("levels: {e}")))?;
    Ok(ProgramRules {
        levels: LevelScale::new(levels)
            .map_err(|e| StorageError::message(format!("levels: {e}")))?,
        owner_share: Percent::from_str(owner_share)
            .map_err(|e| StorageError::message(format!("owner share: {e}")))?,
        timezone: timezone
            .parse()
            .map_err(|_| StorageError::message(format!("unknown time zone {timezone:?}")))?,
    })
}

#[async_trait]
impl LiveStore for SqlActorStorage {
    async fn participant(&self, user_id: i64) -> Result<Option<ParticipantRecord>, StorageError> {
        let row: Option<ParticipantRow> = sqlx::query_as(
            "SELECT u.program_id, u.store_id, p.levels, p.owner_share_percent, p.timezone,
                    COALESCE(pp.lifetime, 0) AS lifetime, COALESCE(pp.completed_tasks, 0) AS completed_tasks, COALESCE(pp.version, 0) AS version,
                    COALESCE((SELECT balance FROM accounts WHERE program_id = u.program_id AND kind = 'participant' AND owner_id = u.id), 0) AS available,
                    COALESCE((SELECT balance FROM accounts WHERE program_id = u.program_id AND kind = 'pending' AND owner_id = u.id), 0) AS pending,
                    COALESCE((SELECT balance FROM accounts WHERE program_id = u.program_id AND kind = 'debt' AND owner_id = u.id), 0) AS debt_balance
             FROM users u JOIN programs p ON p.id = u.program_id
             LEFT JOIN participant_progress pp ON pp.user_id = u.id
             WHERE u.id = $1 AND u.kind = 'participant'",
        )
        .bind(user_id)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(StorageError::from_cause)?;
        let Some(row) = row else { return Ok(None) };
        let rules = program_rules(&row.levels, &row.owner_share_percent, &row.timezone)?;
        Ok(Some(ParticipantRecord {
            program_id: row.program_id,
            store_id: row.store_id,
            balance: ParticipantBalance {
                user_id,
                available: Points::from_hundredths(row.available),
                pending: Points::from_hundredths(row.pending),
                lifetime: Points::from_hundredths(row.lifetime),
                completed_tasks: row.completed_tasks,
                version: row.version,
                delta_available: Points::ZERO,
                delta_pending: Points::ZERO,
                debt: Some(Points::from_hundredths(-row.debt_balance)),
            },
            rules: Arc::new(rules),
        }))
    }

    async fn store_info(&self, store_id: i64) -> Result<Option<StoreInfo>, StorageError> {
        let row: Option<StoreInfoRow> = sqlx::query_as(
            "SELECT s.program_id, p.timezone, s.monthly_plan,
                    (SELECT COUNT(*) FROM users u WHERE u.store_id = s.id AND u.kind = 'participant' AND u.status = 'active' AND (s.owner_user_id IS NULL OR u.id <> s.owner_user_id)) AS sellers
             FROM stores s JOIN programs p ON p.id = s.program_id WHERE s.id = $1",
        )
        .bind(store_id)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(StorageError::from_cause)?;
        let Some(row) = row else { return Ok(None) };
        let timezone = row.timezone;
        Ok(Some(StoreInfo {
            store_id,
            program_id: row.program_id,
            timezone: timezone
                .parse()
                .map_err(|_| StorageError::message(format!("unknown time zone {timezone:?}")))?,
            monthly_plan: row.monthly_plan.map(Points::from_hundredths),
            sellers: row.sellers,
        }))
    }

    async fn store_totals(
        &self,
        store_id: i64,
        since_ms: i64,
    ) -> Result<PeriodTotals, StorageError> {
        let mut sql = Sql::new(
            "SELECT CAST(COALESCE(SUM(earned), 0) AS BIGINT) AS earned, COUNT(CASE WHEN earned > 0 THEN 1 END) AS transactions,
                    COUNT(CASE WHEN status <> 'pending' AND reason IN ",
        );
        sql.bind_list(SALE_REASONS.iter().map(|r| r.to_string()));
        sql.push(" THEN 1 END) AS sales, CAST(COALESCE(SUM(completed_tasks), 0) AS BIGINT) AS tasks_completed FROM ledger_transactions WHERE store_id = ").bind(store_id).push(" AND created_at >= ").bind(since_ms);
        let row: PeriodTotalsRow = sql
            .query_as()
            .fetch_one(&self.db.pool)
            .await
            .map_err(StorageError::from_cause)?;
        Ok(PeriodTotals {
            earned: Points::from_hundredths(row.earned),
            transactions: row.transactions,
            sales: row.sales,
            tasks_completed: row.tasks_completed,
        })
    }

    async fn hold(&self, transaction_id: i64) -> Result<Option<HoldRecord>, StorageError> {
        let row: Option<HoldRow> = sqlx::query_as(
            "SELECT t.participant_id, p.amount, a.kind, a.owner_id FROM ledger_transactions t
             JOIN postings p ON p.transaction_id = t.id AND p.purpose = 'hold'
             JOIN accounts a ON a.id = p.debit_account
             WHERE t.id = $1 AND t.status = 'pending'",
        )
        .bind(transaction_id)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(StorageError::from_cause)?;
        let Some(row) = row else { return Ok(None) };
        let Some(paid_from) = key_of(&row.kind, row.owner_id) else {
            return Ok(None);
        };
        Ok(Some(HoldRecord {
            participant_id: row.participant_id.unwrap_or_default(),
            amount: Points::from_hundredths(row.amount),
            paid_from,
        }))
    }
}

/// The live actors read through this from their own threads; the reads run on the
/// server's runtime, so a read in flight when an actor thread stops never drops its
/// connection without a runtime (see [`OnServerRuntime`]).
#[async_trait]
impl<S: LiveStore> LiveStore for OnServerRuntime<S> {
    async fn participant(&self, user_id: i64) -> Result<Option<ParticipantRecord>, StorageError> {
        self.run(move |s| async move { s.participant(user_id).await })
            .await?
    }

    async fn store_info(&self, store_id: i64) -> Result<Option<StoreInfo>, StorageError> {
        self.run(move |s| async move { s.store_info(store_id).await })
            .await?
    }

    async fn store_totals(
        &self,
        store_id: i64,
        since_ms: i64,
    ) -> Result<PeriodTotals, StorageError> {
        self.run(move |s| async move { s.store_totals(store_id, since_ms).await })
            .await?
    }

    async fn hold(&self, transaction_id: i64) -> Result<Option<HoldRecord>, StorageError> {
        self.run(move |s| async move { s.hold(transaction_id).await })
            .await?
    }
}

/// The group committer already runs on the server's runtime (it is spawned there when
/// the live core starts), so its batches go straight through.
#[async_trait]
impl<S: LedgerStore> LedgerStore for OnServerRuntime<S> {
    async fn commit_batch(
        &self,
        requests: &[TransactionRequest],
    ) -> Result<Vec<Result<Committed, LedgerError>>, StorageError> {
        self.inner().commit_batch(requests).await
    }
}

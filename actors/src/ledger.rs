//! The ledger as the actors see it: what a transaction asks for, what a commit
//! answers, the narrow storage trait that commits, and the group committer that batches
//! transactions from many actors into one database transaction.
//!
//! Every change to points is a *ledger transaction*: one or more movements of a
//! positive amount from one account to another, applied all-or-nothing, carrying an
//! idempotency key (unique: a retry moves nothing twice), a reason, a source and who
//! caused it. Sums are therefore zero by construction; balances never go below zero
//! unless the account allows it (system accounts, overdraft funds).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::error::StorageError;
use crate::rules::points::Points;

/// An account points can move between. Program-level accounts belong to the program of
/// the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum AccountKey {
    /// A participant's available points.
    Participant(i64),
    /// A participant's points held until a decision (moderation).
    Pending(i64),
    /// The owner of a store, resolved when the transaction commits (so a change of
    /// owner is never missed); the movement is skipped if the store has no owner.
    StoreOwner(i64),
    /// A campaign's prize fund.
    CampaignFund(i64),
    /// Where points are issued from when no fund pays: its balance is minus the points
    /// the program has issued.
    Issued,
    /// The counterpart of manual corrections.
    Adjustments,
    /// Points spent on rewards.
    Redeemed,
    /// A participant's points reserved for their placed orders and payouts until they
    /// are delivered (captured to `Redeemed`) or fail (returned). One per participant,
    /// so checkouts of different participants never wait on one account row.
    OrderHold(i64),
    /// Points that expired.
    Expired,
    /// Income tax withheld or paid, owed to the tax office.
    Tax,
    /// What a participant owes after a recalculation took back more than they had: its
    /// balance is minus the debt, and their next income pays it off first.
    Debt(i64),
}

impl AccountKey {
    /// The participant whose balance this account is, if any.
    pub fn participant(self) -> Option<i64> {
        match self {
            AccountKey::Participant(id) | AccountKey::Pending(id) | AccountKey::Debt(id) => {
                Some(id)
            }
            _ => None,
        }
    }
}

/// What a movement is within its transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Income for work: codes, tasks, sales, awards. Counts toward lifetime points.
    Earning,
    /// The owner's percent of a seller's earning. Counts toward the owner's lifetime.
    OwnerShare,
    /// A manual correction, either way. Counts (signed) toward lifetime.
    Adjustment,
    /// Income parked as pending until a decision.
    Hold,
    /// A hold released to available points on approval. Counts toward lifetime.
    Release,
    /// A hold returned to where it came from on rejection.
    Return,
    /// Points reserved for an order at checkout (participant → order hold).
    Reservation,
    /// Points spent: an order's reservation captured (order hold → redeemed).
    Redemption,
    /// An order's reservation returned to the participant (failed or cancelled). Not
    /// income: it only undoes a reservation.
    Refund,
    /// Points that expired.
    Expiry,
    /// Income tax: withheld from the participant, or paid by the organiser on top.
    Tax,
    /// Money put into a fund.
    Funding,
    /// A retroactive correction of what earlier earnings paid, either way: counts
    /// (signed) toward lifetime and earned points, as the earnings it corrects did.
    Recalculation,
    /// Income that pays off a debt (participant → debt) before it reaches the balance.
    DebtRepayment,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Earning => "earning",
            Purpose::OwnerShare => "owner_share",
            Purpose::Adjustment => "adjustment",
            Purpose::Hold => "hold",
            Purpose::Release => "release",
            Purpose::Return => "return",
            Purpose::Reservation => "reservation",
            Purpose::Redemption => "redemption",
            Purpose::Refund => "refund",
            Purpose::Expiry => "expiry",
            Purpose::Tax => "tax",
            Purpose::Funding => "funding",
            Purpose::Recalculation => "recalculation",
            Purpose::DebtRepayment => "debt_repayment",
        }
    }

    /// How a movement of this purpose changes its recipient's lifetime points:
    /// +1 counts income, 0 does not. (Negative adjustments are movements *out of* a
    /// participant and are counted as −1 by [`Movement::lifetime_effect`].)
    fn counts_as_income(self) -> bool {
        matches!(
            self,
            Purpose::Earning
                | Purpose::OwnerShare
                | Purpose::Adjustment
                | Purpose::Release
                | Purpose::Recalculation
        )
    }

    /// Whether a movement of this purpose *out of* a participant takes back income they
    /// were credited (so their lifetime points count down).
    fn takes_back_income(self) -> bool {
        matches!(self, Purpose::Adjustment | Purpose::Recalculation)
    }
}

/// One movement of a positive amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Movement {
    pub from: AccountKey,
    pub to: AccountKey,
    pub amount: Points,
    pub purpose: Purpose,
}

impl Movement {
    /// The change to `participant`'s lifetime points this movement makes: income into
    /// their available account counts up; a correction out of it counts down; spending,
    /// expiry and holds do not count (levels follow what was earned, not the balance).
    /// A recalculation's loss counts down whether it leaves the balance or becomes a
    /// debt.
    pub fn lifetime_effect(&self, participant: i64) -> i64 {
        let amount = self.amount.hundredths();
        if self.to == AccountKey::Participant(participant) && self.purpose.counts_as_income() {
            amount
        } else if self.takes_back_from(participant) {
            -amount
        } else {
            0
        }
    }

    /// How this movement changes what `participant` *earned* in the sense of store
    /// progress and leaderboards: income for work counts up, corrections count down
    /// (reversed points leave the board); owner shares, bonuses by adjustment, holds,
    /// spending, expiry and tax do not count (boards rank what was earned, not what
    /// is left).
    pub fn earned_effect(&self, participant: i64) -> i64 {
        let amount = self.amount.hundredths();
        if self.to == AccountKey::Participant(participant)
            && matches!(
                self.purpose,
                Purpose::Earning | Purpose::Release | Purpose::Recalculation
            )
        {
            amount
        } else if self.takes_back_from(participant) {
            -amount
        } else {
            0
        }
    }

    /// Whether this movement takes income back from `participant`: a correction out of
    /// their balance, or a recalculation's loss (from their balance or into debt).
    fn takes_back_from(&self, participant: i64) -> bool {
        (self.from == AccountKey::Participant(participant) && self.purpose.takes_back_income())
            || (self.from == AccountKey::Debt(participant)
                && self.purpose == Purpose::Recalculation)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionStatus {
    /// Final.
    Posted,
    /// Holds points until settled by a confirming or cancelling transaction.
    Pending,
}

/// A transaction that settles an earlier pending one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    pub transaction_id: i64,
    pub confirm: bool,
}

/// Everything needed to commit one ledger transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionRequest {
    pub program_id: i64,
    /// Unique across the ledger: a retry with the same key moves nothing again.
    pub idempotency_key: String,
    /// Why, in one word: `adjustment`, `award`, `code`, `task`, `receipt`, `settlement`, …
    pub reason: String,
    /// The participant the transaction is about (whose history shows it).
    pub participant_id: Option<i64>,
    /// Their store at the time, for store progress and reports.
    pub store_id: Option<i64>,
    /// What caused it: (`code`, "ABCD…"), (`submission`, "17"), (`admin`, …).
    pub source: Option<(String, String)>,
    /// Who caused it (an admin, a moderator), if a person.
    pub actor_id: Option<i64>,
    pub comment: Option<String>,
    pub status: TransactionStatus,
    pub settles: Option<Settlement>,
    pub movements: Vec<Movement>,
    /// Tasks completed by the participant with this transaction (for levels).
    pub completed_tasks: i64,
    /// The campaign the points belong to (its leaderboards count them).
    pub campaign_id: Option<i64>,
    /// Identifies the request behind the key: the same key with another fingerprint is
    /// refused ([`LedgerError::KeyReused`]) rather than replayed.
    pub fingerprint: Option<String>,
    /// The terms an earning was paid on, recorded with it so a later recalculation
    /// knows what the old rule paid and why.
    #[serde(default)]
    pub earning: Option<EarningTerms>,
}

/// What an earning was computed from: the base points of the work and the level
/// multiplier applied to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarningTerms {
    pub base: Points,
    /// The participant's level (0 for the first) when the points were credited.
    pub level: i64,
    pub multiplier: rust_decimal::Decimal,
}

/// What a request does to balances and progress, worked out once for every store: the
/// SQL store and the in-memory one apply the same arithmetic.
impl TransactionRequest {
    /// The movements with `StoreOwner` replaced by the owner's participant account
    /// (`owner_of` answers a store's owner), dropping the movement when the store has no
    /// owner or the owner is the earner.
    pub fn resolve_owners(&self, owner_of: impl Fn(i64) -> Option<i64>) -> Vec<Movement> {
        self.movements
            .iter()
            .filter_map(|movement| {
                let resolve = |key: AccountKey| match key {
                    AccountKey::StoreOwner(store) => owner_of(store)
                        .filter(|owner| Some(*owner) != self.participant_id)
                        .map(AccountKey::Participant),
                    other => Some(other),
                };
                Some(Movement {
                    from: resolve(movement.from)?,
                    to: resolve(movement.to)?,
                    ..movement.clone()
                })
            })
            .collect()
    }

    /// Every participant the request touches, given its resolved `movements`: its own
    /// participant and everyone whose account a movement uses, in id order. Each gets a
    /// new version.
    pub fn touched_participants(&self, movements: &[Movement]) -> BTreeSet<i64> {
        self.participant_id
            .into_iter()
            .chain(
                movements
                    .iter()
                    .flat_map(|m| [m.from.participant(), m.to.participant()])
                    .flatten(),
            )
            .collect()
    }

    /// What the request adds to `user`'s progress besides the new version: the lifetime
    /// points of its resolved `movements`, and its completed tasks when `user` is the
    /// request's participant.
    pub fn progress_change(&self, movements: &[Movement], user: i64) -> ProgressChange {
        ProgressChange {
            lifetime: movements.iter().map(|m| m.lifetime_effect(user)).sum(),
            completed_tasks: if Some(user) == self.participant_id {
                self.completed_tasks
            } else {
                0
            },
        }
    }

    /// Income its resolved `movements` credit to the request's participant (for store
    /// progress and leaderboards).
    pub fn earned(&self, movements: &[Movement]) -> i64 {
        self.participant_id
            .map_or(0, |p| movements.iter().map(|m| m.earned_effect(p)).sum())
    }
}

/// What one transaction adds to a touched participant's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgressChange {
    pub lifetime: i64,
    pub completed_tasks: i64,
}

/// The net change `movements` make to `account`'s balance, in hundredths: what comes
/// in less what goes out.
pub fn net_change(movements: &[Movement], account: AccountKey) -> i64 {
    movements
        .iter()
        .map(|m| {
            if m.to == account {
                m.amount.hundredths()
            } else if m.from == account {
                -m.amount.hundredths()
            } else {
                0
            }
        })
        .sum()
}

/// A participant's balances after a commit, and what the commit changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantBalance {
    pub user_id: i64,
    pub available: Points,
    pub pending: Points,
    pub lifetime: Points,
    pub completed_tasks: i64,
    /// Bumped by every transaction touching the participant.
    pub version: i64,
    /// Change of `available` made by this transaction.
    pub delta_available: Points,
    /// Change of `pending` made by this transaction.
    pub delta_pending: Points,
    /// What the participant owes (positive), when the commit read it: `None` means
    /// unchanged by this commit and not read.
    #[serde(default)]
    pub debt: Option<Points>,
}

/// The answer to a committed (or replayed) transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committed {
    pub transaction_id: i64,
    /// True when the idempotency key had been used: nothing moved this time.
    pub replayed: bool,
    pub created_at: i64,
    /// Every participant whose balances the transaction changed (the seller and, for
    /// an owner share, the owner), as they are after it.
    pub participants: Vec<ParticipantBalance>,
    /// Income credited to the transaction's participant (for store progress).
    pub earned: Points,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("not enough points on {account:?}")]
    InsufficientFunds { account: AccountKey },
    #[error("transaction {transaction_id} is not pending (already settled or never held)")]
    NotPending { transaction_id: i64 },
    #[error("the transaction has no movements")]
    Empty,
    #[error("the idempotency key was used for a different request")]
    KeyReused,
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the ledger is shutting down")]
    ShuttingDown,
}

/// What the actors need from storage to commit. Implemented with SQL in the server and
/// with a map in tests.
#[async_trait]
pub trait LedgerStore: Send + Sync + 'static {
    /// Applies `requests` in one database transaction, each all-or-nothing: a request
    /// that cannot be applied (insufficient funds, already settled) is answered with its
    /// error and leaves no trace, without spoiling the others. `Err` means the database
    /// transaction itself failed and nothing was committed.
    async fn commit_batch(
        &self,
        requests: &[TransactionRequest],
    ) -> Result<Vec<Result<Committed, LedgerError>>, StorageError>;
}

/// Called with every committed (not replayed) transaction, after the commit: the hook
/// that turns commits into pushed events.
pub type CommitListener = Arc<dyn Fn(&TransactionRequest, &Committed) + Send + Sync>;

/// What the committer is asked: a transaction to commit, or to say when everything
/// asked before is committed (shutdown waits for it).
// A flush is rare; boxing every commit instead would cost an allocation per credit.
#[allow(clippy::large_enum_variant)]
enum Job {
    Commit(
        TransactionRequest,
        oneshot::Sender<Result<Committed, LedgerError>>,
    ),
    Flush(oneshot::Sender<()>),
}

/// Batches transactions from every actor into few database transactions: while one
/// batch commits, the next one gathers. Throughput is then bounded by commits per
/// second times batch size, not by one fsync per credit. Each caller still gets its
/// answer only after its transaction is durable.
#[derive(Clone)]
pub struct GroupCommitter {
    sender: mpsc::Sender<Job>,
}

/// Most transactions in one database transaction: bounds statement size and the time
/// the first caller of a batch waits.
pub const MAX_BATCH: usize = 256;
/// Queue depth before callers wait: backpressure instead of unbounded memory.
const QUEUE_DEPTH: usize = 16_384;

impl GroupCommitter {
    /// Starts the committing task on the current tokio runtime. It ends when every
    /// handle is dropped, after committing what was queued.
    pub fn start(
        store: Arc<dyn LedgerStore>,
        listener: CommitListener,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
        let task = tokio::spawn(run(store, listener, receiver));
        (Self { sender }, task)
    }

    /// Commits one transaction (batched with whatever else is waiting).
    pub async fn commit(&self, request: TransactionRequest) -> Result<Committed, LedgerError> {
        if request.movements.is_empty() {
            return Err(LedgerError::Empty);
        }
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Job::Commit(request, reply))
            .await
            .map_err(|_| LedgerError::ShuttingDown)?;
        answer.await.map_err(|_| LedgerError::ShuttingDown)?
    }

    /// Answers once every transaction asked before this call is committed (or
    /// refused): the last batch a shutdown waits for.
    pub async fn flush(&self) {
        let (reply, done) = oneshot::channel();
        if self.sender.send(Job::Flush(reply)).await.is_ok() {
            let _ = done.await;
        }
    }
}

async fn run(
    store: Arc<dyn LedgerStore>,
    listener: CommitListener,
    mut receiver: mpsc::Receiver<Job>,
) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut commits = Vec::with_capacity(MAX_BATCH);
    let mut flushes = Vec::new();
    while receiver.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        for job in jobs.drain(..) {
            match job {
                Job::Commit(request, reply) => commits.push((request, reply)),
                Job::Flush(reply) => flushes.push(reply),
            }
        }
        if !commits.is_empty() {
            let requests: Vec<TransactionRequest> =
                commits.iter().map(|(request, _)| request.clone()).collect();
            let answers = commit_with_fallback(store.as_ref(), &requests).await;
            for ((request, reply), answer) in commits.drain(..).zip(answers) {
                if let Ok(committed) = &answer
                    && !committed.replayed
                {
                    listener(&request, committed);
                }
                // The caller may have gone (request cancelled); the commit stands.
                let _ = reply.send(answer);
            }
        }
        // Everything received before a flush was in this batch or an earlier one.
        for reply in flushes.drain(..) {
            let _ = reply.send(());
        }
    }
    tracing::debug!("group committer stopped");
}

/// Pause before retrying a batch the database refused as a whole (a deadlock or a
/// race on an idempotency key with another node).
const RETRY_PAUSE: Duration = Duration::from_millis(20);

/// Commits a batch; if the database refuses the batch as a whole, commits its
/// requests one at a time (each retried once), so one bad request cannot fail its
/// neighbours.
async fn commit_with_fallback(
    store: &dyn LedgerStore,
    requests: &[TransactionRequest],
) -> Vec<Result<Committed, LedgerError>> {
    match store.commit_batch(requests).await {
        Ok(answers) => return answers,
        Err(err) => {
            tracing::warn!(error = ?err, size = requests.len(), "batch refused; committing one by one")
        }
    }
    let mut answers = Vec::with_capacity(requests.len());
    for request in requests {
        answers.push(commit_one(store, request).await);
    }
    answers
}

async fn commit_one(
    store: &dyn LedgerStore,
    request: &TransactionRequest,
) -> Result<Committed, LedgerError> {
    let mut last_error = StorageError::message("the store gave no answer");
    for attempt in 0..2 {
        if attempt > 0 {
            tokio::time::sleep(RETRY_PAUSE).await;
        }
        match store.commit_batch(std::slice::from_ref(request)).await {
            Ok(mut answer) => {
                return answer.pop().unwrap_or_else(|| {
                    Err(LedgerError::Storage(StorageError::message(
                        "the store gave no answer",
                    )))
                });
            }
            Err(err) => last_error = err,
        }
    }
    Err(LedgerError::Storage(last_error))
}

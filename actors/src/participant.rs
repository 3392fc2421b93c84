//! `ParticipantActor`: one per active participant, started on demand and stopped when
//! idle. It owns the participant's live balances, level and progress, serialises every
//! change to them (a credit is not started before the previous one committed), applies
//! the program's rules (level multiplier, owner share) and pushes each change to the
//! participant's sessions on the `me` topic.
//!
//! State is rebuilt from the database on start. Changes made elsewhere (another node,
//! another actor) arrive as ledger facts and are applied in version order; a gap in
//! versions makes the actor reload from the database rather than guess.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::hub::LiveEvent;
use crate::ledger::{
    AccountKey, Committed, EarningTerms, LedgerError, Movement, ParticipantBalance, Purpose,
    Settlement, TransactionRequest, TransactionStatus,
};
use crate::live::{ParticipantRecord, ProgramRules, RealtimeCore};
use crate::rules::levels::{Level, Progress};
use crate::rules::points::Points;

/// How long a participant's actor lives without messages or subscribers: long enough
/// that a seller scanning a box of codes keeps a warm actor, short enough that 100k
/// sellers who visited today do not all stay in memory.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
const IDLE_CHECK: Duration = Duration::from_secs(30);

/// The topic of a participant's own events.
pub fn topic(user_id: i64) -> String {
    format!("user:{user_id}")
}

pub struct ParticipantActor {
    live: Arc<RealtimeCore>,
    record: ParticipantRecord,
    last_active: Instant,
}

/// The participant's level as clients show it.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct LevelView {
    /// 0 for the first level.
    pub index: usize,
    pub name: String,
    /// Factor on earned points, as a decimal string.
    pub multiplier: String,
}

/// What is missing to reach the next level.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct NextLevelView {
    pub name: String,
    pub multiplier: String,
    pub remaining_tasks: u64,
    #[schema(value_type = String)]
    pub remaining_points: Points,
}

/// Balances as decimal strings (`"1250.50"`).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, ToSchema)]
pub struct BalanceView {
    /// Points that can be spent.
    #[schema(value_type = String)]
    pub available: Points,
    /// Points waiting for a decision (moderation).
    #[schema(value_type = String)]
    pub pending: Points,
    /// Everything ever earned: levels follow it, not the balance.
    #[schema(value_type = String)]
    pub lifetime: Points,
}

/// A participant's live standing: `getMe`'s points, the `me` snapshot, and the answer
/// to every change, all in this one shape.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct ParticipantView {
    pub user_id: i64,
    pub balance: BalanceView,
    pub level: LevelView,
    pub next_level: Option<NextLevelView>,
    pub completed_tasks: i64,
    /// What a recalculation took back beyond the balance, decimal string: the next
    /// income pays it off before anything reaches `available`.
    #[schema(value_type = String)]
    pub debt: Points,
    /// Bumped by every change to the participant's points.
    pub version: i64,
}

/// The answer to a change.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeOutcome {
    pub transaction_id: i64,
    pub replayed: bool,
    /// Points credited to the participant (after the level multiplier) or debited.
    pub amount: Points,
    /// The owner's share credited with it.
    pub owner_share: Points,
    pub view: ParticipantView,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParticipantError {
    #[error("participant {0} not found")]
    NotFound(i64),
    #[error("the amount is too large")]
    Overflow,
    #[error("the amount must not be zero")]
    ZeroAmount,
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

fn level_view(index: usize, level: &Level) -> LevelView {
    LevelView {
        index,
        name: level.name.clone(),
        multiplier: level.multiplier.normalize().to_string(),
    }
}

/// The campaign whose fund pays, if a campaign's fund pays.
fn campaign_of(pay_from: AccountKey) -> Option<i64> {
    match pay_from {
        AccountKey::CampaignFund(campaign) => Some(campaign),
        _ => None,
    }
}

fn progress_of(balance: &ParticipantBalance) -> Progress {
    Progress {
        completed_tasks: balance.completed_tasks.max(0) as u64,
        lifetime_points: balance.lifetime,
    }
}

impl ParticipantActor {
    pub fn new(live: Arc<RealtimeCore>, record: ParticipantRecord) -> Self {
        Self {
            live,
            record,
            last_active: Instant::now(),
        }
    }

    fn user_id(&self) -> i64 {
        self.record.balance.user_id
    }

    fn rules(&self) -> &ProgramRules {
        &self.record.rules
    }

    pub fn view(&self) -> ParticipantView {
        let balance = &self.record.balance;
        let progress = progress_of(balance);
        let levels = self.rules().levels.levels();
        let index = self.rules().levels.index_for(progress);
        let next_level = levels.get(index + 1).map(|next| NextLevelView {
            name: next.name.clone(),
            multiplier: next.multiplier.normalize().to_string(),
            remaining_tasks: next
                .min_completed_tasks
                .saturating_sub(progress.completed_tasks),
            remaining_points: next
                .min_lifetime_points
                .checked_sub(progress.lifetime_points)
                .filter(|p| p.is_positive())
                .unwrap_or(Points::ZERO),
        });
        ParticipantView {
            user_id: balance.user_id,
            balance: BalanceView {
                available: balance.available,
                pending: balance.pending,
                lifetime: balance.lifetime,
            },
            debt: balance.debt.unwrap_or(Points::ZERO),
            level: level_view(index, self.rules().levels.level_for(progress)),
            next_level,
            completed_tasks: balance.completed_tasks,
            version: balance.version,
        }
    }

    fn base_request(
        &self,
        key: String,
        reason: String,
        actor_id: Option<i64>,
        comment: Option<String>,
    ) -> TransactionRequest {
        TransactionRequest {
            program_id: self.record.program_id,
            idempotency_key: key,
            reason,
            participant_id: Some(self.user_id()),
            store_id: self.record.store_id,
            source: None,
            actor_id,
            comment,
            status: TransactionStatus::Posted,
            settles: None,
            movements: Vec::new(),
            completed_tasks: 0,
            campaign_id: None,
            fingerprint: None,
            earning: None,
        }
    }

    /// The owner's share of `credited`, paid from `source` to the store's owner.
    fn owner_share(
        &self,
        credited: Points,
        source: AccountKey,
    ) -> Result<Option<Movement>, ParticipantError> {
        let Some(store_id) = self.record.store_id else {
            return Ok(None);
        };
        let share = credited
            .apply_percent(self.rules().owner_share)
            .ok_or(ParticipantError::Overflow)?;
        Ok(share.is_positive().then_some(Movement {
            from: source,
            to: AccountKey::StoreOwner(store_id),
            amount: share,
            purpose: Purpose::OwnerShare,
        }))
    }

    /// Applies a committed change to the live state and pushes it. Changes already
    /// applied (same or older version) are ignored; a gap means a reload.
    fn absorb(
        &mut self,
        change: ParticipantBalance,
        reason: &str,
        transaction_id: i64,
        ctx: &mut Context<Self>,
    ) {
        let current = self.record.balance.version;
        if change.version <= current {
            return;
        }
        if change.version > current + 1 {
            tracing::debug!(
                user_id = self.user_id(),
                current,
                seen = change.version,
                "version gap; reloading"
            );
            self.reload(ctx);
            return;
        }
        let before = progress_of(&self.record.balance);
        self.take_balance(change);
        let after = progress_of(&self.record.balance);
        let view = self.view();
        let topic = topic(self.user_id());
        self.live.hub.publish(
            &topic,
            &BalanceChanged {
                reason,
                transaction_id,
                delta_available: change.delta_available,
                delta_pending: change.delta_pending,
                balance: &view,
            },
        );
        if let Some(up) = self.rules().levels.level_up(before, after) {
            self.live.hub.publish(
                &topic,
                &LevelUpEvent {
                    from: level_view(up.from_index, up.from),
                    to: level_view(up.to_index, up.to),
                },
            );
        }
    }

    /// Takes `change` as the live balance, keeping the known debt when the commit did
    /// not read it.
    fn take_balance(&mut self, change: ParticipantBalance) {
        let debt = change.debt.or(self.record.balance.debt);
        self.record.balance = ParticipantBalance { debt, ..change };
    }

    fn reload(&mut self, ctx: &mut Context<Self>) {
        let live = self.live.clone();
        let user_id = self.user_id();
        ctx.wait(
            async move { live.store.participant(user_id).await }
                .into_actor(self)
                .map(move |loaded, actor, ctx| match loaded {
                    Ok(Some(record)) => {
                        actor.record = record;
                        let view = actor.view();
                        actor.live.hub.publish(
                            &topic(user_id),
                            &BalanceChanged {
                                reason: "resync",
                                transaction_id: 0,
                                delta_available: Points::ZERO,
                                delta_pending: Points::ZERO,
                                balance: &view,
                            },
                        );
                    }
                    Ok(None) => ctx.stop(),
                    Err(err) => {
                        tracing::warn!(user_id, error = ?err, "reloading a participant failed")
                    }
                }),
        );
    }

    /// Commits `request` and answers with the new state, holding the mailbox until the
    /// commit so changes to one participant never interleave.
    fn commit(
        &mut self,
        request: TransactionRequest,
        amount: Points,
        owner_share: Points,
    ) -> AtomicResponse<Self, Result<ChangeOutcome, ParticipantError>> {
        AtomicResponse::new(Box::pin(self.commit_inner(request, amount, owner_share)))
    }
}

/// Data of the `balance_changed` event on `me`: the change and the standing after it.
#[derive(Serialize, ToSchema)]
pub struct BalanceChanged<'a> {
    /// Why: `adjustment`, `award`, `code`, `task`, `approval`, `rejection`, `resync`, …
    pub reason: &'a str,
    pub transaction_id: i64,
    #[schema(value_type = String)]
    pub delta_available: Points,
    #[schema(value_type = String)]
    pub delta_pending: Points,
    #[serde(flatten)]
    pub balance: &'a ParticipantView,
}

impl LiveEvent for BalanceChanged<'_> {
    const NAME: &'static str = "balance_changed";
}

/// Data of the `level_up` event on `me`.
#[derive(Serialize, ToSchema)]
pub struct LevelUpEvent {
    pub from: LevelView,
    pub to: LevelView,
}

impl LiveEvent for LevelUpEvent {
    const NAME: &'static str = "level_up";
}

impl Actor for ParticipantActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(IDLE_CHECK, |actor, ctx| {
            let idle = actor.last_active.elapsed() >= IDLE_TIMEOUT;
            if idle && !actor.live.hub.has_subscribers(&topic(actor.user_id())) {
                ctx.stop();
            }
        });
    }

    fn stopped(&mut self, ctx: &mut Self::Context) {
        self.live.forget_participant(self.user_id(), &ctx.address());
    }
}

/// Credits income for work: the level multiplier applies, the store owner gets the
/// program's share, and lifetime points grow. With `hold` the points wait as pending
/// until [`Settle`] (no owner share until then).
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<ChangeOutcome, ParticipantError>")]
pub struct Earn {
    pub base: Points,
    pub reason: String,
    pub idempotency_key: String,
    /// Where the points come from: a campaign fund or the program's issued account.
    pub pay_from: AccountKey,
    pub hold: bool,
    pub source: Option<(String, String)>,
    pub actor_id: Option<i64>,
    pub comment: Option<String>,
    pub completed_tasks: i64,
    /// The request behind the key (see [`TransactionRequest::fingerprint`]).
    pub fingerprint: Option<String>,
}

impl Handler<Earn> for ParticipantActor {
    type Result = AtomicResponse<Self, Result<ChangeOutcome, ParticipantError>>;

    fn handle(&mut self, msg: Earn, _ctx: &mut Context<Self>) -> Self::Result {
        let prepared = (|| {
            if !msg.base.is_positive() {
                return Err(ParticipantError::ZeroAmount);
            }
            let progress = progress_of(&self.record.balance);
            let level_index = self.rules().levels.index_for(progress);
            let level = self.rules().levels.level_for(progress);
            let credited = level
                .credit_with_multiplier(msg.base)
                .ok_or(ParticipantError::Overflow)?;
            let mut request =
                self.base_request(msg.idempotency_key, msg.reason, msg.actor_id, msg.comment);
            request.source = msg.source;
            request.completed_tasks = msg.completed_tasks;
            request.campaign_id = campaign_of(msg.pay_from);
            request.fingerprint = msg.fingerprint;
            request.earning = Some(EarningTerms {
                base: msg.base,
                level: level_index as i64,
                multiplier: level.multiplier,
            });
            let user = self.user_id();
            let mut share = Points::ZERO;
            if msg.hold {
                request.status = TransactionStatus::Pending;
                request.movements.push(Movement {
                    from: msg.pay_from,
                    to: AccountKey::Pending(user),
                    amount: credited,
                    purpose: Purpose::Hold,
                });
            } else {
                request.movements.push(Movement {
                    from: msg.pay_from,
                    to: AccountKey::Participant(user),
                    amount: credited,
                    purpose: Purpose::Earning,
                });
                if let Some(owner) = self.owner_share(credited, msg.pay_from)? {
                    share = owner.amount;
                    request.movements.push(owner);
                }
            }
            Ok((request, credited, share))
        })();
        match prepared {
            Ok((request, credited, share)) => self.commit(request, credited, share),
            Err(err) => AtomicResponse::new(Box::pin(fut::ready(Err(err)))),
        }
    }
}

/// A manual correction of available points, either way: exact (no multiplier, no owner
/// share), with a mandatory comment.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<ChangeOutcome, ParticipantError>")]
pub struct Adjust {
    /// Positive credits, negative debits.
    pub amount: Points,
    pub comment: String,
    pub idempotency_key: String,
    pub actor_id: Option<i64>,
    pub fingerprint: Option<String>,
}

impl Handler<Adjust> for ParticipantActor {
    type Result = AtomicResponse<Self, Result<ChangeOutcome, ParticipantError>>;

    fn handle(&mut self, msg: Adjust, _ctx: &mut Context<Self>) -> Self::Result {
        let user = self.user_id();
        let magnitude = if msg.amount.is_negative() {
            msg.amount.checked_neg()
        } else {
            Some(msg.amount)
        };
        let Some(magnitude) = magnitude.filter(|m| m.is_positive()) else {
            return AtomicResponse::new(Box::pin(fut::ready(Err(ParticipantError::ZeroAmount))));
        };
        // The database enforces it too; refusing here spares a round trip.
        if msg.amount.is_negative() && self.record.balance.available < magnitude {
            return AtomicResponse::new(Box::pin(fut::ready(Err(
                LedgerError::InsufficientFunds {
                    account: AccountKey::Participant(user),
                }
                .into(),
            ))));
        }
        let (from, to) = if msg.amount.is_negative() {
            (AccountKey::Participant(user), AccountKey::Adjustments)
        } else {
            (AccountKey::Adjustments, AccountKey::Participant(user))
        };
        let mut request = self.base_request(
            msg.idempotency_key,
            "adjustment".into(),
            msg.actor_id,
            Some(msg.comment),
        );
        request.fingerprint = msg.fingerprint;
        request.movements.push(Movement {
            from,
            to,
            amount: magnitude,
            purpose: Purpose::Adjustment,
        });
        self.commit(request, msg.amount, Points::ZERO)
    }
}

/// Settles a pending hold: confirm releases it to available points (and pays the owner
/// share); cancel returns it to where it came from.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<ChangeOutcome, ParticipantError>")]
pub struct Settle {
    pub hold_transaction_id: i64,
    pub confirm: bool,
    pub idempotency_key: String,
    pub actor_id: Option<i64>,
    pub comment: Option<String>,
    /// Tasks the confirmation completes (for levels).
    pub completed_tasks: i64,
    pub fingerprint: Option<String>,
}

impl Handler<Settle> for ParticipantActor {
    type Result = AtomicResponse<Self, Result<ChangeOutcome, ParticipantError>>;

    fn handle(&mut self, msg: Settle, _ctx: &mut Context<Self>) -> Self::Result {
        self.last_active = Instant::now();
        let live = self.live.clone();
        let user = self.user_id();
        let hold_id = msg.hold_transaction_id;
        // The hold's amount and source live in the database; read them, then commit.
        AtomicResponse::new(Box::pin(
            async move { live.store.hold(hold_id).await }
                .into_actor(self)
                .then(move |hold, actor, _ctx| {
                    let prepared = (|| {
                        let hold = hold
                            .map_err(LedgerError::Storage)?
                            .filter(|h| h.participant_id == user)
                            .ok_or(LedgerError::NotPending {
                                transaction_id: hold_id,
                            })?;
                        let reason = if msg.confirm { "approval" } else { "rejection" };
                        let mut request = actor.base_request(
                            msg.idempotency_key,
                            reason.into(),
                            msg.actor_id,
                            msg.comment,
                        );
                        request.campaign_id = campaign_of(hold.paid_from);
                        request.fingerprint = msg.fingerprint;
                        request.settles = Some(Settlement {
                            transaction_id: hold_id,
                            confirm: msg.confirm,
                        });
                        request.source = Some(("hold".into(), hold_id.to_string()));
                        let mut share = Points::ZERO;
                        if msg.confirm {
                            request.completed_tasks = msg.completed_tasks;
                            request.movements.push(Movement {
                                from: AccountKey::Pending(user),
                                to: AccountKey::Participant(user),
                                amount: hold.amount,
                                purpose: Purpose::Release,
                            });
                            if let Some(owner) = actor.owner_share(hold.amount, hold.paid_from)? {
                                share = owner.amount;
                                request.movements.push(owner);
                            }
                        } else {
                            request.movements.push(Movement {
                                from: AccountKey::Pending(user),
                                to: hold.paid_from,
                                amount: hold.amount,
                                purpose: Purpose::Return,
                            });
                        }
                        Ok::<_, ParticipantError>((request, hold.amount, share))
                    })();
                    match prepared {
                        Ok((request, amount, share)) => futures_util::future::Either::Left(
                            actor.commit_inner(request, amount, share),
                        ),
                        Err(err) => futures_util::future::Either::Right(fut::ready(Err(err))),
                    }
                }),
        ))
    }
}

impl ParticipantActor {
    /// The future part of [`Self::commit`], for handlers that are already inside one.
    fn commit_inner(
        &mut self,
        request: TransactionRequest,
        amount: Points,
        owner_share: Points,
    ) -> impl ActorFuture<Self, Output = Result<ChangeOutcome, ParticipantError>> + use<> {
        self.last_active = Instant::now();
        let committer = self.live.committer.clone();
        let reason = request.reason.clone();
        async move { committer.commit(request).await }
            .into_actor(self)
            .map(move |result: Result<Committed, LedgerError>, actor, ctx| {
                let committed = result?;
                let mine = committed
                    .participants
                    .iter()
                    .find(|p| p.user_id == actor.user_id())
                    .copied();
                match mine {
                    Some(change) if !committed.replayed => {
                        actor.absorb(change, &reason, committed.transaction_id, ctx)
                    }
                    Some(change) if change.version >= actor.record.balance.version => {
                        actor.take_balance(change)
                    }
                    _ => {}
                }
                Ok(ChangeOutcome {
                    transaction_id: committed.transaction_id,
                    replayed: committed.replayed,
                    amount,
                    owner_share,
                    view: actor.view(),
                })
            })
    }
}

/// The live state, for snapshots.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "ParticipantView")]
pub struct GetView;

impl Handler<GetView> for ParticipantActor {
    type Result = MessageResult<GetView>;

    fn handle(&mut self, _msg: GetView, _ctx: &mut Context<Self>) -> Self::Result {
        self.last_active = Instant::now();
        MessageResult(self.view())
    }
}

/// A change committed elsewhere (another actor's owner share, another node).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct ApplyChange {
    pub change: ParticipantBalance,
    pub reason: String,
    pub transaction_id: i64,
}

impl Handler<ApplyChange> for ParticipantActor {
    type Result = ();

    fn handle(&mut self, msg: ApplyChange, ctx: &mut Context<Self>) {
        self.absorb(msg.change, &msg.reason, msg.transaction_id, ctx);
    }
}

/// The program's rules or the participant's store changed: reload from the database.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Reload;

impl Handler<Reload> for ParticipantActor {
    type Result = ();

    fn handle(&mut self, _msg: Reload, ctx: &mut Context<Self>) {
        self.reload(ctx);
    }
}

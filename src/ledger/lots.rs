//! Lots inside the batch commit: the part of committing that keeps `point_lots` in step
//! with participants' available balances (see [`stimul_actors::rules::expiry`]).
//!
//! A credit to a participant's available points made while their program's rule is
//! not `never` forms a lot; a debit takes from the open lots that expire first (an
//! expiry takes the due ones) and records what it took. Everything happens under the
//! participant's account lock the batch already holds, so two nodes never spend one
//! lot twice, and costs the batch a fixed number of statements: one to read the
//! programs' rules, one to read the open lots of the participants the batch debits,
//! and one each to insert lots, update lots and record spendings.
//!
//! A refund (an order cancelled, a payout failed) forms no lot: it gives the points
//! back to the lots its reservation took them from (`lot_restores`), so cancelling an
//! order never renews points' expiry; points the reservation took untracked come back
//! untracked.
//!
//! The invariant kept: what is left of a participant's lots never exceeds their
//! available balance (points credited before any rule are simply untracked and never
//! expire), and a debit may not spend points already due to expire.

use std::collections::{BTreeSet, HashMap};

use chrono_tz::Tz;
use sqlx::FromRow;
use stimul_actors::ledger::{AccountKey, Movement, Purpose};
use stimul_actors::rules::expiry::{ExpiryRule, Lot, due_total, expire, spend};

use crate::db::{Sql, Tx};

#[derive(FromRow)]
struct OpenLotRow {
    id: i64,
    participant_id: i64,
    remaining: i64,
    expires_at: Option<i64>,
}

/// What a source's transactions (an order's reservation) took from a lot, and what
/// its refunds gave back.
#[derive(FromRow)]
struct ReservedRow {
    participant_id: i64,
    source_type: String,
    source_id: String,
    lot_id: i64,
    remaining: i64,
    expires_at: Option<i64>,
    taken: i64,
    restored: i64,
}

/// A participant and the source (kind, id) of a refund to them.
pub(super) type RefundSource = (i64, String, String);

#[derive(FromRow)]
struct InsertedLot {
    id: i64,
    transaction_id: i64,
    participant_id: i64,
}

/// Where a batch stands with the lots of the participants it touches.
#[derive(Default)]
pub(super) struct LotBook {
    /// Open lots of every participant the batch debits (loaded), plus the lots the
    /// batch forms; new lots carry provisional negative ids until written.
    lots: HashMap<i64, Vec<Lot>>,
    /// What each loaded lot had left when read, to write only the changed ones.
    read: HashMap<i64, i64>,
    /// Lots formed by the batch, with the provisional ids they carry in `lots`.
    formed: Vec<FormedLot>,
    /// What each request took from each lot: (request index, lot id, amount).
    taken: Vec<(usize, i64, i64)>,
    /// For each refund's participant and source, the lots its reservation holds and
    /// how much of each, latest expiry first (given back in that order).
    reserved: HashMap<RefundSource, Vec<(i64, i64)>>,
    /// What each request gave back to each lot: (request index, lot id, amount).
    restored: Vec<(usize, i64, i64)>,
}

struct FormedLot {
    index: usize,
    program_id: i64,
    participant_id: i64,
    provisional_id: i64,
    amount: i64,
    expires_at: Option<i64>,
}

impl LotBook {
    /// Reads the open lots of the participants `movements` debit, and of `also` (those
    /// a batch may debit for tax).
    #[tracing::instrument(skip_all)]
    pub(super) async fn load<'m>(
        tx: &mut Tx,
        movements: impl Iterator<Item = &'m Movement>,
        also: &BTreeSet<i64>,
        refunds: &BTreeSet<RefundSource>,
    ) -> Result<Self, sqlx::Error> {
        let mut debited: BTreeSet<i64> = movements
            .filter_map(|m| match m.from {
                AccountKey::Participant(user) => Some(user),
                _ => None,
            })
            .collect();
        debited.extend(also);
        let mut book = LotBook::default();
        book.load_reserved(tx, refunds).await?;
        if debited.is_empty() {
            return Ok(book);
        }
        let mut sql = Sql::new(
            "SELECT id, participant_id, remaining, expires_at FROM point_lots WHERE remaining > 0 AND participant_id IN ",
        );
        sql.bind_list(debited.iter().copied());
        let rows: Vec<OpenLotRow> = sql.query_as().fetch_all(&mut **tx).await?;
        for row in rows {
            book.remember(row.participant_id, row.id, row.remaining, row.expires_at);
        }
        Ok(book)
    }

    /// Adds a lot as read, unless it is already known.
    fn remember(&mut self, participant: i64, id: i64, remaining: i64, expires_at: Option<i64>) {
        if self.read.insert(id, remaining).is_none() {
            self.lots.entry(participant).or_default().push(Lot {
                id,
                remaining,
                expires_at,
            });
        }
    }

    /// Reads what the reservations behind `refunds` still hold of each lot (by the
    /// participant's transactions of the same source), and those lots.
    async fn load_reserved(
        &mut self,
        tx: &mut Tx,
        refunds: &BTreeSet<RefundSource>,
    ) -> Result<(), sqlx::Error> {
        if refunds.is_empty() {
            return Ok(());
        }
        let mut sql = Sql::new(
            "SELECT t.participant_id, t.source_type, t.source_id, l.id AS lot_id, l.remaining, l.expires_at,
                    CAST(SUM(ls.amount) AS BIGINT) AS taken,
                    COALESCE((SELECT CAST(SUM(r.amount) AS BIGINT) FROM lot_restores r JOIN ledger_transactions rt ON rt.id = r.transaction_id
                              WHERE r.lot_id = l.id AND rt.participant_id = t.participant_id AND rt.source_type = t.source_type AND rt.source_id = t.source_id), 0) AS restored
             FROM ledger_transactions t JOIN lot_spendings ls ON ls.transaction_id = t.id JOIN point_lots l ON l.id = ls.lot_id
             WHERE ",
        );
        for (i, (participant, kind, id)) in refunds.iter().enumerate() {
            sql.push(if i > 0 { " OR (" } else { "(" })
                .push("t.participant_id = ")
                .bind(*participant)
                .push(" AND t.source_type = ")
                .bind(kind.clone())
                .push(" AND t.source_id = ")
                .bind(id.clone())
                .push(")");
        }
        sql.push(
            " GROUP BY t.participant_id, t.source_type, t.source_id, l.id, l.remaining, l.expires_at",
        );
        let rows: Vec<ReservedRow> = sql.query_as().fetch_all(&mut **tx).await?;
        for row in rows {
            let held = row.taken - row.restored;
            if held <= 0 {
                continue;
            }
            self.remember(
                row.participant_id,
                row.lot_id,
                row.remaining,
                row.expires_at,
            );
            self.reserved
                .entry((row.participant_id, row.source_type, row.source_id))
                .or_default()
                .push((row.lot_id, held));
        }
        let expiry_of: HashMap<i64, Option<i64>> = self
            .lots
            .values()
            .flatten()
            .map(|lot| (lot.id, lot.expires_at))
            .collect();
        for lots in self.reserved.values_mut() {
            // Latest expiry first, untracked-forever (None) before any date.
            lots.sort_by_key(|(lot, _)| {
                std::cmp::Reverse(expiry_of.get(lot).copied().flatten().unwrap_or(i64::MAX))
            });
        }
        Ok(())
    }

    /// Works out what request `index` does to lots: forms a lot per participant it
    /// credits (when `expiry` is the program's rule), then takes what it debits from
    /// the lots. Refuses (answering the account) a debit that would spend points
    /// already due: `balance_after` answers a participant's available balance after
    /// the request. Nothing changes when it refuses.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn apply(
        &mut self,
        index: usize,
        program_id: i64,
        expiry: Option<(&ExpiryRule, Tz)>,
        source: Option<&(String, String)>,
        movements: &[Movement],
        balance_after: impl Fn(i64) -> i64,
        now: i64,
    ) -> Result<(), AccountKey> {
        let mut working: HashMap<i64, Vec<Lot>> = HashMap::new();
        let mut formed = Vec::new();
        let mut taken: Vec<(i64, i64)> = Vec::new();
        // Refunds give back to the lots their reservation took from.
        let mut reserved: Vec<(RefundSource, Vec<(i64, i64)>)> = Vec::new();
        let mut restored: Vec<(i64, i64)> = Vec::new();
        for movement in movements.iter().filter(|m| m.purpose == Purpose::Refund) {
            let (AccountKey::Participant(user), Some((kind, id))) = (movement.to, source) else {
                continue;
            };
            let key = (user, kind.clone(), id.clone());
            let position = match reserved.iter().position(|(k, _)| *k == key) {
                Some(position) => position,
                None => {
                    let held = self.reserved.get(&key).cloned().unwrap_or_default();
                    reserved.push((key, held));
                    reserved.len() - 1
                }
            };
            let mut left = movement.amount.hundredths();
            for (lot_id, held) in reserved[position].1.iter_mut() {
                let back = (*held).min(left);
                if back <= 0 {
                    continue;
                }
                *held -= back;
                left -= back;
                if let Some(lot) = self
                    .lots_of(&mut working, user)
                    .iter_mut()
                    .find(|lot| lot.id == *lot_id)
                {
                    lot.remaining += back;
                }
                restored.push((*lot_id, back));
            }
        }
        let mut next_provisional = -(self.formed.len() as i64) - 1;
        if let Some((rule, timezone)) = expiry {
            let expires_at = rule
                .expires_at(now, timezone)
                .unwrap_or_else(|err| {
                    tracing::error!(error = %err, program = program_id, "expiry date out of range; lot never expires");
                    None
                });
            let mut credited: Vec<(i64, i64)> = Vec::new();
            for movement in movements.iter().filter(|m| m.purpose != Purpose::Refund) {
                if let AccountKey::Participant(user) = movement.to {
                    match credited.iter_mut().find(|(u, _)| *u == user) {
                        Some((_, sum)) => *sum += movement.amount.hundredths(),
                        None => credited.push((user, movement.amount.hundredths())),
                    }
                }
            }
            for (user, amount) in credited {
                let id = next_provisional;
                next_provisional -= 1;
                self.lots_of(&mut working, user).push(Lot {
                    id,
                    remaining: amount,
                    expires_at,
                });
                formed.push(FormedLot {
                    index,
                    program_id,
                    participant_id: user,
                    provisional_id: id,
                    amount,
                    expires_at,
                });
            }
        }
        let mut spenders: BTreeSet<i64> = BTreeSet::new();
        for movement in movements {
            let AccountKey::Participant(user) = movement.from else {
                continue;
            };
            let amount = movement.amount.hundredths();
            let lots = self.lots_of(&mut working, user);
            let takes = if movement.purpose == Purpose::Expiry {
                expire(lots, amount, now).0
            } else {
                spenders.insert(user);
                spend(lots, amount, now).0
            };
            for (lot_id, take) in takes {
                if let Some(lot) = lots.iter_mut().find(|lot| lot.id == lot_id) {
                    lot.remaining -= take;
                }
                match taken.iter_mut().find(|(id, _)| *id == lot_id) {
                    Some((_, sum)) => *sum += take,
                    None => taken.push((lot_id, take)),
                }
            }
        }
        for user in spenders {
            let due = working.get(&user).map_or(0, |lots| due_total(lots, now));
            if balance_after(user) < due {
                return Err(AccountKey::Participant(user));
            }
        }
        self.lots.extend(working);
        self.formed.extend(formed);
        self.taken
            .extend(taken.into_iter().map(|(lot, amount)| (index, lot, amount)));
        self.reserved.extend(reserved);
        self.restored.extend(
            restored
                .into_iter()
                .map(|(lot, amount)| (index, lot, amount)),
        );
        Ok(())
    }

    /// What of `balance` (a participant's available points) a debit may take now:
    /// all but what is left of their due lots.
    pub(super) fn spendable(&self, user: i64, balance: i64, now: i64) -> i64 {
        let due = self.lots.get(&user).map_or(0, |lots| due_total(lots, now));
        (balance - due).max(0)
    }

    /// The working copy of `user`'s lots for the request being applied.
    fn lots_of<'w>(&self, working: &'w mut HashMap<i64, Vec<Lot>>, user: i64) -> &'w mut Vec<Lot> {
        working
            .entry(user)
            .or_insert_with(|| self.lots.get(&user).cloned().unwrap_or_default())
    }

    /// Writes the batch's lots once its transactions have ids (`ids`: request index →
    /// transaction id): the lots formed, what is left of the lots read, and every take.
    pub(super) async fn write(
        &self,
        tx: &mut Tx,
        ids: &HashMap<usize, i64>,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let remaining: HashMap<i64, i64> = self
            .lots
            .values()
            .flatten()
            .map(|lot| (lot.id, lot.remaining))
            .collect();
        let mut real: HashMap<i64, i64> = HashMap::new();
        if !self.formed.is_empty() {
            let mut sql = Sql::new(
                "INSERT INTO point_lots (program_id, participant_id, transaction_id, amount, remaining, expires_at, created_at) VALUES ",
            );
            for (i, lot) in self.formed.iter().enumerate() {
                sql.push(if i > 0 { ", (" } else { "(" });
                sql.bind(lot.program_id)
                    .push(", ")
                    .bind(lot.participant_id)
                    .push(", ")
                    .bind(ids.get(&lot.index).copied().unwrap_or_default())
                    .push(", ")
                    .bind(lot.amount)
                    .push(", ")
                    .bind(
                        remaining
                            .get(&lot.provisional_id)
                            .copied()
                            .unwrap_or(lot.amount),
                    )
                    .push(", ")
                    .bind(lot.expires_at)
                    .push(", ")
                    .bind(now)
                    .push(")");
            }
            sql.push(" RETURNING id, transaction_id, participant_id");
            let rows: Vec<InsertedLot> = sql.query_as().fetch_all(&mut **tx).await?;
            for row in rows {
                if let Some(lot) = self.formed.iter().find(|lot| {
                    ids.get(&lot.index) == Some(&row.transaction_id)
                        && lot.participant_id == row.participant_id
                }) {
                    real.insert(lot.provisional_id, row.id);
                }
            }
        }
        let changed: Vec<(i64, i64)> = self
            .read
            .iter()
            .filter_map(|(id, before)| {
                remaining
                    .get(id)
                    .filter(|now| *now != before)
                    .map(|now| (*id, *now))
            })
            .collect();
        if !changed.is_empty() {
            let mut sql = Sql::new("UPDATE point_lots SET remaining = CASE id");
            for (id, left) in &changed {
                sql.push(" WHEN ").bind(*id).push(" THEN ").bind(*left);
            }
            sql.push(" ELSE remaining END WHERE id IN ")
                .bind_list(changed.iter().map(|(id, _)| *id));
            sql.query().execute(&mut **tx).await?;
        }
        let takes: Vec<(i64, i64, i64)> = self
            .taken
            .iter()
            .filter_map(|(index, lot, amount)| {
                let lot = if *lot < 0 {
                    real.get(lot).copied()?
                } else {
                    *lot
                };
                Some((ids.get(index).copied()?, lot, *amount))
            })
            .collect();
        if !takes.is_empty() {
            let mut sql =
                Sql::new("INSERT INTO lot_spendings (transaction_id, lot_id, amount) VALUES ");
            for (i, (transaction, lot, amount)) in takes.iter().enumerate() {
                sql.push(if i > 0 { ", (" } else { "(" });
                sql.bind(*transaction)
                    .push(", ")
                    .bind(*lot)
                    .push(", ")
                    .bind(*amount)
                    .push(")");
            }
            sql.query().execute(&mut **tx).await?;
        }
        let restores: Vec<(i64, i64, i64)> = self
            .restored
            .iter()
            .filter_map(|(index, lot, amount)| Some((ids.get(index).copied()?, *lot, *amount)))
            .collect();
        if !restores.is_empty() {
            let mut sql =
                Sql::new("INSERT INTO lot_restores (transaction_id, lot_id, amount) VALUES ");
            for (i, (transaction, lot, amount)) in restores.iter().enumerate() {
                sql.push(if i > 0 { ", (" } else { "(" });
                sql.bind(*transaction)
                    .push(", ")
                    .bind(*lot)
                    .push(", ")
                    .bind(*amount)
                    .push(")");
            }
            sql.query().execute(&mut **tx).await?;
        }
        Ok(())
    }
}

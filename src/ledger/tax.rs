//! Tax inside the batch commit: the part of committing that makes the program a tax
//! agent (see [`stimul_actors::rules::tax`]).
//!
//! When a transaction gives a participant taxable income (at accrual: income credited
//! to their points; at redemption: points captured for a reward or a payout), the
//! commit computes the tax on the person's running total for the year and adds a
//! movement to the same transaction: from the participant to the program's `tax`
//! account (withheld, as far as the points they may spend cover it; the rest is
//! recorded as not withheld) or, when the organiser bears it, from the program's
//! `issued` account (grossed up, the cost visible in the ledger). The event and the
//! new yearly totals are written with the transaction, under the participant's
//! account lock the batch holds, so the year's figures always equal the sum of its
//! events.

use std::collections::{BTreeSet, HashMap};

use sqlx::FromRow;
use stimul_actors::ledger::{AccountKey, Movement, Purpose, TransactionRequest};
use stimul_actors::rules::points::Points;
use stimul_actors::rules::tax::{TaxBearer, TaxMoment, TaxRule};

use crate::db::{Sql, Tx};

/// A person's year so far.
#[derive(Debug, Clone, Copy, Default)]
struct YearTotals {
    income: i64,
    tax: i64,
    paid: i64,
}

#[derive(FromRow)]
struct YearRow {
    participant_id: i64,
    year: i64,
    income: i64,
    tax: i64,
    paid: i64,
}

/// One taxable event, as the commit records it.
struct TaxEvent {
    index: usize,
    program_id: i64,
    participant_id: i64,
    year: i64,
    month: i64,
    income: i64,
    tax: i64,
    paid: i64,
    bearer: TaxBearer,
}

/// The tax one request adds: the movements to append and the events to record once
/// it is accepted.
pub(super) struct TaxPlan {
    pub movements: Vec<Movement>,
    events: Vec<TaxEvent>,
}

/// Where a batch stands with the yearly totals of the participants it touches.
#[derive(Default)]
pub(super) struct TaxBook {
    years: HashMap<(i64, i64), YearTotals>,
    /// (participant, year) pairs changed by the batch, and the program of each.
    changed: HashMap<(i64, i64), i64>,
    events: Vec<TaxEvent>,
}

/// What a request gives each participant as taxable income under `rule`.
pub(super) fn taxable(rule: &TaxRule, movements: &[Movement]) -> Vec<(i64, i64)> {
    let mut income: Vec<(i64, i64)> = Vec::new();
    for movement in movements {
        let (participant, amount) = match (rule.moment, movement.from, movement.to) {
            (TaxMoment::Accrual, _, AccountKey::Participant(user)) => {
                (user, movement.lifetime_effect(user))
            }
            (TaxMoment::Redemption, AccountKey::OrderHold(user), AccountKey::Redeemed)
                if movement.purpose == Purpose::Redemption =>
            {
                (user, movement.amount.hundredths())
            }
            _ => continue,
        };
        if amount <= 0 {
            continue;
        }
        match income.iter_mut().find(|(user, _)| *user == participant) {
            Some((_, sum)) => *sum += amount,
            None => income.push((participant, amount)),
        }
    }
    income
}

impl TaxBook {
    /// Reads the totals of `participants` for `years`.
    #[tracing::instrument(skip_all)]
    pub(super) async fn load(
        tx: &mut Tx,
        participants: &BTreeSet<i64>,
        years: &BTreeSet<i64>,
    ) -> Result<Self, sqlx::Error> {
        let mut book = TaxBook::default();
        if participants.is_empty() || years.is_empty() {
            return Ok(book);
        }
        let mut sql = Sql::new(
            "SELECT participant_id, year, income, tax, paid FROM tax_years WHERE participant_id IN ",
        );
        sql.bind_list(participants.iter().copied());
        sql.push(" AND year IN ").bind_list(years.iter().copied());
        let rows: Vec<YearRow> = sql.query_as().fetch_all(&mut **tx).await?;
        for row in rows {
            book.years.insert(
                (row.participant_id, row.year),
                YearTotals {
                    income: row.income,
                    tax: row.tax,
                    paid: row.paid,
                },
            );
        }
        Ok(book)
    }

    /// The tax `request` (its resolved `movements`) brings under `rule` in year/month
    /// `at`. `spendable` answers what a participant could pay from their points after
    /// the request's own movements.
    pub(super) fn plan(
        &self,
        index: usize,
        request: &TransactionRequest,
        movements: &[Movement],
        rule: &TaxRule,
        (year, month): (i64, i64),
        spendable: impl Fn(i64) -> i64,
    ) -> TaxPlan {
        let mut plan = TaxPlan {
            movements: Vec::new(),
            events: Vec::new(),
        };
        for (participant, income) in taxable(rule, movements) {
            let before = self
                .years
                .get(&(participant, year))
                .copied()
                .unwrap_or_default();
            let event = rule.event(
                Points::from_hundredths(before.income),
                Points::from_hundredths(income),
            );
            let tax = event.tax.hundredths();
            let (from, paid) = match rule.bearer {
                TaxBearer::Participant => (
                    AccountKey::Participant(participant),
                    tax.min(spendable(participant)),
                ),
                TaxBearer::Organiser => (AccountKey::Issued, tax),
            };
            if paid > 0 {
                plan.movements.push(Movement {
                    from,
                    to: AccountKey::Tax,
                    amount: Points::from_hundredths(paid),
                    purpose: Purpose::Tax,
                });
            }
            plan.events.push(TaxEvent {
                index,
                program_id: request.program_id,
                participant_id: participant,
                year,
                month,
                income: event.income.hundredths(),
                tax,
                paid,
                bearer: rule.bearer,
            });
        }
        plan
    }

    /// Records an accepted request's events and adds them to the yearly totals.
    pub(super) fn record(&mut self, plan: TaxPlan) {
        for event in plan.events {
            let key = (event.participant_id, event.year);
            let totals = self.years.entry(key).or_default();
            totals.income += event.income;
            totals.tax += event.tax;
            totals.paid += event.paid;
            self.changed.insert(key, event.program_id);
            self.events.push(event);
        }
    }

    /// Writes the batch's events (`ids`: request index → transaction id) and the new
    /// yearly totals.
    #[tracing::instrument(skip_all)]
    pub(super) async fn write(
        &self,
        tx: &mut Tx,
        ids: &HashMap<usize, i64>,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        if self.events.is_empty() {
            return Ok(());
        }
        let mut sql = Sql::new(
            "INSERT INTO tax_events (program_id, participant_id, transaction_id, year, month, income, tax, paid, bearer, created_at) VALUES ",
        );
        for (i, event) in self.events.iter().enumerate() {
            sql.push(if i > 0 { ", (" } else { "(" });
            sql.bind(event.program_id)
                .push(", ")
                .bind(event.participant_id)
                .push(", ")
                .bind(ids.get(&event.index).copied().unwrap_or_default())
                .push(", ")
                .bind(event.year)
                .push(", ")
                .bind(event.month)
                .push(", ")
                .bind(event.income)
                .push(", ")
                .bind(event.tax)
                .push(", ")
                .bind(event.paid)
                .push(", ")
                .bind(event.bearer.as_str())
                .push(", ")
                .bind(now)
                .push(")");
        }
        sql.query().execute(&mut **tx).await?;
        let mut sql = Sql::new(
            "INSERT INTO tax_years (participant_id, year, program_id, income, tax, paid) VALUES ",
        );
        for (i, ((participant, year), program)) in self.changed.iter().enumerate() {
            let totals = self
                .years
                .get(&(*participant, *year))
                .copied()
                .unwrap_or_default();
            sql.push(if i > 0 { ", (" } else { "(" });
            sql.bind(*participant)
                .push(", ")
                .bind(*year)
                .push(", ")
                .bind(*program)
                .push(", ")
                .bind(totals.income)
                .push(", ")
                .bind(totals.tax)
                .push(", ")
                .bind(totals.paid)
                .push(")");
        }
        // Absolute values: the batch holds the participants' account locks.
        sql.push(
            " ON CONFLICT (participant_id, year) DO UPDATE SET income = excluded.income, tax = excluded.tax, paid = excluded.paid",
        );
        sql.query().execute(&mut **tx).await?;
        Ok(())
    }
}

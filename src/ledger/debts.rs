//! Debts inside the batch commit: the part of committing that keeps a participant's
//! `debt` account.
//!
//! A recalculation may take back more than a participant can spend. The commit then
//! splits the loss: what their spendable points cover leaves their balance, the rest
//! is posted from their `debt` account (whose balance goes below zero by what they
//! owe). Any later income to them pays the debt off first: the commit appends a
//! movement from their balance to their debt, in the same transaction as the income,
//! so nothing reaches the available balance while a debt is open. Both happen under
//! the participant's account lock the batch holds.

use std::collections::BTreeSet;

use stimul_actors::ledger::{AccountKey, Movement, Purpose};
use stimul_actors::rules::points::Points;

/// Participants whose debt a request may grow: those a recalculation takes from.
pub(super) fn losers(movements: &[Movement]) -> impl Iterator<Item = i64> + '_ {
    movements.iter().filter_map(|m| match m.from {
        AccountKey::Participant(user) if m.purpose == Purpose::Recalculation => Some(user),
        _ => None,
    })
}

/// Participants a request credits income to (whose open debt that income pays off).
pub(super) fn earners(movements: &[Movement]) -> BTreeSet<i64> {
    movements
        .iter()
        .filter_map(|m| match m.to {
            AccountKey::Participant(user) if m.lifetime_effect(user) > 0 => Some(user),
            _ => None,
        })
        .collect()
}

/// `movements` with each recalculation loss split between the participant's balance
/// and their debt (`None` when the request takes nothing back): `spendable` answers what a participant may spend given their
/// balance once the request's other movements are applied (`balance_with`), so the
/// request's own gains count first and points due to expire are never taken.
pub(super) fn split_losses(
    movements: &[Movement],
    balance_with: impl Fn(i64, &[Movement]) -> i64,
    spendable: impl Fn(i64, i64) -> i64,
) -> Option<Vec<Movement>> {
    let is_loss = |m: &Movement| {
        m.purpose == Purpose::Recalculation && matches!(m.from, AccountKey::Participant(_))
    };
    if !movements.iter().any(is_loss) {
        return None;
    }
    let others: Vec<Movement> = movements.iter().filter(|m| !is_loss(m)).cloned().collect();
    let mut left: Vec<(i64, i64)> = Vec::new();
    let mut split = others.clone();
    for movement in movements.iter().filter(|m| is_loss(m)) {
        let AccountKey::Participant(user) = movement.from else {
            continue;
        };
        let available = match left.iter_mut().find(|(u, _)| *u == user) {
            Some((_, available)) => available,
            None => {
                left.push((user, spendable(user, balance_with(user, &others))));
                let last = left.len() - 1;
                &mut left[last].1
            }
        };
        let amount = movement.amount.hundredths();
        let taken = amount.min(*available).max(0);
        *available -= taken;
        if taken > 0 {
            split.push(Movement {
                amount: Points::from_hundredths(taken),
                ..movement.clone()
            });
        }
        if amount > taken {
            split.push(Movement {
                from: AccountKey::Debt(user),
                amount: Points::from_hundredths(amount - taken),
                ..movement.clone()
            });
        }
    }
    Some(split)
}

/// What a request's income pays off: for every participant it credits income to who
/// owes (`owed`, after the request), a movement from their balance to their debt of
/// the income, the debt and what they may spend (`spendable`), whichever is least.
pub(super) fn repayments(
    movements: &[Movement],
    owed: impl Fn(i64) -> i64,
    spendable: impl Fn(i64) -> i64,
) -> Vec<Movement> {
    earners(movements)
        .into_iter()
        .filter_map(|user| {
            let income: i64 = movements
                .iter()
                .filter(|m| m.to == AccountKey::Participant(user))
                .map(|m| m.lifetime_effect(user).max(0))
                .sum();
            let repaid = income.min(owed(user)).min(spendable(user));
            (repaid > 0).then(|| Movement {
                from: AccountKey::Participant(user),
                to: AccountKey::Debt(user),
                amount: Points::from_hundredths(repaid),
                purpose: Purpose::DebtRepayment,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn movement(from: AccountKey, to: AccountKey, amount: i64, purpose: Purpose) -> Movement {
        Movement {
            from,
            to,
            amount: Points::from_hundredths(amount),
            purpose,
        }
    }

    #[test]
    fn a_loss_beyond_the_balance_becomes_debt() {
        let loss = movement(
            AccountKey::Participant(7),
            AccountKey::Issued,
            1_000,
            Purpose::Recalculation,
        );
        let split = split_losses(&[loss], |_, _| 300, |_, balance| balance).expect("a loss");
        assert_eq!(
            split,
            vec![
                movement(
                    AccountKey::Participant(7),
                    AccountKey::Issued,
                    300,
                    Purpose::Recalculation
                ),
                movement(
                    AccountKey::Debt(7),
                    AccountKey::Issued,
                    700,
                    Purpose::Recalculation
                ),
            ]
        );
        // The debt's movement takes back income as the balance's does.
        assert_eq!(
            split.iter().map(|m| m.lifetime_effect(7)).sum::<i64>(),
            -1_000
        );
    }

    #[test]
    fn gains_of_the_same_request_count_before_the_loss() {
        let gain = movement(
            AccountKey::CampaignFund(1),
            AccountKey::Participant(7),
            400,
            Purpose::Recalculation,
        );
        let loss = movement(
            AccountKey::Participant(7),
            AccountKey::CampaignFund(2),
            500,
            Purpose::Recalculation,
        );
        let balance_with = |_, others: &[Movement]| others.len() as i64 * 400;
        let split = split_losses(&[gain.clone(), loss], balance_with, |_, b| b).expect("a loss");
        assert!(split_losses(std::slice::from_ref(&gain), balance_with, |_, b| b).is_none());
        assert_eq!(split[0], gain);
        assert_eq!(split[1].amount.hundredths(), 400);
        assert_eq!(split[2].from, AccountKey::Debt(7));
        assert_eq!(split[2].amount.hundredths(), 100);
    }

    #[test]
    fn income_pays_the_debt_first_and_no_more_than_owed() {
        let income = movement(
            AccountKey::Issued,
            AccountKey::Participant(7),
            1_000,
            Purpose::Earning,
        );
        let repaid = repayments(std::slice::from_ref(&income), |_| 250, |_| 5_000);
        assert_eq!(
            repaid,
            vec![movement(
                AccountKey::Participant(7),
                AccountKey::Debt(7),
                250,
                Purpose::DebtRepayment
            )]
        );
        let repaid = repayments(std::slice::from_ref(&income), |_| 5_000, |_| 5_000);
        assert_eq!(repaid[0].amount.hundredths(), 1_000);
        // A refund is not income: it pays nothing off.
        let refund = movement(
            AccountKey::OrderHold(7),
            AccountKey::Participant(7),
            1_000,
            Purpose::Refund,
        );
        assert!(repayments(&[refund], |_| 5_000, |_| 5_000).is_empty());
        // Nothing owed, nothing moves.
        assert!(repayments(&[income], |_| 0, |_| 5_000).is_empty());
    }
}

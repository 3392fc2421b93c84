//! Retroactive recalculation: what a changed rule would have paid for earnings already
//! paid, and the compensating movements that settle the difference.
//!
//! An earning records the terms it was paid on (its base points and the level
//! multiplier); a rule changes one of them for a past period: a campaign's points per
//! unit of a product, a level's multiplier, or a task's points. Each earning is priced
//! again with the platform's one rounding rule, the store owner's share is scaled by
//! the same factor (so the share keeps the rate it was paid at), and the differences
//! are summed per participant into one compensating transaction: gains first, then
//! losses, each against the account that paid the earning (the campaign's fund or the
//! program's `issued` account).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ledger::{AccountKey, Movement, Purpose};
use crate::rules::points::Points;

crate::stored_enum! {
    /// Where a confirmed recalculation stands.
    pub enum RecalculationStatus {
        /// Compensations are still being posted.
        Posting = "posting",
        Finished = "finished",
    }
}

/// The largest multiplier a level may be recalculated to: a typo guard.
pub const MAX_MULTIPLIER: u32 = 100;

/// The rule a recalculation applies to a past period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecalculationRule {
    /// A campaign paid `points_per_unit` for each unit of a product (codes and
    /// receipts of it).
    CampaignProduct {
        campaign_id: i64,
        product_id: i64,
        points_per_unit: Points,
    },
    /// Earnings credited at a level (0 for the first) are multiplied by `multiplier`.
    LevelMultiplier { level: i64, multiplier: Decimal },
    /// A task paid `points` per completion.
    TaskPoints { task_id: i64, points: Points },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("points must not be negative")]
    NegativePoints,
    #[error("the multiplier must be above 0 and at most {MAX_MULTIPLIER}")]
    MultiplierOutOfRange,
}

impl RecalculationRule {
    /// The rule's own values in range.
    pub fn check(&self) -> Result<(), RuleError> {
        match self {
            RecalculationRule::CampaignProduct {
                points_per_unit: points,
                ..
            }
            | RecalculationRule::TaskPoints { points, .. } => {
                if points.hundredths() < 0 {
                    return Err(RuleError::NegativePoints);
                }
            }
            RecalculationRule::LevelMultiplier { multiplier, .. } => {
                if *multiplier <= Decimal::ZERO || *multiplier > Decimal::from(MAX_MULTIPLIER) {
                    return Err(RuleError::MultiplierOutOfRange);
                }
            }
        }
        Ok(())
    }

    /// What `earning` pays under this rule: the participant's credit and the owner's
    /// share, in hundredths. `None` when the amounts overflow.
    pub fn reprice(&self, earning: &PaidEarning) -> Option<Repriced> {
        let (base, multiplier) = match self {
            RecalculationRule::CampaignProduct {
                points_per_unit, ..
            } => (
                points_per_unit.apply_rate(Decimal::from(earning.units?))?,
                earning.multiplier,
            ),
            RecalculationRule::LevelMultiplier { multiplier, .. } => (earning.base, *multiplier),
            RecalculationRule::TaskPoints { points, .. } => (*points, earning.multiplier),
        };
        let credit = base.apply_rate(multiplier)?.hundredths();
        Some(Repriced {
            base,
            multiplier,
            credit,
            owner_share: scaled_share(earning.owner_paid, earning.paid, credit)?,
        })
    }
}

/// The owner's share scaled with the credit it was paid on: `share × credit / paid`,
/// rounded half away from zero like every amount.
fn scaled_share(share: i64, paid: i64, credit: i64) -> Option<i64> {
    if share == 0 || paid <= 0 {
        return Some(0);
    }
    let numerator = i128::from(share).checked_mul(i128::from(credit))?;
    let denominator = i128::from(paid);
    let rounded = (2 * numerator + denominator) / (2 * denominator);
    i64::try_from(rounded).ok()
}

/// An earning as paid: its terms and what it credited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidEarning {
    pub transaction_id: i64,
    pub participant_id: i64,
    pub store_id: Option<i64>,
    pub campaign_id: Option<i64>,
    /// The account that paid it (a campaign's fund or the program's `issued`).
    pub paid_from: AccountKey,
    /// Its terms: as recorded when paid, or as an earlier recalculation set them.
    pub base: Points,
    pub multiplier: Decimal,
    /// Units of the product it paid for, when it paid for a product.
    pub units: Option<i64>,
    /// What it credited the participant, after any earlier recalculation.
    pub paid: i64,
    /// The store owner who got a share of it, and the share after any earlier
    /// recalculation.
    pub owner_id: Option<i64>,
    pub owner_paid: i64,
}

/// What an earning pays under a new rule, and the terms it is paid on from now (a
/// later recalculation of another kind starts from them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repriced {
    pub base: Points,
    pub multiplier: Decimal,
    pub credit: i64,
    pub owner_share: i64,
}

/// One participant's compensation: the differences of their earnings summed, and the
/// movements that post them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compensation {
    pub participant_id: i64,
    /// Their store at their latest recalculated earning.
    pub store_id: Option<i64>,
    /// The campaign, when all their recalculated earnings were of one.
    pub campaign_id: Option<i64>,
    /// What they gain (positive) or lose, in hundredths.
    pub difference: i64,
    /// What their store owners gain or lose with it.
    pub owner_difference: i64,
    pub movements: Vec<Movement>,
}

/// The compensations for `repriced` earnings, one per participant whose earnings
/// change, in participant order. Gains are posted before losses, so a participant who
/// gains from one fund and loses to another pays the loss from the gain.
pub fn compensations(repriced: &[(PaidEarning, Repriced)]) -> Vec<Compensation> {
    #[derive(Default)]
    struct Sums {
        store_id: Option<i64>,
        campaigns: Vec<Option<i64>>,
        by_source: BTreeMap<AccountKey, i64>,
        owners: BTreeMap<(AccountKey, i64), i64>,
    }
    let mut sums: BTreeMap<i64, Sums> = BTreeMap::new();
    for (earning, new) in repriced {
        let participant = sums.entry(earning.participant_id).or_default();
        participant.store_id = earning.store_id;
        if !participant.campaigns.contains(&earning.campaign_id) {
            participant.campaigns.push(earning.campaign_id);
        }
        *participant.by_source.entry(earning.paid_from).or_default() += new.credit - earning.paid;
        if let Some(owner) = earning.owner_id {
            *participant
                .owners
                .entry((earning.paid_from, owner))
                .or_default() += new.owner_share - earning.owner_paid;
        }
    }
    sums.into_iter()
        .filter_map(|(participant_id, sums)| {
            let mut changes: Vec<(AccountKey, AccountKey, i64)> = sums
                .by_source
                .iter()
                .map(|(source, amount)| (*source, AccountKey::Participant(participant_id), *amount))
                .chain(sums.owners.iter().map(|((source, owner), amount)| {
                    (*source, AccountKey::Participant(*owner), *amount)
                }))
                .filter(|(_, _, amount)| *amount != 0)
                .collect();
            if changes.is_empty() {
                return None;
            }
            // Gains first, then losses; stable within each.
            changes.sort_by_key(|(_, _, amount)| *amount < 0);
            let movements = changes
                .iter()
                .map(|(source, account, amount)| {
                    let (from, to) = if *amount > 0 {
                        (*source, *account)
                    } else {
                        (*account, *source)
                    };
                    Movement {
                        from,
                        to,
                        amount: Points::from_hundredths(amount.abs()),
                        purpose: Purpose::Recalculation,
                    }
                })
                .collect();
            Some(Compensation {
                participant_id,
                store_id: sums.store_id,
                campaign_id: match sums.campaigns.as_slice() {
                    [only] => *only,
                    _ => None,
                },
                difference: sums.by_source.values().sum(),
                owner_difference: sums.owners.values().sum(),
                movements,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(text: &str) -> Points {
        Points::parse(text).expect("points")
    }

    fn earning(id: i64, participant: i64, paid: i64, owner_paid: i64) -> PaidEarning {
        PaidEarning {
            transaction_id: id,
            participant_id: participant,
            store_id: Some(3),
            campaign_id: Some(9),
            paid_from: AccountKey::CampaignFund(9),
            base: points("10.00"),
            multiplier: Decimal::new(11, 1),
            units: Some(4),
            paid,
            owner_id: Some(50),
            owner_paid,
        }
    }

    #[test]
    fn a_product_is_repriced_by_its_units_and_the_multiplier_paid() {
        let rule = RecalculationRule::CampaignProduct {
            campaign_id: 9,
            product_id: 1,
            points_per_unit: points("3.00"),
        };
        // 4 units × 3.00 = 12.00 base, × 1.1 = 13.20; the 5 % share scales with it.
        let new = rule.reprice(&earning(1, 7, 1_100, 55)).expect("priced");
        assert_eq!(
            (new.base, new.credit, new.owner_share),
            (points("12.00"), 1_320, 66)
        );
    }

    #[test]
    fn a_level_multiplier_keeps_the_base() {
        let rule = RecalculationRule::LevelMultiplier {
            level: 1,
            multiplier: Decimal::new(125, 2),
        };
        let new = rule.reprice(&earning(1, 7, 1_100, 0)).expect("priced");
        assert_eq!(
            (new.base, new.multiplier, new.credit, new.owner_share),
            (points("10.00"), Decimal::new(125, 2), 1_250, 0)
        );
    }

    #[test]
    fn checks_refuse_nonsense() {
        let zero = RecalculationRule::LevelMultiplier {
            level: 0,
            multiplier: Decimal::ZERO,
        };
        assert_eq!(zero.check(), Err(RuleError::MultiplierOutOfRange));
        let negative = RecalculationRule::TaskPoints {
            task_id: 1,
            points: points("-1.00"),
        };
        assert_eq!(negative.check(), Err(RuleError::NegativePoints));
        let free = RecalculationRule::TaskPoints {
            task_id: 1,
            points: points("0"),
        };
        assert_eq!(free.check(), Ok(()));
    }

    #[test]
    fn shares_round_half_away_from_zero() {
        assert_eq!(scaled_share(5, 100, 130), Some(7)); // 6.5 → 7
        assert_eq!(scaled_share(5, 100, 10), Some(1)); // 0.5 → 1
        assert_eq!(scaled_share(0, 100, 130), Some(0));
    }

    #[test]
    fn one_compensation_per_participant_gains_before_losses() {
        let mut other_fund = earning(3, 7, 1_000, 0);
        other_fund.paid_from = AccountKey::Issued;
        other_fund.campaign_id = None;
        other_fund.owner_id = None;
        let priced = |credit, owner_share| Repriced {
            base: points("10.00"),
            multiplier: Decimal::ONE,
            credit,
            owner_share,
        };
        let repriced = vec![
            (earning(1, 7, 1_100, 55), priced(1_320, 66)),
            (earning(2, 7, 1_100, 55), priced(1_320, 66)),
            (other_fund, priced(400, 0)),
            (earning(4, 8, 1_100, 55), priced(1_100, 55)),
        ];
        let compensations = compensations(&repriced);
        // Participant 8's earning pays the same: no compensation.
        assert_eq!(compensations.len(), 1);
        let seven = &compensations[0];
        assert_eq!(seven.difference, 440 - 600);
        assert_eq!(seven.owner_difference, 22);
        assert_eq!(seven.campaign_id, None);
        let moves: Vec<(AccountKey, AccountKey, i64)> = seven
            .movements
            .iter()
            .map(|m| (m.from, m.to, m.amount.hundredths()))
            .collect();
        assert_eq!(
            moves,
            vec![
                (AccountKey::CampaignFund(9), AccountKey::Participant(7), 440),
                (AccountKey::CampaignFund(9), AccountKey::Participant(50), 22),
                (AccountKey::Participant(7), AccountKey::Issued, 600),
            ]
        );
        // Every movement is the recalculation's, so the ledger counts them as earned.
        assert!(
            seven
                .movements
                .iter()
                .all(|m| m.purpose == Purpose::Recalculation)
        );
    }
}

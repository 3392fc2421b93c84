//! The program as tax agent: bonus income is taxable, and the organiser owes the tax
//! office each person's yearly figures.
//!
//! A program's [`TaxRule`] says when income arises (when points are credited, or when
//! they are redeemed for a reward or paid out), the yearly tax-free amount, the rate
//! scale over what is above it, and who bears the tax: the participant (withheld from
//! their points when the income arises) or the organiser (paid on top, grossed up,
//! because tax paid for a person is itself their income).
//!
//! Tax is computed on the year's running total, never on an event alone: the tax of an
//! event is the tax of the total after it less the tax of the total before, so a year's
//! events always add up to exactly the tax of the year's income, whatever their order
//! or size, and the exemption and bracket edges fall where they should. Amounts are
//! points (1 point = 1 rouble); each event's tax is rounded to the kopeck by the one
//! rounding rule of [`Points::apply_percent`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::points::{Percent, Points};

crate::stored_enum! {
    /// When bonus income arises for tax.
    pub enum TaxMoment {
        /// When points are credited as income (earnings, awards, released holds).
        Accrual = "accrual",
        /// When points are spent on a reward or paid out (the reward is the income).
        Redemption = "redemption",
    }
}

crate::stored_enum! {
    /// Who bears the tax.
    pub enum TaxBearer {
        /// Withheld from the participant's points when the income arises.
        Participant = "participant",
        /// Paid by the organiser on top of the reward (grossed up).
        Organiser = "organiser",
    }
}

/// One step of the scale: `rate` percent of the taxable income above `above` (income
/// over the exemption), up to the next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaxBracket {
    #[schema(value_type = String)]
    pub above: Points,
    #[schema(value_type = String)]
    pub rate: Percent,
}

/// A program's tax settings. Stored with the program as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaxRule {
    /// Off by default: nothing is recorded or withheld.
    pub enabled: bool,
    pub moment: TaxMoment,
    pub bearer: TaxBearer,
    /// Income a person receives tax-free each calendar year.
    #[schema(value_type = String)]
    pub exemption: Points,
    /// The scale, lowest step first; the first step is `above: "0"`.
    pub scale: Vec<TaxBracket>,
}

impl Default for TaxRule {
    /// Prizes in advertising campaigns in Russia: 35 % above 4,000 roubles a year,
    /// withheld at redemption; off until a program turns it on.
    fn default() -> Self {
        TaxRule {
            enabled: false,
            moment: TaxMoment::Redemption,
            bearer: TaxBearer::Participant,
            exemption: Points::from_hundredths(400_000),
            scale: vec![TaxBracket {
                above: Points::ZERO,
                rate: Percent::whole(35),
            }],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxRuleError {
    #[error("the scale needs at least one step, the first above 0")]
    FirstStep,
    #[error("each step must start above the one before it")]
    Order,
    #[error("a rate is at most 99 percent (grossing up needs a rate below 100)")]
    Rate,
    #[error("the exemption must not be negative")]
    Exemption,
}

/// The tax an event bears, and the income it records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTax {
    /// Income recorded for the year: the event's own, plus the tax for an organiser
    /// who bears it (grossed up).
    pub income: Points,
    pub tax: Points,
}

impl TaxRule {
    pub fn check(&self) -> Result<(), TaxRuleError> {
        if self.exemption.is_negative() {
            return Err(TaxRuleError::Exemption);
        }
        match self.scale.first() {
            Some(first) if first.above == Points::ZERO => {}
            _ => return Err(TaxRuleError::FirstStep),
        }
        if self.scale.windows(2).any(|w| w[1].above <= w[0].above) {
            return Err(TaxRuleError::Order);
        }
        let ceiling = Percent::whole(99);
        if self.scale.iter().any(|step| step.rate > ceiling) {
            return Err(TaxRuleError::Rate);
        }
        Ok(())
    }

    /// The tax of a year's whole income `total`. Saturates rather than failing: an
    /// amount near `i64::MAX` hundredths is not a bonus.
    pub fn tax_of(&self, total: Points) -> Points {
        let taxable = total.hundredths() - self.exemption.hundredths();
        if taxable <= 0 {
            return Points::ZERO;
        }
        let mut tax = Points::ZERO;
        for (i, step) in self.scale.iter().enumerate() {
            let from = step.above.hundredths();
            if taxable <= from {
                break;
            }
            let to = self
                .scale
                .get(i + 1)
                .map_or(taxable, |next| next.above.hundredths().min(taxable));
            let part = Points::from_hundredths(to - from)
                .apply_percent(step.rate)
                .unwrap_or(Points::ZERO);
            tax = tax.checked_add(part).unwrap_or(tax);
        }
        tax
    }

    /// The tax of an event of `income` when the year's recorded income before it is
    /// `before`, for whoever bears it.
    pub fn event(&self, before: Points, income: Points) -> EventTax {
        if !income.is_positive() {
            return EventTax {
                income: Points::ZERO,
                tax: Points::ZERO,
            };
        }
        match self.bearer {
            TaxBearer::Participant => EventTax {
                income,
                tax: self.increase(before, income),
            },
            TaxBearer::Organiser => self.grossed_up(before, income),
        }
    }

    /// The tax the year's total gains from `before` to `before + income`.
    fn increase(&self, before: Points, income: Points) -> Points {
        let after = before.checked_add(income).unwrap_or(before);
        let tax = self.tax_of(after).hundredths() - self.tax_of(before).hundredths();
        Points::from_hundredths(tax.max(0))
    }

    /// The smallest gross income whose tax leaves the person `net`: the organiser pays
    /// the tax, and that payment is income too. Found by bisection over hundredths
    /// (the net of a gross never falls as the gross grows, rates being below 100 %).
    fn grossed_up(&self, before: Points, net: Points) -> EventTax {
        let net_of = |gross: i64| {
            gross
                - self
                    .increase(before, Points::from_hundredths(gross))
                    .hundredths()
        };
        let (mut low, mut high) = (net.hundredths(), net.hundredths().saturating_mul(100));
        while low < high {
            let middle = low + (high - low) / 2;
            if net_of(middle) >= net.hundredths() {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        let gross = Points::from_hundredths(low);
        EventTax {
            income: gross,
            tax: self.increase(before, gross),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(text: &str) -> Points {
        Points::parse(text).expect("points")
    }

    fn prize_rule(bearer: TaxBearer) -> TaxRule {
        TaxRule {
            enabled: true,
            bearer,
            ..TaxRule::default()
        }
    }

    #[test]
    fn the_prize_rule_taxes_35_percent_above_4000_a_year() {
        let rule = prize_rule(TaxBearer::Participant);
        assert_eq!(rule.check(), Ok(()));
        assert_eq!(rule.tax_of(points("4000")), Points::ZERO);
        assert_eq!(rule.tax_of(points("5000")), points("350"));
        // 3,000 is under the exemption; the next 2,000 crosses it: 35 % of 1,000.
        assert_eq!(rule.event(Points::ZERO, points("3000")).tax, Points::ZERO);
        assert_eq!(
            rule.event(points("3000"), points("2000")).tax,
            points("350")
        );
        assert_eq!(rule.event(points("5000"), points("0.01")).tax, Points::ZERO);
        assert_eq!(
            rule.event(points("5000"), points("0.02")).tax,
            points("0.01")
        );
    }

    #[test]
    fn a_years_events_add_up_to_the_tax_of_its_income_in_any_order() {
        let rule = prize_rule(TaxBearer::Participant);
        let events = [
            "1999.99", "0.03", "2500", "13.33", "777.77", "0.01", "1200.50",
        ];
        let mut before = Points::ZERO;
        let mut tax = Points::ZERO;
        for amount in events {
            let event = rule.event(before, points(amount));
            before = before.checked_add(event.income).expect("sum");
            tax = tax.checked_add(event.tax).expect("sum");
        }
        assert_eq!(tax, rule.tax_of(before));
    }

    #[test]
    fn a_progressive_scale_taxes_each_step_at_its_rate() {
        let rule = TaxRule {
            enabled: true,
            moment: TaxMoment::Accrual,
            bearer: TaxBearer::Participant,
            exemption: Points::ZERO,
            scale: vec![
                TaxBracket {
                    above: Points::ZERO,
                    rate: Percent::parse("13").expect("rate"),
                },
                TaxBracket {
                    above: points("2400000"),
                    rate: Percent::parse("15").expect("rate"),
                },
            ],
        };
        assert_eq!(rule.check(), Ok(()));
        assert_eq!(rule.tax_of(points("1000")), points("130"));
        assert_eq!(rule.tax_of(points("2500000")), points("327000"));
    }

    #[test]
    fn an_organiser_grosses_up_so_the_person_keeps_the_whole_reward() {
        let rule = prize_rule(TaxBearer::Organiser);
        // Past the exemption, 650 net is 1,000 gross at 35 %.
        let event = rule.event(points("4000"), points("650"));
        assert_eq!(
            event,
            EventTax {
                income: points("1000"),
                tax: points("350")
            }
        );
        assert_eq!(
            event.income.checked_sub(event.tax),
            Some(points("650")),
            "the person keeps exactly the reward"
        );
        // Under the exemption nothing is grossed up.
        assert_eq!(
            rule.event(Points::ZERO, points("100")),
            EventTax {
                income: points("100"),
                tax: Points::ZERO
            }
        );
    }

    #[test]
    fn bad_scales_are_refused() {
        let mut rule = TaxRule::default();
        rule.scale.clear();
        assert_eq!(rule.check(), Err(TaxRuleError::FirstStep));
        let mut rule = TaxRule::default();
        rule.scale.push(TaxBracket {
            above: Points::ZERO,
            rate: Percent::parse("13").expect("rate"),
        });
        assert_eq!(rule.check(), Err(TaxRuleError::Order));
        let mut rule = TaxRule::default();
        rule.scale[0].rate = Percent::parse("100").expect("rate");
        assert_eq!(rule.check(), Err(TaxRuleError::Rate));
    }
}

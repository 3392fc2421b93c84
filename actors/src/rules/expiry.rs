//! Points expire by lots: every credit to a participant's available points is a lot with
//! the expiry date its program's rule gave it when it was credited; spending takes the
//! lots that expire first, and what is left of a lot on its date expires.
//!
//! Dates are local to the program: "90 days" ends at the local midnight after the 90th
//! day, "the end of the next quarter" at local midnight on the first day of the quarter
//! after it, so a seller in Vladivostok and one in Kaliningrad lose points at their own
//! midnight. A rule change applies to lots credited after it; a lot keeps its date.

use std::fmt;

use chrono::{Datelike, Days, Months, NaiveDate};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::windows::{WindowError, start_of_local_day};

/// The calendar periods a rule can end at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryPeriod {
    Month,
    Quarter,
    Year,
}

impl ExpiryPeriod {
    fn months(self) -> u32 {
        match self {
            ExpiryPeriod::Month => 1,
            ExpiryPeriod::Quarter => 3,
            ExpiryPeriod::Year => 12,
        }
    }

    /// The first day of the period containing `day`.
    fn first_day(self, day: NaiveDate) -> Option<NaiveDate> {
        let month0 = day.month0() / self.months() * self.months();
        NaiveDate::from_ymd_opt(day.year(), month0 + 1, 1)
    }
}

/// When credited points expire. Stored with the program as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExpiryRule {
    /// Points never expire (the default).
    #[default]
    Never,
    /// At the end of the `days`-th local day after the day of the credit.
    AfterDays { days: u32 },
    /// At the end of the period of the credit, `then` periods later: `then: 0` is the
    /// end of the credit's own month (quarter, year), `then: 1` the end of the next one.
    EndOfPeriod { period: ExpiryPeriod, then: u32 },
}

crate::stored_enum! {
    /// Where a run of the expiry job stands.
    pub enum RunStatus {
        /// Pages are still to expire.
        Running = "running",
        Finished = "finished",
    }
}

/// Limits that keep a typo from meaning "in a thousand years".
pub const MAX_DAYS: u32 = 3_660;
pub const MAX_PERIODS: u32 = 10;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryRuleError {
    #[error("days must be 1 to {MAX_DAYS}")]
    Days,
    #[error("then must be 0 to {MAX_PERIODS}")]
    Periods,
}

impl ExpiryRule {
    pub fn check(&self) -> Result<(), ExpiryRuleError> {
        match *self {
            ExpiryRule::Never => Ok(()),
            ExpiryRule::AfterDays { days } if (1..=MAX_DAYS).contains(&days) => Ok(()),
            ExpiryRule::AfterDays { .. } => Err(ExpiryRuleError::Days),
            ExpiryRule::EndOfPeriod { then, .. } if then <= MAX_PERIODS => Ok(()),
            ExpiryRule::EndOfPeriod { .. } => Err(ExpiryRuleError::Periods),
        }
    }

    /// When points credited at `credited_ms` expire (epoch ms, the first moment they
    /// are gone), or `None` if they never do.
    pub fn expires_at(&self, credited_ms: i64, tz: Tz) -> Result<Option<i64>, WindowError> {
        let day = chrono::DateTime::from_timestamp_millis(credited_ms)
            .ok_or(WindowError::OutOfRange)?
            .with_timezone(&tz)
            .date_naive();
        let first_day_gone = match *self {
            ExpiryRule::Never => return Ok(None),
            ExpiryRule::AfterDays { days } => day.checked_add_days(Days::new(u64::from(days) + 1)),
            ExpiryRule::EndOfPeriod { period, then } => period.first_day(day).and_then(|first| {
                first.checked_add_months(Months::new(period.months() * (then + 1)))
            }),
        }
        .ok_or(WindowError::OutOfRange)?;
        start_of_local_day(first_day_gone, tz).map(Some)
    }
}

impl fmt::Display for ExpiryRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpiryRule::Never => f.write_str("never"),
            ExpiryRule::AfterDays { days } => write!(f, "{days} days after the credit"),
            ExpiryRule::EndOfPeriod { period, then } => {
                let period = match period {
                    ExpiryPeriod::Month => "month",
                    ExpiryPeriod::Quarter => "quarter",
                    ExpiryPeriod::Year => "year",
                };
                write!(f, "at the end of the credit's {period}, {then} later")
            }
        }
    }
}

/// What is left of one credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lot {
    pub id: i64,
    /// Hundredths of a point still unspent and unexpired.
    pub remaining: i64,
    /// When it expires; `None`: never.
    pub expires_at: Option<i64>,
}

/// The order lots are spent in: the soonest to expire first, those that never expire
/// last, the older credit first among equals.
fn spending_order(lot: &Lot) -> (bool, i64, i64) {
    (
        lot.expires_at.is_none(),
        lot.expires_at.unwrap_or(i64::MAX),
        lot.id,
    )
}

/// How much a debit of `amount` hundredths takes from each lot, soonest to expire
/// first. Lots already due at `now` are skipped: they belong to the expiry run, and
/// spending them would let a debit outrun it. What the lots cannot cover is returned
/// as the shortfall (the ledger's balance check is what refuses an overdraft; a
/// shortfall here means older points that predate lots, which nothing needs to track).
pub fn spend(lots: &[Lot], amount: i64, now: i64) -> (Vec<(i64, i64)>, i64) {
    let mut order: Vec<&Lot> = lots
        .iter()
        .filter(|lot| lot.remaining > 0 && lot.expires_at.is_none_or(|at| at > now))
        .collect();
    order.sort_by_key(|lot| spending_order(lot));
    take_in_order(order, amount)
}

/// How much an expiry of `amount` hundredths takes from each lot due at `now`, the
/// soonest due first, and what they cannot cover.
pub fn expire(lots: &[Lot], amount: i64, now: i64) -> (Vec<(i64, i64)>, i64) {
    let mut order: Vec<&Lot> = lots
        .iter()
        .filter(|lot| lot.remaining > 0 && lot.expires_at.is_some_and(|at| at <= now))
        .collect();
    order.sort_by_key(|lot| spending_order(lot));
    take_in_order(order, amount)
}

/// Takes `amount` from `lots` in their order: (lot id, amount) per lot touched, and
/// what is left over.
fn take_in_order(lots: Vec<&Lot>, amount: i64) -> (Vec<(i64, i64)>, i64) {
    let mut left = amount.max(0);
    let mut taken = Vec::new();
    for lot in lots {
        if left == 0 {
            break;
        }
        let take = lot.remaining.min(left);
        taken.push((lot.id, take));
        left -= take;
    }
    (taken, left)
}

/// What is left of the lots due at `now`: points that are gone, though the expiry run
/// has not moved them yet, so no debit may spend them.
pub fn due_total(lots: &[Lot], now: i64) -> i64 {
    due(lots, now).iter().map(|(_, amount)| amount).sum()
}

/// The lots due at `now`: what is left of each expires.
pub fn due(lots: &[Lot], now: i64) -> Vec<(i64, i64)> {
    let mut due: Vec<(i64, i64)> = lots
        .iter()
        .filter(|lot| lot.remaining > 0 && lot.expires_at.is_some_and(|at| at <= now))
        .map(|lot| (lot.id, lot.remaining))
        .collect();
    due.sort_unstable();
    due
}

/// The next expiry after `now`: its moment and how much goes then (every lot of that
/// moment together), or `None` when nothing will expire.
pub fn next_expiry(lots: &[Lot], now: i64) -> Option<(i64, i64)> {
    let next = lots
        .iter()
        .filter(|lot| lot.remaining > 0)
        .filter_map(|lot| lot.expires_at)
        .filter(|&at| at > now)
        .min()?;
    let amount = lots
        .iter()
        .filter(|lot| lot.remaining > 0 && lot.expires_at == Some(next))
        .map(|lot| lot.remaining)
        .sum();
    Some((next, amount))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::{Asia::Vladivostok, Europe::Moscow};

    fn at(tz: Tz, y: i32, m: u32, d: u32, h: u32) -> i64 {
        tz.with_ymd_and_hms(y, m, d, h, 0, 0)
            .single()
            .expect("a moment")
            .timestamp_millis()
    }

    #[test]
    fn never_is_the_default_and_never_expires() {
        assert_eq!(ExpiryRule::default(), ExpiryRule::Never);
        assert_eq!(
            ExpiryRule::Never.expires_at(at(Moscow, 2026, 1, 1, 12), Moscow),
            Ok(None)
        );
    }

    #[test]
    fn days_end_at_local_midnight_after_the_last_day() {
        let rule = ExpiryRule::AfterDays { days: 90 };
        // Credited 2026-01-10 at 23:00 Moscow: day 90 after it is 2026-04-10; gone at
        // 2026-04-11 00:00 Moscow.
        assert_eq!(
            rule.expires_at(at(Moscow, 2026, 1, 10, 23), Moscow),
            Ok(Some(at(Moscow, 2026, 4, 11, 0)))
        );
        // The same instant is already 2026-01-11 in Vladivostok.
        assert_eq!(
            rule.expires_at(at(Moscow, 2026, 1, 10, 23), Vladivostok),
            Ok(Some(at(Vladivostok, 2026, 4, 12, 0)))
        );
    }

    #[test]
    fn periods_end_at_the_start_of_the_period_after() {
        let credited = at(Moscow, 2026, 5, 20, 15);
        let end = |period, then| {
            ExpiryRule::EndOfPeriod { period, then }
                .expires_at(credited, Moscow)
                .expect("in range")
        };
        assert_eq!(end(ExpiryPeriod::Month, 0), Some(at(Moscow, 2026, 6, 1, 0)));
        assert_eq!(end(ExpiryPeriod::Month, 2), Some(at(Moscow, 2026, 8, 1, 0)));
        assert_eq!(
            end(ExpiryPeriod::Quarter, 0),
            Some(at(Moscow, 2026, 7, 1, 0))
        );
        assert_eq!(
            end(ExpiryPeriod::Quarter, 1),
            Some(at(Moscow, 2026, 10, 1, 0))
        );
        assert_eq!(end(ExpiryPeriod::Year, 1), Some(at(Moscow, 2028, 1, 1, 0)));
        // A December credit with "end of next month" crosses the year.
        let december = at(Moscow, 2026, 12, 31, 23);
        assert_eq!(
            ExpiryRule::EndOfPeriod {
                period: ExpiryPeriod::Month,
                then: 1
            }
            .expires_at(december, Moscow),
            Ok(Some(at(Moscow, 2027, 2, 1, 0)))
        );
    }

    #[test]
    fn rules_are_checked_and_read_from_json() {
        assert_eq!(
            ExpiryRule::AfterDays { days: 0 }.check(),
            Err(ExpiryRuleError::Days)
        );
        assert_eq!(
            ExpiryRule::EndOfPeriod {
                period: ExpiryPeriod::Year,
                then: 11
            }
            .check(),
            Err(ExpiryRuleError::Periods)
        );
        let rule: ExpiryRule =
            serde_json::from_str(r#"{"kind":"end_of_period","period":"quarter","then":1}"#)
                .expect("json");
        assert_eq!(
            rule,
            ExpiryRule::EndOfPeriod {
                period: ExpiryPeriod::Quarter,
                then: 1
            }
        );
        assert_eq!(
            serde_json::to_string(&ExpiryRule::Never).expect("json"),
            r#"{"kind":"never"}"#
        );
    }

    fn lot(id: i64, remaining: i64, expires_at: Option<i64>) -> Lot {
        Lot {
            id,
            remaining,
            expires_at,
        }
    }

    #[test]
    fn spending_takes_the_soonest_to_expire_first_and_never_expiring_last() {
        let lots = [
            lot(1, 500, None),
            lot(2, 300, Some(2_000)),
            lot(3, 200, Some(1_000)),
            lot(4, 100, Some(1_000)),
        ];
        assert_eq!(spend(&lots, 250, 0), (vec![(3, 200), (4, 50)], 0));
        assert_eq!(
            spend(&lots, 1_000, 0),
            (vec![(3, 200), (4, 100), (2, 300), (1, 400)], 0)
        );
        assert_eq!(
            spend(&lots, 1_500, 0),
            (vec![(3, 200), (4, 100), (2, 300), (1, 500)], 400)
        );
        // Due lots are the expiry run's, not the debit's.
        assert_eq!(spend(&lots, 100, 1_000), (vec![(2, 100)], 0));
    }

    #[test]
    fn due_lots_and_the_next_expiry() {
        let lots = [
            lot(1, 500, None),
            lot(2, 300, Some(2_000)),
            lot(3, 0, Some(1_000)),
            lot(4, 100, Some(1_000)),
            lot(5, 50, Some(2_000)),
        ];
        assert_eq!(due(&lots, 999), vec![]);
        assert_eq!(due(&lots, 1_000), vec![(4, 100)]);
        assert_eq!(due(&lots, 5_000), vec![(2, 300), (4, 100), (5, 50)]);
        assert_eq!(next_expiry(&lots, 0), Some((1_000, 100)));
        assert_eq!(next_expiry(&lots, 1_000), Some((2_000, 350)));
        assert_eq!(next_expiry(&lots, 2_000), None);
    }

    #[test]
    fn an_expiry_takes_only_due_lots_soonest_first() {
        let lots = [
            lot(1, 500, None),
            lot(2, 300, Some(2_000)),
            lot(3, 200, Some(1_000)),
            lot(4, 100, Some(1_500)),
        ];
        assert_eq!(expire(&lots, 250, 1_500), (vec![(3, 200), (4, 50)], 0));
        assert_eq!(expire(&lots, 400, 1_500), (vec![(3, 200), (4, 100)], 100));
        assert_eq!(expire(&lots, 100, 999), (vec![], 100));
        assert_eq!(due_total(&lots, 2_000), 600);
    }
}

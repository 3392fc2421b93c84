//! How quests add their tasks up (a chain in order, a set in any order:
//! [`steps_done`]) and how streaks run and pay ([`streak_bonus_due`]).

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike};
use chrono_tz::Tz;

use super::schedule::Recurrence;
use crate::rules::windows::WindowError;

crate::stored_enum! {
    /// How a quest adds its tasks up.
    pub enum QuestKind {
        /// Every task, in order.
        Chain = "chain",
        /// Every task, in any order.
        Set = "set",
        /// Any of its tasks on consecutive days (or weeks).
        Streak = "streak",
    }
}

/// Steps of a chain or set done, given each step's completion times (any order).
pub fn steps_done(kind: QuestKind, steps: &[Vec<i64>]) -> usize {
    match kind {
        QuestKind::Set | QuestKind::Streak => steps.iter().filter(|s| !s.is_empty()).count(),
        QuestKind::Chain => {
            let mut since = i64::MIN;
            let mut done = 0;
            for times in steps {
                match times.iter().copied().filter(|&t| t >= since).min() {
                    Some(at) => {
                        since = at;
                        done += 1;
                    }
                    None => break,
                }
            }
            done
        }
    }
}

crate::stored_enum! {
    /// The unit of a streak.
    pub enum StreakUnit {
        Day = "day",
        Week = "week",
    }
}

impl StreakUnit {
    /// The consecutive number of the local day (or ISO week) containing `at_ms`:
    /// neighbouring periods differ by one, whatever their length in hours.
    pub fn index(self, at_ms: i64, tz: Tz) -> Result<i64, WindowError> {
        let date = DateTime::from_timestamp_millis(at_ms)
            .ok_or(WindowError::OutOfRange)?
            .with_timezone(&tz)
            .date_naive();
        let day = i64::from(date.num_days_from_ce());
        Ok(match self {
            StreakUnit::Day => day,
            // Day 1 of the common era was a Monday, so weeks split on Mondays.
            StreakUnit::Week => (day - 1).div_euclid(7),
        })
    }

    /// The schedule whose periods are this unit's (for period keys).
    pub fn recurrence(self) -> Recurrence {
        match self {
            StreakUnit::Day => Recurrence::Daily,
            StreakUnit::Week => Recurrence::Weekly,
        }
    }
}

/// The current run of consecutive active periods: ending at `current` when it is active,
/// else at the one before (a run is not broken until its next period has passed).
pub fn streak_run(active: &BTreeSet<i64>, current: i64) -> u32 {
    let mut at = if active.contains(&current) {
        current
    } else {
        current - 1
    };
    let mut run = 0;
    while active.contains(&at) {
        run += 1;
        at -= 1;
    }
    run
}

/// Whether the streak bonus is earned in `current`: it is active and the run ending in
/// it is a whole number of streaks (5, 10, 15 … days for a five-day streak).
pub fn streak_bonus_due(active: &BTreeSet<i64>, current: i64, length: u32) -> bool {
    let run = streak_run(active, current);
    length > 0 && active.contains(&current) && run > 0 && run.is_multiple_of(length)
}

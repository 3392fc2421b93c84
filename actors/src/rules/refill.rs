//! When a code pool is refilled and how a refill is split.
//!
//! A pool has a target size and a low watermark. It is topped up to the target
//! - during the nightly window (local time of the program, e.g. 01:00–05:00), when the
//!   database is quiet, whenever anything is missing;
//! - at any hour once it falls below the low watermark, because issuing must not stall;
//! - when someone asks (manual).
//!
//! A refill of `n` codes is split into shard quotas that add up to exactly `n`; each shard
//! draws from its own key space ([`super::codes::CodeShard`]).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveTime, Timelike};
use chrono_tz::Tz;

/// Why a refill was started; stored with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefillTrigger {
    /// The nightly window found the pool below its target.
    Schedule,
    /// The pool fell below its low watermark (or an order asked for more than it had).
    Watermark,
    /// Someone asked for it.
    Manual,
}

impl RefillTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            RefillTrigger::Schedule => "schedule",
            RefillTrigger::Watermark => "watermark",
            RefillTrigger::Manual => "manual",
        }
    }
}

impl FromStr for RefillTrigger {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "schedule" => Ok(RefillTrigger::Schedule),
            "watermark" => Ok(RefillTrigger::Watermark),
            "manual" => Ok(RefillTrigger::Manual),
            other => Err(format!("unknown refill trigger {other:?}")),
        }
    }
}

impl fmt::Display for RefillTrigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A daily span of local time, `[start, end)`; it may wrap past midnight (22:00–03:00).
/// `start == end` is an empty window: no scheduled refills at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NightlyWindow {
    start: NaiveTime,
    end: NaiveTime,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a time of day such as \"01:00\"")]
pub struct BadTimeOfDay(pub String);

impl NightlyWindow {
    pub fn new(start: NaiveTime, end: NaiveTime) -> Self {
        Self { start, end }
    }

    /// Parses `HH:MM` bounds, as written in the settings.
    pub fn parse(start: &str, end: &str) -> Result<Self, BadTimeOfDay> {
        let time = |s: &str| {
            NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| BadTimeOfDay(s.to_string()))
        };
        Ok(Self::new(time(start)?, time(end)?))
    }

    /// Whether the instant `at_ms` falls in the window on the program's local clock.
    pub fn contains(&self, at_ms: i64, timezone: Tz) -> bool {
        let Some(utc) = DateTime::from_timestamp_millis(at_ms) else {
            return false;
        };
        let local = utc.with_timezone(&timezone).time();
        // Whole seconds: a window bound is a minute, sub-second precision adds nothing.
        let local = local.with_nanosecond(0).unwrap_or(local);
        if self.start <= self.end {
            self.start <= local && local < self.end
        } else {
            local >= self.start || local < self.end
        }
    }
}

/// A pool's level as the supervisor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolLevel {
    /// Codes in the pool not promised to a batch.
    pub available: i64,
    pub target_size: i64,
    pub low_watermark: i64,
}

impl PoolLevel {
    /// Codes a refill started now would add.
    pub fn deficit(&self) -> i64 {
        (self.target_size - self.available).max(0)
    }
}

/// Whether a pool needs a refill now, and why. Below the watermark wins over the
/// schedule, so the reason recorded is the more urgent one.
pub fn refill_due(level: PoolLevel, in_nightly_window: bool) -> Option<RefillTrigger> {
    if level.deficit() == 0 {
        None
    } else if level.available < level.low_watermark {
        Some(RefillTrigger::Watermark)
    } else if in_nightly_window {
        Some(RefillTrigger::Schedule)
    } else {
        None
    }
}

/// The largest pool: 10^9 codes is 2.4 % of the code space, which keeps a guessed code's
/// odds of being live low (see [`super::codes`]) and a pool's index within reason.
pub const MAX_POOL_SIZE: i64 = 1_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolSizeError {
    #[error("the target size must be 1 to {MAX_POOL_SIZE}")]
    Target,
    #[error("the low watermark must be 0 to the target size")]
    Watermark,
}

/// Checks a pool's target size and low watermark (`0 ≤ watermark ≤ target`).
pub fn check_pool_sizes(target_size: i64, low_watermark: i64) -> Result<(), PoolSizeError> {
    if !(1..=MAX_POOL_SIZE).contains(&target_size) {
        Err(PoolSizeError::Target)
    } else if !(0..=target_size).contains(&low_watermark) {
        Err(PoolSizeError::Watermark)
    } else {
        Ok(())
    }
}

/// Splits `total` codes into `shards` quotas that differ by at most one and add up to
/// exactly `total` (the first `total mod shards` shards take one more).
pub fn split_quota(total: u64, shards: u64) -> Vec<u64> {
    if shards == 0 {
        return Vec::new();
    }
    let (each, rest) = (total / shards, total % shards);
    (0..shards).map(|i| each + u64::from(i < rest)).collect()
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};

    use super::*;

    fn at(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
        let local = NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|date| date.and_hms_opt(h, min, 0))
            .map(|naive| tz.from_local_datetime(&naive).earliest());
        match local {
            Some(Some(time)) => time.timestamp_millis(),
            _ => panic!("{y}-{m}-{d} {h}:{min} exists in {tz}"),
        }
    }

    fn window(start: &str, end: &str) -> NightlyWindow {
        match NightlyWindow::parse(start, end) {
            Ok(window) => window,
            Err(err) => panic!("{err}"),
        }
    }

    #[test]
    fn the_window_is_read_on_the_programs_clock() {
        let night = window("01:00", "05:00");
        let moscow = chrono_tz::Europe::Moscow;
        let vladivostok = chrono_tz::Asia::Vladivostok;
        // 02:00 in Moscow is 23:00 UTC the day before, and 09:00 in Vladivostok.
        let two_in_moscow = at(moscow, 2026, 3, 10, 2, 0);
        assert!(night.contains(two_in_moscow, moscow));
        assert!(!night.contains(two_in_moscow, vladivostok));
        assert!(!night.contains(two_in_moscow, chrono_tz::UTC));
        assert!(night.contains(at(vladivostok, 2026, 3, 10, 4, 59), vladivostok));
        // Half-open: the start is in, the end is out.
        assert!(night.contains(at(moscow, 2026, 3, 10, 1, 0), moscow));
        assert!(!night.contains(at(moscow, 2026, 3, 10, 5, 0), moscow));
        assert!(!night.contains(at(moscow, 2026, 3, 10, 0, 59), moscow));
    }

    #[test]
    fn a_window_may_wrap_past_midnight() {
        let night = window("22:30", "03:00");
        let berlin = chrono_tz::Europe::Berlin;
        for (h, m, inside) in [
            (22, 29, false),
            (22, 30, true),
            (23, 59, true),
            (0, 0, true),
            (2, 59, true),
            (3, 0, false),
            (12, 0, false),
        ] {
            let day = if h >= 12 { 9 } else { 10 };
            assert_eq!(
                night.contains(at(berlin, 2026, 6, day, h, m), berlin),
                inside,
                "{h}:{m}"
            );
        }
    }

    #[test]
    fn daylight_saving_moves_the_window_with_local_time() {
        // Berlin springs forward on 2026-03-29 at 02:00: 01:30 local is 00:30 UTC on
        // that day and 00:30 UTC was 01:30 local the day before too (CET both times),
        // but a day later 01:30 local is 23:30 UTC.
        let night = window("01:00", "05:00");
        let berlin = chrono_tz::Europe::Berlin;
        let after = at(berlin, 2026, 3, 30, 1, 30);
        assert!(night.contains(after, berlin));
        let utc_hour = chrono::DateTime::from_timestamp_millis(after).map(|t| t.hour());
        assert_eq!(utc_hour, Some(23), "summer time: 01:30 local is 23:30 UTC");
    }

    #[test]
    fn an_empty_window_never_opens_and_bad_times_are_refused() {
        let never = window("03:00", "03:00");
        let moscow = chrono_tz::Europe::Moscow;
        assert!(!never.contains(at(moscow, 2026, 1, 1, 3, 0), moscow));
        assert!(!never.contains(at(moscow, 2026, 1, 1, 15, 0), moscow));
        assert!(NightlyWindow::parse("25:00", "05:00").is_err());
        assert!(NightlyWindow::parse("1am", "05:00").is_err());
        assert!(NightlyWindow::parse(" 01:00", "05:00 ").is_ok());
    }

    #[test]
    fn refills_are_due_below_the_watermark_or_at_night() {
        let level = |available| PoolLevel {
            available,
            target_size: 1_000,
            low_watermark: 200,
        };
        assert_eq!(refill_due(level(1_000), true), None);
        assert_eq!(refill_due(level(1_200), true), None, "above target");
        assert_eq!(
            refill_due(level(500), false),
            None,
            "daytime, above watermark"
        );
        assert_eq!(refill_due(level(500), true), Some(RefillTrigger::Schedule));
        assert_eq!(
            refill_due(level(199), false),
            Some(RefillTrigger::Watermark)
        );
        assert_eq!(
            refill_due(level(0), true),
            Some(RefillTrigger::Watermark),
            "the urgent reason wins"
        );
        assert_eq!(level(199).deficit(), 801);
        assert_eq!(level(1_200).deficit(), 0);
    }

    #[test]
    fn quotas_add_up_to_exactly_the_total() {
        assert_eq!(split_quota(10, 3), vec![4, 3, 3]);
        assert_eq!(split_quota(2, 4), vec![1, 1, 0, 0]);
        assert_eq!(split_quota(7, 0), Vec::<u64>::new());
        for total in [0, 1, 999, 15_000_000, 15_000_001] {
            for shards in 1..=16 {
                let quotas = split_quota(total, shards);
                assert_eq!(quotas.len() as u64, shards);
                assert_eq!(quotas.iter().sum::<u64>(), total);
                let (min, max) = (quotas.iter().min(), quotas.iter().max());
                assert!(matches!((min, max), (Some(a), Some(b)) if b - a <= 1));
            }
        }
    }

    #[test]
    fn pool_sizes_are_checked() {
        assert_eq!(check_pool_sizes(15_000_000, 3_000_000), Ok(()));
        assert_eq!(check_pool_sizes(1, 0), Ok(()));
        assert_eq!(check_pool_sizes(10, 10), Ok(()));
        assert_eq!(check_pool_sizes(0, 0), Err(PoolSizeError::Target));
        assert_eq!(
            check_pool_sizes(MAX_POOL_SIZE + 1, 0),
            Err(PoolSizeError::Target)
        );
        assert_eq!(check_pool_sizes(10, 11), Err(PoolSizeError::Watermark));
        assert_eq!(check_pool_sizes(10, -1), Err(PoolSizeError::Watermark));
    }

    #[test]
    fn triggers_round_trip() {
        for trigger in [
            RefillTrigger::Schedule,
            RefillTrigger::Watermark,
            RefillTrigger::Manual,
        ] {
            assert_eq!(trigger.as_str().parse(), Ok(trigger));
        }
        assert!("nightly".parse::<RefillTrigger>().is_err());
    }
}

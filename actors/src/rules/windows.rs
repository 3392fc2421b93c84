//! Leaderboard time windows, cut at local midnight in the program's time zone.
//!
//! A seller in Vladivostok expects "today's rating" to restart at their midnight, which is
//! 14:00 UTC of the previous calendar day; a seller in Berlin lives through days of 23 and
//! 25 hours. So windows are computed on local calendar dates and converted to UTC
//! instants at the end, never by adding 24 hours to a UTC timestamp.
//!
//! Every bucket is half-open, `[start_ms, end_ms)` in epoch milliseconds, and consecutive
//! buckets tile time exactly: a bucket's `end_ms` is the next bucket's `start_ms` and the
//! moment the board resets.
//!
//! - `Day`: local midnight to the next local midnight.
//! - `Week`: ISO week, Monday 00:00 local to the next Monday 00:00 local.
//! - `Month`: the 1st 00:00 local to the next month's 1st 00:00 local.
//! - `Campaign`: the campaign's own `[start, end)`; it has exactly one bucket.
//!
//! Where a zone skips midnight itself (a daylight-saving jump at 00:00, as in Chile or
//! Cuba), the local day starts at the first instant that exists on that date, e.g. 01:00.
//! Where midnight happens twice, the day starts at the first one.

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Days, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The period a leaderboard covers before it starts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    Campaign,
    Day,
    Week,
    Month,
}

/// A half-open span of time `[start_ms, end_ms)` in epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WindowBucket {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl WindowBucket {
    pub fn contains(&self, at_ms: i64) -> bool {
        self.start_ms <= at_ms && at_ms < self.end_ms
    }

    pub fn duration_ms(&self) -> i64 {
        self.end_ms.saturating_sub(self.start_ms)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// A campaign window was asked about a moment before the campaign's start or at or
    /// after its end; such a moment belongs to no bucket of that board.
    #[error("the moment is outside the campaign")]
    OutsideCampaign,
    /// The moment (or its bucket's edge) is beyond the calendar's range (about ±262,000
    /// years); only garbage input gets here.
    #[error("the moment is outside the supported calendar range")]
    OutOfRange,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown window {0:?}; expected one of campaign, day, week, month")]
pub struct UnknownWindow(pub String);

impl Window {
    pub const ALL: [Window; 4] = [Window::Campaign, Window::Day, Window::Week, Window::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            Window::Campaign => "campaign",
            Window::Day => "day",
            Window::Week => "week",
            Window::Month => "month",
        }
    }

    /// The bucket of this window that contains `at_ms`, in zone `tz`. `campaign` is the
    /// campaign's span: the `Campaign` window's only bucket, ignored by the calendar
    /// windows (scores only arrive while a campaign runs, so a day board need not be
    /// clipped to it).
    pub fn bucket(
        self,
        at_ms: i64,
        tz: Tz,
        campaign: WindowBucket,
    ) -> Result<WindowBucket, WindowError> {
        let (first_day, next_first_day) = match self {
            Window::Campaign => {
                return if campaign.contains(at_ms) {
                    Ok(campaign)
                } else {
                    Err(WindowError::OutsideCampaign)
                };
            }
            Window::Day => {
                let today = local_date(at_ms, tz)?;
                (today, today.succ_opt())
            }
            Window::Week => {
                let today = local_date(at_ms, tz)?;
                let since_monday = u64::from(today.weekday().num_days_from_monday());
                let monday = today
                    .checked_sub_days(Days::new(since_monday))
                    .ok_or(WindowError::OutOfRange)?;
                (monday, monday.checked_add_days(Days::new(7)))
            }
            Window::Month => {
                let today = local_date(at_ms, tz)?;
                let first = today.with_day(1).ok_or(WindowError::OutOfRange)?;
                (first, first.checked_add_months(chrono::Months::new(1)))
            }
        };
        let next_first_day = next_first_day.ok_or(WindowError::OutOfRange)?;
        Ok(WindowBucket {
            start_ms: start_of_local_day(first_day, tz)?,
            end_ms: start_of_local_day(next_first_day, tz)?,
        })
    }

    /// When the bucket containing `at_ms` ends and the board starts over.
    pub fn next_reset_ms(
        self,
        at_ms: i64,
        tz: Tz,
        campaign: WindowBucket,
    ) -> Result<i64, WindowError> {
        self.bucket(at_ms, tz, campaign).map(|bucket| bucket.end_ms)
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Window {
    type Err = UnknownWindow;

    /// Exactly `campaign`, `day`, `week` or `month`, as in the API and configuration.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Window::ALL
            .into_iter()
            .find(|window| window.as_str() == s)
            .ok_or_else(|| UnknownWindow(s.to_owned()))
    }
}

fn local_date(at_ms: i64, tz: Tz) -> Result<NaiveDate, WindowError> {
    Ok(local_date_time(at_ms, tz)?.date())
}

fn local_date_time(at_ms: i64, tz: Tz) -> Result<NaiveDateTime, WindowError> {
    let utc = DateTime::from_timestamp_millis(at_ms).ok_or(WindowError::OutOfRange)?;
    Ok(utc.with_timezone(&tz).naive_local())
}

/// The first instant, in epoch milliseconds, whose local date in `tz` is `date`.
pub fn start_of_local_day(date: NaiveDate, tz: Tz) -> Result<i64, WindowError> {
    let midnight = date.and_time(NaiveTime::MIN);
    match tz.from_local_datetime(&midnight) {
        MappedLocalTime::Single(start) | MappedLocalTime::Ambiguous(start, _) => {
            Ok(start.timestamp_millis())
        }
        MappedLocalTime::None => first_instant_at_or_after(midnight, tz),
    }
}

/// Midnight fell into a daylight-saving gap: find the instant the gap ends by binary
/// search on UTC milliseconds. Within a day and a half around the wall-clock time, local
/// time only moves forward across a gap, so "local ≥ target" is monotone there.
fn first_instant_at_or_after(target: NaiveDateTime, tz: Tz) -> Result<i64, WindowError> {
    // No zone is more than 16 h from UTC (the widest offsets in tzdb history are under
    // 16 h), so the answer lies within these bounds; `low` is strictly before it.
    const MARGIN_MS: i64 = 18 * 3_600_000;
    let naive_ms = target.and_utc().timestamp_millis();
    let mut low = naive_ms - MARGIN_MS;
    let mut high = naive_ms + MARGIN_MS;
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        if local_date_time(mid, tz)? >= target {
            high = mid;
        } else {
            low = mid;
        }
    }
    Ok(high)
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, Utc};

    use super::*;

    const HOUR_MS: i64 = 3_600_000;
    const DAY_MS: i64 = 24 * HOUR_MS;
    /// No campaign in these tests unless one is built explicitly.
    const NO_CAMPAIGN: WindowBucket = WindowBucket {
        start_ms: 0,
        end_ms: 0,
    };

    /// Epoch ms of a UTC wall-clock time.
    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        match NaiveDate::from_ymd_opt(y, mo, d).and_then(|date| date.and_hms_opt(h, mi, 0)) {
            Some(t) => Utc.from_utc_datetime(&t).timestamp_millis(),
            None => panic!("bad test date"),
        }
    }

    fn bucket(window: Window, at_ms: i64, tz: Tz) -> WindowBucket {
        match window.bucket(at_ms, tz, NO_CAMPAIGN) {
            Ok(bucket) => bucket,
            Err(e) => panic!("{window} at {at_ms} in {tz}: {e}"),
        }
    }

    fn span(start_ms: i64, end_ms: i64) -> WindowBucket {
        WindowBucket { start_ms, end_ms }
    }

    #[test]
    fn parses_exactly_the_four_names() {
        for window in Window::ALL {
            assert_eq!(window.as_str().parse::<Window>(), Ok(window));
            assert_eq!(window.to_string(), window.as_str());
        }
        for bad in ["", "Day", "daily", "weekly", " week", "year"] {
            assert_eq!(bad.parse::<Window>(), Err(UnknownWindow(bad.to_owned())));
        }
    }

    #[test]
    fn serde_names_match_the_parsed_names() -> Result<(), serde_json::Error> {
        for window in Window::ALL {
            assert_eq!(
                serde_json::to_string(&window)?,
                format!("\"{}\"", window.as_str())
            );
        }
        Ok(())
    }

    #[test]
    fn moscow_day_starts_at_21_utc() {
        let at = utc(2024, 6, 15, 10, 0);
        assert_eq!(
            bucket(Window::Day, at, Tz::Europe__Moscow),
            span(utc(2024, 6, 14, 21, 0), utc(2024, 6, 15, 21, 0))
        );
        assert_eq!(
            Window::Day.next_reset_ms(at, Tz::Europe__Moscow, NO_CAMPAIGN),
            Ok(utc(2024, 6, 15, 21, 0))
        );
    }

    #[test]
    fn vladivostok_midnight_is_14_utc_of_the_previous_day() {
        let tz = Tz::Asia__Vladivostok;
        // 2024-06-16 00:30 local.
        assert_eq!(
            bucket(Window::Day, utc(2024, 6, 15, 14, 30), tz),
            span(utc(2024, 6, 15, 14, 0), utc(2024, 6, 16, 14, 0))
        );
        // One millisecond before local midnight still belongs to the 15th.
        assert_eq!(
            bucket(Window::Day, utc(2024, 6, 15, 14, 0) - 1, tz),
            span(utc(2024, 6, 14, 14, 0), utc(2024, 6, 15, 14, 0))
        );
        // Exactly local midnight starts the new day.
        assert_eq!(
            bucket(Window::Day, utc(2024, 6, 15, 14, 0), tz).start_ms,
            utc(2024, 6, 15, 14, 0)
        );
    }

    #[test]
    fn berlin_days_of_23_and_25_hours() {
        let tz = Tz::Europe__Berlin;
        // 2024-03-31: clocks jump 02:00 -> 03:00 (CET+1 -> CEST+2).
        let spring = bucket(Window::Day, utc(2024, 3, 31, 12, 0), tz);
        assert_eq!(
            spring,
            span(utc(2024, 3, 30, 23, 0), utc(2024, 3, 31, 22, 0))
        );
        assert_eq!(spring.duration_ms(), 23 * HOUR_MS);
        // 2024-10-27: clocks fall back 03:00 -> 02:00.
        let autumn = bucket(Window::Day, utc(2024, 10, 27, 12, 0), tz);
        assert_eq!(
            autumn,
            span(utc(2024, 10, 26, 22, 0), utc(2024, 10, 27, 23, 0))
        );
        assert_eq!(autumn.duration_ms(), 25 * HOUR_MS);
        // Inside the repeated hour (02:30 local, both times) it is still the same day.
        for at in [utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 1, 30)] {
            assert_eq!(bucket(Window::Day, at, tz), autumn);
        }
    }

    #[test]
    fn weeks_are_iso_weeks_from_monday_local() {
        let tz = Tz::Europe__Berlin;
        // Sunday 2024-03-31 belongs to the week of Monday 2024-03-25; that week loses an hour.
        let week = bucket(Window::Week, utc(2024, 3, 31, 20, 0), tz);
        assert_eq!(week, span(utc(2024, 3, 24, 23, 0), utc(2024, 3, 31, 22, 0)));
        assert_eq!(week.duration_ms(), 7 * DAY_MS - HOUR_MS);
        // Monday 00:00 local starts the next week.
        assert_eq!(
            bucket(Window::Week, utc(2024, 3, 31, 22, 0), tz).start_ms,
            utc(2024, 3, 31, 22, 0)
        );
        // A week across New Year: Tuesday 2024-12-31 is in the week of Monday 2024-12-30.
        assert_eq!(
            bucket(Window::Week, utc(2024, 12, 31, 12, 0), Tz::UTC),
            span(utc(2024, 12, 30, 0, 0), utc(2025, 1, 6, 0, 0))
        );
        // In Vladivostok, Sunday 20:00 UTC is already Monday morning.
        assert_eq!(
            bucket(Window::Week, utc(2024, 6, 16, 20, 0), Tz::Asia__Vladivostok).start_ms,
            utc(2024, 6, 16, 14, 0)
        );
    }

    #[test]
    fn months_start_on_the_first_local() {
        let tz = Tz::Europe__Berlin;
        let march = bucket(Window::Month, utc(2024, 3, 15, 12, 0), tz);
        assert_eq!(
            march,
            span(utc(2024, 2, 29, 23, 0), utc(2024, 3, 31, 22, 0))
        );
        assert_eq!(march.duration_ms(), 31 * DAY_MS - HOUR_MS);
        assert_eq!(
            bucket(Window::Month, utc(2024, 12, 31, 23, 30), Tz::UTC),
            span(utc(2024, 12, 1, 0, 0), utc(2025, 1, 1, 0, 0))
        );
        assert_eq!(
            bucket(Window::Month, utc(2024, 2, 10, 0, 0), Tz::UTC).duration_ms(),
            29 * DAY_MS,
            "leap February"
        );
        // 2024-06-30 15:00 UTC is already July 1st in Vladivostok.
        assert_eq!(
            bucket(
                Window::Month,
                utc(2024, 6, 30, 15, 0),
                Tz::Asia__Vladivostok
            )
            .start_ms,
            utc(2024, 6, 30, 14, 0)
        );
    }

    #[test]
    fn a_day_whose_midnight_does_not_exist_starts_when_the_gap_ends() {
        // Chile: 2024-09-08 00:00 -04 jumps to 01:00 -03, so the day starts at 04:00 UTC.
        let skipped = NaiveDate::from_ymd_opt(2024, 9, 8).map(|d| d.and_time(NaiveTime::MIN));
        assert!(
            skipped.is_some_and(
                |m| Tz::America__Santiago.from_local_datetime(&m) == MappedLocalTime::None
            ),
            "the case under test: local midnight does not exist"
        );
        let santiago = bucket(Window::Day, utc(2024, 9, 8, 12, 0), Tz::America__Santiago);
        assert_eq!(santiago.start_ms, utc(2024, 9, 8, 4, 0));
        assert_eq!(santiago.duration_ms(), 23 * HOUR_MS);
        // The day before ends exactly there, so buckets still tile.
        assert_eq!(
            bucket(Window::Day, utc(2024, 9, 7, 12, 0), Tz::America__Santiago).end_ms,
            santiago.start_ms
        );
        // Cuba: 2024-03-10 00:00 -05 jumps to 01:00 -04.
        assert_eq!(
            bucket(Window::Day, utc(2024, 3, 10, 12, 0), Tz::America__Havana).start_ms,
            utc(2024, 3, 10, 5, 0)
        );
    }

    #[test]
    fn buckets_contain_their_moment_and_tile_time() {
        let zones = [
            Tz::UTC,
            Tz::Europe__Moscow,
            Tz::Europe__Berlin,
            Tz::Asia__Vladivostok,
            Tz::America__Santiago,
            Tz::Pacific__Chatham,
            Tz::America__St_Johns,
        ];
        let mut at = utc(2023, 12, 20, 0, 0);
        let until = utc(2025, 1, 10, 0, 0);
        // A step coprime with hours and days visits every time of day over the year.
        while at < until {
            for tz in zones {
                for window in [Window::Day, Window::Week, Window::Month] {
                    let b = bucket(window, at, tz);
                    assert!(b.contains(at), "{window} {tz} {at} {b:?}");
                    assert_eq!(
                        bucket(window, b.end_ms, tz).start_ms,
                        b.end_ms,
                        "{window} {tz} tiles"
                    );
                    assert_eq!(bucket(window, b.start_ms, tz), b);
                    assert_eq!(bucket(window, b.end_ms - 1, tz), b);
                }
            }
            at += 7 * HOUR_MS + 13 * 60_000 + 17_000;
        }
    }

    #[test]
    fn campaign_window_is_the_campaign_span() {
        let campaign = span(utc(2024, 5, 1, 9, 0), utc(2024, 6, 1, 9, 0));
        let tz = Tz::Europe__Moscow;
        assert_eq!(
            Window::Campaign.bucket(campaign.start_ms, tz, campaign),
            Ok(campaign)
        );
        assert_eq!(
            Window::Campaign.bucket(utc(2024, 5, 20, 0, 0), tz, campaign),
            Ok(campaign)
        );
        assert_eq!(
            Window::Campaign.next_reset_ms(utc(2024, 5, 20, 0, 0), tz, campaign),
            Ok(campaign.end_ms)
        );
        assert_eq!(
            Window::Campaign.bucket(campaign.end_ms, tz, campaign),
            Err(WindowError::OutsideCampaign),
            "the end is exclusive"
        );
        assert_eq!(
            Window::Campaign.bucket(campaign.start_ms - 1, tz, campaign),
            Err(WindowError::OutsideCampaign)
        );
    }

    #[test]
    fn absurd_moments_are_errors_not_panics() {
        for window in [Window::Day, Window::Week, Window::Month] {
            assert_eq!(
                window.bucket(i64::MAX, Tz::UTC, NO_CAMPAIGN),
                Err(WindowError::OutOfRange)
            );
            assert_eq!(
                window.bucket(i64::MIN, Tz::UTC, NO_CAMPAIGN),
                Err(WindowError::OutOfRange)
            );
        }
    }
}

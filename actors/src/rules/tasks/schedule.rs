//! When a task (or quest) is open and how recurrence cuts time into periods in the
//! program's zone ([`Schedule::period`]).

use chrono::{DateTime, Datelike};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Issue, issue};
use crate::rules::windows::{Window, WindowBucket, WindowError};

/// How often a task (or quest) starts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Recurrence {
    /// Once for the task's whole life.
    #[default]
    None,
    /// Every local day.
    Daily,
    /// Every ISO week, from Monday 00:00 local.
    Weekly,
}

impl Recurrence {
    pub fn as_str(self) -> &'static str {
        match self {
            Recurrence::None => "none",
            Recurrence::Daily => "daily",
            Recurrence::Weekly => "weekly",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "none" => Ok(Recurrence::None),
            "daily" => Ok(Recurrence::Daily),
            "weekly" => Ok(Recurrence::Weekly),
            other => Err(format!(
                "unknown recurrence {other:?}; expected none, daily or weekly"
            )),
        }
    }
}

/// One period of a schedule: `[start_ms, end_ms)` and a readable key
/// (`all`, `2024-06-15`, `2024-W24`) that names it in ledger keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Period {
    pub start_ms: i64,
    /// `None` when the period never ends.
    pub end_ms: Option<i64>,
    pub key: String,
}

impl Period {
    pub fn contains(&self, at_ms: i64) -> bool {
        self.start_ms <= at_ms && self.end_ms.is_none_or(|end| at_ms < end)
    }
}

/// When a task or quest is open and how it recurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Schedule {
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub recurrence: Recurrence,
}

impl Schedule {
    pub fn validate(&self) -> Option<Issue> {
        match (self.starts_at, self.ends_at) {
            (Some(start), Some(end)) if end <= start => {
                Some(issue("ends_at", "must be after starts_at"))
            }
            _ => None,
        }
    }

    pub fn is_open(&self, at_ms: i64) -> bool {
        self.starts_at.is_none_or(|s| at_ms >= s) && self.ends_at.is_none_or(|e| at_ms < e)
    }

    /// The period containing `at_ms`, in zone `tz`, clipped to the schedule.
    pub fn period(&self, at_ms: i64, tz: Tz) -> Result<Period, WindowError> {
        let window = match self.recurrence {
            Recurrence::None => {
                return Ok(Period {
                    start_ms: self.starts_at.unwrap_or(0),
                    end_ms: self.ends_at,
                    key: "all".into(),
                });
            }
            Recurrence::Daily => Window::Day,
            Recurrence::Weekly => Window::Week,
        };
        let none = WindowBucket {
            start_ms: 0,
            end_ms: 0,
        };
        let bucket = window.bucket(at_ms, tz, none)?;
        let date = DateTime::from_timestamp_millis(bucket.start_ms)
            .ok_or(WindowError::OutOfRange)?
            .with_timezone(&tz)
            .date_naive();
        let key = match self.recurrence {
            Recurrence::Weekly => {
                let week = date.iso_week();
                format!("{}-W{:02}", week.year(), week.week())
            }
            _ => date.format("%Y-%m-%d").to_string(),
        };
        Ok(Period {
            start_ms: self
                .starts_at
                .map_or(bucket.start_ms, |s| s.max(bucket.start_ms)),
            end_ms: Some(self.ends_at.map_or(bucket.end_ms, |e| e.min(bucket.end_ms))),
            key,
        })
    }
}

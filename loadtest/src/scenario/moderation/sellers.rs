//! What the sellers' `me` sockets showed: their balances, and the states of their
//! submissions as pushed, kept as the checks need them.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::DECIDED;
use crate::api::Points;
use crate::socket::Frame;

/// A participant's points as the API shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub(super) struct Balance {
    pub(super) available: Points,
    pub(super) pending: Points,
}

pub(super) fn balance_of(data: &Value) -> Option<Balance> {
    let points = |field: &str| data["balance"][field].as_str().and_then(Points::parse);
    Some(Balance {
        available: points("available")?,
        pending: points("pending")?,
    })
}

#[derive(Debug, Clone)]
pub(super) enum Seen {
    /// A `balance_changed` event (or a fresh snapshot after the session fell behind,
    /// `lag`), with the balance after it.
    Balance { balance: Option<Balance>, lag: bool },
    /// A `task_submission` event of the run's task.
    Submission {
        at: Instant,
        id: i64,
        status: String,
        credited: Option<Points>,
    },
    /// An `error` frame, by code.
    Error(String),
}

/// Keeps what the checks need of a seller's frame. The first decided state of each
/// submission frees a slot for the next submission and counts toward the drain.
pub(super) fn seen(
    at: Instant,
    frame: Frame,
    task_id: i64,
    answered: &mut HashSet<i64>,
    slots: &Semaphore,
    results: &AtomicUsize,
) -> Option<Seen> {
    match (frame.kind.as_str(), frame.event.as_deref()) {
        ("event", Some("balance_changed")) => Some(Seen::Balance {
            balance: balance_of(&frame.data),
            lag: false,
        }),
        ("event", Some("task_submission")) => {
            let data = &frame.data;
            if data["task_id"].as_i64() != Some(task_id) {
                return None;
            }
            let id = data["id"].as_i64()?;
            let status = data["status"].as_str().unwrap_or_default().to_string();
            if DECIDED.contains(&status.as_str()) && answered.insert(id) {
                results.fetch_add(1, Ordering::Relaxed);
                slots.add_permits(1);
            }
            Some(Seen::Submission {
                at,
                id,
                status,
                credited: data["credited"].as_str().and_then(Points::parse),
            })
        }
        ("snapshot", _) => Some(Seen::Balance {
            balance: balance_of(&frame.data),
            lag: true,
        }),
        ("error", _) => Some(Seen::Error(frame.code.unwrap_or_default())),
        _ => None,
    }
}

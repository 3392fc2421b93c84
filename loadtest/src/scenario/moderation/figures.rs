//! The run's figures: when each stage last happened, the stream's counts and rates, and
//! the latencies from a submission sent to its item routed and its result pushed.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::stats::{Counts, LatencySummary, per_second};

use super::submitting::Submitted;

/// When each stage last happened, for the rates.
#[derive(Debug, Default)]
pub(super) struct Timeline {
    pub(super) first_sent: Option<Instant>,
    pub(super) last_accepted: Option<Instant>,
    pub(super) last_routed: Option<Instant>,
    pub(super) last_decided: Option<Instant>,
    pub(super) last_result: Option<Instant>,
    pub(super) routed: usize,
    pub(super) decided: usize,
    pub(super) results: usize,
}

pub(super) fn latest(slot: &mut Option<Instant>, at: Instant) {
    if slot.is_none_or(|t| at > t) {
        *slot = Some(at);
    }
}

#[derive(Debug, Serialize)]
pub(super) struct StreamFigures {
    pub(super) sent: usize,
    /// 201 answers.
    pub(super) accepted: usize,
    /// Accepted and waiting for a moderator.
    pub(super) moderated: usize,
    /// Accepted but not queued (approved at once by the trust rule).
    pub(super) not_moderated: usize,
    pub(super) errors: Counts,
    /// Submitting stopped early: no result freed a slot within the drain timeout.
    pub(super) stalled: bool,
    /// First submission sent to last 201.
    pub(super) submit_secs: f64,
    pub(super) submissions_per_sec: f64,
    /// Items of the run that reached a moderator (first time each).
    pub(super) routed: usize,
    /// Over first submission sent to last item routed.
    pub(super) routed_per_sec: f64,
    /// Decisions the server confirmed.
    pub(super) decided: usize,
    pub(super) decisions_per_sec: f64,
    /// Results pushed to sellers (first each).
    pub(super) results: usize,
    /// First submission sent to last result pushed.
    pub(super) pipeline_secs: f64,
    pub(super) results_per_sec: f64,
    /// Last 201 to last result (or the drain timeout).
    pub(super) drain_secs: f64,
    pub(super) all_results_arrived: bool,
}

impl StreamFigures {
    pub(super) fn of(
        submitted: &Submitted,
        timeline: &Timeline,
        drained: bool,
        drain_time: Duration,
    ) -> Self {
        let mut errors = Counts::default();
        for kind in submitted.iter().filter_map(|s| s.outcome.error_kind()) {
            errors.bump(kind);
        }
        let accepted = submitted.iter().filter(|s| s.id().is_some()).count();
        let moderated = submitted.iter().filter(|s| s.awaits_decision()).count();
        let span = |until: Option<Instant>| match (timeline.first_sent, until) {
            (Some(first), Some(last)) => last.saturating_duration_since(first),
            _ => Duration::ZERO,
        };
        let (submit, routed, decided, pipeline) = (
            span(timeline.last_accepted),
            span(timeline.last_routed),
            span(timeline.last_decided),
            span(timeline.last_result),
        );
        Self {
            sent: submitted.len(),
            accepted,
            moderated,
            not_moderated: accepted - moderated,
            errors,
            stalled: submitted.stalled,
            submit_secs: submit.as_secs_f64(),
            submissions_per_sec: per_second(accepted, submit),
            routed: timeline.routed,
            routed_per_sec: per_second(timeline.routed, routed),
            decided: timeline.decided,
            decisions_per_sec: per_second(timeline.decided, decided),
            results: timeline.results,
            pipeline_secs: pipeline.as_secs_f64(),
            results_per_sec: per_second(timeline.results, pipeline),
            drain_secs: drain_time.as_secs_f64(),
            all_results_arrived: drained,
        }
    }
}

#[derive(Debug, Serialize)]
pub(super) struct LatencyFigures {
    /// Submission sent → 201.
    pub(super) submit_http: Option<LatencySummary>,
    /// Submission sent → `item_assigned` at a moderator.
    pub(super) sent_to_routed: Option<LatencySummary>,
    /// `item_assigned` received → decision confirmed (includes --think-ms).
    pub(super) routed_to_decided: Option<LatencySummary>,
    /// Decision sent → result pushed to the seller.
    pub(super) decision_to_result: Option<LatencySummary>,
    /// Submission sent → result pushed to the seller: the whole path.
    pub(super) sent_to_result: Option<LatencySummary>,
    /// Results that reached the seller before the submission's own 201 (the answer is
    /// sent after the item is queued, and a moderator may be quicker).
    pub(super) results_before_201: usize,
}

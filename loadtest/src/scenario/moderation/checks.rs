//! The checks: every submission's item routed and decided once, its result pushed to its
//! seller once, the server agreeing, the balances adding up; and the verdict they give.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use serde::Serialize;

use super::DECIDED;
use super::desks::{DeskEvent, DeskLog, Whose};
use super::figures::{LatencyFigures, StreamFigures, Timeline, latest};
use super::sellers::{Balance, Seen};
use super::server_view::ServerView;
use super::submitting::{Outcome, Submission};
use crate::api::Points;
use crate::report::Verdict;
use crate::scenario::EXAMPLES;
use crate::socket::{Recording, SeqTotals};
use crate::stats::{Counts, LatencySummary};

#[derive(Debug, Default, Serialize)]
pub(super) struct DecisionChecks {
    /// Submissions waiting for a moderator, each to be routed and decided once.
    pub(super) expected: usize,
    pub(super) decided_once: usize,
    pub(super) never_routed: usize,
    pub(super) routed_not_decided: usize,
    pub(super) decided_more_than_once: usize,
    /// Routed again after the first time (lease expiry, moderator leaving).
    pub(super) rerouted: usize,
    pub(super) approved: usize,
    pub(super) rejected: usize,
    /// Decisions the server refused, by code.
    pub(super) refused: Counts,
    /// Items revoked from a moderator, by reason.
    pub(super) revoked: Counts,
    /// Items of earlier runs' tasks routed to our moderators (and decided).
    pub(super) leftovers: usize,
    /// Other items routed to our moderators (left alone).
    pub(super) foreign: usize,
    pub(super) error_frames: Counts,
    pub(super) seq: SeqTotals,
    pub(super) sockets_ended_early: usize,
}

#[derive(Debug, Default, Serialize)]
pub(super) struct ResultChecks {
    /// Decided submissions, each of whose result must reach its seller once.
    pub(super) expected: usize,
    pub(super) pushed_once: usize,
    pub(super) missing: usize,
    /// The same result pushed again. Not a failure: the event carries the
    /// submission's state, so a phone shows the same thing. It happens when the
    /// submission's own follow-up reads a decision made meanwhile and pushes it before
    /// the decision's follow-up pushes it too.
    pub(super) repeated: usize,
    /// A different decided state pushed after the first.
    pub(super) conflicting: usize,
    /// A `pending` state pushed after the result (out of order).
    pub(super) stale_after_result: usize,
    /// Results on another seller's socket.
    pub(super) misrouted: usize,
    /// The pushed result is not what the moderator decided.
    pub(super) wrong_result: usize,
    /// Results of submissions this run did not see accepted.
    pub(super) unmatched: usize,
    pub(super) lag_snapshots: usize,
    pub(super) error_frames: Counts,
    pub(super) seq: SeqTotals,
    pub(super) sockets_ended_early: usize,
    pub(super) examples: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
pub(super) struct ServerChecks {
    /// The run's submissions as stored, by status.
    pub(super) stored_by_status: Counts,
    /// Accepted submissions the server does not list.
    pub(super) not_stored: usize,
    /// Stored status differs from the decision made.
    pub(super) status_mismatch: usize,
    /// Items of the run still queued or held when the run ended.
    pub(super) items_queued: usize,
    pub(super) items_assigned: usize,
}

#[derive(Debug, Default, Serialize)]
pub(super) struct BalanceChecks {
    pub(super) checked: usize,
    pub(super) mismatched: usize,
    /// Sellers with a submission of unknown outcome or without a decision.
    pub(super) inconclusive: usize,
    pub(super) mismatch_examples: Vec<String>,
}

pub(super) struct Analysis {
    pub(super) timeline: Timeline,
    pub(super) latency: LatencyFigures,
    pub(super) decisions: DecisionChecks,
    pub(super) results: ResultChecks,
    pub(super) server: ServerChecks,
    pub(super) balances: BalanceChecks,
}

/// A state of a submission pushed on a seller's socket.
struct Pushed {
    /// Whose socket it came on.
    seller: usize,
    at: Instant,
    status: String,
    credited: Option<Points>,
}

/// What happened to one item of the run, over every desk.
#[derive(Default)]
struct Trace {
    assigned: Vec<Instant>,
    decide_sent: Option<Instant>,
    reject: bool,
    decided: Vec<(Instant, String)>,
}

/// Joins the submissions, the desks' logs, the sellers' sockets and the server's view.
/// `observed[i]` is seller i's starting balance and what its socket saw.
pub(super) fn analyse(
    submissions: &[Submission],
    desks: &[DeskLog],
    observed: &[(Balance, Recording<Seen>)],
    server: &ServerView,
) -> Analysis {
    let mut timeline = Timeline::default();
    let mut decisions = DecisionChecks::default();
    let mut results = ResultChecks::default();

    // Items of the run by id, and by the submission they check.
    let mut traces: HashMap<i64, Trace> = HashMap::new();
    let mut item_of: HashMap<i64, i64> = HashMap::new();
    for desk in desks {
        decisions.seq.add(&desk.seq);
        decisions.sockets_ended_early += usize::from(desk.ended_early.is_some());
        let mut run_items = HashSet::new();
        for event in &desk.events {
            match event {
                DeskEvent::Assigned {
                    at,
                    item_id,
                    subject_id,
                    whose,
                } => match whose {
                    Whose::Run => {
                        run_items.insert(*item_id);
                        item_of.insert(*subject_id, *item_id);
                        traces.entry(*item_id).or_default().assigned.push(*at);
                    }
                    Whose::Leftover => decisions.leftovers += 1,
                    Whose::Foreign => decisions.foreign += 1,
                },
                DeskEvent::DecideSent {
                    at,
                    item_id,
                    reject,
                } if run_items.contains(item_id) => {
                    let trace = traces.entry(*item_id).or_default();
                    trace.decide_sent = Some(*at);
                    trace.reject = *reject;
                }
                DeskEvent::Decided {
                    at,
                    item_id,
                    decision,
                } if run_items.contains(item_id) => {
                    traces
                        .entry(*item_id)
                        .or_default()
                        .decided
                        .push((*at, decision.clone()));
                }
                DeskEvent::DecideFailed(code) => decisions.refused.bump(code.clone()),
                DeskEvent::Revoked(reason) => decisions.revoked.bump(reason.clone()),
                DeskEvent::Error(code) => decisions.error_frames.bump(code.clone()),
                DeskEvent::DecideSent { .. } | DeskEvent::Decided { .. } => {}
            }
        }
    }

    // Sellers' sockets: each submission's pushed states in order.
    let mut pushed: HashMap<i64, Vec<Pushed>> = HashMap::new();
    let mut last_balance = Vec::with_capacity(observed.len());
    for (seller, (start, recording)) in observed.iter().enumerate() {
        results.seq.add(&recording.seq);
        if let Some(reason) = &recording.ended_early {
            results.sockets_ended_early += 1;
            if results.examples.len() < EXAMPLES {
                results
                    .examples
                    .push(format!("seller #{}: socket ended: {reason}", seller + 1));
            }
        }
        let mut balance = Some(*start);
        for item in &recording.items {
            match item {
                Seen::Balance { balance: b, lag } => {
                    balance = *b;
                    results.lag_snapshots += usize::from(*lag);
                }
                Seen::Submission {
                    at,
                    id,
                    status,
                    credited,
                } => pushed.entry(*id).or_default().push(Pushed {
                    seller,
                    at: *at,
                    status: status.clone(),
                    credited: *credited,
                }),
                Seen::Error(code) => results.error_frames.bump(code.clone()),
            }
        }
        last_balance.push(balance);
    }

    let mut submit_http = Vec::new();
    let mut sent_to_routed = Vec::new();
    let mut routed_to_decided = Vec::new();
    let mut decision_to_result = Vec::new();
    let mut sent_to_result = Vec::new();
    let mut results_before_201 = 0;
    let mut server_checks = ServerChecks {
        items_queued: server.items_queued,
        items_assigned: server.items_assigned,
        ..ServerChecks::default()
    };
    for status in server.status_by_submission.values() {
        server_checks.stored_by_status.bump(status.clone());
    }
    // Per seller: points approved, and whether the end balance can be known.
    let mut approved_points = vec![0i64; observed.len()];
    let mut uncertain = vec![false; observed.len()];
    let mut known_ids = HashSet::new();

    for submission in submissions {
        uncertain[submission.seller] |= submission.outcome.uncertain();
        let Outcome::Accepted {
            id,
            moderated,
            status,
            credited,
        } = &submission.outcome
        else {
            continue;
        };
        known_ids.insert(*id);
        latest(&mut timeline.last_accepted, submission.answered);
        submit_http.push(submission.answered.duration_since(submission.sent));
        let stored = server.status_by_submission.get(id);
        if stored.is_none() {
            server_checks.not_stored += 1;
        }
        if !moderated {
            // Approved at once: credited, and nothing more to follow.
            if stored.is_some_and(|stored| stored != status) {
                server_checks.status_mismatch += 1;
            }
            if status == "approved" {
                approved_points[submission.seller] += credited.map_or(0, |p| p.0);
            }
            continue;
        }
        decisions.expected += 1;
        let trace = item_of.get(id).and_then(|item| traces.get(item));
        let Some(trace) = trace.filter(|t| !t.assigned.is_empty()) else {
            decisions.never_routed += 1;
            uncertain[submission.seller] = true;
            continue;
        };
        let first_routed = trace
            .assigned
            .iter()
            .min()
            .copied()
            .unwrap_or(submission.sent);
        timeline.routed += 1;
        latest(&mut timeline.last_routed, first_routed);
        decisions.rerouted += trace.assigned.len() - 1;
        sent_to_routed.push(first_routed.saturating_duration_since(submission.sent));
        let decision = match trace.decided.as_slice() {
            [] => {
                decisions.routed_not_decided += 1;
                uncertain[submission.seller] = true;
                continue;
            }
            [(at, decision)] => {
                decisions.decided_once += 1;
                (*at, decision.as_str())
            }
            [(at, decision), ..] => {
                decisions.decided_more_than_once += 1;
                (*at, decision.as_str())
            }
        };
        timeline.decided += 1;
        latest(&mut timeline.last_decided, decision.0);
        if let Some(routed) = trace.assigned.last() {
            routed_to_decided.push(decision.0.saturating_duration_since(*routed));
        }
        let expected_status = match decision.1 {
            "approve" => "approved",
            "reject" => "rejected",
            _ => "rework",
        };
        if expected_status == "approved" {
            decisions.approved += 1;
        } else {
            decisions.rejected += 1;
        }
        if server
            .status_by_submission
            .get(id)
            .is_some_and(|stored| stored != expected_status)
        {
            server_checks.status_mismatch += 1;
        }

        results.expected += 1;
        let states = pushed.get(id).map(Vec::as_slice).unwrap_or_default();
        let mut answered_at = None;
        let mut answer: Option<&str> = None;
        for state in states {
            if state.seller != submission.seller {
                results.misrouted += 1;
                continue;
            }
            if DECIDED.contains(&state.status.as_str()) {
                if let Some(answer) = answer {
                    if answer == state.status {
                        results.repeated += 1;
                    } else {
                        results.conflicting += 1;
                    }
                    continue;
                }
                answered_at = Some(state.at);
                answer = Some(&state.status);
                if state.at < submission.answered {
                    results_before_201 += 1;
                }
                if state.status != expected_status {
                    results.wrong_result += 1;
                }
                if state.status == "approved" {
                    approved_points[submission.seller] +=
                        state.credited.or(*credited).map_or(0, |p| p.0);
                }
            } else if answered_at.is_some() {
                results.stale_after_result += 1;
            }
        }
        match answered_at {
            Some(at) => {
                results.pushed_once += 1;
                timeline.results += 1;
                latest(&mut timeline.last_result, at);
                sent_to_result.push(at.saturating_duration_since(submission.sent));
                if let Some(sent) = trace.decide_sent {
                    decision_to_result.push(at.saturating_duration_since(sent));
                }
            }
            None => {
                results.missing += 1;
                uncertain[submission.seller] = true;
                if results.examples.len() < EXAMPLES {
                    results.examples.push(format!(
                        "submission {id} of seller #{} was decided ({}) but its result never \
                         reached the seller (pushed states: {})",
                        submission.seller + 1,
                        decision.1,
                        states
                            .iter()
                            .map(|s| s.status.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        }
    }
    timeline.first_sent = submissions.iter().map(|s| s.sent).min();
    results.unmatched = pushed.keys().filter(|id| !known_ids.contains(id)).count();

    let mut balances = BalanceChecks::default();
    for (seller, ((start, _), last)) in observed.iter().zip(&last_balance).enumerate() {
        if uncertain[seller] {
            balances.inconclusive += 1;
            continue;
        }
        balances.checked += 1;
        let expected = Balance {
            available: Points(start.available.0 + approved_points[seller]),
            pending: start.pending,
        };
        if *last != Some(expected) {
            balances.mismatched += 1;
            if balances.mismatch_examples.len() < EXAMPLES {
                let got = last.map_or_else(
                    || "nothing".into(),
                    |b| format!("{} available, {} pending", b.available, b.pending),
                );
                balances.mismatch_examples.push(format!(
                    "seller #{}: started at {} available, {} pending; approved {}; last pushed {got}",
                    seller + 1,
                    start.available,
                    start.pending,
                    Points(approved_points[seller])
                ));
            }
        }
    }

    Analysis {
        timeline,
        latency: LatencyFigures {
            submit_http: LatencySummary::of(submit_http),
            sent_to_routed: LatencySummary::of(sent_to_routed),
            routed_to_decided: LatencySummary::of(routed_to_decided),
            decision_to_result: LatencySummary::of(decision_to_result),
            sent_to_result: LatencySummary::of(sent_to_result),
            results_before_201,
        },
        decisions,
        results,
        server: server_checks,
        balances,
    }
}

pub(super) fn verdict(ledger_sound: bool, stream: &StreamFigures, analysis: &Analysis) -> Verdict {
    let (d, r, s, b) = (
        &analysis.decisions,
        &analysis.results,
        &analysis.server,
        &analysis.balances,
    );
    let mut failures = Vec::new();
    let mut fail = |bad: bool, text: String| {
        if bad {
            failures.push(text);
        }
    };
    fail(
        stream.moderated == 0,
        "no submission went to moderation".into(),
    );
    fail(
        stream.stalled,
        "submitting stalled: no result freed a slot within the drain timeout".into(),
    );
    fail(
        !ledger_sound,
        "the ledger check does not say \"sound\": true".into(),
    );
    fail(
        d.never_routed > 0,
        format!("{} submissions never reached a moderator", d.never_routed),
    );
    fail(
        d.routed_not_decided > 0,
        format!("{} routed items were never decided", d.routed_not_decided),
    );
    fail(
        d.decided_more_than_once > 0,
        format!(
            "{} items were decided more than once",
            d.decided_more_than_once
        ),
    );
    fail(
        r.missing > 0,
        format!(
            "{} decided submissions never pushed their result",
            r.missing
        ),
    );
    fail(
        r.conflicting > 0,
        format!(
            "{} submissions were pushed a second, different result",
            r.conflicting
        ),
    );
    fail(
        r.misrouted > 0,
        format!("{} submission events reached the wrong seller", r.misrouted),
    );
    fail(
        r.wrong_result > 0,
        format!("{} pushed results differ from the decision", r.wrong_result),
    );
    fail(
        r.stale_after_result > 0,
        format!(
            "{} submissions were pushed as pending after their result",
            r.stale_after_result
        ),
    );
    let seq_breaks = r.seq.gaps + r.seq.repeats + d.seq.gaps + d.seq.repeats;
    fail(
        seq_breaks > 0,
        format!(
            "sequence numbers broke: sellers {} gaps, {} repeats; moderators {} gaps, {} repeats",
            r.seq.gaps, r.seq.repeats, d.seq.gaps, d.seq.repeats
        ),
    );
    fail(
        r.sockets_ended_early + d.sockets_ended_early > 0,
        format!(
            "{} seller and {} moderator sockets ended before the run did",
            r.sockets_ended_early, d.sockets_ended_early
        ),
    );
    fail(
        s.not_stored + s.status_mismatch > 0,
        format!(
            "the server's submissions disagree: {} not listed, {} with another status",
            s.not_stored, s.status_mismatch
        ),
    );
    fail(
        s.items_queued + s.items_assigned > 0,
        format!(
            "{} items of the run are still queued and {} held",
            s.items_queued, s.items_assigned
        ),
    );
    fail(
        b.mismatched > 0,
        format!(
            "{} sellers' last pushed balance is not their start plus their approved points",
            b.mismatched
        ),
    );
    Verdict::from_failures(failures)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::scenario::moderation::submitting::Submitted;
    use crate::socket::SeqCheck;

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    fn submitted(seller: usize, base: Instant, id: i64, credited: i64) -> Submission {
        Submission {
            seller,
            sent: base,
            answered: at(base, 3),
            outcome: Outcome::Accepted {
                id,
                moderated: true,
                status: "pending".into(),
                credited: Some(Points(credited)),
            },
        }
    }

    fn state(base: Instant, ms: u64, id: i64, status: &str) -> Seen {
        Seen::Submission {
            at: at(base, ms),
            id,
            status: status.into(),
            credited: Some(Points(1000)),
        }
    }

    fn balance(available: i64, pending: i64) -> Balance {
        Balance {
            available: Points(available),
            pending: Points(pending),
        }
    }

    fn routed_and_decided(
        base: Instant,
        item: i64,
        subject: i64,
        decisions: &[&str],
    ) -> Vec<DeskEvent> {
        let mut events = vec![
            DeskEvent::Assigned {
                at: at(base, 5),
                item_id: item,
                subject_id: subject,
                whose: Whose::Run,
            },
            DeskEvent::DecideSent {
                at: at(base, 6),
                item_id: item,
                reject: decisions.first() == Some(&"reject"),
            },
        ];
        for decision in decisions {
            events.push(DeskEvent::Decided {
                at: at(base, 8),
                item_id: item,
                decision: (*decision).into(),
            });
        }
        events
    }

    #[test]
    fn items_results_and_balances_are_matched_to_submissions() {
        let t = Instant::now();
        let submissions = vec![
            submitted(0, t, 11, 1000),
            submitted(1, t, 12, 1000),
            submitted(1, t, 13, 1000),
            Submission {
                seller: 0,
                sent: t,
                answered: t,
                outcome: Outcome::Refused {
                    status: 422,
                    code: Some("validation_failed".into()),
                },
            },
        ];
        let mut events = routed_and_decided(t, 101, 11, &["approve"]);
        events.extend(routed_and_decided(t, 102, 12, &["reject"]));
        // Decided twice, and its result never pushed.
        events.extend(routed_and_decided(t, 103, 13, &["approve", "approve"]));
        events.push(DeskEvent::Assigned {
            at: t,
            item_id: 900,
            subject_id: 1,
            whose: Whose::Foreign,
        });
        let desks = vec![DeskLog {
            events,
            seq: SeqCheck::default(),
            ended_early: None,
        }];
        let recording = |items| Recording {
            items,
            seq: SeqCheck::default(),
            ended_early: None,
        };
        let observed = vec![
            // Seller 0 starts at 5.00: held 10.00, then approved.
            (
                balance(500, 0),
                recording(vec![
                    Seen::Balance {
                        balance: Some(balance(500, 1000)),
                        lag: false,
                    },
                    state(t, 4, 11, "pending"),
                    Seen::Balance {
                        balance: Some(balance(1500, 0)),
                        lag: false,
                    },
                    state(t, 7, 11, "approved"),
                ]),
            ),
            // Seller 1: submission 12's result twice, 13's never.
            (
                balance(0, 0),
                recording(vec![
                    state(t, 9, 12, "rejected"),
                    state(t, 10, 12, "rejected"),
                    state(t, 11, 13, "pending"),
                ]),
            ),
        ];
        let server = ServerView {
            status_by_submission: HashMap::from([
                (11, "approved".to_string()),
                (12, "rejected".to_string()),
                (13, "approved".to_string()),
            ]),
            items_queued: 0,
            items_assigned: 0,
        };
        let analysis = analyse(&submissions, &desks, &observed, &server);
        let d = &analysis.decisions;
        assert_eq!(
            (
                d.expected,
                d.decided_once,
                d.decided_more_than_once,
                d.never_routed
            ),
            (3, 2, 1, 0)
        );
        assert_eq!((d.approved, d.rejected, d.foreign), (2, 1, 1));
        let r = &analysis.results;
        assert_eq!(
            (
                r.expected,
                r.pushed_once,
                r.missing,
                r.repeated,
                r.conflicting,
                r.wrong_result
            ),
            (3, 2, 1, 1, 0, 0)
        );
        assert_eq!(analysis.server.status_mismatch, 0);
        let b = &analysis.balances;
        assert_eq!((b.checked, b.mismatched, b.inconclusive), (1, 0, 1));
        let whole = analysis.latency.sent_to_result.expect("samples");
        assert_eq!((whole.count, whole.p50_ms, whole.max_ms), (2, 7.0, 9.0));
        let routed = analysis.latency.sent_to_routed.expect("samples");
        assert_eq!((routed.count, routed.max_ms), (3, 5.0));
        assert_eq!(
            (
                analysis.timeline.routed,
                analysis.timeline.decided,
                analysis.timeline.results
            ),
            (3, 3, 2)
        );

        let submitted = Submitted {
            submissions,
            stalled: false,
        };
        let stream = StreamFigures::of(&submitted, &analysis.timeline, true, Duration::ZERO);
        assert_eq!(
            (
                stream.sent,
                stream.accepted,
                stream.moderated,
                stream.errors.total()
            ),
            (4, 3, 3, 1)
        );
        let Verdict::Failed(failures) = verdict(true, &stream, &analysis) else {
            panic!("a missing result fails the run");
        };
        // The missing result and the double decision; the repeated result is reported.
        assert_eq!(failures.len(), 2, "{failures:?}");
    }
}

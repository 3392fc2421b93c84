//! The report: the run's settings, figures and invariants, rendered as tables and written
//! as JSON.

use serde::Serialize;

use super::DecideVia;
use super::checks::{BalanceChecks, DecisionChecks, ResultChecks, ServerChecks};
use super::figures::{LatencyFigures, StreamFigures};
use crate::cpu::ProcessCpu;
use crate::population::{ModeratorSetup, SetupReport};
use crate::report::{Table, Verdict, latency_table, render_verdict};
use crate::scenario::{LedgerCheck, count_of, cpu_table, setup_table};
use crate::stats::Counts;

#[derive(Debug, Serialize)]
pub(super) struct Settings {
    pub(super) sellers: usize,
    pub(super) stores: usize,
    pub(super) moderators: usize,
    pub(super) capacity: u32,
    pub(super) submissions: usize,
    pub(super) in_flight: usize,
    pub(super) reject_percent: u32,
    pub(super) think_ms: u64,
    pub(super) decide_via: DecideVia,
    pub(super) points: String,
    pub(super) photo_bytes: usize,
    pub(super) task_id: i64,
}

#[derive(Debug, Serialize)]
pub(super) struct Invariants {
    #[serde(flatten)]
    pub(super) ledger: LedgerCheck,
    pub(super) decisions: DecisionChecks,
    pub(super) results: ResultChecks,
    pub(super) server: ServerChecks,
    pub(super) balances: BalanceChecks,
}

#[derive(Debug, Serialize)]
pub(super) struct ModerationReport {
    pub(super) scenario: &'static str,
    pub(super) run_id: String,
    pub(super) base_url: String,
    pub(super) settings: Settings,
    pub(super) setup: SetupReport,
    pub(super) moderator_setup: ModeratorSetup,
    pub(super) connect_secs: f64,
    pub(super) stream: StreamFigures,
    pub(super) latency: LatencyFigures,
    /// From the first submission sent to the end of the drain.
    pub(super) cpu_during_stream: Vec<ProcessCpu>,
    pub(super) invariants: Invariants,
    pub(super) verdict: Verdict,
}

fn counts_line(counts: &Counts) -> String {
    if counts.total() == 0 {
        return "none".into();
    }
    counts
        .iter()
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ModerationReport {
    pub(super) fn render(&self) -> String {
        let s = &self.settings;
        let mut out = format!(
            "\nModeration queue: {} sellers in {} stores submit {} shelf photos ({} bytes), at most {} \
             waiting; {} moderators of capacity {} decide over {}{}, rejecting {} %; against {} \
             (run {}, task {})\n",
            s.sellers,
            s.stores,
            s.submissions,
            s.photo_bytes,
            s.in_flight,
            s.moderators,
            s.capacity,
            match s.decide_via {
                DecideVia::Ws => "WebSocket",
                DecideVia::Http => "HTTP",
            },
            if s.think_ms > 0 {
                format!(" after {} ms", s.think_ms)
            } else {
                String::new()
            },
            s.reject_percent,
            self.base_url,
            self.run_id,
            s.task_id
        );

        let m = &self.moderator_setup;
        let mut setup = setup_table(&self.setup, self.connect_secs);
        setup.row(
            "moderators",
            format!(
                "{} created, {} reused ({} given the role), {:.1} s",
                m.created, m.reused, m.roles_assigned, m.secs
            ),
        );
        out += &setup.render();

        let st = &self.stream;
        let mut stream = Table::new("Stream");
        stream
            .row("submissions sent", st.sent)
            .row("accepted (201)", count_of(st.accepted, st.sent))
            .row(
                "  to moderation",
                format!("{} ({} approved at once)", st.moderated, st.not_moderated),
            )
            .row("errors", count_of(st.errors.total(), st.sent));
        for (kind, n) in st.errors.iter() {
            stream.row(format!("  {kind}"), n);
        }
        if st.stalled {
            stream.row("stalled", "yes: submitting stopped waiting for results");
        }
        stream
            .row(
                "submissions",
                format!(
                    "{:.1}/s (first sent to last 201: {:.2} s)",
                    st.submissions_per_sec, st.submit_secs
                ),
            )
            .row(
                "items routed",
                format!("{} at {:.1}/s", st.routed, st.routed_per_sec),
            )
            .row(
                "decisions",
                format!("{} at {:.1}/s", st.decided, st.decisions_per_sec),
            )
            .row(
                "results pushed",
                format!(
                    "{} at {:.1}/s (first sent to last result: {:.2} s)",
                    st.results, st.results_per_sec, st.pipeline_secs
                ),
            )
            .row(
                "drain after last 201",
                format!(
                    "{:.3} s{}",
                    st.drain_secs,
                    if st.all_results_arrived {
                        ""
                    } else {
                        " (timed out)"
                    }
                ),
            );
        out += &stream.render();

        let l = &self.latency;
        out += &latency_table(
            "Latency",
            &[
                ("submission sent -> 201", l.submit_http.as_ref()),
                ("sent -> routed to a moderator", l.sent_to_routed.as_ref()),
                ("routed -> decision confirmed", l.routed_to_decided.as_ref()),
                (
                    "decision sent -> result pushed",
                    l.decision_to_result.as_ref(),
                ),
                ("sent -> result pushed", l.sent_to_result.as_ref()),
            ],
        );
        let results = l.sent_to_result.as_ref().map_or(0, |s| s.count);
        out += &format!(
            "  results pushed before their submission's 201: {}\n",
            count_of(l.results_before_201, results)
        );
        out += &cpu_table(
            "CPU during the stream (cores busy on average)",
            &self.cpu_during_stream,
        );

        let inv = &self.invariants;
        let (d, r, sv, b) = (&inv.decisions, &inv.results, &inv.server, &inv.balances);
        let mut table = Table::new("Invariants");
        table
            .row("ledger check", inv.ledger.summary())
            .row(
                "decisions",
                format!(
                    "{} expected, {} once ({} approved, {} rejected), {} never routed, {} not decided, {} twice, {} re-routed",
                    d.expected,
                    d.decided_once,
                    d.approved,
                    d.rejected,
                    d.never_routed,
                    d.routed_not_decided,
                    d.decided_more_than_once,
                    d.rerouted
                ),
            )
            .row("  refused", counts_line(&d.refused))
            .row("  revoked", counts_line(&d.revoked))
            .row(
                "  other items",
                format!(
                    "{} leftovers of earlier runs decided, {} foreign left alone",
                    d.leftovers, d.foreign
                ),
            )
            .row(
                "results",
                format!(
                    "{} expected, {} once, {} missing, {} repeated, {} conflicting, {} misrouted, {} wrong, {} stale after",
                    r.expected,
                    r.pushed_once,
                    r.missing,
                    r.repeated,
                    r.conflicting,
                    r.misrouted,
                    r.wrong_result,
                    r.stale_after_result
                ),
            )
            .row(
                "other events",
                format!(
                    "{} unmatched, {} lag snapshots, error frames: sellers {}, moderators {}",
                    r.unmatched,
                    r.lag_snapshots,
                    counts_line(&r.error_frames),
                    counts_line(&d.error_frames)
                ),
            )
            .row(
                "seq per socket",
                format!(
                    "sellers {} gaps ({} skipped), {} repeats; moderators {} gaps, {} repeats",
                    r.seq.gaps, r.seq.skipped, r.seq.repeats, d.seq.gaps, d.seq.repeats
                ),
            )
            .row(
                "sockets ended early",
                format!(
                    "{} sellers, {} moderators",
                    r.sockets_ended_early, d.sockets_ended_early
                ),
            )
            .row(
                "server: submissions",
                format!(
                    "{}; {} not listed, {} with another status",
                    counts_line(&sv.stored_by_status),
                    sv.not_stored,
                    sv.status_mismatch
                ),
            )
            .row(
                "server: queue",
                format!(
                    "{} of the run's items queued, {} held",
                    sv.items_queued, sv.items_assigned
                ),
            )
            .row(
                "final balances",
                format!(
                    "{} checked, {} mismatched, {} inconclusive",
                    b.checked, b.mismatched, b.inconclusive
                ),
            );
        for example in r.examples.iter().chain(&b.mismatch_examples) {
            table.row("  e.g.", example);
        }
        out += &table.render();
        out += &render_verdict(&self.verdict);
        out
    }
}

//! Tasks and quests: what a task asks of a seller, how an answer is checked and scored,
//! when a task can be done again, who it is for, how quests and streaks add up, and how
//! much a participant's history is trusted.
//!
//! One file a topic: the task kinds and their definitions ([`spec`]), answers checked
//! and scored ([`answers`]), recurrence and periods ([`schedule`]), what a participant
//! may still do within a period ([`limits`]), who a task is for ([`audience`]), quests
//! and streaks ([`quests`]), and trust ([`trust`]).
//!
//! Rules, in one place:
//! - A task is one of eight kinds ([`TaskSpec`]). Photo tasks (shelf photo, self-audit)
//!   always need a moderator; a quiz and a sales plan never do (they score themselves);
//!   the others default one way and may be switched ([`TaskSpec::moderation`]).
//! - An answer is checked against the task in full ([`check`]): every problem is listed,
//!   nothing is half-accepted. A quiz question counts as right only when exactly the
//!   correct options are chosen; the quiz passes at `pass_mark` right answers.
//! - Recurrence cuts time into periods in the program's zone ([`Recurrence::period`]):
//!   `daily` restarts at local midnight, `weekly` on Monday 00:00 local, `none` never.
//!   Within a period a participant may complete a task `max_completions` times and start
//!   at most `max_attempts` attempts ([`Limits`]); a resubmission after rework continues
//!   its attempt rather than starting a new one.
//! - An audience ([`Audience`]) is a place filter (any of its regions *or* stores), a
//!   level filter and a role filter, all of which must hold; an empty list filters nothing.
//! - A chain quest counts its steps in order: step *k* counts only if done at or after
//!   the moment step *k − 1* was done ([`steps_done`]); a set counts steps in any order.
//!   A streak counts consecutive local days (or weeks) with at least one completion and
//!   pays each time the run reaches a multiple of its length ([`streak_bonus_due`]).
//! - Trust ([`trust_score`]) is the share of moderator decisions that were approvals,
//!   pessimistically smoothed so a short history never looks perfect.

crate::stored_enum! {
    /// Where a task submission stands.
    pub enum SubmissionStatus {
        /// Waiting for a moderator.
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
        /// Sent back: fix and submit again.
        Rework = "rework",
        /// A later submission fixed it.
        Resubmitted = "resubmitted",
        /// A quiz below its pass mark.
        Failed = "failed",
    }
}

pub mod answers;
pub mod audience;
pub mod limits;
pub mod quests;
pub mod schedule;
pub mod spec;
pub mod trust;

#[cfg(test)]
mod tests;

/// One problem with a task definition or an answer; `field` is a dotted path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub field: String,
    pub message: String,
}

fn issue(field: impl Into<String>, message: impl Into<String>) -> Issue {
    Issue {
        field: field.into(),
        message: message.into(),
    }
}

/// Checks a display text: not blank, at most `max` characters, no control characters.
fn check_text(issues: &mut Vec<Issue>, field: String, text: &str, max: usize) {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        issues.push(issue(field, "must not be empty"));
    } else if trimmed.chars().count() > max {
        issues.push(issue(field, format!("at most {max} characters")));
    } else if trimmed.chars().any(|c| c.is_control() && c != '\n') {
        issues.push(issue(field, "must not contain control characters"));
    }
}

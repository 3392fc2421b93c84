//! What a participant may still do with a task within one period: completions, open
//! work and attempts ([`Limits`]), and the state a task shows them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How often a participant may do a task within one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Completions (approved or auto-credited submissions).
    pub max_completions: u32,
    /// Attempts (first submissions, passed or not); `None` is unlimited.
    pub max_attempts: Option<u32>,
}

/// What a participant has done with a task in the current period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Usage {
    /// Completed (approved or credited at once).
    pub completed: u32,
    /// Waiting for a moderator.
    pub pending: u32,
    /// Sent back for rework and not yet resubmitted.
    pub rework: u32,
    /// Attempts started (resubmissions continue theirs).
    pub attempts: u32,
}

/// Why a new attempt is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Every completion of the period is done or waiting for a decision.
    CompletionLimit,
    AttemptsExhausted,
}

/// Where a participant stands with a task in the current period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Can be done (again).
    Available,
    /// A moderator sent a submission back: fix and resubmit it.
    Rework,
    /// Every remaining completion waits for a moderator.
    Pending,
    /// Done as often as the period allows.
    Completed,
    /// No attempts left this period.
    Exhausted,
}

impl Limits {
    /// Whether a new attempt (not a resubmission) may start.
    pub fn may_start(&self, usage: &Usage) -> Result<(), Refusal> {
        if usage.completed + usage.pending + usage.rework >= self.max_completions {
            return Err(Refusal::CompletionLimit);
        }
        if self.max_attempts.is_some_and(|max| usage.attempts >= max) {
            return Err(Refusal::AttemptsExhausted);
        }
        Ok(())
    }

    pub fn attempts_left(&self, usage: &Usage) -> Option<u32> {
        self.max_attempts
            .map(|max| max.saturating_sub(usage.attempts))
    }

    pub fn state(&self, usage: &Usage) -> TaskState {
        if usage.rework > 0 {
            TaskState::Rework
        } else if usage.completed >= self.max_completions {
            TaskState::Completed
        } else {
            match self.may_start(usage) {
                Ok(()) => TaskState::Available,
                Err(Refusal::CompletionLimit) => TaskState::Pending,
                Err(Refusal::AttemptsExhausted) => TaskState::Exhausted,
            }
        }
    }
}

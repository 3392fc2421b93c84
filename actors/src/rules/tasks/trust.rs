//! How much a participant's history is trusted ([`trust_score`]) and whether a
//! submission waits for a moderator, is spot-checked or approved at once ([`route`]).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Issue, issue};
use crate::rules::points::Points;

/// Moderator decisions on a participant's submissions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrustHistory {
    pub approved: u32,
    pub rejected: u32,
    pub reworked: u32,
}

impl TrustHistory {
    pub fn decided(&self) -> u32 {
        self.approved + self.rejected + self.reworked
    }
}

/// Pseudo-decisions against the participant added to every history: with 18 approvals
/// and nothing else the score is 90, not 100, so only a long clean record scores high.
const TRUST_PRIOR: u32 = 2;

/// Trust in percent: approvals over all decisions plus [`TRUST_PRIOR`], rounded down.
/// A rework counts against it like a rejection: the work was not acceptable as sent.
pub fn trust_score(history: &TrustHistory) -> u32 {
    let denominator = u64::from(history.decided()) + u64::from(TRUST_PRIOR);
    (u64::from(history.approved) * 100 / denominator) as u32
}

/// A program's rule for approving trusted participants' submissions without a moderator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrustPolicy {
    /// Off by default: every moderated submission is checked by a person.
    pub enabled: bool,
    /// The trust score (percent) at or above which a participant is trusted.
    pub threshold: u32,
    /// Decisions a participant needs before trust counts at all.
    pub min_decisions: u32,
    /// Only tasks paying at most this many base points are low-risk.
    #[schema(value_type = String)]
    pub max_points: Points,
    /// Percent of would-be automatic approvals sent to a moderator anyway.
    pub spot_check_percent: u32,
}

impl Default for TrustPolicy {
    fn default() -> Self {
        Self {
            enabled: false,
            threshold: 90,
            min_decisions: 20,
            max_points: Points::from_hundredths(5_000),
            spot_check_percent: 10,
        }
    }
}

impl TrustPolicy {
    pub fn validate(&self) -> Vec<Issue> {
        let mut issues = Vec::new();
        if self.threshold > 100 {
            issues.push(issue("threshold", "a percent, 0 to 100"));
        }
        if self.spot_check_percent > 100 {
            issues.push(issue("spot_check_percent", "a percent, 0 to 100"));
        }
        if self.max_points.is_negative() {
            issues.push(issue("max_points", "not negative"));
        }
        issues
    }
}

/// Where a moderated submission goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routing {
    /// To a moderator, as always.
    Moderate,
    /// Approved at once: a trusted participant, a low-risk task.
    AutoApprove,
    /// Would have been approved at once, but drew a spot check.
    SpotCheck,
}

/// Routes a moderated submission. `roll` is a uniformly random number in `0..100`.
pub fn route(policy: &TrustPolicy, history: &TrustHistory, base: Points, roll: u32) -> Routing {
    let trusted = policy.enabled
        && history.decided() >= policy.min_decisions
        && trust_score(history) >= policy.threshold
        && base <= policy.max_points;
    if !trusted {
        Routing::Moderate
    } else if roll < policy.spot_check_percent {
        Routing::SpotCheck
    } else {
        Routing::AutoApprove
    }
}

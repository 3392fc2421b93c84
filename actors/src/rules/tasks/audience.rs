//! Who a task or quest is for ([`Audience`]): a place filter, a level filter and a role
//! filter, all of which must hold.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Issue, issue};

/// Who a task or quest is for. Empty lists filter nothing; `regions` and `stores`
/// together are one place filter (either matches).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Audience {
    #[serde(default)]
    pub regions: Vec<i64>,
    #[serde(default)]
    pub stores: Vec<i64>,
    /// Level indices (0 is the first level).
    #[serde(default)]
    pub levels: Vec<u32>,
    /// Role names, e.g. `seller`, `owner`.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// A participant as an audience sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Member {
    pub region: Option<i64>,
    pub store: Option<i64>,
    pub level: u32,
    pub roles: BTreeSet<String>,
}

/// Entries one audience list may hold.
pub const MAX_AUDIENCE: usize = 1000;

impl Audience {
    pub fn includes(&self, member: &Member) -> bool {
        let placed = (self.regions.is_empty() && self.stores.is_empty())
            || member.region.is_some_and(|r| self.regions.contains(&r))
            || member.store.is_some_and(|s| self.stores.contains(&s));
        let leveled = self.levels.is_empty() || self.levels.contains(&member.level);
        let roled = self.roles.is_empty() || self.roles.iter().any(|r| member.roles.contains(r));
        placed && leveled && roled
    }

    /// Sizes only; that ids exist is for the caller to check.
    pub fn validate(&self) -> Vec<Issue> {
        let mut issues = Vec::new();
        for (name, len) in [
            ("regions", self.regions.len()),
            ("stores", self.stores.len()),
            ("levels", self.levels.len()),
            ("roles", self.roles.len()),
        ] {
            if len > MAX_AUDIENCE {
                issues.push(issue(
                    format!("audience.{name}"),
                    format!("at most {MAX_AUDIENCE} entries"),
                ));
            }
        }
        issues
    }
}

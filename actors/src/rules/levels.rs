//! A program's level scale: which level a seller's progress reaches, and what it pays.
//!
//! The more a seller does, the higher their level, and a higher level multiplies the
//! points for every task. A scale is an ordered list of levels; each level has thresholds
//! and a multiplier.
//!
//! Rules, in one place:
//! - A level is **reached when all of its thresholds are met**. A threshold of zero is no
//!   requirement, so a level may ask for tasks only, points only, or both.
//! - Thresholds count **lifetime earned points, never the current balance**: spending
//!   points on a gift card must not demote anyone, and a seller cannot climb by hoarding.
//! - Thresholds strictly increase along the scale in the product order: every threshold of
//!   a level is at least the one of the level below, and at least one is larger. That makes
//!   the scale a chain (reaching a level implies reaching every level below it), so "the
//!   highest level reached" is well defined and found by binary search.
//! - The first level has no thresholds: everyone is on some level.
//! - Multipliers are positive. They are applied with the platform's single rounding rule
//!   ([`Points::apply_rate`]).

use std::cmp::Ordering;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::points::Points;

/// What a participant has accumulated, as far as levels are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Progress {
    pub completed_tasks: u64,
    /// Sum of everything ever credited as income (not the balance: see the module docs).
    pub lifetime_points: Points,
}

/// One step of a scale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    /// Shown to the participant and carried in the `level_up` event.
    pub name: String,
    /// Completed tasks needed to reach the level; 0 means tasks are not required.
    #[serde(default)]
    pub min_completed_tasks: u64,
    /// Lifetime earned points needed to reach the level; 0 means points are not required.
    #[serde(default)]
    pub min_lifetime_points: Points,
    /// Factor on the base points of every task credited at this level, e.g. `1.25`.
    pub multiplier: Decimal,
}

impl Level {
    /// All thresholds met (a zero threshold is always met).
    pub fn is_reached_by(&self, progress: Progress) -> bool {
        progress.completed_tasks >= self.min_completed_tasks
            && progress.lifetime_points >= self.min_lifetime_points
    }

    /// `base` points multiplied by this level's multiplier, rounded by the platform rule.
    /// `None` only if the product overflows an amount.
    pub fn credit_with_multiplier(&self, base: Points) -> Option<Points> {
        base.apply_rate(self.multiplier)
    }

    /// How this level's thresholds compare with `lower`'s in the product order; `Some(Greater)`
    /// is the only acceptable answer for the next level up.
    fn thresholds_cmp(&self, lower: &Level) -> Option<Ordering> {
        let tasks = self.min_completed_tasks.cmp(&lower.min_completed_tasks);
        let points = self.min_lifetime_points.cmp(&lower.min_lifetime_points);
        match (tasks, points) {
            (a, b) if a == b => Some(a),
            (Ordering::Equal, other) | (other, Ordering::Equal) => Some(other),
            _ => None,
        }
    }
}

/// Why a list of levels is not a valid scale. Indices are 0-based positions in the list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LevelScaleError {
    #[error("a level scale needs at least one level")]
    Empty,
    #[error("the first level must have no thresholds, so that everyone is on a level")]
    FirstLevelHasThresholds,
    #[error("level {index} has no name")]
    BlankName { index: usize },
    #[error("level {index} must have a multiplier greater than zero")]
    NonPositiveMultiplier { index: usize },
    #[error(
        "level {index} must require at least as much as the level below it in every threshold, \
         and more in at least one"
    )]
    ThresholdsNotIncreasing { index: usize },
}

/// A validated, ordered level scale (lowest level first).
///
/// Deserialising validates too, so a scale read from configuration is as trustworthy as
/// one built with [`LevelScale::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Level>", into = "Vec<Level>")]
pub struct LevelScale {
    /// Never empty; strictly increasing thresholds (see the module docs).
    levels: Vec<Level>,
}

/// A level change upward, for the `level_up` event. Indices are 0-based positions in the
/// scale; `to_index > from_index`, possibly by more than one when a single credit crosses
/// several thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelUp<'a> {
    pub from_index: usize,
    pub from: &'a Level,
    pub to_index: usize,
    pub to: &'a Level,
}

impl LevelScale {
    pub fn new(levels: Vec<Level>) -> Result<Self, LevelScaleError> {
        let first = levels.first().ok_or(LevelScaleError::Empty)?;
        if first.min_completed_tasks != 0 || first.min_lifetime_points != Points::ZERO {
            return Err(LevelScaleError::FirstLevelHasThresholds);
        }
        for (index, level) in levels.iter().enumerate() {
            if level.name.trim().is_empty() {
                return Err(LevelScaleError::BlankName { index });
            }
            if level.multiplier <= Decimal::ZERO {
                return Err(LevelScaleError::NonPositiveMultiplier { index });
            }
        }
        for (lower_index, pair) in levels.windows(2).enumerate() {
            if let [lower, upper] = pair
                && upper.thresholds_cmp(lower) != Some(Ordering::Greater)
            {
                return Err(LevelScaleError::ThresholdsNotIncreasing {
                    index: lower_index + 1,
                });
            }
        }
        Ok(LevelScale { levels })
    }

    /// The levels, lowest first.
    pub fn levels(&self) -> &[Level] {
        &self.levels
    }

    /// 0-based position of the highest level `progress` reaches.
    pub fn index_for(&self, progress: Progress) -> usize {
        // The scale is a chain, so "reached" is true for a prefix of the levels; the first
        // level is always reached, so the prefix is never empty.
        self.levels
            .partition_point(|level| level.is_reached_by(progress))
            .saturating_sub(1)
    }

    /// The highest level `progress` reaches.
    pub fn level_for(&self, progress: Progress) -> &Level {
        &self.levels[self.index_for(progress)]
    }

    /// The level-up between two snapshots of one participant's progress, if any.
    ///
    /// Only upward moves are reported: lifetime points fall only when a credit is reversed
    /// (fraud, a rejected receipt), and a demotion is not an event to celebrate; callers
    /// that display the current level read [`LevelScale::level_for`] after every change.
    pub fn level_up(&self, before: Progress, after: Progress) -> Option<LevelUp<'_>> {
        let from_index = self.index_for(before);
        let to_index = self.index_for(after);
        (to_index > from_index).then(|| LevelUp {
            from_index,
            from: &self.levels[from_index],
            to_index,
            to: &self.levels[to_index],
        })
    }
}

impl TryFrom<Vec<Level>> for LevelScale {
    type Error = LevelScaleError;

    fn try_from(levels: Vec<Level>) -> Result<Self, Self::Error> {
        LevelScale::new(levels)
    }
}

impl From<LevelScale> for Vec<Level> {
    fn from(scale: LevelScale) -> Self {
        scale.levels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(name: &str, tasks: u64, points: i64, multiplier: &str) -> Level {
        Level {
            name: name.to_owned(),
            min_completed_tasks: tasks,
            min_lifetime_points: Points::from_hundredths(points * 100),
            multiplier: multiplier.parse().unwrap_or_default(),
        }
    }

    fn progress(tasks: u64, points: i64) -> Progress {
        Progress {
            completed_tasks: tasks,
            lifetime_points: Points::from_hundredths(points * 100),
        }
    }

    /// Bronze (everyone), Silver: 10 tasks, Gold: 30 tasks and 5,000 points,
    /// Platinum: 30 tasks and 20,000 points.
    fn scale() -> LevelScale {
        let levels = vec![
            level("Bronze", 0, 0, "1"),
            level("Silver", 10, 0, "1.1"),
            level("Gold", 30, 5_000, "1.25"),
            level("Platinum", 30, 20_000, "1.5"),
        ];
        match LevelScale::new(levels) {
            Ok(scale) => scale,
            Err(e) => panic!("test scale is valid: {e}"),
        }
    }

    #[test]
    fn everyone_starts_on_the_first_level() {
        assert_eq!(scale().level_for(Progress::default()).name, "Bronze");
    }

    #[test]
    fn a_level_needs_all_of_its_thresholds() {
        let scale = scale();
        assert_eq!(scale.level_for(progress(9, 1_000_000)).name, "Bronze");
        assert_eq!(scale.level_for(progress(10, 0)).name, "Silver");
        // Gold needs 30 tasks AND 5,000 points: one without the other is still Silver.
        assert_eq!(scale.level_for(progress(100, 4_999)).name, "Silver");
        assert_eq!(scale.level_for(progress(29, 5_000)).name, "Silver");
        assert_eq!(scale.level_for(progress(30, 5_000)).name, "Gold");
        assert_eq!(scale.level_for(progress(30, 19_999)).name, "Gold");
        assert_eq!(scale.level_for(progress(30, 20_000)).name, "Platinum");
        assert_eq!(
            scale.level_for(progress(u64::MAX, i64::MAX / 100)).name,
            "Platinum"
        );
    }

    #[test]
    fn index_for_matches_a_linear_scan() {
        let scale = scale();
        for tasks in 0..40 {
            for points in (0..25_000).step_by(500) {
                let p = progress(tasks, points);
                let linear = scale
                    .levels()
                    .iter()
                    .rposition(|l| l.is_reached_by(p))
                    .unwrap_or(0);
                assert_eq!(scale.index_for(p), linear, "{p:?}");
            }
        }
    }

    #[test]
    fn reports_level_ups_including_jumps() {
        let scale = scale();
        let up = scale.level_up(progress(9, 0), progress(10, 0));
        assert_eq!(
            up.map(|u| (
                u.from_index,
                u.from.name.as_str(),
                u.to_index,
                u.to.name.as_str()
            )),
            Some((0, "Bronze", 1, "Silver"))
        );
        let jump = scale.level_up(progress(29, 0), progress(30, 25_000));
        assert_eq!(jump.map(|u| (u.from_index, u.to_index)), Some((1, 3)));
        assert_eq!(
            scale.level_up(progress(10, 0), progress(11, 100)),
            None,
            "same level"
        );
        assert_eq!(
            scale.level_up(progress(30, 20_000), progress(30, 19_000)),
            None,
            "a demotion after a reversal is not a level-up"
        );
    }

    #[test]
    fn credits_use_the_level_multiplier_and_the_points_rounding_rule() {
        let scale = scale();
        let gold = scale.level_for(progress(30, 5_000));
        assert_eq!(
            gold.credit_with_multiplier(Points::from_hundredths(1000)),
            Some(Points::from_hundredths(1250))
        );
        let platinum = scale.level_for(progress(30, 20_000));
        // 1.5 x 0.03 = 0.045 -> 0.05 (half away from zero).
        assert_eq!(
            platinum.credit_with_multiplier(Points::from_hundredths(3)),
            Some(Points::from_hundredths(5))
        );
    }

    #[test]
    fn validation_rejects_broken_scales() {
        use LevelScaleError::*;
        let cases: Vec<(Vec<Level>, LevelScaleError)> = vec![
            (vec![], Empty),
            (vec![level("A", 1, 0, "1")], FirstLevelHasThresholds),
            (vec![level("A", 0, 1, "1")], FirstLevelHasThresholds),
            (vec![level(" ", 0, 0, "1")], BlankName { index: 0 }),
            (
                vec![level("A", 0, 0, "0")],
                NonPositiveMultiplier { index: 0 },
            ),
            (
                vec![level("A", 0, 0, "1"), level("B", 5, 0, "-1")],
                NonPositiveMultiplier { index: 1 },
            ),
            (
                vec![level("A", 0, 0, "1"), level("B", 0, 0, "1.1")],
                ThresholdsNotIncreasing { index: 1 },
            ),
            (
                vec![
                    level("A", 0, 0, "1"),
                    level("B", 10, 0, "1.1"),
                    level("C", 10, 0, "1.2"),
                ],
                ThresholdsNotIncreasing { index: 2 },
            ),
            (
                vec![
                    level("A", 0, 0, "1"),
                    level("B", 10, 0, "1.1"),
                    level("C", 5, 100, "1.2"),
                ],
                ThresholdsNotIncreasing { index: 2 },
            ),
            (
                // Points-only after tasks-only: 0 tasks and 100 points would reach C but not B.
                vec![
                    level("A", 0, 0, "1"),
                    level("B", 10, 0, "1.1"),
                    level("C", 0, 100, "1.2"),
                ],
                ThresholdsNotIncreasing { index: 2 },
            ),
        ];
        for (levels, expected) in cases {
            assert_eq!(LevelScale::new(levels.clone()), Err(expected), "{levels:?}");
        }
    }

    #[test]
    fn equal_in_one_threshold_and_higher_in_the_other_is_increasing() {
        let levels = vec![
            level("A", 0, 0, "1"),
            level("B", 10, 0, "1.1"),
            level("C", 10, 100, "1.2"),
        ];
        assert!(LevelScale::new(levels).is_ok());
    }

    #[test]
    fn deserialising_validates() -> Result<(), serde_json::Error> {
        let json = r#"[
            {"name": "Bronze", "multiplier": "1"},
            {"name": "Silver", "min_completed_tasks": 10, "multiplier": "1.1"},
            {"name": "Gold", "min_completed_tasks": 10, "min_lifetime_points": "500.00", "multiplier": "1.25"}
        ]"#;
        let scale: LevelScale = serde_json::from_str(json)?;
        assert_eq!(scale.levels().len(), 3);
        assert_eq!(scale.level_for(progress(10, 500)).name, "Gold");
        let round_trip: LevelScale = serde_json::from_str(&serde_json::to_string(&scale)?)?;
        assert_eq!(round_trip, scale);

        let unordered = r#"[{"name": "A", "multiplier": "1"}, {"name": "B", "multiplier": "2"}]"#;
        assert!(serde_json::from_str::<LevelScale>(unordered).is_err());
        Ok(())
    }
}

//! Moderation routing: the order in which the live queue is worked, and which online
//! moderator takes each item.
//!
//! - **Order**: oldest first, with per-kind boosts. An item's effective time is
//!   `created_at − boost(kind)`, so a payout boosted by an hour is served before a receipt
//!   up to an hour older than it, and never starves anything older than that. Ties go to
//!   the earlier `created_at`, then the lower item id, so the order is total.
//! - **Eligibility**: a moderator may take an item when its kind is among the kinds they
//!   handle and its region among their regions. An item without a region (e.g. a payout
//!   of a participant outside any region) goes only to moderators who cover all regions:
//!   a regional moderator must not see what lies outside their region.
//! - **Choice**: among eligible moderators with `held < capacity`, the least loaded by
//!   `held / capacity`; ties by fewer items held, then lower moderator id. The ratio
//!   (rather than the count) lets a moderator with capacity 20 take twice the share of one
//!   with capacity 10; the tie-breaks make the choice deterministic, so equal moderators
//!   are served round-robin.
//!
//! The actor that owns the queue holds leases, timeouts and re-queueing; these functions
//! only decide.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a moderator is asked to decide on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Registration,
    Receipt,
    TaskSubmission,
    CodeReview,
    Payout,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown moderation item kind {0:?}")]
pub struct UnknownItemKind(pub String);

impl ItemKind {
    pub const ALL: [ItemKind; 5] = [
        ItemKind::Registration,
        ItemKind::Receipt,
        ItemKind::TaskSubmission,
        ItemKind::CodeReview,
        ItemKind::Payout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Registration => "registration",
            ItemKind::Receipt => "receipt",
            ItemKind::TaskSubmission => "task_submission",
            ItemKind::CodeReview => "code_review",
            ItemKind::Payout => "payout",
        }
    }
}

impl fmt::Display for ItemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ItemKind {
    type Err = UnknownItemKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ItemKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownItemKind(s.to_owned()))
    }
}

/// An item waiting in the moderation queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: i64,
    pub kind: ItemKind,
    /// `None` for items that belong to no region; see the module docs.
    pub region_id: Option<i64>,
    pub created_at_ms: i64,
}

/// Which values of something a moderator covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope<T> {
    All,
    Only(BTreeSet<T>),
}

impl<T: Ord> Scope<T> {
    pub fn allows(&self, value: &T) -> bool {
        match self {
            Scope::All => true,
            Scope::Only(values) => values.contains(value),
        }
    }
}

/// An online moderator as the router sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moderator {
    pub id: i64,
    /// Items the moderator may hold at once; 0 takes nothing (e.g. on a break).
    pub capacity: u32,
    /// Items currently leased to the moderator.
    pub held: u32,
    pub kinds: Scope<ItemKind>,
    pub regions: Scope<i64>,
}

impl Moderator {
    /// Kind and region allow it (capacity is not considered).
    pub fn may_take(&self, item: &Item) -> bool {
        let region_allowed = match (&self.regions, item.region_id) {
            (Scope::All, _) => true,
            (Scope::Only(regions), Some(region)) => regions.contains(&region),
            (Scope::Only(_), None) => false,
        };
        region_allowed && self.kinds.allows(&item.kind)
    }
}

/// Milliseconds by which each kind jumps the queue; kinds not listed get no boost.
pub type PriorityBoosts = HashMap<ItemKind, i64>;

/// Sorting items by this key ascending gives the order the queue is worked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueKey {
    /// `created_at_ms − boost`, saturating.
    pub effective_at_ms: i64,
    pub created_at_ms: i64,
    pub item_id: i64,
}

pub fn queue_key(item: &Item, boosts: &PriorityBoosts) -> QueueKey {
    let boost = boosts.get(&item.kind).copied().unwrap_or(0);
    QueueKey {
        effective_at_ms: item.created_at_ms.saturating_sub(boost),
        created_at_ms: item.created_at_ms,
        item_id: item.id,
    }
}

/// The moderator who should take `item` now, or `None` if every eligible moderator is full
/// (or none is eligible).
pub fn pick_moderator(item: &Item, moderators: &[Moderator]) -> Option<i64> {
    least_loaded(item, moderators, |index| moderators[index].held).map(|index| moderators[index].id)
}

/// Assigns as much of `queue` as fits: walks it in queue order and gives each item to the
/// moderator [`pick_moderator`] would choose, counting the items handed out so far, so no
/// moderator ends above capacity. Returns `(item_id, moderator_id)` pairs in queue order.
///
/// An item nobody can take is skipped, not waited on: a backlog of one kind must not block
/// the other kinds behind it.
pub fn assign_batch(
    queue: &[Item],
    moderators: &[Moderator],
    boosts: &PriorityBoosts,
) -> Vec<(i64, i64)> {
    let mut held: Vec<u32> = moderators.iter().map(|m| m.held).collect();
    let mut room: u64 = moderators
        .iter()
        .map(|m| u64::from(m.capacity.saturating_sub(m.held)))
        .sum();
    let mut ordered: Vec<&Item> = queue.iter().collect();
    ordered.sort_by_cached_key(|item| queue_key(item, boosts));

    let mut assignments = Vec::new();
    for item in ordered {
        if room == 0 {
            break;
        }
        if let Some(index) = least_loaded(item, moderators, |index| held[index]) {
            held[index] += 1;
            room -= 1;
            assignments.push((item.id, moderators[index].id));
        }
    }
    assignments
}

/// Index of the moderator to take `item`, given how many items each holds.
fn least_loaded(
    item: &Item,
    moderators: &[Moderator],
    held: impl Fn(usize) -> u32,
) -> Option<usize> {
    moderators
        .iter()
        .enumerate()
        .map(|(index, moderator)| (index, moderator, held(index)))
        .filter(|&(_, moderator, held)| held < moderator.capacity && moderator.may_take(item))
        .min_by(|&(_, a, a_held), &(_, b, b_held)| {
            // a_held / a.capacity vs b_held / b.capacity without division; both capacities
            // are positive here, and u32 × u32 fits u64.
            let a_load = u64::from(a_held) * u64::from(b.capacity);
            let b_load = u64::from(b_held) * u64::from(a.capacity);
            a_load
                .cmp(&b_load)
                .then(a_held.cmp(&b_held))
                .then(a.id.cmp(&b.id))
        })
        .map(|(index, _, _)| index)
}

crate::stored_enum! {
    /// Where a moderation item stands.
    pub enum ItemStatus {
        /// Waiting for a moderator.
        Queued = "queued",
        /// Held by a moderator under a lease.
        Assigned = "assigned",
        Decided = "decided",
        /// Taken back before a decision (its subject changed or went away).
        Withdrawn = "withdrawn",
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use std::collections::HashSet;

    use super::*;

    fn item(id: i64, kind: ItemKind, region_id: Option<i64>, created_at_ms: i64) -> Item {
        Item {
            id,
            kind,
            region_id,
            created_at_ms,
        }
    }

    fn moderator(id: i64, capacity: u32, held: u32) -> Moderator {
        Moderator {
            id,
            capacity,
            held,
            kinds: Scope::All,
            regions: Scope::All,
        }
    }

    fn only<T: Ord>(values: impl IntoIterator<Item = T>) -> Scope<T> {
        Scope::Only(values.into_iter().collect())
    }

    fn count_for(assignments: &[(i64, i64)], moderator_id: i64) -> usize {
        assignments
            .iter()
            .filter(|&&(_, m)| m == moderator_id)
            .count()
    }

    #[test]
    fn kinds_parse_and_serialise_as_snake_case() -> Result<(), serde_json::Error> {
        for kind in ItemKind::ALL {
            assert_eq!(kind.as_str().parse::<ItemKind>(), Ok(kind));
            assert_eq!(serde_json::to_string(&kind)?, format!("\"{kind}\""));
        }
        assert!("TaskSubmission".parse::<ItemKind>().is_err());
        Ok(())
    }

    #[test]
    fn queue_is_oldest_first_with_boosts() {
        const MINUTE: i64 = 60_000;
        let boosts = PriorityBoosts::from([(ItemKind::Payout, 60 * MINUTE)]);
        let old_receipt = item(1, ItemKind::Receipt, None, 0);
        let recent_receipt = item(2, ItemKind::Receipt, None, 90 * MINUTE);
        let payout = item(3, ItemKind::Payout, None, 120 * MINUTE); // effective 60 min
        let mut queue = [recent_receipt, payout, old_receipt];
        queue.sort_by_key(|i| queue_key(i, &boosts));
        let order: Vec<i64> = queue.iter().map(|i| i.id).collect();
        // The payout overtakes the receipt 30 minutes older, not the one 2 hours older.
        assert_eq!(order, vec![1, 3, 2]);
    }

    #[test]
    fn queue_ties_go_to_the_older_item_then_the_lower_id() {
        let boosts = PriorityBoosts::from([(ItemKind::Payout, 100)]);
        let payout = item(5, ItemKind::Payout, None, 200); // effective 100
        let receipt = item(9, ItemKind::Receipt, None, 100); // effective 100, created earlier
        assert!(queue_key(&receipt, &boosts) < queue_key(&payout, &boosts));
        let twin = item(4, ItemKind::Receipt, None, 100);
        assert!(queue_key(&twin, &boosts) < queue_key(&receipt, &boosts));
        let extreme = item(1, ItemKind::Payout, None, i64::MIN);
        assert_eq!(
            queue_key(&extreme, &boosts).effective_at_ms,
            i64::MIN,
            "saturates"
        );
    }

    #[test]
    fn picks_the_least_loaded_by_ratio() {
        let item = item(1, ItemKind::Receipt, Some(7), 0);
        // 1/2 = 0.5 vs 2/10 = 0.2: the busier-looking moderator with more room wins.
        let moderators = [moderator(1, 2, 1), moderator(2, 10, 2)];
        assert_eq!(pick_moderator(&item, &moderators), Some(2));
        // Equal ratio 1/2 = 2/4: fewer held wins.
        let moderators = [moderator(1, 4, 2), moderator(2, 2, 1)];
        assert_eq!(pick_moderator(&item, &moderators), Some(2));
        // Same ratio and held: lower id wins, wherever it is in the list.
        let moderators = [moderator(9, 5, 1), moderator(3, 5, 1)];
        assert_eq!(pick_moderator(&item, &moderators), Some(3));
    }

    #[test]
    fn full_and_ineligible_moderators_are_passed_over() {
        let receipt_in_7 = item(1, ItemKind::Receipt, Some(7), 0);
        let full = moderator(1, 3, 3);
        let over_capacity = moderator(2, 2, 5);
        let on_break = moderator(3, 0, 0);
        let payouts_only = Moderator {
            kinds: only([ItemKind::Payout]),
            ..moderator(4, 10, 0)
        };
        let other_region = Moderator {
            regions: only([8]),
            ..moderator(5, 10, 0)
        };
        let busy_but_eligible = Moderator {
            kinds: only([ItemKind::Receipt, ItemKind::Registration]),
            regions: only([7, 8]),
            ..moderator(6, 10, 9)
        };
        let mut moderators = vec![full, over_capacity, on_break, payouts_only, other_region];
        assert_eq!(pick_moderator(&receipt_in_7, &moderators), None);
        moderators.push(busy_but_eligible);
        assert_eq!(pick_moderator(&receipt_in_7, &moderators), Some(6));
        assert_eq!(pick_moderator(&receipt_in_7, &[]), None);
    }

    #[test]
    fn items_without_a_region_go_only_to_moderators_of_all_regions() {
        let payout = item(1, ItemKind::Payout, None, 0);
        let regional = Moderator {
            regions: only([1, 2, 3]),
            ..moderator(1, 10, 0)
        };
        assert_eq!(
            pick_moderator(&payout, std::slice::from_ref(&regional)),
            None
        );
        assert_eq!(
            pick_moderator(&payout, &[regional, moderator(2, 10, 9)]),
            Some(2)
        );
    }

    #[test]
    fn equal_moderators_split_the_queue_evenly() {
        let queue: Vec<Item> = (0..300)
            .map(|id| item(id, ItemKind::Receipt, Some(1), id))
            .collect();
        for capacity in [100, 1000] {
            let moderators = [
                moderator(10, capacity, 0),
                moderator(20, capacity, 0),
                moderator(30, capacity, 0),
            ];
            let assignments = assign_batch(&queue, &moderators, &PriorityBoosts::new());
            assert_eq!(assignments.len(), 300);
            for m in &moderators {
                assert_eq!(count_for(&assignments, m.id), 100, "capacity {capacity}");
            }
        }
    }

    #[test]
    fn shares_follow_capacity_and_current_load() {
        let queue: Vec<Item> = (0..40)
            .map(|id| item(id, ItemKind::Receipt, None, id))
            .collect();
        // Room 10 and 30, equal fill ratio throughout: 10 and 30 items.
        let moderators = [moderator(1, 10, 0), moderator(2, 30, 0)];
        let assignments = assign_batch(&queue, &moderators, &PriorityBoosts::new());
        assert_eq!(
            (count_for(&assignments, 1), count_for(&assignments, 2)),
            (10, 30)
        );
        // A moderator already holding 5 of 10 gets new work only once the other catches up.
        let moderators = [moderator(1, 10, 5), moderator(2, 10, 0)];
        let assignments = assign_batch(&queue[..5], &moderators, &PriorityBoosts::new());
        assert_eq!(count_for(&assignments, 2), 5);
    }

    #[test]
    fn batch_serves_the_queue_in_priority_order() {
        let boosts = PriorityBoosts::from([(ItemKind::Payout, 1_000)]);
        let queue = [
            item(1, ItemKind::Receipt, None, 100),
            item(2, ItemKind::Receipt, None, 50),
            item(3, ItemKind::Payout, None, 900), // effective -100: first
        ];
        let assignments = assign_batch(&queue, &[moderator(1, 2, 0)], &boosts);
        assert_eq!(assignments, vec![(3, 1), (2, 1)]);
    }

    #[test]
    fn an_item_nobody_can_take_does_not_block_the_rest() {
        let queue = [
            item(1, ItemKind::Payout, None, 0),
            item(2, ItemKind::Receipt, None, 1),
        ];
        let receipts_only = Moderator {
            kinds: only([ItemKind::Receipt]),
            ..moderator(1, 5, 0)
        };
        assert_eq!(
            assign_batch(&queue, &[receipts_only], &PriorityBoosts::new()),
            vec![(2, 1)]
        );
    }

    #[test]
    fn random_batches_respect_capacity_eligibility_and_are_maximal() {
        let mut rng = StdRng::seed_from_u64(0xA55);
        let boosts =
            PriorityBoosts::from([(ItemKind::Payout, 5_000), (ItemKind::CodeReview, 1_000)]);
        for round in 0..300 {
            let moderators: Vec<Moderator> = (0..rng.random_range(0..6))
                .map(|id| {
                    let capacity = rng.random_range(0..8);
                    Moderator {
                        id,
                        capacity,
                        held: rng.random_range(0..=capacity + 1),
                        kinds: if rng.random_bool(0.5) {
                            Scope::All
                        } else {
                            only(ItemKind::ALL.into_iter().filter(|_| rng.random_bool(0.5)))
                        },
                        regions: if rng.random_bool(0.5) {
                            Scope::All
                        } else {
                            only((1..4).filter(|_| rng.random_bool(0.5)))
                        },
                    }
                })
                .collect();
            let queue: Vec<Item> = (0..rng.random_range(0..40))
                .map(|id| Item {
                    id,
                    kind: ItemKind::ALL[rng.random_range(0..ItemKind::ALL.len())],
                    region_id: rng.random_bool(0.8).then(|| rng.random_range(1..4)),
                    created_at_ms: rng.random_range(0..10_000),
                })
                .collect();
            let assignments = assign_batch(&queue, &moderators, &boosts);

            let mut held: HashMap<i64, u32> = moderators.iter().map(|m| (m.id, m.held)).collect();
            let mut assigned = HashSet::new();
            for &(item_id, moderator_id) in &assignments {
                assert!(
                    assigned.insert(item_id),
                    "round {round}: item {item_id} assigned twice"
                );
                let item = &queue[item_id as usize];
                let m = &moderators[moderator_id as usize];
                assert!(m.may_take(item), "round {round}: ineligible assignment");
                let h = held.entry(moderator_id).or_default();
                *h += 1;
                assert!(*h <= m.capacity, "round {round}: capacity exceeded");
            }
            // Maximal: whatever is left, no eligible moderator has room for it.
            for item in queue.iter().filter(|i| !assigned.contains(&i.id)) {
                let left_for_it = moderators.iter().any(|m| {
                    m.may_take(item) && held.get(&m.id).copied().unwrap_or(0) < m.capacity
                });
                assert!(!left_for_it, "round {round}: item {} left behind", item.id);
            }
        }
    }
}

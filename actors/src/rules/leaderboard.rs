//! An in-memory leaderboard for one board (a campaign × window × cohort), answering
//! rank, top-N and around-me in O(log n).
//!
//! Ordering (rank 1 is first):
//! 1. higher score first;
//! 2. on equal scores, the participant who **reached** the score earlier first: whoever got
//!    there first keeps the place;
//! 3. then the lower participant id, so the order is total and every rank is unique.
//!
//! `reached_at` is the time of the change that produced the current score. A change that
//! leaves the score as it is (same score, a zero delta) does not move it, so re-sending a
//! score cannot cost anyone their place. A decrease also counts as reaching the new, lower
//! score at that moment: we do not know when the participant first passed that score on
//! the way up, and ranking them behind everyone who held it before is the fair reading.
//!
//! Only positive scores are on the board. A score that drops to zero or below (points
//! expired or reversed) removes the entry, so a board lists who has actually earned
//! something in its window and `len()` is the number of ranked participants.
//!
//! # Structure
//!
//! A treap (a binary search tree ordered by standing, heap-ordered by random priorities,
//! hence balanced in expectation) with subtree sizes in every node, which turn "how many
//! are ahead of me" and "who is at rank r" into one root-to-leaf walk each. Nodes live in
//! one `Vec` and refer to each other by `u32` index, with freed slots chained into a free
//! list: no allocation per node and 40 bytes a node. A `HashMap` from participant id to
//! node index finds a participant's standing, which is the key for the tree walks. About
//! 70 bytes per participant in all (40 for the node, ~30 for the index with its slack), so
//! a million-seat board is ~70 MB.
//!
//! At a million entries the average depth is ~26 and each level is one dependent memory
//! access, which is what bounds a rank query (a few microseconds). A counted B-tree would
//! cut the dependent accesses about threefold; the treap is kept because it is far simpler
//! and already serves far more updates per second than a campaign produces.
//!
//! A treap's balance depends only on the priorities, which are a hash of the node's slot
//! keyed by a random per-board seed, so no pattern of scores (sorted inserts included) can
//! degrade it.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde::Serialize;

/// One row of a board as shown to people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// 1-based.
    pub rank: u64,
    pub participant_id: i64,
    /// In the board's unit; points boards use hundredths ([`super::points::Points::hundredths`]).
    pub score: i64,
    pub reached_at_ms: i64,
}

/// A participant's position key: sorting standings ascending lists the board from rank 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Standing {
    score: i64,
    reached_at_ms: i64,
    participant_id: i64,
}

impl Ord for Standing {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .cmp(&self.score)
            .then(self.reached_at_ms.cmp(&other.reached_at_ms))
            .then(self.participant_id.cmp(&other.participant_id))
    }
}

impl PartialOrd for Standing {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Index of a node in the arena; `NIL` is the empty tree.
type NodeId = u32;
const NIL: NodeId = NodeId::MAX;

#[derive(Debug, Clone)]
struct Node {
    standing: Standing,
    left: NodeId,
    /// In a freed node: the next free slot.
    right: NodeId,
    /// Sizes of the two subtrees, kept in the parent rather than in each child, so that a
    /// walk from the root reads only the nodes on its path.
    left_size: u32,
    right_size: u32,
}

impl Node {
    fn leaf(standing: Standing) -> Node {
        Node {
            standing,
            left: NIL,
            right: NIL,
            left_size: 0,
            right_size: 0,
        }
    }
}

/// See the module docs for ordering, removal and complexity.
#[derive(Debug, Clone)]
pub struct Leaderboard {
    nodes: Vec<Node>,
    root: NodeId,
    free_head: NodeId,
    by_participant: HashMap<i64, NodeId>,
    /// Key of the hash that gives each slot its treap priority (see [`Leaderboard::priority`]).
    priority_seed: u64,
}

impl Default for Leaderboard {
    fn default() -> Self {
        Self::new()
    }
}

impl Leaderboard {
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// A board with room for `participants` entries before it reallocates.
    pub fn with_capacity(participants: usize) -> Self {
        Leaderboard {
            nodes: Vec::with_capacity(participants),
            root: NIL,
            free_head: NIL,
            by_participant: HashMap::with_capacity(participants),
            // Random per board, so nobody can predict priorities and choose scores that
            // line keys up with them into a degenerate (list-shaped) tree.
            priority_seed: rand::random(),
        }
    }

    /// Participants on the board (all with a positive score).
    pub fn len(&self) -> usize {
        self.by_participant.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_participant.is_empty()
    }

    pub fn score(&self, participant_id: i64) -> Option<i64> {
        self.standing_of(participant_id).map(|s| s.score)
    }

    /// Sets a participant's score as of `reached_at_ms` and returns their new rank, or
    /// `None` when the score is zero or below and they are (now) off the board. Setting the
    /// score they already have keeps their original `reached_at`.
    ///
    /// O(log n) expected.
    ///
    /// # Panics
    ///
    /// If the board would hold more than `u32::MAX - 1` entries (about 170 GB), like
    /// `Vec` panics on capacity overflow.
    pub fn set_score(
        &mut self,
        participant_id: i64,
        score: i64,
        reached_at_ms: i64,
    ) -> Option<u64> {
        let current = self.standing_of(participant_id);
        if let Some(current) = current
            && current.score == score
        {
            return Some(self.rank_of(&current));
        }
        let reused = current.map(|current| {
            let (root, node) = self.detach(self.root, &current);
            self.root = root;
            node
        });
        if score <= 0 {
            if let Some(node) = reused {
                self.release(node);
                self.by_participant.remove(&participant_id);
            }
            return None;
        }
        let standing = Standing {
            score,
            reached_at_ms,
            participant_id,
        };
        let node = match reused {
            Some(node) => {
                self.reset(node, standing);
                node
            }
            None => {
                let node = self.allocate(standing);
                self.by_participant.insert(participant_id, node);
                node
            }
        };
        let mut ahead = 0;
        self.root = self.insert(self.root, node, &mut ahead);
        Some(ahead + 1)
    }

    /// Adds `delta` (negative for expired or reversed points) to the participant's score,
    /// starting from 0 if they are not on the board, and returns the new rank as
    /// [`Leaderboard::set_score`] does. The sum saturates at the `i64` bounds.
    pub fn add_score(&mut self, participant_id: i64, delta: i64, at_ms: i64) -> Option<u64> {
        let current = self.score(participant_id).unwrap_or(0);
        self.set_score(participant_id, current.saturating_add(delta), at_ms)
    }

    /// Takes the participant off the board; `false` if they were not on it.
    pub fn remove(&mut self, participant_id: i64) -> bool {
        let Some(standing) = self.standing_of(participant_id) else {
            return false;
        };
        let (root, node) = self.detach(self.root, &standing);
        self.root = root;
        self.release(node);
        self.by_participant.remove(&participant_id);
        true
    }

    /// 1-based rank, `None` when not on the board. O(log n) expected.
    pub fn rank(&self, participant_id: i64) -> Option<u64> {
        self.standing_of(participant_id).map(|s| self.rank_of(&s))
    }

    pub fn entry(&self, participant_id: i64) -> Option<Entry> {
        let standing = self.standing_of(participant_id)?;
        Some(entry(self.rank_of(&standing), standing))
    }

    /// The first `n` entries (fewer if the board is shorter). O(log n + n).
    pub fn top(&self, n: usize) -> Vec<Entry> {
        self.entries_from_rank(1, n)
    }

    /// Up to `count` consecutive entries from 1-based rank `first` (fewer at the end of
    /// the board). O(log n + count).
    pub fn from_rank(&self, first: u64, count: usize) -> Vec<Entry> {
        self.entries_from_rank(first, count)
    }

    /// The participant's entry with up to `k` neighbours on each side, clipped at both
    /// ends of the board; empty when the participant is not on the board. O(log n + k).
    pub fn around(&self, participant_id: i64, k: usize) -> Vec<Entry> {
        let Some(rank) = self.rank(participant_id) else {
            return Vec::new();
        };
        let k = u64::try_from(k).unwrap_or(u64::MAX);
        let first = rank.saturating_sub(k).max(1);
        let last = rank.saturating_add(k).min(self.len() as u64);
        let count = usize::try_from(last - first + 1).unwrap_or(usize::MAX);
        self.entries_from_rank(first, count)
    }

    fn standing_of(&self, participant_id: i64) -> Option<Standing> {
        let &node = self.by_participant.get(&participant_id)?;
        Some(self.node(node).standing)
    }

    /// Up to `count` consecutive entries starting at 1-based `first_rank`.
    fn entries_from_rank(&self, first_rank: u64, count: usize) -> Vec<Entry> {
        let mut out = Vec::with_capacity(count.min(self.len()));
        if count == 0 || first_rank == 0 {
            return out;
        }
        // In-order walk from rank `first_rank`: the stack holds the nodes still to visit
        // whose left subtrees are already done, nearest first.
        let mut stack = Vec::new();
        let mut skip = first_rank - 1;
        let mut t = self.root;
        while t != NIL {
            let left_size = u64::from(self.node(t).left_size);
            match skip.cmp(&left_size) {
                Ordering::Less => {
                    stack.push(t);
                    t = self.node(t).left;
                }
                Ordering::Equal => {
                    stack.push(t);
                    break;
                }
                Ordering::Greater => {
                    skip -= left_size + 1;
                    t = self.node(t).right;
                }
            }
        }
        let mut rank = first_rank;
        while out.len() < count {
            let Some(t) = stack.pop() else { break };
            out.push(entry(rank, self.node(t).standing));
            rank += 1;
            let mut next = self.node(t).right;
            while next != NIL {
                stack.push(next);
                next = self.node(next).left;
            }
        }
        out
    }

    fn rank_of(&self, standing: &Standing) -> u64 {
        let mut ahead = 0_u64;
        let mut t = self.root;
        while t != NIL {
            let node = self.node(t);
            match standing.cmp(&node.standing) {
                Ordering::Less => t = node.left,
                Ordering::Equal => return ahead + u64::from(node.left_size) + 1,
                Ordering::Greater => {
                    ahead += u64::from(node.left_size) + 1;
                    t = node.right;
                }
            }
        }
        // Callers pass standings taken from the index, which are always in the tree.
        debug_assert!(false, "rank_of a standing that is not on the board");
        ahead + 1
    }

    fn node(&self, t: NodeId) -> &Node {
        &self.nodes[t as usize]
    }

    fn node_mut(&mut self, t: NodeId) -> &mut Node {
        &mut self.nodes[t as usize]
    }

    /// Nodes in subtree `t`.
    fn size(&self, t: NodeId) -> u32 {
        if t == NIL {
            0
        } else {
            let node = self.node(t);
            node.left_size + node.right_size + 1
        }
    }

    fn update_sizes(&mut self, t: NodeId) {
        let node = self.node(t);
        let (left_size, right_size) = (self.size(node.left), self.size(node.right));
        let node = self.node_mut(t);
        node.left_size = left_size;
        node.right_size = right_size;
    }

    /// The treap priority of slot `t`: a keyed splitmix64 hash of the slot index. A hash
    /// instead of a stored random number saves 4 bytes a node; it is just as independent of
    /// the scores, which is all a treap needs for expected O(log n) depth. A reused slot
    /// keeps its priority, which is fine for the same reason.
    fn priority(&self, t: NodeId) -> u64 {
        let mut z = self.priority_seed ^ u64::from(t).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn allocate(&mut self, standing: Standing) -> NodeId {
        let node = Node::leaf(standing);
        if self.free_head != NIL {
            let t = self.free_head;
            self.free_head = self.node(t).right;
            *self.node_mut(t) = node;
            return t;
        }
        // unwrap: only past u32::MAX - 1 nodes (documented panic on `set_score`); NIL stays
        // out of reach because it equals u32::MAX.
        let t = NodeId::try_from(self.nodes.len())
            .ok()
            .filter(|&t| t != NIL)
            .expect("leaderboard capacity exceeded");
        self.nodes.push(node);
        t
    }

    /// Reuses a detached node for a new standing.
    fn reset(&mut self, t: NodeId, standing: Standing) {
        *self.node_mut(t) = Node::leaf(standing);
    }

    fn release(&mut self, t: NodeId) {
        let free_head = self.free_head;
        let node = self.node_mut(t);
        node.left = NIL;
        node.right = free_head;
        node.left_size = 0;
        node.right_size = 0;
        self.free_head = t;
    }

    /// Inserts the single node `n` into subtree `t`; adds to `ahead` the number of nodes of
    /// `t` that rank before it. Returns the new subtree root.
    fn insert(&mut self, t: NodeId, n: NodeId, ahead: &mut u64) -> NodeId {
        if t == NIL {
            return n;
        }
        let standing = self.node(n).standing;
        if self.priority(n) > self.priority(t) {
            let (before, after) = self.split(t, &standing);
            *ahead += u64::from(self.size(before));
            let node = self.node_mut(n);
            node.left = before;
            node.right = after;
            self.update_sizes(n);
            return n;
        }
        if standing < self.node(t).standing {
            let left = self.insert(self.node(t).left, n, ahead);
            let node = self.node_mut(t);
            node.left = left;
            node.left_size += 1;
        } else {
            *ahead += u64::from(self.node(t).left_size) + 1;
            let right = self.insert(self.node(t).right, n, ahead);
            let node = self.node_mut(t);
            node.right = right;
            node.right_size += 1;
        }
        t
    }

    /// Splits subtree `t` into the nodes ranking before `standing` and the rest.
    fn split(&mut self, t: NodeId, standing: &Standing) -> (NodeId, NodeId) {
        if t == NIL {
            return (NIL, NIL);
        }
        if self.node(t).standing < *standing {
            let (before, after) = self.split(self.node(t).right, standing);
            self.node_mut(t).right = before;
            self.update_sizes(t);
            (t, after)
        } else {
            let (before, after) = self.split(self.node(t).left, standing);
            self.node_mut(t).left = after;
            self.update_sizes(t);
            (before, t)
        }
    }

    /// Joins two subtrees where every node of `a` ranks before every node of `b`.
    fn merge(&mut self, a: NodeId, b: NodeId) -> NodeId {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.priority(a) > self.priority(b) {
            let right = self.merge(self.node(a).right, b);
            self.node_mut(a).right = right;
            self.update_sizes(a);
            a
        } else {
            let left = self.merge(a, self.node(b).left);
            self.node_mut(b).left = left;
            self.update_sizes(b);
            b
        }
    }

    /// Unlinks the node holding `standing` (which must be in subtree `t`) and returns the
    /// new subtree root and the detached node, still allocated.
    fn detach(&mut self, t: NodeId, standing: &Standing) -> (NodeId, NodeId) {
        if t == NIL {
            debug_assert!(false, "detach a standing that is not on the board");
            return (NIL, NIL);
        }
        match standing.cmp(&self.node(t).standing) {
            Ordering::Equal => {
                let node = self.node(t);
                let joined = self.merge(node.left, node.right);
                (joined, t)
            }
            Ordering::Less => {
                let (left, detached) = self.detach(self.node(t).left, standing);
                let node = self.node_mut(t);
                node.left = left;
                node.left_size -= 1;
                (t, detached)
            }
            Ordering::Greater => {
                let (right, detached) = self.detach(self.node(t).right, standing);
                let node = self.node_mut(t);
                node.right = right;
                node.right_size -= 1;
                (t, detached)
            }
        }
    }

    /// Sum of the depths of all nodes (root = 1) and the largest depth, for the timing run.
    #[cfg(test)]
    fn depth_stats(&self) -> (u64, u64) {
        let mut stack = vec![(self.root, 1_u64)];
        let (mut sum, mut max) = (0, 0);
        while let Some((t, depth)) = stack.pop() {
            if t != NIL {
                sum += depth;
                max = max.max(depth);
                stack.push((self.node(t).left, depth + 1));
                stack.push((self.node(t).right, depth + 1));
            }
        }
        (sum, max)
    }

    /// Every structural invariant, for tests: order, heap, sizes, index, free list.
    #[cfg(test)]
    fn check_invariants(&self) {
        fn walk(board: &Leaderboard, t: NodeId, out: &mut Vec<Standing>) -> u32 {
            if t == NIL {
                return 0;
            }
            let node = board.node(t);
            for child in [node.left, node.right] {
                if child != NIL {
                    assert!(board.priority(child) <= board.priority(t), "heap order");
                }
            }
            let left = walk(board, node.left, out);
            out.push(node.standing);
            let right = walk(board, node.right, out);
            assert_eq!(
                (node.left_size, node.right_size),
                (left, right),
                "subtree sizes"
            );
            left + right + 1
        }
        let mut in_order = Vec::new();
        let total = walk(self, self.root, &mut in_order);
        assert_eq!(total as usize, self.len());
        assert!(in_order.windows(2).all(|w| w[0] < w[1]), "search order");
        assert!(in_order.iter().all(|s| s.score > 0), "only positive scores");
        for s in &in_order {
            assert_eq!(self.standing_of(s.participant_id), Some(*s), "index");
        }
        let mut free = 0;
        let mut t = self.free_head;
        while t != NIL {
            free += 1;
            t = self.node(t).right;
        }
        assert_eq!(
            free + self.len(),
            self.nodes.len(),
            "every slot is used or free"
        );
    }
}

fn entry(rank: u64, standing: Standing) -> Entry {
    Entry {
        rank,
        participant_id: standing.participant_id,
        score: standing.score,
        reached_at_ms: standing.reached_at_ms,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Instant;

    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    /// The obvious implementation the board must agree with.
    #[derive(Default)]
    struct Reference {
        standings: HashMap<i64, (i64, i64)>,
    }

    impl Reference {
        fn set(&mut self, id: i64, score: i64, at: i64) {
            match self.standings.get(&id) {
                Some(&(current, _)) if current == score => {}
                _ if score <= 0 => {
                    self.standings.remove(&id);
                }
                _ => {
                    self.standings.insert(id, (score, at));
                }
            }
        }

        fn sorted(&self) -> Vec<Entry> {
            let mut all: Vec<Standing> = self
                .standings
                .iter()
                .map(|(&participant_id, &(score, reached_at_ms))| Standing {
                    score,
                    reached_at_ms,
                    participant_id,
                })
                .collect();
            all.sort();
            all.into_iter()
                .zip(1..)
                .map(|(s, rank)| entry(rank, s))
                .collect()
        }

        fn rank(&self, id: i64) -> Option<u64> {
            let &(score, reached_at_ms) = self.standings.get(&id)?;
            let me = Standing {
                score,
                reached_at_ms,
                participant_id: id,
            };
            let ahead = self
                .standings
                .iter()
                .filter(|&(&participant_id, &(score, reached_at_ms))| {
                    Standing {
                        score,
                        reached_at_ms,
                        participant_id,
                    } < me
                })
                .count();
            Some(ahead as u64 + 1)
        }
    }

    fn ids(entries: &[Entry]) -> Vec<i64> {
        entries.iter().map(|e| e.participant_id).collect()
    }

    #[test]
    fn orders_by_score_then_who_got_there_first_then_id() {
        let mut board = Leaderboard::new();
        board.set_score(1, 500, 30);
        board.set_score(2, 700, 40);
        board.set_score(3, 500, 10); // same score as 1, reached earlier
        board.set_score(4, 500, 10); // same score and time as 3, higher id
        assert_eq!(ids(&board.top(10)), vec![2, 3, 4, 1]);
        assert_eq!(board.rank(2), Some(1));
        assert_eq!(board.rank(4), Some(3));
        assert_eq!(board.rank(1), Some(4));
        assert_eq!(board.rank(99), None);
        assert_eq!(
            board.entry(3),
            Some(Entry {
                rank: 2,
                participant_id: 3,
                score: 500,
                reached_at_ms: 10
            })
        );
    }

    #[test]
    fn set_and_add_return_the_new_rank() {
        let mut board = Leaderboard::new();
        assert_eq!(board.set_score(1, 100, 1), Some(1));
        assert_eq!(board.set_score(2, 50, 2), Some(2));
        assert_eq!(board.add_score(2, 60, 3), Some(1), "110 overtakes 100");
        assert_eq!(
            board.add_score(3, 100, 4),
            Some(3),
            "a newcomer starts from zero"
        );
        assert_eq!(board.score(2), Some(110));
    }

    #[test]
    fn an_unchanged_score_keeps_its_reached_at() {
        let mut board = Leaderboard::new();
        board.set_score(1, 100, 10);
        board.set_score(2, 100, 20);
        assert_eq!(
            board.set_score(1, 100, 99),
            Some(1),
            "resending does not lose the place"
        );
        assert_eq!(board.add_score(1, 0, 100), Some(1));
        assert_eq!(board.entry(1).map(|e| e.reached_at_ms), Some(10));
    }

    #[test]
    fn a_decrease_counts_as_reaching_the_lower_score_now() {
        let mut board = Leaderboard::new();
        board.set_score(1, 100, 10);
        board.set_score(2, 90, 20);
        assert_eq!(
            board.add_score(1, -10, 30),
            Some(2),
            "90 reached at 30 ranks after 90 at 20"
        );
    }

    #[test]
    fn zero_or_negative_scores_leave_the_board() {
        let mut board = Leaderboard::new();
        board.set_score(1, 100, 1);
        board.set_score(2, 50, 1);
        assert_eq!(board.add_score(1, -100, 2), None);
        assert_eq!(board.rank(1), None);
        assert_eq!(board.len(), 1);
        assert_eq!(board.add_score(2, -80, 3), None);
        assert!(board.is_empty());
        assert_eq!(board.set_score(3, 0, 4), None);
        assert_eq!(board.add_score(3, -5, 5), None);
        assert!(board.is_empty());
        board.check_invariants();
    }

    #[test]
    fn remove_reports_whether_the_participant_was_there() {
        let mut board = Leaderboard::new();
        board.set_score(1, 100, 1);
        assert!(board.remove(1));
        assert!(!board.remove(1));
        assert!(board.top(5).is_empty());
        board.check_invariants();
    }

    #[test]
    fn around_clips_at_both_ends() {
        let mut board = Leaderboard::new();
        for id in 1..=10 {
            board.set_score(id, 1000 - id, 0); // rank == id
        }
        assert_eq!(ids(&board.around(5, 2)), vec![3, 4, 5, 6, 7]);
        assert_eq!(ids(&board.around(1, 2)), vec![1, 2, 3]);
        assert_eq!(ids(&board.around(10, 3)), vec![7, 8, 9, 10]);
        assert_eq!(ids(&board.around(4, 0)), vec![4]);
        assert_eq!(board.around(4, usize::MAX).len(), 10);
        assert!(board.around(42, 2).is_empty());
        let ranks: Vec<u64> = board.around(5, 1).iter().map(|e| e.rank).collect();
        assert_eq!(ranks, vec![4, 5, 6]);
        assert_eq!(
            board.top(3).iter().map(|e| e.rank).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert_eq!(board.top(0), vec![]);
        assert_eq!(board.top(100).len(), 10);
    }

    #[test]
    fn sorted_inserts_stay_balanced_enough() {
        // A plain BST would degenerate into a list here and overflow the stack on detach.
        let mut board = Leaderboard::new();
        for id in 0..100_000 {
            board.set_score(id, id + 1, 0);
        }
        assert_eq!(board.rank(0), Some(100_000));
        assert!(board.remove(0));
        assert_eq!(board.rank(99_999), Some(1));
    }

    #[test]
    fn matches_a_brute_force_reference_over_random_operations() {
        const OPERATIONS: usize = 20_000;
        const BATCH: usize = 250;
        const PARTICIPANTS: i64 = 600;
        let mut rng = StdRng::seed_from_u64(0x1EAD);
        let mut board = Leaderboard::new();
        let mut reference = Reference::default();
        let mut now = 0_i64;
        for op in 1..=OPERATIONS {
            let id = rng.random_range(0..PARTICIPANTS);
            // Coarse clock and small scores so that ties on score and on time are common.
            now += rng.random_range(0..3);
            let returned = match rng.random_range(0..10) {
                0..=3 => {
                    let score = rng.random_range(-5..60);
                    reference.set(id, score, now);
                    board.set_score(id, score, now)
                }
                4..=8 => {
                    let delta = rng.random_range(-20..30);
                    let current = reference.standings.get(&id).map_or(0, |&(score, _)| score);
                    reference.set(id, current + delta, now);
                    board.add_score(id, delta, now)
                }
                _ => {
                    let was_there = reference.standings.remove(&id).is_some();
                    assert_eq!(board.remove(id), was_there);
                    None
                }
            };
            assert_eq!(returned, reference.rank(id), "returned rank, op {op}");

            if op % BATCH == 0 {
                board.check_invariants();
                let expected = reference.sorted();
                assert_eq!(board.len(), expected.len());
                assert_eq!(
                    board.top(expected.len() + 5),
                    expected,
                    "whole board, op {op}"
                );
                let n = rng.random_range(0..30);
                assert_eq!(board.top(n), expected[..n.min(expected.len())].to_vec());
                for _ in 0..40 {
                    let id = rng.random_range(0..PARTICIPANTS);
                    assert_eq!(board.rank(id), reference.rank(id), "rank of {id}");
                    let k = rng.random_range(0..6);
                    let around = match reference.rank(id) {
                        None => vec![],
                        Some(rank) => {
                            let at = rank as usize - 1;
                            expected[at.saturating_sub(k)..(at + k + 1).min(expected.len())]
                                .to_vec()
                        }
                    };
                    assert_eq!(board.around(id, k), around, "around {id} ±{k}");
                }
            }
        }
    }

    #[test]
    #[ignore = "timing run: cargo test -p stimul-actors --release -- --ignored --nocapture"]
    fn timing_one_million_participants() {
        const N: i64 = 1_000_000;
        let mut rng = StdRng::seed_from_u64(42);
        let mut board = Leaderboard::with_capacity(N as usize);
        let report = |what: &str, ops: i64, started: Instant| {
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "leaderboard: {what:<28} {ops:>9} ops in {seconds:>6.3} s = {:>10.0} ops/s",
                ops as f64 / seconds
            );
        };

        let started = Instant::now();
        for id in 0..N {
            board.set_score(id, rng.random_range(1..10_000_000), id);
        }
        report("insert (set_score, new)", N, started);

        let started = Instant::now();
        for t in 0..N {
            let id = rng.random_range(0..N);
            board.add_score(id, rng.random_range(1..10_000), N + t);
        }
        report("update (add_score)", N, started);

        let started = Instant::now();
        let mut checksum = 0_u64;
        for _ in 0..N {
            checksum = checksum.wrapping_add(board.rank(rng.random_range(0..N)).unwrap_or(0));
        }
        report("rank", N, started);

        let started = Instant::now();
        for _ in 0..100_000 {
            checksum = checksum.wrapping_add(board.around(rng.random_range(0..N), 10).len() as u64);
        }
        report("around(k = 10)", 100_000, started);

        let started = Instant::now();
        for _ in 0..100_000 {
            checksum = checksum.wrapping_add(board.top(100).len() as u64);
        }
        report("top(100)", 100_000, started);

        let node_bytes = board.nodes.capacity() * std::mem::size_of::<Node>();
        // hashbrown: one (key, value) slot plus one control byte per bucket.
        let index_bytes =
            board.by_participant.capacity() * (std::mem::size_of::<(i64, NodeId)>() + 1);
        println!(
            "leaderboard: {} entries, ~{} bytes/entry (nodes {} B + index ~{} B), checksum {checksum}",
            board.len(),
            (node_bytes + index_bytes) / board.len(),
            std::mem::size_of::<Node>(),
            index_bytes / board.len(),
        );
        let (depth_sum, max_depth) = board.depth_stats();
        println!(
            "leaderboard: tree depth average {:.1}, max {max_depth} (one dependent memory access per level)",
            depth_sum as f64 / board.len() as f64
        );
        board.check_invariants();
    }
}

//! `CampaignActor`: one per active campaign on a node. It owns the campaign's live
//! leaderboards — for each window (the whole campaign, day, week, month in the
//! program's time zone) and cohort (everyone, each region, each store) — ranked by
//! points or by percent of the participant's personal plan, with rank, top-N and
//! around-me in O(log n) ([`crate::rules::leaderboard`]).
//!
//! Rebuilt from the ledger on start; kept current by the ledger facts of the campaign
//! from every node. Reversed or expired points leave the board (the fact's earned
//! amount is negative). Pushes are coalesced: a board that changed is published at most
//! every [`FLUSH_INTERVAL`] to `campaign:{id}:leaderboard:{window}[:{cohort}]`, and a
//! participant whose own rank on the campaign board changed hears `rank_changed` on
//! their `me` topic.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use async_trait::async_trait;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Clock;
use crate::error::StorageError;
use crate::hub::{LiveEvent, TopicHub};
use crate::rules::leaderboard::Leaderboard;
use crate::rules::points::Points;
use crate::rules::windows::{Window, WindowBucket};

/// How often changed boards are pushed: a few times a second is live for a person and
/// cheap for thousands of watchers.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(500);
/// Entries pushed with a board.
pub const PUSHED_TOP: usize = 10;
/// A campaign's actor lives while watched or while facts keep coming.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

crate::stored_enum! {
    /// How a campaign ranks its participants.
    pub enum Ranking {
        /// By points earned in the window.
        Points = "points",
        /// By points earned as a percent of the participant's personal plan (participants
        /// without a plan are not ranked).
        PlanPercent = "plan_percent",
    }
}

/// Whom a board compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Cohort {
    Everyone,
    Region(i64),
    Store(i64),
}

impl Cohort {
    fn suffix(self) -> String {
        match self {
            Cohort::Everyone => String::new(),
            Cohort::Region(id) => format!(":region:{id}"),
            Cohort::Store(id) => format!(":store:{id}"),
        }
    }
}

pub fn topic(campaign_id: i64, window: Window, cohort: Cohort) -> String {
    format!(
        "campaign:{campaign_id}:leaderboard:{}{}",
        window.as_str(),
        cohort.suffix()
    )
}

/// What the actor starts from.
#[derive(Debug, Clone)]
pub struct CampaignInfo {
    pub campaign_id: i64,
    pub program_id: i64,
    pub timezone: Tz,
    pub starts_at: i64,
    pub ends_at: i64,
    pub ranking: Ranking,
}

/// A participant as boards show them, with what they earned in a span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreRow {
    pub participant_id: i64,
    pub name: String,
    pub store_id: Option<i64>,
    pub region_id: Option<i64>,
    /// Personal plan in hundredths, for plan-percent ranking.
    pub plan: Option<i64>,
    /// Hundredths earned in the span.
    pub earned: i64,
    /// When the last of it was earned (ties go to who got there first).
    pub last_at: i64,
}

#[async_trait]
pub trait LeaderboardStore: Send + Sync + 'static {
    async fn campaign(&self, campaign_id: i64) -> Result<Option<CampaignInfo>, StorageError>;
    /// Every participant who earned in the campaign within `[since, until)`.
    async fn scores(
        &self,
        campaign_id: i64,
        since: i64,
        until: i64,
    ) -> Result<Vec<ScoreRow>, StorageError>;
    /// A participant's name, store, region and plan (earned 0), for a newcomer.
    async fn participant(
        &self,
        campaign_id: i64,
        participant_id: i64,
    ) -> Result<Option<ScoreRow>, StorageError>;
}

/// One line of a board.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct BoardEntry {
    pub rank: u64,
    pub participant_id: i64,
    pub name: String,
    pub store_id: Option<i64>,
    /// Points (`"125.50"`) or percent of plan (`"87.25"`), as the campaign ranks.
    pub score: String,
}

/// A board as clients see it.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct BoardView {
    pub campaign_id: i64,
    #[schema(value_type = String)]
    pub window: Window,
    pub cohort: Cohort,
    pub ranking: Ranking,
    /// Participants on the board.
    pub total: usize,
    /// When the window starts over (epoch ms).
    pub resets_at: i64,
    pub top: Vec<BoardEntry>,
    /// The asking participant with neighbours on each side, when asked for.
    pub around: Vec<BoardEntry>,
    pub my_rank: Option<u64>,
}

/// Most others told of a rank change one credit caused: a newcomer high on a long board
/// moves everyone below by one, and only the nearest hear it at once (the rest see
/// their rank when they next look).
const DISPLACED_NOTICES: usize = 500;

/// The entries whose rank changed by one because a participant moved from `before`
/// to `after` on `board` (already updated), each with its previous rank.
fn displaced_by(
    board: &crate::rules::leaderboard::Leaderboard,
    before: Option<u64>,
    after: Option<u64>,
) -> Vec<(crate::rules::leaderboard::Entry, u64)> {
    let len = board.len() as u64;
    match (before, after) {
        // Moved up (or arrived): those now at after+1 ..= before were one place higher.
        (before, Some(to)) if before.is_none_or(|from| from > to) => {
            let last = before.unwrap_or(len).min(len);
            let count = usize::try_from(last.saturating_sub(to)).unwrap_or(usize::MAX);
            board
                .from_rank(to + 1, count.min(DISPLACED_NOTICES))
                .into_iter()
                .map(|entry| {
                    let previous = entry.rank - 1;
                    (entry, previous)
                })
                .collect()
        }
        // Moved down (or left): those now at before ..= after-1 were one place lower.
        (Some(from), after) => {
            let last = after.map_or(len, |to| to.saturating_sub(1)).min(len);
            let count = usize::try_from((last + 1).saturating_sub(from)).unwrap_or(usize::MAX);
            board
                .from_rank(from, count.min(DISPLACED_NOTICES))
                .into_iter()
                .map(|entry| {
                    let previous = entry.rank + 1;
                    (entry, previous)
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Data of `rank_changed` on a participant's `me` topic.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct RankChanged {
    pub campaign_id: i64,
    pub rank: Option<u64>,
    pub previous: Option<u64>,
    pub score: String,
}

impl LiveEvent for RankChanged {
    const NAME: &'static str = "rank_changed";
}

/// Pushed on a leaderboard topic with the top entries only.
impl LiveEvent for BoardView {
    const NAME: &'static str = "leaderboard";
}

struct Person {
    name: String,
    store_id: Option<i64>,
    region_id: Option<i64>,
    plan: Option<i64>,
}

/// The boards of one window: raw earnings and one ranked board per cohort.
struct WindowBoards {
    bucket: WindowBucket,
    earned: HashMap<i64, (i64, i64)>,
    boards: HashMap<Cohort, Leaderboard>,
}

pub struct CampaignActor {
    info: CampaignInfo,
    store: Arc<dyn LeaderboardStore>,
    hub: Arc<TopicHub>,
    clock: Clock,
    people: HashMap<i64, Person>,
    windows: HashMap<Window, WindowBoards>,
    dirty: HashSet<(Window, Cohort)>,
    last_active: Instant,
    /// Called when the actor stops, so the registry forgets it.
    on_stop: Option<Box<dyn FnOnce() + Send>>,
}

fn bucket_of(info: &CampaignInfo, window: Window, at: i64) -> WindowBucket {
    let campaign = WindowBucket {
        start_ms: info.starts_at,
        end_ms: info.ends_at,
    };
    // Outside the campaign (it ended): keep showing its final standings.
    window
        .bucket(at, info.timezone, campaign)
        .unwrap_or(campaign)
}

impl CampaignActor {
    pub fn new(
        info: CampaignInfo,
        store: Arc<dyn LeaderboardStore>,
        hub: Arc<TopicHub>,
        clock: Clock,
    ) -> Self {
        Self {
            info,
            store,
            hub,
            clock,
            people: HashMap::new(),
            windows: HashMap::new(),
            dirty: HashSet::new(),
            last_active: Instant::now(),
            on_stop: None,
        }
    }

    pub fn on_stop(mut self, forget: impl FnOnce() + Send + 'static) -> Self {
        self.on_stop = Some(Box::new(forget));
        self
    }

    /// Loads every window from the store (on start).
    pub async fn load(
        store: &dyn LeaderboardStore,
        info: &CampaignInfo,
        now: i64,
    ) -> Result<Vec<(Window, WindowBucket, Vec<ScoreRow>)>, StorageError> {
        let mut loaded = Vec::with_capacity(Window::ALL.len());
        for window in Window::ALL {
            let bucket = bucket_of(info, window, now);
            let rows = store
                .scores(info.campaign_id, bucket.start_ms, bucket.end_ms)
                .await?;
            loaded.push((window, bucket, rows));
        }
        Ok(loaded)
    }

    pub fn with_scores(mut self, loaded: Vec<(Window, WindowBucket, Vec<ScoreRow>)>) -> Self {
        for (window, bucket, rows) in loaded {
            let mut boards = WindowBoards {
                bucket,
                earned: HashMap::new(),
                boards: HashMap::new(),
            };
            for row in rows {
                self.people.entry(row.participant_id).or_insert(Person {
                    name: row.name.clone(),
                    store_id: row.store_id,
                    region_id: row.region_id,
                    plan: row.plan,
                });
                boards
                    .earned
                    .insert(row.participant_id, (row.earned, row.last_at));
            }
            self.windows.insert(window, boards);
            let participants: Vec<i64> = self.windows[&window].earned.keys().copied().collect();
            for participant in participants {
                self.place(window, participant);
            }
        }
        self
    }

    fn score_of(&self, participant: i64, earned: i64) -> Option<i64> {
        match self.info.ranking {
            Ranking::Points => Some(earned),
            // Basis points of the plan, so 87.25 % is 8725 and ties stay exact.
            Ranking::PlanPercent => self
                .people
                .get(&participant)
                .and_then(|p| p.plan)
                .filter(|plan| *plan > 0)
                .map(|plan| earned.saturating_mul(10_000) / plan),
        }
    }

    fn cohorts_of(&self, participant: i64) -> Vec<Cohort> {
        let mut cohorts = vec![Cohort::Everyone];
        if let Some(person) = self.people.get(&participant) {
            cohorts.extend(person.region_id.map(Cohort::Region));
            cohorts.extend(person.store_id.map(Cohort::Store));
        }
        cohorts
    }

    /// Puts a participant where their window earnings put them on every cohort board
    /// (or takes them off when they have nothing left there).
    fn place(&mut self, window: Window, participant: i64) {
        let earned = self
            .windows
            .get(&window)
            .and_then(|w| w.earned.get(&participant).copied());
        let score = earned.and_then(|(points, _)| self.score_of(participant, points));
        let reached_at = earned.map_or(0, |(_, at)| at);
        let cohorts = self.cohorts_of(participant);
        let Some(boards) = self.windows.get_mut(&window) else {
            return;
        };
        for cohort in cohorts {
            let board = boards.boards.entry(cohort).or_default();
            match score {
                Some(score) => {
                    board.set_score(participant, score, reached_at);
                }
                None => {
                    board.remove(participant);
                }
            }
            self.dirty.insert((window, cohort));
        }
    }

    /// Starts windows over whose bucket has ended.
    fn roll(&mut self, now: i64) {
        for (window, boards) in self.windows.iter_mut() {
            if now >= boards.bucket.end_ms && *window != Window::Campaign {
                boards.bucket = bucket_of(&self.info, *window, now);
                boards.earned.clear();
                for cohort in boards.boards.keys() {
                    self.dirty.insert((*window, *cohort));
                }
                boards.boards.clear();
            }
        }
    }

    /// Points are hundredths and plan percents are basis points: both print with two
    /// decimals ("125.50" points, "87.25" percent).
    fn render(score: i64) -> String {
        Points::from_hundredths(score).to_string()
    }

    fn entry(&self, rank: u64, participant: i64, score: i64) -> BoardEntry {
        let person = self.people.get(&participant);
        BoardEntry {
            rank,
            participant_id: participant,
            name: person.map(|p| p.name.clone()).unwrap_or_default(),
            store_id: person.and_then(|p| p.store_id),
            score: Self::render(score),
        }
    }

    pub fn view(
        &mut self,
        window: Window,
        cohort: Cohort,
        limit: usize,
        around: Option<(i64, usize)>,
    ) -> BoardView {
        self.roll((self.clock)());
        let empty = Leaderboard::new();
        let boards = self.windows.get(&window);
        let board = boards.and_then(|w| w.boards.get(&cohort)).unwrap_or(&empty);
        let top = board
            .top(limit)
            .into_iter()
            .map(|e| self.entry(e.rank, e.participant_id, e.score))
            .collect();
        let (around, my_rank) = match around {
            Some((participant, k)) => (
                board
                    .around(participant, k)
                    .into_iter()
                    .map(|e| self.entry(e.rank, e.participant_id, e.score))
                    .collect(),
                board.rank(participant),
            ),
            None => (Vec::new(), None),
        };
        BoardView {
            campaign_id: self.info.campaign_id,
            window,
            cohort,
            ranking: self.info.ranking,
            total: board.len(),
            resets_at: boards.map_or(self.info.ends_at, |w| w.bucket.end_ms),
            top,
            around,
            my_rank,
        }
    }

    /// Applies points a participant earned (negative: reversed) at `at`.
    fn apply(&mut self, participant: i64, delta: i64, at: i64) {
        self.last_active = Instant::now();
        self.roll(at.max((self.clock)()));
        let before = self
            .windows
            .get(&Window::Campaign)
            .and_then(|w| w.boards.get(&Cohort::Everyone))
            .and_then(|b| b.rank(participant));
        for window in Window::ALL {
            let Some(boards) = self.windows.get_mut(&window) else {
                continue;
            };
            if !boards.bucket.contains(at) {
                continue;
            }
            let entry = boards.earned.entry(participant).or_insert((0, at));
            entry.0 += delta;
            entry.1 = at;
            if entry.0 <= 0 {
                boards.earned.remove(&participant);
            }
            self.place(window, participant);
        }
        let campaign_board = self
            .windows
            .get(&Window::Campaign)
            .and_then(|w| w.boards.get(&Cohort::Everyone));
        let after = campaign_board.and_then(|b| b.rank(participant));
        if after != before {
            let score = campaign_board
                .and_then(|b| b.score(participant))
                .unwrap_or(0);
            let change = RankChanged {
                campaign_id: self.info.campaign_id,
                rank: after,
                previous: before,
                score: Self::render(score),
            };
            self.hub
                .publish(&crate::participant::topic(participant), &change);
            // Those this move passed (or who passed it back) moved by one place too.
            let displaced = campaign_board
                .map(|board| displaced_by(board, before, after))
                .unwrap_or_default();
            for (entry, previous) in displaced {
                let topic = crate::participant::topic(entry.participant_id);
                if !self.hub.has_subscribers(&topic) {
                    continue;
                }
                let change = RankChanged {
                    campaign_id: self.info.campaign_id,
                    rank: Some(entry.rank),
                    previous: Some(previous),
                    score: Self::render(entry.score),
                };
                self.hub.publish(&topic, &change);
            }
        }
    }

    fn flush(&mut self) {
        let dirty: Vec<(Window, Cohort)> = self.dirty.drain().collect();
        for (window, cohort) in dirty {
            let topic = topic(self.info.campaign_id, window, cohort);
            if self.hub.has_subscribers(&topic) {
                let view = self.view(window, cohort, PUSHED_TOP, None);
                self.hub.publish(&topic, &view);
            }
        }
    }

    fn watched(&self) -> bool {
        Window::ALL.iter().any(|w| {
            self.hub
                .has_subscribers(&topic(self.info.campaign_id, *w, Cohort::Everyone))
        })
    }
}

impl Actor for CampaignActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(FLUSH_INTERVAL, |actor, ctx| {
            actor.flush();
            if !actor.watched() && actor.last_active.elapsed() >= IDLE_TIMEOUT {
                ctx.stop();
            }
        });
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        if let Some(forget) = self.on_stop.take() {
            forget();
        }
    }
}

/// Points earned in the campaign (negative when reversed).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Earned {
    pub participant_id: i64,
    pub delta: i64,
    pub at: i64,
}

impl Handler<Earned> for CampaignActor {
    type Result = ();

    fn handle(&mut self, earned: Earned, ctx: &mut Context<Self>) {
        if self.people.contains_key(&earned.participant_id) {
            self.apply(earned.participant_id, earned.delta, earned.at);
            return;
        }
        // A newcomer: learn their name, store and plan first, holding the mailbox so
        // facts stay in order.
        let store = self.store.clone();
        let campaign = self.info.campaign_id;
        ctx.wait(async move { store.participant(campaign, earned.participant_id).await }.into_actor(self).map(move |row, actor, _| {
            match row {
                Ok(Some(row)) => {
                    actor.people.insert(row.participant_id, Person { name: row.name, store_id: row.store_id, region_id: row.region_id, plan: row.plan });
                }
                Ok(None) => return,
                Err(err) => tracing::warn!(error = ?err, "loading a leaderboard newcomer failed; ranking without name"),
            }
            actor.apply(earned.participant_id, earned.delta, earned.at);
        }));
    }
}

/// A board for a request.
#[derive(Message, Debug, Clone)]
#[rtype(result = "BoardView")]
pub struct GetBoard {
    pub window: Window,
    pub cohort: Cohort,
    pub limit: usize,
    pub around: Option<(i64, usize)>,
}

impl Handler<GetBoard> for CampaignActor {
    type Result = MessageResult<GetBoard>;

    fn handle(&mut self, request: GetBoard, _ctx: &mut Context<Self>) -> Self::Result {
        self.last_active = Instant::now();
        MessageResult(self.view(
            request.window,
            request.cohort,
            request.limit,
            request.around,
        ))
    }
}

#[cfg(test)]
mod displaced_tests {
    use super::displaced_by;
    use crate::rules::leaderboard::Leaderboard;

    fn moved(board: &Leaderboard, before: Option<u64>, after: Option<u64>) -> Vec<(i64, u64, u64)> {
        displaced_by(board, before, after)
            .into_iter()
            .map(|(entry, previous)| (entry.participant_id, entry.rank, previous))
            .collect()
    }

    #[test]
    fn those_passed_or_passing_back_move_by_one_place() {
        let mut board = Leaderboard::new();
        board.set_score(1, 300, 1);
        board.set_score(2, 200, 2);
        board.set_score(3, 100, 3);
        // 3 jumps from third to first: 1 and 2 each drop a place.
        board.set_score(3, 400, 4);
        assert_eq!(moved(&board, Some(3), Some(1)), [(1, 2, 1), (2, 3, 2)]);
        // A newcomer at second place pushes everyone below it down.
        board.set_score(4, 350, 5);
        assert_eq!(moved(&board, None, Some(2)), [(1, 3, 2), (2, 4, 3)]);
        // 3 falls from first to last (reversed points): the others rise a place.
        board.set_score(3, 50, 6);
        assert_eq!(
            moved(&board, Some(1), Some(4)),
            [(4, 1, 2), (1, 2, 3), (2, 3, 4)]
        );
        // 2 leaves the board: the one below rises.
        board.set_score(2, 0, 7);
        assert_eq!(moved(&board, Some(3), None), [(3, 3, 4)]);
        // No move, nobody told.
        assert!(moved(&board, Some(2), Some(2)).is_empty());
    }
}

//! `StoreActor`: a store's live progress — points earned by its sellers today, this
//! week and this month (in the program's time zone), sales and tasks, plan attainment,
//! and who is online — pushed to the owners and managers watching `store:{id}`.
//!
//! Rebuilt from the database on start; kept current by the ledger facts of the
//! store's sellers (from any node) and by presence events.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::StorageError;
use crate::hub::LiveEvent;
use crate::live::{PeriodTotals, RealtimeCore, StoreInfo};
use crate::rules::points::Points;
use crate::rules::windows::{Window, WindowBucket};

/// A store's actor lives as long as someone watches it or facts keep coming.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
const IDLE_CHECK: Duration = Duration::from_secs(30);
/// How often each node restates its online participants.
pub const PRESENCE_BEAT: Duration = Duration::from_secs(30);
/// An online entry not restated for this long belongs to a node that is gone.
pub const PRESENCE_TTL_MS: i64 = 3 * PRESENCE_BEAT.as_millis() as i64;

pub fn topic(store_id: i64) -> String {
    format!("store:{store_id}")
}

/// Totals of one calendar period and when it ends.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct PeriodView {
    #[serde(flatten)]
    pub totals: PeriodTotals,
    /// When the period starts over (epoch ms).
    pub resets_at: i64,
}

/// What owners and managers see.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct StoreProgress {
    pub store_id: i64,
    pub today: PeriodView,
    pub week: PeriodView,
    pub month: PeriodView,
    /// The monthly target in points, if the store has one.
    #[schema(value_type = Option<String>)]
    pub monthly_plan: Option<Points>,
    /// Points this month as a percent of the plan, as a decimal string ("42.5").
    pub plan_attainment: Option<String>,
    pub sellers_total: i64,
    pub sellers_online: usize,
}

impl LiveEvent for StoreProgress {
    const NAME: &'static str = "progress";
}

struct Period {
    window: Window,
    bucket: WindowBucket,
    totals: PeriodTotals,
}

pub struct StoreActor {
    live: Arc<RealtimeCore>,
    info: StoreInfo,
    periods: [Period; 3],
    /// (node, user) pairs with open sessions, and when their node last said so; a user
    /// counts once however many nodes.
    online: HashMap<(String, i64), i64>,
    last_active: Instant,
}

/// A change of one seller that moves the store's progress.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct StoreFact {
    pub created_at: i64,
    pub earned: Points,
    pub sale: bool,
    pub completed_tasks: i64,
}

#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Presence {
    pub node: String,
    pub user_id: i64,
    pub online: bool,
}

/// A node restating which of the store's sellers are online on it.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct PresenceRefresh {
    pub node: String,
    pub users: Vec<i64>,
}

#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "StoreProgress")]
pub struct GetProgress;

fn bucket(window: Window, at_ms: i64, tz: Tz) -> WindowBucket {
    // Calendar windows never fail for real clock readings; fall back to a day-long
    // bucket rather than panic on absurd input.
    window
        .bucket(
            at_ms,
            tz,
            WindowBucket {
                start_ms: at_ms,
                end_ms: at_ms + 1,
            },
        )
        .unwrap_or(WindowBucket {
            start_ms: at_ms,
            end_ms: at_ms + 86_400_000,
        })
}

/// Loads what the actor starts from: the store and its three periods' totals.
pub async fn load(
    live: &RealtimeCore,
    store_id: i64,
) -> Result<Option<(StoreInfo, [(Window, WindowBucket, PeriodTotals); 3])>, StorageError> {
    let Some(info) = live.store.store_info(store_id).await? else {
        return Ok(None);
    };
    let now = live.now_ms();
    let mut periods = Vec::with_capacity(3);
    for window in [Window::Day, Window::Week, Window::Month] {
        let bucket = bucket(window, now, info.timezone);
        let totals = live.store.store_totals(store_id, bucket.start_ms).await?;
        periods.push((window, bucket, totals));
    }
    let [day, week, month]: [(Window, WindowBucket, PeriodTotals); 3] = periods
        .try_into()
        .map_err(|_| StorageError::message("the store's totals lack a period"))?;
    Ok(Some((info, [day, week, month])))
}

impl StoreActor {
    pub fn new(
        live: Arc<RealtimeCore>,
        info: StoreInfo,
        periods: [(Window, WindowBucket, PeriodTotals); 3],
    ) -> Self {
        let periods = periods.map(|(window, bucket, totals)| Period {
            window,
            bucket,
            totals,
        });
        Self {
            live,
            info,
            periods,
            online: HashMap::new(),
            last_active: Instant::now(),
        }
    }

    /// Starts periods over whose bucket has ended.
    fn roll(&mut self, now: i64) {
        for period in &mut self.periods {
            if now >= period.bucket.end_ms {
                period.bucket = bucket(period.window, now, self.info.timezone);
                period.totals = PeriodTotals::default();
            }
        }
    }

    pub fn progress(&mut self) -> StoreProgress {
        self.roll(self.live.now_ms());
        let view = |period: &Period| PeriodView {
            totals: period.totals.clone(),
            resets_at: period.bucket.end_ms,
        };
        let month = &self.periods[2].totals;
        let plan_attainment = self
            .info
            .monthly_plan
            .filter(|plan| plan.is_positive())
            .map(|plan| {
                let percent = Decimal::from(month.earned.hundredths()) * Decimal::from(100)
                    / Decimal::from(plan.hundredths());
                percent.round_dp(1).normalize().to_string()
            });
        self.expire_presence();
        let mut online_users: Vec<i64> = self.online.keys().map(|(_, user)| *user).collect();
        online_users.sort_unstable();
        online_users.dedup();
        StoreProgress {
            store_id: self.info.store_id,
            today: view(&self.periods[0]),
            week: view(&self.periods[1]),
            month: view(&self.periods[2]),
            monthly_plan: self.info.monthly_plan,
            plan_attainment,
            sellers_total: self.info.sellers,
            sellers_online: online_users.len(),
        }
    }

    /// Forgets online entries whose node stopped restating them; whether any went.
    fn expire_presence(&mut self) -> bool {
        let oldest = self.live.now_ms() - PRESENCE_TTL_MS;
        let before = self.online.len();
        self.online.retain(|_, seen| *seen >= oldest);
        self.online.len() != before
    }

    fn push(&mut self) {
        let progress = self.progress();
        self.live.hub.publish(&topic(self.info.store_id), &progress);
    }
}

impl Actor for StoreActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(IDLE_CHECK, |actor, ctx| {
            if actor.expire_presence() {
                actor.push();
            }
            let watched = actor.live.hub.has_subscribers(&topic(actor.info.store_id));
            if !watched && actor.online.is_empty() && actor.last_active.elapsed() >= IDLE_TIMEOUT {
                ctx.stop();
            }
        });
    }

    fn stopped(&mut self, ctx: &mut Self::Context) {
        self.live.forget_store(self.info.store_id, &ctx.address());
    }
}

impl Handler<StoreFact> for StoreActor {
    type Result = ();

    fn handle(&mut self, fact: StoreFact, _ctx: &mut Context<Self>) {
        self.last_active = Instant::now();
        self.roll(fact.created_at.max(self.live.now_ms()));
        for period in &mut self.periods {
            if period.bucket.contains(fact.created_at) {
                period
                    .totals
                    .add(fact.earned, fact.sale, fact.completed_tasks);
            }
        }
        self.push();
    }
}

impl Handler<Presence> for StoreActor {
    type Result = ();

    fn handle(&mut self, presence: Presence, _ctx: &mut Context<Self>) {
        let key = (presence.node, presence.user_id);
        let changed = if presence.online {
            self.online.insert(key, self.live.now_ms()).is_none()
        } else {
            self.online.remove(&key).is_some()
        };
        if changed {
            self.push();
        }
    }
}

impl Handler<PresenceRefresh> for StoreActor {
    type Result = ();

    fn handle(&mut self, refresh: PresenceRefresh, _ctx: &mut Context<Self>) {
        let now = self.live.now_ms();
        let mut changed = false;
        for user in refresh.users {
            changed |= self
                .online
                .insert((refresh.node.clone(), user), now)
                .is_none();
        }
        if changed {
            self.push();
        }
    }
}

impl Handler<GetProgress> for StoreActor {
    type Result = MessageResult<GetProgress>;

    fn handle(&mut self, _msg: GetProgress, _ctx: &mut Context<Self>) -> Self::Result {
        self.last_active = Instant::now();
        MessageResult(self.progress())
    }
}

/// The store's details changed (plan, name): reload them, keep the totals.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct ReloadInfo;

impl Handler<ReloadInfo> for StoreActor {
    type Result = ();

    fn handle(&mut self, _msg: ReloadInfo, ctx: &mut Context<Self>) {
        let live = self.live.clone();
        let store_id = self.info.store_id;
        ctx.wait(
            async move { live.store.store_info(store_id).await }
                .into_actor(self)
                .map(|loaded, actor, _ctx| {
                    if let Ok(Some(info)) = loaded {
                        actor.info = info;
                        actor.push();
                    }
                }),
        );
    }
}

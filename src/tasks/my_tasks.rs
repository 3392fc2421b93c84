//! What a participant sees of tasks (`listMyTasks`): the tasks open to them now, each
//! with its state in the current period (available, waiting, sent back, done), the
//! attempts left, a sales plan's progress and the latest submission; and their quests.

use std::sync::Arc;

use std::collections::HashMap;

use serde::Serialize;
use sqlx::FromRow;
use stimul_actors::live::RealtimeCore;
use stimul_actors::rules::tasks::answers::PlanProgress;
use stimul_actors::rules::tasks::limits::{TaskState, Usage};
use stimul_actors::rules::tasks::schedule::Period;
use stimul_actors::rules::tasks::spec::TaskSpec;
use utoipa::ToSchema;

use super::Task;
use super::quests::{self, QuestProgress};
use super::rows::count_column;
use super::submissions::{self, Submission};
use crate::auth::Principal;
use crate::db::{Clock, Db};
use crate::error::ApiResult;

/// A task with submissions sent back to the participant for rework.
#[derive(FromRow)]
struct ReworkRow {
    task_id: i64,
    /// Submissions of the task waiting for rework.
    waiting: i64,
}

/// One task as its participant sees it now.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyTask {
    /// The task, without a quiz's right answers.
    pub task: Task,
    pub state: TaskState,
    /// The current period; with a recurring task, `end_ms` is when it starts over.
    pub period: Period,
    /// This period's completions, waiting submissions and attempts; `rework` counts
    /// submissions sent back in any period (they can still be fixed).
    pub usage: Usage,
    /// `null` when attempts are unlimited.
    pub attempts_left: Option<u32>,
    /// A sales plan's progress this period.
    pub plan: Option<PlanProgress>,
    /// The latest submission of the task (with the moderator's comment on a rework).
    pub last_submission: Option<Submission>,
}

/// The answer of `listMyTasks`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyTasks {
    pub tasks: Vec<MyTask>,
    pub quests: Vec<QuestProgress>,
}

#[tracing::instrument(skip_all)]
pub async fn my_tasks(
    db: &Db,
    clock: &Clock,
    live: &Arc<RealtimeCore>,
    caller: &Principal,
) -> ApiResult<MyTasks> {
    let program_id = caller.program_id();
    let user = caller.id();
    let participant = super::visibility::participant(db, live, program_id, user).await?;
    let zone = super::settings::program_zone(&db.pool, program_id).await?;
    let now = clock.now_ms();
    let mut open: Vec<(Task, Period)> = Vec::new();
    for task in super::rows::active(&db.pool, program_id).await? {
        if task.schedule().is_open(now) && task.audience.includes(&participant.member) {
            let period = task
                .schedule()
                .period(now, zone)
                .map_err(super::checks::window_error)?;
            open.push((task, period));
        }
    }
    let periods: Vec<(i64, i64)> = open.iter().map(|(t, p)| (t.id, p.start_ms)).collect();
    let mut usage: HashMap<i64, Usage> = submissions::usage_in(&db.pool, user, &periods)
        .await?
        .into_iter()
        .collect();
    let reworks: Vec<ReworkRow> = sqlx::query_as(
        "SELECT task_id, COUNT(*) AS waiting FROM task_submissions WHERE participant_id = $1 AND status = 'rework' GROUP BY task_id",
    )
    .bind(user)
    .fetch_all(&db.pool)
    .await?;
    for row in reworks {
        usage.entry(row.task_id).or_default().rework = count_column(row.waiting)?;
    }
    let mut latest = submissions::select_where();
    latest
        .push("id IN (SELECT MAX(id) FROM task_submissions WHERE participant_id = ")
        .bind(user)
        .push(" GROUP BY task_id)");
    let mut last: HashMap<i64, Submission> = submissions::fetch(db, &latest)
        .await?
        .into_iter()
        .map(|s| (s.task_id, s))
        .collect();
    let mut tasks = Vec::with_capacity(open.len());
    for (task, period) in open {
        let usage = usage.get(&task.id).copied().unwrap_or_default();
        let limits = task.limits();
        let plan = match task.spec {
            TaskSpec::SalesPlan { .. } => {
                Some(submissions::plan_progress(db, user, &period).await?)
            }
            _ => None,
        };
        tasks.push(MyTask {
            state: limits.state(&usage),
            attempts_left: limits.attempts_left(&usage),
            last_submission: last.remove(&task.id),
            task: task.for_participants(),
            period,
            usage,
            plan,
        });
    }
    let quests =
        quests::for_participant(db, clock, program_id, user, &participant.member, zone).await?;
    Ok(MyTasks { tasks, quests })
}

//! Levels inside the batch commit: who reached a new level with the batch gets a
//! "new level" message in their inbox, written with the commit (so it is never lost
//! nor written for a batch that rolled back) and delivered by the effect queue.

use std::collections::HashMap;

use stimul_actors::rules::levels::Progress as LevelProgress;
use stimul_actors::rules::notifications::Trigger;
use stimul_actors::rules::points::Points;

use super::repo::Progress;
use super::terms::ProgramTerms;
use crate::db::Tx;
use crate::notifications::Notice;

/// A participant who reached a new level.
pub(super) struct LevelUp {
    program_id: i64,
    user_id: i64,
    index: usize,
    name: String,
    multiplier: String,
}

fn level_progress(progress: &Progress) -> LevelProgress {
    LevelProgress {
        completed_tasks: progress.completed_tasks.max(0) as u64,
        lifetime_points: Points::from_hundredths(progress.lifetime),
    }
}

/// Everyone whose level index rose from `before` to `after`.
pub(super) fn reached(
    terms: &HashMap<i64, ProgramTerms>,
    before: &HashMap<i64, Progress>,
    after: &HashMap<i64, Progress>,
    program_of: &HashMap<i64, i64>,
) -> Vec<LevelUp> {
    let mut ups = Vec::new();
    for (user, now) in after {
        let (Some(was), Some(program)) = (before.get(user), program_of.get(user)) else {
            continue;
        };
        let Some(scale) = terms.get(program).and_then(|t| t.levels.as_ref()) else {
            continue;
        };
        let (from, to) = (
            scale.index_for(level_progress(was)),
            scale.index_for(level_progress(now)),
        );
        if to > from {
            let level = scale.level_for(level_progress(now));
            ups.push(LevelUp {
                program_id: *program,
                user_id: *user,
                index: to,
                name: level.name.clone(),
                multiplier: level.multiplier.normalize().to_string(),
            });
        }
    }
    ups
}

/// Writes the level-up messages in the batch's transaction.
#[tracing::instrument(skip_all, fields(count = ups.len()))]
pub(super) async fn announce(tx: &mut Tx, ups: &[LevelUp], now: i64) -> Result<(), sqlx::Error> {
    if ups.is_empty() {
        return Ok(());
    }
    let notices: Vec<Notice> = ups
        .iter()
        .map(|up| {
            Notice::new(
                up.program_id,
                up.user_id,
                Trigger::LevelUp,
                format!("level:{}:{}", up.user_id, up.index),
            )
            .with("level", &up.name)
            .with("multiplier", &up.multiplier)
        })
        .collect();
    crate::notifications::notify_in(tx, &notices, now)
        .await
        .map(|_| ())
        .map_err(|err| sqlx::Error::Protocol(format!("level-up messages: {}", err.detail)))
}

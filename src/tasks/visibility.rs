//! Who sees which task: the list staff may see (the whole program's tasks, or their
//! brands'), and a participant as task audiences see them.

use std::sync::Arc;

use serde::Deserialize;
use stimul_actors::live::RealtimeCore;
use stimul_actors::rules::tasks::audience::Member;
use stimul_actors::rules::tasks::spec::TaskKind;

use super::Task;
use super::rows::{TASK_COLUMNS, task_from_row};
use crate::access::scoped::{ScopeColumns, restrict_to};
use crate::access::{Permission, Section};
use crate::auth::Principal;
use crate::db::{Db, Sql};
use crate::error::{ApiError, ApiResult};
use crate::org::people;
use crate::paging::{Page, page_of};

/// Filters of `listTasks`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskFilter {
    /// Only this kind (`quiz`, `shelf_photo`, …).
    pub kind: Option<String>,
    /// Only active (`true`) or inactive (`false`) tasks.
    pub active: Option<bool>,
}

/// The tasks the caller may see: the whole program's, or their brands'.
#[tracing::instrument(skip_all, fields(after = ?after, limit = ?limit))]
pub async fn list(
    db: &Db,
    caller: &Principal,
    filter: &TaskFilter,
    after: i64,
    limit: i64,
) -> ApiResult<Page<Task>> {
    let visibility = caller.require_anywhere(Permission::view(Section::Tasks))?;
    let mut sql = Sql::default();
    restrict_to(
        &mut sql,
        caller.program_id(),
        &visibility,
        &ScopeColumns {
            program: "program_id",
            region: None,
            partner: None,
            brand: Some("brand_id"),
            store: None,
        },
    );
    let after_p = sql.placeholder(after);
    sql.and_where(format!("id > {after_p}"));
    if let Some(kind) = &filter.kind {
        let kind = TaskKind::parse(kind).map_err(|e| ApiError::field("kind", e))?;
        let p = sql.placeholder(kind.as_str());
        sql.and_where(format!("kind = {p}"));
    }
    if let Some(active) = filter.active {
        let p = sql.placeholder(i64::from(active));
        sql.and_where(format!("active = {p}"));
    }
    let limit_p = sql.placeholder(limit + 1);
    sql.push(&format!("SELECT {TASK_COLUMNS} FROM tasks"))
        .push_where()
        .push(&format!(" ORDER BY id LIMIT {limit_p}"));
    let rows = sql.query().fetch_all(&db.pool).await?;
    let tasks = rows
        .iter()
        .map(task_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_of(tasks, limit, |t| t.id))
}

/// A participant as tasks see them: where they are, their level and roles.
pub struct Participant {
    pub person: people::Person,
    pub member: Member,
}

/// Loads `user_id` as a participant of `program_id`; staff have no tasks.
#[tracing::instrument(skip_all, fields(program_id = ?program_id, user_id = ?user_id))]
pub async fn participant(
    db: &Db,
    live: &Arc<RealtimeCore>,
    program_id: i64,
    user_id: i64,
) -> ApiResult<Participant> {
    let person = people::get(&db.pool, program_id, user_id).await?;
    if !person.kind.is_participant() {
        return Err(ApiError::forbidden(
            "tasks are done by participants; staff accounts have none",
        ));
    }
    let view = live.participant_view(user_id).await.map_err(|e| {
        ApiError::new(
            crate::error::ErrorCode::ServiceUnavailable,
            format!("the participant's live state is unavailable: {e}"),
        )
    })?;
    let access = crate::access::repo::load_access(&db.pool, user_id, program_id).await?;
    let member = Member {
        region: person.region_id,
        store: person.store_id,
        level: u32::try_from(view.level.index).unwrap_or(u32::MAX),
        roles: access
            .role_names()
            .into_iter()
            .map(str::to_string)
            .collect(),
    };
    Ok(Participant { person, member })
}

//! The effect queue as admins see it: what is waiting, done or dead, and sending a dead
//! effect again. Program settings (`program.view` / `program.edit`) cover it: the
//! queue is how the program's deliveries and follow-ups happen.

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::access::{Permission, Section};
use crate::auth::Caller;
use crate::effects::{self, EffectView};
use crate::error::{ApiResult, Problem};
use crate::paging::{Page, PageParams};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EffectFilter {
    /// `pending` (due or running), `done` or `dead`.
    pub status: Option<String>,
    /// One kind, e.g. `sms`, `moderation.settle_hold`, `tasks.follow_up`.
    pub kind: Option<String>,
}

/// The program's effects, oldest first.
#[utoipa::path(
    operation_id = "listEffects", tag = "effects", security(("bearer" = [])), params(EffectFilter, PageParams),
    responses(
        (status = 200, body = Page<EffectView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/effects")]
pub async fn list_effects(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<EffectFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    caller.require_program_wide(Permission::view(Section::Program))?;
    let (after, limit) = page.resolve()?;
    let page = effects::list(
        &state.db,
        caller.program_id(),
        filter.status.as_deref(),
        filter.kind.as_deref(),
        after,
        limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Sends a dead effect again, with a fresh count of tries; answers it as it is after
/// this try.
#[utoipa::path(
    operation_id = "retryEffect", tag = "effects", security(("bearer" = [])), params(("id" = i64, Path)),
    responses(
        (status = 200, body = EffectView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_state: the effect is not dead", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/effects/{id}/retry")]
pub async fn retry_effect(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    caller.require_program_wide(Permission::edit(Section::Program))?;
    let effect = effects::retry(
        &state.db,
        &state.effects,
        caller.program_id(),
        id.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(effect))
}

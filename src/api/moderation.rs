//! Moderation over HTTP: decisions (the fallback for moderators without a WebSocket),
//! taking the next item, the queue, statistics and rejection reasons. Moderators with a
//! WebSocket subscribe to `moderation` and have items routed to them live.

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use stimul_actors::live::LiveError;
use stimul_actors::moderation::ModerationStore;
use stimul_actors::moderation::{ItemView, QueueStats};
use stimul_actors::rules::routing::{
    Item, ItemKind, Moderator, PriorityBoosts, Scope, assign_batch,
};
use utoipa::{IntoParams, ToSchema};

use crate::access::{Permission, Section, Visibility};
use crate::auth::{Caller, Principal};
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::moderation::{self, Decided, DecisionRequest, SqlModeration};
use crate::paging::{Page, PageParams, page_of};
use crate::state::AppState;

/// The regions a moderator may take items from, from their `moderation.edit` grants.
pub fn moderation_regions(principal: &Principal) -> ApiResult<Scope<i64>> {
    let visibility = principal.require_anywhere(Permission::edit(Section::Moderation))?;
    regions_of(&visibility)
}

fn regions_of(visibility: &Visibility) -> ApiResult<Scope<i64>> {
    if visibility.whole_program {
        Ok(Scope::All)
    } else if !visibility.regions.is_empty() {
        Ok(Scope::Only(visibility.regions.clone()))
    } else {
        Err(ApiError::forbidden(
            "moderation is granted per program or region; your grant covers neither",
        ))
    }
}

/// Parses a list of kinds; empty or absent means all.
pub fn kinds_of(kinds: Option<&[String]>) -> ApiResult<Scope<ItemKind>> {
    match kinds {
        None | Some([]) => Ok(Scope::All),
        Some(kinds) => kinds
            .iter()
            .map(|k| {
                k.parse::<ItemKind>()
                    .map_err(|e| ApiError::field("kinds", e.to_string()))
            })
            .collect::<ApiResult<_>>()
            .map(Scope::Only),
    }
}

/// Decides an item you hold: approve, reject with a reason code, or send back for
/// rework with a comment.
#[utoipa::path(
    operation_id = "decideModeration", tag = "moderation", security(("bearer" = [])), request_body = DecisionRequest,
    params(("id" = i64, Path, description = "Moderation item id"), ("Idempotency-Key" = Option<String>, Header)),
    responses(
        (status = 200, body = Decided),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "item_not_held: you do not hold it (any more)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/moderation/items/{id}/decision")]
pub async fn decide_moderation(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<i64>,
    body: web::Json<DecisionRequest>,
) -> ApiResult<HttpResponse> {
    caller.require_anywhere(Permission::edit(Section::Moderation))?;
    let id = id.into_inner();
    idempotency::run(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &("decideModeration", id, &*body),
        || async {
            Reply::ok(&moderation::decide(moderation_of(&state), &caller, id, &body).await?)
        },
    )
    .await
}

#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct TakeRequest {
    /// Only these kinds (`registration`, `receipt`, `task_submission`, `code_review`, `payout`).
    pub kinds: Option<Vec<String>>,
}

/// Takes the next item you may decide, with a lease (for moderators working over HTTP;
/// a WebSocket subscription to `moderation` gets items pushed instead). 204 when the
/// queue has nothing for you.
#[utoipa::path(
    operation_id = "takeModerationItem", tag = "moderation", security(("bearer" = [])), request_body = TakeRequest,
    responses((status = 200, body = ItemView), (status = 204), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/moderation/next")]
pub async fn take_moderation_item(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<TakeRequest>,
) -> ApiResult<HttpResponse> {
    let regions = moderation_regions(&caller)?;
    let kinds = kinds_of(body.kinds.as_deref())?;
    let moderator = Moderator {
        id: caller.id(),
        capacity: 1,
        held: 0,
        kinds,
        regions,
    };
    let store = SqlModeration {
        db: state.db.clone(),
    };
    let now = state.clock.now_ms();
    let lease_until = now + stimul_actors::moderation::DEFAULT_LEASE.as_millis() as i64;
    let assign: std::sync::Arc<stimul_actors::moderation::Assign> =
        std::sync::Arc::new(move |items: &[Item]| {
            assign_batch(
                items,
                std::slice::from_ref(&moderator),
                &PriorityBoosts::new(),
            )
        });
    let claimed = store
        .claim(caller.program_id(), 50, now, lease_until, assign)
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    Ok(match claimed.into_iter().next() {
        Some((item, _)) => HttpResponse::Ok().json(item),
        None => HttpResponse::NoContent().finish(),
    })
}

/// The items you hold now.
#[utoipa::path(
    operation_id = "listHeldModerationItems", tag = "moderation", security(("bearer" = [])),
    responses((status = 200, body = Vec<ItemView>), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/moderation/held")]
pub async fn list_held(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    caller.require_anywhere(Permission::edit(Section::Moderation))?;
    let store = SqlModeration {
        db: state.db.clone(),
    };
    let held = store
        .held(caller.id())
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    Ok(HttpResponse::Ok().json(held))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemFilter {
    /// `queued`, `assigned`, `decided` or `withdrawn`.
    pub status: Option<String>,
    pub kind: Option<String>,
}

/// The queue and its history, as far as your scope reaches.
#[utoipa::path(
    operation_id = "listModerationItems", tag = "moderation", security(("bearer" = [])), params(ItemFilter, PageParams),
    responses((status = 200, body = Page<ItemView>), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/moderation/items")]
pub async fn list_items(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<ItemFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let visibility = caller.require_anywhere(Permission::view(Section::Moderation))?;
    let (after, limit) = page.resolve()?;
    let status = filter
        .status
        .as_deref()
        .map(|status| {
            ["queued", "assigned", "decided", "withdrawn"]
                .contains(&status)
                .then_some(status)
                .ok_or_else(|| {
                    ApiError::field("status", "one of queued, assigned, decided, withdrawn")
                })
        })
        .transpose()?;
    let kind = filter
        .kind
        .as_deref()
        .map(|kind| {
            kind.parse::<ItemKind>()
                .map_err(|e| ApiError::field("kind", e.to_string()))
        })
        .transpose()?;
    let query = moderation::repo::ItemQuery {
        program_id: caller.program_id(),
        visibility: &visibility,
        status,
        kind,
        after,
        limit: limit + 1,
    };
    let items = moderation::repo::items(&state.db, &query).await?;
    Ok(HttpResponse::Ok().json(page_of(items, limit, |i| i.id)))
}

/// Queue length by kind, age of the oldest item, decisions per moderator in the last
/// hour, time to decision (p50/p95). Pushed live on the `moderation_stats` topic.
#[utoipa::path(
    operation_id = "getModerationStats", tag = "moderation", security(("bearer" = [])),
    responses((status = 200, body = QueueStats), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/moderation/stats")]
pub async fn get_stats(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    caller.require_anywhere(Permission::view(Section::Moderation))?;
    let stats = state
        .live
        .moderation_stats(caller.program_id())
        .await
        .map_err(|e| match e {
            LiveError::Gone => ApiError::new(
                ErrorCode::ServiceUnavailable,
                "the moderation queue is restarting",
            ),
            other => ApiError::internal(anyhow::anyhow!(other)),
        })?;
    Ok(HttpResponse::Ok().json(stats))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RejectionReason {
    pub code: String,
    pub title: String,
}

/// The reasons a rejection can give.
#[utoipa::path(operation_id = "listRejectionReasons", tag = "moderation", security(("bearer" = [])), responses((status = 200, body = Vec<RejectionReason>)))]
#[get("/api/v1/moderation/reasons")]
pub async fn list_reasons(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let reasons = moderation::rejection_reasons(&state.db.pool, caller.program_id()).await?;
    Ok(HttpResponse::Ok().json(
        reasons
            .into_iter()
            .map(|(code, title)| RejectionReason { code, title })
            .collect::<Vec<_>>(),
    ))
}

/// The handles deciding an item takes (the WebSocket session decides too).
pub(crate) fn moderation_of(state: &AppState) -> moderation::Moderation<'_> {
    moderation::Moderation {
        db: &state.db,
        clock: &state.clock,
        live: &state.live,
        metrics: &state.metrics,
        decisions: &state.decisions,
        effects: &state.effects,
    }
}

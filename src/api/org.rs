//! The program's settings and its reference lists: regions, partners and brands.

use actix_web::{HttpResponse, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use stimul_actors::bus::BusEvent;
use stimul_actors::rules::levels::{Level, LevelScale};
use stimul_actors::rules::points::Percent;

use crate::access::{Permission, Section};
use crate::auth::Caller;
use crate::domain::{TimeZoneName, Title, optional};
use crate::error::{ApiResult, Problem};
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::org::catalogs::{self, NamedItem};
use crate::org::programs::{self, Program};
use crate::state::AppState;
use crate::validate;

/// The caller's program.
#[utoipa::path(operation_id = "getProgram", tag = "program", security(("bearer" = [])), responses((status = 200, body = Program)))]
#[get("/api/v1/program")]
pub async fn get_program(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(programs::by_id(&state.db.pool, caller.program_id()).await?))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ProgramUpdate {
    pub name: Option<String>,
    /// IANA zone, e.g. `Asia/Novosibirsk`.
    pub timezone: Option<String>,
    /// The level scale, lowest first: each `{"name", "min_completed_tasks",
    /// "min_lifetime_points", "multiplier"}`; a level is reached when all its thresholds
    /// are met; the first has none.
    #[schema(value_type = Option<Vec<Object>>)]
    pub levels: Option<serde_json::Value>,
    /// The store owner's percent of each seller's earned points, `"0"` to `"100"`.
    pub owner_share_percent: Option<String>,
    /// Whether sellers may pay the part of an order their points do not cover by card
    /// (the payment provider is the server's `[payments]` setting).
    pub card_payments: Option<bool>,
}

fn level_scale(value: Option<&serde_json::Value>) -> Result<Option<String>, String> {
    let Some(value) = value else { return Ok(None) };
    let levels: Vec<Level> =
        serde_json::from_value(value.clone()).map_err(|e| format!("not a list of levels: {e}"))?;
    LevelScale::new(levels.clone()).map_err(|e| e.to_string())?;
    serde_json::to_string(&levels)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Changes the program's settings: name, time zone, levels, owner share, card payments.
#[utoipa::path(
    operation_id = "updateProgram", tag = "program", security(("bearer" = [])), request_body = ProgramUpdate,
    responses((status = 200, body = Program), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[patch("/api/v1/program")]
pub async fn update_program(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<ProgramUpdate>,
) -> ApiResult<HttpResponse> {
    validate! {
        name = "name" => optional(body.name.as_deref(), Title::parse),
        timezone = "timezone" => optional(body.timezone.as_deref(), TimeZoneName::parse),
        levels = "levels" => level_scale(body.levels.as_ref()),
        owner_share = "owner_share_percent" => optional(body.owner_share_percent.as_deref(), |p| Percent::parse(p).map_err(|e| e.to_string())),
    }
    caller.require_program_wide(Permission::edit(Section::Program))?;
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
    let before = programs::by_id(&mut *tx, caller.program_id()).await?;
    let change = programs::ProgramChange {
        name: name.map_or_else(|| before.name.clone(), |n| n.into_string()),
        timezone: timezone.map_or_else(|| before.timezone.clone(), |z| z.as_str().to_string()),
        levels: levels.unwrap_or_else(|| before.levels.0.to_string()),
        owner_share_percent: owner_share
            .map_or_else(|| before.owner_share_percent.clone(), |p| p.to_string()),
        card_payments: body.card_payments.unwrap_or(before.card_payments.0),
    };
    programs::update(&mut tx, before.id, &change).await?;
    let after = programs::by_id(&mut *tx, before.id).await?;
    crate::audit::record(
        &mut tx,
        before.id,
        Some(caller.id()),
        "program.update",
        &format!("program:{}", before.id),
        serde_json::to_value(&before).ok(),
        serde_json::to_value(&after).ok(),
        now,
    )
    .await?;
    tx.commit().await?;
    // Every node's actors reload the rules they apply.
    state.live.publish(BusEvent::ProgramChanged {
        program_id: after.id,
    });
    Ok(HttpResponse::Ok().json(after))
}

/// A new region, partner or brand.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct NamedItemRequest {
    pub name: String,
}

async fn create_item(
    state: &AppState,
    caller: &Caller,
    key: &IdempotencyKey,
    catalog: &catalogs::Catalog,
    body: &NamedItemRequest,
) -> ApiResult<HttpResponse> {
    validate! { name = "name" => Title::parse(&body.name) }
    caller.require_program_wide(Permission::edit(catalog.section))?;
    idempotency::run(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        key,
        &(catalog.table, body),
        || async {
            Reply::created(
                &catalogs::create(&state.db, &state.clock, caller.program_id(), catalog, &name)
                    .await?,
            )
        },
    )
    .await
}

async fn list_items(
    state: &AppState,
    caller: &Caller,
    catalog: &catalogs::Catalog,
) -> ApiResult<HttpResponse> {
    caller.require_anywhere(Permission::view(catalog.section))?;
    Ok(HttpResponse::Ok().json(catalogs::list(&state.db, caller.program_id(), catalog).await?))
}

/// Adds a region.
#[utoipa::path(operation_id = "createRegion", tag = "program", security(("bearer" = [])), request_body = NamedItemRequest, params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = NamedItem), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/regions")]
pub async fn create_region(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    body: web::Json<NamedItemRequest>,
) -> ApiResult<HttpResponse> {
    create_item(&state, &caller, &key, &catalogs::REGIONS, &body).await
}

/// The program's regions.
#[utoipa::path(operation_id = "listRegions", tag = "program", security(("bearer" = [])), responses((status = 200, body = Vec<NamedItem>)))]
#[get("/api/v1/regions")]
pub async fn list_regions(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    list_items(&state, &caller, &catalogs::REGIONS).await
}

/// Adds a partner company.
#[utoipa::path(operation_id = "createPartner", tag = "program", security(("bearer" = [])), request_body = NamedItemRequest, params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = NamedItem), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/partners")]
pub async fn create_partner(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    body: web::Json<NamedItemRequest>,
) -> ApiResult<HttpResponse> {
    create_item(&state, &caller, &key, &catalogs::PARTNERS, &body).await
}

/// The program's partners.
#[utoipa::path(operation_id = "listPartners", tag = "program", security(("bearer" = [])), responses((status = 200, body = Vec<NamedItem>)))]
#[get("/api/v1/partners")]
pub async fn list_partners(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    list_items(&state, &caller, &catalogs::PARTNERS).await
}

/// Adds a manufacturer (brand).
#[utoipa::path(operation_id = "createBrand", tag = "program", security(("bearer" = [])), request_body = NamedItemRequest, params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = NamedItem), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
#[post("/api/v1/brands")]
pub async fn create_brand(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    body: web::Json<NamedItemRequest>,
) -> ApiResult<HttpResponse> {
    create_item(&state, &caller, &key, &catalogs::BRANDS, &body).await
}

/// The program's brands.
#[utoipa::path(operation_id = "listBrands", tag = "program", security(("bearer" = [])), responses((status = 200, body = Vec<NamedItem>)))]
#[get("/api/v1/brands")]
pub async fn list_brands(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    list_items(&state, &caller, &catalogs::BRANDS).await
}

//! Stores: create, list, edit, connect, disconnect and block.

use actix_web::{HttpResponse, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::{Permission, Section, Target};
use crate::auth::Caller;
use crate::domain::{Address, Title, optional};
use crate::error::{ApiError, ApiResult, Problem};
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::org::people;
use crate::org::stores::{self, Store, StoreFields, StoreQuery, StoreStatus};
use crate::paging::{Page, PageParams};
use crate::state::AppState;
use crate::validate;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct CreateStoreRequest {
    pub name: String,
    #[serde(default)]
    pub address: String,
    pub region_id: Option<i64>,
    pub partner_id: Option<i64>,
    /// The store's code in the program's own systems (unique in the program).
    pub external_ref: Option<String>,
    /// An existing participant who owns the store.
    pub owner_user_id: Option<i64>,
    /// Monthly target in points (decimal string), for plan attainment.
    pub monthly_plan: Option<String>,
}

fn monthly_plan(value: Option<&str>) -> Result<Option<i64>, String> {
    let Some(value) = value else { return Ok(None) };
    let plan = stimul_actors::rules::points::Points::parse(value).map_err(|e| e.to_string())?;
    if !plan.is_positive() {
        return Err("a plan is positive".into());
    }
    Ok(Some(plan.hundredths()))
}

fn external_ref(value: Option<&str>) -> Result<Option<String>, String> {
    optional(value, crate::domain::Text::<64>::parse).map(|v| v.map(|t| t.into_string()))
}

/// Creates a connected store. A manager may create stores in their region only.
#[utoipa::path(
    operation_id = "createStore", tag = "stores", security(("bearer" = [])), request_body = CreateStoreRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Store), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/stores")]
pub async fn create_store(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    body: web::Json<CreateStoreRequest>,
) -> ApiResult<HttpResponse> {
    validate! {
        name = "name" => Title::parse(&body.name),
        address = "address" => Address::parse_optional(&body.address),
        external_ref = "external_ref" => external_ref(body.external_ref.as_deref()),
        plan = "monthly_plan" => monthly_plan(body.monthly_plan.as_deref()),
    }
    let program_id = caller.program_id();
    let target = Target {
        program_id,
        region_id: body.region_id,
        partner_id: body.partner_id,
        brand_id: None,
        store_id: None,
    };
    caller.require(Permission::edit(Section::Stores), &target)?;
    stores::check_references(
        &mut *state.db.pool.acquire().await?,
        program_id,
        body.region_id,
        body.partner_id,
    )
    .await?;
    let fields = StoreFields {
        name: name.into_string(),
        address: address.into_string(),
        region_id: body.region_id,
        partner_id: body.partner_id,
        external_ref,
        monthly_plan: plan,
    };
    idempotency::run(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &("createStore", &*body),
        || async {
            let now = state.clock.now_ms();
            let mut tx = state.db.begin().await?;
            let mut store =
                stores::create(&mut tx, program_id, &fields, StoreStatus::Connected, now).await?;
            if let Some(owner) = body.owner_user_id {
                check_owner(&mut tx, program_id, owner).await?;
                stores::set_owner(&mut tx, &store, Some(owner), now).await?;
                store = stores::get(&mut *tx, store.id).await?;
            }
            tx.commit().await?;
            if let Some(owner) = body.owner_user_id {
                crate::auth::cache::user_changed(&state.live, owner);
            }
            Reply::created(&store)
        },
    )
    .await
}

async fn check_owner(tx: &mut crate::db::Tx, program_id: i64, owner: i64) -> ApiResult<()> {
    let person = people::get(&mut **tx, program_id, owner)
        .await
        .map_err(|_| {
            ApiError::field(
                "owner_user_id",
                format!("there is no user {owner} in this program"),
            )
        })?;
    if !person.kind.is_participant() {
        return Err(ApiError::field(
            "owner_user_id",
            "an owner is a participant, not a staff account",
        ));
    }
    Ok(())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StoreFilter {
    /// `pending`, `connected`, `disconnected` or `blocked`.
    pub status: Option<String>,
    pub region_id: Option<i64>,
    pub partner_id: Option<i64>,
    /// Part of the name, address or code.
    pub q: Option<String>,
}

/// Stores the caller may see.
#[utoipa::path(
    operation_id = "listStores", tag = "stores", security(("bearer" = [])), params(StoreFilter, PageParams),
    responses((status = 200, body = Page<Store>), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/stores")]
pub async fn list_stores(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<StoreFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let visibility = caller.require_anywhere(Permission::view(Section::Stores))?;
    let (after, limit) = page.resolve()?;
    validate! { status = "status" => optional(filter.status.as_deref(), StoreStatus::parse) }
    let query = StoreQuery {
        status,
        region_id: filter.region_id,
        partner_id: filter.partner_id,
        search: filter.q.clone(),
    };
    let page = stores::list(
        &state.db,
        caller.program_id(),
        &visibility,
        &query,
        after,
        limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One store.
#[utoipa::path(
    operation_id = "getStore", tag = "stores", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Store), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/stores/{id}")]
pub async fn get_store(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let store =
        stores::get_in_program(&state.db.pool, caller.program_id(), id.into_inner()).await?;
    caller.require(Permission::view(Section::Stores), &store.target())?;
    Ok(HttpResponse::Ok().json(store))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct UpdateStoreRequest {
    pub name: Option<String>,
    pub address: Option<String>,
    pub region_id: Option<i64>,
    pub partner_id: Option<i64>,
    pub external_ref: Option<String>,
    pub owner_user_id: Option<i64>,
    /// Monthly target in points (decimal string).
    pub monthly_plan: Option<String>,
}

/// Edits a store. Moving it to another region needs edit rights in both.
#[utoipa::path(
    operation_id = "updateStore", tag = "stores", security(("bearer" = [])), request_body = UpdateStoreRequest, params(("id" = i64, Path)),
    responses((status = 200, body = Store), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[patch("/api/v1/stores/{id}")]
pub async fn update_store(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<UpdateStoreRequest>,
) -> ApiResult<HttpResponse> {
    validate! {
        name = "name" => optional(body.name.as_deref(), Title::parse),
        address = "address" => optional(body.address.as_deref(), Address::parse_optional),
        external_ref = "external_ref" => external_ref(body.external_ref.as_deref()),
        plan = "monthly_plan" => monthly_plan(body.monthly_plan.as_deref()),
    }
    let program_id = caller.program_id();
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
    let store = stores::get_in_program(&mut *tx, program_id, id.into_inner()).await?;
    caller.require(Permission::edit(Section::Stores), &store.target())?;
    let fields = StoreFields {
        name: name.map_or_else(|| store.name.clone(), |n| n.into_string()),
        address: address.map_or_else(|| store.address.clone(), |a| a.into_string()),
        region_id: body.region_id.or(store.region_id),
        partner_id: body.partner_id.or(store.partner_id),
        external_ref: external_ref.or_else(|| store.external_ref.clone()),
        monthly_plan: plan.or(store.monthly_plan),
    };
    let moved = Target {
        region_id: fields.region_id,
        partner_id: fields.partner_id,
        ..store.target()
    };
    caller.require(Permission::edit(Section::Stores), &moved)?;
    stores::check_references(&mut tx, program_id, body.region_id, body.partner_id).await?;
    let mut updated = stores::update(&mut tx, store.id, &fields, now).await?;
    if let Some(owner) = body.owner_user_id {
        check_owner(&mut tx, program_id, owner).await?;
        stores::set_owner(&mut tx, &updated, Some(owner), now).await?;
        updated = stores::get(&mut *tx, store.id).await?;
    }
    crate::audit::record(
        &mut tx,
        program_id,
        Some(caller.id()),
        "store.update",
        &format!("store:{}", store.id),
        serde_json::to_value(&store).ok(),
        serde_json::to_value(&updated).ok(),
        now,
    )
    .await?;
    tx.commit().await?;
    for owner in [store.owner_user_id, updated.owner_user_id]
        .into_iter()
        .flatten()
    {
        crate::auth::cache::user_changed(&state.live, owner);
    }
    // Store actors on every node reload the plan and owner.
    state
        .live
        .publish(stimul_actors::bus::BusEvent::StoreChanged { store_id: store.id });
    Ok(HttpResponse::Ok().json(updated))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct StoreStatusRequest {
    /// `connected` or `disconnected` (managers), `blocked` or lifting a block (admins).
    pub status: StoreStatus,
    pub reason: Option<String>,
}

/// Connects, disconnects or blocks a store. Managers connect and disconnect stores in
/// their scope; blocking and unblocking need program-wide store rights (admins).
#[utoipa::path(
    operation_id = "setStoreStatus", tag = "stores", security(("bearer" = [])), request_body = StoreStatusRequest, params(("id" = i64, Path)),
    responses((status = 200, body = Store), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/stores/{id}/status")]
pub async fn set_store_status(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<StoreStatusRequest>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
    let store = stores::get_in_program(&mut *tx, caller.program_id(), id.into_inner()).await?;
    caller.require(Permission::edit(Section::Stores), &store.target())?;
    let current = store.status;
    match (current, body.status) {
        (_, StoreStatus::Pending) => {
            return Err(ApiError::field(
                "status",
                "a store cannot be put back to pending",
            ));
        }
        (StoreStatus::Pending, _) => {
            return Err(ApiError::invalid_state(
                "the store's registration is pending; approve its owner instead",
            ));
        }
        (StoreStatus::Blocked, _) | (_, StoreStatus::Blocked) => {
            caller.require_program_wide(Permission::edit(Section::Stores))?
        }
        _ => {}
    }
    let updated = stores::set_status(&mut tx, store.id, body.status, now).await?;
    crate::audit::record(
        &mut tx,
        caller.program_id(),
        Some(caller.id()),
        "store.status",
        &format!("store:{}", store.id),
        Some(serde_json::json!({ "status": store.status })),
        Some(serde_json::json!({ "status": body.status, "reason": body.reason })),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(updated))
}

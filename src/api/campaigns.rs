//! Campaigns, the product catalog, code registration and leaderboards over HTTP.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, put, web};
use serde::Deserialize;
use stimul_actors::campaign::{BoardView, Cohort, GetBoard};
use stimul_actors::rules::windows::Window;
use utoipa::IntoParams;

use crate::access::{Permission, Section};
use crate::auth::Caller;
use crate::campaigns::code_claims::{self, CodeRegistration, RegisterCode};
use crate::campaigns::plans::{self, PlanInput};
use crate::campaigns::products::{self, Product, ProductFilter, ProductInput};
use crate::campaigns::receipts::{self, Receipt, SaleInput};
use crate::campaigns::visibility::{self, CampaignFilter};
use crate::campaigns::{self, Campaign, CampaignInput, CampaignPatch};
use crate::error::{ApiError, ApiResult, Problem};
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::org::imports::{CsvTable, ImportSummary};
use crate::paging::{Page, PageParams};
use crate::state::AppState;

/// Creates a campaign as a draft; activate it with `updateCampaign` `{"status":"active"}`
/// (its budget is then posted to its fund).
#[utoipa::path(
    operation_id = "createCampaign", tag = "campaigns", security(("bearer" = [])), request_body = CampaignInput,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Campaign), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/campaigns")]
pub async fn create_campaign(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    body: web::Json<CampaignInput>,
) -> ApiResult<HttpResponse> {
    idempotency::run(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &("createCampaign", &*body),
        || async {
            Reply::created(&campaigns::create(&state.db, &state.clock, &caller, &body).await?)
        },
    )
    .await
}

/// Changes a campaign; `status` moves it draft → active ⇄ paused → finished. A
/// funded budget can grow, never shrink.
#[utoipa::path(
    operation_id = "updateCampaign", tag = "campaigns", security(("bearer" = [])), request_body = CampaignPatch,
    params(("id" = i64, Path)),
    responses((status = 200, body = Campaign), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[patch("/api/v1/campaigns/{id}")]
pub async fn update_campaign(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<CampaignPatch>,
) -> ApiResult<HttpResponse> {
    let campaign = campaigns::update(
        &state.db,
        &state.clock,
        &state.live,
        &caller,
        id.into_inner(),
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(campaign))
}

/// The campaigns visible to the caller: staff see those in their scope, a participant
/// the running ones they take part in.
#[utoipa::path(
    operation_id = "listCampaigns", tag = "campaigns", security(("bearer" = [])), params(CampaignFilter, PageParams),
    responses((status = 200, body = Page<Campaign>), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/campaigns")]
pub async fn list_campaigns(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<CampaignFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let (after, limit) = page.resolve()?;
    Ok(HttpResponse::Ok()
        .json(visibility::list(&state.db, &state.live, &caller, &filter, after, limit).await?))
}

#[utoipa::path(
    operation_id = "getCampaign", tag = "campaigns", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Campaign), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/campaigns/{id}")]
pub async fn get_campaign(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(visibility::visible(&state.db, &state.live, &caller, id.into_inner()).await?))
}

/// Sets participants' personal plans, for campaigns ranked by percent of plan.
#[utoipa::path(
    operation_id = "setCampaignPlans", tag = "campaigns", security(("bearer" = [])), params(("id" = i64, Path)), request_body = Vec<PlanInput>,
    responses((status = 200, description = "`{\"plans\": N}` written"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[put("/api/v1/campaigns/{id}/plans")]
pub async fn set_campaign_plans(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<Vec<PlanInput>>,
) -> ApiResult<HttpResponse> {
    let written = plans::set_plans(
        &state.db,
        &state.clock,
        &state.live,
        &caller,
        id.into_inner(),
        &body,
    )
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "plans": written })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeaderboardParams {
    /// `campaign` (default), `day`, `week` or `month`, in the program's time zone.
    pub window: Option<String>,
    /// `me` adds the caller's rank with neighbours on each side.
    pub around: Option<String>,
    /// Entries at the top, 1 to 100 (default 10).
    pub limit: Option<usize>,
    /// Neighbours on each side of `around=me`, 0 to 50 (default 5).
    pub neighbours: Option<usize>,
    /// `region:{id}` or `store:{id}` for a cohort's board; everyone by default.
    pub cohort: Option<String>,
}

fn parse_cohort(value: Option<&str>) -> ApiResult<Cohort> {
    let Some(value) = value else {
        return Ok(Cohort::Everyone);
    };
    let bad = || ApiError::field("cohort", "`region:{id}` or `store:{id}`");
    let (kind, id) = value.split_once(':').ok_or_else(bad)?;
    let id: i64 = id.parse().map_err(|_| bad())?;
    match kind {
        "region" => Ok(Cohort::Region(id)),
        "store" => Ok(Cohort::Store(id)),
        _ => Err(bad()),
    }
}

/// A campaign's leaderboard for a window: top N, and with `around=me` the caller's
/// rank and neighbours; `resets_at` says when the window starts over. Live updates:
/// WebSocket topic `campaign:{id}:leaderboard:{window}`.
#[utoipa::path(
    operation_id = "getLeaderboard", tag = "campaigns", security(("bearer" = [])), params(("id" = i64, Path), LeaderboardParams),
    responses((status = 200, body = BoardView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/campaigns/{id}/leaderboard")]
pub async fn get_leaderboard(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    params: web::Query<LeaderboardParams>,
) -> ApiResult<HttpResponse> {
    let campaign = visibility::visible(&state.db, &state.live, &caller, id.into_inner()).await?;
    let window: Window = params
        .window
        .as_deref()
        .unwrap_or("campaign")
        .parse()
        .map_err(|_| ApiError::field("window", "one of campaign, day, week, month"))?;
    let limit = params.limit.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::field("limit", "1 to 100"));
    }
    let neighbours = params.neighbours.unwrap_or(5);
    if neighbours > 50 {
        return Err(ApiError::field("neighbours", "0 to 50"));
    }
    let around = match params.around.as_deref() {
        None => None,
        Some("me") => Some((caller.id(), neighbours)),
        Some(_) => return Err(ApiError::field("around", "only `me`")),
    };
    let request = GetBoard {
        window,
        cohort: parse_cohort(params.cohort.as_deref())?,
        limit,
        around,
    };
    let board = state
        .live
        .leaderboard(campaign.id, request)
        .await
        .map_err(|e| ApiError::live_unavailable("the campaign's leaderboard", e))?;
    Ok(HttpResponse::Ok().json(board))
}

/// Registers a product code (typed, or a QR payload) for the calling participant and
/// credits its points at once (`credited`), or holds them for review (`pending`).
/// Refusals have distinct types: `code_mistyped`, `code_unknown`,
/// `code_already_registered`, `campaign_inactive`, `not_eligible`, `rate_limited`,
/// `code_attempts_blocked`.
#[utoipa::path(
    operation_id = "registerCode", tag = "codes", security(("bearer" = [])), request_body = RegisterCode,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses(
        (status = 201, body = CodeRegistration),
        (status = 403, description = "not_eligible", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "code_unknown", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "code_already_registered, campaign_inactive, fund_exhausted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "code_mistyped", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "rate_limited, code_attempts_blocked", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/codes/register")]
pub async fn register_code(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    body: web::Json<RegisterCode>,
) -> ApiResult<HttpResponse> {
    idempotency::run(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &("registerCode", &*body),
        || async {
            Reply::created(
                &code_claims::register(
                    &state.db,
                    &state.clock,
                    &state.live,
                    &caller,
                    &state.settings.fraud,
                    &body,
                )
                .await?,
            )
        },
    )
    .await
}

/// Creates a product, or updates the one with the same SKU.
#[utoipa::path(
    operation_id = "createProduct", tag = "products", security(("bearer" = [])), request_body = ProductInput,
    responses((status = 201, body = Product), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/products")]
pub async fn create_product(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<ProductInput>,
) -> ApiResult<HttpResponse> {
    let product = products::create(&state.db, &state.clock, &caller, &body).await?;
    Ok(HttpResponse::Created().json(product))
}

#[utoipa::path(
    operation_id = "listProducts", tag = "products", security(("bearer" = [])), params(ProductFilter, PageParams),
    responses((status = 200, body = Page<Product>), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/products")]
pub async fn list_products(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<ProductFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    caller.require_anywhere(Permission::view(Section::Products))?;
    let (after, limit) = page.resolve()?;
    Ok(HttpResponse::Ok().json(products::list(&state.db, &caller, &filter, after, limit).await?))
}

/// Imports the product catalog from CSV (columns `sku,name[,kind,pack_size,brand]`),
/// all rows or none like the other imports; known SKUs are updated.
#[utoipa::path(
    operation_id = "importProducts", tag = "products", security(("bearer" = [])), params(crate::api::imports::ImportParams),
    request_body(content = String, content_type = "text/csv", description = "sku,name,kind,pack_size,brand"),
    responses((status = 200, body = ImportSummary), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, description = "import_rejected, with `rows`", body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/imports/products")]
pub async fn import_products(
    state: web::Data<AppState>,
    caller: Caller,
    request: HttpRequest,
    params: web::Query<crate::api::imports::ImportParams>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    caller.require_anywhere(Permission::edit(Section::Products))?;
    let body =
        crate::api::imports::read_csv(&request, payload, state.settings.limits.csv_body_bytes)
            .await?;
    let (required, optional) = products::IMPORT_COLUMNS;
    let table = CsvTable::parse(&body, required, optional)?;
    let summary = products::import(
        &state.db,
        &caller,
        &table,
        params.dry_run,
        state.clock.now_ms(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// A sale report as sent (the server reads the multipart form by hand).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SaleUpload {
    /// The `SaleInput` as JSON.
    data: String,
    /// One JPEG, PNG or WebP photo of the receipt, at most 10 MB.
    #[schema(value_type = String, format = Binary)]
    photo: Vec<u8>,
}

/// Registers a sale: the receipt's number and a photo of it (multipart: a `data` JSON
/// part and a `photo` part). Its points show as pending until a moderator decides;
/// a receipt number counts once (`duplicate_receipt`).
#[utoipa::path(
    operation_id = "registerSale", tag = "codes", security(("bearer" = [])),
    request_body(content((SaleUpload = "multipart/form-data"))),
    params(("Idempotency-Key" = Option<String>, Header)),
    responses(
        (status = 201, body = Receipt),
        (status = 403, description = "not_eligible", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "duplicate_receipt, campaign_inactive, fund_exhausted", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/receipts")]
pub async fn register_sale(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    request: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let upload = super::read_multipart(
        &request,
        payload,
        "send the sale as multipart/form-data with a `data` JSON part and a `photo` part",
    )
    .await?;
    let data = upload.field("data").ok_or_else(|| {
        ApiError::field("data", "the `data` part with the sale as JSON is missing")
    })?;
    let input: SaleInput = super::json_from_slice(data.as_bytes())?;
    let photo_hashes: Vec<String> = upload
        .photos
        .iter()
        .map(|p| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(p)))
        .collect();
    idempotency::run(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &("registerSale", &input, &photo_hashes),
        || async {
            Reply::created(
                &receipts::register(
                    &state.db,
                    &state.clock,
                    &state.live,
                    &state.settings.data_dir,
                    &caller,
                    &input,
                    &upload.photos,
                )
                .await?,
            )
        },
    )
    .await
}

/// Your sale reports and what became of them, newest first.
#[utoipa::path(
    operation_id = "listMyReceipts", tag = "codes", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<Receipt>))
)]
#[get("/api/v1/me/receipts")]
pub async fn list_my_receipts(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let (before, limit) = page.resolve()?;
    Ok(HttpResponse::Ok().json(receipts::mine(&state.db, &caller, before, limit).await?))
}

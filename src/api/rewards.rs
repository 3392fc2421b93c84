//! The rewards showcase, orders and payouts over HTTP: extract, call the use case,
//! answer.

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::org::imports::{CsvTable, ImportSummary};
use crate::paging::{Page, PageParams};
use crate::rewards::orders::{self, Order, OrderFilter, OrderInput, Orders, StatusInput};
use crate::rewards::payouts::{self, CardInput, Payout, PayoutCard, PayoutInput, Payouts};
use crate::rewards::{self, Reward, RewardFilter, RewardInput};
use crate::state::AppState;

/// The showcase: a participant sees the active rewards on offer to them (with
/// `affordable`); staff see the rewards they manage.
#[utoipa::path(
    operation_id = "listRewards", tag = "rewards", security(("bearer" = [])), params(RewardFilter, PageParams),
    responses(
        (status = 200, body = Page<Reward>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/rewards")]
pub async fn list_rewards(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<RewardFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let (after, limit) = page.resolve()?;
    let page = rewards::list(
        &state.db,
        &state.clock,
        &state.live,
        &caller,
        &filter,
        after,
        limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Categories {
    pub items: Vec<String>,
}

/// The showcase's categories, for its filter.
#[utoipa::path(
    operation_id = "listRewardCategories", tag = "rewards", security(("bearer" = [])),
    responses((status = 200, body = Categories), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/rewards/categories")]
pub async fn list_reward_categories(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    let items = rewards::categories(&state.db, &caller).await?;
    Ok(HttpResponse::Ok().json(Categories { items }))
}

#[utoipa::path(
    operation_id = "getReward", tag = "rewards", security(("bearer" = [])), params(("id" = i64, Path)),
    responses(
        (status = 200, body = Reward),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/rewards/{id}")]
pub async fn get_reward(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(rewards::get(&state.db, &state.live, &caller, id.into_inner()).await?))
}

#[utoipa::path(
    operation_id = "createReward", tag = "rewards", security(("bearer" = [])), request_body = RewardInput,
    responses(
        (status = 201, body = Reward),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "conflict: the SKU exists", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/rewards")]
pub async fn create_reward(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<RewardInput>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created()
        .json(rewards::create(&state.db, &state.clock, &caller, &body).await?))
}

/// Replaces a reward.
#[utoipa::path(
    operation_id = "updateReward", tag = "rewards", security(("bearer" = [])), params(("id" = i64, Path)), request_body = RewardInput,
    responses(
        (status = 200, body = Reward),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/v1/rewards/{id}")]
pub async fn update_reward(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<RewardInput>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(rewards::update(&state.db, &state.clock, &caller, id.into_inner(), &body).await?))
}

/// The reward's picture as sent (the server reads the multipart form by hand).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PictureUpload {
    /// One JPEG, PNG or WebP photo, at most 10 MB.
    #[schema(value_type = String, format = Binary)]
    photo: Vec<u8>,
}

/// Sets a reward's picture (multipart, one `photo` part): every participant may see it.
#[utoipa::path(
    operation_id = "setRewardPicture", tag = "rewards", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body(content = PictureUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, body = Reward),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/rewards/{id}/picture")]
pub async fn set_reward_picture(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    request: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let upload = super::read_multipart(
        &request,
        payload,
        "send the picture as multipart/form-data with one `photo` part",
    )
    .await?;
    let [photo] = upload.photos.as_slice() else {
        return Err(crate::error::ApiError::field(
            "photo",
            "send exactly one photo",
        ));
    };
    let reward = rewards::set_picture(
        &state.db,
        &state.clock,
        &state.settings.data_dir,
        &caller,
        id.into_inner(),
        photo,
    )
    .await?;
    Ok(HttpResponse::Ok().json(reward))
}

/// Imports rewards from CSV (`sku,kind,title[,description,category,network,price,
/// min_amount,max_amount,stock,active,brand]`), all rows or none; known SKUs are updated.
#[utoipa::path(
    operation_id = "importRewards", tag = "rewards", security(("bearer" = [])), params(crate::api::imports::ImportParams),
    request_body(content = String, content_type = "text/csv", description = "sku,kind,title,description,category,network,price,min_amount,max_amount,stock,active,brand"),
    responses(
        (status = 200, body = ImportSummary),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "import_rejected, with `rows`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/imports/rewards")]
pub async fn import_rewards(
    state: web::Data<AppState>,
    caller: Caller,
    request: HttpRequest,
    params: web::Query<crate::api::imports::ImportParams>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    caller.require_anywhere(crate::access::Permission::edit(
        crate::access::Section::Rewards,
    ))?;
    let body =
        crate::api::imports::read_csv(&request, payload, state.settings.limits.csv_body_bytes)
            .await?;
    let (required, optional) = rewards::REWARD_COLUMNS;
    let table = CsvTable::parse(&body, required, optional)?;
    let summary = rewards::import(&state.db, &state.clock, &caller, &table, params.dry_run).await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// Checkout: reserves the points, takes the stock and starts fulfilment, all or
/// nothing. Send an `Idempotency-Key`: a retry answers the same order.
#[utoipa::path(
    operation_id = "placeOrder", tag = "orders", security(("bearer" = [])), request_body = OrderInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry answer the same order")),
    responses(
        (status = 201, body = Order),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden, reward_not_eligible, account_pending", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "insufficient_points, out_of_stock, reward_unavailable", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/orders")]
pub async fn place_order(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    body: web::Json<OrderInput>,
) -> ApiResult<HttpResponse> {
    let fingerprint = idempotency::fingerprint_of(&("placeOrder", &*body))?;
    idempotency::run_self_idempotent(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &fingerprint,
        || async {
            let (order, replayed) = orders::place(
                orders_of(&state),
                &state.settings.payments,
                &caller,
                &body,
                key.0.as_deref(),
            )
            .await?;
            let mut reply = Reply::created(&order)?;
            reply.replayed = replayed;
            Ok(reply)
        },
    )
    .await
}

/// The caller's orders, oldest first.
#[utoipa::path(
    operation_id = "listMyOrders", tag = "orders", security(("bearer" = [])), params(OrderFilter, PageParams),
    responses((status = 200, body = Page<Order>), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/me/orders")]
pub async fn list_my_orders(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<OrderFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let (after, limit) = page.resolve()?;
    let page = orders::list(&state.db, &caller, &filter, true, after, limit).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// The program's orders, for staff with `rewards.view`.
#[utoipa::path(
    operation_id = "listOrders", tag = "orders", security(("bearer" = [])), params(OrderFilter, PageParams),
    responses(
        (status = 200, body = Page<Order>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/orders")]
pub async fn list_orders(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<OrderFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let (after, limit) = page.resolve()?;
    let page = orders::list(&state.db, &caller, &filter, false, after, limit).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One order; its certificates are shown to its owner only.
#[utoipa::path(
    operation_id = "getOrder", tag = "orders", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Order), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/orders/{id}")]
pub async fn get_order(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(orders::get(&state.db, &caller, id.into_inner()).await?))
}

#[derive(Debug, serde::Deserialize, Serialize, ToSchema, Default)]
pub struct CancelInput {
    pub reason: Option<String>,
}

/// Cancels an order and returns its points: the participant while it is placed, staff
/// until any of it is delivered.
#[utoipa::path(
    operation_id = "cancelOrder", tag = "orders", security(("bearer" = [])), params(("id" = i64, Path)), request_body = CancelInput,
    responses(
        (status = 200, body = Order),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_state", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/orders/{id}/cancel")]
pub async fn cancel_order(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Option<web::Json<CancelInput>>,
) -> ApiResult<HttpResponse> {
    let reason = body.as_ref().and_then(|b| b.reason.as_deref());
    if reason.is_some_and(|r| r.chars().count() > 1000) {
        return Err(crate::error::ApiError::field(
            "reason",
            "at most 1000 characters",
        ));
    }
    Ok(HttpResponse::Ok()
        .json(orders::cancel(orders_of(&state), &caller, id.into_inner(), reason).await?))
}

/// Staff set a status by hand: goods `shipped` and `delivered`, or `fulfilled` /
/// `failed` outside the provider.
#[utoipa::path(
    operation_id = "setOrderStatus", tag = "orders", security(("bearer" = [])), params(("id" = i64, Path)), request_body = StatusInput,
    responses(
        (status = 200, body = Order),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_state", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/orders/{id}/status")]
pub async fn set_order_status(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<StatusInput>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(orders::set_status(orders_of(&state), &caller, id.into_inner(), &body).await?))
}

/// A provider reports on an order line: `{"id","status","reference","code","pin",
/// "reason"}` signed with `X-Signature: sha256=<hex HMAC-SHA256 of the body>`.
#[utoipa::path(
    operation_id = "providerCallback", tag = "providers", params(("provider" = String, Path)),
    request_body(content = String, content_type = "application/json"),
    responses(
        (status = 204),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "invalid_signature", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/providers/{provider}/callback")]
pub async fn provider_callback(
    state: web::Data<AppState>,
    provider: web::Path<String>,
    request: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let signature = request
        .headers()
        .get("X-Signature")
        .and_then(|v| v.to_str().ok());
    orders::callback(
        orders_of(&state),
        &state.settings,
        &provider,
        &body,
        signature,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Adds a bank card for payouts: the number goes to the payout provider once and only
/// its token and masked form are kept.
#[utoipa::path(
    operation_id = "addPayoutCard", tag = "payouts", security(("bearer" = [])), request_body = CardInput,
    responses(
        (status = 201, body = PayoutCard),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/me/payout-cards")]
pub async fn add_payout_card(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CardInput>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created()
        .json(payouts::add_card(&state.db, &state.clock, &*state.payouts, &caller, &body).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutCards {
    pub items: Vec<PayoutCard>,
}

#[utoipa::path(
    operation_id = "listPayoutCards", tag = "payouts", security(("bearer" = [])),
    responses((status = 200, body = PayoutCards), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/me/payout-cards")]
pub async fn list_payout_cards(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    let items = payouts::cards(&state.db, &caller).await?;
    Ok(HttpResponse::Ok().json(PayoutCards { items }))
}

/// Requests a payout to one of the caller's cards: the amount is reserved at once and
/// the payout waits for a moderator. Send an `Idempotency-Key`.
#[utoipa::path(
    operation_id = "requestPayout", tag = "payouts", security(("bearer" = [])), request_body = PayoutInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry answer the same payout")),
    responses(
        (status = 201, body = Payout),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "insufficient_points, payout_limit_exceeded", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/payouts")]
pub async fn request_payout(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    body: web::Json<PayoutInput>,
) -> ApiResult<HttpResponse> {
    let fingerprint = idempotency::fingerprint_of(&("requestPayout", &*body))?;
    idempotency::run_self_idempotent(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &fingerprint,
        || async {
            let (payout, replayed) = payouts::request(
                payouts_of(&state),
                &state.settings.payouts,
                &caller,
                &body,
                key.0.as_deref(),
            )
            .await?;
            let mut reply = Reply::created(&payout)?;
            reply.replayed = replayed;
            Ok(reply)
        },
    )
    .await
}

/// The program's payout minimum and limits, and what is left of them for the caller.
#[utoipa::path(
    operation_id = "getPayoutRules", tag = "payouts", security(("bearer" = [])),
    responses((status = 200, body = payouts::PayoutRules), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/me/payout-rules")]
pub async fn get_payout_rules(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(payouts::rules(&state.db, &state.clock, &state.settings.payouts, &caller).await?))
}

#[utoipa::path(
    operation_id = "listMyPayouts", tag = "payouts", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<Payout>), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/me/payouts")]
pub async fn list_my_payouts(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let (after, limit) = page.resolve()?;
    Ok(HttpResponse::Ok().json(payouts::mine(&state.db, &caller, after, limit).await?))
}

/// The handles the order and card-payment use cases take together.
fn orders_of(state: &AppState) -> Orders<'_> {
    Orders {
        db: &state.db,
        clock: &state.clock,
        live: &state.live,
        effects: &state.effects,
        ledger: &state.ledger,
    }
}

/// The handles the payout use cases that post to the ledger take together.
fn payouts_of(state: &AppState) -> Payouts<'_> {
    Payouts {
        db: &state.db,
        clock: &state.clock,
        live: &state.live,
        ledger: &state.ledger,
    }
}

//! Code pools and batches over HTTP: create and watch pools, start a refill, order a
//! batch of codes for a product and download it as CSV for printing.
//!
//! Pools hold only unissued random codes and belong to the program, so anyone holding
//! `codes.edit` (brands and admins) may create and refill them and `codes.view` may
//! watch them; a batch is about a product, so ordering and downloading it is checked
//! against the product's brand.

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};

use crate::access::{Permission, Section};
use crate::auth::Caller;
use crate::codes::{self, BatchRequest, CodeBatch, CodePool, PoolRequest, PoolStatus};
use crate::error::{ApiError, ApiResult, Problem};
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::state::AppState;

/// Creates a code pool; the code generator fills it to `target_size` (right away, since
/// an empty pool is below any watermark above zero, else in the nightly window).
#[utoipa::path(
    operation_id = "createCodePool", tag = "codes", security(("bearer" = [])), request_body = PoolRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses(
        (status = 201, body = CodePool),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "conflict: a pool of that name exists", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/code-pools")]
pub async fn create_code_pool(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    body: web::Json<PoolRequest>,
) -> ApiResult<HttpResponse> {
    caller.require_anywhere(Permission::edit(Section::Codes))?;
    idempotency::run(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &("createCodePool", &*body),
        || async {
            let pool =
                codes::create_pool(&state.db, caller.program_id(), &body, state.clock.now_ms())
                    .await?;
            state.codegen.check();
            Reply::created(&pool)
        },
    )
    .await
}

/// The program's code pools, oldest (the default) first.
#[utoipa::path(
    operation_id = "listCodePools", tag = "codes", security(("bearer" = [])),
    responses((status = 200, body = Vec<CodePool>), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/code-pools")]
pub async fn list_code_pools(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    caller.require_anywhere(Permission::view(Section::Codes))?;
    Ok(HttpResponse::Ok().json(codes::list_pools(&state.db, caller.program_id()).await?))
}

/// A pool's status: codes by status, the running (or latest) refill with each shard's
/// progress, and what this node's workers are doing.
#[utoipa::path(
    operation_id = "getCodePool", tag = "codes", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Code pool id")),
    responses((status = 200, body = PoolStatus), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/code-pools/{id}")]
pub async fn get_code_pool(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    caller.require_anywhere(Permission::view(Section::Codes))?;
    Ok(HttpResponse::Ok().json(
        codes::pool_status(
            &state.db,
            &state.metrics,
            &state.codegen,
            caller.program_id(),
            *id,
        )
        .await?,
    ))
}

/// Refills the pool to its target now, whatever the hour. Answers with the refill
/// serving the request (started now, running already, or one that ran meanwhile) and
/// the pool as it is now; `invalid_state` when the pool is full.
#[utoipa::path(
    operation_id = "refillCodePool", tag = "codes", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Code pool id")),
    responses(
        (status = 202, body = codes::RefillStarted),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_state: the pool is full", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/code-pools/{id}/refills")]
pub async fn refill_code_pool(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    caller.require_anywhere(Permission::edit(Section::Codes))?;
    let refill = codes::refill_now(
        &state.db,
        &state.clock,
        &state.codegen,
        caller.program_id(),
        *id,
    )
    .await?;
    Ok(HttpResponse::Accepted().json(refill))
}

/// Orders `quantity` codes for a product. The codes are reserved at once and move out
/// of the pool in the background (`status` `issuing`, then `issued`); download them
/// from `codes.csv` once issued. An order larger than the pool's available codes is
/// refused with `not_enough_codes` and starts a refill.
#[utoipa::path(
    operation_id = "createCodeBatch", tag = "codes", security(("bearer" = [])), request_body = BatchRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses(
        (status = 201, body = CodeBatch),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found: the program has no code pool", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "not_enough_codes: the pool holds fewer codes than ordered", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/code-batches")]
pub async fn create_code_batch(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    body: web::Json<BatchRequest>,
) -> ApiResult<HttpResponse> {
    caller.require_anywhere(Permission::edit(Section::Codes))?;
    idempotency::run(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &("createCodeBatch", &*body),
        || async {
            let program_id = caller.program_id();
            let target = codes::product_target(&state.db, program_id, body.product_id).await?;
            caller.require(Permission::edit(Section::Codes), &target)?;
            let pool_id = match body.pool_id {
                Some(pool_id) => pool_id,
                None => codes::default_pool(&state.db, program_id).await?.id,
            };
            let created = codes::create_batch(
                &state.db,
                program_id,
                pool_id,
                body.product_id,
                body.quantity,
                Some(caller.id()),
                state.clock.now_ms(),
            )
            .await;
            match created {
                Ok(batch) => {
                    state.codegen.issue(batch.id);
                    Reply::created(&batch)
                }
                Err(err) => {
                    if err.code == crate::error::ErrorCode::NotEnoughCodes {
                        // Demand beyond the pool: refill it now rather than at night.
                        let _ = state
                            .codegen
                            .refill(
                                pool_id,
                                stimul_actors::rules::refill::RefillTrigger::Watermark,
                            )
                            .await;
                    }
                    Err(err)
                }
            }
        },
    )
    .await
}

/// Loads a batch the caller may see (checked against its product's brand).
async fn visible_batch(state: &AppState, caller: &Caller, id: i64) -> ApiResult<CodeBatch> {
    caller.require_anywhere(Permission::view(Section::Codes))?;
    let batch = codes::batch(&state.db, caller.program_id(), id).await?;
    let target = codes::product_target(&state.db, caller.program_id(), batch.product_id).await?;
    caller
        .require(Permission::view(Section::Codes), &target)
        .map_err(|_| ApiError::not_found(format!("code batch {id}")))?;
    Ok(batch)
}

/// A batch and how far its codes have moved out of the pool.
#[utoipa::path(
    operation_id = "getCodeBatch", tag = "codes", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Code batch id")),
    responses((status = 200, body = CodeBatch), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/code-batches/{id}")]
pub async fn get_code_batch(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(visible_batch(&state, &caller, *id).await?))
}

/// The batch's codes for printing: CSV with the header `code,qr_payload`, one code per
/// line as stored (11 letters) and what its QR code holds. Streamed page by page (no
/// `Content-Length`), so millions of codes download without the server holding them.
#[utoipa::path(
    operation_id = "downloadCodeBatch", tag = "codes", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Code batch id")),
    responses(
        (status = 200, content_type = "text/csv", body = String),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_state: the batch is still being issued", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/code-batches/{id}/codes.csv")]
pub async fn download_code_batch(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let batch = visible_batch(&state, &caller, *id).await?;
    if batch.status != crate::codes::BatchStatus::Issued {
        return Err(ApiError::invalid_state(format!(
            "code batch {} is still being issued ({} of {}); download it once its status is issued",
            batch.id, batch.issued, batch.quantity
        )));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"code-batch-{}.csv\"", batch.id),
        ))
        .streaming(codes::csv_lines(
            state.db.clone(),
            batch.id,
            state.settings.codes.csv_page_size,
        )))
}

//! CSV imports over HTTP: the body is the file (`Content-Type: text/csv`).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, post, web};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::access::{Permission, Section};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::org::imports::{self, CsvTable, ImportSummary};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Check the file and report, without writing anything.
    #[serde(default)]
    pub dry_run: bool,
}

/// Reads the request body up to `limit` bytes, refusing anything that is not CSV.
pub async fn read_csv(
    request: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> ApiResult<Vec<u8>> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/csv");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_lowercase();
    if !matches!(
        essence.as_str(),
        "text/csv" | "application/csv" | "text/plain" | "application/vnd.ms-excel"
    ) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the file as the body with `Content-Type: text/csv`",
        ));
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|err| {
            ApiError::new(
                ErrorCode::InvalidParameter,
                format!("the upload broke off: {err}"),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the file is larger than {limit} bytes; split it"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Imports stores from CSV (columns `code,name[,address,region,partner]`). All rows
/// or none: a file with bad rows is refused with every bad row listed.
#[utoipa::path(
    operation_id = "importStores", tag = "stores", security(("bearer" = [])), params(ImportParams),
    request_body(content = String, content_type = "text/csv", description = "code,name,address,region,partner"),
    responses((status = 200, body = ImportSummary), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, description = "import_rejected, with `rows`", body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/imports/stores")]
pub async fn import_stores(
    state: web::Data<AppState>,
    caller: Caller,
    request: HttpRequest,
    params: web::Query<ImportParams>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    caller.require_anywhere(Permission::edit(Section::Stores))?;
    let body = read_csv(&request, payload, state.settings.limits.csv_body_bytes).await?;
    let (required, optional) = imports::STORE_COLUMNS;
    let table = CsvTable::parse(&body, required, optional)?;
    let summary = imports::import_stores(
        &state.db,
        &caller,
        &table,
        params.dry_run,
        state.clock.now_ms(),
    )
    .await?;
    if !params.dry_run {
        // People may have moved stores or become owners.
        crate::auth::cache::everyone_changed(&state.live);
    }
    Ok(HttpResponse::Ok().json(summary))
}

/// Imports participants from CSV (columns `phone,name,store_code[,role,login]`). All
/// rows or none, like importStores.
#[utoipa::path(
    operation_id = "importParticipants", tag = "participants", security(("bearer" = [])), params(ImportParams),
    request_body(content = String, content_type = "text/csv", description = "phone,name,store_code,role,login"),
    responses((status = 200, body = ImportSummary), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, description = "import_rejected, with `rows`", body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/imports/participants")]
pub async fn import_participants(
    state: web::Data<AppState>,
    caller: Caller,
    request: HttpRequest,
    params: web::Query<ImportParams>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    caller.require_anywhere(Permission::edit(Section::Participants))?;
    let body = read_csv(&request, payload, state.settings.limits.csv_body_bytes).await?;
    let (required, optional) = imports::PARTICIPANT_COLUMNS;
    let table = CsvTable::parse(&body, required, optional)?;
    let summary = imports::import_participants(
        &state.db,
        &caller,
        &table,
        params.dry_run,
        state.clock.now_ms(),
    )
    .await?;
    if !params.dry_run {
        // People may have moved stores or become owners.
        crate::auth::cache::everyone_changed(&state.live);
    }
    Ok(HttpResponse::Ok().json(summary))
}

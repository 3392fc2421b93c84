//! Support requests over HTTP: participants open them (JSON, or multipart with a
//! `data` part and a `photo`) and write in them; staff with `support.view` read all,
//! with `support.edit` answer. Each side's messages reach the other live.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use stimul_actors::rules::support::RequestStatus;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::domain::Text;
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::paging::{Page, PageParams};
use crate::state::AppState;
use crate::support::{self, NewRequest, SupportRequest};
use crate::validate;

/// A new request.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct SupportRequestInput {
    pub subject: String,
    pub text: String,
}

/// A multipart request, as documented (the server reads it by hand).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SupportRequestUpload {
    /// The `SupportRequestInput` as JSON.
    data: String,
    /// A JPEG, PNG or WebP image of at most 10 MB.
    #[schema(value_type = String, format = Binary)]
    photo: Vec<u8>,
}

fn message_text(input: &str) -> Result<String, String> {
    Text::<5000>::parse_multiline(input).map(Text::into_string)
}

/// The request's body and photo, from JSON or a multipart form.
async fn read_request(
    state: &AppState,
    request: &HttpRequest,
    payload: web::Payload,
) -> ApiResult<(SupportRequestInput, Option<Vec<u8>>)> {
    if super::is_multipart(request) {
        let mut upload =
            crate::photos::read_upload(Multipart::new(request.headers(), payload)).await?;
        let body = match upload.field("data") {
            Some(data) => super::json_from_slice(data.as_bytes())?,
            None => SupportRequestInput::default(),
        };
        if upload.photos.len() > 1 {
            return Err(ApiError::field("photo", "one photo per request"));
        }
        Ok((body, upload.photos.pop()))
    } else {
        let limit = state.settings.limits.json_body_bytes;
        let bytes = payload.to_bytes_limited(limit).await.map_err(|_| {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the body is larger than {limit} bytes"),
            )
        })?;
        let bytes = bytes.map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidParameter,
                format!("the body broke off: {e}"),
            )
        })?;
        Ok((super::json_from_slice(&bytes)?, None))
    }
}

/// Opens a support request with its first message and an optional photo. A retry with
/// the same `Idempotency-Key` answers the first request.
#[utoipa::path(
    operation_id = "createSupportRequest", tag = "support", security(("bearer" = [])),
    request_body(content((SupportRequestInput = "application/json"), (SupportRequestUpload = "multipart/form-data"))),
    params(("Idempotency-Key" = Option<String>, Header)),
    responses(
        (status = 201, body = SupportRequest),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/support/requests")]
pub async fn create_support_request(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    request: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let (body, photo) = read_request(&state, &request, payload).await?;
    validate! {
        subject = "subject" => Text::<200>::parse(&body.subject).map(Text::into_string),
        text = "text" => message_text(&body.text),
    }
    let photo_hash = photo
        .as_deref()
        .map(|bytes| hex::encode(Sha256::digest(bytes)));
    idempotency::run(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &("createSupportRequest", &subject, &text, &photo_hash),
        || async {
            Reply::created(
                &support::create(
                    &state.db,
                    &state.clock,
                    &state.live,
                    &state.settings.data_dir,
                    &caller,
                    &NewRequest {
                        subject: &subject,
                        text: &text,
                        photo: photo.as_deref(),
                    },
                )
                .await?,
            )
        },
    )
    .await
}

/// The caller's requests with their messages, newest first.
#[utoipa::path(
    operation_id = "listMySupportRequests", tag = "support", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<SupportRequest>))
)]
#[get("/api/v1/me/support/requests")]
pub async fn list_my_support_requests(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let (before, limit) = page.newest_first()?;
    let list = support::list(&state.db, &caller, false, None, before, limit).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Which requests.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusFilter {
    /// `open`, `answered` or `closed`; every status when absent.
    pub status: Option<String>,
}

/// The program's requests (support staff), newest first.
#[utoipa::path(
    operation_id = "listSupportRequests", tag = "support", security(("bearer" = [])), params(PageParams, StatusFilter),
    responses((status = 200, body = Page<SupportRequest>), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/support/requests")]
pub async fn list_support_requests(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageParams>,
    filter: web::Query<StatusFilter>,
) -> ApiResult<HttpResponse> {
    validate! {
        status = "status" => filter.status.as_deref().map(RequestStatus::parse).transpose(),
    }
    let (before, limit) = page.newest_first()?;
    let list = support::list(&state.db, &caller, true, status, before, limit).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// One request with its messages.
#[utoipa::path(
    operation_id = "getSupportRequest", tag = "support", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = SupportRequest), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/support/requests/{id}")]
pub async fn get_support_request(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(support::get(&state.db, &caller, id.into_inner()).await?))
}

/// A message in a request.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ReplyInput {
    pub text: String,
}

/// Writes in a request: its participant (which reopens it) or support staff (which
/// answers it; the participant gets `support_reply` on `me`).
#[utoipa::path(
    operation_id = "replyToSupportRequest", tag = "support", security(("bearer" = [])), request_body = ReplyInput, params(("id" = i64, Path)),
    responses((status = 201, body = SupportRequest), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/support/requests/{id}/replies")]
pub async fn reply_to_support_request(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<ReplyInput>,
) -> ApiResult<HttpResponse> {
    validate! {
        text = "text" => message_text(&body.text),
    }
    let request = support::write(
        &state.db,
        &state.clock,
        &state.live,
        &caller,
        id.into_inner(),
        Some(&text),
    )
    .await?;
    Ok(HttpResponse::Created().json(request))
}

/// Closes a request (its participant or support staff).
#[utoipa::path(
    operation_id = "closeSupportRequest", tag = "support", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = SupportRequest), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/support/requests/{id}/close")]
pub async fn close_support_request(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let request = support::write(
        &state.db,
        &state.clock,
        &state.live,
        &caller,
        id.into_inner(),
        None,
    )
    .await?;
    Ok(HttpResponse::Ok().json(request))
}

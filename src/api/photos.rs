//! Stored photos over HTTP: one photo, for whoever may see it.

use actix_web::{HttpResponse, get, web};

use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::photos;
use crate::state::AppState;

/// A stored photo, for whoever may see it.
#[utoipa::path(
    operation_id = "getPhoto", tag = "photos", security(("bearer" = [])), params(("sha256" = String, Path)),
    responses((status = 200, content_type = "image/jpeg", description = "The photo"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/photos/{sha256}")]
#[tracing::instrument(skip_all)]
pub async fn get_photo(
    state: web::Data<AppState>,
    caller: Caller,
    sha256: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (content_type, bytes) =
        photos::open(&state.db, &state.settings.data_dir, &caller, &sha256).await?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        // Content-addressed: it never changes.
        .insert_header(("Cache-Control", "private, max-age=31536000, immutable"))
        .body(bytes))
}

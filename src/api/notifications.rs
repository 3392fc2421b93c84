//! The caller's in-app inbox over HTTP: messages newest first with the unread count,
//! and marking them read. New messages are pushed live as `notification` on `me`.

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use stimul_actors::rules::notifications::Language;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::notifications::{self, Inbox};
use crate::paging::PageParams;
use crate::state::AppState;
use crate::validate;

/// The language of the texts.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LanguageParam {
    /// `ru` (default) or `en`.
    pub lang: Option<String>,
}

fn parse_language(lang: Option<&str>) -> Result<Language, String> {
    match lang {
        None => Ok(Language::Ru),
        Some(text) => Language::parse(text).map_err(|_| "ru or en".to_string()),
    }
}

/// The caller's messages, newest first (`cursor` is the last id seen), with how many
/// are unread; texts in `lang`.
#[utoipa::path(
    operation_id = "listMyNotifications", tag = "notifications", security(("bearer" = [])), params(PageParams, LanguageParam),
    responses((status = 200, body = Inbox), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/me/notifications")]
pub async fn list_my_notifications(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageParams>,
    language: web::Query<LanguageParam>,
) -> ApiResult<HttpResponse> {
    validate! {
        language = "lang" => parse_language(language.lang.as_deref()),
    }
    let (after, limit) = page.resolve()?;
    let before = if after > 0 { after } else { i64::MAX };
    let inbox = notifications::inbox(&state.db, caller.id(), language, before, limit).await?;
    Ok(HttpResponse::Ok().json(inbox))
}

/// Which messages to mark read.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct MarkRead {
    /// These messages; every unread one when absent.
    pub ids: Option<Vec<i64>>,
}

/// How many messages are still unread.
#[derive(Debug, Serialize, ToSchema)]
pub struct Unread {
    pub unread: i64,
}

/// Marks the caller's messages read (`ids`, or all). Doing it twice changes nothing.
#[utoipa::path(
    operation_id = "markNotificationsRead", tag = "notifications", security(("bearer" = [])), request_body = MarkRead,
    responses((status = 200, body = Unread), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/me/notifications/read")]
pub async fn mark_notifications_read(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<MarkRead>,
) -> ApiResult<HttpResponse> {
    validate! {
        ids = "ids" => match &body.ids {
            Some(ids) if ids.len() > 500 => Err("at most 500 ids at once"),
            other => Ok(other.clone()),
        },
    }
    let unread =
        notifications::mark_read(&state.db, &state.clock, caller.id(), ids.as_deref()).await?;
    Ok(HttpResponse::Ok().json(Unread { unread }))
}

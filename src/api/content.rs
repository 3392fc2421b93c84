//! News, the program's rules and the FAQ over HTTP. Participants read what is
//! published for them; staff with `content.view` read all, `content.edit` write.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use serde::{Deserialize, Serialize};
use stimul_actors::rules::campaigns::CampaignAudience;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::content::{
    self, FaqEntry, FaqFields, News, NewsChange, NewsFields, NewsInput, NewsPage, ProgramRules,
};
use crate::domain::Text;
use crate::error::{ApiResult, Problem};
use crate::paging::PageParams;
use crate::state::AppState;
use crate::validate;

/// The longest news body, rules text or FAQ answer.
const MAX_TEXT: usize = 20_000;

fn long_text(input: &str) -> Result<String, String> {
    Text::<MAX_TEXT>::parse_multiline(input).map(Text::into_string)
}

fn title(input: &str) -> Result<String, String> {
    Text::<300>::parse(input).map(Text::into_string)
}

fn audience(audience: &CampaignAudience) -> Result<CampaignAudience, String> {
    match audience.validate().into_iter().next() {
        Some((field, message)) => Err(format!("{field}: {message}")),
        None => Ok(audience.clone()),
    }
}

/// News for the caller, newest first, with how many they have not opened.
#[utoipa::path(
    operation_id = "listNews", tag = "content", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = NewsPage), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/news")]
pub async fn list_news(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let (before, limit) = page.newest_first()?;
    let news =
        content::list_news(&state.db, &state.clock, &state.live, &caller, before, limit).await?;
    Ok(HttpResponse::Ok().json(news))
}

/// One news item; opening it marks it read for a participant.
#[utoipa::path(
    operation_id = "getNews", tag = "content", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = News), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/news/{id}")]
pub async fn get_news(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let news = content::get_news(
        &state.db,
        &state.clock,
        &state.live,
        &caller,
        id.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(news))
}

/// Publishes a news item (or schedules it with `publish_at`) for an audience; audited.
#[utoipa::path(
    operation_id = "createNews", tag = "content", security(("bearer" = [])), request_body = NewsInput,
    responses((status = 201, body = News), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/news")]
pub async fn create_news(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewsInput>,
) -> ApiResult<HttpResponse> {
    validate! {
        title = "title" => title(&body.title),
        text = "body" => long_text(&body.body),
        audience = "audience" => audience(&body.audience),
    }
    let fields = NewsFields {
        title,
        body: text,
        audience,
        publish_at: body.publish_at,
        archived: false,
    };
    let news = content::create_news(&state.db, &state.clock, &caller, &fields).await?;
    Ok(HttpResponse::Created().json(news))
}

/// Changes to a news item: present fields replace stored ones.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct NewsPatch {
    pub title: Option<String>,
    pub body: Option<String>,
    pub audience: Option<CampaignAudience>,
    pub publish_at: Option<i64>,
    /// Archived news no longer show to participants.
    pub archived: Option<bool>,
}

/// Changes a news item (text, audience, publish time, archived); audited.
#[utoipa::path(
    operation_id = "updateNews", tag = "content", security(("bearer" = [])), request_body = NewsPatch, params(("id" = i64, Path)),
    responses((status = 200, body = News), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[patch("/api/v1/news/{id}")]
pub async fn update_news(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<NewsPatch>,
) -> ApiResult<HttpResponse> {
    validate! {
        new_title = "title" => body.title.as_deref().map(title).transpose(),
        text = "body" => body.body.as_deref().map(long_text).transpose(),
        new_audience = "audience" => body.audience.as_ref().map(audience).transpose(),
    }
    let change = NewsChange {
        title: new_title,
        body: text,
        audience: new_audience,
        publish_at: body.publish_at,
        archived: body.archived,
    };
    let news =
        content::update_news(&state.db, &state.clock, &caller, id.into_inner(), &change).await?;
    Ok(HttpResponse::Ok().json(news))
}

/// The program's rules.
#[utoipa::path(
    operation_id = "getProgramRules", tag = "content", security(("bearer" = [])),
    responses((status = 200, body = ProgramRules))
)]
#[get("/api/v1/program/rules")]
pub async fn get_program_rules(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(content::rules(&state.db, caller.program_id()).await?))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct RulesInput {
    /// Plain text, paragraphs separated by blank lines; up to 20,000 characters.
    pub text: String,
}

/// Replaces the program's rules; audited.
#[utoipa::path(
    operation_id = "updateProgramRules", tag = "content", security(("bearer" = [])), request_body = RulesInput,
    responses((status = 200, body = ProgramRules), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[put("/api/v1/program/rules")]
pub async fn update_program_rules(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<RulesInput>,
) -> ApiResult<HttpResponse> {
    validate! {
        text = "text" => long_text(&body.text),
    }
    let rules = content::set_rules(&state.db, &state.clock, &caller, &text).await?;
    Ok(HttpResponse::Ok().json(rules))
}

/// The program's FAQ, in order.
#[utoipa::path(
    operation_id = "listFaq", tag = "content", security(("bearer" = [])),
    responses((status = 200, body = Vec<FaqEntry>))
)]
#[get("/api/v1/faq")]
pub async fn list_faq(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(content::faq(&state.db, caller.program_id()).await?))
}

/// An FAQ entry; `position` orders entries (last when omitted on creation).
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct FaqInput {
    pub question: Option<String>,
    pub answer: Option<String>,
    pub position: Option<i64>,
}

fn faq_fields(body: &FaqInput) -> ApiResult<FaqFields> {
    validate! {
        question = "question" => body.question.as_deref().map(|q| Text::<500>::parse(q).map(Text::into_string)).transpose(),
        answer = "answer" => body.answer.as_deref().map(long_text).transpose(),
        position = "position" => match body.position {
            Some(position) if !(0..=1_000_000).contains(&position) => Err("0 to 1000000"),
            other => Ok(other),
        },
    }
    Ok(FaqFields {
        question,
        answer,
        position,
    })
}

/// Adds an FAQ entry; audited.
#[utoipa::path(
    operation_id = "createFaqEntry", tag = "content", security(("bearer" = [])), request_body = FaqInput,
    responses((status = 201, body = FaqEntry), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/faq")]
pub async fn create_faq_entry(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<FaqInput>,
) -> ApiResult<HttpResponse> {
    let fields = faq_fields(&body)?;
    let entry = content::write_faq(&state.db, &state.clock, &caller, None, Some(&fields)).await?;
    Ok(HttpResponse::Created().json(entry))
}

/// Changes an FAQ entry; audited.
#[utoipa::path(
    operation_id = "updateFaqEntry", tag = "content", security(("bearer" = [])), request_body = FaqInput, params(("id" = i64, Path)),
    responses((status = 200, body = FaqEntry), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[patch("/api/v1/faq/{id}")]
pub async fn update_faq_entry(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<FaqInput>,
) -> ApiResult<HttpResponse> {
    let fields = faq_fields(&body)?;
    let entry = content::write_faq(
        &state.db,
        &state.clock,
        &caller,
        Some(id.into_inner()),
        Some(&fields),
    )
    .await?;
    Ok(HttpResponse::Ok().json(entry))
}

/// Removes an FAQ entry; audited.
#[utoipa::path(
    operation_id = "deleteFaqEntry", tag = "content", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[delete("/api/v1/faq/{id}")]
pub async fn delete_faq_entry(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    content::write_faq(
        &state.db,
        &state.clock,
        &caller,
        Some(id.into_inner()),
        None,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

//! Mailings over HTTP: how many a segment reaches, sending (now or at a time, with an
//! `Idempotency-Key`), following one, cancelling. Staff with program-wide
//! `content.edit` send; `content.view` read.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use stimul_actors::rules::notifications::Channel;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::domain::Text;
use crate::error::{ApiResult, Problem};
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::mailings::{self, Mailing, NewMailing, Segment};
use crate::notifications::Texts;
use crate::paging::{Page, PageParams};
use crate::state::AppState;
use crate::validate;

/// A segment to count.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct AudienceInput {
    pub audience: Segment,
}

/// How many people a segment reaches.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reach {
    pub recipients: i64,
}

fn check_segment(segment: &Segment) -> Result<Segment, String> {
    let longest = [
        segment.regions.len(),
        segment.stores.len(),
        segment.levels.len(),
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    if longest > 1000 {
        return Err("at most 1000 entries per list".into());
    }
    Ok(segment.clone())
}

/// How many participants a segment reaches now.
#[utoipa::path(
    operation_id = "countMailingAudience", tag = "mailings", security(("bearer" = [])), request_body = AudienceInput,
    responses((status = 200, body = Reach), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/mailings/audience")]
pub async fn count_mailing_audience(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<AudienceInput>,
) -> ApiResult<HttpResponse> {
    validate! {
        audience = "audience" => check_segment(&body.audience),
    }
    let recipients = mailings::reach(&state.db, &caller, &audience).await?;
    Ok(HttpResponse::Ok().json(Reach { recipients }))
}

/// A mailing to send.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct MailingInput {
    /// `{"ru": {"title","body"}, "en": {"title","body"}}`; each person gets their
    /// language (Russian when theirs is missing).
    pub texts: BTreeMap<String, Texts>,
    /// Besides the inbox: any of `sms`, `email`, `push`.
    #[serde(default)]
    pub channels: Vec<String>,
    #[serde(default)]
    pub audience: Segment,
    /// When to send (epoch ms); now when absent.
    pub send_at: Option<i64>,
}

fn check_texts(texts: &BTreeMap<String, Texts>) -> Result<BTreeMap<String, Texts>, String> {
    if !texts.contains_key("ru") {
        return Err("a Russian text (ru) is required".into());
    }
    let mut checked = BTreeMap::new();
    for (language, text) in texts {
        if !matches!(language.as_str(), "ru" | "en") {
            return Err(format!(
                "unknown language {language:?}; languages are ru and en"
            ));
        }
        let title =
            Text::<200>::parse(&text.title).map_err(|e| format!("{language}.title: {e}"))?;
        let body = Text::<2000>::parse_multiline(&text.body)
            .map_err(|e| format!("{language}.body: {e}"))?;
        checked.insert(
            language.clone(),
            Texts {
                title: title.into_string(),
                body: body.into_string(),
            },
        );
    }
    Ok(checked)
}

fn check_channels(channels: &[String]) -> Result<Vec<Channel>, String> {
    channels
        .iter()
        .map(|c| match Channel::parse(c) {
            Ok(Channel::InApp) | Err(_) => Err(format!(
                "unknown channel {c:?}; channels are sms, email and push (the inbox always)"
            )),
            Ok(channel) => Ok(channel),
        })
        .collect()
}

/// Sends a mailing to a segment now or at `send_at`: written page by page by the
/// effect queue, paced per channel; audited. A retry with the same `Idempotency-Key`
/// answers the same mailing.
#[utoipa::path(
    operation_id = "createMailing", tag = "mailings", security(("bearer" = [])), request_body = MailingInput,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Mailing), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/mailings")]
pub async fn create_mailing(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    body: web::Json<MailingInput>,
) -> ApiResult<HttpResponse> {
    validate! {
        texts = "texts" => check_texts(&body.texts),
        channels = "channels" => check_channels(&body.channels),
        audience = "audience" => check_segment(&body.audience),
    }
    let new = NewMailing {
        texts,
        channels,
        audience,
        send_at: body.send_at,
    };
    let request_key = key.0.clone();
    idempotency::run(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &("createMailing", &*body),
        || async {
            Reply::created(
                &mailings::create(
                    &state.db,
                    &state.clock,
                    &state.effects,
                    &caller,
                    &new,
                    request_key.as_deref(),
                )
                .await?,
            )
        },
    )
    .await
}

/// One mailing: progress and, per channel, messages queued, delivered and failed.
#[utoipa::path(
    operation_id = "getMailing", tag = "mailings", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Mailing), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/mailings/{id}")]
pub async fn get_mailing(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(mailings::get(&state.db, &caller, id.into_inner()).await?))
}

/// The program's mailings, newest first.
#[utoipa::path(
    operation_id = "listMailings", tag = "mailings", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<Mailing>), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/mailings")]
pub async fn list_mailings(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let (before, limit) = page.newest_first()?;
    Ok(HttpResponse::Ok().json(mailings::list(&state.db, &caller, before, limit).await?))
}

/// Stops a scheduled or sending mailing.
#[utoipa::path(
    operation_id = "cancelMailing", tag = "mailings", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Mailing), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/mailings/{id}/cancel")]
pub async fn cancel_mailing(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let mailing = mailings::cancel(&state.db, &state.clock, &caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(mailing))
}

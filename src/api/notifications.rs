//! Notifications over HTTP: the caller's inbox (newest first with the unread count,
//! marking read; new messages are pushed live as `notification` on `me`), the caller's
//! message choices, and the program's templates per trigger (staff).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, post, put, web};
use serde::{Deserialize, Serialize};
use stimul_actors::rules::notifications::{Channel, Language, Trigger};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::notifications::channels::{
    self, NotificationSettings, QuietHours, SettingsChange, Template, TemplateChange,
};
use crate::notifications::{self, Inbox, Texts};
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
    let (before, limit) = page.newest_first()?;
    let inbox = notifications::inbox(
        &state.db,
        caller.program_id(),
        caller.id(),
        language,
        before,
        limit,
    )
    .await?;
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

/// Changes to the caller's message choices: present fields replace stored ones.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct NotificationSettingsPatch {
    /// `ru` or `en`.
    pub language: Option<String>,
    pub sms: Option<bool>,
    pub email: Option<bool>,
    pub push: Option<bool>,
    /// `{"from": "22:00", "to": "08:00"}` in the program's time zone; null clears them.
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<QuietHours>)]
    pub quiet_hours: Option<Option<QuietHours>>,
    /// Where e-mail goes; null removes it.
    #[serde(default, deserialize_with = "crate::domain::present")]
    #[schema(value_type = Option<String>)]
    pub email_address: Option<Option<String>>,
}

fn parse_time(text: &str) -> Result<chrono::NaiveTime, String> {
    chrono::NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .map_err(|_| "a time as HH:MM".to_string())
}

fn parse_quiet(
    quiet: Option<&Option<QuietHours>>,
) -> Result<Option<Option<(chrono::NaiveTime, chrono::NaiveTime)>>, String> {
    match quiet {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(hours)) => {
            let (from, to) = (parse_time(&hours.from)?, parse_time(&hours.to)?);
            if from == to {
                return Err("quiet hours start and end at different times".into());
            }
            Ok(Some(Some((from, to))))
        }
    }
}

fn parse_email(address: Option<&Option<String>>) -> Result<Option<Option<String>>, String> {
    match address {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(text)) => {
            let text = text.trim();
            let valid = text.len() <= 254
                && text.split_once('@').is_some_and(|(user, domain)| {
                    !user.is_empty()
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                })
                && !text.chars().any(|c| c.is_whitespace() || c.is_control());
            if valid {
                Ok(Some(Some(text.to_string())))
            } else {
                Err("an e-mail address such as name@example.com".into())
            }
        }
    }
}

/// The caller's message choices.
#[utoipa::path(
    operation_id = "getMyNotificationSettings", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = NotificationSettings))
)]
#[get("/api/v1/me/notification-settings")]
pub async fn get_my_notification_settings(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(channels::my_settings(&state.db, caller.id()).await?))
}

/// Changes the caller's message choices: language, SMS / e-mail / push on or off,
/// quiet hours, e-mail address. The inbox, login codes and legally required messages
/// are not affected.
#[utoipa::path(
    operation_id = "updateMyNotificationSettings", tag = "notifications", security(("bearer" = [])), request_body = NotificationSettingsPatch,
    responses((status = 200, body = NotificationSettings), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[put("/api/v1/me/notification-settings")]
pub async fn update_my_notification_settings(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NotificationSettingsPatch>,
) -> ApiResult<HttpResponse> {
    validate! {
        language = "language" => body.language.as_deref().map(|l| Language::parse(l).map_err(|_| "ru or en".to_string())).transpose(),
        quiet_hours = "quiet_hours" => parse_quiet(body.quiet_hours.as_ref()),
        email_address = "email_address" => parse_email(body.email_address.as_ref()),
    }
    let change = SettingsChange {
        language,
        sms: body.sms,
        email: body.email,
        push: body.push,
        quiet_hours,
        email_address,
    };
    let settings = channels::set_my_settings(&state.db, &state.clock, caller.id(), &change).await?;
    Ok(HttpResponse::Ok().json(settings))
}

/// The program's message templates, one per trigger: the channels besides the inbox,
/// the texts in Russian and English (the program's or the built-in ones) and the
/// variables they may name.
#[utoipa::path(
    operation_id = "listNotificationTemplates", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = Vec<Template>), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/notification-templates")]
pub async fn list_notification_templates(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(channels::templates(&state.db, &caller).await?))
}

/// A trigger's template.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct TemplateInput {
    /// Any of `sms`, `email`, `push` (the inbox always gets the message).
    pub channels: Vec<String>,
    /// `{"ru": {"title","body"}, "en": {"title","body"}}` naming `{variables}` of the
    /// trigger; null or absent: the built-in texts.
    #[schema(value_type = Option<Object>)]
    pub texts: Option<BTreeMap<String, Texts>>,
}

/// Saves a trigger's template; a text naming a variable the trigger does not provide
/// is refused. Audited.
#[utoipa::path(
    operation_id = "updateNotificationTemplate", tag = "notifications", security(("bearer" = [])), request_body = TemplateInput,
    params(("trigger" = String, Path)),
    responses((status = 200, body = Template), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[put("/api/v1/notification-templates/{trigger}")]
pub async fn update_notification_template(
    state: web::Data<AppState>,
    caller: Caller,
    trigger: web::Path<String>,
    body: web::Json<TemplateInput>,
) -> ApiResult<HttpResponse> {
    validate! {
        trigger = "trigger" => Trigger::parse(&trigger).map_err(|_| format!("triggers are {}", channels::ALL_TRIGGERS.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "))),
        picked = "channels" => body.channels.iter().map(|c| match Channel::parse(c) {
            Ok(Channel::InApp) | Err(_) => Err(format!("unknown channel {c:?}; channels are sms, email and push")),
            Ok(channel) => Ok(channel),
        }).collect::<Result<Vec<_>, _>>(),
    }
    if let Some(texts) = &body.texts
        && let Err((field, message)) = channels::check_texts(trigger, texts)
    {
        return Err(ApiError::field(field, message));
    }
    let change = TemplateChange {
        trigger,
        channels: picked,
        texts: body.texts.clone(),
    };
    let template = channels::set_template(&state.db, &state.clock, &caller, &change).await?;
    Ok(HttpResponse::Ok().json(template))
}

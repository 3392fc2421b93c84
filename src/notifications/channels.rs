//! Channels beyond the inbox: the program's template per trigger (which channels it
//! uses, and texts per language replacing the built-in ones), a person's choices
//! (language, SMS / e-mail / push on or off, quiet hours), and the fan-out of a written
//! message to the channels both allow, each as its own effect.
//!
//! Decisions:
//! - The inbox always gets the message; SMS, e-mail and push come on top when the
//!   trigger's template names them (none do until staff choose: SMS costs money) and
//!   the person has not switched them off. Login codes are not notifications and
//!   ignore these choices.
//! - Quiet hours (the program's time zone) hold SMS and push back until they end;
//!   e-mail and the inbox are silent anyway.
//! - A template is checked when saved: a variable its trigger does not provide is
//!   refused, so a typo never reaches a person.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::NaiveTime;
use serde::{Deserialize, Serialize};
use stimul_actors::rules::notifications::{Channel, Language, Trigger, check, quiet_until, render};
use utoipa::ToSchema;

use super::{Texts, repo};
use crate::access::{Permission, Section};
use crate::auth::Principal;
use crate::db::{Clock, Db, Tx};
use crate::effects::{self, Effect, EffectHandler, Effects, Failure, NewEffect};
use crate::error::{ApiError, ApiResult};
use crate::integrations::messages::{ChannelMessage, MessageSender};
use crate::integrations::sms::SmsMessage;

/// The effect kind that sends one e-mail; its payload is a [`ChannelMessage`].
pub const EMAIL_EFFECT: &str = "email";
/// The effect kind that sends one push message; its payload is a [`ChannelMessage`].
pub const PUSH_EFFECT: &str = "push";

/// The triggers with templates (a mailing brings its own texts).
pub const ALL_TRIGGERS: [Trigger; 7] = [
    Trigger::PointsCredited,
    Trigger::LevelUp,
    Trigger::NewTask,
    Trigger::OrderStatus,
    Trigger::TaskDecided,
    Trigger::RegistrationApproved,
    Trigger::PointsExpiring,
];

/// A program's template for one trigger.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Template {
    /// `points_credited`, `order_status`, `task_decided`, `registration_approved`,
    /// `points_expiring`.
    pub trigger: String,
    /// The channels besides the inbox: any of `sms`, `email`, `push`.
    pub channels: Vec<String>,
    /// Texts by language (`ru`, `en`): the program's, or the built-in ones.
    pub texts: BTreeMap<String, Texts>,
    /// Whether the texts are the program's own.
    pub custom: bool,
    /// The names the texts may use, as `{name}`.
    pub variables: Vec<String>,
}

/// Texts by language.
type TextsByLanguage = BTreeMap<String, Texts>;

/// The program's templates, read once per use.
pub struct Templates {
    /// By trigger: its channels and the program's own texts, if any.
    by_trigger: BTreeMap<String, (Vec<Channel>, Option<TextsByLanguage>)>,
}

impl Templates {
    #[tracing::instrument(skip_all)]
    pub async fn of<'e, E>(executor: E, program_id: i64) -> ApiResult<Templates>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        let mut by_trigger = BTreeMap::new();
        for row in repo::templates(executor, program_id).await? {
            let channels: Vec<String> = serde_json::from_str(&row.channels).unwrap_or_default();
            let channels = channels
                .iter()
                .filter_map(|c| Channel::parse(c).ok())
                .collect();
            let texts = row
                .texts
                .as_deref()
                .and_then(|t| serde_json::from_str(t).ok());
            by_trigger.insert(row.trigger_kind, (channels, texts));
        }
        Ok(Templates { by_trigger })
    }

    /// The channels besides the inbox `trigger` uses.
    pub fn channels(&self, trigger: Trigger) -> &[Channel] {
        self.by_trigger
            .get(trigger.as_str())
            .map_or(&[], |(channels, _)| channels.as_slice())
    }

    /// `trigger`'s texts in `language` for `values`.
    pub fn texts(
        &self,
        trigger: Trigger,
        language: Language,
        values: &BTreeMap<String, String>,
    ) -> Texts {
        let localised = super::localise(language, values);
        let custom = self
            .by_trigger
            .get(trigger.as_str())
            .and_then(|(_, texts)| texts.as_ref())
            .and_then(|texts| texts.get(language.as_str()));
        match custom {
            Some(texts) => Texts {
                title: render(&texts.title, &localised),
                body: render(&texts.body, &localised),
            },
            None => {
                let built_in = trigger.template(language);
                Texts {
                    title: render(built_in.title, &localised),
                    body: render(built_in.body, &localised),
                }
            }
        }
    }
}

/// The program's templates for every trigger (staff with `program.view`).
#[tracing::instrument(skip_all)]
pub async fn templates(db: &Db, caller: &Principal) -> ApiResult<Vec<Template>> {
    caller.require_program_wide(Permission::view(Section::Program))?;
    let stored = Templates::of(&db.pool, caller.program_id()).await?;
    Ok(ALL_TRIGGERS
        .iter()
        .map(|trigger| {
            let (channels, custom) = stored
                .by_trigger
                .get(trigger.as_str())
                .cloned()
                .unwrap_or_default();
            let texts = custom.clone().unwrap_or_else(|| {
                [Language::Ru, Language::En]
                    .into_iter()
                    .map(|language| {
                        let built_in = trigger.template(language);
                        (
                            language.as_str().to_string(),
                            Texts {
                                title: built_in.title.to_string(),
                                body: built_in.body.to_string(),
                            },
                        )
                    })
                    .collect()
            });
            Template {
                trigger: trigger.as_str().to_string(),
                channels: channels.iter().map(|c| c.as_str().to_string()).collect(),
                texts,
                custom: custom.is_some(),
                variables: trigger.variables().iter().map(|v| v.to_string()).collect(),
            }
        })
        .collect())
}

/// A template change: the channels, and texts per language (`None`: back to the
/// built-in ones).
pub struct TemplateChange {
    pub trigger: Trigger,
    pub channels: Vec<Channel>,
    pub texts: Option<BTreeMap<String, Texts>>,
}

/// Checks a template's texts against its trigger's variables: `(field, message)` of
/// the first problem.
pub fn check_texts(
    trigger: Trigger,
    texts: &BTreeMap<String, Texts>,
) -> Result<(), (String, String)> {
    for language in [Language::Ru, Language::En] {
        if !texts.contains_key(language.as_str()) {
            return Err((
                format!("texts.{}", language.as_str()),
                "texts in Russian and English are both required".into(),
            ));
        }
    }
    for (language, text) in texts {
        if Language::parse(language).is_err() {
            return Err((
                format!("texts.{language}"),
                "languages are ru and en".into(),
            ));
        }
        for (part, template) in [("title", &text.title), ("body", &text.body)] {
            let field = format!("texts.{language}.{part}");
            if template.trim().is_empty() || template.chars().count() > 2000 {
                return Err((field, "1 to 2000 characters".into()));
            }
            check(trigger, template).map_err(|err| (field, err.to_string()))?;
        }
    }
    Ok(())
}

/// Saves a program's template (`program.edit`); audited.
#[tracing::instrument(skip_all)]
pub async fn set_template(
    db: &Db,
    clock: &Clock,
    caller: &Principal,
    change: &TemplateChange,
) -> ApiResult<Template> {
    caller.require_program_wide(Permission::edit(Section::Program))?;
    let now = clock.now_ms();
    let channels: Vec<&str> = change.channels.iter().map(|c| c.as_str()).collect();
    let channels = serde_json::to_string(&channels).map_err(ApiError::internal)?;
    let texts = change
        .texts
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(ApiError::internal)?;
    let mut tx = db.begin().await?;
    repo::set_template(
        &mut tx,
        caller.program_id(),
        change.trigger.as_str(),
        &channels,
        texts.as_deref(),
        now,
    )
    .await?;
    crate::audit::record(
        &mut tx,
        caller.program_id(),
        Some(caller.id()),
        "notification.template",
        &format!("template:{}", change.trigger.as_str()),
        None,
        Some(serde_json::json!({ "channels": channels, "texts": change.texts })),
        now,
    )
    .await?;
    tx.commit().await?;
    templates(db, caller)
        .await?
        .into_iter()
        .find(|t| t.trigger == change.trigger.as_str())
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the template vanished")))
}

/// Quiet hours, local times `HH:MM`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct QuietHours {
    pub from: String,
    pub to: String,
}

/// A person's message choices.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationSettings {
    /// The language of their SMS, e-mail and push messages: `ru` or `en`.
    pub language: String,
    pub sms: bool,
    pub email: bool,
    pub push: bool,
    /// SMS and push wait until these end (the program's time zone); null: none.
    pub quiet_hours: Option<QuietHours>,
    /// Where e-mail goes; null: no e-mail.
    pub email_address: Option<String>,
}

fn settings_of(row: Option<repo::SettingsRow>, email: Option<String>) -> NotificationSettings {
    let row = row.unwrap_or(repo::SettingsRow {
        language: Language::Ru.as_str().to_string(),
        sms: 1,
        email: 1,
        push: 1,
        quiet_from: None,
        quiet_to: None,
    });
    NotificationSettings {
        language: row.language,
        sms: row.sms != 0,
        email: row.email != 0,
        push: row.push != 0,
        quiet_hours: row
            .quiet_from
            .zip(row.quiet_to)
            .map(|(from, to)| QuietHours { from, to }),
        email_address: email,
    }
}

#[tracing::instrument(skip_all)]
pub async fn my_settings(db: &Db, user_id: i64) -> ApiResult<NotificationSettings> {
    let contact = repo::contact(&db.pool, user_id).await?;
    Ok(settings_of(
        repo::settings(&db.pool, user_id).await?,
        contact.and_then(|c| c.email),
    ))
}

/// A change to a person's choices, checked at the edge.
pub struct SettingsChange {
    pub language: Option<Language>,
    pub sms: Option<bool>,
    pub email: Option<bool>,
    pub push: Option<bool>,
    /// `Some(None)` clears them.
    pub quiet_hours: Option<Option<(NaiveTime, NaiveTime)>>,
    /// `Some(None)` clears it.
    pub email_address: Option<Option<String>>,
}

#[tracing::instrument(skip_all)]
pub async fn set_my_settings(
    db: &Db,
    clock: &Clock,
    user_id: i64,
    change: &SettingsChange,
) -> ApiResult<NotificationSettings> {
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let current = settings_of(repo::settings(&mut *tx, user_id).await?, None);
    let quiet = match change.quiet_hours {
        Some(Some((from, to))) => Some((
            from.format("%H:%M").to_string(),
            to.format("%H:%M").to_string(),
        )),
        Some(None) => None,
        None => current.quiet_hours.map(|q| (q.from, q.to)),
    };
    let row = repo::SettingsRow {
        language: change
            .language
            .map_or(current.language, |l| l.as_str().to_string()),
        sms: i64::from(change.sms.unwrap_or(current.sms)),
        email: i64::from(change.email.unwrap_or(current.email)),
        push: i64::from(change.push.unwrap_or(current.push)),
        quiet_from: quiet.as_ref().map(|q| q.0.clone()),
        quiet_to: quiet.map(|q| q.1),
    };
    repo::set_settings(&mut tx, user_id, &row, now).await?;
    if let Some(address) = &change.email_address {
        repo::set_email(&mut tx, user_id, address.as_deref(), now).await?;
    }
    tx.commit().await?;
    my_settings(db, user_id).await
}

/// Queues the written message `row` on every channel its template and its person
/// allow, inside `tx`.
#[tracing::instrument(skip_all, fields(notification = row.id))]
pub(super) async fn fan_out(
    tx: &mut Tx,
    templates: &Templates,
    row: &repo::NotificationRow,
    trigger: Trigger,
    values: &BTreeMap<String, String>,
    now: i64,
) -> ApiResult<usize> {
    let own: Option<Vec<Channel>> = row.channels.as_deref().map(|text| {
        serde_json::from_str::<Vec<String>>(text)
            .unwrap_or_default()
            .iter()
            .filter_map(|c| Channel::parse(c).ok())
            .collect()
    });
    let channels = own
        .as_deref()
        .unwrap_or_else(|| templates.channels(trigger));
    if channels.iter().all(|c| *c == Channel::InApp) {
        return Ok(0);
    }
    let Some(contact) = repo::contact(&mut **tx, row.user_id).await? else {
        return Ok(0);
    };
    let settings = settings_of(
        repo::settings(&mut **tx, row.user_id).await?,
        contact.email.clone(),
    );
    let language = Language::parse(&settings.language).unwrap_or(Language::Ru);
    let texts = templates.texts(trigger, language, values);
    let tz: chrono_tz::Tz = contact
        .timezone
        .parse()
        .unwrap_or(chrono_tz::Europe::Moscow);
    let quiet_end = settings.quiet_hours.as_ref().and_then(|q| {
        let from = NaiveTime::parse_from_str(&q.from, "%H:%M").ok()?;
        let to = NaiveTime::parse_from_str(&q.to, "%H:%M").ok()?;
        quiet_until(now, tz, from, to)
    });
    let mut queued = 0;
    for channel in channels {
        let (kind, payload) = match channel {
            Channel::Sms if settings.sms => match &contact.phone {
                Some(phone) => (
                    crate::auth::otp::SMS_EFFECT,
                    serde_json::to_value(SmsMessage {
                        to: phone.clone(),
                        text: format!("{}. {}", texts.title, texts.body),
                    }),
                ),
                None => continue,
            },
            Channel::Email if settings.email => match &contact.email {
                Some(address) => (
                    EMAIL_EFFECT,
                    serde_json::to_value(message(address, &texts, trigger, values)),
                ),
                None => continue,
            },
            Channel::Push if settings.push => (
                PUSH_EFFECT,
                serde_json::to_value(message(&row.user_id.to_string(), &texts, trigger, values)),
            ),
            _ => continue,
        };
        let effect = NewEffect {
            kind,
            dedupe_key: Some(format!("notification:{}:{}", row.id, channel.as_str())),
            program_id: Some(row.program_id),
            payload: payload.map_err(ApiError::internal)?,
        };
        let due = quiet_end.filter(|_| channel.keeps_quiet()).unwrap_or(now);
        effects::enqueue_at(tx, &effect, now, due).await?;
        queued += 1;
    }
    Ok(queued)
}

fn message(
    to: &str,
    texts: &Texts,
    trigger: Trigger,
    values: &BTreeMap<String, String>,
) -> ChannelMessage {
    ChannelMessage {
        to: to.to_string(),
        title: texts.title.clone(),
        body: texts.body.clone(),
        data: serde_json::json!({ "trigger": trigger.as_str(), "values": values }),
    }
}

/// Sends e-mail or push messages written to the effect queue.
pub struct ChannelEffect {
    pub sender: Box<dyn MessageSender>,
    pub max_attempts: u32,
}

#[async_trait]
impl EffectHandler for ChannelEffect {
    fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    async fn run(&self, _effects: &Effects, effect: &Effect) -> Result<(), Failure> {
        let message: ChannelMessage = effect.payload()?;
        Ok(self.sender.send(&message).await?)
    }
}

//! Notifications: messages to people, written to their in-app inbox by the triggers
//! of other areas and delivered through the effect queue.
//!
//! Decisions:
//! - A trigger writes its message inside the transaction that causes it
//!   ([`notify_in`]), keyed by its cause (unique), with the values its template names;
//!   the delivery is an effect queued in the same transaction, so a crash loses no
//!   message and a retried trigger writes none twice. Delivery pushes `notification`
//!   on the person's `me` topic; further channels (SMS, e-mail, push) join the same
//!   handler.
//! - Texts are rendered from the trigger's template when read, in the reader's
//!   language (`lang`, Russian by default: the programs speak Russian first); a push
//!   carries both languages.
//! - Credits are announced by a digest, not one message per credit: every node looks
//!   every `digest_every_ms`, and the program's watermark (moved with a compare-and-set
//!   in the transaction that writes the messages) lets one of them write one "points
//!   credited" message per person for everything credited since, leaving the last
//!   `digest_quiet_ms` for the next look so a burst still going on lands in one
//!   message. Nothing is written per credit on the ledger's hot path.

pub mod channels;
pub mod repo;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use stimul_actors::live::RealtimeCore;
use stimul_actors::rules::notifications::{Language, Trigger};

use channels::Templates;
use stimul_actors::rules::points::Points;
use utoipa::ToSchema;

use crate::db::{Clock, Db, Tx};
use crate::effects::{self, Effect, EffectHandler, Effects, Failure, NewEffect};
use crate::error::{ApiError, ApiResult};

/// The effect kind that delivers written messages.
pub const DELIVER_EFFECT: &str = "notifications.deliver";

/// A message a trigger writes.
pub struct Notice {
    pub program_id: i64,
    pub user_id: i64,
    pub trigger: Trigger,
    /// The message's cause, unique across messages (`order:12:shipped`).
    pub cause: String,
    /// The values the trigger's template names.
    pub values: BTreeMap<String, String>,
    /// Channels replacing the trigger's template's (a mailing's own choice).
    pub channels: Option<Vec<stimul_actors::rules::notifications::Channel>>,
    /// The mailing it is part of.
    pub mailing_id: Option<i64>,
}

impl Notice {
    pub fn new(program_id: i64, user_id: i64, trigger: Trigger, cause: String) -> Self {
        Self {
            program_id,
            user_id,
            trigger,
            cause,
            values: BTreeMap::new(),
            channels: None,
            mailing_id: None,
        }
    }

    pub fn with(mut self, name: &str, value: impl ToString) -> Self {
        self.values.insert(name.to_string(), value.to_string());
        self
    }
}

/// Title and body in one language.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Texts {
    pub title: String,
    pub body: String,
}

/// A message as its reader sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: i64,
    /// What caused it: `points_credited`, `order_status`, `task_decided`,
    /// `registration_approved`, `points_expiring`.
    pub trigger: String,
    /// In the language asked for.
    pub title: String,
    pub body: String,
    /// The values the texts were made from (amounts as decimal strings, ids, codes).
    #[schema(value_type = Object)]
    pub data: BTreeMap<String, String>,
    pub read: bool,
    pub created_at: i64,
}

/// `notification` on `me`: the message, with its texts in every language.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationPushed {
    #[serde(flatten)]
    pub notification: NotificationView,
    /// Texts by language (`ru`, `en`).
    pub texts: BTreeMap<String, Texts>,
}

impl stimul_actors::hub::LiveEvent for NotificationPushed {
    const NAME: &'static str = "notification";
}

/// A page of the inbox with the count of unread messages.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Inbox {
    pub items: Vec<NotificationView>,
    pub next_cursor: Option<String>,
    pub unread: i64,
}

/// Words for the codes a template shows (statuses, decisions) in `language`.
fn label(language: Language, value: &str) -> Option<&'static str> {
    use Language::{En, Ru};
    Some(match (language, value) {
        (Ru, "placed") => "оформлен",
        (Ru, "awaiting_payment") => "ждёт оплаты",
        (Ru, "processing") => "в работе",
        (Ru, "shipped") => "отправлен",
        (Ru, "delivered") => "доставлен",
        (Ru, "failed") => "не выполнен",
        (Ru, "cancelled") => "отменён",
        (Ru, "approved") => "принято",
        (Ru, "rejected") => "отклонено",
        (Ru, "rework") => "отправлено на доработку",
        (En, "awaiting_payment") => "awaiting payment",
        (En, "rework") => "sent back for rework",
        _ => return None,
    })
}

/// `values` with the codes a template shows (statuses, decisions) in words.
pub(crate) fn localise(
    language: Language,
    values: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|(name, value)| {
            let shown = match name.as_str() {
                "status" | "decision" => label(language, value).unwrap_or(value).to_string(),
                _ => value.clone(),
            };
            (name.clone(), shown)
        })
        .collect()
}

fn view(row: repo::NotificationRow, templates: &Templates, language: Language) -> NotificationView {
    let data: BTreeMap<String, String> = serde_json::from_str(&row.data).unwrap_or_default();
    let (title, body) = match Trigger::parse(&row.trigger_kind) {
        Ok(trigger) => {
            let texts = templates.texts(trigger, language, &data);
            (texts.title, texts.body)
        }
        Err(_) => (row.trigger_kind.clone(), String::new()),
    };
    NotificationView {
        id: row.id,
        trigger: row.trigger_kind,
        title,
        body,
        data,
        read: row.read_at.is_some(),
        created_at: row.created_at,
    }
}

/// Writes `notices` inside the caller's transaction and queues their delivery; causes
/// already written write nothing. Answers the ids written.
#[tracing::instrument(skip_all, fields(count = notices.len()))]
pub async fn notify_in(tx: &mut Tx, notices: &[Notice], now: i64) -> ApiResult<Vec<i64>> {
    let rows = notices
        .iter()
        .map(|notice| {
            Ok(repo::NewRow {
                program_id: notice.program_id,
                user_id: notice.user_id,
                trigger: notice.trigger.as_str(),
                dedupe_key: &notice.cause,
                data: serde_json::to_string(&notice.values).map_err(ApiError::internal)?,
                channels: notice
                    .channels
                    .as_ref()
                    .map(|channels| {
                        serde_json::to_string(
                            &channels.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                        )
                    })
                    .transpose()
                    .map_err(ApiError::internal)?,
                mailing_id: notice.mailing_id,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let ids = repo::insert(tx, &rows, now).await?;
    // One delivery per chunk of messages: a mailing of thousands is a few effects.
    for chunk in ids.chunks(500) {
        let (Some(first), Some(program)) = (chunk.first(), notices.first()) else {
            continue;
        };
        effects::enqueue(
            tx,
            &NewEffect {
                kind: DELIVER_EFFECT,
                dedupe_key: Some(format!("notifications:{first}:{}", chunk.len())),
                program_id: Some(program.program_id),
                payload: serde_json::json!({ "ids": chunk }),
            },
            now,
        )
        .await?;
    }
    Ok(ids)
}

/// The caller's inbox, newest first (`before`: the last id seen, or `i64::MAX`).
#[tracing::instrument(skip_all)]
pub async fn inbox(
    db: &Db,
    program_id: i64,
    user_id: i64,
    language: Language,
    before: i64,
    limit: i64,
) -> ApiResult<Inbox> {
    let templates = Templates::of(&db.pool, program_id).await?;
    let rows = repo::page(db, user_id, before, limit + 1).await?;
    let page = crate::paging::page_of(
        rows.into_iter()
            .map(|row| view(row, &templates, language))
            .collect(),
        limit,
        |item| item.id,
    );
    Ok(Inbox {
        items: page.items,
        next_cursor: page.next_cursor,
        unread: repo::unread(db, user_id).await?,
    })
}

/// Marks the caller's messages read (`ids`, or all); answers what is still unread.
#[tracing::instrument(skip_all)]
pub async fn mark_read(
    db: &Db,
    clock: &Clock,
    user_id: i64,
    ids: Option<&[i64]>,
) -> ApiResult<i64> {
    repo::mark_read(db, user_id, ids, clock.now_ms()).await?;
    Ok(repo::unread(db, user_id).await?)
}

#[derive(Debug, Deserialize)]
struct DeliverPayload {
    ids: Vec<i64>,
}

/// Delivers written messages: the in-app channel pushes each to its person's `me`;
/// the channels their template and their person allow get an effect each.
pub struct DeliverEffect {
    pub db: Db,
    pub clock: Clock,
    pub live: Arc<RealtimeCore>,
}

#[async_trait]
impl EffectHandler for DeliverEffect {
    async fn run(&self, effects: &Effects, effect: &Effect) -> Result<(), Failure> {
        let DeliverPayload { ids } = effect.payload()?;
        let rows = repo::by_ids(&self.db, &ids).await?;
        let mut templates: BTreeMap<i64, Templates> = BTreeMap::new();
        for row in &rows {
            if let std::collections::btree_map::Entry::Vacant(entry) =
                templates.entry(row.program_id)
            {
                entry.insert(Templates::of(&self.db.pool, row.program_id).await?);
            }
        }
        let now = self.clock.now_ms();
        // The other channels first, in one transaction: a crash before the commit runs
        // this effect again, and each message's effects are keyed by message and
        // channel, so none is queued twice.
        let mut tx = self.db.begin().await?;
        let mut queued = 0;
        for row in &rows {
            let (Ok(trigger), Some(program)) = (
                Trigger::parse(&row.trigger_kind),
                templates.get(&row.program_id),
            ) else {
                continue;
            };
            let data: BTreeMap<String, String> =
                serde_json::from_str(&row.data).unwrap_or_default();
            queued += channels::fan_out(&mut tx, program, row, trigger, &data, now).await?;
        }
        tx.commit().await?;
        if queued > 0 {
            effects.ring();
        }
        for row in rows {
            let Some(program) = templates.get(&row.program_id) else {
                continue;
            };
            let user = row.user_id;
            let data: BTreeMap<String, String> =
                serde_json::from_str(&row.data).unwrap_or_default();
            let mut texts_by_language = BTreeMap::new();
            if let Ok(trigger) = Trigger::parse(&row.trigger_kind) {
                for language in [Language::Ru, Language::En] {
                    texts_by_language.insert(
                        language.as_str().to_string(),
                        program.texts(trigger, language, &data),
                    );
                }
            }
            self.live.push(
                &stimul_actors::participant::topic(user),
                &NotificationPushed {
                    notification: view(row, program, Language::Ru),
                    texts: texts_by_language,
                },
            );
        }
        Ok(())
    }
}

/// What the credits digest owns.
#[derive(Clone)]
pub struct DigestJob {
    pub db: Db,
    pub clock: Clock,
    pub effects: Arc<Effects>,
    /// Credits younger than this wait for the next look.
    pub quiet_ms: i64,
}

/// Writes one "points credited" message per person for the program's credits since
/// its watermark (up to the quiet edge); another node's concurrent digest of the same
/// credits makes this one write nothing. Answers the messages written.
#[tracing::instrument(skip_all, fields(program = program_id))]
pub async fn digest(job: &DigestJob, program_id: i64) -> ApiResult<usize> {
    let now = job.clock.now_ms();
    let mut tx = job.db.begin().await?;
    let after = repo::watermark(&mut tx, program_id).await?;
    let Some(upto) = repo::settled_upto(&mut tx, program_id, after, now - job.quiet_ms).await?
    else {
        tx.commit().await?;
        return Ok(0);
    };
    let credits = repo::credits(&mut tx, program_id, after, upto).await?;
    let notices: Vec<Notice> = credits
        .iter()
        .map(|row| {
            Notice::new(
                program_id,
                row.participant_id,
                Trigger::PointsCredited,
                format!("credited:{}:{}", row.participant_id, row.last),
            )
            .with("amount", Points::from_hundredths(row.amount))
            .with("credits", row.credits)
            .with("balance", Points::from_hundredths(row.balance))
        })
        .collect();
    if !repo::advance(&mut tx, program_id, after, upto).await? {
        // Another node took these credits.
        return Ok(0);
    }
    let written = notify_in(&mut tx, &notices, now).await?;
    let events = credits
        .iter()
        .map(|row| {
            serde_json::json!({
                "participant_id": row.participant_id,
                "amount": Points::from_hundredths(row.amount),
                "credits": row.credits,
                "balance": Points::from_hundredths(row.balance),
                "last_transaction_id": row.last,
            })
        })
        .collect();
    crate::webhooks::emit_all_in(
        &mut tx,
        program_id,
        crate::webhooks::EventType::PointsCredited,
        events,
        now,
    )
    .await?;
    tx.commit().await?;
    if !written.is_empty() {
        job.effects.ring();
    }
    Ok(written.len())
}

/// Runs the digest for every program every `every` until `shutdown`.
#[tracing::instrument(skip_all)]
pub async fn run_digest(
    job: DigestJob,
    every: std::time::Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let programs = match repo::programs(&job.db).await {
            Ok(programs) => programs,
            Err(err) => {
                tracing::warn!(error = %err, "reading programs for the credits digest failed");
                continue;
            }
        };
        for program_id in programs {
            if let Err(err) = digest(&job, program_id).await {
                tracing::warn!(program = program_id, error = ?err, "the credits digest failed");
            }
        }
    }
}

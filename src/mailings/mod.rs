//! Mailings: staff write to a segment of participants (regions, stores, levels,
//! roles, active or inactive since a date), see how many it reaches, and send now or
//! at a time.
//!
//! Decisions:
//! - A mailing is written page by page by the effect queue: each page's inbox
//!   messages (keyed by mailing and person, so none is written twice), its progress
//!   and the next page's effect commit together, so a crash (even SIGKILL) resumes
//!   where the last page ended and nobody gets it twice. Delivery then goes through the
//!   notifications' own effects, per channel.
//! - Pages are paced by the slowest channel chosen (`mailings.*_per_second`), so a
//!   mailing of 100,000 never floods a provider and the API keeps its connections.
//! - The texts are the mailing's own, in Russian and English; each person gets their
//!   language. The inbox always gets it; SMS, e-mail and push are the mailing's
//!   choice, within each person's opt-outs and quiet hours.
//! - Staff with program-wide `content.edit` send; `content.view` read.

pub mod repo;

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use stimul_actors::rules::levels::{Level, LevelScale, Progress};
use stimul_actors::rules::notifications::{Channel, Language, Trigger};
use stimul_actors::rules::points::Points;
use stimul_actors::rules::windows::start_of_local_day;
use utoipa::ToSchema;

use crate::access::{Permission, Section};
use crate::auth::Principal;
use crate::config::MailingSettings;
use crate::db::{Clock, Db};
use crate::effects::{self, Effect, EffectHandler, Effects, Failure, NewEffect};
use crate::error::{ApiError, ApiResult};
use crate::notifications::{Notice, Texts};
use crate::paging::Page;

/// The effect kind that writes one page of a mailing.
pub const PAGE_EFFECT: &str = "mailings.page";

stimul_actors::stored_enum! {
    /// Where a mailing stands.
    pub enum MailingStatus {
        /// Waiting for its time.
        Scheduled = "scheduled",
        Sending = "sending",
        Finished = "finished",
        Cancelled = "cancelled",
    }
}

stimul_actors::stored_enum! {
    /// A participant's role, as a segment picks it.
    pub enum SegmentRole {
        /// A participant who owns no store.
        Seller = "seller",
        /// A store's owner.
        Owner = "owner",
    }
}

/// Who a mailing reaches; empty lists narrow nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
pub struct Segment {
    #[serde(default)]
    pub regions: Vec<i64>,
    #[serde(default)]
    pub stores: Vec<i64>,
    /// Level indices (0 is the first level).
    #[serde(default)]
    pub levels: Vec<u32>,
    /// `seller`, `owner`.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<SegmentRole>,
    /// Only those with points movements on or after this day (program's zone).
    #[schema(value_type = Option<String>, example = "2026-11-01")]
    pub active_since: Option<NaiveDate>,
    /// Only those without any since this day.
    #[schema(value_type = Option<String>, example = "2026-11-01")]
    pub inactive_since: Option<NaiveDate>,
}

/// A mailing's per-channel figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelFigures {
    pub queued: i64,
    pub delivered: i64,
    pub failed: i64,
}

/// A mailing and how far it got.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Mailing {
    pub id: i64,
    pub texts: BTreeMap<String, Texts>,
    /// Besides the inbox: `sms`, `email`, `push`.
    pub channels: Vec<String>,
    pub audience: Segment,
    /// `scheduled`, `sending`, `finished`, `cancelled`.
    #[schema(value_type = String)]
    pub status: MailingStatus,
    pub send_at: i64,
    /// People the segment reached when the mailing was created.
    pub recipients: i64,
    /// Inbox messages written so far.
    pub written: i64,
    /// What the messages became on each other channel (with `getMailing`).
    pub delivery: BTreeMap<String, ChannelFigures>,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

fn mailing_of(row: repo::MailingRow) -> Mailing {
    Mailing {
        id: row.id,
        texts: serde_json::from_str(&row.texts).unwrap_or_default(),
        channels: serde_json::from_str(&row.channels).unwrap_or_default(),
        audience: serde_json::from_str(&row.audience).unwrap_or_default(),
        status: row.status,
        send_at: row.send_at,
        recipients: row.recipients,
        written: row.written,
        delivery: BTreeMap::new(),
        created_by: row.created_by,
        created_at: row.created_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
    }
}

/// A segment resolved against its program: day bounds in ms and the level scale.
struct Resolved {
    segment: Segment,
    active_since: Option<i64>,
    inactive_since: Option<i64>,
    levels: LevelScale,
}

impl Resolved {
    #[tracing::instrument(skip_all)]
    async fn of(db: &Db, program_id: i64, segment: &Segment) -> ApiResult<Resolved> {
        let zone: chrono_tz::Tz = repo::timezone(&db.pool, program_id)
            .await?
            .parse()
            .map_err(|_| {
                ApiError::internal(anyhow::anyhow!("program {program_id}: unknown time zone"))
            })?;
        let day = |date: Option<NaiveDate>| {
            date.map(|d| {
                start_of_local_day(d, zone).map_err(|e| ApiError::field("audience", e.to_string()))
            })
            .transpose()
        };
        let levels: Vec<Level> = serde_json::from_str(&repo::levels(&db.pool, program_id).await?)
            .map_err(ApiError::internal)?;
        Ok(Resolved {
            segment: segment.clone(),
            active_since: day(segment.active_since)?,
            inactive_since: day(segment.inactive_since)?,
            levels: LevelScale::new(levels)
                .map_err(|e| ApiError::internal(anyhow::anyhow!("{e}")))?,
        })
    }

    /// The level index of a candidate.
    fn level_of(&self, row: &repo::CandidateRow) -> u32 {
        self.levels.index_for(Progress {
            completed_tasks: row.completed_tasks.max(0) as u64,
            lifetime_points: Points::from_hundredths(row.lifetime),
        }) as u32
    }

    fn admits(&self, row: &repo::CandidateRow) -> bool {
        let level = self.level_of(row);
        let role = if row.owner != 0 {
            SegmentRole::Owner
        } else {
            SegmentRole::Seller
        };
        (self.segment.levels.is_empty() || self.segment.levels.contains(&level))
            && (self.segment.roles.is_empty() || self.segment.roles.contains(&role))
    }

    /// The next recipients after `after`: the ones admitted, and the last id read
    /// (`None` when the segment is done).
    #[tracing::instrument(skip_all)]
    async fn page(
        &self,
        db: &Db,
        program_id: i64,
        after: i64,
        limit: i64,
    ) -> ApiResult<(Vec<repo::CandidateRow>, Option<i64>)> {
        let rows = repo::candidates(
            &db.pool,
            program_id,
            &self.segment,
            self.active_since,
            self.inactive_since,
            after,
            limit,
        )
        .await?;
        let last = (rows.len() as i64 == limit)
            .then(|| rows.last().map(|row| row.id))
            .flatten();
        Ok((
            rows.into_iter().filter(|row| self.admits(row)).collect(),
            last,
        ))
    }
}

/// How many people `segment` reaches now.
#[tracing::instrument(skip_all)]
pub async fn reach(db: &Db, caller: &Principal, segment: &Segment) -> ApiResult<i64> {
    caller.require_program_wide(Permission::view(Section::Content))?;
    count(db, caller.program_id(), segment).await
}

#[tracing::instrument(skip_all)]
async fn count(db: &Db, program_id: i64, segment: &Segment) -> ApiResult<i64> {
    let resolved = Resolved::of(db, program_id, segment).await?;
    let mut total = 0;
    let mut after = 0;
    loop {
        let (admitted, last) = resolved.page(db, program_id, after, 2_000).await?;
        total += admitted.len() as i64;
        match last {
            Some(last) => after = last,
            None => return Ok(total),
        }
    }
}

/// A mailing asked for, checked at the edge.
#[derive(Debug, Clone, Serialize)]
pub struct NewMailing {
    pub texts: BTreeMap<String, Texts>,
    #[serde(skip)]
    pub channels: Vec<Channel>,
    pub audience: Segment,
    /// Now when absent or past.
    pub send_at: Option<i64>,
}

/// Creates a mailing and queues its first page (at `send_at`); audited. The same
/// `key` answers the same mailing.
#[tracing::instrument(skip_all)]
pub async fn create(
    db: &Db,
    clock: &Clock,
    effects: &Effects,
    caller: &Principal,
    new: &NewMailing,
    key: Option<&str>,
) -> ApiResult<Mailing> {
    caller.require_program_wide(Permission::edit(Section::Content))?;
    let program = caller.program_id();
    if let Some(key) = key
        && let Some(row) = repo::by_key(db, program, key).await?
    {
        return Ok(mailing_of(row));
    }
    let now = clock.now_ms();
    let recipients = count(db, program, &new.audience).await?;
    let send_at = new.send_at.unwrap_or(now).max(now);
    let texts = serde_json::to_string(&new.texts).map_err(ApiError::internal)?;
    let channels: Vec<&str> = new.channels.iter().map(|c| c.as_str()).collect();
    let channels = serde_json::to_string(&channels).map_err(ApiError::internal)?;
    let audience = serde_json::to_string(&new.audience).map_err(ApiError::internal)?;
    let mut tx = db.begin().await?;
    let id = repo::insert(
        &mut tx,
        &repo::NewMailing {
            program_id: program,
            texts: &texts,
            channels: &channels,
            audience: &audience,
            status: MailingStatus::Scheduled,
            send_at,
            recipients,
            request_key: key,
            trigger_kind: None,
            vals: None,
            created_by: Some(caller.id()),
        },
        now,
    )
    .await?;
    let Some(id) = id else {
        // The same key raced in: answer with the mailing it created.
        drop(tx);
        let row = match key {
            Some(key) => repo::by_key(db, program, key).await?,
            None => None,
        };
        return row
            .map(mailing_of)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a mailing vanished")));
    };
    effects::enqueue_at(&mut tx, &page_effect(program, id, 0), now, send_at).await?;
    crate::audit::record(
        &mut tx,
        program,
        Some(caller.id()),
        "mailing.create",
        &format!("mailing:{id}"),
        None,
        Some(serde_json::json!({ "mailing": new, "channels": channels, "recipients": recipients })),
        now,
    )
    .await?;
    let row = repo::by_id(&mut *tx, id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("mailing {id} vanished")))?;
    tx.commit().await?;
    effects.ring();
    Ok(mailing_of(row))
}

/// Announces something new to an audience (a task now open to them) inside the
/// caller's transaction: a mailing of `trigger` with `values`, written to `audience`
/// (a task's, as JSON) from `send_at` on, once per `subject` in the program.
#[allow(clippy::too_many_arguments)]
#[tracing::instrument(skip_all, fields(program = program_id, subject = subject))]
pub async fn announce_in(
    tx: &mut crate::db::Tx,
    program_id: i64,
    trigger: Trigger,
    values: &BTreeMap<String, String>,
    audience: &str,
    subject: &str,
    send_at: i64,
    now: i64,
) -> ApiResult<()> {
    let vals = serde_json::to_string(values).map_err(ApiError::internal)?;
    let id = repo::insert(
        tx,
        &repo::NewMailing {
            program_id,
            texts: "{}",
            channels: "[]",
            audience,
            status: MailingStatus::Scheduled,
            send_at: send_at.max(now),
            recipients: 0,
            request_key: Some(subject),
            trigger_kind: Some(trigger.as_str()),
            vals: Some(&vals),
            created_by: None,
        },
        now,
    )
    .await?;
    if let Some(id) = id {
        effects::enqueue_at(tx, &page_effect(program_id, id, 0), now, send_at.max(now)).await?;
    }
    Ok(())
}

fn page_effect(program_id: i64, id: i64, page: i64) -> NewEffect {
    NewEffect {
        kind: PAGE_EFFECT,
        dedupe_key: Some(format!("mailing:{id}:page:{page}")),
        program_id: Some(program_id),
        payload: serde_json::json!({ "mailing_id": id, "page": page }),
    }
}

/// One mailing with its delivery figures per channel.
#[tracing::instrument(skip_all)]
pub async fn get(db: &Db, caller: &Principal, id: i64) -> ApiResult<Mailing> {
    caller.require_program_wide(Permission::view(Section::Content))?;
    let row = repo::by_id(&db.pool, id)
        .await?
        .filter(|row| row.program_id == caller.program_id())
        .ok_or_else(|| ApiError::not_found(format!("mailing {id}")))?;
    let mut mailing = mailing_of(row);
    for channel in mailing.channels.clone() {
        let (queued, delivered, failed) = repo::channel_counts(db, id, &channel).await?;
        mailing.delivery.insert(
            channel,
            ChannelFigures {
                queued,
                delivered,
                failed,
            },
        );
    }
    Ok(mailing)
}

#[tracing::instrument(skip_all)]
pub async fn list(
    db: &Db,
    caller: &Principal,
    before: i64,
    limit: i64,
) -> ApiResult<Page<Mailing>> {
    caller.require_program_wide(Permission::view(Section::Content))?;
    let rows = repo::list(db, caller.program_id(), before, limit + 1).await?;
    Ok(crate::paging::page_of(
        rows.into_iter().map(mailing_of).collect(),
        limit,
        |mailing| mailing.id,
    ))
}

/// Stops a scheduled or sending mailing: no further page is written.
#[tracing::instrument(skip_all)]
pub async fn cancel(db: &Db, clock: &Clock, caller: &Principal, id: i64) -> ApiResult<Mailing> {
    caller.require_program_wide(Permission::edit(Section::Content))?;
    let mut tx = db.begin().await?;
    repo::by_id(&mut *tx, id)
        .await?
        .filter(|row| row.program_id == caller.program_id())
        .ok_or_else(|| ApiError::not_found(format!("mailing {id}")))?;
    if !repo::cancel(&mut tx, id, clock.now_ms()).await? {
        return Err(ApiError::invalid_state(format!(
            "mailing {id} has already finished"
        )));
    }
    tx.commit().await?;
    get(db, caller, id).await
}

#[derive(Debug, Deserialize)]
struct PagePayload {
    mailing_id: i64,
    page: i64,
}

/// Writes one page of a mailing and queues the next (paced by its slowest channel).
pub struct PageEffect {
    pub db: Db,
    pub clock: Clock,
    pub settings: MailingSettings,
}

/// One page's messages, the last id read (`None`: the audience is done) and the last
/// person written to.
type PageOfNotices = (Vec<Notice>, Option<i64>, Option<i64>);

impl PageEffect {
    /// The next page of a mailing: its own texts in each person's language, on its own
    /// channels.
    async fn mailing_page(
        &self,
        row: &repo::MailingRow,
        mailing: &Mailing,
    ) -> Result<PageOfNotices, Failure> {
        let resolved = Resolved::of(&self.db, row.program_id, &mailing.audience).await?;
        let (recipients, last) = resolved
            .page(
                &self.db,
                row.program_id,
                row.after_user,
                self.settings.page_size,
            )
            .await?;
        let channels: Vec<Channel> = mailing
            .channels
            .iter()
            .filter_map(|c| Channel::parse(c).ok())
            .collect();
        let notices = recipients
            .iter()
            .map(|person| {
                let language = Language::parse(&person.language).unwrap_or(Language::Ru);
                let texts = mailing
                    .texts
                    .get(language.as_str())
                    .or_else(|| mailing.texts.get(Language::Ru.as_str()));
                let mut notice = Notice::new(
                    row.program_id,
                    person.id,
                    Trigger::Mailing,
                    format!("mailing:{}:{}", row.id, person.id),
                )
                .with("title", texts.map(|t| t.title.as_str()).unwrap_or_default())
                .with("body", texts.map(|t| t.body.as_str()).unwrap_or_default());
                notice.channels = Some(channels.clone());
                notice.mailing_id = Some(row.id);
                notice
            })
            .collect();
        Ok((notices, last, recipients.last().map(|r| r.id)))
    }

    /// The next page of an announcement: its trigger's template and values, to the
    /// people its (task) audience includes, on the trigger's channels.
    async fn announcement_page(
        &self,
        row: &repo::MailingRow,
        trigger: Trigger,
    ) -> Result<PageOfNotices, Failure> {
        let audience: stimul_actors::rules::tasks::audience::Audience =
            serde_json::from_str(&row.audience).unwrap_or_default();
        let values: BTreeMap<String, String> = row
            .vals
            .as_deref()
            .and_then(|v| serde_json::from_str(v).ok())
            .unwrap_or_default();
        let everyone = Resolved::of(&self.db, row.program_id, &Segment::default()).await?;
        let rows = repo::candidates(
            &self.db.pool,
            row.program_id,
            &Segment::default(),
            None,
            None,
            row.after_user,
            self.settings.page_size,
        )
        .await?;
        let last = (rows.len() as i64 == self.settings.page_size)
            .then(|| rows.last().map(|r| r.id))
            .flatten();
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut roles: BTreeMap<i64, std::collections::BTreeSet<String>> = BTreeMap::new();
        for (user, role) in repo::roles_of(&self.db, &ids).await? {
            roles.entry(user).or_default().insert(role);
        }
        let notices: Vec<Notice> = rows
            .iter()
            .filter(|person| {
                audience.includes(&stimul_actors::rules::tasks::audience::Member {
                    region: person.region_id,
                    store: person.store_id,
                    level: everyone.level_of(person),
                    roles: roles.get(&person.id).cloned().unwrap_or_default(),
                })
            })
            .map(|person| {
                let mut notice = Notice::new(
                    row.program_id,
                    person.id,
                    trigger,
                    format!("{}:{}:{}", trigger.as_str(), row.id, person.id),
                );
                notice.values = values.clone();
                notice.mailing_id = Some(row.id);
                notice
            })
            .collect();
        Ok((notices, last, rows.last().map(|r| r.id)))
    }

    /// Milliseconds between pages for `channels`.
    fn pace_ms(&self, channels: &[String]) -> i64 {
        let slowest = channels
            .iter()
            .filter_map(|c| match c.as_str() {
                "sms" => Some(self.settings.sms_per_second),
                "email" => Some(self.settings.email_per_second),
                "push" => Some(self.settings.push_per_second),
                _ => None,
            })
            .min();
        match slowest {
            Some(rate) if rate > 0 => self.settings.page_size * 1000 / i64::from(rate),
            _ => 0,
        }
    }
}

#[async_trait]
impl EffectHandler for PageEffect {
    async fn run(&self, effects: &Effects, effect: &Effect) -> Result<(), Failure> {
        let PagePayload { mailing_id, page } = effect.payload()?;
        let row = repo::by_id(&self.db.pool, mailing_id)
            .await?
            .ok_or_else(|| Failure::Permanent(format!("mailing {mailing_id} not found")))?;
        if matches!(
            row.status,
            MailingStatus::Cancelled | MailingStatus::Finished
        ) {
            return Ok(());
        }
        let mailing = mailing_of(row.clone());
        let (notices, last, recipients) = match row.trigger_kind.as_deref().map(Trigger::parse) {
            Some(Ok(trigger)) => self.announcement_page(&row, trigger).await?,
            Some(Err(_)) => {
                return Err(Failure::Permanent(format!(
                    "mailing {mailing_id} has an unknown trigger"
                )));
            }
            None => self.mailing_page(&row, &mailing).await?,
        };
        let now = self.clock.now_ms();
        let mut tx = self.db.begin().await?;
        // Another node or an earlier try may have moved on: write only from where it is.
        let Some(current) = repo::by_id(&mut *tx, mailing_id).await? else {
            return Ok(());
        };
        if current.after_user != row.after_user || current.status == MailingStatus::Cancelled {
            return Ok(());
        }
        let written = crate::notifications::notify_in(&mut tx, &notices, now).await?;
        let (status, cursor) = match last {
            Some(last) => (MailingStatus::Sending, last),
            None => (
                MailingStatus::Finished,
                recipients.unwrap_or(row.after_user),
            ),
        };
        repo::page_done(
            &mut tx,
            mailing_id,
            written.len() as i64,
            cursor,
            status,
            now,
        )
        .await?;
        if last.is_some() {
            let due = now + self.pace_ms(&mailing.channels);
            effects::enqueue_at(
                &mut tx,
                &page_effect(row.program_id, mailing_id, page + 1),
                now,
                due,
            )
            .await?;
        }
        tx.commit().await?;
        effects.ring();
        Ok(())
    }
}

//! What a program tells its people: news (with an audience and a publish time), the
//! program's rules and the FAQ.
//!
//! Decisions:
//! - Staff with `content.view` read everything (scheduled and archived news too);
//!   with `content.edit` write it; every change is audited. Participants read the
//!   published news whose audience admits them (the campaigns' audience: regions,
//!   stores, partners, levels), the rules and the FAQ.
//! - A participant's unread count is their published news not yet opened; opening a
//!   news item (`getNews`) marks it read.

pub mod repo;

use std::collections::HashSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use stimul_actors::live::RealtimeCore;
use stimul_actors::rules::campaigns::{AudienceMember, CampaignAudience};
use utoipa::ToSchema;

use crate::access::{Permission, Section};
use crate::auth::Principal;
use crate::db::{Clock, Db};
use crate::error::{ApiError, ApiResult};

/// A news item.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct News {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub audience: CampaignAudience,
    /// When it shows (epoch ms); later means scheduled.
    pub publish_at: i64,
    pub archived: bool,
    /// Whether the reader opened it (always true for staff).
    pub read: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A page of news with the reader's unread count.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NewsPage {
    pub items: Vec<News>,
    pub next_cursor: Option<String>,
    pub unread: i64,
}

/// News fields, checked at the edge.
#[derive(Debug, Clone, Serialize)]
pub struct NewsFields {
    pub title: String,
    pub body: String,
    pub audience: CampaignAudience,
    pub publish_at: Option<i64>,
    pub archived: bool,
}

/// The program's rules.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProgramRules {
    /// Plain text (paragraphs separated by blank lines).
    pub text: String,
    pub updated_at: Option<i64>,
}

/// One FAQ entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FaqEntry {
    pub id: i64,
    pub question: String,
    pub answer: String,
    /// Entries are shown by position.
    pub position: i64,
    pub updated_at: i64,
}

impl From<repo::FaqRow> for FaqEntry {
    fn from(row: repo::FaqRow) -> Self {
        FaqEntry {
            id: row.id,
            question: row.question,
            answer: row.answer,
            position: row.position,
            updated_at: row.updated_at,
        }
    }
}

fn audience_of(row: &repo::NewsRow) -> CampaignAudience {
    serde_json::from_str(&row.audience).unwrap_or_default()
}

fn news_of(row: repo::NewsRow, read: bool) -> News {
    News {
        audience: audience_of(&row),
        id: row.id,
        title: row.title,
        body: row.body,
        publish_at: row.publish_at,
        archived: row.archived != 0,
        read,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn is_staff_reader(caller: &Principal) -> bool {
    caller
        .access
        .has_permission_anywhere(Permission::view(Section::Content))
}

/// The reader as audiences see them: `None` for staff (they see everything).
#[tracing::instrument(skip_all)]
async fn reader(
    db: &Db,
    live: &Arc<RealtimeCore>,
    caller: &Principal,
) -> ApiResult<Option<AudienceMember>> {
    if is_staff_reader(caller) {
        return Ok(None);
    }
    if !caller.account.kind.is_participant() {
        return Err(ApiError::forbidden(
            "news are for participants and content staff",
        ));
    }
    Ok(Some(
        crate::campaigns::visibility::audience_member(db, live, caller.id()).await?,
    ))
}

/// News for the caller, newest first (`before`: the last id seen, or `i64::MAX`).
#[tracing::instrument(skip_all)]
pub async fn list_news(
    db: &Db,
    clock: &Clock,
    live: &Arc<RealtimeCore>,
    caller: &Principal,
    before: i64,
    limit: i64,
) -> ApiResult<NewsPage> {
    let now = clock.now_ms();
    let member = reader(db, live, caller).await?;
    let program = caller.program_id();
    let Some(member) = member else {
        let rows = repo::news_page(db, program, None, before, limit + 1).await?;
        let page = crate::paging::page_of(
            rows.into_iter().map(|row| news_of(row, true)).collect(),
            limit,
            |news| news.id,
        );
        return Ok(NewsPage {
            items: page.items,
            next_cursor: page.next_cursor,
            unread: 0,
        });
    };
    // Filtered by audience after reading: read on until the page is full.
    let mut items = Vec::new();
    let mut cursor = before;
    let mut more = false;
    loop {
        let rows = repo::news_page(db, program, Some(now), cursor, limit + 1).await?;
        let exhausted = rows.len() as i64 <= limit;
        for row in rows {
            cursor = row.id;
            if audience_of(&row).admits(&member).is_ok() {
                if items.len() as i64 == limit {
                    more = true;
                    break;
                }
                items.push(row);
            }
        }
        if more || exhausted {
            break;
        }
    }
    let ids: Vec<i64> = items.iter().map(|row| row.id).collect();
    let read: HashSet<i64> = repo::read_of(db, caller.id(), &ids)
        .await?
        .into_iter()
        .collect();
    let next_cursor = more
        .then(|| items.last().map(|row| row.id.to_string()))
        .flatten();
    let items: Vec<News> = items
        .into_iter()
        .map(|row| {
            let seen = read.contains(&row.id);
            news_of(row, seen)
        })
        .collect();
    Ok(NewsPage {
        items,
        next_cursor,
        unread: unread(db, caller.id(), program, &member, now).await?,
    })
}

/// Published news the participant's audience admits and they have not opened.
#[tracing::instrument(skip_all)]
async fn unread(
    db: &Db,
    user_id: i64,
    program_id: i64,
    member: &AudienceMember,
    now: i64,
) -> ApiResult<i64> {
    let visible: Vec<i64> = repo::published(db, program_id, now)
        .await?
        .into_iter()
        .filter(|(_, audience)| {
            serde_json::from_str::<CampaignAudience>(audience)
                .unwrap_or_default()
                .admits(member)
                .is_ok()
        })
        .map(|(id, _)| id)
        .collect();
    let read = repo::read_of(db, user_id, &visible).await?.len();
    Ok(visible.len() as i64 - read as i64)
}

/// One news item; a participant's opening marks it read.
#[tracing::instrument(skip_all)]
pub async fn get_news(
    db: &Db,
    clock: &Clock,
    live: &Arc<RealtimeCore>,
    caller: &Principal,
    id: i64,
) -> ApiResult<News> {
    let now = clock.now_ms();
    let member = reader(db, live, caller).await?;
    let row = repo::news(&db.pool, caller.program_id(), id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("news {id}")))?;
    let Some(member) = member else {
        return Ok(news_of(row, true));
    };
    if row.publish_at > now || row.archived != 0 || audience_of(&row).admits(&member).is_err() {
        return Err(ApiError::not_found(format!("news {id}")));
    }
    repo::mark_read(db, id, caller.id(), now).await?;
    Ok(news_of(row, true))
}

/// Publishes (or schedules) a news item; audited.
#[tracing::instrument(skip_all)]
pub async fn create_news(
    db: &Db,
    clock: &Clock,
    caller: &Principal,
    fields: &NewsFields,
) -> ApiResult<News> {
    caller.require_program_wide(Permission::edit(Section::Content))?;
    let now = clock.now_ms();
    let audience = serde_json::to_string(&fields.audience).map_err(ApiError::internal)?;
    let stored = repo::NewsFields {
        title: &fields.title,
        body: &fields.body,
        audience: &audience,
        publish_at: fields.publish_at.unwrap_or(now),
        archived: fields.archived,
    };
    let mut tx = db.begin().await?;
    let id = repo::insert_news(&mut tx, caller.program_id(), &stored, caller.id(), now).await?;
    crate::audit::record(
        &mut tx,
        caller.program_id(),
        Some(caller.id()),
        "news.create",
        &format!("news:{id}"),
        None,
        Some(serde_json::json!(fields)),
        now,
    )
    .await?;
    let row = repo::news(&mut *tx, caller.program_id(), id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("news {id} vanished")))?;
    tx.commit().await?;
    Ok(news_of(row, true))
}

/// Changes to a news item: present fields replace stored ones.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NewsChange {
    pub title: Option<String>,
    pub body: Option<String>,
    pub audience: Option<CampaignAudience>,
    pub publish_at: Option<i64>,
    pub archived: Option<bool>,
}

/// Changes a news item; audited with what it was.
#[tracing::instrument(skip_all)]
pub async fn update_news(
    db: &Db,
    clock: &Clock,
    caller: &Principal,
    id: i64,
    change: &NewsChange,
) -> ApiResult<News> {
    caller.require_program_wide(Permission::edit(Section::Content))?;
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let before = repo::news(&mut *tx, caller.program_id(), id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("news {id}")))?;
    let old = news_of(before, true);
    let audience = change
        .audience
        .clone()
        .unwrap_or_else(|| old.audience.clone());
    let audience_text = serde_json::to_string(&audience).map_err(ApiError::internal)?;
    let title = change.title.clone().unwrap_or_else(|| old.title.clone());
    let body = change.body.clone().unwrap_or_else(|| old.body.clone());
    let stored = repo::NewsFields {
        title: &title,
        body: &body,
        audience: &audience_text,
        publish_at: change.publish_at.unwrap_or(old.publish_at),
        archived: change.archived.unwrap_or(old.archived),
    };
    repo::update_news(&mut tx, id, &stored, now).await?;
    crate::audit::record(
        &mut tx,
        caller.program_id(),
        Some(caller.id()),
        "news.update",
        &format!("news:{id}"),
        Some(serde_json::json!(old)),
        Some(serde_json::json!(change)),
        now,
    )
    .await?;
    let row = repo::news(&mut *tx, caller.program_id(), id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("news {id} vanished")))?;
    tx.commit().await?;
    Ok(news_of(row, true))
}

#[tracing::instrument(skip_all)]
pub async fn rules(db: &Db, program_id: i64) -> ApiResult<ProgramRules> {
    let row = repo::rules(&db.pool, program_id).await?;
    Ok(ProgramRules {
        text: row.rules_text,
        updated_at: row.rules_updated_at,
    })
}

/// Replaces the program's rules; audited with the old text.
#[tracing::instrument(skip_all)]
pub async fn set_rules(
    db: &Db,
    clock: &Clock,
    caller: &Principal,
    text: &str,
) -> ApiResult<ProgramRules> {
    caller.require_program_wide(Permission::edit(Section::Content))?;
    let now = clock.now_ms();
    let program = caller.program_id();
    let mut tx = db.begin().await?;
    let before = repo::rules(&mut *tx, program).await?;
    repo::set_rules(&mut tx, program, text, now).await?;
    crate::audit::record(
        &mut tx,
        program,
        Some(caller.id()),
        "program.rules",
        &format!("program:{program}"),
        Some(serde_json::json!({ "text": before.rules_text })),
        Some(serde_json::json!({ "text": text })),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(ProgramRules {
        text: text.to_string(),
        updated_at: Some(now),
    })
}

#[tracing::instrument(skip_all)]
pub async fn faq(db: &Db, program_id: i64) -> ApiResult<Vec<FaqEntry>> {
    Ok(repo::faq(&db.pool, program_id)
        .await?
        .into_iter()
        .map(FaqEntry::from)
        .collect())
}

/// An FAQ entry's fields; `position` last when absent.
#[derive(Debug, Clone, Serialize)]
pub struct FaqFields {
    pub question: Option<String>,
    pub answer: Option<String>,
    pub position: Option<i64>,
}

/// Adds, changes (`id`) or removes (`remove`) an FAQ entry; audited.
#[tracing::instrument(skip_all)]
pub async fn write_faq(
    db: &Db,
    clock: &Clock,
    caller: &Principal,
    id: Option<i64>,
    fields: Option<&FaqFields>,
) -> ApiResult<Option<FaqEntry>> {
    caller.require_program_wide(Permission::edit(Section::Content))?;
    let now = clock.now_ms();
    let program = caller.program_id();
    let mut tx = db.begin().await?;
    let before = match id {
        Some(id) => Some(
            repo::faq_entry(&mut tx, program, id)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("FAQ entry {id}")))?,
        ),
        None => None,
    };
    let written = match (&before, fields) {
        (None, Some(fields)) => {
            let (Some(question), Some(answer)) = (&fields.question, &fields.answer) else {
                return Err(ApiError::field(
                    "question",
                    "a question and its answer are required",
                ));
            };
            Some(repo::insert_faq(&mut tx, program, question, answer, fields.position, now).await?)
        }
        (Some(old), Some(fields)) => {
            repo::update_faq(
                &mut tx,
                old.id,
                fields.question.as_deref().unwrap_or(&old.question),
                fields.answer.as_deref().unwrap_or(&old.answer),
                fields.position.unwrap_or(old.position),
                now,
            )
            .await?;
            Some(old.id)
        }
        (Some(old), None) => {
            repo::delete_faq(&mut tx, old.id).await?;
            None
        }
        (None, None) => return Err(ApiError::invalid_state("nothing to write")),
    };
    let subject = written.or(id).unwrap_or_default();
    crate::audit::record(
        &mut tx,
        program,
        Some(caller.id()),
        "faq.write",
        &format!("faq:{subject}"),
        before.map(|old| serde_json::json!({ "question": old.question, "answer": old.answer, "position": old.position })),
        fields.map(|fields| serde_json::json!(fields)),
        now,
    )
    .await?;
    let entry = match written {
        Some(id) => repo::faq_entry(&mut tx, program, id)
            .await?
            .map(FaqEntry::from),
        None => None,
    };
    tx.commit().await?;
    Ok(entry)
}

/// Input shapes shared with the HTTP layer.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct NewsInput {
    pub title: String,
    pub body: String,
    /// Everyone when omitted.
    #[serde(default)]
    pub audience: CampaignAudience,
    /// When it shows (epoch ms); now when omitted.
    pub publish_at: Option<i64>,
}

//! Support requests: a participant writes (with an optional photo), staff with
//! `support.edit` answer; each side sees the other's message live.
//!
//! Decisions:
//! - A request is a thread of messages; staff's message makes it `answered`, the
//!   participant's (re)opens it, either side may close it.
//! - Live: staff watch the `support` topic (new requests and participants' messages as
//!   `support_request`, the counts as its snapshot); the participant gets
//!   `support_reply` on `me` for each staff message.
//! - A photo is stored like task photos (by its hash, private to the writer and those
//!   who may see their requests).

pub mod repo;

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use stimul_actors::live::RealtimeCore;
use stimul_actors::rules::support::RequestStatus;
use utoipa::ToSchema;

use crate::access::{Permission, Section};
use crate::auth::Principal;
use crate::db::{Clock, Db};
use crate::error::{ApiError, ApiResult};
use crate::paging::Page;

/// The staff topic of a program's support requests.
pub fn topic(program_id: i64) -> String {
    format!("support:{program_id}")
}

/// One message of a request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SupportMessage {
    pub id: i64,
    pub author_id: i64,
    pub author_name: String,
    pub from_staff: bool,
    pub text: String,
    /// The photo's hash; read it at `/api/v1/photos/{photo}`.
    pub photo: Option<String>,
    pub created_at: i64,
}

/// A request with its messages, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SupportRequest {
    pub id: i64,
    pub participant_id: i64,
    pub participant_name: String,
    pub subject: String,
    /// `open`, `answered` or `closed`.
    #[schema(value_type = String)]
    pub status: RequestStatus,
    pub created_at: i64,
    pub updated_at: i64,
    pub messages: Vec<SupportMessage>,
}

/// `support_reply` on `me`: staff wrote in one of the participant's requests.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SupportReply {
    pub request_id: i64,
    #[schema(value_type = String)]
    pub status: RequestStatus,
    pub message: SupportMessage,
}

impl stimul_actors::hub::LiveEvent for SupportReply {
    const NAME: &'static str = "support_reply";
}

/// `support_request` on `support`: a request was opened, written in or closed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SupportRequestChanged {
    #[serde(flatten)]
    pub request: SupportRequest,
}

impl stimul_actors::hub::LiveEvent for SupportRequestChanged {
    const NAME: &'static str = "support_request";
}

/// The `support` snapshot: how many requests wait.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SupportCounts {
    pub open: i64,
    pub answered: i64,
}

fn message_of(row: repo::MessageRow) -> SupportMessage {
    SupportMessage {
        id: row.id,
        author_id: row.author_id,
        author_name: row.author_name,
        from_staff: row.from_staff != 0,
        text: row.text,
        photo: row.photo_sha256,
        created_at: row.created_at,
    }
}

#[tracing::instrument(skip_all)]
async fn load<'e, E>(executor: E, row: repo::RequestRow) -> ApiResult<SupportRequest>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let messages = repo::messages(executor, row.id).await?;
    Ok(SupportRequest {
        id: row.id,
        participant_id: row.participant_id,
        participant_name: row.participant_name,
        subject: row.subject,
        status: row.status,
        created_at: row.created_at,
        updated_at: row.updated_at,
        messages: messages.into_iter().map(message_of).collect(),
    })
}

fn is_support_staff(caller: &Principal, wanted: Permission) -> bool {
    caller.require_program_wide(wanted).is_ok()
}

/// A participant's new request.
pub struct NewRequest<'a> {
    pub subject: &'a str,
    pub text: &'a str,
    pub photo: Option<&'a [u8]>,
}

/// Opens a request with its first message; staff watching `support` see it live.
#[tracing::instrument(skip_all)]
pub async fn create(
    db: &Db,
    clock: &Clock,
    live: &Arc<RealtimeCore>,
    data_dir: &Path,
    caller: &Principal,
    new: &NewRequest<'_>,
) -> ApiResult<SupportRequest> {
    if !caller.account.kind.is_participant() {
        return Err(ApiError::forbidden(
            "support requests are written by participants",
        ));
    }
    let now = clock.now_ms();
    let program = caller.program_id();
    let mut tx = db.begin().await?;
    let photo = match new.photo {
        Some(bytes) => {
            Some(crate::photos::store(&mut tx, data_dir, program, caller.id(), bytes, now).await?)
        }
        None => None,
    };
    let id = repo::insert_request(&mut tx, program, caller.id(), new.subject, now).await?;
    repo::insert_message(
        &mut tx,
        &repo::NewMessage {
            request_id: id,
            author_id: caller.id(),
            from_staff: false,
            text: new.text,
            photo_sha256: photo.as_ref().map(|p| p.sha256.as_str()),
        },
        now,
    )
    .await?;
    let row = repo::request(&mut *tx, program, id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("request {id} vanished")))?;
    let request = load(&mut *tx, row).await?;
    tx.commit().await?;
    live.push(
        &topic(program),
        &SupportRequestChanged {
            request: request.clone(),
        },
    );
    Ok(request)
}

/// A request its participant or support staff may see.
#[tracing::instrument(skip_all)]
async fn visible(db: &Db, caller: &Principal, id: i64) -> ApiResult<repo::RequestRow> {
    let row = repo::request(&db.pool, caller.program_id(), id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("support request {id}")))?;
    if row.participant_id == caller.id()
        || is_support_staff(caller, Permission::view(Section::Support))
    {
        Ok(row)
    } else {
        Err(ApiError::not_found(format!("support request {id}")))
    }
}

#[tracing::instrument(skip_all)]
pub async fn get(db: &Db, caller: &Principal, id: i64) -> ApiResult<SupportRequest> {
    let row = visible(db, caller, id).await?;
    load(&db.pool, row).await
}

/// The caller's own requests (participants), or the program's (`all`, support staff)
/// of one status or every status; newest first.
#[tracing::instrument(skip_all)]
pub async fn list(
    db: &Db,
    caller: &Principal,
    all: bool,
    status: Option<RequestStatus>,
    before: i64,
    limit: i64,
) -> ApiResult<Page<SupportRequest>> {
    if all {
        caller.require_program_wide(Permission::view(Section::Support))?;
    }
    let participant = (!all).then_some(caller.id());
    let rows = repo::requests(
        db,
        caller.program_id(),
        participant,
        status,
        before,
        limit + 1,
    )
    .await?;
    let mut requests = Vec::with_capacity(rows.len());
    for row in rows {
        requests.push(load(&db.pool, row).await?);
    }
    Ok(crate::paging::page_of(requests, limit, |request| {
        request.id
    }))
}

/// Writes in a request: its participant, or support staff (`support.edit`); the
/// other side sees it live. `close` closes it instead (no text).
#[tracing::instrument(skip_all)]
pub async fn write(
    db: &Db,
    clock: &Clock,
    live: &Arc<RealtimeCore>,
    caller: &Principal,
    id: i64,
    text: Option<&str>,
) -> ApiResult<SupportRequest> {
    let row = visible(db, caller, id).await?;
    let from_staff = row.participant_id != caller.id();
    if from_staff {
        caller.require_program_wide(Permission::edit(Section::Support))?;
    }
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let status = match text {
        Some(text) => {
            repo::insert_message(
                &mut tx,
                &repo::NewMessage {
                    request_id: id,
                    author_id: caller.id(),
                    from_staff,
                    text,
                    photo_sha256: None,
                },
                now,
            )
            .await?;
            row.status.after_message(from_staff)
        }
        None => RequestStatus::Closed,
    };
    repo::set_status(&mut tx, id, status, now).await?;
    let updated = repo::request(&mut *tx, caller.program_id(), id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("request {id} vanished")))?;
    let request = load(&mut *tx, updated).await?;
    tx.commit().await?;
    if from_staff && let (Some(_), Some(message)) = (text, request.messages.last()) {
        live.push(
            &stimul_actors::participant::topic(request.participant_id),
            &SupportReply {
                request_id: id,
                status,
                message: message.clone(),
            },
        );
    }
    live.push(
        &topic(caller.program_id()),
        &SupportRequestChanged {
            request: request.clone(),
        },
    );
    Ok(request)
}

/// The `support` topic's snapshot.
#[tracing::instrument(skip_all)]
pub async fn counts(db: &Db, program_id: i64) -> ApiResult<SupportCounts> {
    let (open, answered) = repo::counts(db, program_id).await?;
    Ok(SupportCounts { open, answered })
}

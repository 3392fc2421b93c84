//! `Idempotency-Key` for mutating calls a phone may retry. The first request with a
//! key reserves it, runs, and stores its successful answer; a retry with the same key
//! and the same request gets that answer again (header `Idempotent-Replayed: true`)
//! and changes nothing; the same key with a different request is refused.
//!
//! Failed requests release the key so the client can retry after fixing the cause.
//! Operations that move points also carry the key into the ledger's own unique
//! constraint, so even a crash between the change and storing its answer cannot
//! apply a retry twice.

use std::future::{Future, Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::FromRow;

use crate::error::{ApiError, ApiResult, ErrorCode};

pub const HEADER: &str = "Idempotency-Key";
const REPLAYED_HEADER: &str = "Idempotent-Replayed";
/// A reservation older than this whose request never finished (the node died) may be
/// taken over by a retry. Requests finish in well under a second; a retry after a crash
/// should not wait long. (Operations that move points stay protected by the ledger's
/// own key even if a slow request were overtaken.)
const ABANDONED_AFTER_MS: i64 = 10_000;

fn in_progress() -> ApiError {
    let mut err = ApiError::new(
        ErrorCode::RequestInProgress,
        "a request with this Idempotency-Key is still being processed; retry shortly",
    );
    err.retry_after = Some(1);
    err
}

/// The optional `Idempotency-Key` header: 1 to 200 printable ASCII characters.
#[derive(Debug, Clone, Default)]
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(value) = request.headers().get(HEADER) else {
            return ready(Ok(IdempotencyKey(None)));
        };
        let parsed = value
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|key| {
                (1..=200).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
            })
            .map(|key| IdempotencyKey(Some(key.to_string())))
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidParameter,
                    "Idempotency-Key must be 1 to 200 printable ASCII characters (a UUID is ideal)",
                )
            });
        ready(parsed)
    }
}

/// A successful answer that can be stored and replayed byte for byte.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: serde_json::Value,
    /// The operation found it had already been done (see [`run_self_idempotent`]).
    pub replayed: bool,
}

impl Reply {
    pub fn ok<T: Serialize>(body: &T) -> ApiResult<Self> {
        Self::with_status(StatusCode::OK, body)
    }

    pub fn created<T: Serialize>(body: &T) -> ApiResult<Self> {
        Self::with_status(StatusCode::CREATED, body)
    }

    pub fn with_status<T: Serialize>(status: StatusCode, body: &T) -> ApiResult<Self> {
        Ok(Self {
            status,
            body: serde_json::to_value(body).map_err(ApiError::internal)?,
            replayed: false,
        })
    }

    fn into_response(self, replayed: bool) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if replayed {
            response.insert_header((REPLAYED_HEADER, "true"));
        }
        if self.body.is_null() {
            response.finish()
        } else {
            response.json(self.body)
        }
    }
}

/// A stable hash of what identifies a request (operation, path ids, body).
pub fn fingerprint_of(request: &impl Serialize) -> ApiResult<String> {
    Ok(hex::encode(Sha256::digest(
        serde_json::to_vec(request).map_err(ApiError::internal)?,
    )))
}

/// What idempotent requests need: the database (reserved keys, saved answers), the
/// background writer of answers, the clock and the replay counter. Built at start-up;
/// handlers pass it on as `&state.idempotency`.
#[derive(Clone)]
pub struct Idempotency {
    db: crate::db::Db,
    answers: AnswerWriter,
    clock: crate::db::Clock,
    /// Requests answered from a saved answer (`idempotent_replays_total`).
    replays: prometheus::IntCounter,
}

impl Idempotency {
    pub fn new(
        db: crate::db::Db,
        answers: AnswerWriter,
        clock: crate::db::Clock,
        replays: prometheus::IntCounter,
    ) -> Self {
        Self {
            db,
            answers,
            clock,
            replays,
        }
    }
}

/// A key as stored: the request it was used for and, once known, the answer.
#[derive(FromRow)]
struct KeyRow {
    request_hash: String,
    /// `None` while the first request is still running.
    status_code: Option<i64>,
    /// The answer's JSON body.
    response: Option<String>,
}

/// A key as stored, with when it was first used.
#[derive(FromRow)]
struct DatedKeyRow {
    #[sqlx(flatten)]
    key: KeyRow,
    created_at: i64,
}

/// Like [`run`], for operations that are idempotent by themselves: their effect carries
/// the key (the ledger's unique key) and they refuse a key reused with another
/// fingerprint. Nothing is reserved before running and the answer is stored in the
/// background in batches, so a credit costs no extra synchronous write: a saved answer
/// is replayed as is; a retry that comes before its answer is saved runs again, moves
/// nothing (the operation sees its key) and answers with the same transaction, marked
/// replayed.
#[tracing::instrument(skip_all)]
pub async fn run_self_idempotent<F, Fut>(
    idem: &Idempotency,
    owner: &str,
    key: &IdempotencyKey,
    request_hash: &str,
    operation: F,
) -> ApiResult<HttpResponse>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ApiResult<Reply>>,
{
    let Some(key) = key.0.as_deref() else {
        return operation().await.map(|reply| reply.into_response(false));
    };
    let saved: Option<KeyRow> = sqlx::query_as("SELECT request_hash, status_code, response FROM idempotency_keys WHERE owner = $1 AND key = $2")
        .bind(owner)
        .bind(key)
        .fetch_optional(&idem.db.pool)
        .await?;
    if let Some(saved) = saved {
        if saved.request_hash != request_hash {
            return Err(ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was used for a different request; use a new key",
            ));
        }
        if let (Some(status), Some(response)) = (saved.status_code, saved.response) {
            idem.replays.inc();
            let status = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
            let body = serde_json::from_str(&response).map_err(ApiError::internal)?;
            return Ok(Reply {
                status,
                body,
                replayed: true,
            }
            .into_response(true));
        }
    }
    let reply = operation().await?;
    if reply.replayed {
        idem.replays.inc();
    } else {
        idem.answers.save(SavedAnswer {
            owner: owner.to_string(),
            key: key.to_string(),
            request_hash: request_hash.to_string(),
            status: reply.status.as_u16(),
            body: reply.body.to_string(),
            at: idem.clock.now_ms(),
        });
    }
    let replayed = reply.replayed;
    Ok(reply.into_response(replayed))
}

/// An answer to store for replays.
pub struct SavedAnswer {
    owner: String,
    key: String,
    request_hash: String,
    status: u16,
    body: String,
    at: i64,
}

/// Stores answers of self-idempotent operations in batches, off the request path: one
/// transaction per batch instead of one write per request.
#[derive(Clone)]
pub struct AnswerWriter {
    sender: tokio::sync::mpsc::Sender<SavedAnswer>,
}

/// Answers waiting to be stored before new ones are dropped (a dropped answer only
/// means a later retry recomputes it; the ledger still moves nothing twice).
const ANSWER_QUEUE: usize = 16_384;
const ANSWER_BATCH: usize = 500;

impl AnswerWriter {
    /// Starts the writer; it stores what is queued and ends when `shutdown` flips.
    pub fn start(
        db: crate::db::Db,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<SavedAnswer>(ANSWER_QUEUE);
        let task = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(ANSWER_BATCH);
            loop {
                let received = tokio::select! {
                    n = receiver.recv_many(&mut batch, ANSWER_BATCH) => n,
                    _ = shutdown.changed() => {
                        receiver.close();
                        receiver.recv_many(&mut batch, ANSWER_QUEUE).await
                    }
                };
                if received == 0 {
                    break;
                }
                if let Err(err) = store_answers(&db, &batch).await {
                    tracing::warn!(error = ?err, count = batch.len(), "storing idempotent answers failed; retries will recompute them");
                }
                batch.clear();
            }
        });
        (Self { sender }, task)
    }

    fn save(&self, answer: SavedAnswer) {
        if self.sender.try_send(answer).is_err() {
            tracing::warn!("idempotent answer queue full; an answer was not stored");
        }
    }
}

/// Answers per `INSERT`: 6 values each stay far below SQLite's 32,766 bound variables
/// however many answers a flush at shutdown carries.
const ANSWERS_PER_INSERT: usize = 500;

#[tracing::instrument(skip_all)]
async fn store_answers(db: &crate::db::Db, answers: &[SavedAnswer]) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    for chunk in answers.chunks(ANSWERS_PER_INSERT) {
        insert_answers(chunk).execute(&mut *tx).await?;
    }
    tx.commit().await
}

fn insert_answers(
    answers: &[SavedAnswer],
) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
    let mut sql = crate::db::Sql::new(
        "INSERT INTO idempotency_keys (owner, key, request_hash, status_code, response, created_at) VALUES ",
    );
    for (i, answer) in answers.iter().enumerate() {
        sql.push(if i > 0 { ", (" } else { "(" });
        sql.bind(answer.owner.clone())
            .push(", ")
            .bind(answer.key.clone())
            .push(", ")
            .bind(answer.request_hash.clone())
            .push(", ");
        sql.bind(i64::from(answer.status))
            .push(", ")
            .bind(answer.body.clone())
            .push(", ")
            .bind(answer.at)
            .push(")");
    }
    sql.push(" ON CONFLICT (owner, key) DO NOTHING");
    sql.query()
}

/// Who a key belongs to: keys are per user, so two phones cannot collide.
pub fn owner_user(user_id: i64) -> String {
    format!("user:{user_id}")
}

/// Keys sent without a session (registration). Clients generate UUIDs, so sharing
/// one namespace is safe.
pub const OWNER_ANONYMOUS: &str = "anon";

/// Runs `operation` at most once per (`owner`, key). `fingerprint` identifies the
/// request (operation name, path ids, body) to catch a key reused for another one.
#[tracing::instrument(skip_all)]
pub async fn run<F, Fut>(
    idem: &Idempotency,
    owner: &str,
    key: &IdempotencyKey,
    fingerprint: &impl Serialize,
    operation: F,
) -> ApiResult<HttpResponse>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ApiResult<Reply>>,
{
    let Some(key) = key.0.as_deref() else {
        return operation().await.map(|reply| reply.into_response(false));
    };
    let request_hash = fingerprint_of(fingerprint)?;
    let now = idem.clock.now_ms();
    let reserved = sqlx::query(
        "INSERT INTO idempotency_keys (owner, key, request_hash, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (owner, key) DO NOTHING",
    )
    .bind(owner)
    .bind(key)
    .bind(&request_hash)
    .bind(now)
    .execute(&idem.db.pool)
    .await?
    .rows_affected()
        == 1;

    if !reserved {
        let existing: Option<DatedKeyRow> = sqlx::query_as(
            "SELECT request_hash, status_code, response, created_at FROM idempotency_keys
             WHERE owner = $1 AND key = $2",
        )
        .bind(owner)
        .bind(key)
        .fetch_optional(&idem.db.pool)
        .await?;
        let Some(existing) = existing else {
            // Released between our insert and select: the first attempt failed.
            return Err(in_progress());
        };
        let DatedKeyRow {
            key:
                KeyRow {
                    request_hash: stored_hash,
                    status_code: status,
                    response,
                },
            created_at,
        } = existing;
        if stored_hash != request_hash {
            return Err(ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was used for a different request; use a new key",
            ));
        }
        match (status, response) {
            (Some(status), Some(response)) => {
                idem.replays.inc();
                let status = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
                let body = serde_json::from_str(&response).map_err(ApiError::internal)?;
                return Ok(Reply {
                    status,
                    body,
                    replayed: true,
                }
                .into_response(true));
            }
            _ if now - created_at < ABANDONED_AFTER_MS => return Err(in_progress()),
            _ => {
                let taken = sqlx::query(
                    "UPDATE idempotency_keys SET created_at = $1
                     WHERE owner = $2 AND key = $3 AND status_code IS NULL AND created_at = $4",
                )
                .bind(now)
                .bind(owner)
                .bind(key)
                .bind(created_at)
                .execute(&idem.db.pool)
                .await?
                .rows_affected();
                if taken == 0 {
                    return Err(in_progress());
                }
            }
        }
    }

    match operation().await {
        Ok(reply) => {
            sqlx::query(
                "UPDATE idempotency_keys SET status_code = $1, response = $2 WHERE owner = $3 AND key = $4",
            )
            .bind(i64::from(reply.status.as_u16()))
            .bind(reply.body.to_string())
            .bind(owner)
            .bind(key)
            .execute(&idem.db.pool)
            .await?;
            Ok(reply.into_response(false))
        }
        Err(err) => {
            let released =
                sqlx::query("DELETE FROM idempotency_keys WHERE owner = $1 AND key = $2")
                    .bind(owner)
                    .bind(key)
                    .execute(&idem.db.pool)
                    .await;
            if let Err(release_err) = released {
                tracing::warn!(error = ?release_err, "could not release an idempotency key");
            }
            Err(err)
        }
    }
}

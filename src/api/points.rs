//! Points: manual adjustments, awards (income with the level multiplier and the owner's
//! share, optionally held as pending), settling holds, histories, store progress and
//! the ledger's invariant check.

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use stimul_actors::ledger::AccountKey;
use stimul_actors::participant::{Adjust, ChangeOutcome, Earn, ParticipantView, Settle};
use stimul_actors::rules::points::Points;
use utoipa::ToSchema;

use crate::access::{Permission, Section, Target};
use crate::auth::Caller;
use crate::domain::{Text, optional};
use crate::error::{ApiError, ApiResult, Problem};
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::ledger::queries::{self, HistoryFilter, HistoryItem, LedgerCheck};
use crate::org::{people, stores};
use crate::paging::{Page, PageParams};
use crate::state::AppState;
use crate::validate;

/// The most one manual change may move: a typo guard (a million points).
const MAX_MANUAL_HUNDREDTHS: i64 = 100_000_000;

/// The answer to a change of points.
#[derive(Debug, Serialize, ToSchema)]
pub struct PointsChanged {
    pub transaction_id: i64,
    /// Points credited (after the level multiplier) or debited (negative).
    #[schema(value_type = String)]
    pub amount: Points,
    /// The store owner's share paid with it.
    #[schema(value_type = String)]
    pub owner_share: Points,
    /// `posted`, or `pending` for a hold.
    pub status: &'static str,
    /// The participant's standing after the change.
    pub standing: ParticipantView,
}

/// The reply to a change, marked replayed when the ledger had already done it.
fn answer(outcome: &ChangeOutcome, status: &'static str) -> ApiResult<Reply> {
    let mut reply = Reply::created(&changed(outcome, status))?;
    reply.replayed = outcome.replayed;
    Ok(reply)
}

fn changed(outcome: &ChangeOutcome, status: &'static str) -> PointsChanged {
    PointsChanged {
        transaction_id: outcome.transaction_id,
        amount: outcome.amount,
        owner_share: outcome.owner_share,
        status,
        standing: outcome.view.clone(),
    }
}

fn manual_amount(value: &str) -> Result<Points, String> {
    let amount = Points::parse(value)
        .map_err(|e| format!("{e}; write the amount as a decimal string like \"10.00\""))?;
    if amount.hundredths() == 0 {
        return Err("must not be zero".into());
    }
    if amount.hundredths().abs() > MAX_MANUAL_HUNDREDTHS {
        return Err("at most 1000000.00 at once".into());
    }
    Ok(amount)
}

/// The ledger key of an API change: the client's key (scoped by caller and operation)
/// so a retry moves nothing twice, or a fresh one.
fn ledger_key(operation: &str, caller: i64, key: &IdempotencyKey) -> String {
    match &key.0 {
        Some(key) => format!("{operation}:{caller}:{key}"),
        None => format!("{operation}:{}", uuid::Uuid::new_v4()),
    }
}

pub(crate) async fn participant_in_scope(
    state: &AppState,
    caller: &Caller,
    id: i64,
    wanted: Permission,
) -> ApiResult<people::Person> {
    let person = people::get(&state.db.pool, caller.program_id(), id).await?;
    caller.require(wanted, &person.target())?;
    if !person.kind.is_participant() {
        return Err(ApiError::field(
            "id",
            "points belong to participants, not staff accounts",
        ));
    }
    Ok(person)
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct AdjustmentRequest {
    /// Decimal string; negative debits, e.g. `"-5.00"`.
    pub amount: String,
    /// Why: required, kept in the history and the audit log.
    pub comment: String,
}

/// Credits or debits a participant by hand (exact amount: no multiplier, no owner
/// share). A debit never takes the balance below zero.
#[utoipa::path(
    operation_id = "adjustPoints", tag = "points", security(("bearer" = [])), request_body = AdjustmentRequest,
    params(("id" = i64, Path, description = "Participant id"), ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the first answer and moves nothing")),
    responses((status = 201, body = PointsChanged), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 409, description = "insufficient_points", body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/participants/{id}/adjustments")]
pub async fn adjust_points(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<i64>,
    body: web::Json<AdjustmentRequest>,
) -> ApiResult<HttpResponse> {
    validate! {
        amount = "amount" => manual_amount(&body.amount),
        comment = "comment" => Text::<500>::parse(&body.comment),
    }
    let person = participant_in_scope(
        &state,
        &caller,
        id.into_inner(),
        Permission::edit(Section::Points),
    )
    .await?;
    let fingerprint = idempotency::fingerprint_of(&("adjustPoints", person.id, &*body))?;
    idempotency::run_self_idempotent(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &fingerprint,
        || async {
            let adjust = Adjust {
                amount,
                comment: comment.into_string(),
                idempotency_key: ledger_key("adjust", caller.id(), &key),
                actor_id: Some(caller.id()),
                fingerprint: Some(fingerprint.clone()),
            };
            let outcome = state
                .live
                .adjust(person.id, adjust)
                .await
                .inspect_err(|_| {
                    state
                        .metrics
                        .ledger_commits
                        .with_label_values(&["adjustment", "refused"])
                        .inc()
                })?;
            state
                .metrics
                .ledger_commits
                .with_label_values(&["adjustment", "committed"])
                .inc();
            answer(&outcome, "posted")
        },
    )
    .await
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct AwardRequest {
    /// Base points before the level multiplier, decimal string.
    pub amount: String,
    pub comment: String,
    /// What for, in one word: `welcome`, `referral`, `loyalty`, `bonus` (default `award`).
    pub reason: Option<String>,
    /// Hold the points as pending until confirmed or cancelled.
    #[serde(default)]
    pub hold: bool,
}

fn award_reason(value: Option<&str>) -> Result<String, String> {
    let reason = value.unwrap_or("award").trim().to_lowercase();
    let valid = (2..=32).contains(&reason.len())
        && reason.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    if valid {
        Ok(reason)
    } else {
        Err("2 to 32 of a-z and _".into())
    }
}

/// Awards income to a participant (welcome points, referral, loyalty…): multiplied by
/// their level, with the owner's share, counting toward lifetime points. With `hold`
/// the points stay pending until confirmed or cancelled.
#[utoipa::path(
    operation_id = "awardPoints", tag = "points", security(("bearer" = [])), request_body = AwardRequest,
    params(("id" = i64, Path, description = "Participant id"), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = PointsChanged), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/participants/{id}/awards")]
pub async fn award_points(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<i64>,
    body: web::Json<AwardRequest>,
) -> ApiResult<HttpResponse> {
    validate! {
        amount = "amount" => manual_amount(&body.amount).and_then(|a| if a.is_positive() { Ok(a) } else { Err("an award is positive".into()) }),
        comment = "comment" => Text::<500>::parse(&body.comment),
        reason = "reason" => award_reason(body.reason.as_deref()),
    }
    let person = participant_in_scope(
        &state,
        &caller,
        id.into_inner(),
        Permission::edit(Section::Points),
    )
    .await?;
    let fingerprint = idempotency::fingerprint_of(&("awardPoints", person.id, &*body))?;
    idempotency::run_self_idempotent(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &fingerprint,
        || async {
            let earn = Earn {
                base: amount,
                reason: reason.clone(),
                idempotency_key: ledger_key("award", caller.id(), &key),
                pay_from: AccountKey::Issued,
                hold: body.hold,
                source: Some(("admin".into(), caller.id().to_string())),
                actor_id: Some(caller.id()),
                comment: Some(comment.into_string()),
                completed_tasks: 0,
                fingerprint: Some(fingerprint.clone()),
            };
            let outcome = state.live.earn(person.id, earn).await?;
            state
                .metrics
                .ledger_commits
                .with_label_values(&[reason.as_str(), "committed"])
                .inc();
            answer(&outcome, if body.hold { "pending" } else { "posted" })
        },
    )
    .await
}

#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct SettleRequest {
    pub comment: Option<String>,
}

async fn settle(
    state: &AppState,
    caller: &Caller,
    key: &IdempotencyKey,
    hold_id: i64,
    confirm: bool,
    body: &SettleRequest,
) -> ApiResult<HttpResponse> {
    validate! { comment = "comment" => optional(body.comment.as_deref(), Text::<500>::parse) }
    let participant =
        crate::ledger::queries::participant_of(&state.db, caller.program_id(), hold_id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("hold {hold_id}")))?;
    let person = participant_in_scope(
        state,
        caller,
        participant,
        Permission::edit(Section::Points),
    )
    .await?;
    let operation = if confirm { "confirmHold" } else { "cancelHold" };
    let fingerprint = idempotency::fingerprint_of(&(operation, hold_id, body))?;
    idempotency::run_self_idempotent(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        key,
        &fingerprint,
        || async {
            let settle = Settle {
                hold_transaction_id: hold_id,
                confirm,
                idempotency_key: ledger_key(operation, caller.id(), key),
                actor_id: Some(caller.id()),
                comment: comment.map(Text::into_string),
                completed_tasks: 0,
                fingerprint: Some(fingerprint.clone()),
            };
            let outcome = state.live.settle(person.id, settle).await?;
            answer(&outcome, if confirm { "confirmed" } else { "cancelled" })
        },
    )
    .await
}

/// Releases held points to the participant's available points (and pays the owner's
/// share).
#[utoipa::path(
    operation_id = "confirmHold", tag = "points", security(("bearer" = [])), request_body = SettleRequest,
    params(("id" = i64, Path, description = "The hold's transaction id"), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = PointsChanged), (status = 409, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/holds/{id}/confirm")]
pub async fn confirm_hold(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<i64>,
    body: web::Json<SettleRequest>,
) -> ApiResult<HttpResponse> {
    settle(&state, &caller, &key, id.into_inner(), true, &body).await
}

/// Cancels held points: they return to where they came from.
#[utoipa::path(
    operation_id = "cancelHold", tag = "points", security(("bearer" = [])), request_body = SettleRequest,
    params(("id" = i64, Path, description = "The hold's transaction id"), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = PointsChanged), (status = 409, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/holds/{id}/cancel")]
pub async fn cancel_hold(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<i64>,
    body: web::Json<SettleRequest>,
) -> ApiResult<HttpResponse> {
    settle(&state, &caller, &key, id.into_inner(), false, &body).await
}

fn before_cursor(page: &PageParams) -> ApiResult<(Option<i64>, i64)> {
    let (after, limit) = page.resolve()?;
    Ok(((after > 0).then_some(after), limit))
}

/// The caller's own points history, newest first.
#[utoipa::path(
    operation_id = "listMyTransactions", tag = "points", security(("bearer" = [])), params(HistoryFilter, PageParams),
    responses((status = 200, body = Page<HistoryItem>), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/me/transactions")]
pub async fn list_my_transactions(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<HistoryFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let (before, limit) = before_cursor(&page)?;
    let page = queries::history(
        &state.db,
        caller.program_id(),
        caller.id(),
        &filter,
        before,
        limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A participant's points history (owners, managers, admins in scope).
#[utoipa::path(
    operation_id = "listParticipantTransactions", tag = "points", security(("bearer" = [])), params(("id" = i64, Path), HistoryFilter, PageParams),
    responses((status = 200, body = Page<HistoryItem>), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/participants/{id}/transactions")]
pub async fn list_participant_transactions(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    filter: web::Query<HistoryFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let person = participant_in_scope(
        &state,
        &caller,
        id.into_inner(),
        Permission::view(Section::Points),
    )
    .await?;
    let (before, limit) = before_cursor(&page)?;
    let page = queries::history(
        &state.db,
        caller.program_id(),
        person.id,
        &filter,
        before,
        limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A participant's live standing (owners, managers, admins in scope).
#[utoipa::path(
    operation_id = "getParticipantStanding", tag = "points", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ParticipantView), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/participants/{id}/standing")]
pub async fn get_participant_standing(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let person = participant_in_scope(
        &state,
        &caller,
        id.into_inner(),
        Permission::view(Section::Points),
    )
    .await?;
    let view = state
        .live
        .participant_view(person.id)
        .await
        .map_err(|e| ApiError::live_unavailable("points", e))?;
    Ok(HttpResponse::Ok().json(view))
}

/// A store's live progress: today, this week, this month, plan attainment, sellers
/// online. The WebSocket topic `store:{id}` pushes the same on every change.
#[utoipa::path(
    operation_id = "getStoreProgress", tag = "stores", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = stimul_actors::store::StoreProgress), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/stores/{id}/progress")]
pub async fn get_store_progress(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let store =
        stores::get_in_program(&state.db.pool, caller.program_id(), id.into_inner()).await?;
    caller.require(Permission::view(Section::Stores), &store.target())?;
    let progress = state
        .live
        .store_progress(store.id)
        .await
        .map_err(|e| ApiError::live_unavailable("points", e))?;
    Ok(HttpResponse::Ok().json(progress))
}

/// Checks the program's ledger: balances sum to zero, every balance equals its
/// postings, no participant below zero, no idempotency key twice.
#[utoipa::path(
    operation_id = "checkLedger", tag = "points", security(("bearer" = [])),
    responses((status = 200, body = LedgerCheck), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/ledger/check")]
pub async fn check_ledger(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    caller.require(
        Permission::view(Section::Points),
        &Target::program(caller.program_id()),
    )?;
    Ok(HttpResponse::Ok().json(queries::check(&state.db, Some(caller.program_id())).await?))
}

//! Participants: registration and its approval, invitations, and the people lists of
//! managers, owners and partners.

use actix_web::{HttpResponse, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::{Permission, Section};
use crate::auth::{Caller, hash_password};
use crate::domain::AccountKind;
use crate::domain::{Address, Login, NewPassword, PersonName, Phone, Slug, Title, optional};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, Problem};
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::org::people::{self, NewPerson, ParticipantRole, Person, PersonQuery, PersonStatus};
use crate::org::programs;
use crate::org::sign_up::{self, Applicant, Decision, Invitation, Joining, Registered};
use crate::org::stores::{self, StoreFields};
use crate::paging::{Page, PageParams};
use crate::state::AppState;
use crate::validate;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct RegisterRequest {
    pub phone: String,
    pub name: String,
    /// Optional login for password login (phone + SMS code always works).
    pub login: Option<String>,
    pub password: Option<String>,
    /// Program slug; the server's default program when absent.
    pub program: Option<String>,
    /// Exactly one of `invitation_code`, `store_id` and `store`.
    pub invitation_code: Option<String>,
    pub store_id: Option<i64>,
    pub store: Option<StoreRegistration>,
}

/// A store registering as a group: its owner (the caller) and sellers.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct StoreRegistration {
    pub name: String,
    #[serde(default)]
    pub address: String,
    pub region_id: Option<i64>,
    #[serde(default)]
    pub members: Vec<MemberRequest>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct MemberRequest {
    pub phone: String,
    pub name: String,
}

/// The most sellers a group registration may bring at once.
const MAX_GROUP_MEMBERS: usize = 200;

/// Registers a participant: with an invitation code (active at once), into an
/// existing store, or a new store with its sellers (pending until approved).
#[utoipa::path(
    operation_id = "registerParticipant", tag = "participants", request_body = RegisterRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses(
        (status = 201, body = Registered),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/registrations")]
pub async fn register_participant(
    state: web::Data<AppState>,
    key: IdempotencyKey,
    body: web::Json<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    validate! {
        phone = "phone" => Phone::parse(&body.phone),
        name = "name" => PersonName::parse(&body.name),
        login = "login" => optional(body.login.as_deref(), Login::parse),
        password = "password" => optional(body.password.as_deref(), NewPassword::parse),
        program = "program" => optional(body.program.as_deref(), Slug::parse),
        joining = "store" => joining_of(&body),
    }
    if login.is_some() != password.is_some() {
        return Err(ApiError::field(
            "password",
            "login and password go together",
        ));
    }
    let slug = program.map_or_else(
        || state.settings.default_program.clone(),
        |p| p.as_str().to_string(),
    );
    let program = programs::by_slug(&state.db, &slug)
        .await?
        .ok_or_else(|| ApiError::field("program", format!("there is no program {slug:?}")))?;
    idempotency::run(
        &state.idempotency,
        idempotency::OWNER_ANONYMOUS,
        &key,
        &("registerParticipant", &body),
        || async {
            let password_hash = match &password {
                Some(password) => Some(hash_password(password.expose().to_string()).await?),
                None => None,
            };
            let applicant = Applicant {
                phone,
                name,
                login,
                password_hash,
            };
            let mut tx = state.db.begin().await?;
            let registered = sign_up::register(
                &mut tx,
                program.id,
                &applicant,
                &joining,
                state.clock.now_ms(),
            )
            .await?;
            tx.commit().await?;
            if registered.status == crate::domain::PersonStatus::Pending {
                crate::moderation::announce(&state.live, program.id);
            }
            Reply::created(&registered)
        },
    )
    .await
}

fn joining_of(body: &RegisterRequest) -> Result<Joining, String> {
    match (&body.invitation_code, body.store_id, &body.store) {
        (Some(code), None, None) => Ok(Joining::Invitation(code.clone())),
        (None, Some(store_id), None) => Ok(Joining::Store(store_id)),
        (None, None, Some(store)) => {
            if store.members.len() > MAX_GROUP_MEMBERS {
                return Err(format!(
                    "a group registration brings at most {MAX_GROUP_MEMBERS} members"
                ));
            }
            let mut members = Vec::with_capacity(store.members.len());
            for (index, member) in store.members.iter().enumerate() {
                let phone = Phone::parse(&member.phone)
                    .map_err(|e| format!("members[{index}].phone: {e}"))?;
                let name = PersonName::parse(&member.name)
                    .map_err(|e| format!("members[{index}].name: {e}"))?;
                members.push((phone, name));
            }
            Ok(Joining::NewStore {
                fields: StoreFields {
                    name: Title::parse(&store.name)
                        .map_err(|e| format!("name: {e}"))?
                        .into_string(),
                    address: Address::parse_optional(&store.address)
                        .map_err(|e| format!("address: {e}"))?
                        .into_string(),
                    region_id: store.region_id,
                    partner_id: None,
                    external_ref: None,
                    monthly_plan: None,
                },
                members,
            })
        }
        _ => Err("give exactly one of invitation_code, store_id and store".into()),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Decided {
    /// Everyone the decision covered (a group's owner and sellers).
    pub user_ids: Vec<i64>,
    pub status: PersonStatus,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct RejectRequest {
    /// Shown to the person.
    pub reason: String,
}

async fn decide(
    state: &AppState,
    caller: &Caller,
    id: i64,
    decision: Decision,
    reason: Option<&str>,
) -> ApiResult<Reply> {
    let mut tx = state.db.begin().await?;
    let person = people::get(&mut *tx, caller.program_id(), id).await?;
    caller.require(Permission::edit(Section::Registrations), &person.target())?;
    let user_ids = sign_up::decide(
        &mut tx,
        &person,
        decision,
        reason,
        caller.id(),
        state.clock.now_ms(),
    )
    .await?;
    // Decided outside the queue: take the item back from whoever holds it.
    let item = crate::moderation::withdraw(
        &mut tx,
        stimul_actors::rules::routing::ItemKind::Registration,
        person.id,
        caller.id(),
        state.clock.now_ms(),
    )
    .await?;
    tx.commit().await?;
    for user in &user_ids {
        crate::auth::cache::user_changed(&state.live, *user);
    }
    if let Some(item) = item {
        crate::moderation::settled(
            &state.live,
            item,
            stimul_actors::moderation::SettleReason::Withdrawn,
        );
    }
    let status = match decision {
        Decision::Approve => PersonStatus::Active,
        Decision::Reject => PersonStatus::Blocked,
    };
    Reply::ok(&Decided { user_ids, status })
}

/// Approves a pending participant (for a group's owner: the store and all its people).
#[utoipa::path(
    operation_id = "approveParticipant", tag = "participants", security(("bearer" = [])),
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Decided), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/participants/{id}/approve")]
pub async fn approve_participant(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    idempotency::run(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &("approveParticipant", id),
        || decide(&state, &caller, id, Decision::Approve, None),
    )
    .await
}

/// Rejects a pending participant with a reason; the account is blocked.
#[utoipa::path(
    operation_id = "rejectParticipant", tag = "participants", security(("bearer" = [])), request_body = RejectRequest,
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Decided), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/participants/{id}/reject")]
pub async fn reject_participant(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<i64>,
    body: web::Json<RejectRequest>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    validate! { reason = "reason" => Title::parse(&body.reason) }
    idempotency::run(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &("rejectParticipant", id, &*body),
        || decide(&state, &caller, id, Decision::Reject, Some(reason.as_str())),
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ParticipantFilter {
    /// `pending`, `active` or `blocked`.
    pub status: Option<String>,
    pub store_id: Option<i64>,
    /// Part of the name, phone or login.
    pub q: Option<String>,
}

/// Participants the caller may see: an owner its stores' sellers, a partner its
/// participants, a manager its region, admins and moderators everyone.
#[utoipa::path(
    operation_id = "listParticipants", tag = "participants", security(("bearer" = [])),
    params(ParticipantFilter, PageParams),
    responses((status = 200, body = Page<Person>), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/participants")]
pub async fn list_participants(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<ParticipantFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let visibility = caller.require_anywhere(Permission::view(Section::Participants))?;
    let (after, limit) = page.resolve()?;
    validate! { status = "status" => optional(filter.status.as_deref(), PersonStatus::parse) }
    let query = PersonQuery {
        kind: Some(AccountKind::Participant),
        status,
        store_id: filter.store_id,
        search: filter.q.clone(),
    };
    let page = people::list(
        &state.db,
        caller.program_id(),
        &visibility,
        &query,
        after,
        limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One participant, if the caller may see them.
#[utoipa::path(
    operation_id = "getParticipant", tag = "participants", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Person), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/participants/{id}")]
pub async fn get_participant(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let person = people::get(&state.db.pool, caller.program_id(), id.into_inner()).await?;
    if person.id != caller.id() {
        caller.require(Permission::view(Section::Participants), &person.target())?;
    }
    Ok(HttpResponse::Ok().json(person))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct CreateParticipantRequest {
    pub phone: String,
    pub name: String,
    pub store_id: i64,
    /// `seller` (default) or `owner` (becomes the store's owner).
    pub role: Option<ParticipantRole>,
    pub login: Option<String>,
    pub password: Option<String>,
}

/// Adds an active participant to a store (managers, admins).
#[utoipa::path(
    operation_id = "createParticipant", tag = "participants", security(("bearer" = [])), request_body = CreateParticipantRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Person), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/participants")]
pub async fn create_participant(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    body: web::Json<CreateParticipantRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    validate! {
        phone = "phone" => Phone::parse(&body.phone),
        name = "name" => PersonName::parse(&body.name),
        login = "login" => optional(body.login.as_deref(), Login::parse),
        password = "password" => optional(body.password.as_deref(), NewPassword::parse),
    }
    if login.is_some() != password.is_some() {
        return Err(ApiError::field(
            "password",
            "login and password go together",
        ));
    }
    let store = stores::get_in_program(&state.db.pool, caller.program_id(), body.store_id)
        .await
        .map_err(|_| {
            ApiError::field(
                "store_id",
                format!("there is no store {} in this program", body.store_id),
            )
        })?;
    caller.require(Permission::edit(Section::Participants), &store.target())?;
    let role = body.role.unwrap_or(ParticipantRole::Seller);
    if role == ParticipantRole::Owner && store.owner_user_id.is_some() {
        return Err(ApiError::field(
            "role",
            "the store already has an owner; change it with updateStore",
        ));
    }
    idempotency::run(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &("createParticipant", &body),
        || async {
            let password_hash = match &password {
                Some(password) => Some(hash_password(password.expose().to_string()).await?),
                None => None,
            };
            let now = state.clock.now_ms();
            let mut tx = state.db.begin().await?;
            let new = NewPerson {
                kind: AccountKind::Participant,
                name: name.into_string(),
                phone: Some(phone),
                login,
                password_hash,
                status: PersonStatus::Active,
                store_id: Some(store.id),
                partner_id: None,
                brand_id: None,
                registration_id: None,
            };
            let id =
                people::create_participant(&mut tx, caller.program_id(), &new, role, now).await?;
            if role == ParticipantRole::Owner {
                stores::set_owner(&mut tx, &store, Some(id), now).await?;
            }
            let person = people::get(&mut *tx, caller.program_id(), id).await?;
            tx.commit().await?;
            Reply::created(&person)
        },
    )
    .await
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct UpdateParticipantRequest {
    pub name: Option<String>,
    pub phone: Option<String>,
    /// Moves a seller to another store.
    pub store_id: Option<i64>,
}

/// Edits a participant's name, phone or store.
#[utoipa::path(
    operation_id = "updateParticipant", tag = "participants", security(("bearer" = [])), request_body = UpdateParticipantRequest,
    params(("id" = i64, Path)),
    responses((status = 200, body = Person), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[patch("/api/v1/participants/{id}")]
pub async fn update_participant(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<UpdateParticipantRequest>,
) -> ApiResult<HttpResponse> {
    validate! {
        name = "name" => optional(body.name.as_deref(), PersonName::parse),
        phone = "phone" => optional(body.phone.as_deref(), Phone::parse),
    }
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
    let person = people::get(&mut *tx, caller.program_id(), id.into_inner()).await?;
    caller.require(Permission::edit(Section::Participants), &person.target())?;
    if name.is_some() || phone.is_some() {
        let name = name.map_or_else(|| person.name.clone(), |n| n.into_string());
        let phone = match phone {
            Some(phone) => Some(phone),
            None => person
                .phone
                .as_deref()
                .map(Phone::parse)
                .transpose()
                .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?,
        };
        people::update_profile(&mut tx, person.id, &name, phone.as_ref(), now).await?;
    }
    if let Some(store_id) = body.store_id {
        let store = stores::get_in_program(&mut *tx, caller.program_id(), store_id)
            .await
            .map_err(|_| {
                ApiError::field(
                    "store_id",
                    format!("there is no store {store_id} in this program"),
                )
            })?;
        caller.require(Permission::edit(Section::Participants), &store.target())?;
        people::move_to_store(&mut tx, &person, store.id, now).await?;
    }
    let person = people::get(&mut *tx, caller.program_id(), person.id).await?;
    tx.commit().await?;
    crate::auth::cache::user_changed(&state.live, person.id);
    Ok(HttpResponse::Ok().json(person))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ParticipantStatusRequest {
    /// `active` or `blocked`. Pending people are approved or rejected instead.
    pub status: PersonStatus,
    pub reason: Option<String>,
}

/// Blocks or unblocks a participant. Blocking ends all their sessions.
#[utoipa::path(
    operation_id = "setParticipantStatus", tag = "participants", security(("bearer" = [])), request_body = ParticipantStatusRequest,
    params(("id" = i64, Path)),
    responses((status = 200, body = Person), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/participants/{id}/status")]
pub async fn set_participant_status(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<ParticipantStatusRequest>,
) -> ApiResult<HttpResponse> {
    if body.status == PersonStatus::Pending {
        return Err(ApiError::field(
            "status",
            "a person cannot be put back to pending",
        ));
    }
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
    let person = people::get(&mut *tx, caller.program_id(), id.into_inner()).await?;
    caller.require(Permission::edit(Section::Participants), &person.target())?;
    if person.status == PersonStatus::Pending {
        return Err(ApiError::invalid_state(
            "the person is pending; approve or reject the registration",
        ));
    }
    if person.id == caller.id() {
        return Err(ApiError::invalid_state("you cannot change your own status"));
    }
    people::set_status(&mut tx, person.id, body.status, now).await?;
    crate::audit::record(
        &mut tx,
        caller.program_id(),
        Some(caller.id()),
        "participant.status",
        &format!("user:{}", person.id),
        Some(serde_json::json!({ "status": person.status })),
        Some(serde_json::json!({ "status": body.status, "reason": body.reason })),
        now,
    )
    .await?;
    let person = people::get(&mut *tx, caller.program_id(), person.id).await?;
    tx.commit().await?;
    crate::auth::cache::user_changed(&state.live, person.id);
    Ok(HttpResponse::Ok().json(person))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct InvitationRequest {
    /// How many people may join with it: 1 to 1000, default 1.
    pub max_uses: Option<i64>,
    /// Days until it expires: 1 to 365, default 30.
    pub expires_in_days: Option<i64>,
}

/// Creates an invitation code for a store: whoever registers with it joins the store
/// at once, without waiting for approval.
#[utoipa::path(
    operation_id = "createInvitation", tag = "participants", security(("bearer" = [])), request_body = InvitationRequest,
    params(("id" = i64, Path, description = "Store id"), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Invitation), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/stores/{id}/invitations")]
pub async fn create_invitation(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<i64>,
    body: web::Json<InvitationRequest>,
) -> ApiResult<HttpResponse> {
    let max_uses = body.max_uses.unwrap_or(1);
    let days = body.expires_in_days.unwrap_or(30);
    let mut errors = Vec::new();
    if !(1..=1000).contains(&max_uses) {
        errors.push(FieldError {
            field: "max_uses".into(),
            message: "must be 1 to 1000".into(),
        });
    }
    if !(1..=365).contains(&days) {
        errors.push(FieldError {
            field: "expires_in_days".into(),
            message: "must be 1 to 365".into(),
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::fields(errors));
    }
    let store =
        stores::get_in_program(&state.db.pool, caller.program_id(), id.into_inner()).await?;
    caller.require(Permission::edit(Section::Participants), &store.target())?;
    if store.status != stores::StoreStatus::Connected {
        return Err(ApiError::new(
            ErrorCode::InvalidState,
            "invitations are only for connected stores",
        ));
    }
    idempotency::run(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &("createInvitation", store.id, &*body),
        || async {
            let now = state.clock.now_ms();
            let mut tx = state.db.begin().await?;
            let invitation = sign_up::create_invitation(
                &mut tx,
                caller.program_id(),
                store.id,
                caller.id(),
                max_uses,
                now + days * 86_400_000,
                now,
            )
            .await?;
            tx.commit().await?;
            Reply::created(&invitation)
        },
    )
    .await
}

//! Joining a program. Registration is closed: a person either brings an invitation
//! code from their representative (and is active at once, in the invitation's store),
//! or registers into an existing store, or registers a new store together with its
//! people (a group). The last two wait as *pending* until a moderator or manager
//! approves them; approving a group's owner approves the store and everyone in it.

use rand::Rng;
use serde::Serialize;
use utoipa::ToSchema;

use super::people::{self, NewPerson, ParticipantRole, Person, PersonStatus};
use super::stores::{self, StoreFields, StoreStatus};
use crate::db::Tx;
use crate::domain::AccountKind;
use crate::domain::{Login, PersonName, Phone};
use crate::error::{ApiError, ApiResult, ErrorCode};

/// How the registering person joins.
#[derive(Debug, Clone)]
pub enum Joining {
    /// An invitation code for a store: active at once.
    Invitation(String),
    /// An existing connected store: pending until approved.
    Store(i64),
    /// A new store registered by its owner with its sellers: all pending.
    NewStore {
        fields: StoreFields,
        members: Vec<(Phone, PersonName)>,
    },
}

#[derive(Debug, Clone)]
pub struct Applicant {
    pub phone: Phone,
    pub name: PersonName,
    pub login: Option<Login>,
    pub password_hash: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Registered {
    pub registration_id: i64,
    /// The registering person.
    pub participant_id: i64,
    /// `active` (joined by invitation) or `pending` (waits for approval).
    pub status: PersonStatus,
    pub store_id: i64,
    /// For a group: the sellers registered with the store.
    pub member_ids: Vec<i64>,
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn register(
    tx: &mut Tx,
    program_id: i64,
    applicant: &Applicant,
    joining: &Joining,
    now_ms: i64,
) -> ApiResult<Registered> {
    match joining {
        Joining::Invitation(code) => {
            let store_id = consume_invitation(tx, program_id, code, now_ms).await?;
            let registration_id = insert_registration(
                tx,
                program_id,
                "individual",
                Some(store_id),
                "approved",
                now_ms,
            )
            .await?;
            let id = create(
                tx,
                program_id,
                applicant,
                store_id,
                PersonStatus::Active,
                registration_id,
                now_ms,
            )
            .await?;
            Ok(Registered {
                registration_id,
                participant_id: id,
                status: PersonStatus::Active,
                store_id,
                member_ids: vec![],
            })
        }
        Joining::Store(store_id) => {
            let store = stores::get_in_program(&mut **tx, program_id, *store_id)
                .await
                .map_err(|_| {
                    ApiError::field(
                        "store_id",
                        format!("there is no store {store_id} in this program"),
                    )
                })?;
            if store.status != StoreStatus::Connected {
                return Err(ApiError::field(
                    "store_id",
                    "this store is not connected to the program",
                ));
            }
            let registration_id = insert_registration(
                tx,
                program_id,
                "individual",
                Some(store.id),
                "pending",
                now_ms,
            )
            .await?;
            let id = create(
                tx,
                program_id,
                applicant,
                store.id,
                PersonStatus::Pending,
                registration_id,
                now_ms,
            )
            .await?;
            let summary = serde_json::json!({
                "kind": "individual",
                "name": applicant.name.as_str(),
                "phone": applicant.phone.as_str(),
                "store": { "id": store.id, "name": store.name, "address": store.address },
            });
            queue_for_moderation(tx, program_id, id, &store, summary, now_ms).await?;
            Ok(Registered {
                registration_id,
                participant_id: id,
                status: PersonStatus::Pending,
                store_id: store.id,
                member_ids: vec![],
            })
        }
        Joining::NewStore { fields, members } => {
            stores::check_references(tx, program_id, fields.region_id, fields.partner_id).await?;
            let store =
                stores::create(tx, program_id, fields, StoreStatus::Pending, now_ms).await?;
            let registration_id =
                insert_registration(tx, program_id, "group", Some(store.id), "pending", now_ms)
                    .await?;
            let owner_id = people::create_participant(
                tx,
                program_id,
                &new_person(applicant, None, PersonStatus::Pending, registration_id),
                ParticipantRole::Owner,
                now_ms,
            )
            .await?;
            stores::set_owner(tx, &store, Some(owner_id), now_ms).await?;
            let mut member_ids = Vec::with_capacity(members.len());
            for (index, (phone, name)) in members.iter().enumerate() {
                let member = Applicant {
                    phone: phone.clone(),
                    name: name.clone(),
                    login: None,
                    password_hash: None,
                };
                let id = create(
                    tx,
                    program_id,
                    &member,
                    store.id,
                    PersonStatus::Pending,
                    registration_id,
                    now_ms,
                )
                .await
                .map_err(|mut err| {
                    for field in &mut err.errors {
                        field.field = format!("store.members[{index}].{}", field.field);
                    }
                    err
                })?;
                member_ids.push(id);
            }
            let summary = serde_json::json!({
                "kind": "group",
                "name": applicant.name.as_str(),
                "phone": applicant.phone.as_str(),
                "store": { "id": store.id, "name": store.name, "address": store.address },
                "members": members.iter().map(|(phone, name)| serde_json::json!({ "phone": phone.as_str(), "name": name.as_str() })).collect::<Vec<_>>(),
            });
            queue_for_moderation(tx, program_id, owner_id, &store, summary, now_ms).await?;
            Ok(Registered {
                registration_id,
                participant_id: owner_id,
                status: PersonStatus::Pending,
                store_id: store.id,
                member_ids,
            })
        }
    }
}

/// Puts a pending registration in the moderation queue (the caller announces it
/// after the commit).
#[tracing::instrument(skip_all, fields(program_id = ?program_id, person_id = ?person_id))]
async fn queue_for_moderation(
    tx: &mut Tx,
    program_id: i64,
    person_id: i64,
    store: &stores::Store,
    summary: serde_json::Value,
    now_ms: i64,
) -> ApiResult<()> {
    let item = crate::moderation::NewItem {
        kind: stimul_actors::rules::routing::ItemKind::Registration,
        subject_id: person_id,
        participant_id: Some(person_id),
        store_id: Some(store.id),
        region_id: store.region_id,
        summary,
    };
    crate::moderation::enqueue(tx, program_id, &item, now_ms).await?;
    Ok(())
}

fn new_person(
    applicant: &Applicant,
    store_id: Option<i64>,
    status: PersonStatus,
    registration_id: i64,
) -> NewPerson {
    NewPerson {
        kind: AccountKind::Participant,
        name: applicant.name.as_str().to_string(),
        phone: Some(applicant.phone.clone()),
        login: applicant.login.clone(),
        password_hash: applicant.password_hash.clone(),
        status,
        store_id,
        partner_id: None,
        brand_id: None,
        registration_id: Some(registration_id),
    }
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id, store_id = ?store_id, registration_id = ?registration_id))]
async fn create(
    tx: &mut Tx,
    program_id: i64,
    applicant: &Applicant,
    store_id: i64,
    status: PersonStatus,
    registration_id: i64,
    now_ms: i64,
) -> ApiResult<i64> {
    people::create_participant(
        tx,
        program_id,
        &new_person(applicant, Some(store_id), status, registration_id),
        ParticipantRole::Seller,
        now_ms,
    )
    .await
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
async fn insert_registration(
    tx: &mut Tx,
    program_id: i64,
    kind: &str,
    store_id: Option<i64>,
    status: &str,
    now_ms: i64,
) -> ApiResult<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO registrations (program_id, kind, store_id, status, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(program_id)
    .bind(kind)
    .bind(store_id)
    .bind(status)
    .bind(now_ms)
    .fetch_one(&mut **tx)
    .await?)
}

/// The decision on a pending person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

/// Approves or rejects a pending person. For a group registration the decision on its
/// owner covers the whole group: the store is connected (or left disconnected) and all
/// its registered people become active (or blocked). Returns the ids decided.
#[tracing::instrument(skip_all, fields(decided_by = ?decided_by))]
pub async fn decide(
    tx: &mut Tx,
    person: &Person,
    decision: Decision,
    reason: Option<&str>,
    decided_by: i64,
    now_ms: i64,
) -> ApiResult<Vec<i64>> {
    if person.status != PersonStatus::Pending {
        return Err(ApiError::invalid_state(format!(
            "user {} is {}, not pending",
            person.id,
            person.status.as_str()
        )));
    }
    let (new_status, registration_status) = match decision {
        Decision::Approve => (PersonStatus::Active, "approved"),
        Decision::Reject => (PersonStatus::Blocked, "rejected"),
    };
    let group: Option<(i64, Option<i64>)> = match person.registration_id {
        Some(registration_id) => sqlx::query_as(
            "SELECT id, store_id FROM registrations WHERE id = $1 AND kind = 'group' AND status = 'pending'",
        )
        .bind(registration_id)
        .fetch_optional(&mut **tx)
        .await?,
        None => None,
    };
    let decided: Vec<i64> = match group {
        Some((registration_id, store_id)) => {
            let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM users WHERE registration_id = $1 AND status = 'pending' ORDER BY id")
                .bind(registration_id)
                .fetch_all(&mut **tx)
                .await?;
            if let Some(store_id) = store_id {
                let store_status = match decision {
                    Decision::Approve => StoreStatus::Connected,
                    Decision::Reject => StoreStatus::Disconnected,
                };
                stores::set_status(tx, store_id, store_status, now_ms).await?;
            }
            ids
        }
        None => vec![person.id],
    };
    for id in &decided {
        people::set_status(tx, *id, new_status, now_ms).await?;
    }
    if let Some(registration_id) = person.registration_id {
        sqlx::query("UPDATE registrations SET status = $1, reason = $2, decided_by = $3, decided_at = $4 WHERE id = $5 AND status = 'pending'")
            .bind(registration_status)
            .bind(reason.map(str::to_string))
            .bind(decided_by)
            .bind(now_ms)
            .bind(registration_id)
            .execute(&mut **tx)
            .await?;
    }
    if decision == Decision::Approve {
        let welcomed: Vec<(i64, i64, String, String)> = {
            let mut sql = crate::db::Sql::new(
                "SELECT u.id, u.program_id, u.name, p.name FROM users u JOIN programs p ON p.id = u.program_id WHERE u.id IN ",
            );
            sql.bind_list(decided.iter().copied());
            sql.query_as().fetch_all(&mut **tx).await?
        };
        let notices: Vec<crate::notifications::Notice> = welcomed
            .into_iter()
            .map(|(user, program_id, name, program)| {
                crate::notifications::Notice::new(
                    program_id,
                    user,
                    stimul_actors::rules::notifications::Trigger::RegistrationApproved,
                    format!("registration:{user}:approved"),
                )
                .with("name", name)
                .with("program", program)
            })
            .collect();
        crate::notifications::notify_in(tx, &notices, now_ms).await?;
        for notice in &notices {
            crate::webhooks::emit_in(
                tx,
                notice.program_id,
                crate::webhooks::EventType::ParticipantApproved,
                serde_json::json!({ "participant_id": notice.user_id, "name": notice.values.get("name") }),
                now_ms,
            )
            .await?;
        }
    }
    Ok(decided)
}

/// Letters and digits that cannot be confused with one another when read off a card.
const INVITATION_ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
const INVITATION_LENGTH: usize = 10;

/// A new invitation code, shown as `ABCDE-FGHJK`.
pub fn new_invitation_code() -> String {
    let mut rng = rand::rng();
    let raw: String = (0..INVITATION_LENGTH)
        .map(|_| INVITATION_ALPHABET[rng.random_range(0..INVITATION_ALPHABET.len())] as char)
        .collect();
    format!("{}-{}", &raw[..5], &raw[5..])
}

/// Normalises what a person typed: case and separators do not matter.
pub fn normalise_invitation_code(input: &str) -> String {
    let raw: String = input
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if raw.len() == INVITATION_LENGTH {
        format!("{}-{}", &raw[..5], &raw[5..])
    } else {
        raw
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Invitation {
    pub code: String,
    pub store_id: i64,
    pub max_uses: i64,
    pub uses: i64,
    pub expires_at: i64,
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id, store_id = ?store_id, created_by = ?created_by, max_uses = ?max_uses, expires_at = ?expires_at))]
pub async fn create_invitation(
    tx: &mut Tx,
    program_id: i64,
    store_id: i64,
    created_by: i64,
    max_uses: i64,
    expires_at: i64,
    now_ms: i64,
) -> ApiResult<Invitation> {
    let code = new_invitation_code();
    sqlx::query(
        "INSERT INTO invitations (program_id, code, store_id, created_by, max_uses, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(program_id)
    .bind(&code)
    .bind(store_id)
    .bind(created_by)
    .bind(max_uses)
    .bind(expires_at)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(Invitation {
        code,
        store_id,
        max_uses,
        uses: 0,
        expires_at,
    })
}

/// Uses up one use of an invitation; returns its store. Atomic, so a card with one
/// use left admits exactly one of two people registering at once.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
async fn consume_invitation(
    tx: &mut Tx,
    program_id: i64,
    code: &str,
    now_ms: i64,
) -> ApiResult<i64> {
    let code = normalise_invitation_code(code);
    let consumed = sqlx::query(
        "UPDATE invitations SET uses = uses + 1
         WHERE code = $1 AND program_id = $2 AND uses < max_uses AND expires_at > $3",
    )
    .bind(&code)
    .bind(program_id)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    let invalid = || {
        ApiError::new(
            ErrorCode::InvalidInvitation,
            "the invitation code is unknown, expired or used up",
        )
    };
    if consumed != 1 {
        return Err(invalid());
    }
    let store_id: i64 = sqlx::query_scalar("SELECT store_id FROM invitations WHERE code = $1")
        .bind(&code)
        .fetch_one(&mut **tx)
        .await?;
    let store = stores::get(&mut **tx, store_id).await?;
    if store.status != StoreStatus::Connected {
        return Err(invalid());
    }
    Ok(store_id)
}

/// Decides `registration` items for moderation: approving a person (a group's owner
/// approves the store and everyone in it), or rejecting (rework means reject: there is
/// nothing to resubmit).
pub struct RegistrationDecisions {
    /// Finds the decided person's group after the commit.
    pub db: crate::db::Db,
    /// Tells every node's access cache that those people changed.
    pub live: std::sync::Arc<stimul_actors::live::RealtimeCore>,
}

#[async_trait::async_trait]
impl crate::moderation::DecisionHandler for RegistrationDecisions {
    async fn decide(
        &self,
        tx: &mut Tx,
        decision: &crate::moderation::Decision<'_>,
    ) -> ApiResult<crate::moderation::Outcome> {
        use crate::moderation::DecisionKind;
        let moderator = decision.moderator;
        let person =
            super::people::get(&mut **tx, moderator.program_id(), decision.item.subject_id).await?;
        let verdict = match decision.request.decision {
            DecisionKind::Approve => Decision::Approve,
            DecisionKind::Reject | DecisionKind::Rework => Decision::Reject,
        };
        let request = decision.request;
        let reason = request.comment.as_deref().or(request.reason.as_deref());
        decide(tx, &person, verdict, reason, moderator.id(), decision.now).await?;
        Ok(crate::moderation::Outcome::settle(
            crate::moderation::Effect::None,
        ))
    }

    async fn after_commit(&self, item: &stimul_actors::moderation::ItemView) {
        // The person (and a group's members) may act now, or not at all.
        let members: Vec<i64> = sqlx::query_scalar("SELECT id FROM users WHERE registration_id = (SELECT registration_id FROM users WHERE id = $1)")
            .bind(item.subject_id)
            .fetch_all(&self.db.pool)
            .await
            .unwrap_or_default();
        for user in members.into_iter().chain([item.subject_id]) {
            crate::auth::cache::user_changed(&self.live, user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitation_codes_normalise() {
        let code = new_invitation_code();
        assert_eq!(code.len(), INVITATION_LENGTH + 1);
        assert_eq!(
            normalise_invitation_code(&code.to_lowercase().replace('-', " ")),
            code
        );
        assert!(!code.contains(['0', 'O', '1', 'I']));
    }
}

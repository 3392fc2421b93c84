//! People of a program: participants (sellers and owners, who earn points) and staff
//! (managers, moderators, brand and partner users, admins). One `users` table holds
//! both; `kind` tells them apart and roles say what each may do.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

use crate::access::repo::{assign, role_id};
use crate::access::scoped::{ScopeColumns, restrict_to};
use crate::access::{Scope, Target, Visibility};
use crate::db::{Db, Sql, Tx};
use crate::domain::{Login, Phone};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::paging::{Page, page_of};

pub use crate::domain::{AccountKind, PersonStatus};

/// The participant role someone holds in a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantRole {
    Seller,
    Owner,
}

impl ParticipantRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantRole::Seller => crate::access::SELLER,
            ParticipantRole::Owner => crate::access::OWNER,
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim().to_lowercase().as_str() {
            "seller" | "" => Ok(ParticipantRole::Seller),
            "owner" => Ok(ParticipantRole::Owner),
            other => Err(format!("unknown role {other:?}; expected seller or owner")),
        }
    }
}

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Person {
    pub id: i64,
    pub program_id: i64,
    /// `participant` (earns points) or `staff`.
    #[sqlx(try_from = "String")]
    pub kind: AccountKind,
    pub login: Option<String>,
    pub phone: Option<String>,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub status: PersonStatus,
    pub store_id: Option<i64>,
    pub partner_id: Option<i64>,
    pub brand_id: Option<i64>,
    pub created_at: i64,
    /// The registration this person came with, while it matters for approval.
    pub registration_id: Option<i64>,
    /// The region of the person's store (scopes are matched on it).
    pub region_id: Option<i64>,
    /// The person's own partner, or else their store's.
    pub effective_partner_id: Option<i64>,
}

const PERSON_SELECT: &str = "SELECT u.id, u.program_id, u.kind, u.login, u.phone, u.name, u.status, u.store_id, \
     u.partner_id, u.brand_id, u.created_at, u.registration_id, s.region_id, \
     COALESCE(u.partner_id, s.partner_id) AS effective_partner_id \
     FROM users u LEFT JOIN stores s ON s.id = u.store_id";

impl Person {
    /// Where this person sits, for access checks.
    pub fn target(&self) -> Target {
        Target {
            program_id: self.program_id,
            region_id: self.region_id,
            partner_id: self.effective_partner_id,
            brand_id: self.brand_id,
            store_id: self.store_id,
        }
    }
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id, id = ?id))]
pub async fn get<'e, E>(executor: E, program_id: i64, id: i64) -> ApiResult<Person>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let person: Option<Person> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{PERSON_SELECT} WHERE u.id = $1"
    )))
    .bind(id)
    .fetch_optional(executor)
    .await?;
    person
        .filter(|p| p.program_id == program_id)
        .ok_or_else(|| ApiError::not_found(format!("user {id}")))
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn by_phone(tx: &mut Tx, program_id: i64, phone: &Phone) -> sqlx::Result<Option<Person>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{PERSON_SELECT} WHERE u.program_id = $1 AND u.phone = $2"
    )))
    .bind(program_id)
    .bind(phone.as_str())
    .fetch_optional(&mut **tx)
    .await
}

/// What is needed to create a person.
#[derive(Debug, Clone)]
pub struct NewPerson {
    pub kind: AccountKind,
    pub name: String,
    pub phone: Option<Phone>,
    pub login: Option<Login>,
    pub password_hash: Option<String>,
    pub status: PersonStatus,
    pub store_id: Option<i64>,
    pub partner_id: Option<i64>,
    pub brand_id: Option<i64>,
    pub registration_id: Option<i64>,
}

/// Inserts a person; a taken phone or login is a field error naming it. The names are
/// checked first because after a failed statement PostgreSQL refuses further queries
/// in the transaction; the unique constraint still settles a race between two inserts.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn insert(tx: &mut Tx, program_id: i64, new: &NewPerson, now_ms: i64) -> ApiResult<i64> {
    if let Some(taken) = taken_error(tx, program_id, new).await? {
        return Err(taken);
    }
    let result = sqlx::query_scalar(
        "INSERT INTO users (program_id, kind, login, phone, name, password_hash, status, store_id, partner_id, brand_id,
                            registration_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
    )
    .bind(program_id)
    .bind(new.kind.as_str())
    .bind(new.login.as_ref().map(|l| l.as_str().to_string()))
    .bind(new.phone.as_ref().map(|p| p.as_str().to_string()))
    .bind(&new.name)
    .bind(new.password_hash.clone())
    .bind(new.status.as_str())
    .bind(new.store_id)
    .bind(new.partner_id)
    .bind(new.brand_id)
    .bind(new.registration_id)
    .bind(now_ms)
    .fetch_one(&mut **tx)
    .await;
    match result {
        Ok(id) => Ok(id),
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Err(ApiError::new(
            ErrorCode::Conflict,
            "the phone or login was registered at the same moment by another request",
        )),
        Err(err) => Err(err.into()),
    }
}

/// Which of phone and login is already taken in the program, as field errors.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
async fn taken_error(tx: &mut Tx, program_id: i64, new: &NewPerson) -> ApiResult<Option<ApiError>> {
    let mut errors = Vec::new();
    if let Some(phone) = &new.phone {
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT id FROM users WHERE program_id = $1 AND phone = $2")
                .bind(program_id)
                .bind(phone.as_str())
                .fetch_optional(&mut **tx)
                .await?;
        if taken.is_some() {
            errors.push(crate::error::FieldError {
                field: "phone".into(),
                message: "this phone is already registered in the program".into(),
            });
        }
    }
    if let Some(login) = &new.login {
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT id FROM users WHERE program_id = $1 AND login = $2")
                .bind(program_id)
                .bind(login.as_str())
                .fetch_optional(&mut **tx)
                .await?;
        if taken.is_some() {
            errors.push(crate::error::FieldError {
                field: "login".into(),
                message: "this login is taken".into(),
            });
        }
    }
    if errors.is_empty() {
        return Ok(None);
    }
    let mut err = ApiError::fields(errors);
    err.code = ErrorCode::Conflict;
    Ok(Some(err))
}

/// Creates a participant and gives them their role: sellers hold `seller` scoped to
/// their store (or the program when they have none); owners get `owner` per store
/// when a store's owner is set.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn create_participant(
    tx: &mut Tx,
    program_id: i64,
    new: &NewPerson,
    role: ParticipantRole,
    now_ms: i64,
) -> ApiResult<i64> {
    let id = insert(tx, program_id, new, now_ms).await?;
    if role == ParticipantRole::Seller {
        let seller_role = role_id(&mut **tx, program_id, crate::access::SELLER).await?;
        let scope = new
            .store_id
            .map_or(Scope::Program(program_id), Scope::Store);
        assign(tx, id, seller_role, scope, now_ms).await?;
    }
    Ok(id)
}

#[tracing::instrument(skip_all, fields(id = ?id))]
pub async fn set_status(
    tx: &mut Tx,
    id: i64,
    status: PersonStatus,
    now_ms: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(now_ms)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    if status == PersonStatus::Blocked {
        crate::auth::revoke_all_sessions(tx, id, now_ms).await?;
    }
    Ok(())
}

/// Moves a seller to another store, moving the store-scoped seller role with them.
#[tracing::instrument(skip_all, fields(store_id = ?store_id))]
pub async fn move_to_store(
    tx: &mut Tx,
    person: &Person,
    store_id: i64,
    now_ms: i64,
) -> ApiResult<()> {
    if person.store_id == Some(store_id) {
        return Ok(());
    }
    sqlx::query("UPDATE users SET store_id = $1, updated_at = $2 WHERE id = $3")
        .bind(store_id)
        .bind(now_ms)
        .bind(person.id)
        .execute(&mut **tx)
        .await?;
    let seller_role = role_id(&mut **tx, person.program_id, crate::access::SELLER).await?;
    sqlx::query("UPDATE role_assignments SET scope_kind = 'store', scope_id = $1 WHERE user_id = $2 AND role_id = $3")
        .bind(store_id)
        .bind(person.id)
        .bind(seller_role)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Updates name and phone.
#[tracing::instrument(skip_all, fields(id = ?id))]
pub async fn update_profile(
    tx: &mut Tx,
    id: i64,
    name: &str,
    phone: Option<&Phone>,
    now_ms: i64,
) -> ApiResult<()> {
    let result =
        sqlx::query("UPDATE users SET name = $1, phone = $2, updated_at = $3 WHERE id = $4")
            .bind(name)
            .bind(phone.map(|p| p.as_str().to_string()))
            .bind(now_ms)
            .bind(id)
            .execute(&mut **tx)
            .await;
    match result {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            let mut err =
                ApiError::field("phone", "this phone is already registered in the program");
            err.code = ErrorCode::Conflict;
            Err(err)
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(Debug, Default)]
pub struct PersonQuery {
    pub kind: Option<AccountKind>,
    pub status: Option<PersonStatus>,
    pub store_id: Option<i64>,
    /// Case-insensitive part of the name, phone or login.
    pub search: Option<String>,
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id, after_id = ?after_id, limit = ?limit))]
pub async fn list(
    db: &Db,
    program_id: i64,
    visibility: &Visibility,
    query: &PersonQuery,
    after_id: i64,
    limit: i64,
) -> ApiResult<Page<Person>> {
    let mut filter = Sql::default();
    restrict_to(
        &mut filter,
        program_id,
        visibility,
        &ScopeColumns {
            program: "u.program_id",
            region: Some("s.region_id"),
            partner: Some("COALESCE(u.partner_id, s.partner_id)"),
            brand: Some("u.brand_id"),
            store: Some("u.store_id"),
        },
    );
    let after = filter.placeholder(after_id);
    filter.and_where(format!("u.id > {after}"));
    if let Some(kind) = query.kind {
        let p = filter.placeholder(kind.as_str());
        filter.and_where(format!("u.kind = {p}"));
    }
    if let Some(status) = query.status {
        let p = filter.placeholder(status.as_str());
        filter.and_where(format!("u.status = {p}"));
    }
    if let Some(store_id) = query.store_id {
        let p = filter.placeholder(store_id);
        filter.and_where(format!("u.store_id = {p}"));
    }
    if let Some(search) = query.search.as_deref().filter(|s| !s.trim().is_empty()) {
        let p = filter.placeholder(format!("%{}%", search.trim().to_lowercase()));
        filter.and_where(format!(
            "(LOWER(u.name) LIKE {p} OR COALESCE(u.phone, '') LIKE {p} OR COALESCE(u.login, '') LIKE {p})"
        ));
    }
    let limit_p = filter.placeholder(limit + 1);
    filter
        .push(PERSON_SELECT)
        .push_where()
        .push(&format!(" ORDER BY u.id LIMIT {limit_p}"));
    let rows: Vec<Person> = filter.query_as().fetch_all(&db.pool).await?;
    Ok(page_of(rows, limit, |p| p.id))
}

/// Creates an administrator of a program (the program is created if missing): the
/// bootstrap path of `stimul admin create`.
#[tracing::instrument(skip_all)]
pub async fn create_admin(
    db: &crate::db::Db,
    clock: &crate::db::Clock,
    program_slug: &str,
    login: &str,
    password: &str,
    name: &str,
) -> anyhow::Result<(super::programs::Program, i64)> {
    use crate::domain::{NewPassword, PersonName, Slug};
    let slug = Slug::parse(program_slug).map_err(|e| anyhow::anyhow!("program: {e}"))?;
    let login = Login::parse(login).map_err(|e| anyhow::anyhow!("login: {e}"))?;
    let password = NewPassword::parse(password).map_err(|e| anyhow::anyhow!("password: {e}"))?;
    let name = PersonName::parse(name).map_err(|e| anyhow::anyhow!("name: {e}"))?;
    let now = clock.now_ms();
    let program = super::programs::ensure(db, &slug, now).await?;
    let password_hash = crate::auth::hash_password(password.expose().to_string()).await?;
    let mut tx = db.begin().await?;
    let new = NewPerson {
        kind: AccountKind::Staff,
        name: name.into_string(),
        phone: None,
        login: Some(login),
        password_hash: Some(password_hash),
        status: PersonStatus::Active,
        store_id: None,
        partner_id: None,
        brand_id: None,
        registration_id: None,
    };
    let id = insert(&mut tx, program.id, &new, now)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let admin = role_id(&mut *tx, program.id, crate::access::ADMIN).await?;
    assign(&mut tx, id, admin, Scope::Program(program.id), now).await?;
    tx.commit().await?;
    Ok((program, id))
}

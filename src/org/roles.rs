//! The role constructor's use cases: roles built from permissions, assignments of
//! roles to people over a scope, and staff accounts. Nobody hands out more than they
//! hold: assigning a role needs `roles.edit` over the scope and every permission of
//! the role over that scope ([`crate::access::Access::may_grant`]). The SQL is the
//! access area's (`crate::access::repo`); every change is audited and tells every
//! node's access cache.

use std::collections::BTreeSet;

use serde::Serialize;
use utoipa::ToSchema;

use super::people::{self, NewPerson, Person, PersonStatus};
use super::stores;
use stimul_actors::live::RealtimeCore;

use crate::access::repo::{self as access_repo, assign};
use crate::access::{Permission, Scope, Section, Target};
use crate::auth::Principal;
use crate::db::{Clock, Db};
use crate::domain::AccountKind;
use crate::domain::{Login, PersonName, Phone};
use crate::error::{ApiError, ApiResult, ErrorCode};

#[derive(Debug, Serialize, ToSchema)]
pub struct Role {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// Built-in roles cannot be changed or deleted.
    pub builtin: bool,
    pub permissions: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Assignment {
    pub id: i64,
    pub user_id: i64,
    pub role_id: i64,
    pub role: String,
    pub scope: Scope,
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
async fn load_roles<'e, E>(executor: E, program_id: i64, only: Option<i64>) -> ApiResult<Vec<Role>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let mut roles: Vec<Role> = Vec::new();
    for row in access_repo::roles(executor, program_id, only).await? {
        if roles.last().map(|r| r.id) != Some(row.id) {
            roles.push(Role {
                id: row.id,
                name: row.name,
                description: row.description,
                builtin: row.builtin != 0,
                permissions: Vec::new(),
            });
        }
        if let (Some(role), Some(permission)) = (roles.last_mut(), row.permission) {
            role.permissions.push(permission);
        }
    }
    Ok(roles)
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id, id = ?id))]
async fn load_role<'e, E>(executor: E, program_id: i64, id: i64) -> ApiResult<Role>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    load_roles(executor, program_id, Some(id))
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found(format!("role {id}")))
}

/// `listRoles`.
#[tracing::instrument(skip_all)]
pub async fn list(db: &Db, caller: &Principal) -> ApiResult<Vec<Role>> {
    caller.require_anywhere(Permission::view(Section::Roles))?;
    load_roles(&db.pool, caller.program_id(), None).await
}

/// `createRole`: a validated name (not a built-in one), description and permissions.
#[tracing::instrument(skip_all)]
pub async fn create(
    db: &Db,
    clock: &Clock,
    caller: &Principal,
    name: &str,
    description: &str,
    permissions: &BTreeSet<Permission>,
) -> ApiResult<Role> {
    caller.require_program_wide(Permission::edit(Section::Roles))?;
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let id = access_repo::insert_role(&mut tx, caller.program_id(), name, description, now)
        .await
        .map_err(|err| match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                let mut e = ApiError::field("name", "a role with this name exists");
                e.code = ErrorCode::Conflict;
                e
            }
            _ => err.into(),
        })?;
    access_repo::write_permissions(&mut tx, id, permissions).await?;
    let role = load_role(&mut *tx, caller.program_id(), id).await?;
    crate::audit::record(
        &mut tx,
        caller.program_id(),
        Some(caller.id()),
        "role.create",
        &format!("role:{id}"),
        None,
        serde_json::to_value(&role).ok(),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(role)
}

/// `updateRole`: a custom role's description or permissions; holders are affected at
/// once.
#[tracing::instrument(skip_all, fields(id = ?id))]
pub async fn update(
    db: &Db,
    clock: &Clock,
    live: &RealtimeCore,
    caller: &Principal,
    id: i64,
    description: Option<&str>,
    permissions: Option<&BTreeSet<Permission>>,
) -> ApiResult<Role> {
    caller.require_program_wide(Permission::edit(Section::Roles))?;
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let before = load_role(&mut *tx, caller.program_id(), id).await?;
    if before.builtin {
        return Err(ApiError::invalid_state(
            "built-in roles cannot be changed; build a new role instead",
        ));
    }
    if let Some(description) = description {
        access_repo::set_role_description(&mut tx, before.id, description).await?;
    }
    if let Some(permissions) = permissions {
        access_repo::write_permissions(&mut tx, before.id, permissions).await?;
    }
    let after = load_role(&mut *tx, caller.program_id(), before.id).await?;
    crate::audit::record(
        &mut tx,
        caller.program_id(),
        Some(caller.id()),
        "role.update",
        &format!("role:{}", before.id),
        serde_json::to_value(&before).ok(),
        serde_json::to_value(&after).ok(),
        now,
    )
    .await?;
    tx.commit().await?;
    // Everyone holding the role now may do something else.
    crate::auth::cache::everyone_changed(live);
    Ok(after)
}

/// `deleteRole`: a custom role nobody holds.
#[tracing::instrument(skip_all, fields(id = ?id))]
pub async fn delete(
    db: &Db,
    clock: &Clock,
    live: &RealtimeCore,
    caller: &Principal,
    id: i64,
) -> ApiResult<()> {
    caller.require_program_wide(Permission::edit(Section::Roles))?;
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let role = load_role(&mut *tx, caller.program_id(), id).await?;
    if role.builtin {
        return Err(ApiError::invalid_state("built-in roles cannot be deleted"));
    }
    let holders = access_repo::holders(&mut tx, role.id).await?;
    if holders > 0 {
        return Err(ApiError::invalid_state(format!(
            "{holders} assignment(s) still use this role; revoke them first"
        )));
    }
    access_repo::delete_role(&mut tx, role.id).await?;
    crate::audit::record(
        &mut tx,
        caller.program_id(),
        Some(caller.id()),
        "role.delete",
        &format!("role:{}", role.id),
        serde_json::to_value(&role).ok(),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    crate::auth::cache::everyone_changed(live);
    Ok(())
}

#[tracing::instrument(skip_all, fields(user_id = ?user_id))]
async fn assignments_of<'e, E>(executor: E, user_id: i64) -> ApiResult<Vec<Assignment>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    access_repo::assignments(executor, user_id)
        .await?
        .into_iter()
        .map(|row| {
            let scope = Scope::from_parts(&row.scope_kind, row.scope_id)
                .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
            Ok(Assignment {
                id: row.id,
                user_id,
                role_id: row.role_id,
                role: row.role,
                scope,
            })
        })
        .collect()
}

/// `listUserRoles`: one's own, or anyone's with `roles.view` over them.
#[tracing::instrument(skip_all, fields(user_id = ?user_id))]
pub async fn of_user(db: &Db, caller: &Principal, user_id: i64) -> ApiResult<Vec<Assignment>> {
    let person = people::get(&db.pool, caller.program_id(), user_id).await?;
    if person.id != caller.id() {
        caller.require(Permission::view(Section::Roles), &person.target())?;
    }
    assignments_of(&db.pool, person.id).await
}

/// Where a scope sits, to check the assigner's rights over it.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
async fn scope_target(db: &Db, program_id: i64, scope: Scope) -> ApiResult<Target> {
    let missing = |what: &str| {
        ApiError::field(
            "scope",
            format!("there is no {what} {} in this program", scope.id()),
        )
    };
    let base = Target::program(program_id);
    let listed = |table: &'static str, what: &'static str| async move {
        if stores::exists_in_program(&db.pool, table, program_id, scope.id()).await? {
            Ok(())
        } else {
            Err(missing(what))
        }
    };
    Ok(match scope {
        Scope::Program(id) if id == program_id => base,
        Scope::Program(_) => return Err(missing("program")),
        Scope::Region(id) => {
            listed("regions", "region").await?;
            Target {
                region_id: Some(id),
                ..base
            }
        }
        Scope::Partner(id) => {
            listed("partners", "partner").await?;
            Target {
                partner_id: Some(id),
                ..base
            }
        }
        Scope::Brand(id) => {
            listed("brands", "brand").await?;
            Target {
                brand_id: Some(id),
                ..base
            }
        }
        Scope::Store(id) => stores::get_in_program(&db.pool, program_id, id)
            .await
            .map_err(|_| missing("store"))?
            .target(),
    })
}

/// What `assignRole` is about, checked before its idempotent part runs.
pub struct Grant {
    pub person: Person,
    pub role: Role,
    pub scope: Scope,
}

/// Checks that `caller` may give `user_id` the role `role_id` over `scope`.
#[tracing::instrument(skip_all, fields(user_id = ?user_id, role_id = ?role_id))]
pub async fn check_grant(
    db: &Db,
    caller: &Principal,
    user_id: i64,
    role_id: i64,
    scope: Scope,
) -> ApiResult<Grant> {
    let program_id = caller.program_id();
    let person = people::get(&db.pool, program_id, user_id).await?;
    let role = load_role(&db.pool, program_id, role_id)
        .await
        .map_err(|_| {
            ApiError::field(
                "role_id",
                format!("there is no role {role_id} in this program"),
            )
        })?;
    let target = scope_target(db, program_id, scope).await?;
    caller.require(Permission::edit(Section::Roles), &target)?;
    caller
        .access
        .may_grant(&role.permissions, &target)
        .map_err(ApiError::forbidden)?;
    Ok(Grant {
        person,
        role,
        scope,
    })
}

/// `assignRole`, once checked ([`check_grant`]).
#[tracing::instrument(skip_all)]
pub async fn assign_checked(
    db: &Db,
    clock: &Clock,
    live: &RealtimeCore,
    caller: &Principal,
    grant: &Grant,
) -> ApiResult<Assignment> {
    let program_id = caller.program_id();
    let person_id = grant.person.id;
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    assign(&mut tx, person_id, grant.role.id, grant.scope, now).await?;
    let assignment = assignments_of(&mut *tx, person_id)
        .await?
        .into_iter()
        .find(|a| a.role_id == grant.role.id && a.scope == grant.scope)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("assignment vanished")))?;
    crate::audit::record(
        &mut tx,
        program_id,
        Some(caller.id()),
        "role.assign",
        &format!("user:{person_id}"),
        None,
        serde_json::to_value(&assignment).ok(),
        now,
    )
    .await?;
    tx.commit().await?;
    crate::auth::cache::user_changed(live, person_id);
    Ok(assignment)
}

/// `revokeRole`: needs `roles.edit` over the assignment's scope.
#[tracing::instrument(skip_all, fields(user_id = ?user_id, assignment_id = ?assignment_id))]
pub async fn revoke(
    db: &Db,
    clock: &Clock,
    live: &RealtimeCore,
    caller: &Principal,
    user_id: i64,
    assignment_id: i64,
) -> ApiResult<()> {
    let program_id = caller.program_id();
    let person = people::get(&db.pool, program_id, user_id).await?;
    let assignment = assignments_of(&db.pool, person.id)
        .await?
        .into_iter()
        .find(|a| a.id == assignment_id)
        .ok_or_else(|| ApiError::not_found(format!("assignment {assignment_id}")))?;
    let target = scope_target(db, program_id, assignment.scope).await?;
    caller.require(Permission::edit(Section::Roles), &target)?;
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    access_repo::delete_assignment(&mut tx, assignment.id).await?;
    crate::audit::record(
        &mut tx,
        program_id,
        Some(caller.id()),
        "role.revoke",
        &format!("user:{}", person.id),
        serde_json::to_value(&assignment).ok(),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    crate::auth::cache::user_changed(live, person.id);
    Ok(())
}

/// A staff account to create, validated.
pub struct NewStaff {
    pub login: Login,
    pub password_hash: String,
    pub name: PersonName,
    pub phone: Option<Phone>,
    pub partner_id: Option<i64>,
    pub brand_id: Option<i64>,
}

/// Checks a staff account's company references before anything is written.
#[tracing::instrument(skip_all)]
pub async fn check_staff_references(
    db: &Db,
    caller: &Principal,
    partner_id: Option<i64>,
    brand_id: Option<i64>,
) -> ApiResult<()> {
    caller.require_program_wide(Permission::edit(Section::Staff))?;
    let program_id = caller.program_id();
    stores::check_references(&mut *db.pool.acquire().await?, program_id, None, partner_id).await?;
    if let Some(brand_id) = brand_id
        && !stores::exists_in_program(&db.pool, "brands", program_id, brand_id).await?
    {
        return Err(ApiError::field(
            "brand_id",
            format!("there is no brand {brand_id} in this program"),
        ));
    }
    Ok(())
}

/// `createStaffUser`: a manager, moderator, brand or partner account without roles.
#[tracing::instrument(skip_all)]
pub async fn create_staff(
    db: &Db,
    clock: &Clock,
    caller: &Principal,
    staff: NewStaff,
) -> ApiResult<Person> {
    let program_id = caller.program_id();
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let new = NewPerson {
        kind: AccountKind::Staff,
        name: staff.name.into_string(),
        phone: staff.phone,
        login: Some(staff.login),
        password_hash: Some(staff.password_hash),
        status: PersonStatus::Active,
        store_id: None,
        partner_id: staff.partner_id,
        brand_id: staff.brand_id,
        registration_id: None,
    };
    let id = people::insert(&mut tx, program_id, &new, now).await?;
    let person = people::get(&mut *tx, program_id, id).await?;
    crate::audit::record(
        &mut tx,
        program_id,
        Some(caller.id()),
        "staff.create",
        &format!("user:{id}"),
        None,
        serde_json::to_value(&person).ok(),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(person)
}

//! The role constructor: permissions, roles built from them, and assignments with a
//! scope. Nobody can hand out more than they hold: assigning a role needs `roles.edit`
//! over the scope and every permission of the role over that scope.

use std::collections::BTreeSet;

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

use crate::access::store::assign;
use crate::access::{Access, Permission, Scope, Section, Target};
use crate::auth::{Caller, hash_password};
use crate::domain::{Login, NewPassword, PersonName, Phone, Text, optional};
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::org::people::{self, NewPerson, Person, PersonStatus};
use crate::org::stores;
use crate::state::AppState;
use crate::validate;

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionInfo {
    /// `section.view` or `section.edit` (edit implies view).
    pub permission: String,
    pub section: String,
    pub description: String,
}

/// Every permission a role can be built from.
#[utoipa::path(operation_id = "listPermissions", tag = "roles", security(("bearer" = [])), responses((status = 200, body = Vec<PermissionInfo>)))]
#[get("/api/v1/permissions")]
pub async fn list_permissions(_caller: Caller) -> HttpResponse {
    let all: Vec<PermissionInfo> = Permission::all()
        .map(|p| PermissionInfo {
            permission: p.to_string(),
            section: p.section.as_str().into(),
            description: p.section.describe().into(),
        })
        .collect();
    HttpResponse::Ok().json(all)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Role {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// Built-in roles cannot be changed or deleted.
    pub builtin: bool,
    pub permissions: Vec<String>,
}

async fn load_roles<'e, E>(executor: E, program_id: i64, only: Option<i64>) -> ApiResult<Vec<Role>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = sqlx::query(
        "SELECT r.id, r.name, r.description, r.builtin, p.permission FROM roles r
         LEFT JOIN role_permissions p ON p.role_id = r.id
         WHERE r.program_id = $1 AND ($2 = 0 OR r.id = $2) ORDER BY r.id, p.permission",
    )
    .bind(program_id)
    .bind(only.unwrap_or(0))
    .fetch_all(executor)
    .await?;
    let mut roles: Vec<Role> = Vec::new();
    for row in rows {
        let id: i64 = row.try_get(0)?;
        if roles.last().map(|r| r.id) != Some(id) {
            roles.push(Role {
                id,
                name: row.try_get(1)?,
                description: row.try_get(2)?,
                builtin: row.try_get::<i64, _>(3)? != 0,
                permissions: Vec::new(),
            });
        }
        if let (Some(role), Some(permission)) =
            (roles.last_mut(), row.try_get::<Option<String>, _>(4)?)
        {
            role.permissions.push(permission);
        }
    }
    Ok(roles)
}

async fn load_role<'e, E>(executor: E, program_id: i64, id: i64) -> ApiResult<Role>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    load_roles(executor, program_id, Some(id))
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found(format!("role {id}")))
}

/// The program's roles with their permissions.
#[utoipa::path(operation_id = "listRoles", tag = "roles", security(("bearer" = [])), responses((status = 200, body = Vec<Role>), (status = 403, body = Problem, content_type = "application/problem+json")))]
#[get("/api/v1/roles")]
pub async fn list_roles(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    caller.require_anywhere(Permission::view(Section::Roles))?;
    Ok(HttpResponse::Ok().json(load_roles(&state.db.pool, caller.program_id(), None).await?))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct RoleRequest {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// E.g. `["stores.view", "participants.edit"]`.
    pub permissions: Vec<String>,
}

fn parse_permissions(values: &[String]) -> Result<BTreeSet<Permission>, String> {
    values.iter().map(|v| v.parse::<Permission>()).collect()
}

fn role_name(value: &str) -> Result<String, String> {
    let name = Text::<64>::parse(value)?.into_string();
    if crate::access::builtin_role(&name.to_lowercase()).is_some() {
        return Err(format!("{name:?} is a built-in role"));
    }
    Ok(name)
}

async fn write_permissions(
    tx: &mut crate::db::Tx,
    role_id: i64,
    permissions: &BTreeSet<Permission>,
) -> ApiResult<()> {
    sqlx::query("DELETE FROM role_permissions WHERE role_id = $1")
        .bind(role_id)
        .execute(&mut **tx)
        .await?;
    for permission in permissions {
        sqlx::query("INSERT INTO role_permissions (role_id, permission) VALUES ($1, $2)")
            .bind(role_id)
            .bind(permission.to_string())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Builds a new role from permissions.
#[utoipa::path(
    operation_id = "createRole", tag = "roles", security(("bearer" = [])), request_body = RoleRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Role), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/roles")]
pub async fn create_role(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    body: web::Json<RoleRequest>,
) -> ApiResult<HttpResponse> {
    validate! {
        name = "name" => role_name(&body.name),
        description = "description" => Text::<500>::parse_optional(&body.description),
        permissions = "permissions" => parse_permissions(&body.permissions),
    }
    caller.require_program_wide(Permission::edit(Section::Roles))?;
    idempotency::run(&state, &idempotency::owner_user(caller.id()), &key, &("createRole", &*body), || async {
        let now = state.clock.now_ms();
        let mut tx = state.db.begin().await?;
        let id: i64 = sqlx::query_scalar("INSERT INTO roles (program_id, name, description, builtin, created_at) VALUES ($1, $2, $3, 0, $4) RETURNING id")
            .bind(caller.program_id())
            .bind(&name)
            .bind(description.as_str())
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(|err| match &err {
                sqlx::Error::Database(db) if db.is_unique_violation() => {
                    let mut e = ApiError::field("name", "a role with this name exists");
                    e.code = ErrorCode::Conflict;
                    e
                }
                _ => err.into(),
            })?;
        write_permissions(&mut tx, id, &permissions).await?;
        let role = load_role(&mut *tx, caller.program_id(), id).await?;
        crate::audit::record(&mut tx, caller.program_id(), Some(caller.id()), "role.create", &format!("role:{id}"), None, serde_json::to_value(&role).ok(), now).await?;
        tx.commit().await?;
        Reply::created(&role)
    })
    .await
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct RoleUpdate {
    pub description: Option<String>,
    pub permissions: Option<Vec<String>>,
}

/// Changes a custom role's description or permissions; holders are affected at once.
#[utoipa::path(
    operation_id = "updateRole", tag = "roles", security(("bearer" = [])), request_body = RoleUpdate, params(("id" = i64, Path)),
    responses((status = 200, body = Role), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"))
)]
#[patch("/api/v1/roles/{id}")]
pub async fn update_role(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<RoleUpdate>,
) -> ApiResult<HttpResponse> {
    validate! {
        description = "description" => optional(body.description.as_deref(), Text::<500>::parse_optional),
        permissions = "permissions" => body.permissions.as_deref().map(parse_permissions).transpose(),
    }
    caller.require_program_wide(Permission::edit(Section::Roles))?;
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
    let before = load_role(&mut *tx, caller.program_id(), id.into_inner()).await?;
    if before.builtin {
        return Err(ApiError::invalid_state(
            "built-in roles cannot be changed; build a new role instead",
        ));
    }
    if let Some(description) = description {
        sqlx::query("UPDATE roles SET description = $1 WHERE id = $2")
            .bind(description.as_str())
            .bind(before.id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(permissions) = permissions {
        write_permissions(&mut tx, before.id, &permissions).await?;
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
    crate::auth::cache::everyone_changed(&state);
    Ok(HttpResponse::Ok().json(after))
}

/// Deletes a custom role nobody holds.
#[utoipa::path(
    operation_id = "deleteRole", tag = "roles", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"))
)]
#[delete("/api/v1/roles/{id}")]
pub async fn delete_role(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    caller.require_program_wide(Permission::edit(Section::Roles))?;
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
    let role = load_role(&mut *tx, caller.program_id(), id.into_inner()).await?;
    if role.builtin {
        return Err(ApiError::invalid_state("built-in roles cannot be deleted"));
    }
    let holders: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM role_assignments WHERE role_id = $1")
            .bind(role.id)
            .fetch_one(&mut *tx)
            .await?;
    if holders > 0 {
        return Err(ApiError::invalid_state(format!(
            "{holders} assignment(s) still use this role; revoke them first"
        )));
    }
    sqlx::query("DELETE FROM role_permissions WHERE role_id = $1")
        .bind(role.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM roles WHERE id = $1")
        .bind(role.id)
        .execute(&mut *tx)
        .await?;
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
    crate::auth::cache::everyone_changed(&state);
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Assignment {
    pub id: i64,
    pub user_id: i64,
    pub role_id: i64,
    pub role: String,
    pub scope: Scope,
}

async fn assignments_of<'e, E>(executor: E, user_id: i64) -> ApiResult<Vec<Assignment>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = sqlx::query("SELECT a.id, a.role_id, r.name, a.scope_kind, a.scope_id FROM role_assignments a JOIN roles r ON r.id = a.role_id WHERE a.user_id = $1 ORDER BY a.id")
        .bind(user_id)
        .fetch_all(executor)
        .await?;
    rows.into_iter()
        .map(|row| {
            let kind: String = row.try_get(3)?;
            let scope = Scope::from_parts(&kind, row.try_get(4)?)
                .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
            Ok(Assignment {
                id: row.try_get(0)?,
                user_id,
                role_id: row.try_get(1)?,
                role: row.try_get(2)?,
                scope,
            })
        })
        .collect()
}

/// The roles a user holds.
#[utoipa::path(
    operation_id = "listUserRoles", tag = "roles", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Assignment>), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/users/{id}/roles")]
pub async fn list_user_roles(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let person = people::get(&state.db.pool, caller.program_id(), id.into_inner()).await?;
    if person.id != caller.id() {
        caller.require(Permission::view(Section::Roles), &person.target())?;
    }
    Ok(HttpResponse::Ok().json(assignments_of(&state.db.pool, person.id).await?))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct AssignRequest {
    pub role_id: i64,
    /// `{"kind":"program","id":<program id>}`, or region, partner, brand, store.
    pub scope: Scope,
}

/// Where a scope sits, to check the assigner's rights over it.
async fn scope_target(state: &AppState, program_id: i64, scope: Scope) -> ApiResult<Target> {
    let missing = |what: &str| {
        ApiError::field(
            "scope",
            format!("there is no {what} {} in this program", scope.id()),
        )
    };
    let base = Target::program(program_id);
    Ok(match scope {
        Scope::Program(id) if id == program_id => base,
        Scope::Program(_) => return Err(missing("program")),
        Scope::Region(id) => {
            if !stores::exists_in_program(&state.db.pool, "regions", program_id, id).await? {
                return Err(missing("region"));
            }
            Target {
                region_id: Some(id),
                ..base
            }
        }
        Scope::Partner(id) => {
            if !stores::exists_in_program(&state.db.pool, "partners", program_id, id).await? {
                return Err(missing("partner"));
            }
            Target {
                partner_id: Some(id),
                ..base
            }
        }
        Scope::Brand(id) => {
            if !stores::exists_in_program(&state.db.pool, "brands", program_id, id).await? {
                return Err(missing("brand"));
            }
            Target {
                brand_id: Some(id),
                ..base
            }
        }
        Scope::Store(id) => stores::get_in_program(&state.db.pool, program_id, id)
            .await
            .map_err(|_| missing("store"))?
            .target(),
    })
}

/// Whether `access` may hand out `permissions` over `target`.
fn may_grant(access: &Access, permissions: &[String], target: &Target) -> Result<(), String> {
    for permission in permissions {
        let Ok(permission) = permission.parse::<Permission>() else {
            continue;
        };
        if !access.allows(permission, target) {
            return Err(format!(
                "you cannot hand out {permission}, which you do not hold over this scope"
            ));
        }
    }
    Ok(())
}

/// Gives a user a role over a scope.
#[utoipa::path(
    operation_id = "assignRole", tag = "roles", security(("bearer" = [])), request_body = AssignRequest,
    params(("id" = i64, Path, description = "User id"), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Assignment), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/users/{id}/roles")]
pub async fn assign_role(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<i64>,
    body: web::Json<AssignRequest>,
) -> ApiResult<HttpResponse> {
    let program_id = caller.program_id();
    let person = people::get(&state.db.pool, program_id, id.into_inner()).await?;
    let role = load_role(&state.db.pool, program_id, body.role_id)
        .await
        .map_err(|_| {
            ApiError::field(
                "role_id",
                format!("there is no role {} in this program", body.role_id),
            )
        })?;
    let target = scope_target(&state, program_id, body.scope).await?;
    caller.require(Permission::edit(Section::Roles), &target)?;
    may_grant(&caller.access, &role.permissions, &target).map_err(ApiError::forbidden)?;
    idempotency::run(
        &state,
        &idempotency::owner_user(caller.id()),
        &key,
        &("assignRole", person.id, &*body),
        || async {
            let now = state.clock.now_ms();
            let mut tx = state.db.begin().await?;
            assign(&mut tx, person.id, role.id, body.scope, now).await?;
            let assignment = assignments_of(&mut *tx, person.id)
                .await?
                .into_iter()
                .find(|a| a.role_id == role.id && a.scope == body.scope)
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("assignment vanished")))?;
            crate::audit::record(
                &mut tx,
                program_id,
                Some(caller.id()),
                "role.assign",
                &format!("user:{}", person.id),
                None,
                serde_json::to_value(&assignment).ok(),
                now,
            )
            .await?;
            tx.commit().await?;
            crate::auth::cache::user_changed(&state, person.id);
            Reply::created(&assignment)
        },
    )
    .await
}

/// Takes a role assignment away.
#[utoipa::path(
    operation_id = "revokeRole", tag = "roles", security(("bearer" = [])), params(("id" = i64, Path, description = "User id"), ("assignment_id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[delete("/api/v1/users/{id}/roles/{assignment_id}")]
pub async fn revoke_role(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (user_id, assignment_id) = path.into_inner();
    let program_id = caller.program_id();
    let person = people::get(&state.db.pool, program_id, user_id).await?;
    let assignment = assignments_of(&state.db.pool, person.id)
        .await?
        .into_iter()
        .find(|a| a.id == assignment_id)
        .ok_or_else(|| ApiError::not_found(format!("assignment {assignment_id}")))?;
    let target = scope_target(&state, program_id, assignment.scope).await?;
    caller.require(Permission::edit(Section::Roles), &target)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
    sqlx::query("DELETE FROM role_assignments WHERE id = $1")
        .bind(assignment.id)
        .execute(&mut *tx)
        .await?;
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
    crate::auth::cache::user_changed(&state, person.id);
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct StaffRequest {
    pub login: String,
    pub password: String,
    pub name: String,
    pub phone: Option<String>,
    /// For partner users: their company.
    pub partner_id: Option<i64>,
    /// For brand users: their brand.
    pub brand_id: Option<i64>,
}

/// Creates a staff account (manager, moderator, brand or partner user); give it roles
/// with assignRole.
#[utoipa::path(
    operation_id = "createStaffUser", tag = "roles", security(("bearer" = [])), request_body = StaffRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Person), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/users")]
pub async fn create_staff_user(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    body: web::Json<StaffRequest>,
) -> ApiResult<HttpResponse> {
    validate! {
        login = "login" => Login::parse(&body.login),
        password = "password" => NewPassword::parse(&body.password),
        name = "name" => PersonName::parse(&body.name),
        phone = "phone" => optional(body.phone.as_deref(), Phone::parse),
    }
    caller.require_program_wide(Permission::edit(Section::Staff))?;
    let program_id = caller.program_id();
    stores::check_references(
        &mut *state.db.pool.acquire().await?,
        program_id,
        None,
        body.partner_id,
    )
    .await?;
    if let Some(brand_id) = body.brand_id
        && !stores::exists_in_program(&state.db.pool, "brands", program_id, brand_id).await?
    {
        return Err(ApiError::field(
            "brand_id",
            format!("there is no brand {brand_id} in this program"),
        ));
    }
    let fingerprint = (
        "createStaffUser",
        &body.login,
        &body.name,
        &body.phone,
        body.partner_id,
        body.brand_id,
    );
    idempotency::run(
        &state,
        &idempotency::owner_user(caller.id()),
        &key,
        &fingerprint,
        || async {
            let password_hash = hash_password(password.expose().to_string()).await?;
            let now = state.clock.now_ms();
            let mut tx = state.db.begin().await?;
            let new = NewPerson {
                kind: "staff",
                name: name.into_string(),
                phone,
                login: Some(login),
                password_hash: Some(password_hash),
                status: PersonStatus::Active,
                store_id: None,
                partner_id: body.partner_id,
                brand_id: body.brand_id,
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
            Reply::created(&person)
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Grant;

    #[test]
    fn cannot_grant_what_you_do_not_hold() {
        let access = Access {
            program_id: 1,
            grants: vec![Grant {
                role: "lead".into(),
                permissions: [
                    Permission::edit(Section::Roles),
                    Permission::view(Section::Stores),
                ]
                .into_iter()
                .collect(),
                scope: Scope::Region(4),
            }],
        };
        let region = Target {
            region_id: Some(4),
            ..Target::program(1)
        };
        assert!(may_grant(&access, &["stores.view".into()], &region).is_ok());
        assert!(may_grant(&access, &["stores.edit".into()], &region).is_err());
        assert!(may_grant(&access, &["stores.view".into()], &Target::program(1)).is_err());
    }
}

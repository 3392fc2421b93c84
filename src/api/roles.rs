//! The role constructor: permissions, roles built from them, and assignments with a
//! scope. Nobody can hand out more than they hold: assigning a role needs `roles.edit`
//! over the scope and every permission of the role over that scope.

use std::collections::BTreeSet;

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::{Permission, Scope, Section};
use crate::auth::{Caller, hash_password};
use crate::domain::{Login, NewPassword, PersonName, Phone, Text, optional};
use crate::error::{ApiResult, Problem};
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::org::people::Person;
use crate::org::roles::{self, Assignment, Role};
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

/// The program's roles with their permissions.
#[utoipa::path(operation_id = "listRoles", tag = "roles", security(("bearer" = [])), responses((status = 200, body = Vec<Role>), (status = 403, body = Problem, content_type = "application/problem+json")))]
#[get("/api/v1/roles")]
pub async fn list_roles(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(roles::list(&state.db, &caller).await?))
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
    idempotency::run(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &("createRole", &*body),
        || async {
            let role = roles::create(
                &state.db,
                &state.clock,
                &caller,
                &name,
                description.as_str(),
                &permissions,
            )
            .await?;
            Reply::created(&role)
        },
    )
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
    let role = roles::update(
        &state.db,
        &state.clock,
        &state.live,
        &caller,
        id.into_inner(),
        description.as_ref().map(|d| d.as_str()),
        permissions.as_ref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(role))
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
    roles::delete(
        &state.db,
        &state.clock,
        &state.live,
        &caller,
        id.into_inner(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
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
    Ok(HttpResponse::Ok().json(roles::of_user(&state.db, &caller, id.into_inner()).await?))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct AssignRequest {
    pub role_id: i64,
    /// `{"kind":"program","id":<program id>}`, or region, partner, brand, store.
    pub scope: Scope,
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
    let grant = roles::check_grant(
        &state.db,
        &caller,
        id.into_inner(),
        body.role_id,
        body.scope,
    )
    .await?;
    idempotency::run(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &("assignRole", grant.person.id, &*body),
        || async {
            Reply::created(
                &roles::assign_checked(&state.db, &state.clock, &state.live, &caller, &grant)
                    .await?,
            )
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
    roles::revoke(
        &state.db,
        &state.clock,
        &state.live,
        &caller,
        user_id,
        assignment_id,
    )
    .await?;
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
    roles::check_staff_references(&state.db, &caller, body.partner_id, body.brand_id).await?;
    let fingerprint = (
        "createStaffUser",
        &body.login,
        &body.name,
        &body.phone,
        body.partner_id,
        body.brand_id,
    );
    idempotency::run(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &fingerprint,
        || async {
            let password_hash = hash_password(password.expose().to_string()).await?;
            let staff = roles::NewStaff {
                login,
                password_hash,
                name,
                phone,
                partner_id: body.partner_id,
                brand_id: body.brand_id,
            };
            Reply::created(&roles::create_staff(&state.db, &state.clock, &caller, staff).await?)
        },
    )
    .await
}

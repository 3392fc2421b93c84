//! Loading and changing roles and assignments in the database.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::FromRow;

use super::{Access, BUILTIN_ROLES, Grant, Permission, Scope};
use crate::db::Tx;

/// Creates the built-in roles of a freshly created program.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn seed_builtin_roles(tx: &mut Tx, program_id: i64, now_ms: i64) -> sqlx::Result<()> {
    for role in BUILTIN_ROLES {
        let role_id: i64 = sqlx::query_scalar(
            "INSERT INTO roles (program_id, name, description, builtin, created_at)
             VALUES ($1, $2, $3, 1, $4) RETURNING id",
        )
        .bind(program_id)
        .bind(role.name)
        .bind(role.description)
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?;
        let permissions: BTreeSet<Permission> = role.permissions.iter().copied().collect();
        write_permissions(tx, role_id, &permissions).await?;
    }
    Ok(())
}

/// A role with one of its permissions (none for a role without any), as read.
#[derive(Debug, sqlx::FromRow)]
pub struct RolePermissionRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// 1 for the built-in roles.
    pub builtin: i64,
    pub permission: Option<String>,
}

/// The program's roles (or the one `only`) with their permissions, a row per
/// permission, by role id.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn roles<'e, E>(
    executor: E,
    program_id: i64,
    only: Option<i64>,
) -> sqlx::Result<Vec<RolePermissionRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(
        "SELECT r.id, r.name, r.description, r.builtin, p.permission FROM roles r
         LEFT JOIN role_permissions p ON p.role_id = r.id
         WHERE r.program_id = $1 AND ($2 = 0 OR r.id = $2) ORDER BY r.id, p.permission",
    )
    .bind(program_id)
    .bind(only.unwrap_or(0))
    .fetch_all(executor)
    .await
}

/// Creates a custom role; a name the program already uses is a unique violation.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn insert_role(
    tx: &mut Tx,
    program_id: i64,
    name: &str,
    description: &str,
    now_ms: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO roles (program_id, name, description, builtin, created_at)
         VALUES ($1, $2, $3, 0, $4) RETURNING id",
    )
    .bind(program_id)
    .bind(name)
    .bind(description)
    .bind(now_ms)
    .fetch_one(&mut **tx)
    .await
}

#[tracing::instrument(skip_all, fields(role_id = ?role_id))]
pub async fn set_role_description(
    tx: &mut Tx,
    role_id: i64,
    description: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE roles SET description = $1 WHERE id = $2")
        .bind(description)
        .bind(role_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Replaces a role's permissions.
#[tracing::instrument(skip_all, fields(role_id = ?role_id))]
pub async fn write_permissions(
    tx: &mut Tx,
    role_id: i64,
    permissions: &BTreeSet<Permission>,
) -> sqlx::Result<()> {
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

/// How many assignments use a role.
#[tracing::instrument(skip_all, fields(role_id = ?role_id))]
pub async fn holders(tx: &mut Tx, role_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM role_assignments WHERE role_id = $1")
        .bind(role_id)
        .fetch_one(&mut **tx)
        .await
}

/// Deletes a role nobody holds, with its permissions.
#[tracing::instrument(skip_all, fields(role_id = ?role_id))]
pub async fn delete_role(tx: &mut Tx, role_id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM role_permissions WHERE role_id = $1")
        .bind(role_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM roles WHERE id = $1")
        .bind(role_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// One of a user's assignments, with its role's name.
#[derive(Debug, sqlx::FromRow)]
pub struct AssignmentRow {
    pub id: i64,
    pub role_id: i64,
    pub role: String,
    pub scope_kind: String,
    pub scope_id: i64,
}

#[tracing::instrument(skip_all, fields(user_id = ?user_id))]
pub async fn assignments<'e, E>(executor: E, user_id: i64) -> sqlx::Result<Vec<AssignmentRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(
        "SELECT a.id, a.role_id, r.name AS role, a.scope_kind, a.scope_id
         FROM role_assignments a JOIN roles r ON r.id = a.role_id
         WHERE a.user_id = $1 ORDER BY a.id",
    )
    .bind(user_id)
    .fetch_all(executor)
    .await
}

#[tracing::instrument(skip_all, fields(id = ?id))]
pub async fn delete_assignment(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM role_assignments WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// The id of a role of the program by name.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn role_id<'e, E>(executor: E, program_id: i64, name: &str) -> sqlx::Result<i64>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_scalar("SELECT id FROM roles WHERE program_id = $1 AND name = $2")
        .bind(program_id)
        .bind(name)
        .fetch_one(executor)
        .await
}

/// Gives `user_id` the named role in `scope`; assigning twice is a no-op.
#[tracing::instrument(skip_all, fields(user_id = ?user_id, role_id = ?role_id))]
pub async fn assign(
    tx: &mut Tx,
    user_id: i64,
    role_id: i64,
    scope: Scope,
    now_ms: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO role_assignments (user_id, role_id, scope_kind, scope_id, created_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id, role_id, scope_kind, scope_id) DO NOTHING",
    )
    .bind(user_id)
    .bind(role_id)
    .bind(scope.kind())
    .bind(scope.id())
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Removes an assignment of a built-in role by name and scope (e.g. an owner who no
/// longer owns a store).
#[tracing::instrument(skip_all, fields(user_id = ?user_id, program_id = ?program_id))]
pub async fn unassign_named(
    tx: &mut Tx,
    user_id: i64,
    program_id: i64,
    role_name: &str,
    scope: Scope,
) -> sqlx::Result<()> {
    sqlx::query(
        "DELETE FROM role_assignments WHERE user_id = $1 AND scope_kind = $2 AND scope_id = $3
         AND role_id IN (SELECT id FROM roles WHERE program_id = $4 AND name = $5)",
    )
    .bind(user_id)
    .bind(scope.kind())
    .bind(scope.id())
    .bind(program_id)
    .bind(role_name)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One permission of one role assignment (a role without permissions gives one row
/// with none).
#[derive(FromRow)]
struct GrantRow {
    /// The assignment's id.
    id: i64,
    /// The role's name.
    name: String,
    scope_kind: String,
    scope_id: i64,
    permission: Option<String>,
}

/// Everything a user may do, assembled from its assignments.
#[tracing::instrument(skip_all, fields(user_id = ?user_id, program_id = ?program_id))]
pub async fn load_access<'e, E>(executor: E, user_id: i64, program_id: i64) -> sqlx::Result<Access>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows: Vec<GrantRow> = sqlx::query_as(
        "SELECT a.id, r.name, a.scope_kind, a.scope_id, p.permission
         FROM role_assignments a
         JOIN roles r ON r.id = a.role_id
         LEFT JOIN role_permissions p ON p.role_id = r.id
         WHERE a.user_id = $1
         ORDER BY a.id",
    )
    .bind(user_id)
    .fetch_all(executor)
    .await?;
    let mut grants: BTreeMap<i64, Grant> = BTreeMap::new();
    for row in rows {
        let GrantRow {
            id: assignment_id,
            name: role,
            scope_kind,
            scope_id,
            permission,
        } = row;
        let Ok(scope) = Scope::from_parts(&scope_kind, scope_id) else {
            tracing::warn!(
                assignment_id,
                scope_kind,
                "ignoring assignment with unknown scope"
            );
            continue;
        };
        let grant = grants.entry(assignment_id).or_insert_with(|| Grant {
            role,
            permissions: BTreeSet::new(),
            scope,
        });
        if let Some(permission) = permission.and_then(|p| p.parse::<Permission>().ok()) {
            grant.permissions.insert(permission);
        }
    }
    Ok(Access {
        program_id,
        grants: grants.into_values().collect(),
    })
}

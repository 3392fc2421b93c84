//! Loading and changing roles and assignments in the database.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Row;

use super::{Access, BUILTIN_ROLES, Grant, Permission, Scope};
use crate::db::Tx;

/// Creates the built-in roles of a freshly created program.
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
        for permission in role.permissions {
            sqlx::query("INSERT INTO role_permissions (role_id, permission) VALUES ($1, $2)")
                .bind(role_id)
                .bind(permission.to_string())
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// The id of a role of the program by name.
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

/// Everything a user may do, assembled from its assignments.
pub async fn load_access<'e, E>(executor: E, user_id: i64, program_id: i64) -> sqlx::Result<Access>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = sqlx::query(
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
        let assignment_id: i64 = row.try_get(0)?;
        let role: String = row.try_get(1)?;
        let scope_kind: String = row.try_get(2)?;
        let scope_id: i64 = row.try_get(3)?;
        let permission: Option<String> = row.try_get(4)?;
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

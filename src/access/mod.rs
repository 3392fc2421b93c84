//! Access control: a role constructor. Permissions are `section.view` / `section.edit`
//! (edit implies view); a role is a named set of permissions; a user holds roles through
//! assignments, each with a scope (the whole program, a region, a partner, a brand or a
//! store). Every endpoint asks [`Access::require`] with the permission it needs and the
//! coordinates of the object it touches; list endpoints ask [`Access::visibility`] for
//! the filter to apply. This module is pure: loading grants from the database lives in
//! `repo.rs`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub mod repo;
pub mod scoped;

/// The parts of the program a permission can be about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    Program,
    Regions,
    Partners,
    Brands,
    Stores,
    Participants,
    Staff,
    Roles,
    Registrations,
    Moderation,
    Campaigns,
    Products,
    Codes,
    Tasks,
    Points,
    Reports,
    Audit,
    Rewards,
    Content,
    Support,
}

impl Section {
    pub const ALL: [Section; 20] = [
        Section::Program,
        Section::Regions,
        Section::Partners,
        Section::Brands,
        Section::Stores,
        Section::Participants,
        Section::Staff,
        Section::Roles,
        Section::Registrations,
        Section::Moderation,
        Section::Campaigns,
        Section::Products,
        Section::Codes,
        Section::Tasks,
        Section::Points,
        Section::Reports,
        Section::Audit,
        Section::Rewards,
        Section::Content,
        Section::Support,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Section::Program => "program",
            Section::Regions => "regions",
            Section::Partners => "partners",
            Section::Brands => "brands",
            Section::Stores => "stores",
            Section::Participants => "participants",
            Section::Staff => "staff",
            Section::Roles => "roles",
            Section::Registrations => "registrations",
            Section::Moderation => "moderation",
            Section::Campaigns => "campaigns",
            Section::Products => "products",
            Section::Codes => "codes",
            Section::Tasks => "tasks",
            Section::Points => "points",
            Section::Reports => "reports",
            Section::Audit => "audit",
            Section::Rewards => "rewards",
            Section::Content => "content",
            Section::Support => "support",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Section::Program => "program settings: time zone, levels, owner share",
            Section::Regions => "regions of the program",
            Section::Partners => "partner companies",
            Section::Brands => "manufacturers (brands)",
            Section::Stores => "stores: create, edit, connect, disconnect, block, import",
            Section::Participants => "sellers and owners: profiles, status, invitations, import",
            Section::Staff => "staff accounts (managers, moderators, brand and partner users)",
            Section::Roles => "roles and their assignment",
            Section::Registrations => "approving or rejecting new participants",
            Section::Moderation => "the moderation queue",
            Section::Campaigns => "campaigns and their funds",
            Section::Products => "the product catalog",
            Section::Codes => "product code pools and issuance",
            Section::Tasks => "tasks and quests",
            Section::Points => "point balances, histories and manual adjustments",
            Section::Reports => "reports and statistics",
            Section::Audit => "the audit log",
            Section::Rewards => "the rewards showcase and orders",
            Section::Content => "news, the program's rules and the FAQ",
            Section::Support => "participants' support requests",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    View,
    Edit,
}

/// One permission: an action on a section. Written `stores.view`, `stores.edit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission {
    pub section: Section,
    pub action: Action,
}

impl Permission {
    pub const fn view(section: Section) -> Self {
        Self {
            section,
            action: Action::View,
        }
    }

    pub const fn edit(section: Section) -> Self {
        Self {
            section,
            action: Action::Edit,
        }
    }

    /// Every permission there is, in a stable order.
    pub fn all() -> impl Iterator<Item = Permission> {
        Section::ALL
            .into_iter()
            .flat_map(|s| [Permission::view(s), Permission::edit(s)])
    }

    /// Whether holding `self` grants `wanted` (edit implies view).
    pub fn grants(self, wanted: Permission) -> bool {
        self.section == wanted.section
            && (self.action == wanted.action || self.action == Action::Edit)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match self.action {
            Action::View => "view",
            Action::Edit => "edit",
        };
        write!(f, "{}.{}", self.section.as_str(), action)
    }
}

impl FromStr for Permission {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (section, action) = s.split_once('.').ok_or_else(|| {
            format!("{s:?} is not a permission; expected section.view or section.edit")
        })?;
        let section = Section::ALL
            .into_iter()
            .find(|candidate| candidate.as_str() == section)
            .ok_or_else(|| format!("unknown section {section:?}"))?;
        let action = match action {
            "view" => Action::View,
            "edit" => Action::Edit,
            other => return Err(format!("unknown action {other:?}; expected view or edit")),
        };
        Ok(Self { section, action })
    }
}

/// What part of a program a role assignment covers.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Scope {
    Program(i64),
    Region(i64),
    Partner(i64),
    Brand(i64),
    Store(i64),
}

impl Scope {
    pub fn kind(self) -> &'static str {
        match self {
            Scope::Program(_) => "program",
            Scope::Region(_) => "region",
            Scope::Partner(_) => "partner",
            Scope::Brand(_) => "brand",
            Scope::Store(_) => "store",
        }
    }

    pub fn id(self) -> i64 {
        match self {
            Scope::Program(id)
            | Scope::Region(id)
            | Scope::Partner(id)
            | Scope::Brand(id)
            | Scope::Store(id) => id,
        }
    }

    pub fn from_parts(kind: &str, id: i64) -> Result<Self, String> {
        Ok(match kind {
            "program" => Scope::Program(id),
            "region" => Scope::Region(id),
            "partner" => Scope::Partner(id),
            "brand" => Scope::Brand(id),
            "store" => Scope::Store(id),
            other => return Err(format!("unknown scope kind {other:?}")),
        })
    }

    /// Whether an object at `target` lies inside this scope.
    pub fn covers(self, target: &Target) -> bool {
        match self {
            Scope::Program(id) => target.program_id == id,
            Scope::Region(id) => target.region_id == Some(id),
            Scope::Partner(id) => target.partner_id == Some(id),
            Scope::Brand(id) => target.brand_id == Some(id),
            Scope::Store(id) => target.store_id == Some(id),
        }
    }
}

/// Where an object sits in its program: the coordinates scopes are matched against.
/// A participant's coordinates are its store's region and partner plus its own partner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    pub program_id: i64,
    pub region_id: Option<i64>,
    pub partner_id: Option<i64>,
    pub brand_id: Option<i64>,
    pub store_id: Option<i64>,
}

impl Target {
    pub fn program(program_id: i64) -> Self {
        Self {
            program_id,
            ..Self::default()
        }
    }

    /// An object of a program that may belong to a brand (a task, product, campaign).
    pub fn branded(program_id: i64, brand_id: Option<i64>) -> Self {
        Self {
            brand_id,
            ..Self::program(program_id)
        }
    }
}

/// One role assignment as seen by the access check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub role: String,
    pub permissions: BTreeSet<Permission>,
    pub scope: Scope,
}

/// What one caller may do: the grants of its active roles, all in its own program.
#[derive(Debug, Clone, Default)]
pub struct Access {
    pub program_id: i64,
    pub grants: Vec<Grant>,
}

/// The rows a caller may see of a list: everything in the program, or the union of
/// some regions, partners, brands and stores. Empty means nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Visibility {
    pub whole_program: bool,
    pub regions: BTreeSet<i64>,
    pub partners: BTreeSet<i64>,
    pub brands: BTreeSet<i64>,
    pub stores: BTreeSet<i64>,
}

impl Visibility {
    pub fn is_nothing(&self) -> bool {
        !self.whole_program
            && self.regions.is_empty()
            && self.partners.is_empty()
            && self.brands.is_empty()
            && self.stores.is_empty()
    }
}

impl Access {
    /// Whether `permissions` may be handed out over `target`: nobody hands out what
    /// they do not hold there themselves. Unknown permission names are left to the
    /// caller's validation.
    pub fn may_grant(&self, permissions: &[String], target: &Target) -> Result<(), String> {
        for permission in permissions {
            let Ok(permission) = permission.parse::<Permission>() else {
                continue;
            };
            if !self.allows(permission, target) {
                return Err(format!(
                    "you cannot hand out {permission}, which you do not hold over this scope"
                ));
            }
        }
        Ok(())
    }

    pub fn has_permission_anywhere(&self, wanted: Permission) -> bool {
        self.grants
            .iter()
            .any(|g| g.permissions.iter().any(|p| p.grants(wanted)))
    }

    /// Whether the caller may do `wanted` to an object at `target`.
    pub fn allows(&self, wanted: Permission, target: &Target) -> bool {
        target.program_id == self.program_id
            && self.grants.iter().any(|grant| {
                grant.permissions.iter().any(|p| p.grants(wanted)) && grant.scope.covers(target)
            })
    }

    /// The filter a list of `wanted`-protected objects must apply for this caller.
    pub fn visibility(&self, wanted: Permission) -> Visibility {
        let mut visibility = Visibility::default();
        for grant in &self.grants {
            if !grant.permissions.iter().any(|p| p.grants(wanted)) {
                continue;
            }
            match grant.scope {
                Scope::Program(id) if id == self.program_id => visibility.whole_program = true,
                Scope::Program(_) => {}
                Scope::Region(id) => {
                    visibility.regions.insert(id);
                }
                Scope::Partner(id) => {
                    visibility.partners.insert(id);
                }
                Scope::Brand(id) => {
                    visibility.brands.insert(id);
                }
                Scope::Store(id) => {
                    visibility.stores.insert(id);
                }
            }
        }
        visibility
    }

    pub fn role_names(&self) -> BTreeSet<&str> {
        self.grants.iter().map(|g| g.role.as_str()).collect()
    }
}

/// A role every program starts with. Admins may build more from permissions; these
/// cannot be edited, so every program keeps a known baseline.
pub struct BuiltinRole {
    pub name: &'static str,
    pub description: &'static str,
    pub permissions: &'static [Permission],
}

use Section as S;

pub const SELLER: &str = "seller";
pub const OWNER: &str = "owner";
pub const MANAGER: &str = "manager";
pub const PARTNER: &str = "partner";
pub const MANUFACTURER: &str = "manufacturer";
pub const MODERATOR: &str = "moderator";
pub const ADMIN: &str = "admin";

pub const BUILTIN_ROLES: &[BuiltinRole] = &[
    BuiltinRole {
        name: SELLER,
        description: "A seller in a store: sees and acts on their own account only",
        permissions: &[],
    },
    BuiltinRole {
        name: OWNER,
        description: "A store owner: sees their stores and the sellers in them",
        permissions: &[
            Permission::view(S::Stores),
            Permission::view(S::Participants),
            Permission::view(S::Points),
            Permission::view(S::Reports),
        ],
    },
    BuiltinRole {
        name: MANAGER,
        description: "A regional representative: connects stores and edits their people",
        permissions: &[
            Permission::edit(S::Stores),
            Permission::edit(S::Participants),
            Permission::edit(S::Registrations),
            Permission::view(S::Points),
            Permission::view(S::Reports),
            Permission::view(S::Regions),
        ],
    },
    BuiltinRole {
        name: PARTNER,
        description: "A partner company: sees its own participants, their sales and points",
        permissions: &[
            Permission::view(S::Stores),
            Permission::view(S::Participants),
            Permission::view(S::Points),
            Permission::view(S::Reports),
        ],
    },
    BuiltinRole {
        name: MANUFACTURER,
        description: "A brand: runs its campaigns, products and codes, sees its statistics",
        permissions: &[
            Permission::edit(S::Campaigns),
            Permission::edit(S::Products),
            Permission::edit(S::Codes),
            Permission::edit(S::Rewards),
            Permission::view(S::Reports),
        ],
    },
    BuiltinRole {
        name: MODERATOR,
        description: "Works the moderation queue and approves registrations",
        permissions: &[
            Permission::edit(S::Moderation),
            Permission::edit(S::Registrations),
            Permission::view(S::Participants),
            Permission::view(S::Stores),
            Permission::edit(S::Support),
        ],
    },
    BuiltinRole {
        name: ADMIN,
        description: "Runs the whole program",
        permissions: &ADMIN_PERMISSIONS,
    },
];

const ADMIN_PERMISSIONS: [Permission; 20] = {
    let mut all = [Permission::edit(S::Program); 20];
    let mut i = 0;
    while i < S::ALL.len() {
        all[i] = Permission::edit(S::ALL[i]);
        i += 1;
    }
    all
};

pub fn builtin_role(name: &str) -> Option<&'static BuiltinRole> {
    BUILTIN_ROLES.iter().find(|role| role.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(access.may_grant(&["stores.view".into()], &region).is_ok());
        assert!(access.may_grant(&["stores.edit".into()], &region).is_err());
        assert!(
            access
                .may_grant(&["stores.view".into()], &Target::program(1))
                .is_err()
        );
    }

    fn grant(role: &str, permissions: &[Permission], scope: Scope) -> Grant {
        Grant {
            role: role.into(),
            permissions: permissions.iter().copied().collect(),
            scope,
        }
    }

    fn store_target(store: i64, region: i64, partner: Option<i64>) -> Target {
        Target {
            program_id: 1,
            region_id: Some(region),
            partner_id: partner,
            brand_id: None,
            store_id: Some(store),
        }
    }

    #[test]
    fn permissions_round_trip_and_edit_implies_view() {
        for permission in Permission::all() {
            assert_eq!(permission.to_string().parse::<Permission>(), Ok(permission));
        }
        assert!(Permission::edit(S::Stores).grants(Permission::view(S::Stores)));
        assert!(!Permission::view(S::Stores).grants(Permission::edit(S::Stores)));
        assert!(!Permission::edit(S::Stores).grants(Permission::view(S::Roles)));
        assert!("stores.delete".parse::<Permission>().is_err());
        assert!("nothing.view".parse::<Permission>().is_err());
    }

    #[test]
    fn admin_has_every_permission() {
        let admin = builtin_role(ADMIN).map(|r| r.permissions.len());
        assert_eq!(admin, Some(Section::ALL.len()));
    }

    #[test]
    fn owner_sees_only_own_store() {
        let access = Access {
            program_id: 1,
            grants: vec![grant(
                OWNER,
                &[Permission::view(S::Stores)],
                Scope::Store(10),
            )],
        };
        assert!(access.allows(Permission::view(S::Stores), &store_target(10, 5, None)));
        assert!(!access.allows(Permission::view(S::Stores), &store_target(11, 5, None)));
        assert!(!access.allows(Permission::edit(S::Stores), &store_target(10, 5, None)));
    }

    #[test]
    fn manager_is_bounded_by_region_and_program() {
        let access = Access {
            program_id: 1,
            grants: vec![grant(
                MANAGER,
                &[Permission::edit(S::Stores)],
                Scope::Region(5),
            )],
        };
        assert!(access.allows(Permission::edit(S::Stores), &store_target(10, 5, None)));
        assert!(!access.allows(Permission::edit(S::Stores), &store_target(10, 6, None)));
        let mut other_program = store_target(10, 5, None);
        other_program.program_id = 2;
        assert!(!access.allows(Permission::edit(S::Stores), &other_program));
    }

    #[test]
    fn program_scope_of_another_program_grants_nothing() {
        let access = Access {
            program_id: 1,
            grants: vec![grant(ADMIN, &ADMIN_PERMISSIONS, Scope::Program(2))],
        };
        assert!(!access.allows(Permission::view(S::Stores), &store_target(1, 1, None)));
        assert!(access.visibility(Permission::view(S::Stores)).is_nothing());
    }

    #[test]
    fn visibility_is_the_union_of_matching_grants() {
        let access = Access {
            program_id: 1,
            grants: vec![
                grant(
                    PARTNER,
                    &[Permission::view(S::Participants)],
                    Scope::Partner(3),
                ),
                grant(OWNER, &[Permission::view(S::Participants)], Scope::Store(9)),
                grant("auditor", &[Permission::view(S::Audit)], Scope::Program(1)),
            ],
        };
        let visibility = access.visibility(Permission::view(S::Participants));
        assert!(!visibility.whole_program);
        assert_eq!(visibility.partners, BTreeSet::from([3]));
        assert_eq!(visibility.stores, BTreeSet::from([9]));
        assert!(access.visibility(Permission::view(S::Stores)).is_nothing());
        assert!(access.visibility(Permission::view(S::Audit)).whole_program);
    }

    #[test]
    fn seller_has_no_permissions() {
        let seller = builtin_role(SELLER).map(|r| r.permissions.len());
        assert_eq!(seller, Some(0));
    }
}

//! Who may do what, where — one check for every route of the centre. A principal is an
//! account (its role and its node's subtree, its department for a handler), an account's
//! API token (further limited to the token's scopes), or the hub's administrator (the
//! bootstrap token and the hub machine's command line: everything, everywhere). Routes ask
//! [`Principal::require`] for the action and filter what they return with
//! [`Principal::sees_grid`] / [`Principal::sees_node`]; a test matrix holds every route to
//! its row.

use crate::audit::Actor;
use crate::hub::{HubError, HubResult};
use crate::org::OrgTree;
use gridhub_store::{Account, Role};
use std::collections::HashSet;

/// What the centre's people do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    EventsRead,
    /// 受理/立案, 不予受理, 派遣, 上报上级, 核查, 结案, 退回.
    EventsHandle,
    /// A department handler's part: accept, feedback, return.
    DepartmentHandle,
    /// 督办: urge the responsible account.
    EventsUrge,
    TasksRead,
    TasksWrite,
    NoticesWrite,
    DevicesRead,
    /// Lock, wipe, reactivate.
    DevicesManage,
    CodesIssue,
    BundlesPublish,
    OrgRead,
    OrgWrite,
    AccountsRead,
    AccountsWrite,
    DepartmentsWrite,
    CatalogWrite,
    AuditRead,
}

impl Action {
    pub const ALL: [Action; 18] = [
        Action::EventsRead,
        Action::EventsHandle,
        Action::DepartmentHandle,
        Action::EventsUrge,
        Action::TasksRead,
        Action::TasksWrite,
        Action::NoticesWrite,
        Action::DevicesRead,
        Action::DevicesManage,
        Action::CodesIssue,
        Action::BundlesPublish,
        Action::OrgRead,
        Action::OrgWrite,
        Action::AccountsRead,
        Action::AccountsWrite,
        Action::DepartmentsWrite,
        Action::CatalogWrite,
        Action::AuditRead,
    ];

    /// The scope name an API token lists to allow it, e.g. `events.read`.
    pub fn scope(self) -> &'static str {
        match self {
            Action::EventsRead => "events.read",
            Action::EventsHandle => "events.handle",
            Action::DepartmentHandle => "events.department",
            Action::EventsUrge => "events.urge",
            Action::TasksRead => "tasks.read",
            Action::TasksWrite => "tasks.write",
            Action::NoticesWrite => "notices.write",
            Action::DevicesRead => "devices.read",
            Action::DevicesManage => "devices.manage",
            Action::CodesIssue => "codes.issue",
            Action::BundlesPublish => "bundles.publish",
            Action::OrgRead => "org.read",
            Action::OrgWrite => "org.write",
            Action::AccountsRead => "accounts.read",
            Action::AccountsWrite => "accounts.write",
            Action::DepartmentsWrite => "departments.write",
            Action::CatalogWrite => "catalog.write",
            Action::AuditRead => "audit.read",
        }
    }

    pub fn from_scope(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.scope() == s)
    }
}

/// The actions a role allows. The system administrator runs the system but neither handles
/// events nor reads the audit log; the auditor reads everything and changes nothing
/// (三员分立: system, security and audit duties apart).
pub fn role_allows(role: Role, action: Action) -> bool {
    use Action::*;
    match role {
        Role::Dispatcher => matches!(
            action,
            EventsRead
                | EventsHandle
                | EventsUrge
                | TasksRead
                | TasksWrite
                | NoticesWrite
                | DevicesRead
                | OrgRead
        ),
        Role::DepartmentHandler => {
            matches!(action, EventsRead | DepartmentHandle | TasksRead | OrgRead)
        }
        Role::Supervisor => matches!(
            action,
            EventsRead | EventsUrge | TasksRead | DevicesRead | OrgRead | AccountsRead
        ),
        Role::FleetManager => matches!(
            action,
            DevicesRead
                | DevicesManage
                | CodesIssue
                | BundlesPublish
                | OrgRead
                | AccountsRead
                | AccountsWrite
        ),
        Role::Auditor => matches!(
            action,
            EventsRead | TasksRead | DevicesRead | OrgRead | AccountsRead | AuditRead
        ),
        Role::SystemAdministrator => matches!(
            action,
            OrgRead
                | OrgWrite
                | AccountsRead
                | AccountsWrite
                | DepartmentsWrite
                | CatalogWrite
                | DevicesRead
        ),
        Role::FieldStaff => false,
    }
}

/// Where a principal sees and acts.
#[derive(Clone, Debug)]
pub enum Area {
    Everywhere,
    /// A node's subtree: its nodes and its grids.
    Subtree {
        nodes: HashSet<String>,
        grids: HashSet<String>,
    },
}

/// An authenticated person of the centre.
#[derive(Clone, Debug)]
pub struct Principal {
    pub actor: Actor,
    /// `None` for the hub's administrator.
    pub role: Option<Role>,
    pub area: Area,
    /// A department handler's department.
    pub department_id: Option<String>,
    /// An API token's scopes (a console session has all of its role's).
    pub scopes: Option<HashSet<Action>>,
}

impl Principal {
    /// The hub's administrator: the bootstrap token or the command line.
    pub fn administrator(actor: Actor) -> Principal {
        Principal {
            actor,
            role: None,
            area: Area::Everywhere,
            department_id: None,
            scopes: None,
        }
    }

    /// The hub machine's command line.
    pub fn cli() -> Principal {
        Principal::administrator(Actor::cli())
    }

    /// An account, with its area from the tree.
    pub fn of_account(
        a: &Account,
        tree: &OrgTree,
        address: &str,
        scopes: Option<HashSet<Action>>,
    ) -> Principal {
        let nodes = tree.subtree(&a.node_id);
        let grids = nodes
            .iter()
            .filter(|n| {
                tree.node(n)
                    .is_some_and(|n| n.level == gridpad_domain::codes::GridLevel::Grid)
            })
            .cloned()
            .collect();
        Principal {
            actor: Actor {
                id: a.id.clone(),
                name: a.username.clone(),
                role: a.role.as_str().into(),
                node_id: a.node_id.clone(),
                address: address.into(),
            },
            role: Some(a.role),
            area: Area::Subtree { nodes, grids },
            department_id: a.department_id.clone(),
            scopes,
        }
    }

    pub fn may(&self, action: Action) -> bool {
        let by_role = self.role.is_none_or(|r| role_allows(r, action));
        let by_token = self.scopes.as_ref().is_none_or(|s| s.contains(&action));
        by_role && by_token
    }

    /// Refuse unless the principal may take `action`.
    pub fn require(&self, action: Action) -> HubResult<()> {
        if self.may(action) {
            Ok(())
        } else {
            Err(HubError::Forbidden(format!(
                "{} may not {}",
                self.role.map_or("this token", |r| r.as_str()),
                action.scope()
            )))
        }
    }

    pub fn sees_grid(&self, grid: &str) -> bool {
        match &self.area {
            Area::Everywhere => true,
            Area::Subtree { grids, .. } => grids.contains(grid),
        }
    }

    pub fn sees_node(&self, node: &str) -> bool {
        match &self.area {
            Area::Everywhere => true,
            Area::Subtree { nodes, .. } => nodes.contains(node),
        }
    }

    /// A device is seen when one of its grids is.
    pub fn sees_any_grid(&self, grids: &[String]) -> bool {
        grids.iter().any(|g| self.sees_grid(g))
    }

    /// Refuse a target outside the area with "not found" (its existence is not shown).
    pub fn require_grid(&self, grid: Option<&str>, what: &str) -> HubResult<()> {
        if grid.is_some_and(|g| self.sees_grid(g)) {
            Ok(())
        } else {
            Err(HubError::NotFound(what.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duties_stay_apart() {
        assert!(!role_allows(Role::SystemAdministrator, Action::AuditRead));
        assert!(!role_allows(
            Role::SystemAdministrator,
            Action::EventsHandle
        ));
        assert!(role_allows(Role::Auditor, Action::AuditRead));
        for a in Action::ALL {
            assert!(!role_allows(Role::FieldStaff, a), "{a:?}");
            if role_allows(Role::Auditor, a) {
                assert!(a.scope().ends_with(".read"), "an auditor only reads: {a:?}");
            }
            assert_eq!(Action::from_scope(a.scope()), Some(a));
        }
    }
}

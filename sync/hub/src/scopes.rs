//! Which scope a record belongs to, and which scopes a device reads — from the entity's
//! specification ([`gridpad_domain::spec::ScopeRule`]), in one place.

use crate::org::OrgTree;
use gridhub_store::{DeviceRecord, Role, Scope};
use gridpad_domain::spec::{spec, ScopeRule};
use gridpad_proto::{Entity, Fields};
use serde_json::Value;
use std::collections::BTreeSet;

/// The scope of a record with these (merged) fields. `origin` is the device that made it,
/// for the records a device makes; `None` for the centre's own. `None` when the record
/// lacks what its rule needs (a grid-scoped record without a grid).
pub fn scope_of(
    entity: Entity,
    row_id: &str,
    fields: &Fields,
    origin: Option<&str>,
) -> Option<Scope> {
    let grid = || {
        fields
            .get("grid_id")
            .and_then(Value::as_str)
            .map(|g| Scope::Grid(g.to_string()))
    };
    match spec(entity).scope {
        ScopeRule::GridField => grid(),
        ScopeRule::GridNode => match fields.get("level").and_then(Value::as_str) {
            Some("grid") => Some(Scope::Grid(row_id.to_string())),
            // Devices keep the tree from the district down (their schema's levels).
            Some("city") => Some(Scope::Hub),
            _ => Some(Scope::Catalog),
        },
        ScopeRule::Catalog => Some(Scope::Catalog),
        // A notice's audience is its `area`: a node (and a role), or everyone.
        ScopeRule::Notices => Some(Scope::for_notice(
            fields
                .get("area")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        )),
        // A report the centre imports has no device: its grid's devices read it.
        ScopeRule::ReporterDevice => origin.map(|d| Scope::Device(d.to_string())).or_else(grid),
        ScopeRule::Uploader => origin.map(|d| Scope::Up(d.to_string())),
    }
}

/// Where a device's reports live: with the person it was enrolled for, so a replacement
/// device keeps following them; with the device itself otherwise.
pub fn reports_scope(d: &DeviceRecord) -> Scope {
    match &d.account_id {
        Some(a) => Scope::Account(a.clone()),
        None => Scope::Device(d.device_id.clone()),
    }
}

/// The role a device has for a notice's audience: that of the account it was enrolled
/// for — only field staff accounts are (`Hub::issue_code_for`); a device
/// enrolled for a named holder and a grid has none.
pub fn device_role(d: &DeviceRecord) -> Option<Role> {
    d.account_id.as_ref().map(|_| Role::FieldStaff)
}

/// The notices a device reads besides everyone's: those for each node from the top of
/// the tree down to each of its grids, and, with a role, those for that role there.
fn notice_scopes(d: &DeviceRecord, tree: &OrgTree) -> Vec<Scope> {
    let nodes: BTreeSet<String> = d
        .grids
        .iter()
        .flat_map(|g| {
            let mut p: Vec<String> = tree.path(g).into_iter().map(|n| n.id.clone()).collect();
            p.push(g.clone());
            p
        })
        .collect();
    let role = device_role(d);
    nodes
        .into_iter()
        .flat_map(|node| {
            let with_role = role.map(|r| Scope::NodeNotices {
                node: node.clone(),
                role: Some(r.as_str().to_string()),
            });
            std::iter::once(Scope::NodeNotices { node, role: None }).chain(with_role)
        })
        .collect()
}

/// The scopes a device reads, in the order their pages are sent: what other records refer
/// to first (the catalog and the tree, then the grids), the reports last. `tree` places
/// its grids for the notices addressed to a node above them.
pub fn scopes_of(d: &DeviceRecord, tree: &OrgTree) -> Vec<Scope> {
    let mut s = vec![Scope::Catalog, Scope::Notices];
    s.extend(notice_scopes(d, tree));
    s.extend(d.grids.iter().map(|g| Scope::Grid(g.clone())));
    s.push(reports_scope(d));
    s
}

/// Whether the device works in `grid`.
pub fn in_grids(d: &DeviceRecord, grid: Option<&str>) -> bool {
    grid.is_some_and(|g| d.grids.iter().any(|x| x == g))
}

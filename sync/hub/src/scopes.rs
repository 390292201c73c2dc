//! Which scope a record belongs to, and which scopes a device reads — from the entity's
//! specification ([`gridpad_domain::spec::ScopeRule`]), in one place.

use gridhub_store::{DeviceRecord, Scope};
use gridpad_domain::spec::{spec, ScopeRule};
use gridpad_proto::{Entity, Fields};
use serde_json::Value;

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
        ScopeRule::Notices => Some(Scope::Notices),
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

/// The scopes a device reads, in the order their pages are sent: what other records refer
/// to first (the catalog and the tree, then the grids), the reports last.
pub fn scopes_of(d: &DeviceRecord) -> Vec<Scope> {
    let mut s = vec![Scope::Catalog, Scope::Notices];
    s.extend(d.grids.iter().map(|g| Scope::Grid(g.clone())));
    s.push(reports_scope(d));
    s
}

/// Whether the device works in `grid`.
pub fn in_grids(d: &DeviceRecord, grid: Option<&str>) -> bool {
    grid.is_some_and(|g| d.grids.iter().any(|x| x == g))
}

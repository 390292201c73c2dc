//! The hub's state, read through its storage contract (`gridhub-store`) from its data
//! directory while it serves: every record with its per-field clocks, every scope's change
//! log position, the devices. A refusal must leave the records and logs as they were.

use gridhub::sqlite::SqliteStore;
use gridhub::store::{with_tx, Scope};
use gridpad_proto::Entity;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// `entity/row_id` → the stored row (scope, fields, field clocks, deleted).
    pub rows: BTreeMap<String, Value>,
    /// Scope → its last op id.
    pub logs: BTreeMap<String, u64>,
    /// Mutations the hub took (with their verdicts).
    pub mutations: u64,
    /// Device id → (status, grids, last sequence number).
    pub devices: BTreeMap<String, (String, Vec<String>, u64)>,
}

pub fn snapshot(dir: &Path) -> Snapshot {
    let store = SqliteStore::open(dir).expect("open the hub's database");
    with_tx(&store, |tx| {
        let mut rows = BTreeMap::new();
        let mut scopes: BTreeSet<Scope> = [Scope::Catalog, Scope::Notices].into();
        for e in Entity::ALL {
            for r in tx.rows(e, 10_000_000)? {
                scopes.insert(r.scope.clone());
                rows.insert(
                    format!("{e}/{}", r.row_id),
                    serde_json::to_value(&r).expect("row"),
                );
            }
        }
        let mut devices = BTreeMap::new();
        for d in tx.devices()? {
            scopes.insert(Scope::Device(d.device_id.clone()));
            scopes.insert(Scope::Up(d.device_id.clone()));
            for g in &d.grids {
                scopes.insert(Scope::Grid(g.clone()));
            }
            devices.insert(
                d.device_id.clone(),
                (d.status.as_str().to_string(), d.grids.clone(), d.last_seq),
            );
        }
        let mut logs = BTreeMap::new();
        for s in scopes {
            logs.insert(s.to_string(), tx.last_op(&s)?);
        }
        Ok(Snapshot {
            rows,
            logs,
            mutations: tx.mutation_count(None)?,
            devices,
        })
    })
    .expect("read the hub's state")
}

impl Snapshot {
    /// The records of one entity that are not deleted.
    pub fn live(&self, entity: Entity) -> Vec<(&str, &Value)> {
        let prefix = format!("{entity}/");
        self.rows
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?, v)))
            .filter(|(_, v)| v["deleted"] != Value::Bool(true))
            .collect()
    }

    pub fn row(&self, entity: Entity, id: &str) -> Option<&Value> {
        self.rows.get(&format!("{entity}/{id}"))
    }

    /// The fields of a record.
    pub fn fields(&self, entity: Entity, id: &str) -> Option<&Value> {
        self.row(entity, id).map(|r| &r["fields"])
    }

    /// Records and change logs are as they were in `before` (what a refusal must leave).
    pub fn assert_data_unchanged(&self, before: &Snapshot, what: &str) {
        let changed: Vec<&String> = before
            .rows
            .keys()
            .chain(self.rows.keys())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|k| before.rows.get(*k) != self.rows.get(*k))
            .take(5)
            .collect();
        assert!(
            changed.is_empty(),
            "{what}: records changed at the hub: {changed:?}"
        );
        let logs: Vec<(&String, u64, u64)> = self
            .logs
            .iter()
            .filter_map(|(s, n)| {
                let b = before.logs.get(s).copied().unwrap_or(0);
                (b != *n).then_some((s, b, *n))
            })
            .collect();
        assert!(
            logs.is_empty(),
            "{what}: change logs grew (scope, before, after): {logs:?}"
        );
    }
}

//! The honest device: the real device store (gridpad-core, SQLCipher) behind the crafted
//! client's transport. It syncs its grid completely after every hostile case, and every
//! page the hub sends must apply — a malformed row that reached it would stop it here.

use crate::state::Snapshot;
use crate::wire::{now_ms, Device, Http};
use gridpad_core::Store;
use gridpad_domain::spec::{spec, Flow, ScopeRule};
use gridpad_proto::wire::{EnrollResponse, SyncRequest, SyncResponse, PROTOCOL};
use gridpad_proto::Entity;
use std::collections::BTreeSet;

pub struct Honest {
    pub store: Store,
    pub dev: Device,
    _dir: tempfile::TempDir,
}

impl Honest {
    /// A device store enrolled with `code` (its grid noted as the app does).
    pub fn enrolled(http: &Http, code: &str) -> Honest {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut dev = Device::new(http);
        let mut store = gridpad_testkit::store::new_store_with(dir.path(), &dev.id, 1_000);
        let r: EnrollResponse = dev.enroll(code).cbor();
        dev.grids = r.grids.clone();
        dev.login();
        store.set_kv("grid_id", &r.grids[0]).expect("kv");
        Honest {
            store,
            dev,
            _dir: dir,
        }
    }

    /// Exchange until the hub has nothing more: every verdict and every page applied by
    /// the device store, no scope's checksum disagreeing, nothing dead-lettered. The ops
    /// pulled.
    pub fn sync_complete(&mut self) -> u64 {
        let mut pulled = 0;
        for _ in 0..500 {
            let before: BTreeSet<String> = self.scopes();
            let req = SyncRequest {
                protocol: PROTOCOL,
                app_version: "honest".into(),
                device_time_ms: now_ms(),
                push: self.store.pending_mutations(256 * 1024).expect("outbox"),
                cursors: self.store.cursors().expect("cursors"),
                max_bytes: 512 * 1024,
                health: self.store.sync_health(0, None).expect("health"),
                resume_from: None,
            };
            let a = self.dev.sync(&req);
            assert_eq!(a.status, 200, "the honest device's exchange: {}", a.text());
            let resp: SyncResponse = a.cbor();
            assert_eq!(resp.command, None, "the honest device is not locked");
            self.store.set_scopes(&resp.scopes).expect("scopes");
            let ack = self
                .store
                .apply_verdicts(resp.acked_through, &resp.verdicts)
                .expect("verdicts apply");
            assert_eq!(ack.rejected, 0, "the honest device's writes are taken");
            for page in &resp.pages {
                if !resp.scopes.contains(&page.scope) {
                    continue;
                }
                let s = self.store.apply_page(page).unwrap_or_else(|e| {
                    panic!(
                        "the honest device cannot apply a page of {} (ops {:?}): {e}",
                        page.scope,
                        page.ops
                            .iter()
                            .map(|o| &o.row_id)
                            .take(5)
                            .collect::<Vec<_>>()
                    )
                });
                assert!(!s.diverged, "scope {} diverged", page.scope);
                pulled += s.applied;
            }
            let new_scope = self.scopes() != before;
            let outbox = self.store.outbox_len().expect("outbox") > 0 && ack.acked > 0;
            if !resp.more && !new_scope && !outbox {
                assert!(
                    self.store.dead_letters().expect("dead letters").is_empty(),
                    "nothing of the honest device is refused"
                );
                return pulled;
            }
        }
        panic!("the honest device's sync did not settle");
    }

    fn scopes(&self) -> BTreeSet<String> {
        self.store
            .cursors()
            .expect("cursors")
            .into_iter()
            .map(|c| c.scope)
            .collect()
    }

    /// The device holds exactly the hub's live base data and tasks of its grids.
    pub fn assert_holds_grid(&self, hub: &Snapshot) {
        for e in Entity::ALL {
            let sp = spec(e);
            if sp.scope != ScopeRule::GridField
                || !matches!(sp.flow, Flow::BaseData | Flow::Central)
            {
                continue;
            }
            for g in &self.dev.grids {
                let scope = format!("grid:{g}");
                let at_hub: BTreeSet<String> = hub
                    .live(e)
                    .into_iter()
                    .filter(|(_, r)| r["scope"] == scope.as_str())
                    .map(|(id, _)| id.to_string())
                    .collect();
                let sql = format!("SELECT {} FROM {} WHERE grid_id = ?", sp.key, sp.table);
                let mut stmt = self.store.conn().prepare(&sql).expect("query");
                let on_device: BTreeSet<String> = stmt
                    .query_map([g], |r| r.get(0))
                    .expect("query")
                    .collect::<Result<_, _>>()
                    .expect("rows");
                assert_eq!(
                    on_device, at_hub,
                    "{e} of grid {g}: the device holds what the hub holds"
                );
            }
        }
    }
}

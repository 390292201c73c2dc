#![allow(dead_code)]
//! An in-process hub and devices for exchange tests and the simulation.

use gridhub::{Hub, HubError};
use gridpad_core::Store;
use gridpad_proto::wire::{SyncRequest, SyncResponse};
use gridpad_sync::{Transport, TransportError};
use ring::signature::KeyPair;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[allow(unused_imports)] // benches/wire.rs shares this module and opens no store by PIN
pub use gridpad_testkit::store::PIN;
pub const T0: u64 = 1_795_000_000_000; // 2026-11-18

pub struct TestHub {
    pub hub: Arc<Hub>,
    pub clock: Arc<AtomicU64>,
}

impl TestHub {
    /// A hub keeping its data in `dir` — or, with `GRIDHUB_TEST_BACKEND=postgres`, in a
    /// PostgreSQL database of its own (the same one again when `dir` is opened again, as
    /// after a restart).
    pub fn open(dir: &Path, clock: Arc<AtomicU64>) -> TestHub {
        let store = gridhub::storage::open(test_database(dir).as_deref(), dir).unwrap();
        let c = clock.clone();
        let hub = Hub::new(store, Arc::new(move || c.load(Ordering::SeqCst)));
        TestHub {
            hub: Arc::new(hub),
            clock,
        }
    }
}

/// The database the hub of `dir` uses: none (SQLite in `dir`) unless the hub's tests run on
/// PostgreSQL (`GRIDHUB_TEST_BACKEND=postgres`, tests/run-all.sh runs them both ways).
pub fn test_database(dir: &Path) -> Option<String> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static DATABASES: Mutex<Option<HashMap<std::path::PathBuf, String>>> = Mutex::new(None);
    if std::env::var("GRIDHUB_TEST_BACKEND").as_deref() != Ok("postgres") {
        return None;
    }
    let mut map = DATABASES.lock().unwrap();
    let map = map.get_or_insert_with(HashMap::new);
    Some(
        map.entry(dir.to_path_buf())
            .or_insert_with(gridpad_testkit::pg::fresh_database)
            .clone(),
    )
}

/// Calls the hub directly (same code path as HTTP, minus the wire).
pub struct Direct {
    pub hub: Arc<Hub>,
    pub device_id: String,
}

impl Transport for Direct {
    fn sync(&mut self, req: &SyncRequest) -> Result<SyncResponse, TransportError> {
        // Round-trip through the codec, as the wire would.
        let req: SyncRequest =
            gridpad_proto::wire::decode(&gridpad_proto::wire::encode(req)).unwrap();
        match self.hub.sync(&self.device_id, &req) {
            Ok(r) => Ok(gridpad_proto::wire::decode(&gridpad_proto::wire::encode(&r)).unwrap()),
            Err(HubError::SeqGap { expected, .. }) => Err(TransportError::Gap(expected)),
            Err(HubError::Store(e)) => Err(TransportError::Server(e.to_string())),
            Err(e) => Err(TransportError::Refused(e.to_string())),
        }
    }
}

/// A device store enrolled at `hub` for `grid` (id or code).
pub fn enrolled_device(hub: &Hub, dir: &Path, device_id: &str, grid: &str, now_ms: u64) -> Store {
    enrolled_device_in(hub, dir, device_id, &[grid.to_string()], now_ms)
}

/// A device store enrolled at `hub` for several grids.
pub fn enrolled_device_in(
    hub: &Hub,
    dir: &Path,
    device_id: &str,
    grids: &[String],
    now_ms: u64,
) -> Store {
    let code = hub
        .issue_code(
            &gridhub::authz::Principal::cli(),
            "网格员",
            device_id,
            grids,
            7,
        )
        .unwrap();
    enrolled_device_with_code(hub, dir, device_id, &code, now_ms)
}

/// A device store enrolled at `hub` with `code`.
pub fn enrolled_device_with_code(
    hub: &Hub,
    dir: &Path,
    device_id: &str,
    code: &str,
    now_ms: u64,
) -> Store {
    let mut store = gridpad_testkit::store::new_store_with(dir, device_id, 1_000);
    let t = chrono::DateTime::from_timestamp_millis(now_ms as i64).unwrap();
    store.set_clock(move || t);
    let key = store.device_keypair().unwrap();
    let code = code.to_string();
    let resp = hub
        .enroll(&gridpad_proto::wire::EnrollRequest {
            code,
            device_id: device_id.into(),
            public_key: key.public_key().as_ref().to_vec(),
            app_version: "test".into(),
            label: device_id.into(),
        })
        .unwrap();
    store.set_kv("grid_id", &resp.grids[0]).unwrap();
    store
}

/// Sync until there is nothing more (bounded).
pub fn sync_all(store: &mut Store, t: &mut dyn Transport) -> gridpad_sync::Report {
    let mut total = gridpad_sync::Report::default();
    for _ in 0..200 {
        let r = gridpad_sync::exchange(store, t, gridpad_sync::Limits::default()).unwrap();
        total.acked += r.acked;
        total.rejected += r.rejected;
        total.pulled_ops += r.pulled_ops;
        total.conflicts += r.conflicts;
        total.diverged_scopes += r.diverged_scopes;
        if !r.more {
            return total;
        }
    }
    panic!("sync did not settle");
}

//! Sync on the wire, measured in-process through the real codec (CBOR + zstd):
//!
//!   cargo bench -p gridhub --bench wire
//!
//! - cold pull of ~20,000 base records: exchanges per 1,000 records, bytes per record;
//! - push of 10,000 reports: exchanges per 500 mutations, bytes per mutation, hub apply rate;
//! - a no-op sync: exchanges and bytes.
//!
//! Bytes are request + response bodies as encoded for HTTP, plus 250 bytes per exchange
//! for HTTP/1.1 request and response headers.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use gridpad_core::demo::DemoSpec;
use gridpad_core::NewReport;
use gridpad_proto::wire::{self, SyncRequest, SyncResponse};
use gridpad_sync::{Limits, Transport, TransportError};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

const HEADERS: u64 = 250;

struct Metered {
    inner: Direct,
    exchanges: u64,
    bytes_up: u64,
    bytes_down: u64,
    hub_time: Duration,
}

impl Transport for Metered {
    fn sync(&mut self, req: &SyncRequest) -> Result<SyncResponse, TransportError> {
        let up = wire::encode(req);
        self.bytes_up += up.len() as u64 + HEADERS / 2;
        let t = Instant::now();
        let resp = self
            .inner
            .hub
            .sync(&self.inner.device_id, &wire::decode(&up).unwrap())
            .map_err(|e| TransportError::Refused(e.to_string()))?;
        self.hub_time += t.elapsed();
        let down = wire::encode(&resp);
        self.bytes_down += down.len() as u64 + HEADERS / 2;
        self.exchanges += 1;
        Ok(wire::decode(&down).unwrap())
    }
}

impl Metered {
    fn reset(&mut self) {
        self.exchanges = 0;
        self.bytes_up = 0;
        self.bytes_down = 0;
        self.hub_time = Duration::ZERO;
    }
}

fn main() {
    let persons: usize = std::env::var("GRIDPAD_BENCH_PERSONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(14_600);
    let dir = tempfile::tempdir().unwrap();
    let th = TestHub::open(dir.path(), Arc::new(AtomicU64::new(T0)));
    let s = th
        .hub
        .seed_demo(
            &gridhub::authz::Principal::cli(),
            DemoSpec { persons, seed: 9 },
        )
        .unwrap();
    let dev_dir = tempfile::tempdir().unwrap();
    // One device works the whole street: all its grids (~20,000 base records).
    let grids: Vec<String> = gridhub::store::with_tx(th.hub.store(), |tx| {
        tx.rows(gridpad_proto::Entity::Grid, 10_000)
    })
    .unwrap()
    .into_iter()
    .filter(|g| g.fields.get("level").and_then(|l| l.as_str()) == Some("grid"))
    .map(|g| g.row_id)
    .collect();
    let mut dev = enrolled_device_in(
        &th.hub,
        dev_dir.path(),
        "0190a4b2-7c3d-7e00-8000-00000000be01",
        &grids,
        T0,
    );
    let _ = &s;
    let mut m = Metered {
        inner: Direct {
            hub: th.hub.clone(),
            device_id: "0190a4b2-7c3d-7e00-8000-00000000be01".into(),
        },
        exchanges: 0,
        bytes_up: 0,
        bytes_down: 0,
        hub_time: Duration::ZERO,
    };
    let limits = Limits::default();
    let t = Instant::now();
    let mut records = 0;
    loop {
        let r = gridpad_sync::exchange(&mut dev, &mut m, limits).unwrap();
        records += r.pulled_ops;
        if !r.more {
            break;
        }
    }
    let pull_s = t.elapsed().as_secs_f64();
    let c = dev.counts().unwrap();
    let base = c.persons + c.houses + c.buildings + c.organisations + c.facilities;
    println!(
        "cold pull: {records} ops ({base} base records in the home grid's scope + catalog), {} exchanges = {:.2} per 1,000 records, {} bytes = {:.1} B/record, {:.1} s ({:.0} records/s applied on the device)",
        m.exchanges,
        m.exchanges as f64 * 1000.0 / records as f64,
        m.bytes_up + m.bytes_down,
        (m.bytes_up + m.bytes_down) as f64 / records as f64,
        pull_s,
        records as f64 / pull_s
    );
    let pull = (m.exchanges, m.bytes_up + m.bytes_down, records);

    m.reset();
    for i in 0..10_000 {
        dev.report_event(NewReport {
            category_code: "0401".into(),
            description: format!("楼道乱堆乱放，影响通行 #{i}"),
            address_text: "幸福社区城河路18号3栋".into(),
            reporter: "网格员".into(),
            ..Default::default()
        })
        .unwrap();
    }
    let t = Instant::now();
    loop {
        let r = gridpad_sync::exchange(&mut dev, &mut m, limits).unwrap();
        if !r.more && dev.outbox_len().unwrap() == 0 {
            break;
        }
    }
    let push_s = t.elapsed().as_secs_f64();
    println!(
        "push of 10,000 reports: {} exchanges = {:.2} per 500 mutations, {:.0} B/mutation up, hub applied {:.0} mutations/s (hub time {:.2} s), {:.1} s in all",
        m.exchanges,
        m.exchanges as f64 * 500.0 / 10_000.0,
        m.bytes_up as f64 / 10_000.0,
        10_000.0 / m.hub_time.as_secs_f64(),
        m.hub_time.as_secs_f64(),
        push_s
    );
    let push = (m.exchanges, m.bytes_up);

    m.reset();
    let r = gridpad_sync::exchange(&mut dev, &mut m, limits).unwrap();
    assert!(!r.more);
    println!(
        "no-op sync: {} exchange, {} bytes up, {} bytes down",
        m.exchanges, m.bytes_up, m.bytes_down
    );
    println!(
        "{}",
        serde_json::json!({
            "pull_exchanges": pull.0, "pull_bytes": pull.1, "pull_records": pull.2,
            "pull_exchanges_per_1000": pull.0 as f64 * 1000.0 / pull.2 as f64,
            "pull_bytes_per_record": pull.1 as f64 / pull.2 as f64,
            "push_exchanges": push.0, "push_exchanges_per_500": push.0 as f64 / 20.0, "push_bytes_per_mutation": push.1 as f64 / 10_000.0,
            "noop_exchanges": m.exchanges, "noop_bytes": m.bytes_up + m.bytes_down,
        })
    );
}

//! The first download of a street's grids over a link that keeps dropping: `gridhub serve` on
//! loopback behind a proxy that cuts the connection every 30–120 KB (either direction,
//! drawn from a seed), and the `gridpad` binary on a real encrypted store doing its cold
//! pull through it. The pull completes, with every record the hub holds for the grids and
//! none applied twice: the device's records and its scopes' checksums and counts are those
//! of a device that pulled the same grids over a clean link.
//!
//! Figures (requests, bytes and seconds of the cold pull through the cutting link):
//!   cargo build -p gridhub -p gridpad
//!   cargo test -p gridpad-e2e --test cut_link -- --nocapture
//! and the same link with the build before adaptive pages (20 runs):
//!   GRIDPAD_BIN=<old gridpad> GRIDPAD_CUT_LINK_RUNS=20 cargo test -p gridpad-e2e --test cut_link -- --nocapture

use gridpad_core::Store;
use gridpad_testkit::process::*;
use gridpad_testkit::proxy::CuttingProxy;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Residents of the demo town: four grids of 500 households, which the device works in.
const PERSONS: usize = 6_000;
/// The street of the demo town's residents.
const STREET: &str = "330211001";
/// `gridpad sync --once` runs allowed for the cold pull (`GRIDPAD_CUT_LINK_RUNS` for more,
/// e.g. to see how far an older build gets with `GRIDPAD_BIN`).
fn runs_allowed() -> usize {
    std::env::var("GRIDPAD_CUT_LINK_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}
/// The tables a grid's pull fills.
const TABLES: &[&str] = &[
    "grid",
    "address",
    "building",
    "house",
    "person",
    "organisation",
    "facility",
    "catalog_category",
    "notice",
];

/// Every row of `table` as text, sorted (without `rid`, the row number the search index
/// uses: an order of arrival, not a record's content).
fn rows(store: &Store, table: &str) -> Vec<String> {
    let conn = store.conn();
    let cols: Vec<String> = conn
        .prepare(&format!(
            "SELECT name FROM pragma_table_info('{table}') WHERE name != 'rid'"
        ))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let row = cols
        .iter()
        .map(|c| format!("quote(\"{c}\")"))
        .collect::<Vec<_>>()
        .join(" || '|' || ");
    conn.prepare(&format!("SELECT {row} FROM {table} ORDER BY 1"))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Each scope's cursor, running checksum and count of applied ops.
fn cursors(store: &Store) -> Vec<(String, i64, i64, i64)> {
    store
        .conn()
        .prepare(
            "SELECT scope, after_op, checksum, count FROM scope_cursor \
             WHERE scope NOT LIKE 'device:%' ORDER BY scope",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// A one-time code for `user` working in every grid of the demo town's street.
fn code_for_the_street(hub_dir: &Path, user: &str) -> String {
    let org = run_json(gridhub_admin(hub_dir).args(["org", "list", "--json"]));
    let mut cmd = gridhub_admin(hub_dir);
    cmd.args(["issue-code", "--user", user, "--json"]);
    for node in org.as_array().unwrap() {
        let code = node["code"].as_str().unwrap();
        if node["level"] == "grid" && code.starts_with(STREET) {
            cmd.args(["--grid", code]);
        }
    }
    run_json(&mut cmd)["code"].as_str().unwrap().to_string()
}

fn open(dir: &Path) -> Store {
    Store::open(dir, DEVICE_PIN).unwrap()
}

/// Changes received, as the exchanges of a run printed them ("synced: … N changes received").
fn received(stderr: &str) -> u64 {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("synced: "))
        .filter_map(|l| {
            let (before, _) = l.split_once(" changes received")?;
            before.rsplit(' ').next()?.parse::<u64>().ok()
        })
        .sum()
}

#[test]
fn a_cold_pull_completes_through_a_link_cut_every_30_to_120_kb_with_every_record_once() {
    let tmp = tempfile::tempdir().unwrap();
    let hub_dir = tmp.path().join("hub");
    seed_demo(&hub_dir, PERSONS);
    let code = code_for_the_street(&hub_dir, "王网格员");
    let clean_code = code_for_the_street(&hub_dir, "李网格员");
    let hub = HubProcess::start(&hub_dir);

    // The device enrolls while the link holds, then the cold pull meets the cuts.
    let dev = tmp.path().join("device");
    let proxy = CuttingProxy::start(([127, 0, 0, 1], hub.port()).into());
    init_and_enroll(&dev, &proxy.url(), &code);
    proxy.cut_link_every(30_000, 120_000, 20);
    let (up0, down0, conns0) = (
        proxy.up.load(Ordering::SeqCst),
        proxy.down.load(Ordering::SeqCst),
        proxy.connections.load(Ordering::SeqCst),
    );
    let started = Instant::now();
    let (mut done, mut runs, mut exchanges, mut failed, mut pulled) = (false, 0, 0, 0, 0);
    for _ in 0..runs_allowed() {
        runs += 1;
        let out = gridpad(&dev).args(["sync", "--once"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        exchanges += stderr.lines().filter(|l| l.starts_with("synced: ")).count();
        failed += stderr
            .lines()
            .filter(|l| l.starts_with("sync failed"))
            .count();
        pulled += received(&stderr);
        if out.status.success() {
            done = true;
            break;
        }
        eprintln!("run {runs} failed: {}", stderr.lines().last().unwrap_or(""));
    }
    let seconds = started.elapsed().as_secs_f64();
    let cuts = proxy.cuts.load(Ordering::SeqCst);
    eprintln!(
        "cold pull through a link cut every 30–120 KB: {} in {runs} run(s), {seconds:.1} s; \
         {exchanges} exchanges completed, {failed} cut or failed; {cuts} cuts; \
         {} connections; {} KB down, {} KB up; {pulled} changes applied",
        if done { "complete" } else { "NOT complete" },
        proxy.connections.load(Ordering::SeqCst) - conns0,
        (proxy.down.load(Ordering::SeqCst) - down0) / 1024,
        (proxy.up.load(Ordering::SeqCst) - up0) / 1024,
    );
    assert!(
        done,
        "the cold pull never completed through the cutting link"
    );
    assert!(cuts > 0, "the link was cut");
    proxy.stop_cutting_link();

    // The same grids pulled over a clean link by another device.
    let clean = tmp.path().join("clean");
    init_and_enroll(&clean, &hub.url, &clean_code);
    let reference = run_json(gridpad(&clean).args(["sync", "--once", "--json"]));

    let (cut, clean) = (open(&dev), open(&clean));
    assert_eq!(
        cursors(&cut),
        cursors(&clean),
        "every scope pulled to its end, checksums and counts equal (nothing twice, nothing missing)"
    );
    for table in TABLES {
        let (a, b) = (rows(&cut, table), rows(&clean, table));
        assert_eq!(a.len(), b.len(), "{table}: as many rows as a clean pull");
        assert!(a == b, "{table}: the same rows as a clean pull");
    }
    assert!(
        rows(&cut, "person").len() >= PERSONS,
        "the street's residents"
    );
    assert_eq!(
        pulled,
        reference["pulled_ops"].as_u64().unwrap(),
        "every change applied once: as many as the clean pull applied"
    );
    assert_eq!(
        cut.conn()
            .query_row("SELECT count(*) FROM quarantined_op", [], |r| r
                .get::<_, i64>(0))
            .unwrap(),
        0,
        "nothing set aside"
    );
}

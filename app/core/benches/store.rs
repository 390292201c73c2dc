//! Store benchmark on a generated town of 100,000 residents.
//!
//!   cargo bench -p gridpad-core --bench store            # 100,000 residents
//!   GRIDPAD_BENCH_PERSONS=20000 cargo bench -p gridpad-core --bench store
//!
//! Reports:
//! - search latency (p50 / p95 / max) for realistic 1-, 2- and 3-character name queries,
//!   and for ID-number tails (4 and 6 digits) — goal p95 ≤ 10 ms;
//! - the write rate of reports through the store (event row + status history + outbox row,
//!   sequence and clock, one transaction per report, synchronous=FULL) as a ratio to bare
//!   rusqlite inserts of the same event rows, one transaction each, into the same kind of
//!   encrypted database in the same run — goal ≥ 50 %;
//! - the demo load rate (rows/s applied through the sync-apply path).

use gridpad_core::demo::{self, DemoSpec};
use gridpad_core::{db, keyring, InitOptions, NewReport, Store};
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};

const PIN: &str = "246810";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn time_queries(store: &Store, label: &str, queries: &[String]) -> serde_json::Value {
    // Warm the page cache as a running app would have it.
    for q in queries.iter().take(20) {
        store.search_people(q, 20, None).unwrap();
    }
    let mut times = Vec::with_capacity(queries.len());
    let mut hits = 0usize;
    for q in queries {
        let t = Instant::now();
        let page = store.search_people(q, 20, None).unwrap();
        times.push(t.elapsed());
        hits += page.hits.len();
    }
    times.sort();
    let (p50, p95, max) = (
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        *times.last().unwrap(),
    );
    println!(
        "search {label:<22} n={:<5} p50 {:>6.2} ms  p95 {:>6.2} ms  max {:>6.2} ms  (avg {:.1} hits/page)",
        queries.len(),
        ms(p50),
        ms(p95),
        ms(max),
        hits as f64 / queries.len() as f64
    );
    serde_json::json!({"label": label, "n": queries.len(), "p50_ms": ms(p50), "p95_ms": ms(p95), "max_ms": ms(max)})
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let persons: usize = std::env::var("GRIDPAD_BENCH_PERSONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::init(
        dir.path(),
        PIN,
        InitOptions {
            device_id: Some("bench-device".into()),
            kdf_iterations: 1_000,
        },
    )
    .unwrap();
    let t = Instant::now();
    let summary = demo::load(
        &mut store,
        DemoSpec {
            persons,
            seed: 2026,
        },
    )
    .unwrap();
    let load_s = t.elapsed().as_secs_f64();
    let base_rows = summary.persons
        + summary.houses
        + summary.buildings
        + summary.addresses
        + summary.organisations
        + summary.facilities;
    println!(
        "town: {} residents, {} houses, {} grids; loaded {} rows in {:.1} s ({:.0} rows/s incl. search index)",
        summary.persons, summary.houses, summary.grids, base_rows, load_s, base_rows as f64 / load_s
    );

    // Realistic queries drawn from the data itself.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let names: Vec<String> = store
        .conn()
        .prepare("SELECT name FROM person")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let ids: Vec<String> = store
        .conn()
        .prepare("SELECT id_number FROM person WHERE id_number IS NOT NULL")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let n = 1_000;
    let chars = |s: &str| s.chars().collect::<Vec<_>>();
    let one: Vec<String> = (0..n)
        .map(|_| {
            let c = chars(names.choose(&mut rng).unwrap());
            c[rng.random_range(0..c.len())].to_string()
        })
        .collect();
    let two: Vec<String> = (0..n)
        .map(|_| loop {
            let c = chars(names.choose(&mut rng).unwrap());
            if c.len() >= 2 {
                let i = rng.random_range(0..c.len() - 1);
                break c[i..i + 2].iter().collect();
            }
        })
        .collect();
    let three: Vec<String> = (0..n)
        .map(|_| loop {
            let c = chars(names.choose(&mut rng).unwrap());
            if c.len() >= 3 {
                break c[..3].iter().collect();
            }
        })
        .collect();
    let tail4: Vec<String> = (0..n)
        .map(|_| ids.choose(&mut rng).unwrap()[14..].to_string())
        .collect();
    let tail6: Vec<String> = (0..n)
        .map(|_| ids.choose(&mut rng).unwrap()[12..].to_string())
        .collect();
    let results = vec![
        time_queries(&store, "1-char name", &one),
        time_queries(&store, "2-char name", &two),
        time_queries(&store, "3-char name", &three),
        time_queries(&store, "ID tail (4 digits)", &tail4),
        time_queries(&store, "ID tail (6 digits)", &tail6),
    ];

    // Write rate: store vs bare rusqlite, same rows, same run.
    let reports = 1_000;
    let t = Instant::now();
    for i in 0..reports {
        store
            .report_event(NewReport {
                category_code: "0401".into(),
                description: format!("基准测试上报 {i}：楼道乱堆乱放，影响通行"),
                address_text: "幸福社区城河路18号3栋".into(),
                reporter: "网格员".into(),
                ..Default::default()
            })
            .unwrap();
    }
    let store_s = t.elapsed().as_secs_f64();
    let rows: Vec<Vec<rusqlite::types::Value>> = {
        let mut stmt = store
            .conn()
            .prepare("SELECT * FROM event ORDER BY device_time DESC LIMIT ?")
            .unwrap();
        let ncol = stmt.column_count();
        stmt.query_map([reports], |r| {
            (0..ncol)
                .map(|i| r.get::<_, rusqlite::types::Value>(i))
                .collect()
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
    };
    let bare_dir = tempfile::tempdir().unwrap();
    let key = keyring::create_with_iterations(bare_dir.path(), PIN, "bare", 1_000).unwrap();
    let mut bare = db::open(&bare_dir.path().join(db::DB_FILE), &key).unwrap();
    db::migrate(&mut bare).unwrap();
    bare.execute_batch(
        "PRAGMA foreign_keys = OFF; INSERT INTO catalog_category (code, level, name) VALUES ('04', 1, 'x'), ('0401', 2, 'y');",
    )
    .unwrap();
    let ncol = rows[0].len();
    let sql = format!("INSERT INTO event VALUES ({})", vec!["?"; ncol].join(", "));
    let t = Instant::now();
    for row in &rows {
        let tx = bare.transaction().unwrap();
        tx.prepare_cached(&sql)
            .unwrap()
            .execute(rusqlite::params_from_iter(row.iter()))
            .unwrap();
        tx.commit().unwrap();
    }
    let bare_s = t.elapsed().as_secs_f64();
    let store_rate = reports as f64 / store_s;
    let bare_rate = reports as f64 / bare_s;
    println!(
        "write  reports with outbox: {store_rate:.0}/s; bare rusqlite insert of the same rows: {bare_rate:.0}/s; ratio {:.0} %",
        store_rate / bare_rate * 100.0
    );
    println!(
        "{}",
        serde_json::json!({
            "persons": summary.persons, "load_rows_per_s": base_rows as f64 / load_s,
            "search": results, "write_store_per_s": store_rate, "write_bare_per_s": bare_rate,
            "write_ratio": store_rate / bare_rate,
        })
    );
}

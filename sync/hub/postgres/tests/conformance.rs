//! The storage contract (`gridhub_store::conformance`) on PostgreSQL — a throw-away cluster
//! the test starts (gridpad-testkit) — and this backend's own promises.

use gridhub_postgres::PgStore;
use gridhub_store::{conformance, with_tx, HubStore};
use gridpad_testkit::pg::fresh_database;

#[test]
fn postgres_keeps_the_storage_contract() {
    conformance::run(&|| {
        Box::new(PgStore::connect(&fresh_database()).unwrap()) as Box<dyn HubStore>
    });
}

/// 64 writers to one scope and 16 polling readers. `GRIDHUB_PG_OPS` sets the number of
/// ops (the documented run: 100000); the test suite's default is small.
#[test]
fn many_writers_to_one_scope_are_read_without_a_skip_or_a_duplicate() {
    let ops: usize = std::env::var("GRIDHUB_PG_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_280);
    let knob = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (writers, readers) = (
        knob("GRIDHUB_PG_WRITERS", 64),
        knob("GRIDHUB_PG_READERS", 16),
    );
    let store = PgStore::connect_with(&fresh_database(), (writers + readers + 4) as u32).unwrap();
    let started = std::time::Instant::now();
    conformance::concurrent_appends_are_never_skipped(
        &store,
        writers,
        readers,
        ops.div_ceil(writers),
        10,
    );
    eprintln!(
        "{} ops by {writers} writers, read by {readers} pollers: {:.1} s",
        ops.div_ceil(writers) * writers,
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn instances_starting_together_migrate_once_and_a_newer_schema_is_refused() {
    let url = fresh_database();
    let opened: Vec<_> = std::thread::scope(|t| {
        let hs: Vec<_> = (0..4)
            .map(|_| t.spawn(|| PgStore::connect_with(&url, 2)))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(opened.iter().all(|r| r.is_ok()), "every instance opens");
    let s = opened.into_iter().next().unwrap().unwrap();
    with_tx(&s, |tx| {
        assert_eq!(tx.devices()?.len(), 0);
        Ok(())
    })
    .unwrap();
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.execute("INSERT INTO gridhub_schema (version) VALUES (99)", &[])
        .unwrap();
    let err = PgStore::connect(&url).err().expect("refused").to_string();
    assert!(err.contains("newer"), "{err}");
}

//! Several gridhub instances on one database (issue: city scale): the hybrid clock's mark
//! survives a restart and is shared, and a periodic job's lease has one holder. On SQLite and,
//! with `GRIDHUB_TEST_BACKEND=postgres`, on PostgreSQL.

mod common;

use common::{test_database, T0};
use gridhub::authz::Principal;
use gridhub::Hub;
use gridpad_proto::{Entity, Hlc};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn hub(dir: &std::path::Path, node: &str, clock: &Arc<AtomicU64>) -> Hub {
    let store = gridhub::storage::open(test_database(dir).as_deref(), dir).unwrap();
    let c = clock.clone();
    Hub::new_as(store, Arc::new(move || c.load(Ordering::SeqCst)), node)
}

fn notice_hlc(h: &Hub, title: &str) -> Hlc {
    let id = h.create_notice(&Principal::cli(), title, "正文").unwrap();
    let row = h.row(Entity::Notice, &id).unwrap().unwrap();
    row.field_hlc["title"].clone()
}

#[test]
fn a_hub_restarted_with_its_clock_set_back_stamps_later_than_before() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let clock = Arc::new(AtomicU64::new(T0 + 3_600_000));
        let h = hub(dir.path(), "hub", &clock);
        h.resume_clock().unwrap();
        let hlc = notice_hlc(&h, "通知一");
        h.persist_clock().unwrap();
        hlc
    };
    // Restarted, with the machine's clock an hour behind.
    let clock = Arc::new(AtomicU64::new(T0));
    let h = hub(dir.path(), "hub", &clock);
    h.resume_clock().unwrap();
    let after = notice_hlc(&h, "通知二");
    assert!(
        after > before,
        "the later notice is stamped later: {after} after {before}"
    );
}

#[test]
fn an_instance_behind_the_others_catches_up_and_never_repeats_a_stamp() {
    let dir = tempfile::tempdir().unwrap();
    let ahead = Arc::new(AtomicU64::new(T0 + 600_000));
    let behind = Arc::new(AtomicU64::new(T0));
    let a = hub(dir.path(), "hub-a", &ahead);
    let b = hub(dir.path(), "hub-b", &behind);
    a.resume_clock().unwrap();
    b.resume_clock().unwrap();
    let first = notice_hlc(&a, "甲");
    a.persist_clock().unwrap();
    b.persist_clock().unwrap(); // the serving loop's turn
    let second = notice_hlc(&b, "乙");
    assert!(second > first, "{second} after {first}");
    assert_eq!(second.node, "hub-b");
}

#[test]
fn one_instance_holds_a_job_lease_until_it_runs_out() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicU64::new(T0));
    let a = hub(dir.path(), "hub-a", &clock);
    let b = hub(dir.path(), "hub-b", &clock);
    let hour = Duration::from_secs(3000);
    assert!(a.take_lease("photo-sweep", hour).unwrap());
    assert!(!b.take_lease("photo-sweep", hour).unwrap(), "a holds it");
    assert!(a.take_lease("photo-sweep", hour).unwrap(), "a renews");
    // a dies; its lease runs out.
    clock.fetch_add(3_000_001, Ordering::SeqCst);
    assert!(b.take_lease("photo-sweep", hour).unwrap(), "b takes over");
    b.release_lease("photo-sweep").unwrap();
    assert!(a.take_lease("photo-sweep", hour).unwrap(), "given back");
}

//! A hub restored from a backup: it expects an older sequence number than its devices
//! hold. A device that is ahead is told so explicitly (409 with the expected sequence
//! number, `restored` and what it offered), the centre sees it (device health, audit log),
//! and every report made after the backup arrives: resent, or — when the device no longer
//! holds them — skipped with `resume_from` and recorded as lost.

use gridpad_hostile::*;
use gridpad_proto::wire::{SeqGap, SyncRequest};
use gridpad_proto::{Entity, Mutation, Op};
use serde_json::{json, Value};
use std::path::Path;

fn diary(grid: &str, text: &str) -> Value {
    json!({"grid_id": grid, "day": "2026-12-01", "content": text,
           "device_time": wire::rfc3339_now()})
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

fn clear_dir(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            std::fs::remove_dir_all(&p).unwrap();
        } else {
            std::fs::remove_file(&p).unwrap();
        }
    }
}

/// A town whose hub is restored from a backup taken after `d`'s first mutation; `d` made
/// two more before the restore and holds them (acknowledged); they are returned.
fn restored_town() -> (Town, Device, Vec<Mutation>) {
    let mut town = Town::new();
    let mut d = town.device(&town.small);
    let grid = town.small.clone();
    let first = d.m(
        Entity::Diary,
        &uuid::Uuid::now_v7().to_string(),
        Op::Insert,
        diary(&grid, "备份前"),
    );
    assert_eq!(d.push(vec![first]).acked_through, 1);

    // The backup (the hub stopped, its data directory copied).
    let backup = tempfile::tempdir().unwrap();
    town.hub.kill();
    copy_dir(town.dir.path(), backup.path());
    town.restart(&[]);

    let later: Vec<Mutation> = (0..2)
        .map(|i| {
            d.m(
                Entity::Diary,
                &uuid::Uuid::now_v7().to_string(),
                Op::Insert,
                diary(&grid, &format!("备份后 {i}")),
            )
        })
        .collect();
    assert_eq!(d.push(later.clone()).acked_through, 3);

    // The restore.
    town.hub.kill();
    clear_dir(town.dir.path());
    copy_dir(backup.path(), town.dir.path());
    town.restart(&[]);
    d.login();
    (town, d, later)
}

fn device_health(town: &Town, id: &str) -> Value {
    let a = town.admin_api("get", "/v1/admin/devices", &Value::Null);
    assert_eq!(a.status, 200, "{}", a.text());
    a.json()
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device_id"] == id)
        .cloned()
        .expect("the device is listed")
}

fn audit(town: &Town, action: &str) -> Vec<Value> {
    let a = town.admin_api(
        "get",
        &format!("/v1/admin/audit?action={action}"),
        &Value::Null,
    );
    assert_eq!(a.status, 200, "{}", a.text());
    a.json().as_array().unwrap().clone()
}

/// `d` makes its next mutation after the restore and offers it: the 409.
fn offer_next(town: &Town, d: &mut Device) -> (Mutation, SeqGap) {
    let next = d.m(
        Entity::Diary,
        &uuid::Uuid::now_v7().to_string(),
        Op::Insert,
        diary(&town.small, "恢复后"),
    );
    assert_eq!(next.seq, 4);
    let req = d.request(vec![next.clone()]);
    let a = d.sync(&req);
    assert_eq!(a.status, 409, "{}", a.text());
    let gap: SeqGap = serde_json::from_slice(&a.body).expect("the gap");
    (next, gap)
}

#[test]
fn a_device_ahead_of_a_restored_hub_is_told_so_and_resends_what_it_holds() {
    let (town, mut d, later) = restored_town();
    let (next, gap) = offer_next(&town, &mut d);
    assert_eq!(gap.expected_seq, 2);
    assert!(gap.restored, "{gap:?}");
    assert_eq!(gap.offered_seq, Some(4));
    // The centre sees it: device health and the audit log.
    let h = device_health(&town, &d.id);
    assert_eq!(h["ahead"]["expected_seq"], 2, "{h}");
    assert_eq!(h["ahead"]["offered_seq"], 4, "{h}");
    let seen = audit(&town, "device.ahead_of_hub");
    assert_eq!(seen.len(), 1, "{seen:?}");
    // Asking again is not a second audit line.
    offer_next_again(&town, &mut d, &next);
    assert_eq!(audit(&town, "device.ahead_of_hub").len(), 1);

    // The device resends what it holds from the expected number on: all taken.
    let mut push = later.clone();
    push.push(next);
    let req = d.request(push);
    let r: gridpad_proto::wire::SyncResponse = d.sync(&req).cbor();
    assert_eq!(r.acked_through, 4);
    let s = town.state();
    for m in &later {
        assert!(
            s.row(Entity::Diary, &m.row_id).is_some(),
            "{} arrived",
            m.row_id
        );
    }
    let h = device_health(&town, &d.id);
    assert!(h["ahead"].is_null(), "caught up: {h}");
    assert_eq!(h["lost_seqs"], json!([]));
}

fn offer_next_again(town: &Town, d: &mut Device, next: &Mutation) {
    let req: SyncRequest = d.request(vec![next.clone()]);
    let a = d.sync(&req);
    assert_eq!(a.status, 409, "{}", a.text());
    let _ = town;
}

#[test]
fn a_device_that_no_longer_holds_them_resumes_and_the_loss_is_recorded() {
    let (town, mut d, later) = restored_town();
    let (next, gap) = offer_next(&town, &mut d);
    assert!(gap.restored);
    // It dropped 2 and 3 when they were acknowledged: it asks to go on from 4.
    let mut req = d.request(vec![next.clone()]);
    req.resume_from = Some(4);
    let r: gridpad_proto::wire::SyncResponse = d.sync(&req).cbor();
    assert_eq!(r.acked_through, 4);
    assert!(town.state().row(Entity::Diary, &next.row_id).is_some());
    for m in &later {
        assert!(town.state().row(Entity::Diary, &m.row_id).is_none());
    }
    let h = device_health(&town, &d.id);
    assert_eq!(h["lost_seqs"], json!([[2, 3]]), "{h}");
    assert!(h["ahead"].is_null(), "{h}");
    let lost = audit(&town, "device.resumed_after_restore");
    assert_eq!(lost.len(), 1, "{lost:?}");
}

#[test]
fn resume_from_never_moves_a_device_back_or_past_what_it_pushes() {
    let town = Town::new();
    let mut d = town.device(&town.small);
    let grid = town.small.clone();
    let m1 = d.m(
        Entity::Diary,
        &uuid::Uuid::now_v7().to_string(),
        Op::Insert,
        diary(&grid, "一"),
    );
    assert_eq!(d.push(vec![m1]).acked_through, 1);
    // A resume_from that does not start the push, or lies behind: ignored, a plain gap.
    let m = d.m(
        Entity::Diary,
        &uuid::Uuid::now_v7().to_string(),
        Op::Insert,
        diary(&grid, "二"),
    );
    let mut far = m.clone();
    far.seq = 9;
    let mut req = d.request(vec![far]);
    req.resume_from = Some(5);
    let a = d.sync(&req);
    assert_eq!(a.status, 409, "{}", a.text());
    // Beyond every bound.
    let mut huge = m.clone();
    huge.seq = u64::MAX;
    let mut req = d.request(vec![huge]);
    req.resume_from = Some(u64::MAX);
    let a = d.sync(&req);
    assert_eq!(a.status, 409, "{}", a.text());
    let h = device_health(&town, &d.id);
    assert_eq!(h["last_seq"], 1, "{h}");
    assert_eq!(h["lost_seqs"], json!([]), "{h}");
}

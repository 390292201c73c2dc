//! Photo evidence at the hub, in process (real SQLite, real blob store on disk): seals
//! verified against the enrolled key in any arrival order, flags on the events,
//! completeness as blobs arrive, and who may read a photo.

mod common;

use common::*;
use gridhub::seals_and_photo_access::SealsRequest;
use gridpad_core::demo::DemoSpec;
use gridpad_core::{NewReport, Store};
use gridpad_evidence::seal::{self, SealInput, SealedRecord};
use ring::signature::Ed25519KeyPair;
use serde_json::{json, Value};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

struct Setup {
    _tmp: tempfile::TempDir,
    th: TestHub,
    dev: Store,
    grid: String,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let th = TestHub::open(&tmp.path().join("hub"), Arc::new(AtomicU64::new(T0)));
    th.hub.attach_blobs(
        gridhub::seals_and_photo_access::open_blobs(&tmp.path().join("hub")).unwrap(),
    );
    let s = th
        .hub
        .seed_demo(
            &gridhub::authz::Principal::cli(),
            DemoSpec {
                persons: 300,
                seed: 3,
            },
        )
        .unwrap();
    let mut dev = enrolled_device(
        &th.hub,
        &tmp.path().join("a"),
        "0190a4b2-7c3d-7e00-8000-000000000de1",
        &s.home_grid_id,
        T0,
    );
    let mut t = Direct {
        hub: th.hub.clone(),
        device_id: "0190a4b2-7c3d-7e00-8000-000000000de1".into(),
    };
    sync_all(&mut dev, &mut t);
    Setup {
        _tmp: tmp,
        th,
        dev,
        grid: s.home_grid_id,
    }
}

fn sha(n: u8) -> String {
    seal::sha256_hex(&[n])
}

/// Report events on the device and push them to the hub; returns their ids.
fn report(s: &mut Setup, photos: &[Vec<String>]) -> Vec<String> {
    let ids = photos
        .iter()
        .enumerate()
        .map(|(i, p)| {
            for h in p {
                let _ = s.dev.register_photo(h, 1, "image/jpeg", None, None);
            }
            s.dev
                .report_event(NewReport {
                    category_code: "0401".into(),
                    description: format!("上报 {i}"),
                    photos: p.clone(),
                    reporter: "网格员".into(),
                    ..Default::default()
                })
                .unwrap()
        })
        .collect();
    let mut t = Direct {
        hub: s.th.hub.clone(),
        device_id: "0190a4b2-7c3d-7e00-8000-000000000de1".into(),
    };
    sync_all(&mut s.dev, &mut t);
    ids
}

/// Seal events as a chain (seq 1, 2, …) with `key`.
fn chain(s: &mut Setup, key: &Ed25519KeyPair, ids: &[String]) -> Vec<SealedRecord> {
    let mut out: Vec<SealedRecord> = vec![];
    for id in ids {
        let ev = s.dev.event(id).unwrap().unwrap();
        let input = SealInput {
            entity: "event".into(),
            record_id: id.clone(),
            record: json!({
                "grid_id": ev.grid_id, "category_code": ev.category_code,
                "description": ev.description, "address_text": ev.address_text,
                "reporter": ev.reporter,
            }),
            photos: ev.photos.clone(),
            position: None,
            device_time: "2026-11-18T00:00:00Z".into(),
            corrected_time: None,
        };
        let prev = out.last().map(|r| (r.seq, r.hash.clone()));
        let rec = seal::seal(
            key,
            "0190a4b2-7c3d-7e00-8000-000000000de1",
            prev.as_ref().map(|(s, h)| (*s, h.as_str())),
            &input,
            "2026-11-18T00:00:00Z",
        )
        .unwrap();
        out.push(rec);
    }
    out
}

/// The centre's list of events, as the admin API sends it.
fn events_json(s: &Setup) -> Vec<Value> {
    let events =
        s.th.hub
            .events_with_evidence(&gridhub::authz::Principal::cli(), 1000)
            .unwrap();
    serde_json::from_value(serde_json::to_value(events).unwrap()).unwrap()
}

fn flags(s: &Setup, id: &str) -> Vec<String> {
    let events = events_json(s);
    let ev = events.iter().find(|e| e["id"] == id).unwrap();
    ev["seal_flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

fn event(s: &Setup, id: &str) -> Value {
    events_json(s).into_iter().find(|e| e["id"] == id).unwrap()
}

#[test]
fn seals_arriving_out_of_order_are_flagged_gap_then_reorder_and_the_chain_closes() {
    let mut s = setup();
    let ids = report(&mut s, &[vec![], vec![], vec![]]);
    let key = s.dev.device_keypair().unwrap();
    let seals = chain(&mut s, &key, &ids);
    let send = |recs: Vec<SealedRecord>| {
        s.th.hub
            .receive_seals(
                "0190a4b2-7c3d-7e00-8000-000000000de1",
                &SealsRequest {
                    last_seq: 3,
                    seals: recs,
                },
            )
            .unwrap()
    };
    let r = send(vec![seals[0].clone(), seals[2].clone()]);
    assert_eq!(r.received_through, 1);
    assert_eq!(r.missing, vec![2]);
    let r = send(vec![seals[1].clone()]);
    assert_eq!(r.received_through, 3);
    assert!(r.missing.is_empty());
    assert_eq!(flags(&s, &ids[0]), Vec::<String>::new());
    assert_eq!(flags(&s, &ids[1]), vec!["reorder"]);
    assert_eq!(flags(&s, &ids[2]), vec!["gap"]);
    assert_eq!(event(&s, &ids[0])["sealed_ok"], true);
    // The same seal again changes nothing.
    let r = send(vec![seals[1].clone()]);
    assert_eq!(r.received_through, 3);
    assert_eq!(flags(&s, &ids[1]), vec!["reorder"]);
}

#[test]
fn a_foreign_key_or_a_seal_that_disagrees_with_the_report_is_flagged() {
    let mut s = setup();
    let ids = report(&mut s, &[vec![sha(1)], vec![sha(2)]]);
    // Signed by a key that is not the device's enrolled one.
    let rng = ring::rand::SystemRandom::new();
    let other =
        Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref()).unwrap();
    let forged = chain(&mut s, &other, &ids[..1]);
    let r =
        s.th.hub
            .receive_seals(
                "0190a4b2-7c3d-7e00-8000-000000000de1",
                &SealsRequest {
                    last_seq: 1,
                    seals: forged,
                },
            )
            .unwrap();
    assert_eq!(r.received_through, 0, "a forged seal does not count");
    assert_eq!(flags(&s, &ids[0]), vec!["bad_signature"]);

    // Properly signed, but the photo it names is not the report's photo.
    let key = s.dev.device_keypair().unwrap();
    let mut seals = chain(&mut s, &key, &ids);
    let ev = s.dev.event(&ids[1]).unwrap().unwrap();
    let input = SealInput {
        entity: "event".into(),
        record_id: ids[1].clone(),
        record: json!({
            "grid_id": ev.grid_id, "category_code": ev.category_code,
            "description": ev.description, "address_text": ev.address_text,
            "reporter": ev.reporter,
        }),
        photos: vec![sha(9)],
        position: None,
        device_time: "2026-11-18T00:00:00Z".into(),
        corrected_time: None,
    };
    seals[1] = seal::seal(
        &key,
        "0190a4b2-7c3d-7e00-8000-000000000de1",
        Some((1, &seals[0].hash)),
        &input,
        "2026-11-18T00:00:00Z",
    )
    .unwrap();
    s.th.hub
        .receive_seals(
            "0190a4b2-7c3d-7e00-8000-000000000de1",
            &SealsRequest { last_seq: 2, seals },
        )
        .unwrap();
    assert_eq!(
        flags(&s, &ids[0]),
        vec!["bad_signature"],
        "the forged seal stays on record"
    );
    assert_eq!(flags(&s, &ids[1]), vec!["altered"]);
    assert_eq!(event(&s, &ids[1])["seal"]["differs"], "photos");
}

fn put_blob(s: &Setup, device: &str, data: &[u8]) -> String {
    let blobs = s.th.hub.blobs().unwrap();
    let h = seal::sha256_hex(data);
    let u = blobs.create_upload(device, &h, data.len() as u64).unwrap();
    blobs.append(&u.id, 0, data).unwrap();
    blobs.sync(&u.id).unwrap();
    blobs.complete(&u.id).unwrap();
    h
}

#[test]
fn a_report_is_complete_when_all_its_photos_are_in_and_only_records_authorise_reads() {
    let mut s = setup();
    let (p1, p2) = (b"first photo".to_vec(), b"second photo".to_vec());
    let (h1, h2) = (seal::sha256_hex(&p1), seal::sha256_hex(&p2));
    let ids = report(&mut s, &[vec![h1.clone(), h2.clone()]]);
    let ev = event(&s, &ids[0]);
    assert_eq!(ev["photos_expected"], 2);
    assert_eq!(ev["photos_received"], 0);
    assert_eq!(ev["complete"], false);
    assert_eq!(ev["seal_flags"], json!(["unsealed"]));
    put_blob(&s, "0190a4b2-7c3d-7e00-8000-000000000de1", &p1);
    let ev = event(&s, &ids[0]);
    assert_eq!(
        (ev["photos_received"].as_u64(), ev["complete"].as_bool()),
        (Some(1), Some(false))
    );
    put_blob(&s, "0190a4b2-7c3d-7e00-8000-000000000de1", &p2);
    assert_eq!(event(&s, &ids[0])["complete"], true);

    // Who may read: the reporting device; not another device of the grid, nor a hash
    // nobody references — until the report becomes a task of the grid.
    let tmp = tempfile::tempdir().unwrap();
    let _b = enrolled_device(
        &s.th.hub,
        tmp.path(),
        "0190a4b2-7c3d-7e00-8000-000000000de2",
        &s.grid,
        T0,
    );
    let hub = &s.th.hub;
    assert!(hub
        .may_read_blob("0190a4b2-7c3d-7e00-8000-000000000de1", &h1)
        .unwrap());
    assert!(!hub
        .may_read_blob("0190a4b2-7c3d-7e00-8000-000000000de2", &h1)
        .unwrap());
    assert!(!hub
        .may_read_blob("0190a4b2-7c3d-7e00-8000-000000000de1", &sha(7))
        .unwrap());
    assert!(!hub.may_read_blob("nobody", &h1).unwrap());
    hub.transition_event(
        &gridhub::authz::Principal::cli(),
        &ids[0],
        gridpad_core::model::EventStatus::Accepted,
        "",
    )
    .unwrap();
    hub.dispatch_event(
        &gridhub::authz::Principal::cli(),
        &ids[0],
        Some(gridpad_domain::worktime::Deadline::hours(24)),
    )
    .unwrap();
    assert!(hub
        .may_read_blob("0190a4b2-7c3d-7e00-8000-000000000de2", &h1)
        .unwrap());
    assert!(hub
        .may_read_blob("0190a4b2-7c3d-7e00-8000-000000000de2", &h2)
        .unwrap());
    // A locked device reads nothing.
    hub.set_device_status(
        &gridhub::authz::Principal::cli(),
        "0190a4b2-7c3d-7e00-8000-000000000de2",
        "locked",
    )
    .unwrap();
    assert!(!hub
        .may_read_blob("0190a4b2-7c3d-7e00-8000-000000000de2", &h1)
        .unwrap());
}

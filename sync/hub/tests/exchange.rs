//! The hub and a device store exchanging for real (in-process, through the codec).

mod common;

use common::*;
use gridpad_core::demo::DemoSpec;
use gridpad_core::NewReport;
use gridpad_proto::wire::{self, Status};
use gridpad_proto::{Entity, Fields, Hlc};
use ring::signature::KeyPair;
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

fn two_grid_hub(dir: &std::path::Path) -> (TestHub, gridpad_core::demo::DemoSummary, String) {
    let th = TestHub::open(dir, Arc::new(AtomicU64::new(T0)));
    let s = th
        .hub
        .seed_demo(
            &gridhub::authz::Principal::cli(),
            DemoSpec {
                persons: 3_000,
                seed: 5,
            },
        )
        .unwrap();
    // The second grid of the town.
    let grids = gridhub::store::with_tx(th.hub.store(), |tx| tx.rows(Entity::Grid, 1000)).unwrap();
    let other = grids
        .iter()
        .find(|g| g.fields.get("level") == Some(&json!("grid")) && g.row_id != s.home_grid_id)
        .expect("a second grid")
        .row_id
        .clone();
    (th, s, other)
}

fn report(desc: &str) -> NewReport {
    NewReport {
        category_code: "0401".into(),
        description: desc.into(),
        reporter: "网格员".into(),
        ..Default::default()
    }
}

#[test]
fn a_device_receives_its_grid_and_never_another_grids_people() {
    let dir = tempfile::tempdir().unwrap();
    let (th, s, other) = two_grid_hub(dir.path());
    let dev_dir = tempfile::tempdir().unwrap();
    let mut dev = enrolled_device(
        &th.hub,
        dev_dir.path(),
        "0190a4b2-7c3d-7e00-8000-000000000de1",
        &s.home_grid_id,
        T0,
    );
    let mut t = Direct {
        hub: th.hub.clone(),
        device_id: "0190a4b2-7c3d-7e00-8000-000000000de1".into(),
    };
    let r = sync_all(&mut dev, &mut t);
    assert!(r.pulled_ops > 1_000);
    let foreign: i64 = dev
        .conn()
        .query_row(
            "SELECT count(*) FROM person WHERE grid_id != ?",
            [&s.home_grid_id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(foreign, 0, "no people of other grids on the device");
    let mine: i64 = dev
        .conn()
        .query_row("SELECT count(*) FROM person", [], |r| r.get(0))
        .unwrap();
    assert!(mine > 1_000);
    assert_eq!(dev.counts().unwrap().categories, 42);

    // A mutation outside the device's grids (as a tampered or buggy device would send) is
    // refused with its reason.
    let foreign_person =
        gridhub::store::with_tx(th.hub.store(), |tx| tx.rows(Entity::Person, 100_000))
            .unwrap()
            .into_iter()
            .find(|r| r.fields.get("grid_id") == Some(&json!(other)))
            .unwrap();
    let mut f = Fields::new();
    f.insert("name".into(), json!("越权修改"));
    let forged = gridpad_proto::Mutation {
        seq: 1,
        mutation_id: "0190a4b2-7c3d-7e00-8000-0000000000ff".into(),
        hlc: Hlc::new(T0, 0, "0190a4b2-7c3d-7e00-8000-000000000de1"),
        entity: Entity::Person,
        row_id: foreign_person.row_id.clone(),
        op: gridpad_proto::Op::Update,
        fields: f,
    };
    let mut req =
        gridpad_sync::driver::build_request(&dev, gridpad_sync::Limits::default(), 0).unwrap();
    req.push = vec![forged];
    let resp = th
        .hub
        .sync("0190a4b2-7c3d-7e00-8000-000000000de1", &req)
        .unwrap();
    assert_eq!(resp.verdicts[0].status, Status::Rejected);
    assert!(resp.verdicts[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("outside this device's grids"));
    assert_eq!(
        th.hub
            .row(Entity::Person, &foreign_person.row_id)
            .unwrap()
            .unwrap()
            .fields["name"],
        foreign_person.fields["name"]
    );
}

#[test]
fn a_refused_change_goes_to_the_dead_letters_and_the_queue_moves_on() {
    let dir = tempfile::tempdir().unwrap();
    let th = TestHub::open(dir.path(), Arc::new(AtomicU64::new(T0)));
    let s = th
        .hub
        .seed_demo(
            &gridhub::authz::Principal::cli(),
            DemoSpec {
                persons: 300,
                seed: 6,
            },
        )
        .unwrap();
    let task = th
        .hub
        .create_task(
            &gridhub::authz::Principal::cli(),
            &gridhub::centre::NewTask {
                grid: &s.home_grid_id,
                title: "核查消防通道",
                body: "",
                deadline: Some(gridpad_domain::worktime::Deadline::hours(24)),
                source_event: None,
                assignee: None,
            },
        )
        .unwrap();
    let dev_dir = tempfile::tempdir().unwrap();
    let mut dev = enrolled_device(
        &th.hub,
        dev_dir.path(),
        "0190a4b2-7c3d-7e00-8000-000000000de7",
        &s.home_grid_id,
        T0,
    );
    let mut t = Direct {
        hub: th.hub.clone(),
        device_id: "0190a4b2-7c3d-7e00-8000-000000000de7".into(),
    };
    sync_all(&mut dev, &mut t);
    // While the device is offline, the centre cancels the task; the worker accepts it.
    let mut f = Fields::new();
    f.insert("status".into(), json!("cancelled"));
    th.hub
        .central_edit(&gridhub::authz::Principal::cli(), Entity::Task, &task, f)
        .unwrap();
    dev.task_command(
        &task,
        gridpad_core::model::TaskCommand::Accept,
        "",
        &[],
        None,
    )
    .unwrap();
    dev.report_event(report("后面的上报照常发送")).unwrap();
    let r = sync_all(&mut dev, &mut t);
    assert_eq!(r.rejected, 1);
    assert_eq!(r.acked, 2);
    let dead = dev.dead_letters().unwrap();
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]
            .reason
            .contains("cannot accept a task that is cancelled"),
        "{}",
        dead[0].reason
    );
    assert_eq!(dev.outbox_len().unwrap(), 0);
    assert_eq!(
        th.hub
            .events(&gridhub::authz::Principal::cli(), 10)
            .unwrap()
            .len(),
        1,
        "the report behind it arrived"
    );
    assert_eq!(
        dev.tasks().unwrap()[0].status,
        gridpad_core::model::TaskStatus::Cancelled,
        "the centre's state shows"
    );
}

#[test]
fn a_resent_batch_is_acknowledged_without_being_applied_twice() {
    let dir = tempfile::tempdir().unwrap();
    let th = TestHub::open(dir.path(), Arc::new(AtomicU64::new(T0)));
    let s = th
        .hub
        .seed_demo(
            &gridhub::authz::Principal::cli(),
            DemoSpec {
                persons: 300,
                seed: 1,
            },
        )
        .unwrap();
    let dev_dir = tempfile::tempdir().unwrap();
    let mut dev = enrolled_device(
        &th.hub,
        dev_dir.path(),
        "0190a4b2-7c3d-7e00-8000-000000000de2",
        &s.home_grid_id,
        T0,
    );
    sync_all(
        &mut dev,
        &mut Direct {
            hub: th.hub.clone(),
            device_id: "0190a4b2-7c3d-7e00-8000-000000000de2".into(),
        },
    );
    for i in 0..5 {
        dev.report_event(report(&format!("上报 {i}"))).unwrap();
    }
    let req =
        gridpad_sync::driver::build_request(&dev, gridpad_sync::Limits::default(), 0).unwrap();
    let first = th
        .hub
        .sync("0190a4b2-7c3d-7e00-8000-000000000de2", &req)
        .unwrap();
    assert!(first.verdicts.iter().all(|v| v.status == Status::Applied));
    // The response was lost: the device sends the same batch again.
    // It gets the same verdicts again (a lost refusal is not lost), and nothing is re-applied.
    let second = th
        .hub
        .sync("0190a4b2-7c3d-7e00-8000-000000000de2", &req)
        .unwrap();
    assert_eq!(second.verdicts, first.verdicts);
    assert_eq!(second.acked_through, 5);
    let applied = gridhub::store::with_tx(th.hub.store(), |tx| {
        tx.mutation_count(Some("0190a4b2-7c3d-7e00-8000-000000000de2"))
    })
    .unwrap();
    assert_eq!(applied, 5);
    assert_eq!(
        th.hub
            .events(&gridhub::authz::Principal::cli(), 100)
            .unwrap()
            .len(),
        5
    );
    // A gap in the sequence is refused with the expected number.
    let mut gap = req.clone();
    gap.push = vec![req.push[0].clone()];
    gap.push[0].seq = 9;
    match th.hub.sync("0190a4b2-7c3d-7e00-8000-000000000de2", &gap) {
        Err(gridhub::HubError::SeqGap { expected, .. }) => assert_eq!(expected, 6),
        other => panic!("expected a gap, got {other:?}"),
    }
}

#[test]
fn tokens_need_a_fresh_signed_challenge_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicU64::new(T0));
    let th = TestHub::open(dir.path(), clock.clone());
    let s = th
        .hub
        .seed_demo(
            &gridhub::authz::Principal::cli(),
            DemoSpec {
                persons: 100,
                seed: 1,
            },
        )
        .unwrap();
    let dev_dir = tempfile::tempdir().unwrap();
    let mut dev = enrolled_device(
        &th.hub,
        dev_dir.path(),
        "0190a4b2-7c3d-7e00-8000-000000000de3",
        &s.home_grid_id,
        T0,
    );
    let key = dev.device_keypair().unwrap();
    let ch = th
        .hub
        .challenge(&wire::ChallengeRequest {
            device_id: "0190a4b2-7c3d-7e00-8000-000000000de3".into(),
        })
        .unwrap();
    let sig = key
        .sign(&wire::auth_message(
            "0190a4b2-7c3d-7e00-8000-000000000de3",
            &ch.nonce,
        ))
        .as_ref()
        .to_vec();
    let req = wire::TokenRequest {
        device_id: "0190a4b2-7c3d-7e00-8000-000000000de3".into(),
        nonce: ch.nonce.clone(),
        signature: sig,
    };
    let tok = th.hub.token(&req).unwrap();
    assert_eq!(
        th.hub.authenticate(&tok.token).unwrap(),
        gridhub::store::TokenOwner::Device("0190a4b2-7c3d-7e00-8000-000000000de3".into())
    );
    // Replaying the same signed challenge fails.
    assert!(th.hub.token(&req).is_err());
    // A signature by another key fails.
    let other = ring::signature::Ed25519KeyPair::from_pkcs8(
        ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
            .unwrap()
            .as_ref(),
    )
    .unwrap();
    let ch2 = th
        .hub
        .challenge(&wire::ChallengeRequest {
            device_id: "0190a4b2-7c3d-7e00-8000-000000000de3".into(),
        })
        .unwrap();
    let forged = wire::TokenRequest {
        device_id: "0190a4b2-7c3d-7e00-8000-000000000de3".into(),
        nonce: ch2.nonce.clone(),
        signature: other
            .sign(&wire::auth_message(
                "0190a4b2-7c3d-7e00-8000-000000000de3",
                &ch2.nonce,
            ))
            .as_ref()
            .to_vec(),
    };
    assert!(th.hub.token(&forged).is_err());
    assert_ne!(other.public_key().as_ref(), key.public_key().as_ref());
    // Tokens expire.
    clock.store(T0 + gridhub::auth::TOKEN_TTL_MS + 1, Ordering::SeqCst);
    let err = th.hub.authenticate(&tok.token).unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
    // Unknown devices get no challenge.
    assert!(th
        .hub
        .challenge(&wire::ChallengeRequest {
            device_id: "nobody".into()
        })
        .is_err());
}

#[test]
fn concurrent_edits_merge_field_by_field_and_the_loser_sees_a_notice() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicU64::new(T0));
    let th = TestHub::open(dir.path(), clock.clone());
    let s = th
        .hub
        .seed_demo(
            &gridhub::authz::Principal::cli(),
            DemoSpec {
                persons: 300,
                seed: 2,
            },
        )
        .unwrap();
    let dev_dir = tempfile::tempdir().unwrap();
    let mut dev = enrolled_device(
        &th.hub,
        dev_dir.path(),
        "0190a4b2-7c3d-7e00-8000-000000000de4",
        &s.home_grid_id,
        T0,
    );
    let mut t = Direct {
        hub: th.hub.clone(),
        device_id: "0190a4b2-7c3d-7e00-8000-000000000de4".into(),
    };
    sync_all(&mut dev, &mut t);
    let pid: String = dev
        .conn()
        .query_row("SELECT id FROM person LIMIT 1", [], |r| r.get(0))
        .unwrap();

    // Device edits phone and note offline at T0+1 min; the centre edits the phone at T0+2 min.
    let t1 = chrono::DateTime::from_timestamp_millis((T0 + 60_000) as i64).unwrap();
    dev.set_clock(move || t1);
    let mut f = Fields::new();
    f.insert("phone".into(), json!("13900000001"));
    f.insert("note".into(), json!("独居，需每周走访"));
    dev.update_person(&pid, f).unwrap();
    clock.store(T0 + 120_000, Ordering::SeqCst);
    let mut central = Fields::new();
    central.insert("phone".into(), json!("13800000002"));
    th.hub
        .central_edit(
            &gridhub::authz::Principal::cli(),
            Entity::Person,
            &pid,
            central,
        )
        .unwrap();

    let r = sync_all(&mut dev, &mut t);
    assert_eq!(r.conflicts, 1);
    let p = dev.person(&pid).unwrap().unwrap();
    assert_eq!(
        p.phone.as_deref(),
        Some("13800000002"),
        "the later central edit wins the phone"
    );
    assert_eq!(
        p.note, "独居，需每周走访",
        "the device's other field stands"
    );
    let notices = dev.conflict_notices().unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].field, "phone");
    assert_eq!(notices[0].local_value.as_deref(), Some("13900000001"));
    assert_eq!(notices[0].winning_value.as_deref(), Some("13800000002"));
    let hub_row = th.hub.row(Entity::Person, &pid).unwrap().unwrap();
    assert_eq!(hub_row.fields["note"], json!("独居，需每周走访"));
    assert_eq!(hub_row.fields["phone"], json!("13800000002"));
}

#[test]
fn a_device_clock_a_year_fast_cannot_beat_later_central_edits() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicU64::new(T0));
    let th = TestHub::open(dir.path(), clock.clone());
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
    let dev_dir = tempfile::tempdir().unwrap();
    let mut dev = enrolled_device(
        &th.hub,
        dev_dir.path(),
        "0190a4b2-7c3d-7e00-8000-000000000de5",
        &s.home_grid_id,
        T0,
    );
    let mut t = Direct {
        hub: th.hub.clone(),
        device_id: "0190a4b2-7c3d-7e00-8000-000000000de5".into(),
    };
    sync_all(&mut dev, &mut t);
    let pid: String = dev
        .conn()
        .query_row("SELECT id FROM person LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let fast = chrono::DateTime::from_timestamp_millis((T0 + 365 * 86_400_000) as i64).unwrap();
    dev.set_clock(move || fast);
    let mut f = Fields::new();
    f.insert("note".into(), json!("设备时钟快一年"));
    dev.update_person(&pid, f).unwrap();
    sync_all(&mut dev, &mut t);
    let hlc: Hlc = th.hub.row(Entity::Person, &pid).unwrap().unwrap().field_hlc["note"].clone();
    assert!(
        hlc.millis <= T0 + gridhub::hub::MAX_DRIFT_MS,
        "clamped to the hub's clock + drift"
    );
    // Ten minutes later the centre corrects the note: it wins.
    clock.store(T0 + 600_000, Ordering::SeqCst);
    let mut central = Fields::new();
    central.insert("note".into(), json!("已核实"));
    th.hub
        .central_edit(
            &gridhub::authz::Principal::cli(),
            Entity::Person,
            &pid,
            central,
        )
        .unwrap();
    sync_all(&mut dev, &mut t);
    assert_eq!(dev.person(&pid).unwrap().unwrap().note, "已核实");
}

#[test]
fn a_divergent_scope_is_downloaded_again_alone() {
    let dir = tempfile::tempdir().unwrap();
    let th = TestHub::open(dir.path(), Arc::new(AtomicU64::new(T0)));
    let s = th
        .hub
        .seed_demo(
            &gridhub::authz::Principal::cli(),
            DemoSpec {
                persons: 300,
                seed: 4,
            },
        )
        .unwrap();
    let dev_dir = tempfile::tempdir().unwrap();
    let mut dev = enrolled_device(
        &th.hub,
        dev_dir.path(),
        "0190a4b2-7c3d-7e00-8000-000000000de6",
        &s.home_grid_id,
        T0,
    );
    let mut t = Direct {
        hub: th.hub.clone(),
        device_id: "0190a4b2-7c3d-7e00-8000-000000000de6".into(),
    };
    sync_all(&mut dev, &mut t);
    let grid_scope = format!("grid:{}", s.home_grid_id);
    let (after, good, count) = dev.scope_state(&grid_scope).unwrap().unwrap();
    // Damage: a row lost and the checksum off (e.g. a restored backup).
    dev.conn()
        .execute(
            "UPDATE scope_cursor SET checksum = checksum + 1 WHERE scope = ?",
            [&grid_scope],
        )
        .unwrap();
    let catalog_before = dev.scope_state("catalog").unwrap().unwrap();
    // Any new op in the scope makes the hub send a page whose checksum disagrees.
    let pid: String = dev
        .conn()
        .query_row("SELECT id FROM person LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let mut central = Fields::new();
    central.insert("note".into(), json!("触发"));
    th.hub
        .central_edit(
            &gridhub::authz::Principal::cli(),
            Entity::Person,
            &pid,
            central,
        )
        .unwrap();
    let r = sync_all(&mut dev, &mut t);
    assert_eq!(r.diverged_scopes, 1, "{r:?}");
    assert!(
        r.pulled_ops > count,
        "the grid scope came again from zero: {r:?}"
    );
    let (after2, sum2, _) = dev.scope_state(&grid_scope).unwrap().unwrap();
    assert!(after2 > after);
    assert_ne!(sum2, good.wrapping_add(1));
    assert_eq!(
        dev.scope_state("catalog").unwrap().unwrap(),
        catalog_before,
        "other scopes untouched"
    );
    let (hub_sum, _) = gridhub::store::with_tx(th.hub.store(), |tx| {
        tx.scope_summary(&grid_scope.parse().unwrap(), after2)
    })
    .unwrap();
    assert_eq!(hub_sum, sum2, "checksums agree again");
}

#[test]
fn a_long_first_download_reports_how_much_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let (th, s, _) = two_grid_hub(dir.path());
    let dev_dir = tempfile::tempdir().unwrap();
    let mut dev = enrolled_device(
        &th.hub,
        dev_dir.path(),
        "0190a4b2-7c3d-7e00-8000-000000000df0",
        &s.home_grid_id,
        T0,
    );
    let mut t = Direct {
        hub: th.hub.clone(),
        device_id: "0190a4b2-7c3d-7e00-8000-000000000df0".into(),
    };
    // Small pages, as on EDGE: the download takes many exchanges.
    let limits = gridpad_sync::Limits {
        push_bytes: 64 * 1024,
        pull_bytes: 64 * 1024,
    };
    let mut pulled = 0;
    let mut seen_total = None;
    let mut exchanges = 0;
    loop {
        let r = gridpad_sync::exchange(&mut dev, &mut t, limits).unwrap();
        exchanges += 1;
        pulled += r.pulled_ops;
        if r.more && r.remaining_ops > 0 {
            // pulled + remaining is the size of the whole download, every time.
            let total = pulled + r.remaining_ops;
            if let Some(t) = seen_total {
                assert_eq!(t, total, "the estimate is stable while nothing changes");
            }
            seen_total = Some(total);
        }
        if !r.more {
            assert_eq!(r.remaining_ops, 0);
            break;
        }
        assert!(exchanges < 500, "download did not finish");
    }
    assert!(
        exchanges > 3,
        "small pages make a long download ({exchanges})"
    );
    assert_eq!(seen_total, Some(pulled), "progress ended at 100 %");
}

/// Two devices edit the same field; the one whose value is older syncs FIRST, so its edit
/// is applied and then replaced by the other's. It still hears that its value lost (it used
/// to hear nothing: only the device whose own push lost got a notice).
#[test]
fn a_device_whose_applied_value_is_replaced_later_hears_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicU64::new(T0));
    let th = TestHub::open(dir.path(), clock.clone());
    let s = th
        .hub
        .seed_demo(
            &gridhub::authz::Principal::cli(),
            DemoSpec {
                persons: 300,
                seed: 6,
            },
        )
        .unwrap();
    let (a_id, b_id) = (
        "0190a4b2-7c3d-7e00-8000-000000000da1",
        "0190a4b2-7c3d-7e00-8000-000000000db1",
    );
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = enrolled_device(&th.hub, da.path(), a_id, &s.home_grid_id, T0);
    let mut b = enrolled_device(&th.hub, db.path(), b_id, &s.home_grid_id, T0);
    let mut ta = Direct {
        hub: th.hub.clone(),
        device_id: a_id.into(),
    };
    let mut tb = Direct {
        hub: th.hub.clone(),
        device_id: b_id.into(),
    };
    sync_all(&mut a, &mut ta);
    sync_all(&mut b, &mut tb);
    let pid: String = a
        .conn()
        .query_row("SELECT id FROM person LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let at = |ms: u64| {
        let t = chrono::DateTime::from_timestamp_millis(ms as i64).unwrap();
        move || t
    };
    a.set_clock(at(T0 + 60_000));
    b.set_clock(at(T0 + 120_000));
    let phone = |p: &str| {
        let mut f = Fields::new();
        f.insert("phone".into(), json!(p));
        f
    };
    a.update_person(&pid, phone("13900000001")).unwrap();
    b.update_person(&pid, phone("13900000002")).unwrap();
    clock.store(T0 + 180_000, Ordering::SeqCst);
    assert_eq!(
        sync_all(&mut a, &mut ta).conflicts,
        0,
        "A's value is applied first"
    );
    assert_eq!(
        sync_all(&mut b, &mut tb).conflicts,
        0,
        "B's later value replaces it"
    );
    sync_all(&mut a, &mut ta);
    let notices = a.conflict_notices().unwrap();
    assert_eq!(notices.len(), 1, "A hears that its phone was replaced");
    assert_eq!(notices[0].field, "phone");
    assert_eq!(notices[0].local_value.as_deref(), Some("13900000001"));
    assert_eq!(notices[0].winning_value.as_deref(), Some("13900000002"));
    assert_eq!(
        a.person(&pid).unwrap().unwrap().phone.as_deref(),
        Some("13900000002")
    );
    assert!(
        b.conflict_notices().unwrap().is_empty(),
        "the winner is told nothing"
    );
}

//! Crash points: the hub is killed (SIGABRT at a named point, `GRIDHUB_CRASH_AT`) inside
//! each multi-step write — enrollment, the sync push, the central import, dispatch, a
//! hop between levels (上报上级), a photo upload's completion, the 督办 of a deadline — started again on the same data, and then nothing may be
//! lost or taken twice, the devices converge, and an upload cut at its end completes.

use gridpad_hostile::*;
use gridpad_proto::wire::{EnrollResponse, Status, SyncResponse};
use gridpad_proto::{Entity, Op};
use serde_json::{json, Value};
use std::os::unix::process::ExitStatusExt;

/// The areas of the hub's crash points this suite covers, and its tests by point.
const AREAS: &[&str] = &[
    "enroll",
    "push",
    "import",
    "dispatch",
    "handling",
    "upload",
    "supervise",
];
const COVERED: &[&str] = &[
    "enroll.before_commit",
    "enroll.after_commit",
    "push.after_verdicts",
    "push.after_commit",
    "import.before_commit",
    "import.after_batch",
    "dispatch.after_transition",
    "handling.after_step",
    "upload.before_complete",
    "upload.after_rename",
    "upload.after_mark",
    "supervise.after_mark",
];

#[test]
fn every_crash_point_of_the_hubs_writes_has_a_test_here() {
    let points: Vec<&str> = gridhub::crash::POINTS
        .iter()
        .copied()
        .filter(|p| AREAS.iter().any(|a| p.starts_with(&format!("{a}."))))
        .collect();
    assert_eq!(points, COVERED);
    for p in gridhub::crash::POINTS {
        let (area, step) = p.split_once('.').expect("area.step");
        assert!(
            !area.is_empty() && !step.is_empty() && !step.contains('.'),
            "{p}"
        );
    }
}

fn crash_at(point: &str) -> [(&'static str, String); 1] {
    [("GRIDHUB_CRASH_AT", point.to_string())]
}

/// Restart the town's hub with `point` armed.
fn arm(town: &mut Town, point: &str) {
    let env = crash_at(point);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    town.restart(&env);
    assert!(town
        .hub
        .log()
        .contains(&format!("crash point {point} armed")));
}

/// Wait for the hub to die at `point`, then start it again, unarmed, on the same data.
fn crashed_and_restarted(town: &mut Town, point: &str) {
    let st = town.hub.wait_for_crash();
    assert_eq!(st.signal(), Some(libc_sigabrt()), "{st:?}");
    // The last lines of its stderr may still be on their way to the reader.
    let reached = format!("crash point {point} reached");
    for _ in 0..100 {
        if town.hub.log().contains(&reached) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        town.hub
            .log()
            .contains(&format!("crash point {point} reached")),
        "{}",
        town.hub.log()
    );
    town.restart(&[]);
}

fn libc_sigabrt() -> i32 {
    6
}

#[test]
fn an_unknown_crash_point_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(process::gridhub_bin())
        .arg("--data-dir")
        .arg(dir.path())
        .args(["admin", "devices"])
        .env("GRIDHUB_CRASH_AT", "push.afterr_commit")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such crash point"));
}

#[test]
fn enrollment_killed_before_its_commit_enrolls_nothing_and_the_device_enrolls_again() {
    let mut town = Town::new();
    let code = town.code(&town.small);
    arm(&mut town, "enroll.before_commit");
    let mut d = Device::new(&town.http);
    assert!(d.try_enroll(&code).is_none(), "no answer from a dying hub");
    crashed_and_restarted(&mut town, "enroll.before_commit");
    assert!(!town.state().devices.contains_key(&d.id));
    let r: EnrollResponse = d.enroll(&code).cbor();
    assert_eq!(r.grids, vec![town.small.clone()]);
    d.login();
    assert_eq!(town.state().devices.len(), 1);
    let (_, scopes) = d.pull_all(&[]);
    assert!(scopes.contains(&format!("grid:{}", town.small)));
}

#[test]
fn enrollment_killed_after_its_commit_answers_the_device_that_asks_again() {
    let mut town = Town::new();
    let code = town.code(&town.small);
    arm(&mut town, "enroll.after_commit");
    let mut d = Device::new(&town.http);
    assert!(d.try_enroll(&code).is_none());
    crashed_and_restarted(&mut town, "enroll.after_commit");
    assert_eq!(town.state().devices.len(), 1, "enrolled, once");
    // The device never heard; it asks again with the same code and key.
    let r: EnrollResponse = d.enroll(&code).cbor();
    assert_eq!(r.device_id, d.id);
    d.login();
    assert_eq!(town.state().devices.len(), 1);
    // Anyone else with the code is still refused.
    Device::new(&town.http).enroll(&code).refused(&[401]);
}

/// A batch touching every flow: a report, an edit of base data, a diary entry, a task
/// command, a notice receipt.
fn batch(town: &Town, d: &mut Device, task: &str, notice: &str) -> Vec<gridpad_proto::Mutation> {
    let (p, _) = town.record_in(Entity::Person, &town.small);
    let now = wire::rfc3339_now();
    vec![
        d.m(
            Entity::Event,
            &uuid::Uuid::now_v7().to_string(),
            Op::Insert,
            json!({"grid_id": town.small, "category_code": "0401", "description": "消防通道堵塞",
                   "status": "reported", "reporter": "网格员", "device_time": now}),
        ),
        d.m(Entity::Person, &p, Op::Update, json!({"note": "独居，需每周走访"})),
        d.m(
            Entity::Diary,
            &uuid::Uuid::now_v7().to_string(),
            Op::Insert,
            json!({"grid_id": town.small, "day": "2026-12-01", "content": "走访三户", "device_time": now}),
        ),
        d.m(
            Entity::Task,
            task,
            Op::Command("accept".into()),
            json!({"at": now}),
        ),
        d.m(Entity::Notice, notice, Op::Update, json!({"read_at": now})),
    ]
}

struct PushArena {
    town: Town,
    d: Device,
    honest: Honest,
    task: String,
    notice: String,
}

fn push_arena() -> PushArena {
    let town = Town::new();
    let d = town.device(&town.small);
    let task = town
        .admin_api(
            "post",
            "/v1/admin/tasks",
            &json!({"grid": town.small, "title": "排查燃气隐患"}),
        )
        .json()["task_id"]
        .as_str()
        .unwrap()
        .to_string();
    let notice = town
        .admin_api(
            "post",
            "/v1/admin/notices",
            &json!({"title": "会议通知", "body": "周五开会"}),
        )
        .json()["notice_id"]
        .as_str()
        .unwrap()
        .to_string();
    let honest = town.honest(&town.small);
    PushArena {
        town,
        d,
        honest,
        task,
        notice,
    }
}

/// The batch's effects at the hub, each exactly once.
fn assert_applied_once(
    town: &Town,
    before: &Snapshot,
    batch: &[gridpad_proto::Mutation],
    d: &Device,
) {
    let s = town.state();
    assert_eq!(s.mutations, before.mutations + batch.len() as u64);
    assert_eq!(
        s.devices[&d.id].2,
        batch.len() as u64,
        "last sequence number"
    );
    assert!(s.row(Entity::Event, &batch[0].row_id).is_some());
    assert!(s.row(Entity::Diary, &batch[2].row_id).is_some());
    assert_eq!(
        s.fields(Entity::Person, &batch[1].row_id).unwrap()["note"],
        "独居，需每周走访"
    );
    assert_eq!(
        s.fields(Entity::Task, &batch[3].row_id).unwrap()["status"],
        "accepted"
    );
    // One op in the grid's log for each of the batch's records that live in the grid.
    let grid = format!("grid:{}", town.small);
    let in_grid = batch
        .iter()
        .filter(|m| {
            s.row(m.entity, &m.row_id)
                .is_some_and(|r| r["scope"] == grid.as_str())
        })
        .count() as u64;
    assert!(in_grid >= 2, "the person and the task at least");
    // (Op ids are the hub's commit order over all scopes: count the grid's new ops.)
    let store = gridhub::sqlite::SqliteStore::open(town.dir.path()).unwrap();
    let scope: gridhub::store::Scope = grid.parse().unwrap();
    let new_ops =
        gridhub::store::with_tx(&store, |tx| tx.ops_after_count(&scope, before.logs[&grid]))
            .unwrap();
    assert_eq!(new_ops, in_grid, "the grid's log, once each");
    let events = s.live(Entity::Event).len();
    assert_eq!(events, before.live(Entity::Event).len() + 1);
}

fn resend_and_converge(a: &mut PushArena, batch: &[gridpad_proto::Mutation], before: &Snapshot) {
    // The device never heard: it sends the very same batch again.
    let mut req = a.d.request(batch.to_vec());
    req.push = batch.to_vec();
    let r: SyncResponse = a.d.sync(&req).cbor();
    assert_eq!(r.acked_through, batch.len() as u64);
    assert_eq!(r.verdicts.len(), batch.len());
    for v in &r.verdicts {
        assert_ne!(v.status, Status::Rejected, "{v:?}");
    }
    assert_applied_once(&a.town, before, batch, &a.d);
    a.honest.sync_complete();
    a.honest.assert_holds_grid(&a.town.state());
    let note: String = a
        .honest
        .store
        .conn()
        .query_row(
            "SELECT note FROM person WHERE id = ?",
            [&batch[1].row_id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(note, "独居，需每周走访", "the honest device has the edit");
}

#[test]
fn a_push_killed_before_its_commit_is_taken_once_when_sent_again() {
    let mut a = push_arena();
    let before = a.town.state();
    let (task, notice) = (a.task.clone(), a.notice.clone());
    let b = batch(&a.town, &mut a.d, &task, &notice);
    arm(&mut a.town, "push.after_verdicts");
    let req = a.d.request(b.clone());
    assert!(a.d.try_sync(&req).is_none());
    crashed_and_restarted(&mut a.town, "push.after_verdicts");
    let s = a.town.state();
    s.assert_data_unchanged(&before, "a push killed before its commit");
    assert_eq!(s.mutations, before.mutations);
    assert_eq!(s.devices[&a.d.id].2, 0);
    resend_and_converge(&mut a, &b, &before);
}

#[test]
fn a_push_killed_after_its_commit_is_not_taken_twice_when_sent_again() {
    let mut a = push_arena();
    let before = a.town.state();
    let (task, notice) = (a.task.clone(), a.notice.clone());
    let b = batch(&a.town, &mut a.d, &task, &notice);
    arm(&mut a.town, "push.after_commit");
    let req = a.d.request(b.clone());
    assert!(a.d.try_sync(&req).is_none());
    crashed_and_restarted(&mut a.town, "push.after_commit");
    assert_applied_once(&a.town, &before, &b, &a.d);
    resend_and_converge(&mut a, &b, &before);
}

fn facility_lines(grid: &str, n: usize) -> (Vec<String>, Vec<String>) {
    let hlc = format!("{:016x}-0000-hub", wire::now_ms());
    let ids: Vec<String> = (0..n).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let lines = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            json!({"entity": "facility", "row_id": id, "op": {"op": "insert"}, "hlc": hlc,
                   "fields": {"grid_id": grid, "kind": "路灯", "code": format!("LD-{i:05}"), "state": "normal"}})
            .to_string()
        })
        .collect();
    (ids, lines)
}

fn import(town: &Town, file: &std::path::Path, point: Option<&str>) -> std::process::Output {
    let mut c = town.hub.admin();
    c.arg("import").arg(file);
    if let Some(p) = point {
        c.env("GRIDHUB_CRASH_AT", p);
    }
    c.output().unwrap()
}

fn assert_imported_once(town: &Town, before: &Snapshot, ids: &[String]) {
    let s = town.state();
    for id in ids {
        assert!(
            s.row(Entity::Facility, id).is_some(),
            "facility {id} imported"
        );
    }
    assert_eq!(
        s.live(Entity::Facility).len(),
        before.live(Entity::Facility).len() + ids.len()
    );
    let grid = format!("grid:{}", town.small);
    assert_eq!(
        s.logs[&grid],
        before.logs[&grid] + ids.len() as u64,
        "one op per imported record, none twice"
    );
}

#[test]
fn an_import_killed_before_its_commit_imports_nothing_and_runs_again_whole() {
    let town = Town::new();
    let mut honest = town.honest(&town.small);
    let before = town.state();
    let (ids, lines) = facility_lines(&town.small, 50);
    let file = town.dir.path().join("facilities.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = import(&town, &file, Some("import.before_commit"));
    assert_eq!(out.status.signal(), Some(libc_sigabrt()));
    town.state()
        .assert_data_unchanged(&before, "an import killed before its commit");
    assert!(import(&town, &file, None).status.success());
    assert_imported_once(&town, &before, &ids);
    honest.sync_complete();
    honest.assert_holds_grid(&town.state());
}

#[test]
fn an_import_killed_between_batches_runs_again_without_doubles() {
    let town = Town::new();
    let mut honest = town.honest(&town.small);
    let before = town.state();
    let (ids, lines) = facility_lines(&town.small, 5_100);
    let file = town.dir.path().join("facilities.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = import(&town, &file, Some("import.after_batch"));
    assert_eq!(out.status.signal(), Some(libc_sigabrt()));
    let s = town.state();
    let got = ids
        .iter()
        .filter(|id| s.row(Entity::Facility, id).is_some())
        .count();
    assert_eq!(got, 5_000, "the first batch is in, the second not");
    // A device syncs in between: it must end up with the whole import, once.
    honest.sync_complete();
    assert!(import(&town, &file, None).status.success());
    assert_imported_once(&town, &before, &ids);
    honest.sync_complete();
    honest.assert_holds_grid(&town.state());
}

fn tasks_of(town: &Town, event: &str) -> Vec<String> {
    town.state()
        .live(Entity::Task)
        .into_iter()
        .filter(|(_, r)| r["fields"]["source_event_id"] == event)
        .map(|(id, _)| id.to_string())
        .collect()
}

#[test]
fn a_dispatch_killed_between_the_events_step_and_its_task_is_all_or_nothing() {
    let mut town = Town::new();
    let mut reporter = town.honest(&town.small);
    let event = reporter
        .store
        .report_event(gridpad_core::NewReport {
            category_code: "0401".into(),
            description: "路灯不亮".into(),
            reporter: "网格员".into(),
            ..Default::default()
        })
        .unwrap();
    reporter.sync_complete();
    let a = town.admin_api(
        "post",
        &format!("/v1/admin/events/{event}/transition"),
        &json!({"status": "accepted", "actor": "指挥中心"}),
    );
    assert_eq!(a.status, 204, "{}", a.text());
    arm(&mut town, "dispatch.after_transition");
    let r = town.http.try_send(
        "post",
        &format!("/v1/admin/events/{event}/dispatch"),
        Some(&town.admin_token),
        Some("application/json"),
        b"{}".to_vec(),
    );
    assert!(r.is_err(), "no answer from a dying hub");
    crashed_and_restarted(&mut town, "dispatch.after_transition");
    let status = |town: &Town| -> Value {
        town.state().fields(Entity::Event, &event).unwrap()["status"].clone()
    };
    // Either the whole dispatch happened or none of it.
    let tasks = tasks_of(&town, &event);
    match status(&town).as_str() {
        Some("accepted") => assert!(tasks.is_empty(), "no task without its dispatch"),
        Some("dispatched") => assert_eq!(tasks.len(), 1, "a dispatched event has its task"),
        s => panic!("event is {s:?}"),
    }
    if tasks.is_empty() {
        // The dispatcher, seeing no answer, dispatches again.
        let a = town.admin_api(
            "post",
            &format!("/v1/admin/events/{event}/dispatch"),
            &json!({}),
        );
        assert_eq!(a.status, 201, "{}", a.text());
    }
    assert_eq!(status(&town), "dispatched");
    assert_eq!(tasks_of(&town, &event).len(), 1, "exactly one task");
    reporter.sync_complete();
    let s = town.state();
    reporter.assert_holds_grid(&s);
    let on_device: String = reporter
        .store
        .conn()
        .query_row("SELECT status FROM event WHERE id = ?", [&event], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(on_device, "dispatched", "the reporter sees the dispatch");
}

/// An escalation (上报上级) killed between the event's step and its hop: neither is kept
/// (one transaction), the event is as it was, and the escalation made again goes to the
/// street — a hop kept without its step would have sent it on to the district.
#[test]
fn an_escalation_killed_between_the_events_step_and_its_hop_is_all_or_nothing() {
    let mut town = Town::new();
    let mut reporter = town.honest(&town.small);
    let event = reporter
        .store
        .report_event(gridpad_core::NewReport {
            category_code: "0401".into(),
            description: "井盖破损".into(),
            reporter: "网格员".into(),
            ..Default::default()
        })
        .unwrap();
    reporter.sync_complete();
    arm(&mut town, "handling.after_step");
    let r = town.http.try_send(
        "post",
        &format!("/v1/admin/events/{event}/escalate"),
        Some(&town.admin_token),
        Some("application/json"),
        json!({"reason": "社区无法处置"}).to_string().into_bytes(),
    );
    assert!(r.is_err(), "no answer from a dying hub");
    crashed_and_restarted(&mut town, "handling.after_step");
    let status = |town: &Town| -> Value {
        town.state().fields(Entity::Event, &event).unwrap()["status"].clone()
    };
    assert_eq!(status(&town), "reported", "neither the step nor the hop");
    let a = town.admin_api(
        "post",
        &format!("/v1/admin/events/{event}/escalate"),
        &json!({"reason": "社区无法处置"}),
    );
    assert_eq!(a.status, 200, "{}", a.text());
    let to = a.json()["to"].as_str().unwrap().to_string();
    assert!(to.ends_with("街道"), "one level up, not two: {to}");
    assert_eq!(status(&town), "escalated");
    reporter.sync_complete();
    let on_device: String = reporter
        .store
        .conn()
        .query_row("SELECT status FROM event WHERE id = ?", [&event], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(on_device, "escalated", "the reporter sees the escalation");
}

/// A photo's last byte arrives and the hub dies at `point` (between the last byte and
/// the completion, or inside it). After a restart the same upload is complete — or
/// completes when the device asks again — never an error for ever, and the photo queued
/// after it goes up.
fn an_upload_killed_at(point: &str) {
    use gridpad_hostile::photo::*;
    let mut town = Town::new();
    let mut d = town.device(&town.small);
    let first = photo_bytes(&format!("{point} 1"), 300_000);
    let second = photo_bytes(&format!("{point} 2"), 200_000);
    let (sha1, sha2) = (
        gridpad_evidence::seal::sha256_hex(&first),
        gridpad_evidence::seal::sha256_hex(&second),
    );
    report(&mut d, &[&sha1, &sha2]);
    arm(&mut town, point);
    d.login();
    let c = create(&d, &first);
    assert_eq!(c.status, 201, "{}", c.text());
    let id = c.json()["id"].as_str().unwrap().to_string();
    assert!(
        try_patch(&d, &id, 0, first.clone()).is_none(),
        "no answer from a dying hub"
    );
    crashed_and_restarted(&mut town, point);
    d.login();

    // HEAD: the upload is done (forgotten: 404) or has every byte; never a server error.
    let (status, offset) = head(&d, &id);
    assert!(
        status == 404 || (status == 204 && offset == Some(first.len() as u64)),
        "{point}: HEAD answered {status} {offset:?}"
    );
    // Asking again completes it (or finds it complete), and the hub holds the bytes.
    let again = create(&d, &first);
    assert_eq!(again.status, 200, "{point}: {}", again.text());
    assert_eq!(again.json()["complete"], true, "{}", again.text());
    assert_eq!(
        missing(&d, &[sha1.clone(), sha2.clone()]),
        vec![sha2.clone()]
    );
    let got = download(&d, &sha1);
    assert_eq!(got.status, 200);
    assert!(
        got.body == first,
        "{point}: the stored photo is the uploaded one"
    );
    // The photo queued behind it goes up.
    assert_eq!(upload(&d, &second), 204);
    assert!(missing(&d, &[sha1, sha2]).is_empty());
}

#[test]
fn an_upload_killed_between_its_last_byte_and_its_completion_completes_after_restart() {
    an_upload_killed_at("upload.before_complete");
}

#[test]
fn an_upload_killed_after_the_photo_is_stored_completes_after_restart() {
    an_upload_killed_at("upload.after_rename");
}

#[test]
fn an_upload_killed_after_its_delivery_is_marked_completes_after_restart() {
    an_upload_killed_at("upload.after_mark");
}

/// 督办 killed after a task's thresholds are marked and before its reminders and audit
/// line are written: the marks go with them (one transaction), so the next run reminds —
/// once — and no threshold is marked without its reminder.
#[test]
fn a_supervision_killed_between_its_marks_and_its_reminders_reminds_once() {
    let mut town = Town::new();
    // The serving hub would supervise on its own every minute: this test runs the job
    // through the command line alone, then lets the restarted hub run it.
    town.hub.kill();
    // A task of the small grid given one hour, two hours ago: overdue.
    let now = wire::now_ms();
    let at = |ms: u64| {
        chrono::DateTime::from_timestamp_millis(ms as i64)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let task = uuid::Uuid::now_v7().to_string();
    let line = json!({"entity": "task", "row_id": task, "op": {"op": "insert"},
        "hlc": format!("{now:016x}-0000-hub"),
        "fields": {"grid_id": town.small, "title": "清理楼道堆物", "status": "assigned",
                   "created_at": at(now - 7_200_000), "deadline_at": at(now - 3_600_000)}});
    let file = town.dir.path().join("task.jsonl");
    std::fs::write(&file, format!("{line}\n")).unwrap();
    gridpad_testkit::process::run(town.hub.admin().arg("import").arg(&file));
    let supervise = |town: &Town, point: Option<&str>| {
        let mut c = town.hub.admin();
        c.args(["supervise", "--json"]);
        if let Some(p) = point {
            c.env("GRIDHUB_CRASH_AT", p);
        }
        c.output().unwrap()
    };
    let out = supervise(&town, Some("supervise.after_mark"));
    assert_eq!(out.status.signal(), Some(libc_sigabrt()), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("crash point supervise.after_mark reached")
    );
    let lines = |town: &Town| {
        gridpad_testkit::process::run_json(town.hub.admin().args([
            "audit",
            "--action",
            "task.supervise",
            "--target",
            &format!("task:{task}"),
            "--json",
        ]))
        .as_array()
        .unwrap()
        .len()
    };
    assert_eq!(lines(&town), 0, "nothing of the killed run");
    let done: Value = serde_json::from_slice(&supervise(&town, None).stdout).unwrap();
    assert_eq!(
        done["tasks"], 1,
        "the thresholds were not left marked: it reminds now"
    );
    let again: Value = serde_json::from_slice(&supervise(&town, None).stdout).unwrap();
    assert_eq!(again["tasks"], 0, "and only once");
    // The serving hub's own run (at its start) reminds of nothing more either.
    town.restart(&[]);
    let late: Value = serde_json::from_slice(&supervise(&town, None).stdout).unwrap();
    assert_eq!(late["tasks"], 0);
    assert_eq!(lines(&town), 1, "one 督办 in the audit log");
}

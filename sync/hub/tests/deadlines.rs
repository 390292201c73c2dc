//! Deadlines in working time and the automatic 督办 (issue 16), on an in-process hub whose
//! clock the test moves: a dispatch takes the catalog's deadline for the event's 小类,
//! counted in working days over a 调休 Saturday; no deadline anywhere is refused; a year
//! the calendar lacks is refused until the centre imports it; a task's colour crosses
//! yellow, red and overdue on working time, and each threshold is reminded once, to the
//! grid's worker and the street's supervisor, in the event's timeline and the audit log.
//! Runs on PostgreSQL too (`GRIDHUB_TEST_BACKEND=postgres`).

mod common;
mod console_world;

use common::*;
use gridhub::accounts::NewAccount;
use gridhub::authz::Principal;
use gridhub::HubError;
use gridhub_store::with_tx;
use gridpad_core::demo::DemoSpec;
use gridpad_core::NewReport;
use gridpad_domain::codes::EventStatus;
use gridpad_domain::worktime::Deadline;
use gridpad_proto::{Entity, Hlc, Op, RemoteChange};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const PASSWORD: &str = "Zhenhai-2026-grid";

/// Milliseconds of an instant given in Beijing time.
fn cst(s: &str) -> u64 {
    chrono::DateTime::parse_from_rfc3339(&format!("{s}+08:00"))
        .unwrap()
        .timestamp_millis() as u64
}

fn instant(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

struct Town {
    th: TestHub,
    grid: String,
    dirs: Vec<tempfile::TempDir>,
}

/// The demo town, a field worker of the home grid and a supervisor of its street, with
/// the hub's clock at `at`.
fn town(at: u64) -> Town {
    let dir = tempfile::tempdir().unwrap();
    let th = TestHub::open(dir.path(), Arc::new(AtomicU64::new(at)));
    let cli = Principal::cli();
    let s = th
        .hub
        .seed_demo(
            &cli,
            DemoSpec {
                persons: 300,
                seed: 7,
            },
        )
        .unwrap();
    let tree = th.hub.org().unwrap();
    let street = tree
        .path(&s.home_grid_id)
        .into_iter()
        .find(|n| n.level == gridpad_domain::codes::GridLevel::Street)
        .unwrap()
        .id
        .clone();
    for (username, name, role, node) in [
        ("wang.wg", "王网格", "field_staff", s.home_grid_id.clone()),
        ("li.dd", "李督导", "supervisor", street.clone()),
        ("zhou.admin", "周管理", "system_administrator", street),
    ] {
        th.hub
            .create_account(
                &cli,
                &NewAccount {
                    username: username.into(),
                    display_name: name.into(),
                    role: role.into(),
                    node,
                    department_id: None,
                    password: (role != "field_staff").then(|| PASSWORD.to_string()),
                },
            )
            .unwrap();
    }
    Town {
        th,
        grid: s.home_grid_id,
        dirs: vec![dir],
    }
}

impl Town {
    fn set(&self, at: u64) {
        self.th.clock.store(at, Ordering::SeqCst);
    }

    /// A device of the home grid reports an event of 小类 `category`; the centre accepts it.
    fn accepted_event(&mut self, category: &str) -> String {
        let d = tempfile::tempdir().unwrap();
        let device = format!("0190a4b2-7c3d-7e00-8000-{:012}", self.dirs.len());
        let now = self.th.clock.load(Ordering::SeqCst);
        let mut dev = enrolled_device(&self.th.hub, d.path(), &device, &self.grid, now);
        let mut t = Direct {
            hub: self.th.hub.clone(),
            device_id: device,
        };
        sync_all(&mut dev, &mut t);
        let id = dev
            .report_event(NewReport {
                category_code: category.into(),
                description: "小区道路照明不足".into(),
                reporter: "网格员".into(),
                ..Default::default()
            })
            .unwrap();
        sync_all(&mut dev, &mut t);
        self.dirs.push(d);
        self.th
            .hub
            .transition_event(&Principal::cli(), &id, EventStatus::Accepted, "立案")
            .unwrap();
        id
    }

    fn task_deadline(&self, task: &str) -> chrono::DateTime<chrono::Utc> {
        let row = self.th.hub.row(Entity::Task, task).unwrap().unwrap();
        instant(row.fields["deadline_at"].as_str().unwrap())
    }

    fn reminders(&self, username: &str) -> Vec<gridhub_store::Reminder> {
        with_tx(self.th.hub.store(), |tx| {
            let a = tx.account_by_username(username)?.unwrap();
            tx.reminders_for(&a.id, 100)
        })
        .unwrap()
    }
}

#[test]
fn a_dispatch_takes_the_catalogs_deadline_in_working_days() {
    // Friday 9 October 2026, 16:00: the day before the 国庆 调休 Saturday.
    let mut w = town(cst("2026-10-09T16:00:00"));
    let ev = w.accepted_event("1002"); // 意见建议: 5 working days
    let task =
        w.th.hub
            .dispatch_event(&Principal::cli(), &ev, None)
            .unwrap();
    // Sat 10 (调休), Mon 12 … Thu 15: due when Thursday's working hours end.
    assert_eq!(w.task_deadline(&task), instant("2026-10-15T17:30:00+08:00"));
    // A dispatcher's own deadline wins over the catalog's.
    let ev = w.accepted_event("1002");
    let task =
        w.th.hub
            .dispatch_event(&Principal::cli(), &ev, Some(Deadline::working_hours(3)))
            .unwrap();
    assert_eq!(w.task_deadline(&task), instant("2026-10-10T10:00:00+08:00"));
}

#[test]
fn a_dispatch_without_any_deadline_is_refused_and_changes_nothing() {
    let mut w = town(cst("2026-11-17T10:00:00"));
    // The centre takes the deadline out of 意见建议's catalog entry.
    w.th.hub
        .import(
            &Principal::cli(),
            &[RemoteChange {
                entity: Entity::CatalogCategory,
                row_id: "1002".into(),
                op: Op::Update,
                fields: [("deadline_hours".to_string(), Value::Null)]
                    .into_iter()
                    .collect(),
                hlc: Hlc::new(cst("2026-11-17T10:00:00"), 0, "hub"),
            }],
        )
        .unwrap();
    let ev = w.accepted_event("1002");
    let e =
        w.th.hub
            .dispatch_event(&Principal::cli(), &ev, None)
            .unwrap_err();
    match &e {
        HubError::BadRequest(m) => assert!(m.starts_with("no deadline") && m.contains("1002")),
        other => panic!("{other:?}"),
    }
    let row = w.th.hub.row(Entity::Event, &ev).unwrap().unwrap();
    assert_eq!(row.fields["status"], json!("accepted"), "still accepted");
    assert!(w.th.hub.tasks(&Principal::cli(), 100).unwrap().is_empty());
    // Given one, it goes.
    w.th.hub
        .dispatch_event(&Principal::cli(), &ev, Some(Deadline::hours(24)))
        .unwrap();
}

#[test]
fn a_year_the_calendar_lacks_is_refused_until_the_centre_imports_it() {
    let mut w = town(cst("2026-12-31T16:00:00"));
    let ev = w.accepted_event("1002");
    let e =
        w.th.hub
            .dispatch_event(&Principal::cli(), &ev, None)
            .unwrap_err();
    assert!(e.to_string().contains("no year 2027"), "{e}");
    // Clock hours need no calendar.
    let ev2 = w.accepted_event("0401");
    w.th.hub
        .dispatch_event(&Principal::cli(), &ev2, None)
        .unwrap();
    // The centre imports 2027 (here a file with 元旦 alone: a stand-in for the State
    // Council's schedule); the same dispatch now goes through.
    let year =
        w.th.hub
            .import_calendar_year(&Principal::cli(), "year 2027\noff 2027-01-01 元旦\n")
            .unwrap();
    assert_eq!(year, 2027);
    assert_eq!(w.th.hub.calendar().unwrap().years(), vec![2026, 2027]);
    let task =
        w.th.hub
            .dispatch_event(&Principal::cli(), &ev, None)
            .unwrap();
    // 1 Jan off, 2–3 a weekend: Mon 4 … Fri 8 January.
    assert_eq!(w.task_deadline(&task), instant("2027-01-08T17:30:00+08:00"));
    let audit =
        w.th.hub
            .audit_log(&gridhub::audit::AuditQuery {
                action: Some("calendar.import".into()),
                ..Default::default()
            })
            .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].target, "calendar:2027");
    // A bad file is refused, naming its line; nothing changes.
    let e =
        w.th.hub
            .import_calendar_year(&Principal::cli(), "year 2028\noff 2028-02-30\n")
            .unwrap_err();
    assert!(e.to_string().contains("line 2"), "{e}");
    assert_eq!(w.th.hub.calendar().unwrap().years(), vec![2026, 2027]);
}

#[test]
fn supervision_reminds_once_per_threshold_on_working_time() {
    // Dispatched Friday 9 October 16:00 with 5 working days: 36.5 working hours, due
    // Thursday 15 October 17:30; yellow after 50 %, red after 80 %.
    let mut w = town(cst("2026-10-09T16:00:00"));
    let ev = w.accepted_event("1002");
    let task =
        w.th.hub
            .dispatch_event(&Principal::cli(), &ev, None)
            .unwrap();
    let run = |w: &Town, at: &str| {
        w.set(cst(at));
        let s = w.th.hub.supervise().unwrap();
        (s.tasks, s.reminders)
    };
    // Tuesday 08:00: 15.5 of 36.5 working hours (60 % of the clock's time): green.
    assert_eq!(run(&w, "2026-10-13T08:00:00"), (0, 0));
    // Tuesday 14:00: 19 h, 52 %: yellow — the worker and the street's supervisor.
    assert_eq!(run(&w, "2026-10-13T14:00:00"), (1, 2));
    assert_eq!(run(&w, "2026-10-13T14:01:00"), (0, 0), "once");
    assert_eq!(run(&w, "2026-10-14T16:00:00"), (0, 0), "still yellow");
    // Thursday 09:00: 30 h, 82 %: red.
    assert_eq!(run(&w, "2026-10-15T09:00:00"), (1, 2));
    // Thursday 17:30: overdue; then nothing more.
    assert_eq!(run(&w, "2026-10-15T17:30:00"), (1, 2));
    assert_eq!(run(&w, "2026-10-20T09:00:00"), (0, 0));

    for who in ["wang.wg", "li.dd"] {
        let r = w.reminders(who);
        let seen: Vec<&str> = r.iter().map(|r| r.threshold.as_str()).collect();
        assert_eq!(seen, ["overdue", "red", "yellow"], "{who}");
        assert!(r
            .iter()
            .all(|r| r.record_id == task && r.event_id.as_deref() == Some(&ev)));
        assert!(r[0].title.starts_with("已超期"), "{}", r[0].title);
    }
    assert_eq!(w.reminders("wang.wg")[0].reason, "responsible");
    assert_eq!(w.reminders("li.dd")[0].reason, "supervisor");
    // The event's timeline shows each 督办; the audit log holds them.
    let row = w.th.hub.row(Entity::Event, &ev).unwrap().unwrap();
    let steps = w.th.hub.event_timeline(&row).unwrap();
    let urged: Vec<&str> = steps
        .iter()
        .filter(|s| s.actor == "自动督办")
        .map(|s| s.note.as_str())
        .collect();
    assert_eq!(urged.len(), 3, "{steps:?}");
    assert!(
        urged[0].contains("黄灯") && urged[0].contains("王网格") && urged[0].contains("李督导")
    );
    assert!(w.th.hub.verify_audit().unwrap().is_ok());
}

#[test]
fn a_hub_that_was_down_reminds_once_of_the_worst_threshold_crossed() {
    let mut w = town(cst("2026-10-09T16:00:00"));
    let ev = w.accepted_event("1002");
    w.th.hub
        .dispatch_event(&Principal::cli(), &ev, None)
        .unwrap();
    // The hub was down all week: the first run after the deadline marks all three
    // thresholds and reminds once, of the worst.
    w.set(cst("2026-10-16T09:00:00"));
    assert_eq!(w.th.hub.supervise().unwrap().reminders, 2);
    let r = w.reminders("wang.wg");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].threshold, "overdue");
    let marked = with_tx(w.th.hub.store(), |tx| {
        tx.marked_thresholds("task", &r[0].record_id)
    })
    .unwrap();
    assert_eq!(marked.len(), 3);
    assert_eq!(w.th.hub.supervise().unwrap().reminders, 0);
}

/// Signs `username` in over the API and sends `method path body` with its session.
async fn as_account(
    app: &axum::Router,
    username: &str,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    use axum::body::Body;
    use axum::http::{header, Request};
    use tower::ServiceExt;
    let send = |req: Request<Body>| async {
        let resp = app.clone().oneshot(req).await.unwrap();
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24)
            .await
            .unwrap();
        let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, v, headers)
    };
    let (st, me, headers) = send(
        Request::post("/v1/session")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"username": username, "password": PASSWORD}).to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200, "{me}");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let (st, v, _) = send(
        Request::builder()
            .method(method)
            .uri(path)
            .header(header::COOKIE, cookie)
            .header("x-csrf-token", me["csrf"].as_str().unwrap())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await;
    (st, v)
}

#[tokio::test(flavor = "multi_thread")]
async fn over_http_a_supervisor_reads_its_reminders_and_an_administrator_imports_a_year() {
    let mut w = town(cst("2026-10-09T16:00:00"));
    let ev = w.accepted_event("1002");
    w.th.hub
        .dispatch_event(&Principal::cli(), &ev, None)
        .unwrap();
    w.set(cst("2026-10-13T14:00:00"));
    w.th.hub.supervise().unwrap();
    let app = gridhub::http::router(w.th.hub.clone());
    let (st, list) = as_account(&app, "li.dd", "GET", "/v1/session/reminders", Value::Null).await;
    assert_eq!(st, 200, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["threshold"], "yellow");
    assert_eq!(list[0]["event_id"], json!(ev));
    // The calendar of 2027, by the system administrator; the path names the file's year.
    let text = "year 2027\noff 2027-01-01 元旦\n";
    let path = "/v1/admin/calendar/2028";
    let (st, _) = as_account(&app, "zhou.admin", "PUT", path, json!({ "text": text })).await;
    assert_eq!(st, 400, "the path says 2028, the file 2027");
    let path = "/v1/admin/calendar/2027";
    let (st, _) = as_account(&app, "li.dd", "PUT", path, json!({ "text": text })).await;
    assert_eq!(st, 403, "a supervisor does not keep the calendar");
    let (st, v) = as_account(&app, "zhou.admin", "PUT", path, json!({ "text": text })).await;
    assert_eq!(st, 204, "{v}");
    assert_eq!(w.th.hub.calendar().unwrap().years(), vec![2026, 2027]);
}

/// The console's task page colours a task as 督办 does, on working time: on Tuesday 08:00
/// the clock's share is 60 % (yellow on the clock) but 15.5 of 36.5 working hours are gone
/// (green); at 14:00 it turns yellow, when the worker and the supervisor are reminded.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_colours_a_task_on_working_time_as_the_reminders_do() {
    use console_world::{get, send, sign_in};
    let mut w = town(cst("2026-10-09T16:00:00"));
    let ev = w.accepted_event("1002");
    let task =
        w.th.hub
            .dispatch_event(&Principal::cli(), &ev, None)
            .unwrap();
    let app = gridhub::http::router(w.th.hub.clone());
    let colours = |page: &str| -> Vec<&str> {
        ["green", "yellow", "red", "overdue"]
            .into_iter()
            .filter(|c| page.contains(&format!("dl dl-{c}")))
            .collect()
    };
    // (Signed in at each moment: a session ends after 30 idle minutes.)
    w.set(cst("2026-10-13T08:00:00"));
    let cookie = sign_in(&app, "li.dd").await;
    let page = send(&app, get(&format!("/tasks/{task}"), &cookie)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(colours(&page.body), ["green"]);
    assert_eq!(w.th.hub.supervise().unwrap().reminders, 0);
    w.set(cst("2026-10-13T14:00:00"));
    let cookie = sign_in(&app, "li.dd").await;
    let page = send(&app, get(&format!("/tasks/{task}"), &cookie)).await;
    assert_eq!(colours(&page.body), ["yellow"]);
    assert_eq!(w.th.hub.supervise().unwrap().reminders, 2);
}

/// An event a department holds (派遣至部门) is due at its hop's deadline: the department's
/// handler and the supervisor above the dispatching level are reminded once per threshold
/// crossed, in the event's timeline; once the department has handled it, no more.
#[test]
fn a_department_is_reminded_of_the_deadline_it_holds_an_event_under() {
    let mut w = town(cst("2026-10-12T09:00:00"));
    let ev = w.accepted_event("1002");
    let cli = Principal::cli();
    let tree = w.th.hub.org().unwrap();
    let street = tree
        .path(&w.grid)
        .into_iter()
        .find(|n| n.level == gridpad_domain::codes::GridLevel::Street)
        .unwrap()
        .id
        .clone();
    let dep =
        w.th.hub
            .add_department(
                &cli,
                &gridhub::departments::NewDepartment {
                    code: "cg".into(),
                    name: "城管中队".into(),
                    node: street.clone(),
                },
            )
            .unwrap();
    w.th.hub
        .create_account(
            &cli,
            &NewAccount {
                username: "cg.zhang".into(),
                display_name: "张队员".into(),
                role: "department_handler".into(),
                node: street,
                department_id: Some(dep.id.clone()),
                password: Some(PASSWORD.into()),
            },
        )
        .unwrap();
    w.th.hub
        .dispatch_to_department(&cli, &ev, &dep.id, Some(Deadline::hours(10)), "", None)
        .unwrap();
    // Past half of ten clock hours: yellow (the catalog's 50 %), reminded once.
    w.set(cst("2026-10-12T13:59:00"));
    assert_eq!(w.th.hub.supervise().unwrap().reminders, 0, "still green");
    w.set(cst("2026-10-12T14:30:00"));
    let s = w.th.hub.supervise().unwrap();
    assert_eq!((s.department_events, s.reminders), (1, 2), "{s:?}");
    assert_eq!(w.th.hub.supervise().unwrap().reminders, 0, "once");
    let mine = w.reminders("cg.zhang");
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0].entity.as_str(), mine[0].record_id.as_str()),
        ("event", ev.as_str())
    );
    assert_eq!(mine[0].threshold, "yellow");
    assert!(mine[0].title.contains("城管中队"), "{}", mine[0].title);
    assert_eq!(w.reminders("li.dd").len(), 1, "the street's supervisor");
    let timeline =
        w.th.hub
            .event_timeline(&w.th.hub.row(Entity::Event, &ev).unwrap().unwrap())
            .unwrap();
    assert!(
        timeline
            .iter()
            .any(|s| s.note.starts_with("督办（黄灯预警）")),
        "{timeline:?}"
    );
    // Handled by the department: past its deadline, nobody is reminded.
    let account = with_tx(w.th.hub.store(), |tx| tx.account_by_username("cg.zhang"))
        .unwrap()
        .unwrap();
    let handler = Principal::of_account(&account, &tree, "127.0.0.1", None);
    w.th.hub
        .department_handle(&handler, &ev, "已清理", None)
        .unwrap();
    w.set(cst("2026-10-12T20:00:00"));
    assert_eq!(w.th.hub.supervise().unwrap().reminders, 0);
}

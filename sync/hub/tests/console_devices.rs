//! The console's devices and tasks pages (issue 15), through the router as a browser
//! reaches them — and, for a lock, a device syncing over real HTTP on loopback: a
//! dispatcher sees only its street's devices and tasks; a lock from the page makes the
//! device's next sync take nothing; a form without the session's CSRF token changes
//! nothing; an enrollment code is shown once (text and a QR image that decodes to it) and
//! is in no URL; a task made on the page reaches the grid's device, and the device's
//! feedback shows on the task's page.

mod common;
mod console_world;

use axum::http::StatusCode;
use common::*;
use console_world::*;
use gridhub::authz::Principal;
use gridhub::centre::NewTask;
use gridpad_domain::codes::TaskCommand;
use gridpad_domain::worktime::Deadline;
use gridpad_sync::DeviceCommand;

fn task(w: &World, grid: &str, title: &str) -> String {
    w.th.hub
        .create_task(
            &Principal::cli(),
            &NewTask {
                grid,
                title,
                body: "",
                deadline: Some(Deadline::hours(24)),
                source_event: None,
                assignee: None,
            },
        )
        .unwrap()
}

fn audit_actions(w: &World, target: &str) -> Vec<String> {
    w.th.hub
        .audit_log(&gridhub::audit::AuditQuery {
            target: Some(target.into()),
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|l| l.action)
        .collect()
}

fn device_status(w: &World, id: &str) -> String {
    w.th.hub
        .device_health(&Principal::cli())
        .unwrap()
        .into_iter()
        .find(|d| d.device_id == id)
        .unwrap()
        .status
        .as_str()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dispatcher_sees_only_the_devices_and_tasks_of_its_street() {
    let w = world();
    let task_a = task(&w, &w.grid_a, "清理招宝山路堆物");
    let task_b = task(&w, &w.grid_b, "检查蛟川路灯");
    let a = sign_in(&w.app, "zhaobao").await;
    let b = sign_in(&w.app, "jiaochuan").await;
    for (s, mine, theirs, my_task, their_task) in [
        (&a, &w.device_a, &w.device_b, &task_a, &task_b),
        (&b, &w.device_b, &w.device_a, &task_b, &task_a),
    ] {
        let devices = send(&w.app, get("/devices", s)).await;
        assert_eq!(devices.status, StatusCode::OK);
        assert_secure(&devices, "/devices");
        assert_eq!(devices.headers["cache-control"], "no-store");
        assert!(devices.body.contains(&format!("data-device=\"{mine}\"")));
        assert!(!devices.body.contains(theirs.as_str()), "{}", devices.body);
        assert!(!devices.body.contains("<script>") && !devices.body.contains(" style="));
        // A dispatcher reads devices but neither locks them nor issues codes.
        assert!(!devices.body.contains("/act\""), "no device actions");
        assert!(!devices.body.contains("/devices/enroll"));
        let tasks = send(&w.app, get("/tasks", s)).await;
        assert_secure(&tasks, "/tasks");
        assert!(!tasks.body.contains("<script>") && !tasks.body.contains(" style="));
        assert!(tasks.body.contains(&format!("data-task=\"{my_task}\"")));
        assert!(!tasks.body.contains(their_task.as_str()));
        let other = send(&w.app, get(&format!("/tasks/{their_task}"), s)).await;
        assert_eq!(other.status, StatusCode::NOT_FOUND);
        assert!(other.body.contains("没有找到"));
        let own = send(&w.app, get(&format!("/tasks/{my_task}"), s)).await;
        assert_eq!(own.status, StatusCode::OK);
        assert!(own.body.contains("data-status=\"assigned\""));
        // The navigation leads to both pages.
        assert!(own.body.contains("href=\"/tasks\"") && own.body.contains("href=\"/devices\""));
    }
    // The fleet manager of 招宝山 may not lock 蛟川's device: as if it did not exist.
    let fm = sign_in(&w.app, "zhaobao.fleet").await;
    let page = send(&w.app, get("/devices", &fm)).await.body;
    assert!(!page.contains(&w.device_b));
    let r = send(
        &w.app,
        post(
            &format!("/devices/{}/act", w.device_b),
            &fm,
            &[("csrf", &field(&page, "csrf")), ("action", "lock")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(device_status(&w, &w.device_b), "active");
    // A fleet manager has no events or tasks: its start page is the devices page.
    let start = send(&w.app, get("/", &fm)).await;
    assert_eq!(start.headers["location"], "/devices");
    assert_eq!(
        send(&w.app, get("/tasks", &fm)).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_from_the_page_makes_the_devices_next_sync_over_http_take_nothing() {
    let w = world();
    // The hub's real HTTP surface on loopback; device A syncs through it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = gridhub::http::router(w.th.hub.clone());
    tokio::spawn(gridhub::conn::serve(
        listener,
        None,
        app,
        gridhub::conn::Limits::default(),
        std::future::pending(),
    ));
    let (dir, id) = (w.device_a_dir.clone(), w.device_a.clone());
    let (b2, dir2, id2) = (base.clone(), dir.clone(), id.clone());
    let first = tokio::task::spawn_blocking(move || {
        let mut store = gridpad_core::Store::open(&dir2, PIN).unwrap();
        let mut http =
            gridpad_sync::http::HttpTransport::new(&b2, &id2, store.device_keypair().unwrap())
                .unwrap();
        gridpad_sync::exchange(&mut store, &mut http, gridpad_sync::Limits::default()).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(first.command, None, "an active device syncs");

    let fm = sign_in(&w.app, "zhaobao.fleet").await;
    let page = send(&w.app, get("/devices", &fm)).await;
    assert!(page
        .body
        .contains(&format!("data-device=\"{id}\" data-status=\"active\"")));
    let csrf = field(&page.body, "csrf");
    let act = format!("/devices/{id}/act");
    let r = send(
        &w.app,
        post(&act, &fm, &[("csrf", &csrf), ("action", "lock")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = send(&w.app, get("/devices", &fm)).await.body;
    assert!(page.contains(&format!("data-device=\"{id}\" data-status=\"locked\"")));
    assert!(
        page.contains("已锁定：终端下次连接中心时停止同步"),
        "the done message"
    );
    // Locking it again changes nothing twice.
    let again = send(
        &w.app,
        post(&act, &fm, &[("csrf", &csrf), ("action", "lock")]),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        audit_actions(&w, &format!("device:{id}")),
        ["device.locked"]
    );

    // The worker reports; the locked device's next sync is told "locked" and takes nothing.
    let sync_with_report = |desc: &'static str| {
        let (b2, dir2, id2) = (base.clone(), dir.clone(), id.clone());
        tokio::task::spawn_blocking(move || {
            let mut store = gridpad_core::Store::open(&dir2, PIN).unwrap();
            let grid = store.kv("grid_id").unwrap().unwrap();
            store
                .report_event(gridpad_core::NewReport {
                    grid_id: Some(grid),
                    category_code: "0401".into(),
                    description: desc.into(),
                    reporter: REPORTER.into(),
                    ..Default::default()
                })
                .unwrap();
            let mut http =
                gridpad_sync::http::HttpTransport::new(&b2, &id2, store.device_keypair().unwrap())
                    .unwrap();
            gridpad_sync::exchange(&mut store, &mut http, gridpad_sync::Limits::default()).unwrap()
        })
    };
    let locked = sync_with_report("锁定后上报的事件").await.unwrap();
    assert_eq!(locked.command, Some(DeviceCommand::Lock));
    assert_eq!(
        (locked.acked, locked.pulled_ops),
        (0, 0),
        "nothing taken or sent"
    );
    let seen = |w: &World, d: &str| {
        w.th.hub
            .events(&Principal::cli(), 10_000)
            .unwrap()
            .iter()
            .any(|e| e.fields["description"] == d)
    };
    assert!(!seen(&w, "锁定后上报的事件"));

    // Unlocked from the page: the next sync takes what waited.
    let r = send(
        &w.app,
        post(&act, &fm, &[("csrf", &csrf), ("action", "unlock")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let open = sync_with_report("解锁后上报的事件").await.unwrap();
    assert_eq!(open.command, None);
    assert!(open.acked >= 2, "both reports taken: {open:?}");
    assert!(seen(&w, "锁定后上报的事件") && seen(&w, "解锁后上报的事件"));

    // A wipe first shows what it does and changes nothing; the confirmation wipes.
    let confirm = send(
        &w.app,
        post(&act, &fm, &[("csrf", &csrf), ("action", "wipe")]),
    )
    .await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("加密擦除") && confirm.body.contains("不可撤销"));
    assert!(confirm.body.contains("name=\"confirm\" value=\"yes\""));
    assert_eq!(
        device_status(&w, &id),
        "active",
        "not wiped before the confirmation"
    );
    let r = send(
        &w.app,
        post(
            &act,
            &fm,
            &[("csrf", &csrf), ("action", "wipe"), ("confirm", "yes")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(device_status(&w, &id), "wiped");
    assert_eq!(
        audit_actions(&w, &format!("device:{id}")),
        ["device.locked", "device.active", "device.wiped"]
    );
    // A wiped device stays wiped: no unlock, and a message instead of a raw error.
    let r = send(
        &w.app,
        post(&act, &fm, &[("csrf", &csrf), ("action", "unlock")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("新的注册码"), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_devices_or_tasks_form_without_the_sessions_csrf_token_changes_nothing() {
    let w = world();
    let fm = sign_in(&w.app, "zhaobao.fleet").await;
    let d = sign_in(&w.app, "zhaobao").await;
    let page = send(&w.app, get("/tasks", &d)).await.body;
    let once = field(&page, "once");
    for csrf in ["", "x", "0123456789abcdef0123456789abcdef"] {
        let r = send(
            &w.app,
            post(
                &format!("/devices/{}/act", w.device_a),
                &fm,
                &[("csrf", csrf), ("action", "lock")],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.body.contains("表单已过期"), "in Chinese: {}", r.body);
        let r = send(
            &w.app,
            post(
                "/devices/enroll",
                &fm,
                &[("csrf", csrf), ("holder", "王网格员"), ("grid", &w.grid_a)],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = send(
            &w.app,
            post(
                "/tasks",
                &d,
                &[
                    ("csrf", csrf),
                    ("once", &once),
                    ("grid", &w.grid_a),
                    ("title", "不该下发的任务"),
                ],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(device_status(&w, &w.device_a), "active");
    assert!(w.th.hub.tasks(&Principal::cli(), 100).unwrap().is_empty());
    let codes =
        w.th.hub
            .audit_log(&gridhub::audit::AuditQuery {
                action: Some("code.issue".into()),
                ..Default::default()
            })
            .unwrap();
    assert!(
        codes.iter().all(|l| l.actor_name != "zhaobao.fleet"),
        "no code issued"
    );
}

/// The QR image's dark modules, read back from the page's SVG path and decoded.
fn decode_qr(html: &str) -> String {
    let at = html.find("<svg class=\"qr\"").expect("a QR image");
    let svg = &html[at..at + html[at..].find("</svg>").unwrap()];
    let vb = svg.find("viewBox=\"0 0 ").unwrap() + 13;
    let size: usize = svg[vb..].split(' ').next().unwrap().parse().unwrap();
    let d = svg.find(" d=\"").unwrap() + 4;
    let d = &svg[d..d + svg[d..].find('"').unwrap()];
    let mut dark = vec![false; size * size];
    for cell in d.split('M').filter(|c| !c.is_empty()) {
        let xy = cell.split('h').next().unwrap();
        let (x, y) = xy.split_once(' ').unwrap();
        let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
        dark[y * size + x] = true;
    }
    let scale = 6;
    let px = size * scale;
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(px, px, |x, y| {
        if dark[(y / scale) * size + x / scale] {
            0
        } else {
            255
        }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().unwrap().1
}

#[tokio::test(flavor = "multi_thread")]
async fn an_enrollment_code_is_shown_once_as_text_and_qr_and_is_in_no_url() {
    let w = world();
    let fm = sign_in(&w.app, "zhaobao.fleet").await;
    let page = send(&w.app, get("/devices", &fm)).await.body;
    assert!(page.contains("id=\"enroll-form\""));
    let csrf = field(&page, "csrf");
    // Bad input: a message in the user's language, no code.
    let r = send(
        &w.app,
        post(
            "/devices/enroll",
            &fm,
            &[("csrf", &csrf), ("holder", "王网格员")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("请填写持有人并选择网格"), "{}", r.body);
    assert!(!r.body.contains("code-text"));
    let r = send(
        &w.app,
        post(
            "/devices/enroll",
            &fm,
            &[("csrf", &csrf), ("holder", "王网格员"), ("grid", &w.grid_b)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "another street's grid");
    assert!(r.body.contains("无法生成注册码"));

    let r = send(
        &w.app,
        post(
            "/devices/enroll",
            &fm,
            &[
                ("csrf", &csrf),
                ("holder", "王网格员"),
                ("grid", &w.grid_a),
                ("label", "备用终端"),
                ("days", "3"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_secure(&r, "the code's page");
    assert_eq!(r.headers["cache-control"], "no-store");
    assert!(
        !r.body.contains("<script>") && !r.body.contains(" style="),
        "the policy holds"
    );
    let at = r.body.find("id=\"code-text\">").expect("the code as text") + 15;
    let code = r.body[at..at + r.body[at..].find('<').unwrap()].to_string();
    assert_eq!(code.len(), 14, "{code}");
    assert_eq!(
        r.body.matches(&code).count(),
        1,
        "the code is on the page once"
    );
    assert_eq!(decode_qr(&r.body), code, "the QR image holds the code");
    assert!(
        r.body.contains("2026-11-21"),
        "its expiry (T0 + 3 days) in Beijing time"
    );
    for u in urls(&r.body) {
        assert!(!u.contains(&code), "{u}");
    }
    // Not again: the next page has no code, and the audit line names no code.
    let next = send(&w.app, get("/devices", &fm)).await.body;
    assert!(!next.contains(&code) && !next.contains("code-text"));
    let lines =
        w.th.hub
            .audit_log(&gridhub::audit::AuditQuery {
                action: Some("code.issue".into()),
                ..Default::default()
            })
            .unwrap();
    let line = lines.last().unwrap();
    assert_eq!(line.actor_name, "zhaobao.fleet");
    let text = serde_json::to_string(&(&line.before, &line.after, &line.target)).unwrap();
    assert!(!text.contains(&code) && !text.contains(&code.replace('-', "")));
    // The code is real: a new device enrolls with it, for the grid chosen.
    let dir = tempfile::tempdir().unwrap();
    let dev = enrolled_device_with_code(
        &w.th.hub,
        dir.path(),
        "0190a4b2-7c3d-7e00-8000-0000000000c1",
        &code,
        T0,
    );
    assert_eq!(dev.kv("grid_id").unwrap().unwrap(), w.grid_a);

    // For a field staff account: chosen from the form's list, the code is the person's.
    w.th.hub
        .create_account(
            &Principal::cli(),
            &gridhub::accounts::NewAccount {
                username: "wang.fang".into(),
                display_name: "王芳".into(),
                role: "field_staff".into(),
                node: "33021100100101".into(),
                department_id: None,
                password: None,
            },
        )
        .unwrap();
    let page = send(&w.app, get("/devices", &fm)).await.body;
    assert!(page.contains("<option value=\"wang.fang\">王芳 (wang.fang)</option>"));
    let r = send(
        &w.app,
        post(
            "/devices/enroll",
            &fm,
            &[("csrf", &csrf), ("account", "wang.fang")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("<dd>王芳</dd>"));
    let at = r.body.find("id=\"code-text\">").unwrap() + 15;
    let code = &r.body[at..at + 14];
    assert_eq!(decode_qr(&r.body), code);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_made_on_the_page_reaches_the_grid_and_shows_the_devices_feedback() {
    let w = world();
    let s = sign_in(&w.app, "zhaobao").await;
    let page = send(&w.app, get("/tasks", &s)).await.body;
    let (csrf, once) = (field(&page, "csrf"), field(&page, "once"));
    // No title: a message in the user's language, the form kept, nothing created.
    let r = send(
        &w.app,
        post(
            "/tasks",
            &s,
            &[
                ("csrf", &csrf),
                ("once", &once),
                ("grid", &w.grid_a),
                ("body", "说明"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("请填写任务标题"));
    let form = [
        ("csrf", csrf.as_str()),
        ("once", once.as_str()),
        ("grid", w.grid_a.as_str()),
        ("title", "排查招宝山路 5 号消防通道"),
        ("body", "清点堆放物品\r\n拍照上报"),
        ("hours", "12"),
    ];
    let r = send(&w.app, post("/tasks", &s, &form)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = r.headers["location"].to_str().unwrap().to_string();
    let id = to.trim_start_matches("/tasks/").to_string();
    let page = send(&w.app, get(&to, &s)).await.body;
    assert!(page.contains("任务已下发") && page.contains("data-status=\"assigned\""));
    // The same form again (a double click): the same task, not a second one.
    let again = send(&w.app, post("/tasks", &s, &form)).await;
    assert_eq!(again.headers["location"].to_str().unwrap(), to);
    let page = send(&w.app, get(&to, &s)).await.body;
    assert!(page.contains("此表单已提交过"), "{page}");
    let tasks = w.th.hub.tasks(&Principal::cli(), 100).unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].fields["body"], "清点堆放物品\n拍照上报");
    assert_eq!(audit_actions(&w, &format!("task:{id}")), ["task.create"]);

    // The grid's device receives it, accepts, completes with feedback.
    let mut dev = gridpad_core::Store::open(&w.device_a_dir, PIN).unwrap();
    let mut t = Direct {
        hub: w.th.hub.clone(),
        device_id: w.device_a.clone(),
    };
    sync_all(&mut dev, &mut t);
    dev.task_command(&id, TaskCommand::Accept, "", &[], None)
        .unwrap();
    sync_all(&mut dev, &mut t);
    let page = send(&w.app, get(&to, &s)).await.body;
    assert!(page.contains("data-status=\"accepted\""));
    // With a result photo: the hub keeps it (the console shows it once its bytes arrive;
    // until then, that it has not been received).
    let result = "ab".repeat(32);
    dev.register_photo(&result, 2_048, "image/jpeg", Some(1280), Some(960))
        .unwrap();
    dev.task_command(
        &id,
        TaskCommand::Complete,
        "通道已清理，堆物已移走",
        std::slice::from_ref(&result),
        None,
    )
    .unwrap();
    sync_all(&mut dev, &mut t);
    let page = send(&w.app, get(&to, &s)).await.body;
    assert!(page.contains("data-status=\"completed\""), "{page}");
    assert!(page.contains("通道已清理，堆物已移走"));
    let row = w.th.hub.task_for(&Principal::cli(), &id).unwrap();
    assert_eq!(
        gridhub::centre::task_result_photos(&row),
        vec![result.clone()]
    );
    assert!(page.contains("id=\"task-result-photos\""), "{page}");
    assert!(page.contains("照片尚未收到"), "not received yet: {page}");
    let photo = send(&w.app, get(&format!("{to}/photos/{result}"), &s)).await;
    assert_eq!(photo.status, StatusCode::NOT_FOUND, "no bytes yet");
    // Another street's dispatcher: not found, whether or not the photo is there.
    let other = sign_in(&w.app, "jiaochuan").await;
    let r = send(&w.app, get(&format!("{to}/photos/{result}"), &other)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let list = send(&w.app, get("/tasks", &s)).await.body;
    assert!(list.contains(&format!("data-task=\"{id}\" data-status=\"completed\"")));
    // The English page says it in English.
    let en = send(&w.app, get(&to, &format!("{s}; gridhub_lang=en")))
        .await
        .body;
    assert!(en.contains(">Completed<") && en.contains("Progress"));
    assert!(!en.contains("处置进度") && !en.contains("已完成"));
}

//! The command-centre console in a real browser (Debian's chromium through chromedriver,
//! headless, 1366×768) against a real `gridhub serve` and a real `gridpad` device: the
//! closed loop from the centre's screen. A device reports with a photo → the report
//! appears in the open queue without a reload → the dispatcher opens it, sees the photo,
//! accepts and dispatches (a double submission dispatches once) → the device completes
//! the task with a result photo → the dispatcher sees it, verifies and closes → the device shows it closed. A
//! dispatcher of another street neither sees it nor opens it; the auditor finds the steps
//! in the audit viewer. Every page is photographed in both languages into docs/console/.
//!
//! Skipped (with a message) only when chromedriver is missing and GRIDPAD_REQUIRE_BROWSER
//! is unset; tests/run-all.sh sets it.
//!   cargo test -p gridpad-e2e --test console_browser -- --nocapture

use gridpad_e2e::console::*;
use gridpad_e2e::webdriver::{chromedriver, Browser};
use gridpad_testkit::process::*;
use serde_json::Value;
use std::path::Path;
use std::time::Instant;

const DESCRIPTION: &str = "5栋东侧人行道井盖缺失，夜间行人易踩空";

/// A camera-like JPEG (gradients and checks).
fn photo(path: &Path) {
    let img = image::RgbImage::from_fn(1280, 960, |i, j| {
        let check = ((i / 80 + j / 80) % 2) as u8 * 90;
        image::Rgb([(i * 255 / 1280) as u8, (j * 255 / 960) as u8, 60 + check])
    });
    img.save(path).unwrap();
}

#[test]
fn a_dispatcher_walks_the_closed_loop_in_the_browser() {
    let Some(driver) = chromedriver() else {
        if std::env::var_os("GRIDPAD_REQUIRE_BROWSER").is_some() {
            panic!("chromedriver is not installed (apt-get install chromium chromium-driver) and GRIDPAD_REQUIRE_BROWSER is set");
        }
        eprintln!("SKIPPED: no chromedriver (apt-get install chromium chromium-driver); set GRIDPAD_REQUIRE_BROWSER=1 to fail instead");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (hub_dir, dev) = (tmp.path().join("hub"), tmp.path().join("device"));
    let seeded =
        run_json(gridhub_admin(&hub_dir).args(["seed-demo", "--persons", "300", "--json"]));
    let grid = seeded["home_grid_code"].as_str().unwrap().to_string();
    account(&hub_dir, "zhaobao", "dispatcher", "330211001", None);
    account(&hub_dir, "jiaochuan", "dispatcher", "330211002", None);
    account(&hub_dir, "shenji", "auditor", "330211", None);
    let (hub, url) = hub_and_device(&hub_dir, &dev, &grid);

    let b = Browser::start(&driver);
    b.goto(&format!("{url}/"));
    b.wait_for("the login page", WAIT, |b| b.url().ends_with("/login"));
    both_languages(&b, "login", &|_| {});
    sign_in(&b, &url, "zhaobao");
    assert!(b.text().contains("事件队列"));

    // The worker reports with a photo while the dispatcher watches the open queue.
    let jpeg = tmp.path().join("manhole.jpg");
    photo(&jpeg);
    let ev = run_json(
        gridpad(&dev)
            .args([
                "report",
                "--category",
                "0401",
                "--description",
                DESCRIPTION,
                "--lat",
                "29.9493",
                "--lon",
                "121.7131",
                "--accuracy",
                "5",
                "--json",
                "--photo",
            ])
            .arg(&jpeg),
    );
    let id = ev["id"].as_str().unwrap().to_string();
    b.js("window.__samePage = true; return null");
    let row = format!("tr[data-event='{id}']");
    let started = Instant::now();
    run(gridpad(&dev).args(["sync", "--once"]));
    let synced = started.elapsed();
    b.wait_for("the report in the queue", WAIT, |b| {
        b.js(&format!(
            "return document.querySelector(\"{row}\") !== null"
        )) == true
    });
    let appeared = started.elapsed();
    assert_eq!(b.js("return window.__samePage === true"), true, "no reload");
    println!(
        "figure: the report appeared in the open queue {} ms after the device's sync began (the sync took {} ms)",
        appeared.as_millis(),
        synced.as_millis()
    );
    both_languages(&b, "queue", &|b| {
        b.wait_for("the queue", WAIT, |b| {
            b.js(&format!(
                "return document.querySelector(\"{row}\") !== null"
            )) == true
        })
    });

    // The event: the photo loads from the evidence store through the session.
    b.click(&format!("{row} a"));
    b.wait_for("the event page", WAIT, |b| {
        b.url().ends_with(&format!("/events/{id}"))
    });
    b.wait_for("the photo", WAIT, |b| {
        b.js("var i = document.querySelector('img.thumb'); return !!i && i.complete && i.naturalWidth > 0") == true
    });
    let text = b.text();
    assert!(
        text.contains(DESCRIPTION) && text.contains("李网格员"),
        "{text}"
    );
    assert!(text.contains("1/1"), "photos received/expected: {text}");
    let event_url = format!("{url}/events/{id}");
    both_languages(&b, "event", &|b| b.goto(&event_url));

    // 受理/立案.
    b.type_into(
        "form[data-act='accept'] input[name='note']",
        "立案：通知市政维修",
    );
    b.click("#act-accept");
    b.wait_for("accepted", WAIT, |b| status_of(b) == "accepted");
    // 派遣, submitted twice at once (a double click without the page's script): one
    // dispatch, one refusal with a message.
    let statuses = b.js_async(
        "var done = arguments[0];
         var f = document.querySelector(\"form[data-act='dispatch']\");
         var body = new URLSearchParams(new FormData(f)).toString();
         var send = function () { return fetch(f.getAttribute('action'), {method: 'POST', body: body,
             headers: {'Content-Type': 'application/x-www-form-urlencoded'}, credentials: 'same-origin'})
             .then(function (r) { return r.status; }); };
         Promise.all([send(), send()]).then(done, function (e) { done(String(e)); });",
    );
    let mut st: Vec<i64> = statuses
        .as_array()
        .unwrap_or_else(|| panic!("{statuses}"))
        .iter()
        .map(|s| s.as_i64().unwrap())
        .collect();
    st.sort();
    assert_eq!(st, [200, 409], "one dispatch, one refusal");
    b.goto(&event_url);
    assert_eq!(status_of(&b), "dispatched");
    let tasks = run_json(hub.admin().args(["tasks", "--json"]));
    let ours: Vec<&Value> = tasks
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["fields"]["source_event_id"] == id.as_str())
        .collect();
    assert_eq!(ours.len(), 1, "dispatched once: {tasks}");
    let task = ours[0]["id"].as_str().unwrap().to_string();

    // The device handles the task.
    run(gridpad(&dev).args(["sync", "--once"]));
    run(gridpad(&dev).args(["task", &task, "accept"]));
    run(gridpad(&dev).args(["task", &task, "start"]));
    let after = tmp.path().join("replaced.jpg");
    photo(&after);
    run(gridpad(&dev)
        .args([
            "task",
            &task,
            "complete",
            "--note",
            "已放置警示锥并更换井盖",
            "--photo",
        ])
        .arg(&after));
    run(gridpad(&dev).args(["sync", "--once"]));

    // 核查, 结案.
    b.goto(&event_url);
    assert_eq!(status_of(&b), "handled");
    assert!(
        b.text().contains("已放置警示锥并更换井盖"),
        "the handler's feedback on the timeline"
    );
    // The handler's result photo, from the evidence store, beside the report's.
    b.wait_for("the result photo", WAIT, |b| {
        b.js("var i = document.querySelector('#result-photos img.thumb'); return !!i && i.complete && i.naturalWidth > 0") == true
    });
    b.click("#act-verify");
    b.wait_for("verified", WAIT, |b| status_of(b) == "verified");
    b.type_into(
        "form[data-act='close'] input[name='note']",
        "井盖已更换，结案",
    );
    b.click("#act-close");
    b.wait_for("closed", WAIT, |b| status_of(b) == "closed");
    both_languages(&b, "event-closed", &|b| b.goto(&event_url));

    run(gridpad(&dev).args(["sync", "--once"]));
    let shown = run_json(gridpad(&dev).args(["event", &id, "--json"]));
    assert_eq!(
        shown["event"]["status"], "closed",
        "the device shows it closed"
    );

    // Another street's dispatcher: not in the queue, and its address is "not found".
    sign_out(&b);
    sign_in(&b, &url, "jiaochuan");
    assert_eq!(
        b.js(&format!(
            "return document.querySelector(\"{row}\") === null"
        )),
        true
    );
    assert!(!b.text().contains(DESCRIPTION));
    b.goto(&event_url);
    let text = b.text();
    assert!(
        text.contains("没有找到") && !text.contains(DESCRIPTION),
        "{text}"
    );
    // The error page has no header to switch from: switch on the queue, come back.
    b.screenshot(&shots().join("not-found-zh.png"));
    b.goto(&format!("{url}/"));
    switch_lang(&b);
    b.goto(&event_url);
    assert!(b.text().contains("outside your area"));
    b.screenshot(&shots().join("not-found-en.png"));
    b.goto(&format!("{url}/"));
    switch_lang(&b);

    // The auditor finds the steps, once each.
    sign_out(&b);
    sign_in(&b, &url, "shenji");
    b.goto(&format!("{url}/audit"));
    b.type_into("#a-target", &format!("event:{id}"));
    b.click("#audit-search");
    b.wait_for("the audit lines", WAIT, |b| {
        b.text().contains("event.closed")
    });
    let count = |action: &str| {
        b.js(&format!(
            "return Array.from(document.querySelectorAll('#audit td.code')).filter(function (t) {{ return t.textContent === '{action}'; }}).length"
        ))
    };
    assert_eq!(count("event.accepted"), 1);
    assert_eq!(
        count("event.dispatched"),
        1,
        "the double submission is one line"
    );
    assert_eq!(count("event.verified"), 1);
    assert_eq!(count("event.closed"), 1);
    assert!(b.text().contains("审计链完整"));
    let audit_url = format!("{url}/audit");
    both_languages(&b, "audit", &|b| b.goto(&audit_url));
}

fn enroll_device(
    hub_dir: &Path,
    url: &str,
    dev: &Path,
    grid: &str,
    user: &str,
    label: &str,
) -> String {
    let code = run_json(gridhub_admin(hub_dir).args([
        "issue-code",
        "--user",
        user,
        "--grid",
        grid,
        "--label",
        label,
        "--json",
    ]))["code"]
        .as_str()
        .unwrap()
        .to_string();
    run(gridpad(dev).arg("init"));
    run(gridpad(dev).args(["enroll", "--hub", url, "--code", &code]));
    run(gridpad(dev).args(["sync", "--once"]));
    run_json(gridpad(dev).args(["status", "--json"]))["device_id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn device_status_in(b: &Browser, id: &str) -> String {
    b.js(&format!(
        "var r = document.querySelector(\"tr[data-device='{id}']\"); return r ? r.dataset.status : ''"
    ))
    .as_str()
    .unwrap_or_default()
    .to_string()
}

/// The fleet manager's devices page (health, lock, the wipe confirmation, an enrollment
/// code with its QR image) and the dispatcher's tasks page (a task made in the browser
/// reaches the grid's device, whose feedback shows on the task's page) and notices page (a
/// notice published in the browser is read on the device and counted), and the system
/// administrator's catalog (a 小类's deadline changed to working days reaches the device),
/// photographed in both languages.
#[test]
fn the_devices_and_tasks_pages_in_the_browser() {
    let Some(driver) = chromedriver() else {
        if std::env::var_os("GRIDPAD_REQUIRE_BROWSER").is_some() {
            panic!("chromedriver is not installed (apt-get install chromium chromium-driver) and GRIDPAD_REQUIRE_BROWSER is set");
        }
        eprintln!("SKIPPED: no chromedriver (apt-get install chromium chromium-driver); set GRIDPAD_REQUIRE_BROWSER=1 to fail instead");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let hub_dir = tmp.path().join("hub");
    let (lost, kept) = (tmp.path().join("lost"), tmp.path().join("kept"));
    let seeded =
        run_json(gridhub_admin(&hub_dir).args(["seed-demo", "--persons", "300", "--json"]));
    let grid = seeded["home_grid_code"].as_str().unwrap().to_string();
    let grid_id = seeded["home_grid_id"].as_str().unwrap().to_string();
    account(&hub_dir, "zhaobao", "dispatcher", "330211001", None);
    account(
        &hub_dir,
        "zhaobao.fleet",
        "fleet_manager",
        "330211001",
        None,
    );
    for title in ["清理招宝山路 12 号楼道堆物", "核查东门社区独居老人走访情况"]
    {
        run(gridhub_admin(&hub_dir)
            .args(["task", "--grid", &grid, "--title", title, "--hours", "48"]));
    }
    let hub = HubProcess::start(&hub_dir);
    let url = hub.url.trim_end_matches('/').to_string();
    let lost_id = enroll_device(&hub_dir, &url, &lost, &grid, "李网格员", "李网格员的终端");
    let kept_id = enroll_device(&hub_dir, &url, &kept, &grid, "王网格员", "王网格员的终端");

    // The fleet manager's start page is the devices page.
    let b = Browser::start(&driver);
    sign_in(&b, &url, "zhaobao.fleet");
    let devices_url = format!("{url}/devices");
    let rows = |b: &Browser| {
        b.wait_for("the devices", WAIT, |b| {
            b.js("return document.querySelectorAll('tr[data-device]').length") == 2
        })
    };
    rows(&b);
    assert!(b.url().ends_with("/devices"), "{}", b.url());
    let text = b.text();
    assert!(text.contains("李网格员") && text.contains("刚刚"), "{text}");
    both_languages(&b, "devices", &|b| {
        b.goto(&devices_url);
        rows(b)
    });

    // Lock the lost device: its next sync is refused.
    b.click(&format!(
        "tr[data-device='{lost_id}'] form[data-act='lock'] button"
    ));
    b.wait_for("locked", WAIT, |b| {
        device_status_in(b, &lost_id) == "locked"
    });
    assert!(b.text().contains("已锁定：终端下次连接中心时停止同步"));
    let out = gridpad(&lost).args(["sync", "--once"]).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("locked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Wipe asks first and says what it does; cancelled, nothing changes.
    let (u2, lost2) = (url.clone(), lost_id.clone());
    let wipe = move |b: &Browser| {
        b.goto(&format!("{u2}/devices"));
        b.click(&format!(
            "tr[data-device='{lost2}'] form[data-act='wipe'] button"
        ));
        b.wait_for("the wipe confirmation", WAIT, |b| {
            b.js("return document.getElementById('confirm-wipe') !== null") == true
        });
    };
    wipe(&b);
    assert!(b.text().contains("加密擦除"));
    both_languages(&b, "device-wipe", &wipe);
    b.click("#wipe-cancel");
    rows(&b);
    assert_eq!(device_status_in(&b, &lost_id), "locked");

    // An enrollment code for a new device: text, QR image, expiry; in no URL.
    let enroll = |b: &Browser| {
        b.goto(&format!("{url}/devices"));
        b.type_into("#e-holder", "赵网格员");
        b.js(&format!(
            "document.getElementById('e-grid').value = '{grid_id}'; return null"
        ));
        b.type_into("#e-label", "备用终端");
        b.click("#enroll-submit");
        b.wait_for("the code", WAIT, |b| {
            b.js("return document.getElementById('code-text') !== null") == true
        });
    };
    enroll(&b);
    let code = b
        .js("return document.getElementById('code-text').textContent")
        .as_str()
        .unwrap()
        .to_string();
    assert!(!b.url().contains(&code));
    assert_eq!(
        b.js("var s = document.querySelector('svg.qr'); return s ? Math.round(s.getBoundingClientRect().width) : 0"),
        220,
        "the QR image is drawn"
    );
    both_languages(&b, "device-enroll", &enroll);
    // The code shown enrolls a device.
    let third = tmp.path().join("third");
    run(gridpad(&third).arg("init"));
    run(gridpad(&third).args(["enroll", "--hub", &url, "--code", &code]));

    // The dispatcher: the tasks page, a task for the grid.
    sign_out(&b);
    sign_in(&b, &url, "zhaobao");
    b.click("#nav-tasks");
    b.wait_for("the tasks page", WAIT, |b| b.url().ends_with("/tasks"));
    assert!(b.text().contains("清理招宝山路 12 号楼道堆物"));
    b.js("document.getElementById('new-task').open = true; return null");
    b.js(&format!(
        "document.getElementById('t-grid').value = '{grid_id}'; return null"
    ));
    b.type_into("#t-title", "排查招宝山路 5 号消防通道堵塞");
    b.type_into("#t-body", "清点堆放物品，拍照上报，必要时联系物业清理。");
    b.type_into("#t-hours", "12");
    b.click("#task-create");
    b.wait_for("the task's page", WAIT, |b| {
        b.js("var e = document.getElementById('task-status'); return e ? e.dataset.status : ''")
            == "assigned"
    });
    let task_url = b.url();
    let task = task_url.rsplit('/').next().unwrap().to_string();
    assert!(b.text().contains("任务已下发"));

    // The grid's (unlocked) device receives it and reports back.
    run(gridpad(&kept).args(["sync", "--once"]));
    run(gridpad(&kept).args(["task", &task, "accept"]));
    run(gridpad(&kept).args([
        "task",
        &task,
        "complete",
        "--note",
        "通道已清理，堆物已由物业移走",
    ]));
    run(gridpad(&kept).args(["sync", "--once"]));
    b.goto(&task_url);
    assert_eq!(
        b.js("return document.getElementById('task-status').dataset.status"),
        "completed"
    );
    assert!(b.text().contains("通道已清理，堆物已由物业移走"));
    both_languages(&b, "task", &|b| b.goto(&task_url));
    let tasks_url = format!("{url}/tasks");
    b.goto(&tasks_url);
    assert_eq!(
        b.js("return document.querySelectorAll('tr[data-task]').length"),
        3
    );
    // The list with the new task's form open.
    let open_list = |b: &Browser| {
        b.goto(&tasks_url);
        b.js("document.getElementById('new-task').open = true; return null");
    };
    open_list(&b);
    both_languages(&b, "tasks", &open_list);

    // 通知公告: a notice for the street, published in the browser; the kept device
    // receives it at its next sync and reads it; the list and the notice's page count it.
    b.click("#nav-notices");
    b.wait_for("the notices page", WAIT, |b| b.url().ends_with("/notices"));
    b.type_into("#n-title", "关于开展汛期安全隐患排查的通知");
    b.type_into(
        "#n-body",
        "各网格员：本周内完成辖区低洼地带、地下车库、危旧房屋的隐患排查，发现问题及时上报。",
    );
    b.click("#notice-publish");
    b.wait_for("the published notice", WAIT, |b| {
        b.js("return document.querySelectorAll('tr[data-notice]').length") == 1
    });
    assert!(b.text().contains("通知已发布"));
    let notice = b
        .js("return document.querySelector('tr[data-notice]').dataset.notice")
        .as_str()
        .unwrap()
        .to_string();
    run(gridpad(&kept).args(["sync", "--once"]));
    {
        let mut store = gridpad_core::Store::open(&kept, DEVICE_PIN).unwrap();
        let held = store.queries().notices(10).unwrap();
        assert_eq!(held.len(), 1, "the device holds the notice");
        store.mark_notice_read(&notice).unwrap();
    }
    run(gridpad(&kept).args(["sync", "--once"]));
    let notices_url = format!("{url}/notices");
    let open_notices = |b: &Browser| {
        b.goto(&notices_url);
        b.js("document.getElementById('new-notice').open = true; return null");
    };
    open_notices(&b);
    assert_eq!(
        b.js("return document.querySelector('tr[data-notice]').dataset.read"),
        "1"
    );
    both_languages(&b, "notices", &open_notices);
    let notice_url = format!("{url}/notices/{notice}");
    b.goto(&notice_url);
    assert_eq!(
        b.js(&format!(
            "return document.querySelectorAll(\"#readers tr[data-device='{kept_id}']\").length"
        )),
        1,
        "the kept device has read it"
    );
    both_languages(&b, "notice", &|b| b.goto(&notice_url));

    // 事项清单: the system administrator's catalog, and a 小类 edited to working days.
    sign_out(&b);
    account(&hub_dir, "xitong", "system_administrator", "330211", None);
    sign_in(&b, &url, "xitong");
    b.click("#nav-catalog");
    b.wait_for("the catalog", WAIT, |b| b.url().ends_with("/catalog"));
    let item_url = format!("{url}/catalog/0401");
    b.goto(&item_url);
    b.type_into("#c-deadline", "3");
    b.js("document.getElementById('c-unit').value = 'working_days'; return null");
    b.click("#catalog-publish");
    b.wait_for("the published catalog", WAIT, |b| {
        b.url().ends_with("/catalog")
    });
    assert!(b.text().contains("已发布"), "{}", b.text());
    let catalog_url = format!("{url}/catalog");
    both_languages(&b, "catalog", &|b| b.goto(&catalog_url));
    b.goto(&item_url);
    both_languages(&b, "catalog-item", &|b| b.goto(&item_url));
    // The device takes the new deadline at its next sync.
    run(gridpad(&kept).args(["sync", "--once"]));
    let store = gridpad_core::Store::open(&kept, DEVICE_PIN).unwrap();
    let item = store.category("0401").unwrap().unwrap();
    assert_eq!(
        (item.deadline_hours, item.deadline_unit.as_str()),
        (Some(3), "working_days")
    );
}

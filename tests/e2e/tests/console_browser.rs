//! The command-centre console in a real browser (Debian's chromium through chromedriver,
//! headless, 1366×768) against a real `gridhub serve` and a real `gridpad` device: the
//! closed loop from the centre's screen. A device reports with a photo → the report
//! appears in the open queue without a reload → the dispatcher opens it, sees the photo,
//! accepts and dispatches (a double submission dispatches once) → the device completes
//! the task → the dispatcher verifies and closes → the device shows it closed. A
//! dispatcher of another street neither sees it nor opens it; the auditor finds the steps
//! in the audit viewer. Every page is photographed in both languages into docs/console/.
//!
//! Skipped (with a message) only when chromedriver is missing and GRIDPAD_REQUIRE_BROWSER
//! is unset; tests/run-all.sh sets it.
//!   cargo test -p gridpad-e2e --test console_browser -- --nocapture

use gridpad_e2e::webdriver::{chromedriver, Browser};
use gridpad_testkit::process::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const PASSWORD: &str = "Zhenhai-2026-grid";
const DESCRIPTION: &str = "5栋东侧人行道井盖缺失，夜间行人易踩空";
const WAIT: Duration = Duration::from_secs(20);

fn shots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/console");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A camera-like JPEG (gradients and checks).
fn photo(path: &Path) {
    let img = image::RgbImage::from_fn(1280, 960, |i, j| {
        let check = ((i / 80 + j / 80) % 2) as u8 * 90;
        image::Rgb([(i * 255 / 1280) as u8, (j * 255 / 960) as u8, 60 + check])
    });
    img.save(path).unwrap();
}

fn account(hub_dir: &Path, name: &str, role: &str, node: &str) {
    run(gridhub_admin(hub_dir)
        .env("GRIDHUB_PASSWORD", PASSWORD)
        .args([
            "account",
            "create",
            "--username",
            name,
            "--role",
            role,
            "--node",
            node,
            "--password",
        ]));
}

fn sign_in(b: &Browser, url: &str, user: &str) {
    b.goto(&format!("{url}/login"));
    b.type_into("#username", user);
    b.type_into("#password", PASSWORD);
    b.click("#login-submit");
    b.wait_for("the signed-in page", WAIT, |b| !b.url().ends_with("/login"));
}

fn sign_out(b: &Browser) {
    b.click("form[action='/logout'] button");
    b.wait_for("the login page", WAIT, |b| b.url().contains("/login"));
}

fn switch_lang(b: &Browser) {
    let before = b.js("return document.documentElement.lang");
    b.click("#switch-lang");
    b.wait_for("the other language", WAIT, |b| {
        b.js("return document.documentElement.lang") != before
    });
}

/// Screenshots of the current page in Chinese and English (`reopen` brings the page back
/// after the switch, which lands on the start page), ending in Chinese.
fn both_languages(b: &Browser, name: &str, reopen: &dyn Fn(&Browser)) {
    assert_eq!(b.js("return document.documentElement.lang"), "zh-CN");
    b.screenshot(&shots().join(format!("{name}-zh.png")));
    switch_lang(b);
    reopen(b);
    b.screenshot(&shots().join(format!("{name}-en.png")));
    switch_lang(b);
    reopen(b);
}

fn status_of(b: &Browser) -> String {
    b.js("var e = document.getElementById('event-status'); return e ? e.dataset.status : ''")
        .as_str()
        .unwrap_or_default()
        .to_string()
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
    account(&hub_dir, "zhaobao", "dispatcher", "330211001");
    account(&hub_dir, "jiaochuan", "dispatcher", "330211002");
    account(&hub_dir, "shenji", "auditor", "330211");
    let code = run_json(gridhub_admin(&hub_dir).args([
        "issue-code",
        "--user",
        "李网格员",
        "--grid",
        &grid,
        "--label",
        "演示终端",
        "--json",
    ]))["code"]
        .as_str()
        .unwrap()
        .to_string();
    let hub = HubProcess::start(&hub_dir);
    let url = hub.url.trim_end_matches('/').to_string();
    run(gridpad(&dev).arg("init"));
    run(gridpad(&dev).args(["enroll", "--hub", &url, "--code", &code]));
    run(gridpad(&dev).args(["sync", "--once"]));

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
    run(gridpad(&dev).args([
        "task",
        &task,
        "complete",
        "--note",
        "已放置警示锥并更换井盖",
    ]));
    run(gridpad(&dev).args(["sync", "--once"]));

    // 核查, 结案.
    b.goto(&event_url);
    assert_eq!(status_of(&b), "handled");
    assert!(
        b.text().contains("已放置警示锥并更换井盖"),
        "the handler's feedback on the timeline"
    );
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

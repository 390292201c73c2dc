//! What the console's browser tests share: the screenshot folder, accounts made through
//! `gridhub admin`, signing in and out, the language switch, both-language screenshots and
//! the event page's status.

use crate::webdriver::Browser;
use gridpad_testkit::process::{gridhub_admin, gridpad, run, run_json, HubProcess};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const PASSWORD: &str = "Zhenhai-2026-grid";
pub const WAIT: Duration = Duration::from_secs(20);

/// `docs/console/`, where the tests' screenshots are kept.
pub fn shots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/console");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A console account (`PASSWORD`) bound to `node`, in `department` for a department handler.
pub fn account(hub_dir: &Path, name: &str, role: &str, node: &str, department: Option<&str>) {
    let mut cmd = gridhub_admin(hub_dir);
    cmd.env("GRIDHUB_PASSWORD", PASSWORD).args([
        "account",
        "create",
        "--username",
        name,
        "--role",
        role,
        "--node",
        node,
        "--password",
    ]);
    if let Some(d) = department {
        cmd.args(["--department", d]);
    }
    run(&mut cmd);
}

pub fn sign_in(b: &Browser, url: &str, user: &str) {
    b.goto(&format!("{url}/login"));
    b.type_into("#username", user);
    b.type_into("#password", PASSWORD);
    b.click("#login-submit");
    b.wait_for("the signed-in page", WAIT, |b| !b.url().ends_with("/login"));
}

pub fn sign_out(b: &Browser) {
    b.click("form[action='/logout'] button");
    b.wait_for("the login page", WAIT, |b| b.url().contains("/login"));
}

pub fn switch_lang(b: &Browser) {
    let before = b.js("return document.documentElement.lang");
    b.click("#switch-lang");
    b.wait_for("the other language", WAIT, |b| {
        b.js("return document.documentElement.lang") != before
    });
}

/// Screenshots of the current page in Chinese and English (`reopen` brings the page back
/// after the switch, which lands on the start page), ending in Chinese.
pub fn both_languages(b: &Browser, name: &str, reopen: &dyn Fn(&Browser)) {
    assert_eq!(b.js("return document.documentElement.lang"), "zh-CN");
    b.screenshot(&shots().join(format!("{name}-zh.png")));
    switch_lang(b);
    reopen(b);
    b.screenshot(&shots().join(format!("{name}-en.png")));
    switch_lang(b);
    reopen(b);
}

/// The status the event page shows.
pub fn status_of(b: &Browser) -> String {
    b.js("var e = document.getElementById('event-status'); return e ? e.dataset.status : ''")
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Start `gridhub serve` on `hub_dir` and enroll a device at `dev` for `grid` (李网格员's
/// 演示终端), synced once. Returns the hub and its address without the trailing slash.
pub fn hub_and_device(hub_dir: &Path, dev: &Path, grid: &str) -> (HubProcess, String) {
    let code = run_json(gridhub_admin(hub_dir).args([
        "issue-code",
        "--user",
        "李网格员",
        "--grid",
        grid,
        "--label",
        "演示终端",
        "--json",
    ]))["code"]
        .as_str()
        .unwrap()
        .to_string();
    let hub = HubProcess::start(hub_dir);
    let url = hub.url.trim_end_matches('/').to_string();
    run(gridpad(dev).arg("init"));
    run(gridpad(dev).args(["enroll", "--hub", &url, "--code", &code]));
    run(gridpad(dev).args(["sync", "--once"]));
    (hub, url)
}

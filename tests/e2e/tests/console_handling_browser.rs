//! Handling across levels and departments in a real browser (issue 16), against a real
//! `gridhub serve` and a real `gridpad` device: the device reports → the community's
//! dispatcher accepts and escalates it to the street (上报上级) → the street's dispatcher
//! accepts and dispatches it to its 城管中队 (the department the catalog routes the 小类
//! to, offered first) → the department's handler signs for it and reports it handled →
//! the street verifies and closes → the device shows every hop, naming where it went.
//! The event page of each account is photographed in both languages into docs/console/.
//!   cargo build -p gridhub -p gridpad && cargo test -p gridpad-e2e --test console_handling_browser

use gridpad_e2e::console::*;
use gridpad_e2e::webdriver::{chromedriver, Browser};
use gridpad_testkit::process::*;

const DESCRIPTION: &str = "海天路与北街路口下水道井盖破损，需道路管养单位更换";

/// Take `action` on the open event page (its reason or feedback in `note`, if any).
fn act(b: &Browser, action: &str, note: Option<&str>, then: &str) {
    if let Some(n) = note {
        b.type_into(&format!("form[data-act='{action}'] [name='note']"), n);
    }
    // The page before the step carries a mark; the step's answer is a new page without it
    // (the page before may show the previous step's message too).
    b.js("window.__before = true; return null");
    b.click(&format!("#act-{action}"));
    b.wait_for(then, WAIT, |b| {
        b.js("var m = document.getElementById('message'); return window.__before === undefined && !!m && m.classList.contains('ok')")
            == true
    });
}

#[test]
fn an_event_goes_up_a_level_to_a_department_and_back_closed_in_the_browser() {
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
    // The grid's community: its code less the grid's two digits.
    let community = grid[..grid.len() - 2].to_string();
    let cg = run(gridhub_admin(&hub_dir).args([
        "department",
        "add",
        "--code",
        "cg",
        "--name",
        "城管中队",
        "--node",
        "330211001",
    ]))
    .trim()
    .to_string();
    run(gridhub_admin(&hub_dir).args([
        "department",
        "add",
        "--code",
        "sj",
        "--name",
        "市场监管所",
        "--node",
        "330211001",
    ]));
    run(gridhub_admin(&hub_dir).args([
        "routing",
        "set",
        "--category",
        "0401",
        "--rule",
        "street=cg",
    ]));
    account(&hub_dir, "shequ", "dispatcher", &community, None);
    account(&hub_dir, "zhaobao", "dispatcher", "330211001", None);
    account(
        &hub_dir,
        "chengguan",
        "department_handler",
        "330211001",
        Some(&cg),
    );
    let (_hub, url) = hub_and_device(&hub_dir, &dev, &grid);
    let ev = run_json(gridpad(&dev).args([
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
    ]));
    let id = ev["id"].as_str().unwrap().to_string();
    run(gridpad(&dev).args(["sync", "--once"]));
    let event_url = format!("{url}/events/{id}");
    let open = |b: &Browser| b.goto(&event_url);

    // The community accepts it, and cannot solve it: up to the street, with a reason.
    let b = Browser::start(&driver);
    sign_in(&b, &url, "shequ");
    open(&b);
    act(&b, "accept", None, "accepted");
    assert_eq!(
        b.js("return document.getElementById('escalate-to').textContent"),
        "招宝山街道"
    );
    both_languages(&b, "event-escalate", &open);
    act(
        &b,
        "escalate",
        Some("涉及市政道路设施，社区无法处置"),
        "escalated",
    );
    assert_eq!(status_of(&b), "escalated");
    assert_eq!(
        b.js("return document.getElementById('held-elsewhere') !== null && document.querySelector('form.act') === null"),
        true,
        "the community now only watches"
    );
    sign_out(&b);

    // The street accepts it and sends it to its 城管中队.
    sign_in(&b, &url, "zhaobao");
    open(&b);
    act(&b, "accept", None, "accepted by the street");
    assert_eq!(
        b.js("var s = document.querySelector(\"form[data-act='dispatch_department'] select\"); return s.options[s.selectedIndex].value"),
        cg.as_str(),
        "the routed department is offered first"
    );
    both_languages(&b, "event-dispatch-department", &open);
    act(
        &b,
        "dispatch_department",
        None,
        "dispatched to the department",
    );
    assert_eq!(status_of(&b), "dispatched");
    sign_out(&b);

    // The department signs for it and reports it handled.
    sign_in(&b, &url, "chengguan");
    b.wait_for("the department's queue", WAIT, |b| {
        b.js(&format!(
            "return document.querySelector(\"tr[data-event='{id}']\") !== null"
        )) == true
    });
    open(&b);
    both_languages(&b, "event-department", &open);
    act(&b, "department_sign", None, "signed for");
    act(
        &b,
        "department_handle",
        Some("已更换井盖并恢复路面"),
        "handled",
    );
    assert_eq!(status_of(&b), "handled");
    sign_out(&b);

    // The street verifies and closes.
    sign_in(&b, &url, "zhaobao");
    open(&b);
    act(&b, "verify", None, "verified");
    act(&b, "close", None, "closed");
    assert_eq!(status_of(&b), "closed");
    both_languages(&b, "event-hops", &open);

    // The device shows each hop, and where the event went.
    run(gridpad(&dev).args(["sync", "--once"]));
    let shown = run_json(gridpad(&dev).args(["event", &id, "--json"]));
    assert_eq!(shown["event"]["status"], "closed");
    let hops: Vec<(String, String)> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["origin"] == "hub")
        .map(|h| {
            (
                h["status"].as_str().unwrap().to_string(),
                h["note"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let statuses: Vec<&str> = hops.iter().map(|h| h.0.as_str()).collect();
    assert_eq!(
        statuses,
        [
            "accepted",
            "escalated",
            "accepted",
            "dispatched",
            "handled",
            "verified",
            "closed"
        ]
    );
    assert!(hops[1].1.starts_with("上报至招宝山街道"), "{hops:?}");
    assert!(hops[3].1.starts_with("派遣至城管中队"), "{hops:?}");
    assert!(hops[4].1.contains("已更换井盖并恢复路面"), "{hops:?}");
}

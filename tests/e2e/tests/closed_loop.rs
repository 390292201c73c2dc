//! The closed loop (闭环) through real processes: a device reports an event offline →
//! syncs → the hub accepts and dispatches it as a task to the grid → the device receives
//! the task and completes it with feedback → the hub verifies and closes → the device
//! shows the event closed, with the whole timeline.

use gridpad_testkit::process::*;

#[test]
fn an_offline_report_goes_round_the_closed_loop_and_comes_back_closed() {
    let hub_dir = tempfile::tempdir().unwrap();
    let dev_dir = tempfile::tempdir().unwrap();
    let seeded = seed_demo(hub_dir.path(), 300);
    let grid = seeded["home_grid_code"].as_str().unwrap().to_string();
    let code = issue_code(hub_dir.path(), "张网格员", &grid);

    let hub = HubProcess::start(hub_dir.path());
    init_and_enroll(dev_dir.path(), &hub.url, &code);
    let first = run_json(gridpad(dev_dir.path()).args(["sync", "--once", "--json"]));
    assert!(
        first["pulled_ops"].as_u64().unwrap() > 300,
        "the grid arrived: {first}"
    );
    let found = run_json(gridpad(dev_dir.path()).args(["search", "张喆", "--json"]));
    assert_eq!(found["hits"][0]["name"], "张喆");

    // The code works once.
    let other = tempfile::tempdir().unwrap();
    run(gridpad(other.path()).arg("init"));
    let again = gridpad(other.path())
        .args(["enroll", "--hub", &hub.url, "--code", &code])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already used"));

    // Offline: the hub is down while the worker reports.
    drop(hub);
    let ev = run_json(gridpad(dev_dir.path()).args([
        "report",
        "--category",
        "0201",
        "--description",
        "3栋楼道堆放纸箱堵塞消防通道",
        "--field",
        "blocked_by=杂物",
        "--lat",
        "29.9493",
        "--lon",
        "121.7131",
        "--json",
    ]));
    let event_id = ev["id"].as_str().unwrap().to_string();
    let offline = gridpad(dev_dir.path())
        .args(["sync", "--once"])
        .output()
        .unwrap();
    assert!(!offline.status.success(), "no hub, no sync");
    let waiting = run_json(gridpad(dev_dir.path()).args(["outbox", "--json"]));
    assert_eq!(
        waiting.as_array().unwrap().len(),
        1,
        "the report waits in the outbox"
    );

    // Signal is back (same address: the device knows one hub URL).
    let port = url_port(&hub_url_of(&dev_dir));
    let hub = HubProcess::start_on(hub_dir.path(), &format!("127.0.0.1:{port}"));
    let s = run_json(gridpad(dev_dir.path()).args(["sync", "--once", "--json"]));
    assert_eq!(s["acked"], 1);
    assert_eq!(s["outbox"], 0);

    // The centre accepts (受理) and dispatches (派遣) it back to the grid as a task.
    let events = run_json(hub.admin().args(["events", "--json"]));
    let at_hub = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == event_id.as_str())
        .expect("event at the hub");
    assert_eq!(at_hub["fields"]["status"], "reported");
    run(hub.admin().args([
        "transition",
        &event_id,
        "--status",
        "accepted",
        "--note",
        "立案",
    ]));
    let task = run_json(hub.admin().args(["dispatch", &event_id, "--json"]));
    let task_id = task["task_id"].as_str().unwrap().to_string();

    // The device receives the task and handles it.
    run(gridpad(dev_dir.path()).args(["sync", "--once"]));
    let tasks = run_json(gridpad(dev_dir.path()).args(["tasks", "--json"]));
    let t = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == task_id.as_str())
        .expect("task on the device");
    assert_eq!(t["status"], "assigned");
    run(gridpad(dev_dir.path()).args(["task", &task_id, "accept"]));
    run(gridpad(dev_dir.path()).args(["task", &task_id, "start"]));
    run(gridpad(dev_dir.path()).args([
        "task",
        &task_id,
        "complete",
        "--note",
        "纸箱已清理，通道畅通",
    ]));
    let s = run_json(gridpad(dev_dir.path()).args(["sync", "--once", "--json"]));
    assert_eq!(s["rejected"], 0);

    // The centre sees it handled, verifies (核查) and closes (结案).
    let tasks = run_json(hub.admin().args(["tasks", "--json"]));
    let t = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == task_id.as_str())
        .unwrap();
    assert_eq!(t["fields"]["status"], "completed");
    assert_eq!(t["fields"]["feedback"], "纸箱已清理，通道畅通");
    run(hub
        .admin()
        .args(["transition", &event_id, "--status", "verified"]));
    run(hub.admin().args([
        "transition",
        &event_id,
        "--status",
        "closed",
        "--note",
        "结案",
    ]));

    // Back on the device: closed, with the timeline that came from the centre.
    run(gridpad(dev_dir.path()).args(["sync", "--once"]));
    let shown = run_json(gridpad(dev_dir.path()).args(["event", &event_id, "--json"]));
    assert_eq!(shown["event"]["status"], "closed");
    let steps: Vec<&str> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "reported",
            "accepted",
            "dispatched",
            "handled",
            "verified",
            "closed"
        ]
    );

    // The hub's health list knows the device.
    let devices = run_json(hub.admin().args(["devices", "--json"]));
    assert_eq!(devices[0]["queue_len"], 0);
    assert_eq!(devices[0]["user"], "张网格员");
}

fn hub_url_of(dev: &tempfile::TempDir) -> String {
    let st = run_json(gridpad(dev.path()).args(["status", "--json"]));
    st["hub_url"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no hub url in {st}"))
}

fn url_port(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .expect("port")
}

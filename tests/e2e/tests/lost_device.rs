//! A lost device: the centre marks it locked or wiped; the device obeys on its next
//! contact. After a wipe its data directory holds nothing readable.

use gridpad_e2e::*;

fn enrolled(hub: &Hub, hub_dir: &std::path::Path, dev: &std::path::Path, grid: &str) -> String {
    let code = run_json(gridhub_admin(hub_dir).args([
        "issue-code",
        "--user",
        "网格员",
        "--grid",
        grid,
        "--json",
    ]));
    run(gridpad(dev).arg("init"));
    run(gridpad(dev).args([
        "enroll",
        "--hub",
        &hub.url,
        "--code",
        code["code"].as_str().unwrap(),
    ]));
    run(gridpad(dev).args(["sync", "--once"]));
    run_json(gridpad(dev).args(["status", "--json"]))["device_id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_wiped_device_destroys_its_key_and_data_on_next_contact() {
    let hub_dir = tempfile::tempdir().unwrap();
    let seeded =
        run_json(gridhub_admin(hub_dir.path()).args(["seed-demo", "--persons", "300", "--json"]));
    let grid = seeded["home_grid_code"].as_str().unwrap().to_string();
    let hub = Hub::start(hub_dir.path());
    let dev = tempfile::tempdir().unwrap();
    let id = enrolled(&hub, hub_dir.path(), dev.path(), &grid);
    run(gridpad(dev.path()).args([
        "report",
        "--category",
        "0401",
        "--description",
        "丢失前的上报",
    ]));
    run(hub
        .admin()
        .args(["device-status", &id, "--status", "wiped"]));
    let out = gridpad(dev.path())
        .args(["sync", "--once"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wiped"));
    let left: Vec<_> = std::fs::read_dir(dev.path()).unwrap().collect();
    assert!(
        left.is_empty(),
        "nothing left in the data directory: {left:?}"
    );
    let after = gridpad(dev.path()).arg("status").output().unwrap();
    assert!(
        !after.status.success(),
        "the store cannot be opened any more"
    );
    // The report made before the wipe was pushed in the same exchange: nothing lost centrally.
    let events = run_json(hub.admin().args(["events", "--json"]));
    assert!(events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["fields"]["description"] == "丢失前的上报"));
}

#[test]
fn a_locked_device_stops_syncing_and_says_why() {
    let hub_dir = tempfile::tempdir().unwrap();
    let seeded =
        run_json(gridhub_admin(hub_dir.path()).args(["seed-demo", "--persons", "300", "--json"]));
    let grid = seeded["home_grid_code"].as_str().unwrap().to_string();
    let hub = Hub::start(hub_dir.path());
    let dev = tempfile::tempdir().unwrap();
    let id = enrolled(&hub, hub_dir.path(), dev.path(), &grid);
    run(hub
        .admin()
        .args(["device-status", &id, "--status", "locked"]));
    let out = gridpad(dev.path())
        .args(["sync", "--once"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("locked"));
    let devices = run_json(hub.admin().args(["devices", "--json"]));
    assert_eq!(devices[0]["status"], "locked");
}

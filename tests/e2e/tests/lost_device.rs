//! A lost device: the centre marks it locked or wiped; the device obeys on its next
//! contact. After a wipe its data directory holds nothing readable.

use gridpad_testkit::process::*;

fn enrolled(
    hub: &HubProcess,
    hub_dir: &std::path::Path,
    dev: &std::path::Path,
    grid: &str,
) -> String {
    let code = issue_code(hub_dir, "网格员", grid);
    init_and_enroll(dev, &hub.url, &code);
    run(gridpad(dev).args(["sync", "--once"]));
    run_json(gridpad(dev).args(["status", "--json"]))["device_id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_wiped_device_destroys_its_key_and_data_on_next_contact() {
    let hub_dir = tempfile::tempdir().unwrap();
    let seeded = seed_demo(hub_dir.path(), 300);
    let grid = seeded["home_grid_code"].as_str().unwrap().to_string();
    let hub = HubProcess::start(hub_dir.path());
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
    // A wiped device is a lost device: whatever it still sends is not trusted, so the report
    // it held is refused rather than applied (the hub answers it with the wipe alone).
    let events = run_json(hub.admin().args(["events", "--json"]));
    assert!(!events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["fields"]["description"] == "丢失前的上报"));
}

#[test]
fn a_locked_device_stops_syncing_and_says_why() {
    let hub_dir = tempfile::tempdir().unwrap();
    let seeded = seed_demo(hub_dir.path(), 300);
    let grid = seeded["home_grid_code"].as_str().unwrap().to_string();
    let hub = HubProcess::start(hub_dir.path());
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
    // Nothing past the login: commands that show or change data refuse.
    let out = gridpad(dev.path()).args(["events"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the command centre locked this device"));
    // The centre reactivates it: the next sync lifts the lock.
    run(hub
        .admin()
        .args(["device-status", &id, "--status", "active"]));
    run(gridpad(dev.path()).args(["sync", "--once"]));
    run(gridpad(dev.path()).args(["events"]));
}

/// `lock_after_days_offline`: a device kept away from the hub locks itself; a successful
/// sync unlocks it. The 20 days offline are made by moving the recorded last contact back
/// through the store's API (the processes run on the real clock).
#[test]
fn a_device_offline_too_long_locks_itself_until_it_reaches_the_hub() {
    let hub_dir = tempfile::tempdir().unwrap();
    let seeded = seed_demo(hub_dir.path(), 300);
    let grid = seeded["home_grid_code"].as_str().unwrap().to_string();
    let hub = HubProcess::start(hub_dir.path());
    let dev = tempfile::tempdir().unwrap();
    enrolled(&hub, hub_dir.path(), dev.path(), &grid);
    let config = dev.path().join("gridpad.toml");
    std::fs::write(&config, "lock_after_days_offline = 14\n").unwrap();
    let cli = |args: &[&str]| {
        let mut c = gridpad(dev.path());
        c.env("GRIDPAD_CONFIG", &config).args(args);
        c
    };
    run(&mut cli(&[
        "report",
        "--category",
        "0401",
        "--description",
        "离线前的上报",
    ]));
    {
        let mut store = gridpad_core::Store::open(dev.path(), "246810").unwrap();
        let contact = store
            .last_hub_contact()
            .unwrap()
            .expect("enroll and sync recorded it");
        let back = contact - chrono::Duration::days(20);
        store
            .set_kv("last_hub_contact", &back.to_rfc3339())
            .unwrap();
    }
    let refused: [&[&str]; 4] = [
        &["events"][..],
        &["search", "王"],
        &["status"],
        &[
            "report",
            "--category",
            "0401",
            "--description",
            "锁定时的上报",
        ],
    ];
    for args in refused {
        let out = cli(args).output().unwrap();
        assert!(!out.status.success(), "{args:?} refused");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("has not reached the command centre for 20 days")
                && err.contains("limit 14 days"),
            "{args:?}: {err}"
        );
    }
    // Without the limit (another configuration) the same store opens: the lock is the rule's.
    run(gridpad(dev.path())
        .env("GRIDPAD_CONFIG", dev.path().join("absent.toml"))
        .arg("events"));
    // Contact with the hub is allowed, pushes what waited, and unlocks.
    run(&mut cli(&["sync", "--once"]));
    let events = run_json(&mut cli(&["events", "--json"]));
    let texts: Vec<_> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["description"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(texts.contains(&"离线前的上报".to_string()), "{texts:?}");
    assert!(
        !texts.contains(&"锁定时的上报".to_string()),
        "the refused report was not saved"
    );
    let hub_events = run_json(hub.admin().args(["events", "--json"]));
    assert!(hub_events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["fields"]["description"] == "离线前的上报"));
}

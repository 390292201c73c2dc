//! The centre restores gridhub from last night's backup. Reports the device delivered after
//! the backup was taken are gone from the restored hub; the device kept them
//! (gridpad_core::resend) and, told by the hub that it is ahead, sends them again. Every
//! report reaches the centre, none twice, through the real binaries.

use gridpad_testkit::process::*;
use std::path::Path;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn report(dev: &Path, desc: &str) {
    run(gridpad(dev).args(["report", "--category", "0401", "--description", desc]));
}

fn descriptions(hub: &HubProcess) -> Vec<String> {
    let events = run_json(hub.admin().args(["events", "--json"]));
    let mut d: Vec<String> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fields"]["description"].as_str().unwrap().to_string())
        .collect();
    d.sort();
    d
}

#[test]
fn reports_delivered_after_the_backup_reach_a_restored_hub_again() {
    let hub_dir = tempfile::tempdir().unwrap();
    let seeded = seed_demo(hub_dir.path(), 200);
    let grid = seeded["home_grid_code"].as_str().unwrap().to_string();
    let code = issue_code(hub_dir.path(), "网格员", &grid);
    let hub = HubProcess::start(hub_dir.path());
    let listen = format!("127.0.0.1:{}", hub.port());
    let dev = tempfile::tempdir().unwrap();
    init_and_enroll(dev.path(), &hub.url, &code);
    run(gridpad(dev.path()).args(["sync", "--once"]));
    report(dev.path(), "备份前的上报");
    run(gridpad(dev.path()).args(["sync", "--once"]));

    // Last night's backup, taken with the hub stopped.
    drop(hub);
    let backup = tempfile::tempdir().unwrap();
    copy_dir(hub_dir.path(), backup.path());

    let hub = HubProcess::start_on(hub_dir.path(), &listen);
    report(dev.path(), "备份后的上报一");
    report(dev.path(), "备份后的上报二");
    run(gridpad(dev.path()).args(["sync", "--once"]));
    assert_eq!(descriptions(&hub).len(), 3);

    // The hub's disk fails; the centre restores the backup.
    drop(hub);
    std::fs::remove_dir_all(hub_dir.path()).unwrap();
    copy_dir(backup.path(), hub_dir.path());
    let hub = HubProcess::start_on(hub_dir.path(), &listen);
    assert_eq!(descriptions(&hub), vec!["备份前的上报".to_string()]);

    // The next report makes the device push; the hub says it is behind, the device sends
    // again what it kept, then the new report.
    report(dev.path(), "恢复后的上报");
    run(gridpad(dev.path()).args(["sync", "--once"]));
    let mut want = vec![
        "备份前的上报".to_string(),
        "备份后的上报一".to_string(),
        "备份后的上报二".to_string(),
        "恢复后的上报".to_string(),
    ];
    want.sort();
    assert_eq!(descriptions(&hub), want, "every report, none twice");
    // Nothing is left waiting on the device.
    let status = run_json(gridpad(dev.path()).args(["status", "--json"]));
    assert_eq!(status["counts"]["outbox"], 0, "{status}");
}

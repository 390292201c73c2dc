//! Sync through real processes over the worst link: `gridhub serve` on loopback behind a
//! TCP fault proxy that cuts connections at random byte offsets and delays traffic, and a
//! device process SIGKILLed mid-sync and restarted. Every report arrives exactly once.
//!
//! CI runs 15 rounds; the documented soak (≥100 kills):
//!   GRIDPAD_FAULT_ROUNDS=150 cargo test --release -p gridpad-e2e --test faults -- --nocapture

use gridpad_testkit::process::*;
use gridpad_testkit::proxy::FaultProxy;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[test]
fn cut_connections_and_killed_devices_lose_nothing_and_duplicate_nothing() {
    let rounds: usize = std::env::var("GRIDPAD_FAULT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let hub_dir = tempfile::tempdir().unwrap();
    let dev_dir = tempfile::tempdir().unwrap();
    let seeded = seed_demo(hub_dir.path(), 600);
    let grid = seeded["home_grid_code"].as_str().unwrap().to_string();
    let code = issue_code(hub_dir.path(), "巡查员", &grid);
    let hub = HubProcess::start(hub_dir.path());
    let proxy = FaultProxy::start(hub.port());
    let url = format!("http://127.0.0.1:{}", proxy.port);
    run(gridpad(dev_dir.path()).arg("init"));
    // Enrollment through the bad link: retried until it sticks (idempotent per device).
    let mut enrolled = false;
    for _ in 0..30 {
        if gridpad(dev_dir.path())
            .args(["enroll", "--hub", &url, "--code", &code])
            .output()
            .unwrap()
            .status
            .success()
        {
            enrolled = true;
            break;
        }
    }
    assert!(enrolled, "enrollment never got through");
    // The first download, over the same link (resumes page by page).
    let mut first = false;
    for _ in 0..100 {
        if gridpad(dev_dir.path())
            .args(["sync", "--once"])
            .output()
            .unwrap()
            .status
            .success()
        {
            first = true;
            break;
        }
    }
    assert!(first, "the grid never came down");

    let mut made = 0;
    let mut kills = 0;
    let mut seed = 7u64;
    for round in 0..rounds {
        for _ in 0..3 {
            run(gridpad(dev_dir.path()).args([
                "report",
                "--category",
                "0401",
                "--description",
                &format!("巡查上报 {made}"),
            ]));
            made += 1;
        }
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut child = gridpad(dev_dir.path())
            .args(["sync", "--once"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis((seed >> 33) % 400));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL mid-sync
            kills += 1;
        }
        child.wait().unwrap();
        let _ = round;
    }
    // Signal gets better: sync until the outbox is empty (through the same faulty link).
    for _ in 0..200 {
        let out = gridpad(dev_dir.path())
            .args(["sync", "--once", "--json"])
            .output()
            .unwrap();
        if out.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            if v["outbox"] == 0 {
                break;
            }
        }
    }
    let outbox = run_json(gridpad(dev_dir.path()).args(["outbox", "--json"]));
    assert_eq!(outbox.as_array().unwrap().len(), 0, "everything was sent");
    let events = run_json(hub.admin().args(["events", "--limit", "100000", "--json"]));
    let mut descriptions: Vec<String> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fields"]["description"].as_str().unwrap().to_string())
        .collect();
    descriptions.sort();
    let before = descriptions.len();
    descriptions.dedup();
    assert_eq!(before, descriptions.len(), "no report twice");
    assert_eq!(descriptions.len(), made, "no report lost");
    let status = run_json(gridpad(dev_dir.path()).args(["status", "--json"]));
    assert!(
        status["counts"]["persons"].as_i64().unwrap() > 500,
        "the grid came down too"
    );
    eprintln!(
        "{rounds} rounds: {made} reports, {kills} device kills mid-sync, {} cut connections; all arrived once",
        proxy.cuts.load(Ordering::SeqCst)
    );
}

//! Sync through real processes over the worst link: `gridhub serve` on loopback behind a
//! TCP fault proxy that cuts connections at random byte offsets and delays traffic, and a
//! device process SIGKILLed mid-sync and restarted. Every report arrives exactly once.
//!
//! CI runs 15 rounds; the documented soak (≥100 kills):
//!   GRIDPAD_FAULT_ROUNDS=150 cargo test --release -p gridpad-e2e --test faults -- --nocapture

use gridpad_e2e::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Forwards 127.0.0.1:<port> → the hub; each connection is cut after a pseudo-random
/// number of bytes (in either direction) or passes whole, with small delays.
struct FaultProxy {
    port: u16,
    cuts: Arc<AtomicU64>,
}

fn next(seed: &AtomicU64) -> u64 {
    let mut x = seed.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::SeqCst);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^ (x >> 29)
}

impl FaultProxy {
    fn start(target: u16) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cuts = Arc::new(AtomicU64::new(0));
        let rng = Arc::new(AtomicU64::new(42));
        let c = cuts.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let r = next(&rng);
                // 40 % of connections are cut somewhere in the first 20 KB.
                let budget = if r % 10 < 4 { Some(r % 20_000) } else { None };
                let left = Arc::new(AtomicU64::new(budget.unwrap_or(u64::MAX)));
                if budget.is_some() {
                    c.fetch_add(1, Ordering::SeqCst);
                }
                let delay = Duration::from_millis(r % 7);
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server.try_clone().unwrap(), client.try_clone().unwrap()),
                ] {
                    let left = left.clone();
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 4096];
                        loop {
                            let n = match from.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            std::thread::sleep(delay);
                            let allowed = left.fetch_sub(
                                n.min(left.load(Ordering::SeqCst) as usize) as u64,
                                Ordering::SeqCst,
                            );
                            let send = (allowed as usize).min(n);
                            if to.write_all(&buf[..send]).is_err() || send < n {
                                break;
                            }
                        }
                        let _ = from.shutdown(Shutdown::Both);
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        FaultProxy { port, cuts }
    }
}

#[test]
fn cut_connections_and_killed_devices_lose_nothing_and_duplicate_nothing() {
    let rounds: usize = std::env::var("GRIDPAD_FAULT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let hub_dir = tempfile::tempdir().unwrap();
    let dev_dir = tempfile::tempdir().unwrap();
    let seeded =
        run_json(gridhub_admin(hub_dir.path()).args(["seed-demo", "--persons", "600", "--json"]));
    let grid = seeded["home_grid_code"].as_str().unwrap().to_string();
    let code = run_json(gridhub_admin(hub_dir.path()).args([
        "issue-code",
        "--user",
        "巡查员",
        "--grid",
        &grid,
        "--json",
    ]));
    let code = code["code"].as_str().unwrap().to_string();
    let hub = Hub::start(hub_dir.path());
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

//! Photo evidence through real processes: `gridpad report --photo` made offline, then
//! `gridpad sync` through a TCP proxy that cuts the device→hub stream every few hundred KB
//! (and, in a second round, a device process SIGKILLed mid-upload and restarted); the hub
//! verifies the SHA-256, marks the report complete and verifies its seal. Also: an answer
//! cut inside its body (the photo inventory, the seals) is asked again, the hub flags a
//! broken chain on the events, and a device cannot download a photo no record it may read
//! references.
//!
//! Figures (printed with `--nocapture`):
//!   cargo test -p gridpad-e2e --test photo_evidence -- --nocapture --test-threads 1

use gridpad_testkit::process::*;
use gridpad_testkit::proxy::CuttingProxy;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// A deterministic noisy camera picture (gradients, checks and per-pixel noise, so the
/// JPEG stays large), encoded as a high-quality JPEG.
fn camera_jpeg(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let mut x: u32 = seed.wrapping_mul(2654435761).wrapping_add(1);
    let img = image::RgbImage::from_fn(w, h, |i, j| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let n = (x & 0x3f) as i32 - 32;
        let r = (i * 255 / w) as i32 + n;
        let g = (j * 255 / h) as i32 - n;
        let b = (((i / 40 + j / 40) % 2) * 120 + 60) as i32 + n / 2;
        image::Rgb([
            r.clamp(0, 255) as u8,
            g.clamp(0, 255) as u8,
            b.clamp(0, 255) as u8,
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 97)
        .encode_image(&img)
        .unwrap();
    out
}

/// A hub with a demo town where category 0401 asks for full-resolution photos (so the
/// evidence photo stays ~5 MB), and a device enrolled through `proxy`.
struct World {
    _tmp: tempfile::TempDir,
    hub: HubProcess,
    proxy: CuttingProxy,
    dev: PathBuf,
    grid: String,
}

fn world() -> World {
    let tmp = tempfile::tempdir().unwrap();
    let hub_dir = tmp.path().join("hub");
    let dev = tmp.path().join("device");
    let seeded = seed_demo(&hub_dir, 300);
    let grid = seeded["home_grid_code"].as_str().unwrap().to_string();
    // The centre's photo policy for 0401: full resolution, high quality.
    let policy = tmp.path().join("policy.jsonl");
    let hlc = format!(
        "{:016x}-0000-centre",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    std::fs::write(
        &policy,
        serde_json::json!({
            "entity": "catalog_category", "row_id": "0401", "op": {"op": "update"},
            "fields": {"photo_policy": r#"{"max_pixels":12000000,"quality":95,"max_bytes":9000000}"#},
            "hlc": hlc,
        })
        .to_string(),
    )
    .unwrap();
    run(gridhub_admin(&hub_dir).arg("import").arg(&policy));
    let code = issue_code(&hub_dir, "李网格员", &grid);
    let hub = HubProcess::start(&hub_dir);
    let proxy = CuttingProxy::start(([127, 0, 0, 1], hub.port()).into());
    init_and_enroll(&dev, &proxy.url(), &code);
    run(gridpad(&dev).args(["sync", "--once"]));
    World {
        _tmp: tmp,
        hub,
        proxy,
        dev,
        grid,
    }
}

fn report_with_photo(w: &World, desc: &str, photo: &Path) -> (String, String) {
    let ev = run_json(
        gridpad(&w.dev)
            .args([
                "report",
                "--category",
                "0401",
                "--description",
                desc,
                "--lat",
                "29.9493",
                "--lon",
                "121.7131",
                "--accuracy",
                "4",
                "--json",
            ])
            .arg("--photo")
            .arg(photo),
    );
    let id = ev["id"].as_str().unwrap().to_string();
    let sha = ev["photos"][0].as_str().unwrap().to_string();
    (id, sha)
}

fn hub_event(w: &World, id: &str) -> serde_json::Value {
    let events = run_json(w.hub.admin().args(["events", "--json"]));
    let found: Vec<_> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["id"] == id)
        .cloned()
        .collect();
    assert_eq!(found.len(), 1, "the report is at the hub once");
    found[0].clone()
}

fn hub_blob(w: &World, sha: &str) -> Vec<u8> {
    std::fs::read(w.hub.dir.join("evidence/blobs").join(&sha[..2]).join(sha)).unwrap()
}

fn blob_count(w: &World) -> usize {
    walk(&w.hub.dir.join("evidence/blobs"))
}

fn walk(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Sync through the link until it succeeds; returns the last JSON summary.
fn sync_until_done(dev: &Path, tries: usize) -> serde_json::Value {
    for _ in 0..tries {
        let out = gridpad(dev)
            .args(["sync", "--once", "--json"])
            .output()
            .unwrap();
        if out.status.success() {
            return serde_json::from_slice(&out.stdout).unwrap();
        }
        eprintln!(
            "sync attempt failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    panic!("sync never completed");
}

#[test]
fn a_five_megabyte_photo_reported_offline_arrives_once_through_cuts_and_a_killed_device() {
    let w = world();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("IMG_0001.jpg");
    std::fs::write(&src, camera_jpeg(4000, 3000, 1)).unwrap();

    // Offline: made in the basement.
    w.proxy.offline.store(true, Ordering::SeqCst);
    let (id, sha) = report_with_photo(&w, "地下车库消防栓损坏", &src);
    let offline = gridpad(&w.dev).args(["sync", "--once"]).output().unwrap();
    assert!(!offline.status.success(), "no signal, no sync");
    w.proxy.offline.store(false, Ordering::SeqCst);

    // Signal, but a link that cuts every few hundred KB.
    w.proxy.arm(300_000);
    let up0 = w.proxy.up.load(Ordering::SeqCst);
    let cuts0 = w.proxy.cuts.load(Ordering::SeqCst);
    let s = sync_until_done(&w.dev, 5);
    let link = w.proxy.up.load(Ordering::SeqCst) - up0;
    let cuts = w.proxy.cuts.load(Ordering::SeqCst) - cuts0;
    w.proxy.arm(0);

    let photo = hub_blob(&w, &sha);
    let len = photo.len() as u64;
    assert!(len >= 4_500_000, "a ~5 MB photo: {len} bytes");
    assert_eq!(
        gridpad_evidence::seal::sha256_hex(&photo),
        sha,
        "arrived intact"
    );
    assert_eq!(blob_count(&w), 1, "stored once");
    let ev = &s["evidence"];
    assert_eq!(ev["photos_uploaded"], 1, "{s}");
    assert_eq!(ev["photos_waiting"], 0, "{s}");
    assert!(cuts >= 10, "the link was cut ({cuts} cuts)");
    let resent: Vec<u64> = ev["photo_resent_per_failure"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let chunks: Vec<u64> = ev["photo_chunk_at_failure"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    for (r, c) in resent.iter().zip(&chunks) {
        assert!(
            r <= c,
            "re-sent {r} bytes after a cut, more than the chunk ({c})"
        );
    }
    // Everything the device pushed through the link during this sync — the report, its
    // seal, HTTP headers, HEADs, re-sends — against the photo alone.
    let overhead = link as f64 / len as f64 - 1.0;
    eprintln!(
        "cutting link: photo {len} B, {cuts} cuts, {} resumed requests, link bytes device→hub {link} → overhead {:.2} %, re-sent per cut {:?} (chunk in force {:?})",
        ev["photo_resumes"],
        overhead * 100.0,
        resent,
        chunks
    );
    assert!(overhead <= 0.02, "overhead {:.2} %", overhead * 100.0);

    let hub_ev = hub_event(&w, &id);
    assert_eq!(hub_ev["photos_expected"], 1, "{hub_ev}");
    assert_eq!(hub_ev["photos_received"], 1, "{hub_ev}");
    assert_eq!(hub_ev["complete"], true, "{hub_ev}");
    assert_eq!(hub_ev["sealed_ok"], true, "{hub_ev}");
    assert_eq!(hub_ev["seal"]["verdict"]["verdict"], "ok", "{hub_ev}");

    // Second photo: the device process is SIGKILLed mid-upload, then restarted.
    let src2 = tmp.path().join("IMG_0002.jpg");
    std::fs::write(&src2, camera_jpeg(4000, 3000, 2)).unwrap();
    let (id2, sha2) = report_with_photo(&w, "井盖缺失", &src2);
    assert!(
        hub_event_opt(&w, &id2).is_none(),
        "not at the hub before the sync"
    );
    w.proxy.delay_us.store(2_000, Ordering::SeqCst); // ~2 MB/s
    let up0 = w.proxy.up.load(Ordering::SeqCst);
    let mut child = gridpad(&w.dev)
        .args(["sync", "--once", "--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let uploads = w.hub.dir.join("evidence/uploads");
    let started = Instant::now();
    let at_kill = loop {
        let part: u64 = std::fs::read_dir(&uploads)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "part"))
                    .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        if part >= 2_000_000 {
            break part;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the upload ended before it could be killed"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "upload never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // What the dead process had handed to the network drains through the link.
    w.proxy.delay_us.store(0, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1500));
    let link_killed = w.proxy.up.load(Ordering::SeqCst) - up0;
    let up1 = w.proxy.up.load(Ordering::SeqCst);
    let s2 = sync_until_done(&w.dev, 3);
    let link_restart = w.proxy.up.load(Ordering::SeqCst) - up1;
    let photo2 = hub_blob(&w, &sha2);
    let len2 = photo2.len() as u64;
    assert_eq!(
        gridpad_evidence::seal::sha256_hex(&photo2),
        sha2,
        "arrived intact"
    );
    assert_eq!(blob_count(&w), 2);
    let ev2 = &s2["evidence"];
    let needed = ev2["photo_bytes_needed"].as_u64().unwrap();
    let sent = ev2["photo_bytes_sent"].as_u64().unwrap();
    assert!(
        needed <= len2 - at_kill,
        "the restart resumed where the hub was ({needed} needed, hub had {at_kill} of {len2})"
    );
    let resent_after_kill = sent - needed;
    let kept = len2 - needed;
    let overhead2 = (link_killed + link_restart) as f64 / len2 as f64 - 1.0;
    eprintln!(
        "killed device: hub had {at_kill} of {len2} B when the kill was ordered, {kept} when the device restarted; restart sent {sent} B for {needed} needed (re-sent {resent_after_kill}); link bytes {} (killed run, {} B more than the hub kept) + {} (restart) → overhead {:.2} %",
        link_killed,
        link_killed as i64 - kept as i64,
        link_restart,
        overhead2 * 100.0
    );
    assert!(resent_after_kill <= 1024 * 1024, "re-sent ≤ one chunk");
    assert!(overhead2 <= 0.02, "overhead {:.2} %", overhead2 * 100.0);
    let hub_ev2 = hub_event(&w, &id2);
    assert_eq!(hub_ev2["complete"], true, "{hub_ev2}");
    assert_eq!(hub_ev2["sealed_ok"], true, "{hub_ev2}");
    let _ = &w.grid;
}

/// An answer cut short inside its body is no answer: the request is asked again, and the
/// run neither fails nor takes the cut as a success. Once for "which photos do you need?"
/// (the photo inventory), once for the seals.
#[test]
fn an_answer_cut_inside_the_photo_inventory_or_the_seals_is_asked_again() {
    let w = world();
    let tmp = tempfile::tempdir().unwrap();
    for (i, (request, what)) in [
        ("POST /v1/blobs/have ", "the photo inventory"),
        ("POST /v1/seals ", "the seals"),
    ]
    .into_iter()
    .enumerate()
    {
        let src = tmp.path().join(format!("IMG_{i}.jpg"));
        std::fs::write(&src, camera_jpeg(640, 480, 10 + i as u32)).unwrap();
        let (id, sha) = report_with_photo(&w, &format!("路灯不亮 {i}"), &src);
        let cuts0 = w.proxy.cuts.load(Ordering::SeqCst);
        // The answer's head and 4 bytes of its body reach the device, then the link drops.
        w.proxy.cut_answer_to(request, 4, 1);
        let out = gridpad(&w.dev)
            .args(["sync", "--once", "--json"])
            .output()
            .unwrap();
        assert_eq!(
            w.proxy.cuts.load(Ordering::SeqCst) - cuts0,
            1,
            "{what}: its answer was cut once"
        );
        assert!(
            out.status.success(),
            "{what}: the cut answer was asked again and the sync completed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(s["evidence"]["photos_uploaded"], 1, "{what}: {s}");
        assert_eq!(s["evidence"]["photos_waiting"], 0, "{what}: {s}");
        assert_eq!(
            gridpad_evidence::seal::sha256_hex(&hub_blob(&w, &sha)),
            sha,
            "{what}: the photo is at the hub"
        );
        let ev = hub_event(&w, &id);
        assert_eq!(ev["complete"], true, "{what}: {ev}");
        assert_eq!(ev["sealed_ok"], true, "{what}: {ev}");
    }
}

fn hub_event_opt(w: &World, id: &str) -> Option<serde_json::Value> {
    let events = run_json(w.hub.admin().args(["events", "--json"]));
    events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .cloned()
}

#[test]
fn a_photo_is_readable_only_through_a_record_the_device_may_read() {
    let w = world();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("small.jpg");
    std::fs::write(&src, camera_jpeg(800, 600, 3)).unwrap();
    let (id, sha) = report_with_photo(&w, "路灯不亮", &src);
    let s = sync_until_done(&w.dev, 2);
    assert_eq!(s["evidence"]["photos_uploaded"], 1, "{s}");
    assert_eq!(hub_event(&w, &id)["complete"], true);

    // A second device of the same grid knows the hash, but no record it may read names
    // the photo: the hub answers 404 (existence not revealed).
    let other = tmp.path().join("other");
    let code = issue_code(&w.hub.dir, "李网格员", &w.grid);
    init_and_enroll(&other, &w.hub.url, &code);
    run(gridpad(&other).args(["sync", "--once"]));
    let refused = gridpad(&other)
        .args(["fetch-photo", &sha])
        .output()
        .unwrap();
    assert!(!refused.status.success(), "refused");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("not allowed to read photo"), "{err}");
    // A made-up hash gets the same answer.
    let unknown = gridpad(&other)
        .args(["fetch-photo", &"ab".repeat(32)])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("not allowed to read photo"));

    // The centre accepts the report and dispatches it to the grid as a task: the task
    // carries the photo, so the grid's devices may fetch it as the task's reference.
    run(w
        .hub
        .admin()
        .args(["transition", &id, "--status", "accepted"]));
    run(w.hub.admin().args(["dispatch", &id]));
    run(gridpad(&other).args(["sync", "--once"]));
    let out = tmp.path().join("fetched.jpg");
    run(gridpad(&other)
        .args(["fetch-photo", &sha, "--out"])
        .arg(&out));
    let fetched = std::fs::read(&out).unwrap();
    assert_eq!(gridpad_evidence::seal::sha256_hex(&fetched), sha);
    assert!(fetched.starts_with(&[0xFF, 0xD8]), "a JPEG");
}

#[test]
fn the_hub_flags_a_broken_chain_on_the_events() {
    let w = world();
    let mut ids = vec![];
    for i in 1..=5 {
        let ev = run_json(gridpad(&w.dev).args([
            "report",
            "--category",
            "0401",
            "--description",
            &format!("巡查上报 {i}"),
            "--json",
        ]));
        ids.push(ev["id"].as_str().unwrap().to_string());
    }
    // Someone with the device's PIN tampers with its chain before it syncs: seal 2 is
    // removed, seal 4 re-signed with the device key but pointing at the wrong
    // predecessor, and the body of seal 5 edited.
    {
        let mut store = gridpad_core::Store::open(&w.dev, "246810").unwrap();
        let key = store.device_keypair().unwrap();
        let conn = store.conn();
        conn.execute("DELETE FROM seal WHERE seq = 2", []).unwrap();
        let body4: String = conn
            .query_row("SELECT body FROM seal WHERE seq = 4", [], |r| r.get(0))
            .unwrap();
        let b: gridpad_evidence::seal::SealBody = serde_json::from_str(&body4).unwrap();
        let forged = gridpad_evidence::seal::seal(
            &key,
            &b.device,
            Some((3, &"1".repeat(64))),
            &gridpad_evidence::SealInput {
                entity: b.entity,
                record_id: b.record_id,
                record: b.record,
                photos: b.photos,
                position: b.position,
                device_time: b.device_time,
                corrected_time: b.corrected_time,
            },
            &b.sealed_at,
        )
        .unwrap();
        conn.execute(
            "UPDATE seal SET prev_hash = ?, hash = ?, signature = ?, body = ? WHERE seq = 4",
            [&forged.prev, &forged.hash, &forged.signature, &forged.body],
        )
        .unwrap();
        conn.execute(
            "UPDATE seal SET body = replace(body, '巡查上报 5', '巡查上报 6') WHERE seq = 5",
            [],
        )
        .unwrap();
    }
    let s = sync_until_done(&w.dev, 2);
    let problems = s["evidence"]["seal_problems"].as_array().unwrap();
    assert_eq!(problems.len(), 3, "{s}");

    let flags = |i: usize| -> Vec<String> {
        let ev = hub_event(&w, &ids[i]);
        ev["seal_flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        flags(0),
        Vec::<String>::new(),
        "report 1 is sealed and intact"
    );
    assert_eq!(flags(1), vec!["unsealed"], "report 2's seal was removed");
    assert_eq!(flags(2), vec!["gap"], "report 3 arrived after a hole");
    assert_eq!(flags(3), vec!["broken_link"], "report 4 points elsewhere");
    assert_eq!(flags(4), vec!["altered"], "report 5's body was edited");
    let ev1 = hub_event(&w, &ids[0]);
    assert_eq!(ev1["sealed_ok"], true);
    // 2 removed; 5 arrived, but not authentic: the chain has no valid record 5 yet.
    assert_eq!(
        ev1["device_chain"]["missing"],
        serde_json::json!([{"from": 2, "to": 2}, {"from": 5, "to": 5}]),
        "{ev1}"
    );
    assert_eq!(ev1["device_chain"]["claimed_last_seq"], 5, "{ev1}");
}

#[test]
fn a_bad_photo_is_refused_clearly_and_nothing_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dev = tmp.path().join("device");
    run(gridpad(&dev).arg("init"));
    run(gridpad(&dev).args(["demo-data", "--persons", "300"]));
    let good = camera_jpeg(640, 480, 4);
    let cases: [(&str, Vec<u8>, &str); 3] = [
        (
            "truncated.jpg",
            good[..good.len() / 2].to_vec(),
            "truncated",
        ),
        (
            "corrupt.jpg",
            {
                let mut b = good.clone();
                for x in &mut b[2..400] {
                    *x = 0x5a;
                }
                b
            },
            "",
        ),
        (
            "notes.jpg",
            "不是照片".repeat(100).into_bytes(),
            "not a JPEG or PNG",
        ),
    ];
    for (name, bytes, says) in cases {
        let path = tmp.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let out = gridpad(&dev)
            .args(["report", "--category", "0401", "--description", "坏照片"])
            .arg("--photo")
            .arg(&path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}: refused");
        assert!(
            err.contains(name),
            "{name}: the message names the file: {err}"
        );
        assert!(err.contains(says), "{name}: {err}");
        let events = run_json(gridpad(&dev).args(["events", "--json"]));
        assert_eq!(
            events.as_array().unwrap().len(),
            0,
            "{name}: nothing reported"
        );
        let outbox = run_json(gridpad(&dev).args(["outbox", "--json"]));
        assert_eq!(
            outbox.as_array().unwrap().len(),
            0,
            "{name}: nothing queued"
        );
    }
}

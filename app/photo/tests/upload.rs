//! Resumable upload against a real gridhub (its HTTP router on 127.0.0.1, real SQLite and
//! photo store on disk, the device enrolled and its report pushed over HTTP), through a
//! TCP fault proxy that cuts the connection every few hundred KB; and after SIGKILL of the
//! uploading process.

mod common;

use common::*;
use gridpad_core::demo::DemoSpec;
use gridpad_core::Store;
use gridpad_photo::upload::{ChunkSizer, HubClient, MAX_CHUNK_SIZE};
use gridpad_photo::Vault;
use gridpad_testkit::loopback::LoopbackHub;
use gridpad_testkit::proxy::CuttingProxy;
use gridpad_testkit::store as kit;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const DEVICE: &str = "0190a4b2-7c3d-7e00-8000-00000000d0f0";
const OTHER_DEVICE: &str = "0190a4b2-7c3d-7e00-8000-00000000d0f1";
const PHOTO_LEN: usize = 5 * 1024 * 1024;

/// gridhub in this process (the kit's), with the demo town the devices' demo data comes
/// from.
fn start_hub(dir: &Path) -> LoopbackHub {
    LoopbackHub::start(
        dir,
        DemoSpec {
            persons: 50,
            seed: 7,
        },
    )
}

/// Where the hub keeps the photo `sha`.
fn blob_path(hub: &LoopbackHub, sha: &str) -> std::path::PathBuf {
    hub.dir
        .join("evidence")
        .join("blobs")
        .join(&sha[..2])
        .join(sha)
}

/// The offset of the upload in progress of [`DEVICE`], 0 without one.
fn upload_offset(hub: &LoopbackHub) -> u64 {
    hub.blobs
        .uploads_of(DEVICE)
        .ok()
        .and_then(|u| u.first().map(|u| u.offset))
        .unwrap_or(0)
}

/// Enroll `store` at `hub` with a one-time code for the demo grid; returns a session token.
fn enroll(hub: &LoopbackHub, store: &mut Store) -> String {
    hub.enroll(store);
    let mut session = gridpad_sync::device::Session::open(store).unwrap().unwrap();
    session.login().unwrap()
}

/// Push the device's records to the hub (the photos' report among them).
fn push(store: &mut Store) {
    let mut session = gridpad_sync::device::Session::open(store).unwrap().unwrap();
    for _ in 0..50 {
        let r = session
            .exchange(store, gridpad_sync::Limits::default())
            .unwrap();
        if !r.more {
            return;
        }
    }
    panic!("the exchange did not settle");
}

/// The kit's proxy standing for a bad link: device→hub cut every `cut_every` bytes (varied
/// ±25 %), each read delayed by `delay_per_read`.
fn start_proxy(target: SocketAddr, cut_every: u64, delay_per_read: Duration) -> CuttingProxy {
    start_proxy_with(target, cut_every, delay_per_read, u64::MAX)
}

/// Like [`start_proxy`]; also cuts each connection after `down_cut` hub→device bytes.
fn start_proxy_with(
    target: SocketAddr,
    cut_every: u64,
    delay_per_read: Duration,
    down_cut: u64,
) -> CuttingProxy {
    let proxy = CuttingProxy::start(target);
    proxy.arm(cut_every);
    proxy.delay_each_read(delay_per_read);
    proxy.cut_down_after(down_cut);
    proxy
}

/// An HTTP client carrying a device's session token.
fn http_with(token: &str) -> reqwest::blocking::ClientBuilder {
    // reqwest is built without a TLS provider of its own (the device installs ring's).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder().default_headers({
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        h
    })
}

fn client(proxy: &CuttingProxy, token: &str) -> HubClient {
    let http = http_with(token).pool_max_idle_per_host(1).build().unwrap();
    let mut c = HubClient::new(http, &format!("http://{}", proxy.addr));
    c.retry_delay = Duration::from_millis(5);
    c.max_failures = 50;
    c
}

fn photo_bytes() -> Vec<u8> {
    // Incompressible, deterministic.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..PHOTO_LEN)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A device data directory enrolled at `hub`, with one registered 5 MB photo used by a
/// report the hub has received (photos no record uses stay on the device). Returns the
/// photo's hash, its bytes, the report's id and a session token.
fn device_with_photo(hub: &LoopbackHub, dir: &Path) -> (String, Vec<u8>, String, String) {
    let mut store = demo_store(dir);
    let token = enroll(hub, &mut store);
    let vault = Vault::open(dir, store.photo_key()).unwrap();
    let data = photo_bytes();
    let sha = vault.put(&data).unwrap();
    store
        .register_photo(
            &sha,
            data.len() as i64,
            "image/jpeg",
            Some(4000),
            Some(3000),
        )
        .unwrap();
    let event = store
        .report_event(gridpad_core::NewReport {
            category_code: "0401".into(),
            description: "路灯不亮".into(),
            photos: vec![sha.clone()],
            position: Some(gridpad_core::model::Position::manual(
                29.9493,
                121.7131,
                Some(4.0),
            )),
            reporter: "网格员".into(),
            ..Default::default()
        })
        .unwrap();
    push(&mut store);
    (sha, data, event, token)
}

#[test]
fn five_megabytes_through_a_cutting_link() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = start_hub(&tmp.path().join("hub"));
    let dev_dir = tmp.path().join("device");
    let (sha, data, event, token) = device_with_photo(&hub, &dev_dir);
    let store = gridpad_core::Store::open(&dev_dir, PIN).unwrap();
    let vault = Vault::open(&dev_dir, store.photo_key()).unwrap();

    let proxy = start_proxy(hub.addr, 300 * 1024, Duration::ZERO);
    let c = client(&proxy, &token);
    let t = Instant::now();
    let st = c.upload_pending(&store, &vault).unwrap();
    let elapsed = t.elapsed();

    // Arrived intact, content-addressed.
    let stored = std::fs::read(blob_path(&hub, &sha)).unwrap();
    assert_eq!(stored.len(), data.len());
    assert!(stored == data, "the hub's copy differs");
    assert!(hub.blobs.delivered(DEVICE, &sha).unwrap());
    assert_eq!(store.photo_upload(&sha).unwrap().unwrap().state, "uploaded");

    let cuts = proxy.cuts.load(Ordering::Relaxed);
    let link = proxy.up.load(Ordering::Relaxed);
    let link_overhead = link as f64 / data.len() as f64 - 1.0;
    let body_overhead = st.overhead() as f64 / data.len() as f64;
    let max_resent = st.resent_per_failure.iter().copied().max().unwrap_or(0);
    println!(
        "5 MiB upload through the cutting proxy: {cuts} cuts, {} resumes, {} requests, {elapsed:?}\n\
         link bytes device→hub {link} for {} photo bytes: overhead {:.2} % (headers and re-sent bytes)\n\
         body bytes handed to the socket {}: overhead {:.2} %\n\
         re-sent per failure (bytes): {:?}\n\
         chunk at failure (bytes): {:?}\n\
         max re-sent after a cut: {max_resent} bytes",
        st.resumes,
        st.requests,
        data.len(),
        link_overhead * 100.0,
        st.sent,
        body_overhead * 100.0,
        st.resent_per_failure,
        st.chunk_at_failure,
    );
    assert!(cuts >= 10, "the proxy cut only {cuts} times");
    for (r, c) in st.resent_per_failure.iter().zip(&st.chunk_at_failure) {
        assert!(r <= c, "re-sent {r} > chunk {c}");
    }
    assert!(max_resent <= MAX_CHUNK_SIZE);
    assert!(
        link_overhead <= 0.02,
        "link overhead {:.2} %",
        link_overhead * 100.0
    );

    // Again: the hub has it, nothing is sent.
    store.reset_photo_upload(&sha).unwrap();
    let before = proxy.up.load(Ordering::Relaxed);
    let st2 = c.upload_pending(&store, &vault).unwrap();
    assert_eq!((st2.skipped, st2.sent), (1, 0));
    assert!(proxy.up.load(Ordering::Relaxed) - before < 2_000);

    // Download by another device of the grid: refused until a record lets it read the
    // photo (the centre dispatches the report to the grid as a task), then resumed across
    // cuts.
    let dl_dir = tmp.path().join("other");
    let mut dl_store = kit::new_store_as(&dl_dir, OTHER_DEVICE);
    let other_token = enroll(&hub, &mut dl_store);
    let dl_vault = Vault::open(&dl_dir, dl_store.photo_key()).unwrap();
    let err = client(&proxy, &other_token)
        .download(&dl_vault, &sha)
        .unwrap_err();
    assert!(err.to_string().contains("not allowed"), "{err}");
    hub.hub
        .transition_event(
            &gridhub::authz::Principal::cli(),
            &event,
            gridpad_core::model::EventStatus::Accepted,
            "",
        )
        .unwrap();
    hub.hub
        .dispatch_event(
            &gridhub::authz::Principal::cli(),
            &event,
            Some(gridpad_core::model::Deadline::hours(24)),
        )
        .unwrap();
    // Through a link that cuts every download connection after 700 KB.
    let down = start_proxy_with(hub.addr, u64::MAX / 4, Duration::ZERO, 700 * 1024);
    let c2 = client(&down, &other_token);
    let n = c2.download(&dl_vault, &sha).unwrap();
    let down_cuts = down.cuts.load(Ordering::Relaxed);
    println!("download of {n} bytes resumed with Range across {down_cuts} cuts");
    assert_eq!(n, data.len() as u64);
    assert!(down_cuts >= 5, "{down_cuts}");
    assert!(dl_vault.read(&sha).unwrap() == data);
}

/// The uploading process, run as a child by `uploader_killed_mid_way_resumes`.
#[test]
#[ignore = "run as a child process by uploader_killed_mid_way_resumes"]
fn child_uploader() {
    let Ok(dir) = std::env::var("GRIDPAD_TEST_DEVICE_DIR") else {
        return;
    };
    let url = std::env::var("GRIDPAD_TEST_HUB").unwrap();
    let token = std::env::var("GRIDPAD_TEST_TOKEN").unwrap();
    let store = gridpad_core::Store::open(Path::new(&dir), PIN).unwrap();
    let vault = Vault::open(Path::new(&dir), store.photo_key()).unwrap();
    let c = HubClient::new(http_with(&token).build().unwrap(), &url);
    c.upload_pending(&store, &vault).unwrap();
}

#[test]
fn uploader_killed_mid_way_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = start_hub(&tmp.path().join("hub"));
    let dev_dir = tmp.path().join("device");
    let (sha, data, _event, token) = device_with_photo(&hub, &dev_dir);
    // A slow link (4 KB per 2.5 ms) so the kill lands mid-way.
    let proxy = start_proxy(hub.addr, u64::MAX / 4, Duration::from_micros(2500));
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_uploader", "--ignored", "--nocapture"])
        .env("GRIDPAD_TEST_DEVICE_DIR", &dev_dir)
        .env("GRIDPAD_TEST_HUB", format!("http://{}", proxy.addr))
        .env("GRIDPAD_TEST_TOKEN", &token)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once the hub holds 40 % of the photo.
    let t = Instant::now();
    loop {
        let o = upload_offset(&hub);
        if o >= (PHOTO_LEN as u64) * 2 / 5 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "upload did not progress"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "child finished too early"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The proxy still forwards what the dead process had sent; wait until the hub is still.
    let mut at_kill = upload_offset(&hub);
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let o = upload_offset(&hub);
        if o == at_kill {
            break;
        }
        at_kill = o;
    }
    drop(proxy);

    let store = gridpad_core::Store::open(&dev_dir, PIN).unwrap();
    let vault = Vault::open(&dev_dir, store.photo_key()).unwrap();
    let rec = store.photo_upload(&sha).unwrap().unwrap();
    assert_eq!(rec.state, "uploading");
    assert!(rec.upload_id.is_some());
    let persisted = rec.upload_offset as u64;
    assert!(
        persisted > 0 && persisted <= at_kill,
        "persisted {persisted}, hub {at_kill}"
    );

    // Restart: a fresh process (here, a fresh client and store handle) resumes.
    let proxy2 = start_proxy(hub.addr, u64::MAX / 4, Duration::ZERO);
    let c = client(&proxy2, &token);
    let mut sizer = ChunkSizer::default();
    let st = c.upload_photo(&store, &vault, &sha, &mut sizer).unwrap();
    let remaining = data.len() as u64 - at_kill;
    println!(
        "killed with {at_kill} bytes at the hub, {persisted} acknowledged and persisted on the device; \
         after restart sent {} bytes for the {remaining} remaining (extra {}), {} requests",
        st.sent,
        st.sent as i64 - remaining as i64,
        st.requests
    );
    assert_eq!(st.uploaded, 1);
    // Resumed from where the hub got to: nothing before `at_kill` was sent again.
    assert_eq!(st.sent, remaining);
    let stored = std::fs::read(blob_path(&hub, &sha)).unwrap();
    assert!(stored == data);
}

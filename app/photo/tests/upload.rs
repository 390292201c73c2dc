//! Resumable upload against a real gridhub (its HTTP router on 127.0.0.1, real SQLite and
//! photo store on disk, the device enrolled and its report pushed over HTTP), through a
//! TCP fault proxy that cuts the connection every few hundred KB; and after SIGKILL of the
//! uploading process.

mod common;

use common::*;
use gridhub::blobstore::BlobStore;
use gridpad_core::demo::DemoSpec;
use gridpad_core::{InitOptions, Store};
use gridpad_photo::upload::{ChunkSizer, HubClient, MAX_CHUNK_SIZE};
use gridpad_photo::Vault;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DEVICE: &str = "0190a4b2-7c3d-7e00-8000-00000000d0f0";
const OTHER_DEVICE: &str = "0190a4b2-7c3d-7e00-8000-00000000d0f1";
const PHOTO_LEN: usize = 5 * 1024 * 1024;

/// gridhub in this process: its router on a loopback port, its database and photo store
/// in `dir`, the demo town the devices' demo data comes from.
struct Hub {
    addr: std::net::SocketAddr,
    hub: Arc<gridhub::Hub>,
    store: Arc<dyn BlobStore>,
    blob_dir: std::path::PathBuf,
    grid: String,
    _rt: tokio::runtime::Runtime,
}

impl Hub {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn blob_path(&self, sha: &str) -> std::path::PathBuf {
        self.blob_dir.join("blobs").join(&sha[..2]).join(sha)
    }

    /// The offset of the upload in progress of [`DEVICE`], 0 without one.
    fn upload_offset(&self) -> u64 {
        self.store
            .uploads_of(DEVICE)
            .ok()
            .and_then(|u| u.first().map(|u| u.offset))
            .unwrap_or(0)
    }
}

fn start_hub(dir: &Path) -> Hub {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let db = gridhub::sqlite::SqliteStore::open(dir).unwrap();
    let hub = Arc::new(gridhub::Hub::with_system_clock(Arc::new(db)));
    let store: Arc<dyn BlobStore> = gridhub::evidence::open_blobs(dir).unwrap();
    hub.attach_blobs(store.clone());
    let seeded = hub
        .seed_demo(
            &gridhub::authz::Principal::cli(),
            DemoSpec {
                persons: 50,
                seed: 7,
            },
        )
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = gridhub::http::router(hub.clone());
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    Hub {
        addr,
        hub,
        store,
        blob_dir: dir.join("evidence"),
        grid: seeded.home_grid_id,
        _rt: rt,
    }
}

/// Enroll `store` at `hub` with a one-time code for the demo grid; returns a session token.
fn enroll(hub: &Hub, store: &mut Store) -> String {
    let code = hub
        .hub
        .issue_code(
            &gridhub::authz::Principal::cli(),
            "网格员",
            "测试终端",
            std::slice::from_ref(&hub.grid),
            1,
        )
        .unwrap();
    gridpad_sync::device::enroll(store, &hub.url(), &code, "测试终端").unwrap();
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

/// A TCP proxy standing for a bad link: it forwards device→hub bytes and, every
/// `cut_every` bytes (varied ±25 %), closes both sides of the connection carrying them.
/// The part of its last read beyond the cut point is lost on the "link".
struct Proxy {
    addr: std::net::SocketAddr,
    /// Device→hub bytes read from the device (what crossed the link).
    up: Arc<AtomicU64>,
    cuts: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
    }
}

fn start_proxy(target: std::net::SocketAddr, cut_every: u64, delay_per_read: Duration) -> Proxy {
    start_proxy_with(target, cut_every, delay_per_read, u64::MAX)
}

/// Like [`start_proxy`]; also cuts each connection after `down_cut` hub→device bytes.
fn start_proxy_with(
    target: std::net::SocketAddr,
    cut_every: u64,
    delay_per_read: Duration,
    down_cut: u64,
) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let up = Arc::new(AtomicU64::new(0));
    let cuts = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let budget = Arc::new(Mutex::new((cut_every, 12345u64)));
    let (up2, cuts2, stop2) = (up.clone(), cuts.clone(), stop.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if stop2.load(Ordering::Relaxed) {
                break;
            }
            let Ok(client) = conn else { continue };
            let Ok(server) = TcpStream::connect(target) else {
                continue;
            };
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            // hub → device: free, or cut after `down_cut` bytes on this connection.
            let cuts_down = cuts2.clone();
            std::thread::spawn(move || {
                let (mut s, mut c) = (s2, c2);
                let mut buf = [0u8; 16 * 1024];
                let mut left = down_cut;
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if n as u64 >= left {
                        let _ = c.write_all(&buf[..left as usize]);
                        cuts_down.fetch_add(1, Ordering::Relaxed);
                        let _ = s.shutdown(Shutdown::Both);
                        break;
                    }
                    left -= n as u64;
                    if c.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = c.shutdown(Shutdown::Both);
            });
            // device → hub: counted and cut.
            let (up, cuts, budget) = (up2.clone(), cuts2.clone(), budget.clone());
            std::thread::spawn(move || {
                let (mut c, mut s) = (client, server);
                let mut buf = [0u8; 4 * 1024];
                loop {
                    let n = match c.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    up.fetch_add(n as u64, Ordering::Relaxed);
                    if !delay_per_read.is_zero() {
                        std::thread::sleep(delay_per_read);
                    }
                    let mut b = budget.lock().unwrap();
                    if (n as u64) < b.0 {
                        b.0 -= n as u64;
                        drop(b);
                        if s.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        continue;
                    }
                    // Cut: forward up to the cut point, then close both sides.
                    let keep = b.0 as usize;
                    b.1 =
                        b.1.wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                    let jitter = (b.1 >> 33) % (cut_every / 2);
                    b.0 = cut_every * 3 / 4 + jitter;
                    drop(b);
                    let _ = s.write_all(&buf[..keep]);
                    cuts.fetch_add(1, Ordering::Relaxed);
                    let _ = s.shutdown(Shutdown::Both);
                    let _ = c.shutdown(Shutdown::Both);
                    break;
                }
                let _ = s.shutdown(Shutdown::Write);
            });
        }
    });
    Proxy {
        addr,
        up,
        cuts,
        stop,
    }
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

fn client(proxy: &Proxy, token: &str) -> HubClient {
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
fn device_with_photo(hub: &Hub, dir: &Path) -> (String, Vec<u8>, String, String) {
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
    let stored = std::fs::read(hub.blob_path(&sha)).unwrap();
    assert_eq!(stored.len(), data.len());
    assert!(stored == data, "the hub's copy differs");
    assert!(hub.store.delivered(DEVICE, &sha).unwrap());
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
    let mut dl_store = Store::init(
        &dl_dir,
        PIN,
        InitOptions {
            device_id: Some(OTHER_DEVICE.into()),
            kdf_iterations: FAST_KDF,
        },
    )
    .unwrap();
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
        let o = hub.upload_offset();
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
    let mut at_kill = hub.upload_offset();
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let o = hub.upload_offset();
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
    let stored = std::fs::read(hub.blob_path(&sha)).unwrap();
    assert!(stored == data);
}

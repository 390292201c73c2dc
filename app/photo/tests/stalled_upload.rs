//! A photo upload that makes no progress must not hold back the sync, nor the photos
//! queued behind it (issue 12): a real gridhub (its router on 127.0.0.1, real SQLite and
//! photo store on disk), the device enrolled and its report pushed over HTTP, then the
//! evidence step of a sync (`send_evidence`, what `gridpad sync` and the app run) with
//!
//! - a photo whose every byte reached the hub but whose completion never happened (the hub
//!   was killed between the last byte and the completion): before, the device asked for
//!   the offset ~10,000 times a second for ever;
//! - a photo whose upload answers 500 to every chunk (a hub that cannot finish it).
//!
//! The step runs on a thread; a step that does not return within the bound fails the
//! test (a hang detector, not a timing measurement).

mod common;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use common::*;
use gridpad_core::demo::DemoSpec;
use gridpad_core::Store;
use gridpad_photo::exchange::{send_evidence, EvidenceReport};
use gridpad_photo::Vault;
use gridpad_testkit::loopback::LoopbackHub;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const DEVICE: &str = "0190a4b2-7c3d-7e00-8000-00000000d0f0";
const PHOTO_LEN: usize = 300 * 1024;
/// Far beyond what a bounded step needs (a few seconds of back-off).
const HANG: Duration = Duration::from_secs(100);

/// gridhub in this process (the kit's). Requests naming `stuck` (an upload id) are counted;
/// with `fail_patches`, every chunk sent to it is answered 500.
struct Hub {
    hub: LoopbackHub,
    stuck: Arc<Mutex<Option<String>>>,
    stuck_requests: Arc<AtomicU64>,
}

fn start_hub(dir: &Path, fail_patches: bool) -> Hub {
    let stuck: Arc<Mutex<Option<String>>> = Arc::default();
    let stuck_requests = Arc::new(AtomicU64::new(0));
    let (s, n) = (stuck.clone(), stuck_requests.clone());
    let count_and_fail = move |router: axum::Router| {
        router.layer(axum::middleware::from_fn(
            move |req: Request, next: Next| {
                let (s, n) = (s.clone(), n.clone());
                async move {
                    let id = s.lock().unwrap().clone();
                    let names_stuck = id.is_some_and(|id| req.uri().path().ends_with(&id));
                    if names_stuck {
                        n.fetch_add(1, Ordering::Relaxed);
                        if fail_patches && req.method() == axum::http::Method::PATCH {
                            return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "disk error")
                                .into_response();
                        }
                    }
                    let r: Response = next.run(req).await;
                    r
                }
            },
        ))
    };
    let hub = LoopbackHub::start_with(
        dir,
        DemoSpec {
            persons: 50,
            seed: 7,
        },
        count_and_fail,
    );
    Hub {
        hub,
        stuck,
        stuck_requests,
    }
}

fn photo_bytes(seed: u64) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ seed;
    (0..PHOTO_LEN)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// An enrolled device with one pushed report carrying two photos; returns the photos in
/// the order the device uploads them, with their bytes.
fn device(hub: &Hub, dir: &Path) -> (Store, Vec<(String, Vec<u8>)>) {
    let mut store = demo_store(dir);
    hub.hub.enroll(&mut store);
    let vault = Vault::open(dir, store.photo_key()).unwrap();
    let mut photos = vec![];
    for seed in [1, 2] {
        let data = photo_bytes(seed);
        let sha = vault.put(&data).unwrap();
        store
            .register_photo(&sha, data.len() as i64, "image/jpeg", None, None)
            .unwrap();
        photos.push((sha, data));
    }
    store
        .report_event(gridpad_core::NewReport {
            category_code: "0401".into(),
            description: "路灯不亮".into(),
            photos: photos.iter().map(|(s, _)| s.clone()).collect(),
            reporter: "网格员".into(),
            ..Default::default()
        })
        .unwrap();
    let mut session = gridpad_sync::device::Session::open(&mut store)
        .unwrap()
        .unwrap();
    for _ in 0..50 {
        if !session
            .exchange(&mut store, gridpad_sync::Limits::default())
            .unwrap()
            .more
        {
            break;
        }
    }
    let order: Vec<String> = store
        .photos_to_upload(10)
        .unwrap()
        .into_iter()
        .map(|p| p.sha256)
        .collect();
    assert_eq!(order.len(), 2);
    photos.sort_by_key(|(s, _)| order.iter().position(|o| o == s));
    (store, photos)
}

/// The hub got `bytes` of an upload of `sha` and stopped there: the device saw `acked` of
/// them acknowledged.
fn upload_left_at(hub: &Hub, store: &Store, sha: &str, data: &[u8], bytes: usize, acked: usize) {
    let up = hub
        .hub
        .blobs
        .create_upload(DEVICE, sha, data.len() as u64)
        .unwrap();
    hub.hub.blobs.append(&up.id, 0, &data[..bytes]).unwrap();
    store.set_photo_upload(sha, &up.id, acked as i64).unwrap();
    *hub.stuck.lock().unwrap() = Some(up.id);
}

/// The evidence step of a sync, on a thread; `None` if it did not return within [`HANG`].
fn evidence_step(dir: &Path) -> Option<Result<EvidenceReport, String>> {
    let dir = dir.to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut store = Store::open(&dir, PIN).unwrap();
        let mut session = gridpad_sync::device::Session::open(&mut store)
            .unwrap()
            .unwrap();
        let r = send_evidence(&mut store, &mut session, &mut |_| {}).map_err(|e| e.to_string());
        let _ = tx.send(r);
    });
    rx.recv_timeout(HANG).ok()
}

fn delivered(hub: &Hub, sha: &str) -> bool {
    hub.hub.blobs.delivered(DEVICE, sha).unwrap()
}

#[test]
fn a_photo_the_hub_never_completed_does_not_hang_the_sync() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = start_hub(&tmp.path().join("hub"), false);
    let dev = tmp.path().join("device");
    let (store, photos) = device(&hub, &dev);
    let [(first, first_data), (second, _)] = &photos[..] else {
        unreachable!()
    };
    // Every byte of the first photo is at the hub, and acknowledged; the completion never
    // happened (the hub was killed in between).
    upload_left_at(&hub, &store, first, first_data, PHOTO_LEN, PHOTO_LEN);
    drop(store);

    let rep = evidence_step(&dev)
        .expect("the evidence step of the sync never returned")
        .expect("the evidence step failed");
    println!(
        "evidence step: {rep:?}; {} requests named the stuck upload",
        hub.stuck_requests.load(Ordering::Relaxed)
    );
    // The device asked the hub to finish it (once), and went on with the next photo.
    assert!(delivered(&hub, first), "the completed photo is at the hub");
    assert!(
        delivered(&hub, second),
        "the photo queued behind it went up"
    );
    assert_eq!(rep.photos_waiting, 0);
    assert!(
        hub.stuck_requests.load(Ordering::Relaxed) <= 5,
        "asked about the stuck upload {} times",
        hub.stuck_requests.load(Ordering::Relaxed)
    );
    let store = Store::open(&dev, PIN).unwrap();
    assert!(store.photos_to_upload(10).unwrap().is_empty());
}

#[test]
fn an_upload_that_fails_for_ever_lets_the_next_photo_go_up_and_stays_queued() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = start_hub(&tmp.path().join("hub"), true);
    let dev = tmp.path().join("device");
    let (store, photos) = device(&hub, &dev);
    let [(first, first_data), (second, _)] = &photos[..] else {
        unreachable!()
    };
    // Half of the first photo is at the hub; every further chunk of it is answered 500.
    upload_left_at(
        &hub,
        &store,
        first,
        first_data,
        PHOTO_LEN / 2,
        PHOTO_LEN / 2,
    );
    drop(store);

    for run in 1..=2 {
        let before = hub.stuck_requests.load(Ordering::Relaxed);
        let rep = evidence_step(&dev)
            .unwrap_or_else(|| panic!("run {run}: the evidence step never returned"))
            .unwrap_or_else(|e| panic!("run {run}: the evidence step failed: {e}"));
        let asked = hub.stuck_requests.load(Ordering::Relaxed) - before;
        println!("run {run}: {rep:?}; {asked} requests named the failing upload");
        // Bounded: a few tries with back-off, then its turn ends for this run.
        assert!(
            asked <= 12,
            "run {run}: {asked} requests for the failing upload"
        );
        assert!(
            delivered(&hub, second),
            "run {run}: the photo behind it went up"
        );
        assert!(!delivered(&hub, first));
        assert_eq!(rep.photos_waiting, 1, "run {run}");
        // Nothing lost: it stays queued, with what the hub holds of it.
        let store = Store::open(&dev, PIN).unwrap();
        let waiting = store.photos_to_upload(10).unwrap();
        assert_eq!(waiting.len(), 1);
        assert_eq!(&waiting[0].sha256, first);
        assert_eq!(waiting[0].upload_offset as usize, PHOTO_LEN / 2);
    }
}

//! Photo evidence on the command line: `gridpad report --photo FILE` (intake with the
//! category's policy, 水印 watermark, encrypted vault, seal) and the evidence step of
//! `gridpad sync` (sealed records to the hub, then the photos it lacks, resumable).

use anyhow::{anyhow, Context, Result};
use gridpad_core::model::Position;
use gridpad_core::Store;
use gridpad_evidence::seal::{SealsRequest, SealsResponse, Verdict, SEALS_PATH};
use gridpad_photo::upload::{ChunkSizer, HubClient, UploadError, UploadStats};
use gridpad_photo::{Stamp, Vault, Watermarker};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// Take camera files as evidence for a report about to be made: each is processed to the
/// category's photo policy, stamped and stored encrypted. Returns their SHA-256.
pub fn take_photos(
    store: &mut Store,
    files: &[PathBuf],
    category: &str,
    position: Option<&Position>,
    reporter: &str,
) -> Result<Vec<String>> {
    if files.is_empty() {
        return Ok(vec![]);
    }
    let policy = gridpad_photo::policy_for(store, category)?;
    let vault = Vault::open(store.dir(), store.photo_key())?;
    let wm = Watermarker::bundled()?;
    let grid = store
        .home_grid()?
        .map(|g| g.name)
        .or(store.kv("grid_id")?)
        .unwrap_or_default();
    let stamp = Stamp {
        time: store.now(),
        time_corrected: false,
        position: position.and_then(|p| Some((p.lat?, p.lon?))),
        accuracy_m: position.and_then(|p| p.accuracy_m),
        grid,
        reporter: reporter.to_string(),
    };
    let mut out = vec![];
    for f in files {
        let c = gridpad_photo::capture_file(store, &vault, &wm, f, &policy, &stamp)
            .with_context(|| format!("photo {}", f.display()))?;
        out.push(c.sha256);
    }
    Ok(out)
}

/// What the evidence step of a sync did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EvidenceReport {
    pub seals_sent: usize,
    /// Every seal up to this one is at the hub.
    pub seals_received_through: u64,
    /// Seals the hub did not find in order (`seq: verdict`).
    pub seal_problems: Vec<String>,
    pub photos_uploaded: u32,
    /// Photos the hub already had from this device.
    pub photos_skipped: u32,
    /// Photo bytes that had to reach the hub.
    pub photo_bytes_needed: u64,
    /// Photo bytes handed to the network, re-sends after cuts included.
    pub photo_bytes_sent: u64,
    /// Interrupted requests that were resumed.
    pub photo_resumes: u32,
    /// Bytes sent again after each interruption.
    pub photo_resent_per_failure: Vec<u64>,
    /// Chunk size in force at each interruption.
    pub photo_chunk_at_failure: Vec<u64>,
    pub photo_requests: u32,
    /// Photos still waiting for upload after this step.
    pub photos_waiting: usize,
}

/// An HTTP client for the hub's photo and seal routes: the same TLS trust as the sync
/// transport (the CA pinned at enrollment, or the system's roots), the session's token.
fn bearer_client(store: &Store, token: &str) -> Result<reqwest::blocking::Client> {
    let mut h = reqwest::header::HeaderMap::new();
    let mut v = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))?;
    v.set_sensitive(true);
    h.insert(reqwest::header::AUTHORIZATION, v);
    let tls = gridpad_sync::device::hub_tls(store)?;
    Ok(gridpad_sync::http::client_builder(&tls)?
        .default_headers(h)
        .connect_timeout(Duration::from_secs(15))
        .build()?)
}

/// A small request on a bad link: tried up to 5 times, 0.5 s doubling between (the photo
/// upload itself resumes on its own).
fn retrying<T, E>(mut f: impl FnMut() -> Result<T, E>, retry: impl Fn(&E) -> bool) -> Result<T, E> {
    let mut delay = Duration::from_millis(500);
    for _ in 0..4 {
        match f() {
            Err(e) if retry(&e) => {
                std::thread::sleep(delay);
                delay *= 2;
            }
            other => return other,
        }
    }
    f()
}

/// Send the sealed records the hub has not acknowledged.
fn send_seals(
    store: &mut Store,
    http: &reqwest::blocking::Client,
    hub: &str,
    rep: &mut EvidenceReport,
) -> Result<()> {
    let mut acked: u64 = store
        .kv("seals_acked")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let last = store.last_seal()?.map(|(s, _)| s as u64).unwrap_or(0);
    let url = format!("{}{SEALS_PATH}", hub.trim_end_matches('/'));
    loop {
        let seals = gridpad_photo::seals_after(store, acked, 200)?;
        if seals.is_empty() && acked >= last {
            break;
        }
        let sent = seals.len();
        let body = SealsRequest {
            last_seq: last,
            seals,
        };
        // `send` fails only when the request did not get an answer.
        let r = retrying(
            || {
                http.post(&url)
                    .timeout(Duration::from_secs(60))
                    .json(&body)
                    .send()
            },
            |_| true,
        )
        .map_err(|e| anyhow!("sending seals: {e}"))?;
        if !r.status().is_success() {
            let s = r.status();
            return Err(anyhow!(
                "the hub refused the seals ({s}): {}",
                r.text().unwrap_or_default()
            ));
        }
        let resp: SealsResponse = r.json().map_err(|e| anyhow!("seal answer: {e}"))?;
        rep.seals_sent += sent;
        for v in &resp.verdicts {
            let problem = format!("{}: {:?}", v.seq, v.verdict);
            if !matches!(v.verdict, Verdict::Ok | Verdict::Duplicate)
                && !rep.seal_problems.contains(&problem)
            {
                rep.seal_problems.push(problem);
            }
        }
        let progressed = resp.received_through > acked;
        acked = resp.received_through;
        store.set_kv("seals_acked", &acked.to_string())?;
        rep.seals_received_through = acked;
        if !progressed || sent == 0 {
            break; // the hub holds what it can; what it misses is flagged there
        }
    }
    rep.seals_received_through = acked;
    Ok(())
}

fn add(rep: &mut EvidenceReport, st: &UploadStats) {
    rep.photos_uploaded += st.uploaded;
    rep.photos_skipped += st.skipped;
    rep.photo_bytes_needed += st.needed;
    rep.photo_bytes_sent += st.sent;
    rep.photo_resumes += st.resumes;
    rep.photo_resent_per_failure.extend(&st.resent_per_failure);
    rep.photo_chunk_at_failure.extend(&st.chunk_at_failure);
    rep.photo_requests += st.requests;
}

/// Upload the photos the hub lacks, one after the other, resuming from persisted offsets.
fn upload_photos(
    store: &Store,
    http: reqwest::blocking::Client,
    hub: &str,
    rep: &mut EvidenceReport,
    progress: bool,
) -> Result<(), UploadError> {
    let pending = store.photos_to_upload(10_000)?;
    if pending.is_empty() {
        return Ok(());
    }
    let vault = Vault::open(store.dir(), store.photo_key())?;
    let client = HubClient::new(http, hub);
    let hashes: Vec<String> = pending.iter().map(|p| p.sha256.clone()).collect();
    let missing = retrying(
        || client.missing(&hashes),
        |e| matches!(e, UploadError::Network { .. }),
    )?;
    let mut sizer = ChunkSizer::default();
    let n = missing.len();
    let mut i = 0;
    for p in &pending {
        if !missing.contains(&p.sha256) {
            store.mark_photo_uploaded(&p.sha256)?;
            rep.photos_skipped += 1;
            continue;
        }
        i += 1;
        if progress {
            eprintln!(
                "photo {i}/{n} {}…: {} of {} bytes at the hub, uploading",
                &p.sha256[..12],
                p.upload_offset,
                p.bytes
            );
        }
        let st = client.upload_photo(store, &vault, &p.sha256, &mut sizer)?;
        if progress {
            eprintln!(
                "photo {i}/{n} {}…: complete ({} bytes sent, {} resumed requests)",
                &p.sha256[..12],
                st.sent,
                st.resumes
            );
        }
        add(rep, &st);
    }
    Ok(())
}

/// The evidence step after a sync exchange: seals first (small, and they say which
/// photos each report has), then the photos. `relogin` renews an expired session once.
pub fn sync_evidence(
    store: &mut Store,
    hub: &str,
    token: &str,
    relogin: &mut dyn FnMut() -> Result<String>,
    progress: bool,
) -> Result<EvidenceReport> {
    let mut rep = EvidenceReport::default();
    let mut token = token.to_string();
    for attempt in 0..2 {
        let http = bearer_client(store, &token)?;
        send_seals(store, &http, hub, &mut rep)?;
        match upload_photos(store, http, hub, &mut rep, progress) {
            Ok(()) => break,
            Err(UploadError::Hub(401, _)) if attempt == 0 => token = relogin()?,
            Err(e) => {
                rep.photos_waiting = store.photos_to_upload(10_000)?.len();
                return Err(anyhow!(
                    "photo upload: {e} ({} photo(s) waiting; progress is kept)",
                    rep.photos_waiting
                ));
            }
        }
    }
    rep.photos_waiting = store.photos_to_upload(10_000)?.len();
    Ok(rep)
}

/// Download a photo a record on this device references (a task's reference photo …),
/// resuming with ranges, verified against its SHA-256, kept in the vault. The hub answers
/// only for photos a record this device may read references.
pub fn fetch_photo(
    store: &Store,
    hub: &str,
    token: &str,
    sha256: &str,
    out: Option<&std::path::Path>,
) -> Result<u64> {
    if !gridpad_evidence::seal::is_sha256_hex(sha256) {
        return Err(anyhow!(
            "not a SHA-256 (64 lower-case hex digits): {sha256}"
        ));
    }
    let vault = Vault::open(store.dir(), store.photo_key())?;
    let client = HubClient::new(bearer_client(store, token)?, hub);
    let n = client.download(&vault, sha256)?;
    if let Some(path) = out {
        std::fs::write(path, vault.read(sha256)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(n)
}

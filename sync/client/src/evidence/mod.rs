//! The evidence step of a sync round, run by the [`crate::runner`] after the records are
//! exchanged: the sealed records the hub has not acknowledged go up (small, and they say
//! which photos each record has), then the photos it lacks, resumably ([`upload`]) and
//! bounded: a photo that makes no progress waits for the next round, the ones behind it go
//! on. Also the download of a photo a record lets this device read.

pub mod upload;

use crate::device::Session;
use crate::retry::retrying;
use gridpad_core::seals_and_uploads::SealRow;
use gridpad_core::vault::{Vault, VaultError};
use gridpad_core::Store;
use gridpad_evidence::seal::{ChainVerdict, SealedRecord, SealsRequest, SealsResponse, SEALS_PATH};
use serde::Serialize;
use std::time::Duration;
use upload::{ChunkSizer, HubClient, UploadError, UploadStats};

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
    /// Photos whose turn ended without progress in this step (the hub took nothing more
    /// of them); they wait for the next sync.
    pub photos_deferred: u32,
    /// Photos still waiting for upload after this step.
    pub photos_waiting: usize,
}

impl EvidenceReport {
    fn add(&mut self, st: &UploadStats) {
        self.photos_uploaded += st.uploaded;
        self.photos_skipped += st.skipped;
        self.photo_bytes_needed += st.needed;
        self.photo_bytes_sent += st.sent;
        self.photo_resumes += st.resumes;
        self.photo_resent_per_failure.extend(&st.resent_per_failure);
        self.photo_chunk_at_failure.extend(&st.chunk_at_failure);
        self.photo_requests += st.requests;
    }
}

/// Where the photo upload is, for a progress line ("照片 2/3 · 1.2 / 5.4 MB").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhotoProgress {
    /// 1-based position among the photos the hub lacks.
    pub index: usize,
    pub count: usize,
    pub sha256: String,
    /// Bytes of this photo at the hub.
    pub at_hub: u64,
    pub bytes: u64,
    /// The photo is complete at the hub.
    pub done: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("sending seals: {0}")]
    Seals(String),
    #[error("the hub refused the seals ({status}): {body}")]
    SealsRefused { status: u16, body: String },
    #[error("photo upload: {error} ({waiting} photo(s) waiting; progress is kept)")]
    Upload { error: UploadError, waiting: usize },
    #[error("photo download: {0}")]
    Download(UploadError),
    #[error("no such {0}")]
    NotFound(String),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Store(#[from] gridpad_core::Error),
    #[error(transparent)]
    Sync(#[from] crate::SyncError),
    #[error("HTTP client: {0}")]
    Http(String),
}

/// An HTTP client for the hub's photo and seal routes: the same TLS trust as the sync
/// transport (the CA pinned at enrollment, or the system's roots), the session's token.
pub fn bearer_client(
    store: &Store,
    token: &str,
) -> Result<reqwest::blocking::Client, EvidenceError> {
    let mut h = reqwest::header::HeaderMap::new();
    let mut v = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|e| EvidenceError::Http(e.to_string()))?;
    v.set_sensitive(true);
    h.insert(reqwest::header::AUTHORIZATION, v);
    let tls = crate::device::hub_tls(store)?;
    crate::http::client_builder(&tls)
        .map_err(|e| EvidenceError::Http(e.to_string()))?
        .default_headers(h)
        .connect_timeout(Duration::from_secs(15))
        .build()
        .map_err(|e| EvidenceError::Http(e.to_string()))
}

/// Send the sealed records the hub has not acknowledged.
fn send_seals(
    store: &mut Store,
    http: &reqwest::blocking::Client,
    hub: &str,
    rep: &mut EvidenceReport,
) -> Result<(), EvidenceError> {
    let mut acked: u64 = store
        .kv("seals_acked")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let last = store.last_seal()?.map(|(s, _)| s as u64).unwrap_or(0);
    let url = format!("{}{SEALS_PATH}", hub.trim_end_matches('/'));
    loop {
        let seals = seals_after(store, acked, 200)?;
        if seals.is_empty() && acked >= last {
            break;
        }
        let sent = seals.len();
        let body = SealsRequest {
            last_seq: last,
            seals,
        };
        // A request that got no whole answer (no answer, one cut short, a hub in trouble)
        // is tried again: the hub takes seals it already holds as duplicates.
        let answer = retrying(
            || {
                let r = http
                    .post(&url)
                    .timeout(Duration::from_secs(60))
                    .json(&body)
                    .send()
                    .map_err(|e| e.to_string())?;
                let status = r.status();
                let bytes = r
                    .bytes()
                    .map_err(|e| format!("the hub's answer was cut short: {e}"))?;
                if status.is_server_error() {
                    return Err(format!("the hub answered {status}"));
                }
                Ok((status, bytes))
            },
            |_| true,
        );
        let (status, bytes) = answer.map_err(EvidenceError::Seals)?;
        if !status.is_success() {
            return Err(EvidenceError::SealsRefused {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
        let resp: SealsResponse = serde_json::from_slice(&bytes)
            .map_err(|e| EvidenceError::Seals(format!("the hub's answer: {e}")))?;
        rep.seals_sent += sent;
        for v in &resp.verdicts {
            let problem = format!("{}: {:?}", v.seq, v.verdict);
            if !matches!(v.verdict, ChainVerdict::Ok | ChainVerdict::Duplicate)
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

/// Upload the photos the hub lacks, one after the other, resuming from persisted offsets.
fn upload_photos(
    store: &Store,
    http: reqwest::blocking::Client,
    hub: &str,
    rep: &mut EvidenceReport,
    progress: &mut dyn FnMut(&PhotoProgress),
) -> Result<(), UploadError> {
    let pending = store.photos_to_upload(10_000)?;
    if pending.is_empty() {
        return Ok(());
    }
    let vault = Vault::open(store.dir(), store.photo_key())?;
    let client = HubClient::new(http, hub);
    let hashes: Vec<String> = pending.iter().map(|p| p.sha256.clone()).collect();
    let missing = client.missing(&hashes)?;
    let mut sizer = ChunkSizer::default();
    let count = missing.len();
    let mut index = 0;
    for p in &pending {
        if !missing.contains(&p.sha256) {
            store.mark_photo_uploaded(&p.sha256)?;
            rep.photos_skipped += 1;
            continue;
        }
        index += 1;
        let bytes = p.bytes.max(0) as u64;
        let at = |at_hub: u64, done: bool| PhotoProgress {
            index,
            count,
            sha256: p.sha256.clone(),
            at_hub,
            bytes,
            done,
        };
        progress(&at(p.upload_offset.max(0) as u64, false));
        let st = client.upload_photo_with(store, &vault, &p.sha256, &mut sizer, &mut |o| {
            progress(&at(o, false))
        });
        match st {
            Ok(st) => {
                progress(&at(bytes, true));
                rep.add(&st);
            }
            // No progress on this one: it waits for the next sync, the next photo goes on.
            Err(UploadError::Deferred { .. }) => rep.photos_deferred += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The evidence step after a sync exchange: seals first, then the photos. An expired
/// session is renewed once. Progress of the photo upload goes to `progress`.
pub fn send_evidence(
    store: &mut Store,
    session: &mut Session,
    progress: &mut dyn FnMut(&PhotoProgress),
) -> Result<EvidenceReport, EvidenceError> {
    let mut rep = EvidenceReport::default();
    let hub = session.hub().to_string();
    let mut token = match session.token() {
        Some(t) => t.to_string(),
        None => session.login()?,
    };
    for attempt in 0..2 {
        let http = bearer_client(store, &token)?;
        send_seals(store, &http, &hub, &mut rep)?;
        match upload_photos(store, http, &hub, &mut rep, progress) {
            Ok(()) => break,
            Err(UploadError::Hub(401, _)) if attempt == 0 => token = session.login()?,
            Err(error) => {
                rep.photos_waiting = store.photos_to_upload(10_000)?.len();
                session.keep_token(store)?;
                return Err(EvidenceError::Upload {
                    error,
                    waiting: rep.photos_waiting,
                });
            }
        }
    }
    session.keep_token(store)?;
    rep.photos_waiting = store.photos_to_upload(10_000)?.len();
    Ok(rep)
}

/// Whether the evidence step has anything to do: seals the hub has not acknowledged, or
/// photos of records waiting for upload. Cheap; the sync thread asks before each step.
pub fn evidence_pending(store: &Store) -> Result<bool, EvidenceError> {
    let acked: u64 = store
        .kv("seals_acked")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let last = store.last_seal()?.map(|(s, _)| s as u64).unwrap_or(0);
    Ok(last > acked || !store.photos_to_upload(1)?.is_empty())
}

/// Download a photo a record on this device references (a task's reference photo …),
/// resuming with ranges, verified against its SHA-256, kept in the vault. The hub answers
/// only for photos a record this device may read references.
pub fn fetch_photo(store: &Store, session: &Session, sha256: &str) -> Result<u64, EvidenceError> {
    if !gridpad_evidence::seal::is_sha256_hex(sha256) {
        return Err(EvidenceError::NotFound(format!(
            "photo {sha256}: not a SHA-256 (64 lower-case hex digits)"
        )));
    }
    let vault = Vault::open(store.dir(), store.photo_key())?;
    let token = session.token().unwrap_or_default();
    let client = HubClient::new(bearer_client(store, token)?, session.hub());
    client
        .download(&vault, sha256)
        .map_err(EvidenceError::Download)
}

/// The device's sealed records after `seq`, as they travel to the hub.
pub fn seals_after(
    store: &Store,
    seq: u64,
    limit: usize,
) -> Result<Vec<SealedRecord>, gridpad_core::Error> {
    let device = store.device_id().to_string();
    Ok(store
        .seals_after(seq as i64, limit)?
        .into_iter()
        .map(|r: SealRow| SealedRecord {
            device: device.clone(),
            seq: r.seq as u64,
            entity: r.record_entity,
            record_id: r.record_id,
            prev: r.prev_hash,
            hash: r.hash,
            signature: r.signature,
            body: r.body,
        })
        .collect())
}

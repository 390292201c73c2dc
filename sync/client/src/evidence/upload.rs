//! The device side of the blob protocol (`gridpad_evidence::blob`): resumable uploads of
//! the photos the hub lacks, and ranged downloads of the photos a record lets us read.
//!
//! Blocking reqwest, on the sync worker's thread: the uploader persists the acknowledged
//! offset in the store (a `rusqlite::Connection`, not `Sync`) after every chunk, one photo
//! after the other; a blocking loop keeps that straightforward, and the GUI thread never
//! waits on it.
//!
//! - `POST have` first: photos the hub already has from this device cost 0 bytes.
//! - `POST uploads` (idempotent per device and hash) → id; persisted with offset 0.
//! - `PATCH` chunks at `Upload-Offset`; after each `204` the new offset is persisted
//!   (`photo.upload_offset`), so a restart resumes there.
//! - On a network error, a timeout or `409`: `HEAD` and continue from the hub's offset —
//!   the hub keeps the part of a cut chunk that reached it, so little is sent twice.
//! - Chunks start at 32 KiB, double after two successes up to 1 MiB, halve on a failure.
//! - `404`/`410` (the hub forgot the upload) or `460` (hash mismatch): start again.
//! - Bounded, so one photo never holds back a sync nor the photos queued behind it
//!   (the limits are [`crate::retry`]'s): answers without progress (the hub's offset does
//!   not move) end the photo's turn for this round, as does a third fresh start; when the
//!   hub holds every byte but the completion was not seen, one `POST uploads` asks it to
//!   complete; `max_failures` failed requests in a row (the link is down) end the photo
//!   step. A photo whose turn ended stays queued with its offset for the next round.

use crate::retry::{self, Turn, TurnDecision};
use gridpad_core::vault::{Vault, VaultError};
use gridpad_core::Store;
use gridpad_evidence::blob::*;
use reqwest::blocking::{Body, Client};
use reqwest::StatusCode;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub const MIN_CHUNK: u64 = 16 * 1024;
pub const START_CHUNK: u64 = 32 * 1024;
pub const MAX_CHUNK_SIZE: u64 = 1024 * 1024;
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the hub could not be reached after {attempts} attempts: {last}")]
    Network { attempts: u32, last: String },
    #[error("the hub answered {0}: {1}")]
    Hub(u16, String),
    /// This photo's turn ended without progress; it stays queued for the next sync, and
    /// the photos behind it go on.
    #[error("photo {}…: {why}; it waits for the next sync", &sha256[..12.min(sha256.len())])]
    Deferred { sha256: String, why: String },
    #[error("not allowed to read photo {0} (no record this device may read references it)")]
    NotAuthorised(String),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Store(#[from] gridpad_core::Error),
}

/// Figures of one upload (or of a batch).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UploadStats {
    /// Photo bytes that had to reach the hub.
    pub needed: u64,
    /// Body bytes handed to the network, re-sends included.
    pub sent: u64,
    /// Requests that failed (cut, timeout, 409) and were resumed.
    pub resumes: u32,
    /// Bytes sent again after each failure (sent in the failed request but not kept by
    /// the hub).
    pub resent_per_failure: Vec<u64>,
    /// Chunk size in force at each failure.
    pub chunk_at_failure: Vec<u64>,
    pub requests: u32,
    /// Photos the hub already had (not sent).
    pub skipped: u32,
    pub uploaded: u32,
    /// Photos whose turn ended without progress (still queued).
    pub deferred: u32,
}

impl UploadStats {
    pub fn overhead(&self) -> u64 {
        self.sent.saturating_sub(self.needed)
    }
    fn add(&mut self, o: &UploadStats) {
        self.needed += o.needed;
        self.sent += o.sent;
        self.resumes += o.resumes;
        self.resent_per_failure.extend(&o.resent_per_failure);
        self.chunk_at_failure.extend(&o.chunk_at_failure);
        self.requests += o.requests;
        self.skipped += o.skipped;
        self.uploaded += o.uploaded;
        self.deferred += o.deferred;
    }
}

/// A request that got no (whole) answer.
fn network(e: impl std::fmt::Display) -> UploadError {
    UploadError::Network {
        attempts: 1,
        last: e.to_string(),
    }
}

/// Adaptive chunk size: [`START_CHUNK`] to begin with, within [`MIN_CHUNK`]–[`MAX_CHUNK_SIZE`]
/// ([`retry::Adaptive`]).
#[derive(Clone, Copy, Debug)]
pub struct ChunkSizer(pub retry::Adaptive);

impl Default for ChunkSizer {
    fn default() -> Self {
        ChunkSizer(retry::Adaptive::new(START_CHUNK, MIN_CHUNK, MAX_CHUNK_SIZE))
    }
}

impl std::ops::Deref for ChunkSizer {
    type Target = retry::Adaptive;
    fn deref(&self) -> &retry::Adaptive {
        &self.0
    }
}

impl std::ops::DerefMut for ChunkSizer {
    fn deref_mut(&mut self) -> &mut retry::Adaptive {
        &mut self.0
    }
}

/// Talks to gridhub's blob routes.
pub struct HubClient {
    base: String,
    http: Client,
    /// Wait before retrying after a failure (doubles up to 30 s).
    pub retry_delay: Duration,
    /// Consecutive failures before giving up (the sync worker tries again later).
    pub max_failures: u32,
    /// Slowest link we still wait for, bytes/s (sets each request's timeout).
    pub min_rate: u64,
}

/// Counts the bytes the HTTP client actually pulled from the body.
struct Counting {
    data: std::io::Cursor<Vec<u8>>,
    count: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.data.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

enum Patch {
    Acked { offset: u64, complete: bool },
    Conflict,
    Gone,
    Mismatch,
    Refused(u16),
    Failed(String),
}

/// This photo's turn is over for this round.
fn deferred(sha: &str, why: &str) -> UploadError {
    UploadError::Deferred {
        sha256: sha.to_string(),
        why: why.to_string(),
    }
}

fn go(v: TurnDecision, sha: &str) -> Result<(), UploadError> {
    match v {
        TurnDecision::Continue => Ok(()),
        TurnDecision::Defer(why) => Err(deferred(sha, why)),
    }
}

fn header_u64(h: &reqwest::header::HeaderMap, name: &str) -> Option<u64> {
    h.get(name)?.to_str().ok()?.parse().ok()
}

impl HubClient {
    /// `http`: a client set up by the app with the device's authentication (default
    /// headers or TLS client certificate); `base`: the hub's URL, e.g. `https://hub:8443`.
    pub fn new(http: Client, base: &str) -> Self {
        HubClient {
            base: base.trim_end_matches('/').to_string(),
            http,
            retry_delay: Duration::from_millis(500),
            max_failures: retry::MAX_FAILURES,
            min_rate: 2_000,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn timeout(&self, bytes: u64) -> Duration {
        Duration::from_secs(15) + Duration::from_millis(bytes * 1000 / self.min_rate.max(1))
    }

    fn backoff(&self, failures: u32) {
        std::thread::sleep(retry::delay(self.retry_delay, failures));
    }

    /// Which of `hashes` the hub still needs from this device (the photo inventory). A
    /// small request: asked again ([`retry::retrying`]) when it got no whole answer.
    pub fn missing(&self, hashes: &[String]) -> Result<Vec<String>, UploadError> {
        retry::retrying(
            || self.missing_once(hashes),
            |e| matches!(e, UploadError::Network { .. }),
        )
    }

    fn missing_once(&self, hashes: &[String]) -> Result<Vec<String>, UploadError> {
        let mut out = Vec::new();
        for batch in hashes.chunks(MAX_HAVE) {
            let r = self
                .http
                .post(self.url(HAVE_PATH))
                .timeout(self.timeout(64 * 1024))
                .json(&HaveRequest {
                    hashes: batch.to_vec(),
                })
                .send()
                .map_err(network)?;
            let status = r.status();
            // An answer cut short is no answer: worth another try, like no answer at all.
            let bytes = r.bytes().map_err(network)?;
            if status.is_server_error() {
                return Err(network(status));
            }
            if !status.is_success() {
                return Err(UploadError::Hub(
                    status.as_u16(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ));
            }
            let h: HaveResponse = serde_json::from_slice(&bytes).map_err(|e| {
                UploadError::Hub(status.as_u16(), format!("unreadable answer: {e}"))
            })?;
            out.extend(h.missing);
        }
        Ok(out)
    }

    /// `Err`: worth retrying; `Ok(Err)`: refused for good.
    fn create(&self, sha: &str, len: u64) -> Result<Result<UploadCreated, UploadError>, String> {
        let r = self
            .http
            .post(self.url(UPLOADS_PATH))
            .timeout(self.timeout(4096))
            .json(&CreateUpload {
                sha256: sha.to_string(),
                length: len,
            })
            .send()
            .map_err(|e| e.to_string())?;
        let status = r.status();
        if Self::refused(status) {
            return Ok(Err(UploadError::Hub(
                status.as_u16(),
                r.text().unwrap_or_default(),
            )));
        }
        if !status.is_success() {
            return Err(format!("{status}: {}", r.text().unwrap_or_default()));
        }
        r.json().map(Ok).map_err(|e| e.to_string())
    }

    /// Answers that retrying cannot fix (authentication, permission, size).
    fn refused(status: StatusCode) -> bool {
        matches!(status.as_u16(), 400 | 401 | 403 | 413)
    }

    /// `Ok(None)`: the hub does not know the upload.
    fn head(&self, id: &str) -> Result<Option<u64>, String> {
        let r = self
            .http
            .head(self.url(&format!("{UPLOADS_PATH}/{id}")))
            .timeout(self.timeout(4096))
            .send()
            .map_err(|e| e.to_string())?;
        match r.status() {
            s if s.is_success() => header_u64(r.headers(), UPLOAD_OFFSET)
                .map(Some)
                .ok_or_else(|| "HEAD without Upload-Offset".to_string()),
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(None),
            s => Err(format!("HEAD: {s}")),
        }
    }

    fn patch(&self, id: &str, offset: u64, data: Vec<u8>, count: Arc<AtomicU64>) -> Patch {
        let len = data.len() as u64;
        let body = Body::sized(
            Counting {
                data: std::io::Cursor::new(data),
                count,
            },
            len,
        );
        let r = self
            .http
            .patch(self.url(&format!("{UPLOADS_PATH}/{id}")))
            .timeout(self.timeout(len))
            .header(UPLOAD_OFFSET, offset)
            .header(reqwest::header::CONTENT_TYPE, OFFSET_CONTENT_TYPE)
            .body(body)
            .send();
        let r = match r {
            Ok(r) => r,
            Err(e) => return Patch::Failed(e.to_string()),
        };
        let s = r.status();
        if s.is_success() {
            match header_u64(r.headers(), UPLOAD_OFFSET) {
                Some(o) => Patch::Acked {
                    offset: o,
                    complete: r
                        .headers()
                        .get(UPLOAD_COMPLETE)
                        .is_some_and(|v| v.as_bytes() == b"?1"),
                },
                None => Patch::Failed("PATCH answer without Upload-Offset".into()),
            }
        } else if s == StatusCode::CONFLICT {
            Patch::Conflict
        } else if s == StatusCode::NOT_FOUND || s == StatusCode::GONE {
            Patch::Gone
        } else if s.as_u16() == CHECKSUM_MISMATCH {
            Patch::Mismatch
        } else if Self::refused(s) {
            Patch::Refused(s.as_u16())
        } else {
            Patch::Failed(format!("PATCH: {s}"))
        }
    }

    /// Upload one registered photo, resuming from the offset persisted in the store.
    pub fn upload_photo(
        &self,
        store: &Store,
        vault: &Vault,
        sha: &str,
        sizer: &mut ChunkSizer,
    ) -> Result<UploadStats, UploadError> {
        self.upload_photo_with(store, vault, sha, sizer, &mut |_| {})
    }

    /// [`HubClient::upload_photo`], telling `acked` each offset the hub acknowledges.
    ///
    /// Bounded: [`UploadError::Deferred`] ends this photo's turn when the hub gives
    /// [`MAX_STALLS`] answers without progress, when it needs more than [`MAX_RESTARTS`]
    /// fresh starts, or when it holds every byte and a request for completion does not
    /// complete it; [`UploadError::Network`] after `max_failures` failed requests in a row
    /// (the link is down: the caller ends the photo step). The photo stays queued, with
    /// what the hub acknowledged, for the next sync.
    pub fn upload_photo_with(
        &self,
        store: &Store,
        vault: &Vault,
        sha: &str,
        sizer: &mut ChunkSizer,
        acked: &mut dyn FnMut(u64),
    ) -> Result<UploadStats, UploadError> {
        let len = vault.len(sha)?;
        let mut st = UploadStats::default();
        let mut t = Turn::default();
        // Find or create the upload.
        let rec = store
            .photo_upload(sha)?
            .ok_or_else(|| VaultError::NotFound(sha.to_string()))?;
        let (mut id, mut offset) = (rec.upload_id.clone(), rec.upload_offset.max(0) as u64);
        // Resuming (after a restart of either side): the hub may hold more than we saw
        // acknowledged, or have forgotten the upload. One HEAD tells.
        if let Some(cur) = &id {
            st.requests += 1;
            match self.head(cur) {
                Ok(Some(o)) => offset = o,
                Ok(None) => {
                    go(t.restart(), sha)?;
                    store.reset_photo_upload(sha)?;
                    (id, offset) = (None, 0);
                }
                Err(_) => {} // the loop below retries
            }
        }
        st.needed = len - offset.min(len);
        loop {
            let Some(cur) = id.clone() else {
                st.requests += 1;
                match self.create(sha, len) {
                    Ok(Err(e)) => return Err(e),
                    Ok(Ok(c)) if c.complete => {
                        store.mark_photo_uploaded(sha)?;
                        st.needed = 0;
                        st.skipped += 1;
                        return Ok(st);
                    }
                    Ok(Ok(c)) => {
                        store.set_photo_upload(sha, &c.id, c.offset as i64)?;
                        if c.offset != offset {
                            st.needed = len - c.offset.min(len);
                        }
                        offset = c.offset;
                        id = Some(c.id);
                    }
                    Err(e) => self.failed(&mut t, e)?,
                }
                continue;
            };
            if offset >= len {
                // Every byte is at the hub but the completion was not seen (the hub may
                // have stopped between the last byte and the completion). Ask once: a
                // create for the same photo finishes such an upload.
                if t.asked_completion {
                    return Err(deferred(
                        sha,
                        "the hub holds every byte but does not complete it",
                    ));
                }
                st.requests += 1;
                match self.create(sha, len) {
                    Ok(Err(e)) => return Err(e),
                    Ok(Ok(c)) if c.complete => {
                        store.mark_photo_uploaded(sha)?;
                        st.uploaded += 1;
                        return Ok(st);
                    }
                    Ok(Ok(c)) => {
                        t.asked_completion = true;
                        if c.id != cur || c.offset < offset {
                            // The hub forgot it and starts again.
                            go(t.restart(), sha)?;
                            st.needed += len - c.offset.min(len);
                        }
                        store.set_photo_upload(sha, &c.id, c.offset as i64)?;
                        offset = c.offset;
                        id = Some(c.id);
                    }
                    Err(e) => self.failed(&mut t, e)?,
                }
                continue;
            }
            let n = sizer.size.min(len - offset);
            let data = vault.read_range(sha, offset, n)?;
            let count = Arc::new(AtomicU64::new(0));
            st.requests += 1;
            let outcome = self.patch(&cur, offset, data, count.clone());
            let pulled = count.load(Ordering::Relaxed);
            st.sent += pulled;
            match outcome {
                Patch::Acked {
                    offset: o,
                    complete,
                } => {
                    t.failures = 0;
                    sizer.success();
                    if complete || o >= len {
                        store.mark_photo_uploaded(sha)?;
                        st.uploaded += 1;
                        return Ok(st);
                    }
                    if o <= offset {
                        // Accepted, yet the hub's offset did not move.
                        go(
                            t.stalled("the hub acknowledges chunks without taking them"),
                            sha,
                        )?;
                        self.backoff(t.stalls);
                    } else {
                        t.progressed();
                    }
                    offset = o;
                    store.set_photo_upload(sha, &cur, o as i64)?;
                    acked(o);
                }
                Patch::Refused(code) => {
                    return Err(UploadError::Hub(code, "upload refused".into()));
                }
                Patch::Gone => {
                    go(t.restart(), sha)?;
                    store.reset_photo_upload(sha)?;
                    (id, offset) = (None, 0);
                    st.needed = len;
                }
                Patch::Mismatch => {
                    // The hub discarded a corrupted upload; our file hashes right, so send
                    // it again from zero.
                    go(t.restart(), sha)?;
                    vault.read(sha)?;
                    store.reset_photo_upload(sha)?;
                    (id, offset) = (None, 0);
                    st.needed += len;
                }
                other => {
                    let last = match other {
                        Patch::Failed(e) => e,
                        Patch::Conflict => "409 Conflict".into(),
                        _ => unreachable!(),
                    };
                    sizer.failure();
                    let before = offset;
                    st.resumes += 1;
                    self.failed(&mut t, last)?;
                    // Where did the hub get to? (It keeps what reached it of a cut body.)
                    loop {
                        st.requests += 1;
                        match self.head(&cur) {
                            Ok(Some(o)) => {
                                offset = o;
                                break;
                            }
                            Ok(None) => {
                                let missing = self.missing(&[sha.to_string()])?;
                                if missing.is_empty() {
                                    store.mark_photo_uploaded(sha)?;
                                    st.uploaded += 1;
                                    st.resent_per_failure.push(pulled);
                                    st.chunk_at_failure.push(n);
                                    return Ok(st);
                                }
                                go(t.restart(), sha)?;
                                store.reset_photo_upload(sha)?;
                                (id, offset) = (None, 0);
                                st.needed += len;
                                break;
                            }
                            Err(e) => self.failed(&mut t, e)?,
                        }
                    }
                    let kept = offset.saturating_sub(before);
                    st.resent_per_failure.push(pulled.saturating_sub(kept));
                    st.chunk_at_failure.push(n);
                    if id.is_some() {
                        if offset > before {
                            t.progressed();
                        } else {
                            // The same offset again: the hub takes nothing of this photo.
                            go(t.stalled("the hub's offset does not move"), sha)?;
                        }
                    }
                    if let Some(i) = &id {
                        store.set_photo_upload(sha, i, offset as i64)?;
                    }
                }
            }
        }
    }

    /// A request failed (cut, timeout, 5xx): back off; `max_failures` in a row end the
    /// photo step for this run.
    fn failed(&self, t: &mut Turn, last: String) -> Result<(), UploadError> {
        t.failures += 1;
        t.attempts += 1;
        if t.failures >= self.max_failures {
            return Err(UploadError::Network {
                attempts: t.attempts,
                last,
            });
        }
        self.backoff(t.failures);
        Ok(())
    }

    /// Upload every photo still waiting: ask the hub which it lacks, upload those, mark
    /// the rest uploaded.
    pub fn upload_pending(&self, store: &Store, vault: &Vault) -> Result<UploadStats, UploadError> {
        let mut total = UploadStats::default();
        let mut sizer = ChunkSizer::default();
        let pending = store.photos_to_upload(10_000)?;
        if pending.is_empty() {
            return Ok(total);
        }
        let hashes: Vec<String> = pending.iter().map(|p| p.sha256.clone()).collect();
        let missing = self.missing(&hashes)?;
        for p in &pending {
            if !missing.contains(&p.sha256) {
                store.mark_photo_uploaded(&p.sha256)?;
                total.skipped += 1;
                continue;
            }
            match self.upload_photo(store, vault, &p.sha256, &mut sizer) {
                Ok(st) => total.add(&st),
                // Its turn is over for this run; the next photos go on.
                Err(UploadError::Deferred { .. }) => total.deferred += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(total)
    }

    /// Download a photo a record lets this device read, resuming with `Range` after a cut,
    /// verify its SHA-256 and keep it in the vault. Returns its length.
    pub fn download(&self, vault: &Vault, sha: &str) -> Result<u64, UploadError> {
        if vault.contains(sha) {
            return Ok(vault.len(sha)?);
        }
        let mut buf: Vec<u8> = Vec::new();
        let mut total: Option<u64> = None;
        let mut failures = 0u32;
        loop {
            if let Some(t) = total {
                if buf.len() as u64 >= t {
                    break;
                }
            }
            let mut req = self
                .http
                .get(self.url(&format!("{BLOBS_PATH}/{sha}")))
                .timeout(self.timeout(MAX_CHUNK_SIZE * 4));
            if !buf.is_empty() {
                req = req.header(reqwest::header::RANGE, format!("bytes={}-", buf.len()));
            }
            let result = req.send().map_err(|e| e.to_string()).and_then(|mut r| {
                match r.status() {
                    StatusCode::OK => {
                        buf.clear();
                        total = r.content_length();
                    }
                    StatusCode::PARTIAL_CONTENT => {
                        // "bytes a-b/len"
                        let cr = r
                            .headers()
                            .get(reqwest::header::CONTENT_RANGE)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("");
                        let start = cr
                            .strip_prefix("bytes ")
                            .and_then(|s| s.split('-').next())
                            .and_then(|s| s.parse::<u64>().ok());
                        if start != Some(buf.len() as u64) {
                            buf.clear();
                            return Err("unexpected Content-Range".to_string());
                        }
                        total = cr.rsplit('/').next().and_then(|s| s.parse().ok());
                    }
                    StatusCode::NOT_FOUND | StatusCode::FORBIDDEN => {
                        return Ok(Some(UploadError::NotAuthorised(sha.to_string())))
                    }
                    s => return Err(format!("GET: {s}")),
                }
                if total.is_some_and(|t| t > MAX_BLOB) {
                    return Ok(Some(UploadError::Hub(413, "blob too large".into())));
                }
                let mut tmp = vec![0u8; 64 * 1024];
                loop {
                    match r.read(&mut tmp) {
                        Ok(0) => return Ok(None),
                        Ok(n) => buf.extend_from_slice(&tmp[..n]),
                        Err(e) => return Err(e.to_string()),
                    }
                }
            });
            match result {
                Ok(Some(e)) => return Err(e),
                Ok(None) if total.is_none() => total = Some(buf.len() as u64),
                Ok(None) => failures = 0,
                Err(e) => {
                    failures += 1;
                    if failures >= self.max_failures {
                        return Err(UploadError::Network {
                            attempts: failures,
                            last: e,
                        });
                    }
                    self.backoff(failures);
                }
            }
        }
        vault.put_verified(sha, &buf)?;
        Ok(buf.len() as u64)
    }
}

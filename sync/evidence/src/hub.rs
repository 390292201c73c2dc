//! Hub side of the blob protocol ([`crate::blob`]): an axum [`Router`] generic over where
//! blobs are kept ([`BlobStore`]) and who may read what ([`Authorizer`]).
//!
//! gridhub authenticates the device (its own middleware) and inserts [`AuthedDevice`] as a
//! request extension; then it mounts this router:
//!
//! ```ignore
//! let blobs = gridpad_evidence::hub::router(Arc::new(FsBlobStore::open(dir)?), Arc::new(MyAuth));
//! let app = Router::new().merge(blobs).layer(my_device_auth_middleware);
//! ```
//!
//! A request without [`AuthedDevice`] is answered 401.

use crate::blob::*;
use crate::seal::is_sha256_hex;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The device a request comes from, as the hub's authentication established it. gridhub's
/// auth middleware inserts it into the request's extensions.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AuthedDevice(pub String);

impl<S: Send + Sync> FromRequestParts<S> for AuthedDevice {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<AuthedDevice>()
            .cloned()
            .ok_or(StatusCode::UNAUTHORIZED)
    }
}

/// Who may do what with blobs. Implemented by gridhub over its records.
pub trait Authorizer: Send + Sync + 'static {
    /// May `device` upload at all (enrolled, not locked)?
    fn may_upload(&self, device: &str) -> bool {
        let _ = device;
        true
    }
    /// May `device` download `sha256`? Only when a record the device may read references
    /// the hash (a task's reference photo, its own report) — never by hash alone.
    fn may_read(&self, device: &str, sha256: &str) -> bool;
    /// A blob was verified and stored from `device` (mark records awaiting it complete).
    fn blob_stored(&self, device: &str, sha256: &str) {
        let _ = (device, sha256);
    }
}

/// An upload in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    pub id: String,
    pub device: String,
    pub sha256: String,
    pub length: u64,
    /// Bytes received so far.
    pub offset: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("no such upload")]
    NotFound,
    #[error("the upload is at offset {0}")]
    Conflict(u64),
    #[error("more bytes than the upload's length")]
    TooLong,
    #[error("the upload does not hash to its SHA-256")]
    DigestMismatch,
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Where the hub keeps blobs and uploads in progress. Calls are blocking; the router runs
/// them on tokio's blocking pool. [`crate::fs_store::FsBlobStore`] is the file-system one.
pub trait BlobStore: Send + Sync + 'static {
    /// Has `device` already delivered `sha256` (the hub holds the verified blob and this
    /// device proved it has the bytes by uploading them)? A blob another device uploaded
    /// does not count: a device cannot claim a photo by knowing its hash.
    fn delivered(&self, device: &str, sha256: &str) -> Result<bool, BlobError>;
    /// Create the upload of `sha256` by `device`, or return the existing one (same device
    /// and hash → same upload, so a device that lost its upload id resumes all the same).
    fn create_upload(&self, device: &str, sha256: &str, length: u64) -> Result<Upload, BlobError>;
    fn upload(&self, id: &str) -> Result<Option<Upload>, BlobError>;
    /// Append `data` at `offset` (which must be the upload's current offset); returns the
    /// new offset. Need not be durable until [`BlobStore::sync`].
    fn append(&self, id: &str, offset: u64, data: &[u8]) -> Result<u64, BlobError>;
    /// Make the bytes appended so far durable (before the offset is acknowledged).
    fn sync(&self, id: &str) -> Result<(), BlobError>;
    /// All bytes are in: verify the SHA-256, store the blob content-addressed, record that
    /// `device` delivered it, drop the upload. On a mismatch the upload is discarded.
    fn complete(&self, id: &str) -> Result<(), BlobError>;
    /// Length of a stored blob.
    fn blob_len(&self, sha256: &str) -> Result<Option<u64>, BlobError>;
    /// Read `[start, end)` of a stored blob.
    fn read_blob(&self, sha256: &str, start: u64, end: u64) -> Result<Vec<u8>, BlobError>;
}

struct Hub<S, A> {
    store: Arc<S>,
    auth: Arc<A>,
    /// Uploads a PATCH is writing to right now (a second writer gets 409).
    busy: Arc<Mutex<HashSet<String>>>,
}

type Shared<S, A> = Arc<Hub<S, A>>;

/// The blob routes, to be mounted (merged) into gridhub's router behind its device
/// authentication.
pub fn router<S: BlobStore, A: Authorizer>(store: Arc<S>, auth: Arc<A>) -> Router {
    let hub = Arc::new(Hub {
        store,
        auth,
        busy: Arc::new(Mutex::new(HashSet::new())),
    });
    Router::new()
        .route(HAVE_PATH, post(have::<S, A>))
        .route(UPLOADS_PATH, post(create::<S, A>))
        .route(
            &format!("{UPLOADS_PATH}/{{id}}"),
            axum::routing::head(head_upload::<S, A>).patch(patch_upload::<S, A>),
        )
        .route(&format!("{BLOBS_PATH}/{{sha}}"), get(download::<S, A>))
        .with_state(hub)
}

fn error_response(e: BlobError) -> Response {
    match e {
        BlobError::NotFound => StatusCode::NOT_FOUND.into_response(),
        BlobError::Conflict(off) => offset_response(StatusCode::CONFLICT, off, None),
        BlobError::TooLong => StatusCode::PAYLOAD_TOO_LARGE.into_response(),
        BlobError::DigestMismatch => StatusCode::from_u16(CHECKSUM_MISMATCH)
            .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)
            .into_response(),
        BlobError::Io(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

fn offset_response(status: StatusCode, offset: u64, length: Option<u64>) -> Response {
    let mut h = HeaderMap::new();
    h.insert(UPLOAD_OFFSET, HeaderValue::from(offset));
    if let Some(l) = length {
        h.insert(UPLOAD_LENGTH, HeaderValue::from(l));
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    (status, h).into_response()
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> Result<T, BlobError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BlobError::Io(std::io::Error::other(e.to_string())))?
}

async fn have<S: BlobStore, A: Authorizer>(
    State(hub): State<Shared<S, A>>,
    AuthedDevice(device): AuthedDevice,
    Json(req): Json<HaveRequest>,
) -> Response {
    if req.hashes.len() > MAX_HAVE || !req.hashes.iter().all(|h| is_sha256_hex(h)) {
        return (
            StatusCode::BAD_REQUEST,
            "hashes: up to 1000 lower-case SHA-256 hex",
        )
            .into_response();
    }
    let store = hub.store.clone();
    let r = blocking(move || {
        let mut missing = Vec::new();
        for h in req.hashes {
            if !store.delivered(&device, &h)? {
                missing.push(h);
            }
        }
        Ok(missing)
    })
    .await;
    match r {
        Ok(missing) => Json(HaveResponse { missing }).into_response(),
        Err(e) => error_response(e),
    }
}

async fn create<S: BlobStore, A: Authorizer>(
    State(hub): State<Shared<S, A>>,
    AuthedDevice(device): AuthedDevice,
    Json(req): Json<CreateUpload>,
) -> Response {
    if !is_sha256_hex(&req.sha256) {
        return (StatusCode::BAD_REQUEST, "sha256: lower-case hex").into_response();
    }
    if req.length == 0 || req.length > MAX_BLOB {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    if !hub.auth.may_upload(&device) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let store = hub.store.clone();
    let r = blocking(move || {
        if store.delivered(&device, &req.sha256)? {
            return Ok(UploadCreated {
                id: String::new(),
                offset: req.length,
                length: req.length,
                complete: true,
            });
        }
        let u = store.create_upload(&device, &req.sha256, req.length)?;
        Ok(UploadCreated {
            id: u.id,
            offset: u.offset,
            length: u.length,
            complete: false,
        })
    })
    .await;
    match r {
        Ok(c) if c.complete => (StatusCode::OK, Json(c)).into_response(),
        Ok(c) => {
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&format!("{UPLOADS_PATH}/{}", c.id)) {
                h.insert(header::LOCATION, v);
            }
            h.insert(UPLOAD_OFFSET, HeaderValue::from(c.offset));
            (StatusCode::CREATED, h, Json(c)).into_response()
        }
        Err(e) => error_response(e),
    }
}

async fn own_upload<S: BlobStore, A: Authorizer>(
    hub: &Shared<S, A>,
    device: &str,
    id: String,
) -> Result<Upload, BlobError> {
    let store = hub.store.clone();
    match blocking(move || store.upload(&id)).await? {
        // Another device's upload is as good as unknown.
        Some(u) if u.device == device => Ok(u),
        _ => Err(BlobError::NotFound),
    }
}

async fn head_upload<S: BlobStore, A: Authorizer>(
    State(hub): State<Shared<S, A>>,
    AuthedDevice(device): AuthedDevice,
    Path(id): Path<String>,
) -> Response {
    // A PATCH cut by the network (or by a killed device) may still be draining what the
    // link delivered: answer with the offset it settles at, not a stale one, so the
    // resuming device does not send those bytes again. Bounded: a stuck writer does not
    // hold the answer for long.
    for _ in 0..HEAD_SETTLE_POLLS {
        let busy = hub
            .busy
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&id);
        if !busy {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    match own_upload(&hub, &device, id).await {
        Ok(u) => offset_response(StatusCode::NO_CONTENT, u.offset, Some(u.length)),
        Err(e) => error_response(e),
    }
}

/// Releases an upload's write lock however the PATCH ends.
struct BusyGuard {
    set: Arc<Mutex<HashSet<String>>>,
    id: String,
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        if let Ok(mut s) = self.set.lock() {
            s.remove(&self.id);
        }
    }
}

/// HEAD waits at most this many × 50 ms for a draining PATCH of the same upload.
const HEAD_SETTLE_POLLS: u32 = 60;

/// Bytes gathered before one append to the store.
const WRITE_BATCH: usize = 64 * 1024;

async fn patch_upload<S: BlobStore, A: Authorizer>(
    State(hub): State<Shared<S, A>>,
    AuthedDevice(device): AuthedDevice,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(claimed) = headers
        .get(UPLOAD_OFFSET)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return (StatusCode::BAD_REQUEST, "Upload-Offset required").into_response();
    };
    let upload = match own_upload(&hub, &device, id.clone()).await {
        Ok(u) => u,
        Err(e) => return error_response(e),
    };
    let guard = {
        let mut busy = hub.busy.lock().unwrap_or_else(|p| p.into_inner());
        if !busy.insert(id.clone()) {
            // A request cut by the network may still be draining: the device asks HEAD
            // and tries again.
            return offset_response(StatusCode::CONFLICT, upload.offset, Some(upload.length));
        }
        BusyGuard {
            set: hub.busy.clone(),
            id: id.clone(),
        }
    };
    // Re-read under the lock: the offset may have moved while we waited.
    let upload = match own_upload(&hub, &device, id.clone()).await {
        Ok(u) => u,
        Err(e) => return error_response(e),
    };
    if claimed != upload.offset {
        return offset_response(StatusCode::CONFLICT, upload.offset, Some(upload.length));
    }
    // The body is drained by a task of its own. When the device's connection closes
    // mid-body (a cut link, a killed process), the HTTP server drops this request's
    // future, and with it whatever it had read but not yet written: up to one read
    // buffer, hundreds of KB the device would then send again. The task outlives the
    // request, keeps everything that arrived, and releases the upload (`guard`) only
    // when it is on disk, which is what HEAD waits for.
    let task = tokio::spawn(receive_body(hub.clone(), guard, device, upload, body));
    match task.await {
        Ok(r) => r,
        Err(e) => error_response(BlobError::Io(std::io::Error::other(e.to_string()))),
    }
}

/// Append a PATCH body to its upload from `upload.offset` on, in batches, until the body
/// ends or breaks; complete the upload when its last byte is in.
async fn receive_body<S: BlobStore, A: Authorizer>(
    hub: Shared<S, A>,
    _guard: BusyGuard,
    device: String,
    upload: Upload,
    body: Body,
) -> Response {
    let id = upload.id.clone();
    let mut offset = upload.offset;
    let mut stream = body.into_data_stream();
    let mut buf: Vec<u8> = Vec::with_capacity(WRITE_BATCH);
    let mut failed = None;
    loop {
        let next = stream.next().await;
        let end = match &next {
            Some(Ok(bytes)) => {
                buf.extend_from_slice(bytes);
                false
            }
            Some(Err(e)) => {
                failed = Some(e.to_string());
                true
            }
            None => true,
        };
        if (end || buf.len() >= WRITE_BATCH) && !buf.is_empty() {
            if offset + buf.len() as u64 > upload.length {
                return error_response(BlobError::TooLong);
            }
            let store = hub.store.clone();
            let data = std::mem::replace(&mut buf, Vec::with_capacity(WRITE_BATCH));
            let id2 = id.clone();
            match blocking(move || store.append(&id2, offset, &data)).await {
                Ok(o) => offset = o,
                Err(e) => return error_response(e),
            }
        }
        if end {
            break;
        }
    }
    let store = hub.store.clone();
    let id2 = id.clone();
    if let Err(e) = blocking(move || store.sync(&id2)).await {
        return error_response(e);
    }
    if let Some(e) = failed {
        // The connection broke mid-body; what arrived is kept (HEAD tells the device).
        return (StatusCode::BAD_REQUEST, format!("body cut short: {e}")).into_response();
    }
    if offset == upload.length {
        let store = hub.store.clone();
        let id2 = id.clone();
        if let Err(e) = blocking(move || store.complete(&id2)).await {
            return error_response(e);
        }
        let auth = hub.auth.clone();
        let (d, sha) = (device.clone(), upload.sha256.clone());
        let _ = tokio::task::spawn_blocking(move || auth.blob_stored(&d, &sha)).await;
        let mut r = offset_response(StatusCode::NO_CONTENT, offset, Some(upload.length));
        r.headers_mut()
            .insert(UPLOAD_COMPLETE, HeaderValue::from_static("?1"));
        return r;
    }
    let mut r = offset_response(StatusCode::NO_CONTENT, offset, Some(upload.length));
    r.headers_mut()
        .insert(UPLOAD_COMPLETE, HeaderValue::from_static("?0"));
    r
}

async fn download<S: BlobStore, A: Authorizer>(
    State(hub): State<Shared<S, A>>,
    AuthedDevice(device): AuthedDevice,
    Path(sha): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !is_sha256_hex(&sha) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let (auth, store) = (hub.auth.clone(), hub.store.clone());
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let r = blocking(move || {
        if !auth.may_read(&device, &sha) {
            return Err(BlobError::NotFound);
        }
        let len = store.blob_len(&sha)?.ok_or(BlobError::NotFound)?;
        let (start, end, partial) = match range.as_deref() {
            None => (0, len, false),
            Some(r) => match parse_range(r, len) {
                Some((s, e)) => (s, e, true),
                None => return Ok((len, 0, 0, false, None)),
            },
        };
        let data = store.read_blob(&sha, start, end)?;
        Ok((len, start, end, partial, Some(data)))
    })
    .await;
    match r {
        Ok((len, _, _, _, None)) => {
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                h.insert(header::CONTENT_RANGE, v);
            }
            (StatusCode::RANGE_NOT_SATISFIABLE, h).into_response()
        }
        Ok((len, start, end, partial, Some(data))) => {
            let mut h = HeaderMap::new();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
            if partial {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{len}", end - 1)) {
                    h.insert(header::CONTENT_RANGE, v);
                }
                (StatusCode::PARTIAL_CONTENT, h, data).into_response()
            } else {
                (StatusCode::OK, h, data).into_response()
            }
        }
        Err(e) => error_response(e),
    }
}

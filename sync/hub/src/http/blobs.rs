//! The photo routes (the blob protocol of `gridpad_evidence::blob`): which photos the hub
//! still needs from a device, resumable uploads, ranged downloads. Every route takes an
//! [`ActiveDevice`]: an administrator's token, a locked or a wiped device moves no photo.
//!
//! | request | answer |
//! |---|---|
//! | `POST /v1/blobs/have` | the hashes this device still has to upload |
//! | `POST /v1/uploads` | the upload of (device, hash), created or found again |
//! | `HEAD /v1/uploads/{id}` | its offset |
//! | `PATCH /v1/uploads/{id}` | bytes appended at `Upload-Offset`; completion after the last |
//! | `GET /v1/blobs/{sha256}` | the photo, when a record the device may read carries it |

use super::extract::{blocking, ActiveDevice, HubState};
use crate::blobstore::{BlobError, BlobStore, Upload};
use crate::hub::{Hub, HubError};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use gridpad_evidence::blob::*;
use gridpad_evidence::seal::is_sha256_hex;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The photo routes' state: the hub, its blob store, and the uploads a PATCH is writing to
/// right now (a second writer gets 409).
#[derive(Clone)]
pub struct Blobs {
    hub: Arc<Hub>,
    store: Arc<dyn BlobStore>,
    busy: Arc<Mutex<HashSet<String>>>,
}

impl HubState for Blobs {
    fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }
}

/// The photo routes over `store`, merged into gridhub's router.
pub fn router(hub: Arc<Hub>, store: Arc<dyn BlobStore>) -> Router {
    let state = Blobs {
        hub,
        store,
        busy: Arc::new(Mutex::new(HashSet::new())),
    };
    Router::new()
        .route(HAVE_PATH, post(have))
        .route(UPLOADS_PATH, post(create))
        .route(
            &format!("{UPLOADS_PATH}/{{id}}"),
            axum::routing::head(head_upload).patch(patch_upload),
        )
        .route(&format!("{BLOBS_PATH}/{{sha}}"), get(download))
        .with_state(state)
}

/// A blob store error as an answer: a conflict says where the upload is.
fn blob_error(e: BlobError) -> Response {
    match e {
        BlobError::Conflict(off) => offset_response(StatusCode::CONFLICT, off, None),
        e => HubError::from(e).into_response(),
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

async fn on_store<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> Result<T, BlobError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BlobError::Io(std::io::Error::other(e.to_string())))?
}

async fn have(
    State(s): State<Blobs>,
    ActiveDevice(device): ActiveDevice,
    Json(req): Json<HaveRequest>,
) -> Result<Response, HubError> {
    if req.hashes.len() > MAX_HAVE || !req.hashes.iter().all(|h| is_sha256_hex(h)) {
        return Err(HubError::BadRequest(format!(
            "hashes: up to {MAX_HAVE} lower-case SHA-256 hex"
        )));
    }
    let store = s.store.clone();
    let missing = blocking(move || {
        let mut missing = Vec::new();
        for h in req.hashes {
            if !store.delivered(&device.device_id, &h)? {
                missing.push(h);
            }
        }
        Ok(missing)
    })
    .await?;
    Ok(Json(HaveResponse { missing }).into_response())
}

async fn create(
    State(s): State<Blobs>,
    ActiveDevice(device): ActiveDevice,
    Json(req): Json<CreateUpload>,
) -> Result<Response, HubError> {
    if !is_sha256_hex(&req.sha256) {
        return Err(HubError::BadRequest("sha256: lower-case hex".into()));
    }
    if req.length == 0 || req.length > MAX_BLOB {
        return Err(HubError::TooLarge(format!(
            "a photo has 1 to {MAX_BLOB} bytes"
        )));
    }
    let (store, hub) = (s.store.clone(), s.hub.clone());
    let c = blocking(move || {
        let device = device.device_id;
        let done = UploadCreated {
            id: String::new(),
            offset: req.length,
            length: req.length,
            complete: true,
        };
        if store.delivered(&device, &req.sha256)? {
            return Ok(done);
        }
        let resumed = store
            .uploads_of(&device)?
            .into_iter()
            .any(|u| u.sha256 == req.sha256);
        if !resumed {
            hub.check_photo_quota(&device, &req.sha256, req.length)?;
        }
        let u = store.create_upload(&device, &req.sha256, req.length)?;
        if u.offset == u.length {
            // Every byte is in but the completion did not finish (the hub stopped on the
            // way): finish it now, so the device is never stuck on this photo.
            store.complete(&u.id)?;
            return Ok(done);
        }
        Ok(UploadCreated {
            id: u.id,
            offset: u.offset,
            length: u.length,
            complete: false,
        })
    })
    .await?;
    if c.complete {
        return Ok((StatusCode::OK, Json(c)).into_response());
    }
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("{UPLOADS_PATH}/{}", c.id)) {
        h.insert(header::LOCATION, v);
    }
    h.insert(UPLOAD_OFFSET, HeaderValue::from(c.offset));
    Ok((StatusCode::CREATED, h, Json(c)).into_response())
}

async fn own_upload(s: &Blobs, device: &str, id: String) -> Result<Upload, BlobError> {
    let store = s.store.clone();
    match on_store(move || store.upload(&id)).await? {
        // Another device's upload is as good as unknown.
        Some(u) if u.device == device => Ok(u),
        _ => Err(BlobError::NotFound),
    }
}

/// HEAD waits at most this many × 50 ms for a draining PATCH of the same upload.
const HEAD_SETTLE_POLLS: u32 = 60;

async fn head_upload(
    State(s): State<Blobs>,
    ActiveDevice(device): ActiveDevice,
    Path(id): Path<String>,
) -> Response {
    // A PATCH cut by the network (or by a killed device) may still be draining what the
    // link delivered: answer with the offset it settles at, not a stale one, so the
    // resuming device does not send those bytes again. Bounded: a stuck writer does not
    // hold the answer for long.
    for _ in 0..HEAD_SETTLE_POLLS {
        let busy = s
            .busy
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&id);
        if !busy {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    match own_upload(&s, &device.device_id, id).await {
        Ok(u) => offset_response(StatusCode::NO_CONTENT, u.offset, Some(u.length)),
        Err(e) => blob_error(e),
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

/// Bytes gathered before one append to the store.
const WRITE_BATCH: usize = 64 * 1024;

async fn patch_upload(
    State(s): State<Blobs>,
    ActiveDevice(device): ActiveDevice,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let device = device.device_id;
    let Some(claimed) = headers
        .get(UPLOAD_OFFSET)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return HubError::BadRequest("Upload-Offset required".into()).into_response();
    };
    let upload = match own_upload(&s, &device, id.clone()).await {
        Ok(u) => u,
        Err(e) => return blob_error(e),
    };
    let guard = {
        let mut busy = s.busy.lock().unwrap_or_else(|p| p.into_inner());
        if !busy.insert(id.clone()) {
            // A request cut by the network may still be draining: the device asks HEAD
            // and tries again.
            return offset_response(StatusCode::CONFLICT, upload.offset, Some(upload.length));
        }
        BusyGuard {
            set: s.busy.clone(),
            id: id.clone(),
        }
    };
    // Re-read under the lock: the offset may have moved while we waited.
    let upload = match own_upload(&s, &device, id.clone()).await {
        Ok(u) => u,
        Err(e) => return blob_error(e),
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
    let task = tokio::spawn(receive_body(s.store.clone(), guard, upload, body));
    match task.await {
        Ok(r) => r,
        Err(e) => blob_error(BlobError::Io(std::io::Error::other(e.to_string()))),
    }
}

/// Append a PATCH body to its upload from `upload.offset` on, in batches, until the body
/// ends or breaks; complete the upload when its last byte is in.
async fn receive_body(
    store: Arc<dyn BlobStore>,
    _guard: BusyGuard,
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
                return blob_error(BlobError::TooLong);
            }
            let store = store.clone();
            let data = std::mem::replace(&mut buf, Vec::with_capacity(WRITE_BATCH));
            let id2 = id.clone();
            match on_store(move || store.append(&id2, offset, &data)).await {
                Ok(o) => offset = o,
                Err(e) => return blob_error(e),
            }
        }
        if end {
            break;
        }
    }
    let st = store.clone();
    let id2 = id.clone();
    if let Err(e) = on_store(move || st.sync(&id2)).await {
        return blob_error(e);
    }
    if let Some(e) = failed {
        // The connection broke mid-body; what arrived is kept (HEAD tells the device).
        return HubError::BadRequest(format!("body cut short: {e}")).into_response();
    }
    let complete = offset == upload.length;
    if complete {
        crate::crash::point("upload.before_complete");
        let st = store.clone();
        let id2 = id.clone();
        if let Err(e) = on_store(move || st.complete(&id2)).await {
            return blob_error(e);
        }
    }
    let mut r = offset_response(StatusCode::NO_CONTENT, offset, Some(upload.length));
    r.headers_mut().insert(
        UPLOAD_COMPLETE,
        HeaderValue::from_static(if complete { "?1" } else { "?0" }),
    );
    r
}

async fn download(
    State(s): State<Blobs>,
    ActiveDevice(device): ActiveDevice,
    Path(sha): Path<String>,
    headers: HeaderMap,
) -> Result<Response, HubError> {
    let hidden = || HubError::NotFound("no such photo for this device".into());
    if !is_sha256_hex(&sha) {
        return Err(hidden());
    }
    let (hub, store) = (s.hub.clone(), s.store.clone());
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let read = blocking(move || {
        // Existence is not revealed: a photo the device may not read is "not found".
        if !hub.may_read_blob(&device.device_id, &sha)? {
            return Err(hidden());
        }
        let len = store.blob_len(&sha)?.ok_or_else(hidden)?;
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
    .await?;
    let mut h = HeaderMap::new();
    let (len, start, end, partial, data) = read;
    let Some(data) = data else {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
            h.insert(header::CONTENT_RANGE, v);
        }
        return Ok((StatusCode::RANGE_NOT_SATISFIABLE, h).into_response());
    };
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    if !partial {
        return Ok((StatusCode::OK, h, data).into_response());
    }
    if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{len}", end - 1)) {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok((StatusCode::PARTIAL_CONTENT, h, data).into_response())
}

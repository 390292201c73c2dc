//! The blob (photo) transfer protocol between device and hub: paths, headers and bodies.
//!
//! Modelled on tus 1.0 / the IETF resumable-upload draft, reduced to what Gridpad needs:
//!
//! | request | answer |
//! |---|---|
//! | `POST /v1/blobs/have` `{"hashes":[…]}` | `200 {"missing":[…]}` — hashes this device still has to upload |
//! | `POST /v1/uploads` `{"sha256":…, "length":…}` | `201 {"id","offset","length","complete"}` + `Location`, `Upload-Offset`; the same device and hash always get the same upload back (idempotent); `complete:true` when the hub already holds it from this device |
//! | `HEAD /v1/uploads/{id}` | `204` + `Upload-Offset`, `Upload-Length`; `404` unknown or expired |
//! | `PATCH /v1/uploads/{id}` `Upload-Offset: n`, `Content-Type: application/offset+octet-stream` | `204` + `Upload-Offset` (+ `Upload-Complete: ?1` when the last byte is in and the SHA-256 matched); `409` + `Upload-Offset` when `n` is not the hub's offset or another request is writing; `460` when the finished upload does not hash to its SHA-256 (the hub discards it) |
//! | `GET /v1/blobs/{sha256}` (`Range: bytes=a-b`) | `200`/`206` only if a record the device may read references the hash; `404` otherwise (existence is not revealed) |
//!
//! The hub writes a PATCH body to the upload as it arrives, so a connection cut mid-body
//! keeps what got through: the device asks `HEAD` and resumes from there.

use serde::{Deserialize, Serialize};

pub const HAVE_PATH: &str = "/v1/blobs/have";
pub const UPLOADS_PATH: &str = "/v1/uploads";
pub const BLOBS_PATH: &str = "/v1/blobs";

pub const UPLOAD_OFFSET: &str = "upload-offset";
pub const UPLOAD_LENGTH: &str = "upload-length";
pub const UPLOAD_COMPLETE: &str = "upload-complete";
pub const OFFSET_CONTENT_TYPE: &str = "application/offset+octet-stream";

/// Status when a finished upload does not hash to the SHA-256 it was created with (tus'
/// checksum extension uses the same code).
pub const CHECKSUM_MISMATCH: u16 = 460;

/// Largest blob the hub accepts (photos are a few hundred KB after intake).
pub const MAX_BLOB: u64 = 64 * 1024 * 1024;
/// Largest PATCH body the hub accepts (the device's chunks go up to 1 MiB).
pub const MAX_CHUNK: u64 = 4 * 1024 * 1024;
/// Most hashes in one `have` request.
pub const MAX_HAVE: usize = 1000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HaveRequest {
    pub hashes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HaveResponse {
    pub missing: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateUpload {
    pub sha256: String,
    pub length: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadCreated {
    pub id: String,
    pub offset: u64,
    pub length: u64,
    pub complete: bool,
}

/// Parse `Range: bytes=a-b` / `bytes=a-` / `bytes=-n` against a blob of `len` bytes into a
/// half-open byte range. `None`: not satisfiable (or several ranges, which we do not serve).
pub fn parse_range(header: &str, len: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let (start, end) = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        if n == 0 {
            return None;
        }
        (len.saturating_sub(n), len)
    } else {
        let start: u64 = a.parse().ok()?;
        let end = if b.is_empty() {
            len
        } else {
            b.parse::<u64>().ok()?.saturating_add(1).min(len)
        };
        (start, end)
    };
    (start < end && start < len).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some((0, 100)));
        assert_eq!(parse_range("bytes=900-", 1000), Some((900, 1000)));
        assert_eq!(parse_range("bytes=-100", 1000), Some((900, 1000)));
        assert_eq!(parse_range("bytes=990-2000", 1000), Some((990, 1000)));
        assert_eq!(parse_range("bytes=1000-", 1000), None);
        assert_eq!(parse_range("bytes=5-4", 1000), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), None);
        assert_eq!(parse_range("items=0-1", 1000), None);
    }
}

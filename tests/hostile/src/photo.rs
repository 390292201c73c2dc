//! Photos through the blob protocol by hand: a report naming photos, an upload in one
//! PATCH, a download.

use crate::wire::{self, assert_applied, Answer, Device};
use gridpad_evidence::seal;
use gridpad_proto::{Entity, Op};
use serde_json::json;

pub fn photo_bytes(tag: &str, n: usize) -> Vec<u8> {
    // Distinct, incompressible enough: a SHA-256 stream of the tag.
    let mut out = Vec::with_capacity(n + 32);
    let mut h = seal::sha256_hex(tag.as_bytes());
    while out.len() < n {
        h = seal::sha256_hex(h.as_bytes());
        out.extend_from_slice(h.as_bytes());
    }
    out.truncate(n);
    out
}

/// `dev` reports in its grid, naming `photos`; the report's id.
pub fn report(dev: &mut Device, photos: &[&str]) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    let f = json!({"grid_id": dev.grids[0], "category_code": "0401", "description": "占道经营",
                   "status": "reported", "reporter": "网格员", "device_time": wire::rfc3339_now(),
                   "photos": photos});
    assert_applied(&dev.push_one(Entity::Event, &id, Op::Insert, f), "report");
    id
}

/// Create (or find again) the upload of `bytes` as `dev`: the hub's answer (201 with the
/// upload, 200 `complete` when the hub holds the photo from this device already).
pub fn create(dev: &Device, bytes: &[u8]) -> Answer {
    dev.http.json(
        "post",
        "/v1/uploads",
        Some(dev.token()),
        &json!({"sha256": seal::sha256_hex(bytes), "length": bytes.len()}),
    )
}

/// Upload `bytes` as `dev`; the final answer's status.
pub fn upload(dev: &Device, bytes: &[u8]) -> u16 {
    let c = create(dev, bytes);
    if c.status != 201 {
        return c.status;
    }
    let id = c.json()["id"].as_str().expect("upload id").to_string();
    patch(dev, &id, 0, bytes.to_vec()).status
}

pub fn patch(dev: &Device, id: &str, offset: u64, body: Vec<u8>) -> Answer {
    try_patch(dev, id, offset, body).unwrap_or_else(|| panic!("PATCH {id}: no answer"))
}

/// A PATCH that may never be answered (the hub dies on the way): `None` then.
pub fn try_patch(dev: &Device, id: &str, offset: u64, body: Vec<u8>) -> Option<Answer> {
    dev.http
        .try_send_with(
            "patch",
            &format!("/v1/uploads/{id}"),
            Some(dev.token()),
            &[
                ("upload-offset", offset.to_string()),
                ("content-type", "application/offset+octet-stream".into()),
            ],
            body,
        )
        .ok()
}

/// `HEAD` of an upload: its status, and its offset when known.
pub fn head(dev: &Device, id: &str) -> (u16, Option<u64>) {
    let a = dev.http.send_with(
        "head",
        &format!("/v1/uploads/{id}"),
        Some(dev.token()),
        &[],
        vec![],
    );
    let offset = serde_json::from_slice::<serde_json::Value>(&a.body)
        .ok()
        .and_then(|v| v["upload_offset"].as_u64());
    (a.status, offset)
}

/// The hashes among `hashes` the hub still wants from `dev`.
pub fn missing(dev: &Device, hashes: &[String]) -> Vec<String> {
    let a = dev.http.json(
        "post",
        "/v1/blobs/have",
        Some(dev.token()),
        &json!({ "hashes": hashes }),
    );
    assert_eq!(a.status, 200, "{}", a.text());
    serde_json::from_value(a.json()["missing"].clone()).expect("missing hashes")
}

pub fn download(dev: &Device, sha: &str) -> Answer {
    dev.http.send(
        "get",
        &format!("/v1/blobs/{sha}"),
        Some(dev.token()),
        None,
        vec![],
    )
}

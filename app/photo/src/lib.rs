//! Gridpad photo evidence on the device.
//!
//! - [`intake`]: camera file → evidence photo (bounded decode, EXIF orientation, resize to
//!   the category's policy, re-encode, no foreign EXIF) and list thumbnail;
//! - [`watermark`]: the 水印 stamp (Beijing time, coordinates ± accuracy, grid, reporter);
//! - [`vault`]: encrypted, content-addressed, atomically written photo files (kept in
//!   `gridpad-core`, beside the database whose key they derive from);
//! - [`upload`] and [`exchange`]: the resumable uploader and the evidence step of a sync,
//!   which live in `gridpad-sync` (its runner calls them) and are re-exported here;
//! - [`camera`]: where photos come from on the device (a capture command, a camera
//!   directory) and a generated test-pattern camera for demos and tests;
//! - [`capture`] / [`seal_event`]: the calls the app makes.
//!
//! The seal itself (canonical bytes, chain, signatures, verification) is in
//! `gridpad-evidence`, shared with gridhub.

pub mod camera;
pub mod intake;
pub mod watermark;

pub use gridpad_core::vault;
pub use gridpad_sync::evidence as exchange;
pub use gridpad_sync::evidence::upload;

use gridpad_core::seals_and_uploads::SealRow;
use gridpad_core::Store;
use gridpad_evidence::seal::{self, SealInput, SealedRecord};
pub use intake::{IntakeError, PhotoPolicy, Processed};
use std::path::{Path, PathBuf};
pub use vault::{Usage, Vault, VaultError};
pub use watermark::{Stamp, Watermarker};

#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error(transparent)]
    Intake(#[from] IntakeError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Store(#[from] gridpad_core::Error),
    #[error(transparent)]
    Font(#[from] watermark::FontError),
    #[error(transparent)]
    Camera(#[from] camera::CameraError),
    #[error("sealing failed: {0}")]
    Seal(#[from] seal::SealError),
    #[error("no such {0}")]
    NotFound(String),
}

impl PhotoError {
    /// Storage is short (the photo, or the database row for it, did not fit).
    pub fn is_storage_full(&self) -> bool {
        matches!(
            self,
            PhotoError::Vault(VaultError::StorageFull { .. })
                | PhotoError::Store(gridpad_core::Error::StorageFull)
        )
    }
}

/// A photo taken into the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Captured {
    pub sha256: String,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
    pub quality: u8,
    pub thumb_sha256: String,
}

/// The policy of a catalog category (defaults when the category has none).
pub fn policy_for(store: &Store, category_code: &str) -> Result<PhotoPolicy, PhotoError> {
    Ok(store
        .photo_policy_json(category_code)?
        .map(|j| PhotoPolicy::from_json(&j))
        .unwrap_or_default())
}

/// Take a camera file (or a file the user chose) as evidence: process it to `policy` with
/// `stamp`, store photo and thumbnail in the vault, register the photo. On any error
/// nothing is registered; a vault file written before a failed registration is not
/// referenced by anything (and is the same file if the capture is retried).
pub fn capture(
    store: &mut Store,
    vault: &Vault,
    watermarker: &Watermarker,
    source: &[u8],
    policy: &PhotoPolicy,
    stamp: &Stamp,
) -> Result<Captured, PhotoError> {
    let p = intake::process(source, policy, Some((watermarker, stamp)))?;
    let sha = vault.put(&p.jpeg)?;
    let thumb = vault.put(&p.thumb)?;
    store.register_photo(
        &sha,
        p.jpeg.len() as i64,
        "image/jpeg",
        Some(p.width as i64),
        Some(p.height as i64),
    )?;
    store.set_photo_thumb(&sha, &thumb)?;
    Ok(Captured {
        sha256: sha,
        bytes: p.jpeg.len() as u64,
        width: p.width,
        height: p.height,
        quality: p.quality,
        thumb_sha256: thumb,
    })
}

/// [`capture`] from a file path.
pub fn capture_file(
    store: &mut Store,
    vault: &Vault,
    watermarker: &Watermarker,
    path: &Path,
    policy: &PhotoPolicy,
    stamp: &Stamp,
) -> Result<Captured, PhotoError> {
    let bytes = intake::read_file(path)?;
    capture(store, vault, watermarker, &bytes, policy, stamp)
}

/// JPEG and PNG files in the camera directory, newest first.
pub fn camera_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)?
        .flatten()
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .filter(|e| {
            let n = e.file_name().to_string_lossy().to_ascii_lowercase();
            n.ends_with(".jpg") || n.ends_with(".jpeg") || n.ends_with(".png")
        })
        .map(|e| {
            let t = e
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            (t, e.path())
        })
        .collect();
    files.sort_by(|a, b| b.cmp(a));
    Ok(files.into_iter().map(|(_, p)| p).collect())
}

/// Seal a record into the device's chain (signed with the device key) and store the seal.
pub fn seal_record(store: &mut Store, input: &SealInput) -> Result<SealedRecord, PhotoError> {
    let key = store.device_keypair()?;
    let last = store.last_seal()?;
    let device = store.device_id().to_string();
    let sealed_at = gridpad_core::store::rfc3339(store.now());
    let rec = seal::seal(
        &key,
        &device,
        last.as_ref().map(|(s, h)| (*s as u64, h.as_str())),
        input,
        &sealed_at,
    )?;
    store.append_seal(&SealRow {
        seq: rec.seq as i64,
        record_entity: rec.entity.clone(),
        record_id: rec.record_id.clone(),
        prev_hash: rec.prev.clone(),
        hash: rec.hash.clone(),
        signature: rec.signature.clone(),
        body: rec.body.clone(),
        at: sealed_at,
    })?;
    Ok(rec)
}

/// Seal a reported event: its fields, photo hashes, fix and both times.
pub fn seal_event(store: &mut Store, event_id: &str) -> Result<SealedRecord, PhotoError> {
    let ev = store
        .event(event_id)?
        .ok_or_else(|| PhotoError::NotFound(format!("event {event_id}")))?;
    let input = SealInput {
        entity: "event".into(),
        record_id: ev.id.clone(),
        record: serde_json::json!({
            "grid_id": ev.grid_id,
            "category_code": ev.category_code,
            "description": ev.description,
            "address_text": ev.address_text,
            "fields": ev.fields,
            "status": ev.status.as_str(),
            "handled_on_spot": ev.handled_on_spot,
            "reporter": ev.reporter,
        }),
        photos: ev.photos.clone(),
        position: ev
            .position
            .as_ref()
            .and_then(|p| serde_json::to_value(p).ok()),
        device_time: gridpad_core::store::rfc3339(ev.device_time),
        corrected_time: ev.corrected_time.map(gridpad_core::store::rfc3339),
    };
    seal_record(store, &input)
}

/// The device's sealed records after `seq`, as they travel to the hub.
pub fn seals_after(store: &Store, seq: u64, limit: usize) -> Result<Vec<SealedRecord>, PhotoError> {
    Ok(gridpad_sync::evidence::seals_after(store, seq, limit)?)
}

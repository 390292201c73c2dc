//! Which photos a device may leave at the hub: a photo no record names yet is on a quota
//! per device, and the sweep forgets what nobody names.
//!
//! A device uploads the photos of the records it pushed. A photo that no record of the
//! device names (a report refused, a device that uploads whatever it likes) is held only up
//! to [`MAX_UNREFERENCED_PHOTOS`] photos / [`MAX_UNREFERENCED_BYTES`] per device, counting
//! its uploads in progress and the photos it delivered that none of its records names.
//! [`Hub::sweep_photos`] (run by `gridhub serve` at start and every hour, and by `gridhub
//! admin sweep-photos`) removes uploads not written for [`UPLOAD_GRACE`] and stored photos
//! that no live record names after [`UNREFERENCED_GRACE`].

use crate::hub::{Hub, HubError, HubResult};
use gridhub_store::*;
use serde::Serialize;
use std::time::Duration;

/// Most photos per device that none of its records names.
pub const MAX_UNREFERENCED_PHOTOS: usize = 16;
/// Most bytes of those photos per device.
pub const MAX_UNREFERENCED_BYTES: u64 = 64 << 20;
/// An upload not written for this long is abandoned.
pub const UPLOAD_GRACE: Duration = Duration::from_secs(7 * 24 * 3600);
/// A stored photo that no live record names is forgotten after this long.
pub const UNREFERENCED_GRACE: Duration = Duration::from_secs(24 * 3600);

/// What one sweep removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Sweep {
    pub uploads_removed: usize,
    pub photos_removed: usize,
    pub bytes_removed: u64,
}

impl Hub {
    /// Whether a live record made by `device` names `sha256`.
    pub fn device_names_photo(&self, device: &str, sha256: &str) -> HubResult<bool> {
        Ok(with_tx(self.store(), |tx| {
            for (entity, id) in tx.photo_refs(sha256)? {
                if let Some(r) = tx.row(entity, &id)? {
                    if !r.deleted && r.origin.as_deref() == Some(device) {
                        return Ok(true);
                    }
                }
            }
            Ok(false)
        })?)
    }

    /// Whether any live record names `sha256`.
    pub fn photo_named(&self, sha256: &str) -> HubResult<bool> {
        Ok(with_tx(self.store(), |tx| {
            for (entity, id) in tx.photo_refs(sha256)? {
                if tx.row(entity, &id)?.is_some_and(|r| !r.deleted) {
                    return Ok(true);
                }
            }
            Ok(false)
        })?)
    }

    /// May `device` start uploading `sha256` of `length` bytes? Always, when one of its
    /// records names it; otherwise only within its quota of unnamed photos.
    pub fn check_photo_quota(&self, device: &str, sha256: &str, length: u64) -> HubResult<()> {
        let Some(blobs) = self.blobs() else {
            return Ok(());
        };
        if self.device_names_photo(device, sha256)? {
            return Ok(());
        }
        let mut held: Vec<(String, u64)> = vec![];
        for u in blobs.uploads_of(device)? {
            if u.sha256 != sha256 && !self.device_names_photo(device, &u.sha256)? {
                held.push((u.sha256, u.length));
            }
        }
        for (sha, len) in blobs.delivered_by(device)? {
            if sha != sha256 && !self.device_names_photo(device, &sha)? {
                held.push((sha, len));
            }
        }
        let bytes = held.iter().map(|(_, l)| *l).sum::<u64>() + length;
        if held.len() + 1 > MAX_UNREFERENCED_PHOTOS || bytes > MAX_UNREFERENCED_BYTES {
            return Err(HubError::TooLarge(format!(
                "this device already holds {} photos ({} bytes) that none of its records \
                 names; at most {MAX_UNREFERENCED_PHOTOS} photos and \
                 {MAX_UNREFERENCED_BYTES} bytes until a record names them",
                held.len(),
                bytes - length
            )));
        }
        Ok(())
    }

    /// Remove uploads not written for `upload_grace` and stored photos older than
    /// `unreferenced_grace` that no live record names.
    pub fn sweep_photos(
        &self,
        upload_grace: Duration,
        unreferenced_grace: Duration,
    ) -> HubResult<Sweep> {
        let mut out = Sweep::default();
        let Some(blobs) = self.blobs() else {
            return Ok(out);
        };
        for u in blobs.uploads_older_than(upload_grace)? {
            blobs.remove_upload(&u.id)?;
            out.uploads_removed += 1;
        }
        for sha in blobs.blobs_older_than(unreferenced_grace)? {
            if self.photo_named(&sha)? {
                continue;
            }
            let len = blobs.blob_len(&sha)?.unwrap_or(0);
            blobs.remove_blob(&sha)?;
            out.photos_removed += 1;
            out.bytes_removed += len;
        }
        Ok(out)
    }
}

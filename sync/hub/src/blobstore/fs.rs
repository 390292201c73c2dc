//! A [`BlobStore`] on the hub's file system:
//!
//! ```text
//! <root>/blobs/ab/<sha256>              verified blobs, content-addressed
//! <root>/delivered/<hex(device)>/<sha256>  empty marker: this device uploaded that blob
//! <root>/uploads/<id>.part              bytes received so far (its length is the offset)
//! <root>/uploads/<id>.json              {device, sha256, length}
//! ```
//!
//! Upload ids are derived from (device, hash), so creating the same upload twice finds the
//! first one. A finished upload is hashed, fsynced and renamed into `blobs/` (atomic on one
//! file system); a blob that is already there is kept and the copy dropped.
//!
//! Completion is three steps — rename the bytes into `blobs/`, mark the delivery, remove
//! the upload's metadata — and each is idempotent: an upload whose `.part` is gone while
//! its blob is there is "all bytes in" (its offset is its length), and completing it again
//! only marks the delivery and removes the metadata. [`BlobStore::recover`] (run when the
//! hub starts) carries every cut completion to its end, so a kill between any two steps
//! (crash points `upload.before_complete`, `upload.after_rename`,
//! `upload.after_mark`) never leaves an upload that fails for ever.

use super::{BlobError, BlobStore, Upload};
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

pub struct FsBlobStore {
    root: PathBuf,
    /// Serialises appends and completion among this process's threads …
    lock: Mutex<()>,
    /// … and among processes: `<root>/lock`, `flock`ed while one holds `lock`. Several
    /// gridhub instances may share one photo directory (a network file system every
    /// instance mounts), so an upload begun on one instance resumes on another.
    lock_file: File,
}

/// Held while appending or completing; unlocks the file, then the mutex.
struct Guard<'a> {
    file: &'a File,
    _inner: std::sync::MutexGuard<'a, ()>,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[derive(Serialize, Deserialize)]
struct Meta {
    device: String,
    sha256: String,
    length: u64,
}

fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl FsBlobStore {
    pub fn open(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        for d in ["blobs", "delivered", "uploads"] {
            fs::create_dir_all(root.join(d))?;
        }
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(root.join("lock"))?;
        Ok(FsBlobStore {
            root,
            lock: Mutex::new(()),
            lock_file,
        })
    }

    pub fn blob_path(&self, sha256: &str) -> PathBuf {
        self.root.join("blobs").join(&sha256[..2]).join(sha256)
    }

    fn delivered_path(&self, device: &str, sha256: &str) -> PathBuf {
        self.root
            .join("delivered")
            .join(hex::encode(device.as_bytes()))
            .join(sha256)
    }

    fn part(&self, id: &str) -> PathBuf {
        self.root.join("uploads").join(format!("{id}.part"))
    }

    fn meta(&self, id: &str) -> PathBuf {
        self.root.join("uploads").join(format!("{id}.json"))
    }

    fn upload_id(device: &str, sha256: &str) -> String {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(b"gridpad-upload-id\0");
        ctx.update(device.as_bytes());
        ctx.update(b"\0");
        ctx.update(sha256.as_bytes());
        hex::encode(&ctx.finish().as_ref()[..16])
    }

    fn guard(&self) -> Guard<'_> {
        let inner = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        // Waits for another process; fails only on a file system without locks, where
        // one process per directory still holds (the mutex).
        if let Err(e) = self.lock_file.lock() {
            eprintln!(
                "gridhub: photo store lock unavailable ({e}); one gridhub per photo directory"
            );
        }
        Guard {
            file: &self.lock_file,
            _inner: inner,
        }
    }

    fn mark_delivered(&self, device: &str, sha256: &str) -> std::io::Result<()> {
        let p = self.delivered_path(device, sha256);
        if let Some(d) = p.parent() {
            fs::create_dir_all(d)?;
        }
        File::create(&p)?.sync_all()?;
        if let Some(d) = p.parent() {
            sync_dir(d)?;
        }
        Ok(())
    }
}

fn is_sha256(s: &str) -> bool {
    gridpad_evidence::seal::is_sha256_hex(s)
}

fn older_than(m: &fs::Metadata, age: Duration) -> bool {
    m.modified()
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|d| d >= age)
}

impl FsBlobStore {
    /// Completion, under the store's lock. Each step is idempotent (see the module).
    fn complete_locked(&self, id: &str) -> Result<(), BlobError> {
        let u = self.upload(id)?.ok_or(BlobError::NotFound)?;
        if u.offset != u.length {
            return Err(BlobError::Conflict(u.offset));
        }
        let part = self.part(id);
        let dest = self.blob_path(&u.sha256);
        if part.exists() {
            let mut f = File::open(&part)?;
            let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                ctx.update(&buf[..n]);
            }
            if hex::encode(ctx.finish().as_ref()) != u.sha256 {
                let _ = fs::remove_file(&part);
                let _ = fs::remove_file(self.meta(id));
                return Err(BlobError::DigestMismatch);
            }
            let dir = dest.parent().map(Path::to_path_buf).unwrap_or_default();
            fs::create_dir_all(&dir)?;
            if dest.exists() {
                fs::remove_file(&part)?;
            } else {
                f.sync_all()?;
                fs::rename(&part, &dest)?;
                sync_dir(&dir)?;
            }
        }
        // (Without its part, `upload` counted the upload complete only because the blob is
        // there: the rename of an earlier completion.)
        crate::crash::point("upload.after_rename");
        self.mark_delivered(&u.device, &u.sha256)?;
        crate::crash::point("upload.after_mark");
        match fs::remove_file(self.meta(id)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        sync_dir(&self.root.join("uploads"))?;
        Ok(())
    }
}

impl BlobStore for FsBlobStore {
    fn delivered(&self, device: &str, sha256: &str) -> Result<bool, BlobError> {
        Ok(self.delivered_path(device, sha256).exists() && self.blob_path(sha256).exists())
    }

    fn create_upload(&self, device: &str, sha256: &str, length: u64) -> Result<Upload, BlobError> {
        let _g = self.guard();
        let id = Self::upload_id(device, sha256);
        if let Some(u) = self.upload(&id)? {
            if u.length == length {
                return Ok(u);
            }
            // Same hash, another length: the earlier one was wrong; start again.
            let _ = fs::remove_file(self.part(&id));
        }
        let meta = Meta {
            device: device.to_string(),
            sha256: sha256.to_string(),
            length,
        };
        File::create(self.part(&id))?.sync_all()?;
        let tmp = self.root.join("uploads").join(format!("{id}.json.tmp"));
        let mut f = File::create(&tmp)?;
        f.write_all(&serde_json::to_vec(&meta).map_err(std::io::Error::other)?)?;
        f.sync_all()?;
        fs::rename(&tmp, self.meta(&id))?;
        sync_dir(&self.root.join("uploads"))?;
        Ok(Upload {
            id,
            device: meta.device,
            sha256: meta.sha256,
            length,
            offset: 0,
        })
    }

    fn upload(&self, id: &str) -> Result<Option<Upload>, BlobError> {
        if !valid_id(id) {
            return Ok(None);
        }
        let meta = match fs::read(self.meta(id)) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let meta: Meta = serde_json::from_slice(&meta).map_err(std::io::Error::other)?;
        let offset = match fs::metadata(self.part(id)) {
            Ok(m) => m.len(),
            // Renamed into `blobs/` by a completion that was cut before its end: every
            // byte is in.
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && is_sha256(&meta.sha256)
                    && self.blob_path(&meta.sha256).exists() =>
            {
                meta.length
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e.into()),
        };
        Ok(Some(Upload {
            id: id.to_string(),
            device: meta.device,
            sha256: meta.sha256,
            length: meta.length,
            offset,
        }))
    }

    fn uploads_of(&self, device: &str) -> Result<Vec<Upload>, BlobError> {
        let mut out = vec![];
        for e in fs::read_dir(self.root.join("uploads"))? {
            let name = e?.file_name().to_string_lossy().to_string();
            if let Some(u) = name
                .strip_suffix(".json")
                .and_then(|id| self.upload(id).ok()?)
            {
                if u.device == device {
                    out.push(u);
                }
            }
        }
        Ok(out)
    }

    fn append(&self, id: &str, offset: u64, data: &[u8]) -> Result<u64, BlobError> {
        let _g = self.guard();
        let u = self.upload(id)?.ok_or(BlobError::NotFound)?;
        if u.offset != offset {
            return Err(BlobError::Conflict(u.offset));
        }
        if offset + data.len() as u64 > u.length {
            return Err(BlobError::TooLong);
        }
        let mut f = OpenOptions::new().append(true).open(self.part(id))?;
        f.write_all(data)?;
        Ok(offset + data.len() as u64)
    }

    fn sync(&self, id: &str) -> Result<(), BlobError> {
        if !valid_id(id) {
            return Err(BlobError::NotFound);
        }
        match File::open(self.part(id)) {
            Ok(f) => f.sync_all()?,
            // Already renamed into `blobs/` (and fsynced there).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    fn complete(&self, id: &str) -> Result<(), BlobError> {
        let _g = self.guard();
        self.complete_locked(id)
    }

    fn blob_len(&self, sha256: &str) -> Result<Option<u64>, BlobError> {
        match fs::metadata(self.blob_path(sha256)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn delivered_by(&self, device: &str) -> Result<Vec<(String, u64)>, BlobError> {
        let dir = self
            .root
            .join("delivered")
            .join(hex::encode(device.as_bytes()));
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(e.into()),
        };
        let mut out = vec![];
        for e in entries {
            let sha = e?.file_name().to_string_lossy().to_string();
            if is_sha256(&sha) {
                if let Some(len) = self.blob_len(&sha)? {
                    out.push((sha, len));
                }
            }
        }
        Ok(out)
    }

    fn blobs_older_than(&self, age: Duration) -> Result<Vec<String>, BlobError> {
        let mut out = vec![];
        for shard in fs::read_dir(self.root.join("blobs"))? {
            let shard = shard?;
            if !shard.file_type()?.is_dir() {
                continue;
            }
            for e in fs::read_dir(shard.path())? {
                let e = e?;
                let sha = e.file_name().to_string_lossy().to_string();
                if is_sha256(&sha) && older_than(&e.metadata()?, age) {
                    out.push(sha);
                }
            }
        }
        Ok(out)
    }

    fn usage(&self) -> Result<(u64, u64), BlobError> {
        let (mut count, mut bytes) = (0, 0);
        for shard in fs::read_dir(self.root.join("blobs"))? {
            let shard = shard?;
            if !shard.file_type()?.is_dir() {
                continue;
            }
            for e in fs::read_dir(shard.path())? {
                let e = e?;
                if is_sha256(&e.file_name().to_string_lossy()) {
                    count += 1;
                    bytes += e.metadata()?.len();
                }
            }
        }
        Ok((count, bytes))
    }

    fn uploads_older_than(&self, age: Duration) -> Result<Vec<Upload>, BlobError> {
        let mut out = vec![];
        for e in fs::read_dir(self.root.join("uploads"))? {
            let e = e?;
            let name = e.file_name().to_string_lossy().to_string();
            let Some(id) = name.strip_suffix(".json") else {
                continue;
            };
            let written = fs::metadata(self.part(id)).unwrap_or(e.metadata()?);
            if older_than(&written, age) {
                if let Some(u) = self.upload(id)? {
                    out.push(u);
                }
            }
        }
        Ok(out)
    }

    fn remove_blob(&self, sha256: &str) -> Result<(), BlobError> {
        if !is_sha256(sha256) {
            return Err(BlobError::NotFound);
        }
        let _g = self.guard();
        for dev in fs::read_dir(self.root.join("delivered"))? {
            let marker = dev?.path().join(sha256);
            match fs::remove_file(&marker) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        match fs::remove_file(self.blob_path(sha256)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn remove_upload(&self, id: &str) -> Result<(), BlobError> {
        if !valid_id(id) {
            return Err(BlobError::NotFound);
        }
        let _g = self.guard();
        let _ = fs::remove_file(self.part(id));
        match fs::remove_file(self.meta(id)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn recover(&self) -> Result<usize, BlobError> {
        let _g = self.guard();
        let mut done = 0;
        for e in fs::read_dir(self.root.join("uploads"))? {
            let name = e?.file_name().to_string_lossy().to_string();
            if name.ends_with(".json.tmp") {
                // An upload whose creation was cut: the device creates it again.
                let _ = fs::remove_file(self.root.join("uploads").join(&name));
                continue;
            }
            let Some(id) = name.strip_suffix(".json") else {
                continue;
            };
            let Some(u) = self.upload(id)? else { continue };
            if u.offset == u.length {
                match self.complete_locked(id) {
                    Ok(()) | Err(BlobError::DigestMismatch) => done += 1,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(done)
    }

    fn read_blob(&self, sha256: &str, start: u64, end: u64) -> Result<Vec<u8>, BlobError> {
        let mut f = File::open(self.blob_path(sha256))?;
        f.seek(SeekFrom::Start(start))?;
        let mut data = Vec::with_capacity((end - start) as usize);
        f.take(end - start).read_to_end(&mut data)?;
        Ok(data)
    }
}

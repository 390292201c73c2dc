//! The photo vault: content-addressed, encrypted, atomically written photo files under
//! `<data_dir>/photos/`.
//!
//! - **Addressed** by the SHA-256 of the photo's bytes, but **named** by
//!   HMAC-SHA256(name key, sha256): a stolen card does not confirm that a known picture
//!   is on it.
//! - **Encrypted** with AES-256-GCM in 64 KiB segments, so the uploader reads one chunk
//!   without decrypting the whole file. Keys are derived from `Store::photo_key()` (which a
//!   wipe of the key file destroys). File layout:
//!
//!   ```text
//!   header (32 B): "GPHOTO1\0" | file nonce (8 B, random) | plaintext length (u64 LE)
//!                  | segment size (u32 LE) | 0 (u32)
//!   segment i:     AES-256-GCM(key, nonce = file nonce ‖ i (u32 BE),
//!                              aad = header ‖ i (u32 BE) ‖ last (u8), plaintext) ‖ tag
//!   ```
//!
//!   The header and the segment's place are authenticated, so segments cannot be swapped,
//!   dropped or the file truncated unnoticed.
//! - **Atomic**: written to `photos/tmp/`, fsynced, renamed into place, directory fsynced.
//!   A crash leaves at worst a temp file (removed by [`Vault::open`]), never a half photo.
//! - **Deduplicated**: the same bytes twice are one file.
//! - **Space**: before writing, free space (statvfs) must exceed the file plus a reserve
//!   for the database; otherwise [`VaultError::StorageFull`] and nothing is written.

use crate::private;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub const MAGIC: &[u8; 8] = b"GPHOTO1\0";
pub const HEADER_LEN: usize = 32;
pub const SEGMENT: usize = 64 * 1024;
const TAG: usize = 16;
/// Space kept free for the database and the system when storing a photo.
pub const RESERVE_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "storage is full: {need} bytes needed, {free} free (delete sent photos or free some space)"
    )]
    StorageFull { need: u64, free: u64 },
    #[error("photo {0} is not on this device")]
    NotFound(String),
    #[error("photo file {0} is damaged or was encrypted with another key")]
    Damaged(String),
    #[error("the photo's bytes do not hash to {0}")]
    HashMismatch(String),
    #[error("I/O error on {0}: {1}")]
    Io(PathBuf, std::io::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> VaultError + '_ {
    move |e| match e.raw_os_error() {
        Some(28) | Some(122) => VaultError::StorageFull { need: 0, free: 0 },
        _ => VaultError::Io(path.to_path_buf(), e),
    }
}

/// Bytes used by the vault and free on its file system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    pub files: u64,
    pub bytes: u64,
    /// Free bytes available to this process (statvfs `f_bavail × f_frsize`).
    pub free: u64,
}

pub struct Vault {
    dir: PathBuf,
    aead: LessSafeKey,
    names: hmac::Key,
    rng: SystemRandom,
    /// Free space below which writes are refused (tests lower or raise it).
    pub reserve: u64,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").field("dir", &self.dir).finish()
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

/// Free bytes on the file system holding `path`.
pub fn free_space(path: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::other("path contains NUL"))?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a valid out-pointer.
    let r = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}

fn sync_dir(dir: &Path) -> Result<(), VaultError> {
    File::open(dir).and_then(|f| f.sync_all()).map_err(io(dir))
}

/// Size of the encrypted file for `len` plaintext bytes.
pub fn encrypted_len(len: u64) -> u64 {
    let segs = len.div_ceil(SEGMENT as u64).max(1);
    HEADER_LEN as u64 + len + segs * TAG as u64
}

impl Vault {
    /// Open (create) the vault in `<data_dir>/photos` with the store's photo key.
    pub fn open(data_dir: &Path, photo_key: &[u8; 32]) -> Result<Vault, VaultError> {
        let dir = data_dir.join("photos");
        let tmp = dir.join("tmp");
        // 0700 directories, 0600 files: the vault is the user's alone (gridpad_core::private).
        private::create_dir(&tmp).map_err(io(&tmp))?;
        // Leftovers of an interrupted write are not referenced by anything.
        if let Ok(entries) = fs::read_dir(&tmp) {
            for e in entries.flatten() {
                let _ = fs::remove_file(e.path());
            }
        }
        let prk = hmac::Key::new(hmac::HMAC_SHA256, photo_key);
        let enc = hmac::sign(&prk, b"gridpad-photo-aead-v1");
        let name = hmac::sign(&prk, b"gridpad-photo-name-v1");
        let aead =
            LessSafeKey::new(UnboundKey::new(&AES_256_GCM, enc.as_ref()).expect("32-byte AES key"));
        Ok(Vault {
            dir,
            aead,
            names: hmac::Key::new(hmac::HMAC_SHA256, name.as_ref()),
            rng: SystemRandom::new(),
            reserve: RESERVE_BYTES,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the photo with this SHA-256 is kept.
    pub fn path_of(&self, sha256: &str) -> PathBuf {
        let name = hex::encode(hmac::sign(&self.names, sha256.as_bytes()).as_ref());
        self.dir.join(&name[..2]).join(format!("{name}.gph"))
    }

    pub fn contains(&self, sha256: &str) -> bool {
        self.path_of(sha256).is_file()
    }

    /// Store `bytes`; returns their SHA-256. Dedup: an existing photo is not rewritten.
    pub fn put(&self, bytes: &[u8]) -> Result<String, VaultError> {
        let sha = sha256_hex(bytes);
        self.put_as(&sha, bytes)?;
        Ok(sha)
    }

    /// Store `bytes` that must hash to `sha256` (downloads).
    pub fn put_verified(&self, sha256: &str, bytes: &[u8]) -> Result<(), VaultError> {
        if sha256_hex(bytes) != sha256 {
            return Err(VaultError::HashMismatch(sha256.to_string()));
        }
        self.put_as(sha256, bytes)
    }

    fn put_as(&self, sha: &str, bytes: &[u8]) -> Result<(), VaultError> {
        let dest = self.path_of(sha);
        if dest.is_file() {
            return Ok(());
        }
        let need = encrypted_len(bytes.len() as u64) + self.reserve;
        let free = free_space(&self.dir).map_err(io(&self.dir))?;
        if free < need {
            return Err(VaultError::StorageFull { need, free });
        }
        let mut file_nonce = [0u8; 8];
        self.rng.fill(&mut file_nonce).map_err(|_| {
            VaultError::Io(self.dir.clone(), std::io::Error::other("no randomness"))
        })?;
        let mut header = [0u8; HEADER_LEN];
        header[..8].copy_from_slice(MAGIC);
        header[8..16].copy_from_slice(&file_nonce);
        header[16..24].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
        header[24..28].copy_from_slice(&(SEGMENT as u32).to_le_bytes());

        let tmp = self.dir.join("tmp").join(format!(
            "{}.tmp",
            hex::encode(hmac::sign(&self.names, &file_nonce).as_ref())
        ));
        let result = (|| {
            let mut f = private::create_file(&tmp).map_err(io(&tmp))?;
            f.write_all(&header).map_err(io(&tmp))?;
            let nseg = bytes.len().div_ceil(SEGMENT).max(1);
            let mut buf = Vec::with_capacity(SEGMENT + TAG);
            for i in 0..nseg {
                let chunk =
                    &bytes[(i * SEGMENT).min(bytes.len())..((i + 1) * SEGMENT).min(bytes.len())];
                buf.clear();
                buf.extend_from_slice(chunk);
                self.seal_segment(&header, i as u32, i + 1 == nseg, &mut buf);
                f.write_all(&buf).map_err(io(&tmp))?;
            }
            f.sync_all().map_err(io(&tmp))?;
            drop(f);
            let parent = dest.parent().expect("photo path has a parent");
            private::create_dir(parent).map_err(io(parent))?;
            fs::rename(&tmp, &dest).map_err(io(&dest))?;
            sync_dir(parent)?;
            sync_dir(&self.dir)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(|e| match e {
            VaultError::StorageFull { .. } => VaultError::StorageFull { need, free },
            e => e,
        })
    }

    fn nonce(header: &[u8; HEADER_LEN], i: u32) -> Nonce {
        let mut n = [0u8; 12];
        n[..8].copy_from_slice(&header[8..16]);
        n[8..].copy_from_slice(&i.to_be_bytes());
        Nonce::assume_unique_for_key(n)
    }

    fn aad(header: &[u8; HEADER_LEN], i: u32, last: bool) -> [u8; HEADER_LEN + 5] {
        let mut a = [0u8; HEADER_LEN + 5];
        a[..HEADER_LEN].copy_from_slice(header);
        a[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&i.to_be_bytes());
        a[HEADER_LEN + 4] = last as u8;
        a
    }

    fn seal_segment(&self, header: &[u8; HEADER_LEN], i: u32, last: bool, buf: &mut Vec<u8>) {
        self.aead
            .seal_in_place_append_tag(
                Self::nonce(header, i),
                Aad::from(Self::aad(header, i, last)),
                buf,
            )
            .expect("AES-GCM seal");
    }

    /// The plaintext length of a stored photo.
    pub fn len(&self, sha256: &str) -> Result<u64, VaultError> {
        let (_, header) = self.open_file(sha256)?;
        Ok(u64::from_le_bytes(
            header[16..24].try_into().expect("8 bytes"),
        ))
    }

    fn open_file(&self, sha256: &str) -> Result<(File, [u8; HEADER_LEN]), VaultError> {
        let path = self.path_of(sha256);
        let mut f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(VaultError::NotFound(sha256.to_string()))
            }
            Err(e) => return Err(VaultError::Io(path, e)),
        };
        let mut header = [0u8; HEADER_LEN];
        f.read_exact(&mut header)
            .map_err(|_| VaultError::Damaged(sha256.to_string()))?;
        if &header[..8] != MAGIC || header[24..28] != (SEGMENT as u32).to_le_bytes() {
            return Err(VaultError::Damaged(sha256.to_string()));
        }
        Ok((f, header))
    }

    /// Read plaintext bytes `[start, start + len)` (clamped to the photo), decrypting only
    /// the segments they lie in.
    pub fn read_range(&self, sha256: &str, start: u64, len: u64) -> Result<Vec<u8>, VaultError> {
        let (mut f, header) = self.open_file(sha256)?;
        let total = u64::from_le_bytes(header[16..24].try_into().expect("8 bytes"));
        let end = start.saturating_add(len).min(total);
        if start >= end {
            return Ok(Vec::new());
        }
        let nseg = total.div_ceil(SEGMENT as u64).max(1);
        let first = start / SEGMENT as u64;
        let last = (end - 1) / SEGMENT as u64;
        let mut out = Vec::with_capacity((end - start) as usize);
        let mut buf = Vec::with_capacity(SEGMENT + TAG);
        let damaged = || VaultError::Damaged(sha256.to_string());
        for i in first..=last {
            let plain_len = (total - i * SEGMENT as u64).min(SEGMENT as u64) as usize;
            f.seek(SeekFrom::Start(
                HEADER_LEN as u64 + i * (SEGMENT + TAG) as u64,
            ))
            .map_err(|_| damaged())?;
            buf.resize(plain_len + TAG, 0);
            f.read_exact(&mut buf).map_err(|_| damaged())?;
            let plain = self
                .aead
                .open_in_place(
                    Self::nonce(&header, i as u32),
                    Aad::from(Self::aad(&header, i as u32, i + 1 == nseg)),
                    &mut buf,
                )
                .map_err(|_| damaged())?;
            let seg_start = i * SEGMENT as u64;
            let a = start.saturating_sub(seg_start) as usize;
            let b = ((end - seg_start) as usize).min(plain.len());
            out.extend_from_slice(&plain[a..b]);
        }
        Ok(out)
    }

    /// The whole photo, checked against its hash.
    pub fn read(&self, sha256: &str) -> Result<Vec<u8>, VaultError> {
        let bytes = self.read_range(sha256, 0, u64::MAX)?;
        if sha256_hex(&bytes) != sha256 {
            return Err(VaultError::Damaged(sha256.to_string()));
        }
        Ok(bytes)
    }

    /// Remove a photo (after the hub confirmed it and the user no longer needs it).
    pub fn remove(&self, sha256: &str) -> Result<(), VaultError> {
        let p = self.path_of(sha256);
        match fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(VaultError::Io(p, e)),
        }
    }

    /// Files and bytes the vault holds, and free space.
    pub fn usage(&self) -> Result<Usage, VaultError> {
        let mut u = Usage {
            files: 0,
            bytes: 0,
            free: free_space(&self.dir).map_err(io(&self.dir))?,
        };
        for d in fs::read_dir(&self.dir).map_err(io(&self.dir))?.flatten() {
            if d.file_name() == "tmp" || !d.path().is_dir() {
                continue;
            }
            for f in fs::read_dir(d.path()).map_err(io(&d.path()))?.flatten() {
                if let Ok(m) = f.metadata() {
                    u.files += 1;
                    u.bytes += m.len();
                }
            }
        }
        Ok(u)
    }
}

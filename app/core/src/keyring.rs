//! The data key and the PIN that guards it.
//!
//! A random 256-bit data key encrypts the database (SQLCipher) and, later, photo files.
//! It is stored only wrapped: AES-256-GCM under a key derived from the user's PIN with
//! PBKDF2-HMAC-SHA256. A wrong PIN fails the GCM tag check; changing the PIN re-wraps the
//! same data key, so nothing else is rewritten; destroying the key file crypto-erases the
//! device (remote wipe).
//!
//! **Attempts.** Every PIN attempt is counted in the attempt file (`pin-attempts`, beside
//! the key file) *before* the PIN is tried, and the whole attempt — check the lockout,
//! count, fsync, try, reset or lock — runs under an exclusive advisory lock on that file
//! (`flock`), so attempts from other threads or processes wait their turn and can never
//! slip past the counter together. The count is rewritten in place (a fixed-size record
//! in a file that already exists, so a full disk does not stop it); if it cannot be
//! written all the same, the attempt is refused ([`Error::AttemptNotCounted`]) and the
//! PIN is not tried. After [`FREE_ATTEMPTS`] failures each further failure locks the
//! device for an exponentially growing time (set with the count, before the try: a
//! pulled battery resets nothing).

use crate::error::{Error, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::Write;
use std::num::NonZeroU32;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

pub const KEY_FILE: &str = "key.json";
/// The PIN attempt counter (and the lock every attempt takes).
pub const ATTEMPTS_FILE: &str = "pin-attempts";
/// Size of the attempt record: rewritten in place, never grown.
const ATTEMPTS_LEN: usize = 64;
/// PBKDF2 iterations for new key files (OWASP 2023 figure for PBKDF2-HMAC-SHA256).
pub const DEFAULT_ITERATIONS: u32 = 600_000;
/// Wrong PINs allowed before lockouts start.
pub const FREE_ATTEMPTS: u32 = 5;
const FIRST_LOCK_S: u64 = 30;
const MAX_LOCK_S: u64 = 3_600;

/// The unwrapped data key. Zeroed when dropped.
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A second copy (for a second connection to the same database); zeroed on drop too.
    pub(crate) fn duplicate(&self) -> DataKey {
        DataKey(Zeroizing::new(*self.0))
    }

    /// A subkey for another purpose (HKDF-SHA256 with `info`), e.g. photo encryption.
    pub fn derive(&self, info: &[u8]) -> Zeroizing<[u8; 32]> {
        struct Len;
        impl ring::hkdf::KeyType for Len {
            fn len(&self) -> usize {
                32
            }
        }
        let prk =
            ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"gridpad-subkey").extract(&*self.0);
        let mut out = Zeroizing::new([0u8; 32]);
        prk.expand(&[info], Len)
            .and_then(|okm| okm.fill(&mut *out))
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        out
    }

    /// The SQLCipher raw-key literal `x'…'` (hex of the 32 key bytes), zeroed on drop.
    pub(crate) fn sqlcipher_literal(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("\"x'{}'\"", hex::encode(*self.0)))
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<secret>)")
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
struct KeyFile {
    version: u32,
    kdf: String,
    iterations: u32,
    salt: String,
    nonce: String,
    wrapped_key: String,
    device_id: String,
    /// Where builds before the attempt file counted failures; read once to seed it.
    #[serde(default)]
    failed_attempts: u32,
    /// Unix seconds until which unlocking is refused (as `failed_attempts`).
    #[serde(default)]
    locked_until: u64,
}

/// Where the attempt counter of a data directory lives.
pub fn attempts_path(dir: &Path) -> PathBuf {
    dir.join(ATTEMPTS_FILE)
}

/// The count of consecutive wrong PINs and the lockout, as kept in the attempt file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Count {
    failed: u32,
    /// Unix seconds until which unlocking is refused.
    locked_until: u64,
}

/// The attempt file, locked exclusively for as long as this value lives (the lock is the
/// file's `flock`, released when the file is closed — also when the process dies).
struct Attempts {
    file: File,
    path: PathBuf,
}

impl Attempts {
    /// Open (create, `0600`) and lock the attempt file of `dir`; waits for any attempt
    /// in progress in another thread or process.
    fn lock(dir: &Path) -> Result<Attempts> {
        let path = attempts_path(dir);
        let not_counted = |e: std::io::Error| Error::AttemptNotCounted {
            reason: e.to_string(),
        };
        let file = crate::private::open_or_create(&path).map_err(not_counted)?;
        file.lock().map_err(not_counted)?;
        Ok(Attempts { file, path })
    }

    /// The current count. An empty file (new, or from a build that counted in the key
    /// file) starts from `legacy`; a damaged record counts as one try left before the
    /// lockouts begin.
    fn read(&self, legacy: Count) -> Result<Count> {
        let mut buf = [0u8; ATTEMPTS_LEN];
        let mut n = 0;
        while n < buf.len() {
            match self.file.read_at(&mut buf[n..], n as u64) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(Error::AttemptNotCounted {
                        reason: e.to_string(),
                    })
                }
            }
        }
        if n == 0 {
            return Ok(legacy);
        }
        let parsed = std::str::from_utf8(&buf[..n]).ok().and_then(|t| {
            let mut w = t.split_whitespace();
            match (w.next(), w.next(), w.next()) {
                (Some("gridpad-pin-attempts-v1"), Some(f), Some(l)) => Some(Count {
                    failed: f.parse().ok()?,
                    locked_until: l.parse().ok()?,
                }),
                _ => None,
            }
        });
        Ok(parsed.unwrap_or(Count {
            failed: FREE_ATTEMPTS.saturating_sub(1).max(legacy.failed),
            locked_until: legacy.locked_until,
        }))
    }

    /// Write `count` in place and make it durable; an error means it is not counted.
    fn write(&self, count: Count) -> Result<()> {
        let mut rec = format!(
            "gridpad-pin-attempts-v1 {} {}",
            count.failed, count.locked_until
        )
        .into_bytes();
        rec.resize(ATTEMPTS_LEN - 1, b' ');
        rec.push(b'\n');
        self.file
            .write_all_at(&rec, 0)
            .and_then(|_| self.file.sync_data())
            .map_err(|e| Error::AttemptNotCounted {
                reason: e.to_string(),
            })
    }
}

impl std::fmt::Debug for Attempts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Attempts({})", self.path.display())
    }
}

/// How long the device locks after `failures` consecutive wrong PINs (0: not locked).
fn lock_seconds(failures: u32) -> u64 {
    if failures < FREE_ATTEMPTS {
        return 0;
    }
    let doublings = (failures - FREE_ATTEMPTS).min(16);
    (FIRST_LOCK_S << doublings).min(MAX_LOCK_S)
}

/// Where the key file of a data directory lives.
pub fn key_path(dir: &Path) -> PathBuf {
    dir.join(KEY_FILE)
}

fn check_pin(pin: &str) -> Result<()> {
    if (6..=12).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::WeakPin)
    }
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn derive_kek(pin: &str, salt: &[u8], iterations: u32) -> Result<LessSafeKey> {
    let iterations =
        NonZeroU32::new(iterations).ok_or_else(|| Error::Crypto("zero KDF iterations".into()))?;
    let mut kek = Zeroizing::new([0u8; 32]);
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        pin.as_bytes(),
        &mut *kek,
    );
    let unbound = UnboundKey::new(&aead::AES_256_GCM, &*kek)
        .map_err(|_| Error::Crypto("AES-256-GCM key".into()))?;
    Ok(LessSafeKey::new(unbound))
}

fn aad(device_id: &str) -> Vec<u8> {
    format!("gridpad-data-key-v1:{device_id}").into_bytes()
}

fn wrap(data_key: &DataKey, pin: &str, device_id: &str, iterations: u32) -> Result<KeyFile> {
    let rng = SystemRandom::new();
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 12];
    rng.fill(&mut salt)
        .and_then(|_| rng.fill(&mut nonce))
        .map_err(|_| Error::Crypto("no system randomness".into()))?;
    let kek = derive_kek(pin, &salt, iterations)?;
    let mut sealed = data_key.bytes().to_vec();
    kek.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad(device_id)),
        &mut sealed,
    )
    .map_err(|_| Error::Crypto("sealing the data key".into()))?;
    Ok(KeyFile {
        version: 1,
        kdf: "pbkdf2-hmac-sha256".into(),
        iterations,
        salt: B64.encode(salt),
        nonce: B64.encode(nonce),
        wrapped_key: B64.encode(&sealed),
        device_id: device_id.to_string(),
        failed_attempts: 0,
        locked_until: 0,
    })
}

fn read(path: &Path) -> Result<KeyFile> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotInitialised(
                path.parent().unwrap_or(path).to_path_buf(),
            ))
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    let kf: KeyFile = serde_json::from_slice(&bytes).map_err(|e| Error::BadKeyFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if kf.version != 1 || kf.kdf != "pbkdf2-hmac-sha256" {
        return Err(Error::BadKeyFile {
            path: path.to_path_buf(),
            reason: format!("unsupported version {} / kdf {}", kf.version, kf.kdf),
        });
    }
    Ok(kf)
}

/// Write `bytes` to `path` atomically: a temporary file, fsync, rename, fsync of the
/// directory. Readers see the old or the new file, never a torn one.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file")
    ));
    let result = (|| {
        let mut f = crate::private::create_file(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

fn write(path: &Path, kf: &KeyFile) -> Result<()> {
    let json = serde_json::to_vec_pretty(kf).map_err(|e| Error::Crypto(e.to_string()))?;
    write_atomic(path, &json)
}

/// Create a new random data key for `dir`, wrapped under `pin`.
pub fn create(dir: &Path, pin: &str, device_id: &str) -> Result<DataKey> {
    create_with_iterations(dir, pin, device_id, DEFAULT_ITERATIONS)
}

pub fn create_with_iterations(
    dir: &Path,
    pin: &str,
    device_id: &str,
    iterations: u32,
) -> Result<DataKey> {
    check_pin(pin)?;
    let path = key_path(dir);
    if path.exists() {
        return Err(Error::AlreadyInitialised(dir.to_path_buf()));
    }
    let mut raw = Zeroizing::new([0u8; 32]);
    SystemRandom::new()
        .fill(&mut *raw)
        .map_err(|_| Error::Crypto("no system randomness".into()))?;
    let key = DataKey(raw);
    {
        // A fresh count (a destroyed key may have left an old one behind).
        let attempts = Attempts::lock(dir)?;
        attempts.write(Count::default())?;
        write(&path, &wrap(&key, pin, device_id, iterations)?)?;
    }
    Ok(key)
}

/// The device id recorded in the key file (readable without the PIN).
pub fn device_id(dir: &Path) -> Result<String> {
    Ok(read(&key_path(dir))?.device_id)
}

/// Unwrap the data key with `pin`, counting failures and enforcing lockouts.
pub fn unlock(dir: &Path, pin: &str) -> Result<DataKey> {
    unlock_holding(dir, pin).map(|(key, _attempts)| key)
}

/// [`unlock`], returning the locked attempt file with the key so the caller can finish
/// what it does with the key file before another attempt reads it.
fn unlock_holding(dir: &Path, pin: &str) -> Result<(DataKey, Attempts)> {
    let path = key_path(dir);
    let kf = read(&path)?;
    let attempts = Attempts::lock(dir)?;
    // The key file may have been replaced while this attempt waited for the lock.
    let kf = read(&path).unwrap_or(kf);
    let count = attempts.read(Count {
        failed: kf.failed_attempts,
        locked_until: kf.locked_until,
    })?;
    let now = now_s();
    if count.locked_until > now {
        return Err(Error::LockedOut {
            seconds: count.locked_until - now,
        });
    }
    // Count the attempt — and the lockout a failure would bring — before trying the PIN.
    // Not counted (a full disk, a read-only file system): not tried.
    let failed = count.failed.saturating_add(1);
    let lock = lock_seconds(failed);
    attempts.write(Count {
        failed,
        locked_until: if lock > 0 { now + lock } else { 0 },
    })?;
    match try_unwrap(&kf, pin) {
        Ok(key) => {
            // The user is in. A reset that cannot be written leaves the count higher
            // than it should be: on the safe side.
            let _ = attempts.write(Count::default());
            Ok((key, attempts))
        }
        Err(Error::WrongPin { .. }) if lock > 0 => Err(Error::LockedOut { seconds: lock }),
        Err(Error::WrongPin { .. }) => Err(Error::WrongPin {
            remaining: FREE_ATTEMPTS - failed,
        }),
        Err(e) => Err(e),
    }
}

fn try_unwrap(kf: &KeyFile, pin: &str) -> Result<DataKey> {
    let bad = |reason: &str| Error::BadKeyFile {
        path: PathBuf::from(KEY_FILE),
        reason: reason.to_string(),
    };
    let salt = B64.decode(&kf.salt).map_err(|_| bad("salt"))?;
    let nonce: [u8; 12] = B64
        .decode(&kf.nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(|| bad("nonce"))?;
    let mut sealed = Zeroizing::new(
        B64.decode(&kf.wrapped_key)
            .map_err(|_| bad("wrapped key"))?,
    );
    let kek = derive_kek(pin, &salt, kf.iterations)?;
    let plain = kek
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(&kf.device_id)),
            &mut sealed,
        )
        .map_err(|_| Error::WrongPin { remaining: 0 })?;
    let raw: [u8; 32] = plain.try_into().map_err(|_| bad("key length"))?;
    Ok(DataKey(Zeroizing::new(raw)))
}

/// Re-wrap the data key under a new PIN. The database is not touched.
pub fn change_pin(dir: &Path, old_pin: &str, new_pin: &str) -> Result<()> {
    check_pin(new_pin)?;
    let (key, _attempts) = unlock_holding(dir, old_pin)?;
    let path = key_path(dir);
    let kf = read(&path)?;
    write(&path, &wrap(&key, new_pin, &kf.device_id, kf.iterations)?)
}

/// Crypto-erase: overwrite the key file and remove it. Without it the database and the
/// photo files are unreadable, whoever holds the PIN.
pub fn destroy(dir: &Path) -> Result<()> {
    let path = key_path(dir);
    if let Ok(meta) = fs::metadata(&path) {
        let zeros = vec![0u8; meta.len() as usize];
        if let Ok(mut f) = fs::OpenOptions::new().write(true).open(&path) {
            let _ = f.write_all(&zeros);
            let _ = f.sync_all();
        }
        fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
    }
    let _ = fs::remove_file(attempts_path(dir));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: u32 = 1_000;

    #[test]
    fn right_pin_unwraps_the_same_key_and_wrong_pin_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let k = create_with_iterations(dir.path(), "123456", "dev-1", FAST).unwrap();
        let k2 = unlock(dir.path(), "123456").unwrap();
        assert_eq!(k.bytes(), k2.bytes());
        match unlock(dir.path(), "654321") {
            Err(Error::WrongPin { remaining }) => assert_eq!(remaining, FREE_ATTEMPTS - 1),
            other => panic!("expected WrongPin, got {other:?}"),
        }
    }

    #[test]
    fn weak_pins_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for pin in ["", "12345", "abcdef", "1234567890123"] {
            assert!(matches!(
                create_with_iterations(dir.path(), pin, "d", FAST),
                Err(Error::WeakPin)
            ));
        }
    }

    #[test]
    fn repeated_failures_lock_the_device_even_for_the_right_pin() {
        let dir = tempfile::tempdir().unwrap();
        create_with_iterations(dir.path(), "123456", "dev-1", FAST).unwrap();
        for _ in 0..FREE_ATTEMPTS - 1 {
            assert!(matches!(
                unlock(dir.path(), "000000"),
                Err(Error::WrongPin { .. })
            ));
        }
        assert!(matches!(
            unlock(dir.path(), "000000"),
            Err(Error::LockedOut { seconds: 30 })
        ));
        assert!(matches!(
            unlock(dir.path(), "123456"),
            Err(Error::LockedOut { .. })
        ));
    }

    #[test]
    fn success_resets_the_failure_count() {
        let dir = tempfile::tempdir().unwrap();
        create_with_iterations(dir.path(), "123456", "dev-1", FAST).unwrap();
        for _ in 0..FREE_ATTEMPTS - 1 {
            let _ = unlock(dir.path(), "000000");
        }
        unlock(dir.path(), "123456").unwrap();
        assert!(matches!(
            unlock(dir.path(), "000000"),
            Err(Error::WrongPin { remaining }) if remaining == FREE_ATTEMPTS - 1
        ));
    }

    #[test]
    fn changing_the_pin_keeps_the_data_key() {
        let dir = tempfile::tempdir().unwrap();
        let k = create_with_iterations(dir.path(), "123456", "dev-1", FAST).unwrap();
        change_pin(dir.path(), "123456", "24681357").unwrap();
        assert!(matches!(
            unlock(dir.path(), "123456"),
            Err(Error::WrongPin { .. })
        ));
        assert_eq!(unlock(dir.path(), "24681357").unwrap().bytes(), k.bytes());
    }

    #[test]
    fn destroyed_key_cannot_be_unlocked() {
        let dir = tempfile::tempdir().unwrap();
        create_with_iterations(dir.path(), "123456", "dev-1", FAST).unwrap();
        destroy(dir.path()).unwrap();
        assert!(matches!(
            unlock(dir.path(), "123456"),
            Err(Error::NotInitialised(_))
        ));
    }

    #[test]
    fn a_damaged_key_file_is_reported_not_panicked_on() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(key_path(dir.path()), b"{not json").unwrap();
        assert!(matches!(
            unlock(dir.path(), "123456"),
            Err(Error::BadKeyFile { .. })
        ));
    }
}

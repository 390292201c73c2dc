//! Gridpad's signed update bundles and the device-side update agent.
//!
//! * [`keys`] — Ed25519 release keys (ring): generation, files, key ids.
//! * [`bundle`] — the bundle container: a manifest signed by a release key and the `.deb` it
//!   describes. Every byte of a bundle is covered by the magic line, the signature or the
//!   payload's SHA-256 and size, so any damage is detected.
//! * [`agent`] — the device side: verify (signature, target, package, version, minimum
//!   version), install atomically into a versioned directory behind a `current` symlink,
//!   health-check the new version and roll back to the previous one if it fails.
//! * [`fetch`] — bundles from a file (USB stick) or a URL (gridhub), resuming interrupted
//!   downloads.
//!
//! The format is described in `packaging/README.md`.

#[cfg(feature = "agent")]
pub mod agent;
pub mod bundle;
#[cfg(feature = "agent")]
pub mod fetch;
#[cfg(feature = "agent")]
mod health;
pub mod keys;
pub mod version;

#[cfg(feature = "agent")]
pub use agent::{Agent, AgentConfig, InstallOptions, InstallReport};
pub use bundle::{Manifest, VerifiedBundle};
pub use keys::{PublicKey, SecretKey, TrustedKeys};

/// Everything that can refuse a bundle or fail an installation, with messages meant for the
/// fleet manager reading a terminal or a device log.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("not a Gridpad update bundle (bad magic line)")]
    NotABundle,
    #[error("bundle is damaged: {0}")]
    Damaged(String),
    #[error("bundle signature is not valid for release key {key_id} (the manifest was altered or signed by another key)")]
    BadSignature { key_id: String },
    #[error("bundle is signed by release key {key_id}, which this device does not trust")]
    UnknownKey { key_id: String },
    #[error("payload does not match the signed manifest: {0}")]
    PayloadMismatch(String),
    #[error("bundle is for target {bundle}, this device is {device}")]
    WrongTarget { bundle: String, device: String },
    #[error("bundle is for package {bundle}, this agent updates {expected}")]
    WrongPackage { bundle: String, expected: String },
    #[error(
        "refusing to downgrade from {installed} to {bundle} (pass --allow-downgrade to force)"
    )]
    Downgrade { installed: String, bundle: String },
    #[error("version {0} is already installed")]
    AlreadyInstalled(String),
    #[error("bundle needs at least version {min} installed first, this device has {installed}")]
    TooOld { installed: String, min: String },
    #[error(
        "version {version} failed its health check ({detail}); rolled back to {rolled_back_to}"
    )]
    HealthCheckFailed {
        version: String,
        detail: String,
        rolled_back_to: String,
    },
    #[error("invalid version {0:?} (expected semantic version such as 1.2.3)")]
    BadVersion(String),
    #[error("key file {path}: {detail}")]
    BadKey { path: String, detail: String },
    #[error("another update is in progress ({0} is locked)")]
    Busy(String),
    #[error("download failed: {0}")]
    Download(String),
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, fsynced, then
/// renamed over the target, then the directory fsynced.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file")
    ));
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| Error::io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
        f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    sync_dir(dir)
}

/// fsyncs a directory so that renames and new entries in it survive power loss.
pub fn sync_dir(dir: &std::path::Path) -> Result<()> {
    let d = std::fs::File::open(dir).map_err(|e| Error::io(dir, e))?;
    d.sync_all().map_err(|e| Error::io(dir, e))
}

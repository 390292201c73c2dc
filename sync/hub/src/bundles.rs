//! Signed update bundles (`.gpb`, made by `gridctl bundle create`) that the hub keeps for
//! the fleet: admins publish them, devices ask for the newest one of their target and
//! download it with `Range` resume.
//!
//! The hub does not trust a bundle — the device verifies the Ed25519 signature against
//! its own release keys before installing — but it refuses garbage: a published file must
//! have a bundle's shape (magic line, a manifest of format 1 with a semantic version and a
//! known target, a signature block, a payload of exactly the announced size).
//!
//! Files: `<data dir>/bundles/<target>/<package>_<version>_<target>.gpb`, written to a
//! temporary file in the same directory, fsynced and renamed (a crash never leaves half a
//! bundle under its final name). A version is published once: the same bundle again is a
//! no-op, a different bundle under a published version is refused.

use crate::hub::HubError;
use gridpad_update::bundle::check_shape;
use gridpad_update::Manifest;
use serde::Serialize;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use std::time::SystemTime;

/// Largest bundle accepted over HTTP.
pub const MAX_BUNDLE: usize = 512 << 20;

/// A published bundle, as listed to admins and offered to devices.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Published {
    pub package: String,
    pub version: String,
    pub target: String,
    pub sha256: String,
    pub size: u64,
    pub min_version: Option<String>,
    /// Bundle file size (header + payload).
    pub bundle_size: u64,
    /// Where a device downloads it (relative to the hub's base URL).
    pub path: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("not a valid update bundle: {0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

pub(crate) fn io(path: &Path, source: std::io::Error) -> BundleError {
    BundleError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Directory modification times a listing was read at.
type Stamps = Vec<(PathBuf, Option<SystemTime>)>;

/// A listing and the stamps it was read at.
type Listing = Option<(Stamps, Vec<Published>)>;

/// The bundle directory of a hub.
#[derive(Clone, Debug)]
pub struct Bundles {
    dir: PathBuf,
    /// The listing as last read, with the stamps of the directories it came from. Devices
    /// ask for their newest bundle on every check, publishing is rare — and may happen in
    /// another process (`gridhub admin publish-bundle`), which changes a directory's
    /// modification time, so the stamps, not this process, say when to read again.
    cache: Arc<Mutex<Listing>>,
}

fn safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-~".contains(&b))
        && !s.starts_with('.')
}

impl Bundles {
    /// Bundles under `<data_dir>/bundles`.
    pub fn new(data_dir: &Path) -> Bundles {
        Bundles {
            dir: data_dir.join("bundles"),
            cache: Arc::new(Mutex::new(None)),
        }
    }

    fn describe(m: &Manifest, file: &Path) -> Result<Published, BundleError> {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        Ok(Published {
            package: m.package.clone(),
            version: m.version.clone(),
            target: m.target.clone(),
            sha256: m.sha256.clone(),
            size: m.size,
            min_version: m.min_version.clone(),
            bundle_size: std::fs::metadata(file).map_err(|e| io(file, e))?.len(),
            path: format!("/v1/updates/{}/{name}", m.target),
        })
    }

    /// Publish the bundle in `src` (copied; `src` is left alone).
    pub fn publish_file(&self, src: &Path) -> Result<Published, BundleError> {
        let mut f = std::fs::File::open(src).map_err(|e| io(src, e))?;
        self.publish_reader(&mut f)
    }

    /// Publish a bundle read from `r`.
    pub fn publish_reader(&self, r: &mut dyn Read) -> Result<Published, BundleError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| io(&self.dir, e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(|e| io(&self.dir, e))?;
        std::io::copy(r, tmp.as_file_mut()).map_err(|e| io(tmp.path(), e))?;
        tmp.as_file().sync_all().map_err(|e| io(tmp.path(), e))?;
        let m = check_shape(tmp.path()).map_err(|e| BundleError::Invalid(e.to_string()))?;
        if !safe_name(&m.package) || !safe_name(&m.version) {
            return Err(BundleError::Invalid(
                "package or version has characters not allowed in a file name".into(),
            ));
        }
        let dir = self.dir.join(&m.target);
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let dest = dir.join(format!("{}_{}_{}.gpb", m.package, m.version, m.target));
        if dest.exists() {
            let (old, _) = gridpad_update::bundle::read_unverified_manifest(&dest)
                .map_err(|e| BundleError::Invalid(e.to_string()))?;
            if old.sha256 == m.sha256 && old.size == m.size {
                return Self::describe(&old, &dest);
            }
            return Err(BundleError::Conflict(format!(
                "{} {} for {} is already published with another payload; publish a new version",
                m.package, m.version, m.target
            )));
        }
        tmp.persist_noclobber(&dest)
            .map_err(|e| io(&dest, e.error))?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Self::describe(&m, &dest)
    }

    /// The bundle directory and its target directories, with their modification times.
    fn stamps(&self) -> Stamps {
        let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let mut out = vec![(self.dir.clone(), mtime(&self.dir))];
        if let Ok(rd) = std::fs::read_dir(&self.dir) {
            let mut dirs: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect();
            dirs.sort();
            out.extend(dirs.into_iter().map(|d| {
                let t = mtime(&d);
                (d, t)
            }));
        }
        out
    }

    /// Every published bundle, newest version first within each target. Read from disk
    /// only when a bundle directory changed since the last read.
    pub fn list(&self) -> Result<Vec<Published>, BundleError> {
        // Stamps first: a bundle published while we read makes them differ next time.
        let stamps = self.stamps();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, list)) = cache.as_ref() {
            if *at == stamps {
                return Ok(list.clone());
            }
        }
        let list = self.read_list()?;
        *cache = Some((stamps, list.clone()));
        Ok(list)
    }

    fn read_list(&self) -> Result<Vec<Published>, BundleError> {
        let mut out = vec![];
        let targets = match std::fs::read_dir(&self.dir) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io(&self.dir, e)),
        };
        for t in targets.flatten() {
            if !t.path().is_dir() {
                continue;
            }
            for f in std::fs::read_dir(t.path())
                .map_err(|e| io(&t.path(), e))?
                .flatten()
            {
                let p = f.path();
                if p.extension().and_then(|x| x.to_str()) != Some("gpb") {
                    continue;
                }
                if let Ok((m, _)) = gridpad_update::bundle::read_unverified_manifest(&p) {
                    out.push(Self::describe(&m, &p)?);
                }
            }
        }
        out.sort_by(|a, b| {
            a.target.cmp(&b.target).then_with(|| {
                let v = |s: &str| gridpad_update::version::parse(s).ok();
                v(&b.version).cmp(&v(&a.version))
            })
        });
        Ok(out)
    }

    /// The newest bundle of `target` (`package` if given), by semantic version.
    pub fn latest(&self, target: &str, package: Option<&str>) -> Result<Published, BundleError> {
        self.list()?
            .into_iter()
            .find(|p| p.target == target && package.is_none_or(|pk| pk == p.package))
            .ok_or_else(|| BundleError::NotFound(format!("no update published for {target}")))
    }

    /// The file of a published bundle (name as in [`Published::path`]).
    pub fn file(&self, target: &str, name: &str) -> Result<PathBuf, BundleError> {
        if !safe_name(target) || !safe_name(name) || !name.ends_with(".gpb") {
            return Err(BundleError::NotFound(format!("no bundle {target}/{name}")));
        }
        let p = self.dir.join(target).join(name);
        if p.is_file() {
            Ok(p)
        } else {
            Err(BundleError::NotFound(format!("no bundle {target}/{name}")))
        }
    }
}

pub use crate::http::bundles::{router, ROUTES};

impl From<BundleError> for HubError {
    fn from(e: BundleError) -> HubError {
        match e {
            BundleError::Invalid(d) => HubError::BadRequest(d),
            BundleError::Conflict(d) => HubError::Conflict(d),
            BundleError::NotFound(d) => HubError::NotFound(d),
            e @ BundleError::Io { .. } => {
                HubError::Store(gridhub_store::StoreError::Backend(e.to_string()))
            }
        }
    }
}

//! The device-side update agent.
//!
//! Layout under the update root (default `/var/lib/gridpad-update`, on the root filesystem,
//! never on the data partition):
//!
//! ```text
//! releases/<version>/     a release: the payload .deb's files (usr/bin/gridpad, …)
//! current -> releases/V   the release the launcher starts (absent: the packaged /usr/bin one)
//! state.json              current, previous, pending confirmation, refused versions, history
//! incoming/               downloads being resumed, the payload being verified
//! lock                    one agent at a time
//! ```
//!
//! Installing: fetch → verify signature and payload → check package, target, version policy
//! → unpack into `releases/.V.partial`, fsync, rename to `releases/V` → point `current` at it
//! with an atomic `rename` of a new symlink, recording `pending` → health check (the new
//! binary's `--version` within a timeout, then, if configured, a service restart and a
//! health command) → confirmed, or rolled back to the previous release. A power cut between
//! the switch and the confirmation leaves `pending` set; `boot-check` (run before the
//! service starts) repeats the health check and counts attempts, rolling back a release that
//! never gets healthy.

use crate::bundle::{self, VerifiedBundle};
use crate::fetch::{self, Source};
pub use crate::health::{run_with_timeout, Output};
use crate::keys::TrustedKeys;
use crate::{version, Error, Result};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The `[update]` table of `/etc/gridpad/gridpad.toml`: the device configuration's one type
/// (`gridpad_config`), read whole, so an unknown key anywhere in the file is reported.
pub type AgentConfig = gridpad_config::UpdateConfig;
pub use gridpad_config::native_target;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pending {
    pub version: String,
    pub attempts: u32,
    pub since: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HistoryEntry {
    pub time: String,
    pub action: String,
    pub version: String,
    pub detail: String,
}

/// `state.json`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct State {
    /// The release `current` points at; `None`: the packaged one.
    pub current: Option<String>,
    /// The release kept to roll back to; `None`: the packaged one.
    pub previous: Option<String>,
    /// Switched to but not yet confirmed healthy.
    pub pending: Option<Pending>,
    /// Versions that failed their health check (refused again unless forced).
    pub failed: Vec<String>,
    /// Most recent last; bounded.
    pub history: Vec<HistoryEntry>,
}

const HISTORY_MAX: usize = 50;
/// How long an agent waits for another one to finish before reporting `Busy`.
const LOCK_WAIT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, Default)]
pub struct InstallOptions {
    pub allow_downgrade: bool,
    /// Reinstall the same version, or retry one that failed its health check before.
    pub force: bool,
    /// Download attempts for a URL.
    pub attempts: u32,
    /// The device's token (and its hub's CA) for gridhub's device endpoints (bundles
    /// served by the hub).
    pub auth: Option<fetch::DeviceAuth>,
}

#[derive(Clone, Debug, Serialize)]
pub struct InstallReport {
    pub installed: String,
    pub previous: String,
    pub key_id: String,
    pub target: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Status {
    pub version: String,
    pub running_from: String,
    pub previous: Option<String>,
    pub pending: Option<Pending>,
    pub failed: Vec<String>,
    pub target: String,
    pub history: Vec<HistoryEntry>,
}

/// What `boot_check` decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum BootDecision {
    Nothing,
    Confirmed(String),
    Waiting {
        version: String,
        attempts: u32,
    },
    RolledBack {
        from: String,
        to: String,
        reason: String,
    },
}

pub struct Agent {
    pub cfg: AgentConfig,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Agent {
    pub fn new(cfg: AgentConfig) -> Self {
        Agent { cfg }
    }

    fn root(&self) -> &Path {
        &self.cfg.root
    }
    fn state_path(&self) -> PathBuf {
        self.root().join("state.json")
    }
    fn releases(&self) -> PathBuf {
        self.root().join("releases")
    }
    fn current_link(&self) -> PathBuf {
        self.root().join("current")
    }
    pub fn release_dir(&self, v: &str) -> PathBuf {
        self.releases().join(v)
    }

    fn ensure_dirs(&self) -> Result<()> {
        for d in [
            self.root().to_path_buf(),
            self.releases(),
            self.root().join("incoming"),
        ] {
            std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
        }
        Ok(())
    }

    fn lock(&self) -> Result<std::fs::File> {
        self.ensure_dirs()?;
        let p = self.root().join("lock");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(|e| Error::io(&p, e))?;
        // A short wait, not a block: boot-check runs before the app starts and must not
        // hang behind a long install; a lock held for a moment (a forked child of another
        // thread still holding a copy of the descriptor until its exec) is waited out.
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match f.try_lock() {
                Ok(()) => return Ok(f),
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::Busy(p.display().to_string()))
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&p, e)),
            }
        }
    }

    pub fn load_state(&self) -> Result<State> {
        let p = self.state_path();
        match std::fs::read(&p) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| Error::Other(format!("{}: {e}", p.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(Error::io(&p, e)),
        }
    }

    fn save_state(&self, s: &mut State) -> Result<()> {
        if s.history.len() > HISTORY_MAX {
            let cut = s.history.len() - HISTORY_MAX;
            s.history.drain(..cut);
        }
        let bytes = serde_json::to_vec_pretty(s).expect("serialise state");
        crate::write_atomic(&self.state_path(), &bytes, 0o644)
    }

    fn record(s: &mut State, action: &str, version: &str, detail: impl Into<String>) {
        s.history.push(HistoryEntry {
            time: now(),
            action: action.into(),
            version: version.into(),
            detail: detail.into(),
        });
    }

    /// The version of the packaged (base) program, from its `--version`.
    pub fn base_version(&self) -> String {
        run_with_timeout(
            &[
                self.cfg.base_binary.display().to_string(),
                "--version".into(),
            ],
            Duration::from_secs(self.cfg.health_timeout_secs),
        )
        .ok()
        .filter(|o| o.success)
        .and_then(|o| version::from_version_output(&o.stdout))
        .unwrap_or_else(|| "0.0.0".into())
    }

    /// The version the device runs now.
    pub fn installed_version(&self, s: &State) -> String {
        match &s.current {
            Some(v) if self.release_dir(v).is_dir() => v.clone(),
            _ => self.base_version(),
        }
    }

    pub fn status(&self) -> Result<Status> {
        let s = self.load_state()?;
        let version = self.installed_version(&s);
        let running_from = match &s.current {
            Some(v) if self.release_dir(v).is_dir() => self
                .release_dir(v)
                .join(&self.cfg.binary)
                .display()
                .to_string(),
            _ => self.cfg.base_binary.display().to_string(),
        };
        Ok(Status {
            version,
            running_from,
            previous: s.previous.clone(),
            pending: s.pending.clone(),
            failed: s.failed.clone(),
            target: self.cfg.device_target(),
            history: s.history.clone(),
        })
    }

    /// Verifies a bundle against this device's keys and policy without installing it. The
    /// payload is written to `payload_path` if given.
    pub fn check(
        &self,
        bundle_path: &Path,
        opts: &InstallOptions,
        payload_path: Option<&Path>,
    ) -> Result<VerifiedBundle> {
        let trusted = TrustedKeys::load(&self.cfg.keys)?;
        let vb = match payload_path {
            Some(p) => bundle::verify_and_extract(bundle_path, &trusted, p)?,
            None => bundle::verify_file(bundle_path, &trusted)?,
        };
        let m = &vb.manifest;
        let refuse = |e: Error| {
            if let Some(p) = payload_path {
                let _ = std::fs::remove_file(p);
            }
            Err(e)
        };
        if m.package != self.cfg.package {
            return refuse(Error::WrongPackage {
                bundle: m.package.clone(),
                expected: self.cfg.package.clone(),
            });
        }
        let device = self.cfg.device_target();
        if m.target != device {
            return refuse(Error::WrongTarget {
                bundle: m.target.clone(),
                device,
            });
        }
        let s = self.load_state()?;
        let installed = self.installed_version(&s);
        match version::compare(&m.version, &installed)? {
            Ordering::Less if !opts.allow_downgrade => {
                return refuse(Error::Downgrade {
                    installed,
                    bundle: m.version.clone(),
                })
            }
            Ordering::Equal if !opts.force => return refuse(Error::AlreadyInstalled(installed)),
            _ => {}
        }
        if let Some(min) = &m.min_version {
            if version::compare(&installed, min)? == Ordering::Less && !opts.allow_downgrade {
                return refuse(Error::TooOld {
                    installed,
                    min: min.clone(),
                });
            }
        }
        if s.failed.contains(&m.version) && !opts.force {
            return refuse(Error::Other(format!(
                "version {} failed its health check on this device before (pass --force to retry)",
                m.version
            )));
        }
        Ok(vb)
    }

    /// Fetches, verifies and installs a bundle; health-checks it; rolls back on failure.
    pub fn install(&self, source: &Source, opts: &InstallOptions) -> Result<InstallReport> {
        let _lock = self.lock()?;
        let incoming = self.root().join("incoming");
        let bundle_path =
            fetch::fetch_with(source, &incoming, opts.attempts.max(1), opts.auth.as_ref())?;
        let payload = incoming.join("payload.deb");
        let vb = self.check(&bundle_path, opts, Some(&payload));
        if matches!(source, Source::Url(_)) {
            // A downloaded bundle is not kept, good or bad (a bad one would be fetched again
            // from scratch, not resumed onto).
            let _ = std::fs::remove_file(&bundle_path);
        }
        let vb = vb?;
        let m = vb.manifest.clone();
        let result = self.unpack(&payload, &m);
        let _ = std::fs::remove_file(&payload);
        result?;

        let mut s = self.load_state()?;
        let before = self.installed_version(&s);
        let before_release = s.current.clone().filter(|v| self.release_dir(v).is_dir());
        self.switch_to(Some(&m.version))?;
        s.previous = before_release;
        s.current = Some(m.version.clone());
        s.pending = Some(Pending {
            version: m.version.clone(),
            attempts: 0,
            since: now(),
        });
        Self::record(
            &mut s,
            "switched",
            &m.version,
            format!("from {before}, key {}", vb.key_id),
        );
        self.save_state(&mut s)?;

        match self.health_check(&m.version, true) {
            Ok(()) => {
                s.pending = None;
                s.failed.retain(|v| v != &m.version);
                Self::record(&mut s, "installed", &m.version, "health check passed");
                self.save_state(&mut s)?;
                self.prune(&s);
                Ok(InstallReport {
                    installed: m.version,
                    previous: before,
                    key_id: vb.key_id,
                    target: m.target,
                })
            }
            Err(detail) => {
                let to = self.roll_back(&mut s, &m.version, &detail, true)?;
                Err(Error::HealthCheckFailed {
                    version: m.version,
                    detail,
                    rolled_back_to: to,
                })
            }
        }
    }

    /// Unpacks the payload's files into `releases/<version>` via a `.partial` directory.
    fn unpack(&self, deb: &Path, m: &bundle::Manifest) -> Result<()> {
        let fields = run_with_timeout(
            &[
                "dpkg-deb".into(),
                "--field".into(),
                deb.display().to_string(),
                "Package".into(),
                "Version".into(),
                "Architecture".into(),
            ],
            Duration::from_secs(60),
        )
        .map_err(|e| Error::Other(format!("dpkg-deb: {e}")))?;
        if !fields.success {
            return Err(Error::PayloadMismatch(format!(
                "payload is not a Debian package: {}",
                fields.stderr.trim()
            )));
        }
        let field = |name: &str| {
            fields
                .stdout
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                .unwrap_or("")
                .trim()
                .to_string()
        };
        let (pkg, ver, arch) = (field("Package"), field("Version"), field("Architecture"));
        let upstream = ver.split(['-', '~', '+']).next().unwrap_or("");
        if pkg != m.package
            || (arch != m.target && arch != "all")
            || upstream != m.version.split(['-', '+']).next().unwrap_or("")
        {
            return Err(Error::PayloadMismatch(format!(
                "the package inside is {pkg} {ver} ({arch}), the manifest says {} {} ({})",
                m.package, m.version, m.target
            )));
        }
        let final_dir = self.release_dir(&m.version);
        let partial = self.releases().join(format!(".{}.partial", m.version));
        if partial.exists() {
            std::fs::remove_dir_all(&partial).map_err(|e| Error::io(&partial, e))?;
        }
        std::fs::create_dir_all(&partial).map_err(|e| Error::io(&partial, e))?;
        let x = run_with_timeout(
            &[
                "dpkg-deb".into(),
                "--extract".into(),
                deb.display().to_string(),
                partial.display().to_string(),
            ],
            Duration::from_secs(600),
        )
        .map_err(|e| Error::Other(format!("dpkg-deb: {e}")))?;
        if !x.success {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(Error::Other(format!(
                "cannot unpack the payload: {}",
                x.stderr.trim()
            )));
        }
        if !partial.join(&self.cfg.binary).is_file() {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(Error::PayloadMismatch(format!(
                "the package has no {}",
                self.cfg.binary
            )));
        }
        sync_tree(&partial)?;
        if final_dir.exists() {
            // Same version reinstalled (--force): the running release is not this directory
            // (current is switched only after the rename), unless it is; then move it aside.
            let old = self.releases().join(format!(".{}.old", m.version));
            let _ = std::fs::remove_dir_all(&old);
            std::fs::rename(&final_dir, &old).map_err(|e| Error::io(&final_dir, e))?;
            std::fs::rename(&partial, &final_dir).map_err(|e| Error::io(&final_dir, e))?;
            let _ = std::fs::remove_dir_all(&old);
        } else {
            std::fs::rename(&partial, &final_dir).map_err(|e| Error::io(&final_dir, e))?;
        }
        crate::sync_dir(&self.releases())
    }

    /// Points `current` at a release (atomically: a new symlink renamed over the old one), or
    /// removes it (`None`: back to the packaged program).
    fn switch_to(&self, v: Option<&str>) -> Result<()> {
        let link = self.current_link();
        match v {
            Some(v) => {
                let tmp = self.root().join(".current.new");
                let _ = std::fs::remove_file(&tmp);
                std::os::unix::fs::symlink(Path::new("releases").join(v), &tmp)
                    .map_err(|e| Error::io(&tmp, e))?;
                std::fs::rename(&tmp, &link).map_err(|e| Error::io(&link, e))?;
            }
            None => match std::fs::remove_file(&link) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&link, e)),
            },
        }
        crate::sync_dir(self.root())
    }

    /// Switches back to the previous release (or the packaged program), marks `failed`.
    fn roll_back(
        &self,
        s: &mut State,
        failed: &str,
        reason: &str,
        restart: bool,
    ) -> Result<String> {
        let to = s.previous.clone().filter(|p| self.release_dir(p).is_dir());
        self.switch_to(to.as_deref())?;
        s.current = to.clone();
        s.previous = None;
        s.pending = None;
        if !s.failed.iter().any(|f| f == failed) {
            s.failed.push(failed.to_string());
        }
        let to_v = self.installed_version(s);
        Self::record(s, "rolled-back", failed, format!("to {to_v}: {reason}"));
        self.save_state(s)?;
        if restart && !self.cfg.restart_command.is_empty() {
            let bin = self.cfg.base_binary.clone();
            let _ = run_with_timeout(
                &self.expand(&self.cfg.restart_command, &bin, &to_v),
                Duration::from_secs(self.cfg.health_timeout_secs),
            );
        }
        // The failed release's files are kept until the next successful install prunes them
        // (for the crash report); they are never started again unless forced.
        Ok(to_v)
    }

    /// Manual rollback to the kept previous release (or the packaged program).
    pub fn rollback(&self) -> Result<String> {
        let _lock = self.lock()?;
        let mut s = self.load_state()?;
        let Some(cur) = s.current.clone() else {
            return Err(Error::Other(
                "nothing to roll back: the packaged version is running".into(),
            ));
        };
        let to = s.previous.clone().filter(|p| self.release_dir(p).is_dir());
        self.switch_to(to.as_deref())?;
        s.current = to;
        s.previous = None;
        s.pending = None;
        let to_v = self.installed_version(&s);
        Self::record(&mut s, "rollback", &cur, format!("by hand, to {to_v}"));
        self.save_state(&mut s)?;
        Ok(to_v)
    }

    /// Confirms the pending release (called by the app once it runs properly, or by hand).
    pub fn mark_good(&self) -> Result<Option<String>> {
        let _lock = self.lock()?;
        let mut s = self.load_state()?;
        let Some(p) = s.pending.take() else {
            return Ok(None);
        };
        Self::record(&mut s, "confirmed", &p.version, "marked good");
        self.save_state(&mut s)?;
        Ok(Some(p.version))
    }

    /// Run before the app starts (systemd `ExecStartPre=`): a release left pending by an
    /// interrupted install is health-checked again; one started more than
    /// `max_boot_attempts` times without being confirmed is rolled back.
    pub fn boot_check(&self) -> Result<BootDecision> {
        let _lock = self.lock()?;
        let mut s = self.load_state()?;
        // Half-done work of an interrupted install is dropped.
        if let Ok(rd) = std::fs::read_dir(self.releases()) {
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().to_string();
                if n.starts_with('.') && (n.ends_with(".partial") || n.ends_with(".old")) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let Some(mut p) = s.pending.clone() else {
            return Ok(BootDecision::Nothing);
        };
        p.attempts += 1;
        if p.attempts > self.cfg.max_boot_attempts {
            let reason = format!("not confirmed after {} starts", p.attempts - 1);
            let to = self.roll_back(&mut s, &p.version, &reason, false)?;
            return Ok(BootDecision::RolledBack {
                from: p.version,
                to,
                reason,
            });
        }
        match self.health_check(&p.version, false) {
            Ok(()) => {
                s.pending = None;
                Self::record(&mut s, "confirmed", &p.version, "boot check passed");
                self.save_state(&mut s)?;
                Ok(BootDecision::Confirmed(p.version))
            }
            Err(reason) if p.attempts >= self.cfg.max_boot_attempts => {
                let to = self.roll_back(&mut s, &p.version, &reason, false)?;
                Ok(BootDecision::RolledBack {
                    from: p.version,
                    to,
                    reason,
                })
            }
            Err(_) => {
                let attempts = p.attempts;
                s.pending = Some(p.clone());
                self.save_state(&mut s)?;
                Ok(BootDecision::Waiting {
                    version: p.version,
                    attempts,
                })
            }
        }
    }

    /// Removes releases other than the current and the previous one.
    fn prune(&self, s: &State) {
        let keep: Vec<&String> = s.current.iter().chain(s.previous.iter()).collect();
        if let Ok(rd) = std::fs::read_dir(self.releases()) {
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().to_string();
                if !keep.iter().any(|k| **k == n) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
    }
}

/// fsyncs every file and directory under `dir`.
fn sync_tree(dir: &Path) -> Result<()> {
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let ft = e.file_type().map_err(|err| Error::io(e.path(), err))?;
        if ft.is_dir() {
            sync_tree(&e.path())?;
        } else if ft.is_file() {
            let f = std::fs::File::open(e.path()).map_err(|err| Error::io(e.path(), err))?;
            f.sync_all().map_err(|err| Error::io(e.path(), err))?;
        }
    }
    crate::sync_dir(dir)
}

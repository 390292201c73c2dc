//! The health check of a release: its program's `--version` within a timeout and, after
//! an install, the app's restart and the configured health command — each a command run
//! with a deadline ([`run_with_timeout`]).

use crate::agent::Agent;
use crate::version;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

impl Agent {
    /// Checks a release: its program answers `--version` with the right version within the
    /// timeout; then, with `restart` (after an install, not at boot), restarts the app and
    /// runs the health command if configured. Returns what went wrong.
    pub(crate) fn health_check(&self, v: &str, restart: bool) -> std::result::Result<(), String> {
        let bin = self.release_dir(v).join(&self.cfg.binary);
        let timeout = Duration::from_secs(self.cfg.health_timeout_secs);
        let out = run_with_timeout(&[bin.display().to_string(), "--version".into()], timeout)?;
        if !out.success {
            return Err(format!(
                "{} --version {}: {}",
                bin.display(),
                out.status,
                out.stderr.trim()
            ));
        }
        if version::from_version_output(&out.stdout).as_deref() != Some(v) {
            return Err(format!(
                "{} --version printed {:?}, expected version {v}",
                bin.display(),
                out.stdout.trim()
            ));
        }
        // At boot (ExecStartPre of the app's own unit) neither a restart nor a service
        // health command makes sense: the unit is starting the release right after.
        if !restart {
            return Ok(());
        }
        if !self.cfg.restart_command.is_empty() {
            let r = run_with_timeout(&self.expand(&self.cfg.restart_command, &bin, v), timeout)?;
            if !r.success {
                return Err(format!("restart {}: {}", r.status, r.stderr.trim()));
            }
            std::thread::sleep(Duration::from_secs(self.cfg.settle_secs));
        }
        if !self.cfg.health_command.is_empty() {
            let h = run_with_timeout(&self.expand(&self.cfg.health_command, &bin, v), timeout)?;
            if !h.success {
                return Err(format!(
                    "health command {}: {}{}",
                    h.status,
                    h.stdout.trim(),
                    h.stderr.trim()
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn expand(&self, cmd: &[String], bin: &Path, v: &str) -> Vec<String> {
        cmd.iter()
            .map(|a| {
                a.replace("{bin}", &bin.display().to_string())
                    .replace("{version}", v)
            })
            .collect()
    }
}

pub struct Output {
    pub success: bool,
    pub status: String,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a command, killing it after `timeout`.
pub fn run_with_timeout(argv: &[String], timeout: Duration) -> std::result::Result<Output, String> {
    let (prog, args) = argv.split_first().ok_or("empty command")?;
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("GRIDPAD_UPDATE_HEALTH_CHECK", "1")
        .spawn()
        .map_err(|e| format!("cannot start {prog}: {e}"))?;
    let mut so = child.stdout.take().expect("piped");
    let mut se = child.stderr.take().expect("piped");
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{prog} did not finish within {} s",
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for {prog}: {e}")),
        }
    };
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned();
    Ok(Output {
        success: status.success(),
        status: status.to_string(),
        stdout,
        stderr,
    })
}

//! A real `gridhub serve` process on loopback: started, crashed at a named point
//! (`GRIDHUB_CRASH_AT`), restarted on the same data; and `gridhub admin …` on its data.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The `gridhub` binary: `GRIDHUB_BIN` if set (e.g. an older build, to see a test fail
/// before its fix), else the one cargo built beside this test (`cargo test --workspace`
/// builds it; alone: `cargo build -p gridhub` first).
pub fn gridhub_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("GRIDHUB_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let path = dir.join("gridhub");
    assert!(
        path.exists(),
        "{} is not built: run `cargo build -p gridhub` first (cargo test --workspace does)",
        path.display()
    );
    path
}

/// `gridhub serve` on 127.0.0.1 with a free port; killed when dropped.
pub struct HubProc {
    child: Option<Child>,
    pub url: String,
    pub dir: PathBuf,
    /// Everything the hub wrote to stderr so far.
    log: Arc<Mutex<String>>,
}

impl HubProc {
    pub fn start(dir: &Path) -> HubProc {
        Self::start_env(dir, "127.0.0.1:0", &[])
    }

    /// Started on `listen` with extra environment, e.g. `("GRIDHUB_CRASH_AT",
    /// "push.after_commit")`.
    pub fn start_env(dir: &Path, listen: &str, env: &[(&str, &str)]) -> HubProc {
        let mut cmd = Command::new(gridhub_bin());
        cmd.arg("--data-dir")
            .arg(dir)
            .args(["serve", "--listen", listen])
            .env_remove("GRIDHUB_CRASH_AT")
            .stderr(Stdio::piped())
            .stdout(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start gridhub");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(i) = line.find("http://") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(line[i..].trim().to_string());
                    }
                }
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("gridhub did not start: {}", log.lock().unwrap()));
        HubProc {
            child: Some(child),
            url,
            dir: dir.to_path_buf(),
            log,
        }
    }

    /// The address it listens on (to start again on the same one).
    pub fn addr(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }

    /// Stop it as a power cut would (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Wait (at most a minute) for the hub to die by itself — at its crash point.
    pub fn wait_for_crash(&mut self) -> ExitStatus {
        let child = self.child.as_mut().expect("running");
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(st) = child.try_wait().expect("wait") {
                self.child = None;
                return st;
            }
            assert!(
                Instant::now() < until,
                "gridhub did not reach its crash point: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => c.try_wait().expect("wait").is_none(),
            None => false,
        }
    }

    /// `gridhub admin …` on this hub's data (works while it serves).
    pub fn admin(&self) -> Command {
        admin(&self.dir)
    }
}

impl Drop for HubProc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `gridhub admin …` on a hub data directory.
pub fn admin(dir: &Path) -> Command {
    let mut c = Command::new(gridhub_bin());
    c.arg("--data-dir")
        .arg(dir)
        .arg("admin")
        .env_remove("GRIDHUB_CRASH_AT");
    c
}

/// Run a command; panic with its output unless it succeeds; its stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

pub fn run_json(cmd: &mut Command) -> serde_json::Value {
    let out = run(cmd);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

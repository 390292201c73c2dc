//! Real processes on loopback: the workspace's binaries, `gridhub serve` on a free port
//! (started, killed as by a power cut, crashed at a named point, started again on the same
//! data and address), `gridhub admin …` on a hub's data, the demo town seeded into a hub,
//! and a device enrolled through the `gridpad` command line.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A binary of the workspace, next to the test executable's `deps/` directory (`cargo test
/// --workspace` builds them all before any test runs; alone: `cargo build -p <name>`).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run the whole suite (`cargo test --workspace`) or `cargo build -p {name}` first",
        path.display()
    );
    path
}

/// The `gridhub` binary: `GRIDHUB_BIN` if set (e.g. an older build, to see a test fail
/// before its fix), else the one cargo built beside this test.
pub fn gridhub_bin() -> PathBuf {
    match std::env::var_os("GRIDHUB_BIN") {
        Some(p) => PathBuf::from(p),
        None => bin("gridhub"),
    }
}

/// The `gridpad` binary: `GRIDPAD_BIN` if set (an older build, to see a device-side test
/// fail before its fix), else the one cargo built beside this test.
pub fn gridpad_bin() -> PathBuf {
    match std::env::var_os("GRIDPAD_BIN") {
        Some(p) => PathBuf::from(p),
        None => bin("gridpad"),
    }
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

/// [`run`], its stdout read as JSON.
pub fn run_json(cmd: &mut Command) -> serde_json::Value {
    let out = run(cmd);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// The PIN of the devices [`gridpad`] drives (the same as `store::PIN`).
pub const DEVICE_PIN: &str = "246810";

/// A `gridpad` command on a device data directory, with its PIN.
pub fn gridpad(dir: &Path) -> Command {
    let mut c = Command::new(gridpad_bin());
    c.env("GRIDPAD_PIN", DEVICE_PIN)
        .env("GRIDPAD_DATA_DIR", dir);
    c
}

/// `gridhub admin …` on a hub data directory (works with or without a server on it).
pub fn gridhub_admin(dir: &Path) -> Command {
    let mut c = Command::new(gridhub_bin());
    c.arg("--data-dir")
        .arg(dir)
        .arg("admin")
        .env_remove("GRIDHUB_CRASH_AT");
    c
}

/// The demo town of `persons` residents seeded into the hub of `dir` (`gridhub admin
/// seed-demo`); what the command answered (`home_grid_code`, `home_grid_id` …).
pub fn seed_demo(dir: &Path, persons: usize) -> serde_json::Value {
    run_json(gridhub_admin(dir).args(["seed-demo", "--persons", &persons.to_string(), "--json"]))
}

/// A one-time enrollment code the hub of `dir` issues for `user` in `grid` (id or code).
pub fn issue_code(dir: &Path, user: &str, grid: &str) -> String {
    run_json(gridhub_admin(dir).args(["issue-code", "--user", user, "--grid", grid, "--json"]))
        ["code"]
        .as_str()
        .expect("a code")
        .to_string()
}

/// A new device in `dev` (`gridpad init`) enrolled at `url` with `code` (`gridpad enroll`).
pub fn init_and_enroll(dev: &Path, url: &str, code: &str) {
    run(gridpad(dev).arg("init"));
    run(gridpad(dev).args(["enroll", "--hub", url, "--code", code]));
}

/// `gridhub serve` on 127.0.0.1; killed when dropped.
pub struct HubProcess {
    child: Option<Child>,
    /// `http://127.0.0.1:<port>` (or `https://…`).
    pub url: String,
    pub dir: PathBuf,
    /// Everything the hub wrote to stderr so far.
    log: Arc<Mutex<String>>,
}

impl HubProcess {
    /// On a free port.
    pub fn start(dir: &Path) -> HubProcess {
        Self::start_on(dir, "127.0.0.1:0")
    }

    /// On `listen` (e.g. the address of a hub stopped before).
    pub fn start_on(dir: &Path, listen: &str) -> HubProcess {
        Self::start_env(dir, listen, &[])
    }

    /// Started on `listen` with extra environment, e.g. `("GRIDHUB_CRASH_AT",
    /// "push.after_commit")`.
    pub fn start_env(dir: &Path, listen: &str, env: &[(&str, &str)]) -> HubProcess {
        Self::start_with(dir, &["--listen", listen], env)
    }

    /// Over HTTPS with this PEM certificate and key, on a free port of 127.0.0.1.
    pub fn start_tls(dir: &Path, cert: &Path, key: &Path) -> HubProcess {
        let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
        let args = [
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert,
            "--tls-key",
            key,
        ];
        Self::start_with(dir, &args, &[])
    }

    /// `gridhub serve <serve_args>`; returns once it says where it listens.
    fn start_with(dir: &Path, serve_args: &[&str], env: &[(&str, &str)]) -> HubProcess {
        let mut cmd = Command::new(gridhub_bin());
        cmd.arg("--data-dir")
            .arg(dir)
            .arg("serve")
            .args(serve_args)
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
        // Keeps draining stderr, so the hub never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(i) = line.find("http://").or_else(|| line.find("https://")) {
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
        HubProcess {
            child: Some(child),
            url,
            dir: dir.to_path_buf(),
            log,
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port")
    }

    /// The address it listens on (to start again on the same one).
    pub fn addr(&self) -> String {
        self.url
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_string()
    }

    /// Stop it as a power cut would (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// What it wrote to stderr so far.
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
        gridhub_admin(&self.dir)
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

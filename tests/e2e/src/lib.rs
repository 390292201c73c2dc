//! Helpers for end-to-end tests: find the workspace's binaries (built by `cargo test
//! --workspace` before any test runs), run them, start `gridhub serve` on a free port.

pub mod webdriver;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A binary of the workspace, next to the test executable's `deps/` directory.
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

/// Run a command, panic with its stderr if it fails, return its stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{:?} failed: {}{}",
        cmd,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

pub fn run_json(cmd: &mut Command) -> serde_json::Value {
    let out = run(cmd);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// `gridhub serve` on 127.0.0.1 with a free port; killed when dropped.
pub struct Hub {
    pub child: Child,
    pub url: String,
    pub dir: PathBuf,
}

impl Hub {
    pub fn start(dir: &Path) -> Hub {
        Self::start_on(dir, "127.0.0.1:0")
    }

    pub fn start_on(dir: &Path, listen: &str) -> Hub {
        Self::start_with(dir, &["--listen", listen])
    }

    /// `gridhub serve` over HTTPS with this PEM certificate and key, on 127.0.0.1.
    pub fn start_tls(dir: &Path, cert: &Path, key: &Path) -> Hub {
        let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
        Self::start_with(
            dir,
            &[
                "--listen",
                "127.0.0.1:0",
                "--tls-cert",
                cert,
                "--tls-key",
                key,
            ],
        )
    }

    fn start_with(dir: &Path, serve_args: &[&str]) -> Hub {
        let mut child = Command::new(bin("gridhub"))
            .arg("--data-dir")
            .arg(dir)
            .arg("serve")
            .args(serve_args)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start gridhub");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("gridhub exited before serving")
                .expect("read");
            if let Some(i) = line.find("http://").or_else(|| line.find("https://")) {
                break line[i..].trim().to_string();
            }
        };
        // Keep draining stderr so the hub never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Hub {
            child,
            url,
            dir: dir.to_path_buf(),
        }
    }

    pub fn admin(&self) -> Command {
        let mut c = Command::new(bin("gridhub"));
        c.arg("--data-dir").arg(&self.dir).arg("admin");
        c
    }

    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port")
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `gridpad` command on a device data directory, with its PIN.
pub fn gridpad(dir: &Path) -> Command {
    let mut c = Command::new(bin("gridpad"));
    c.env("GRIDPAD_PIN", "246810").env("GRIDPAD_DATA_DIR", dir);
    c
}

/// A hub admin command on a hub data directory (no server needed).
pub fn gridhub_admin(dir: &Path) -> Command {
    let mut c = Command::new(bin("gridhub"));
    c.arg("--data-dir").arg(dir).arg("admin");
    c
}

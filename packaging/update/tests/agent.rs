//! The update agent against real bundles of real .deb files (built with dpkg-deb): refusals
//! with clear messages, a good install, rollbacks, boot-time confirmation, resumed downloads.

use gridpad_update::agent::{Agent, AgentConfig, BootDecision, InstallOptions};
use gridpad_update::bundle::{self, CreateOptions};
use gridpad_update::fetch::{self, Source};
use gridpad_update::keys::{SecretKey, TrustedKeys};
use gridpad_update::Error;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

struct Fleet {
    dir: tempfile::TempDir,
    key: SecretKey,
}

fn script(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

impl Fleet {
    fn new() -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        let key = SecretKey::generate().unwrap();
        let keys = dir.path().join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        key.save(&dir.path().join("release.key")).unwrap();
        std::fs::copy(
            dir.path().join("release.key.pub"),
            keys.join(format!("{}.pub", key.key_id())),
        )
        .unwrap();
        // The packaged (factory) gridpad, version 0.1.0.
        script(&dir.path().join("base/gridpad"), "echo 'gridpad 0.1.0'");
        Fleet { dir, key }
    }

    fn agent(&self) -> Agent {
        Agent::new(AgentConfig {
            root: self.dir.path().join("root"),
            keys: self.dir.path().join("keys"),
            target: "arm64".into(),
            base_binary: self.dir.path().join("base/gridpad"),
            health_timeout_secs: 2,
            settle_secs: 0,
            ..AgentConfig::default()
        })
    }

    /// A .deb whose `usr/bin/gridpad` runs `body`.
    fn deb(&self, version: &str, arch: &str, body: &str) -> PathBuf {
        let tree = self.dir.path().join(format!("deb-{version}-{arch}"));
        let _ = std::fs::remove_dir_all(&tree);
        std::fs::create_dir_all(tree.join("DEBIAN")).unwrap();
        std::fs::write(
            tree.join("DEBIAN/control"),
            format!(
                "Package: gridpad\nVersion: {version}\nArchitecture: {arch}\nMaintainer: Gridpad developers <dev@example.invalid>\nDescription: test package\n"
            ),
        )
        .unwrap();
        script(&tree.join("usr/bin/gridpad"), body);
        let out = self
            .dir
            .path()
            .join(format!("gridpad_{version}_{arch}.deb"));
        let st = std::process::Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zgzip", "--build"])
            .arg(&tree)
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("dpkg-deb");
        assert!(st.success());
        out
    }

    fn bundle_with(
        &self,
        version: &str,
        arch: &str,
        body: &str,
        min: Option<&str>,
        key: &SecretKey,
    ) -> PathBuf {
        let deb = self.deb(version, arch, body);
        let out = self
            .dir
            .path()
            .join(format!("gridpad_{version}_{arch}.gpb"));
        bundle::create(
            &deb,
            &CreateOptions {
                package: "gridpad".into(),
                version: version.into(),
                target: arch.into(),
                min_version: min.map(str::to_string),
            },
            key,
            &out,
        )
        .unwrap();
        out
    }

    fn good(&self, version: &str) -> PathBuf {
        self.bundle_with(
            version,
            "arm64",
            &format!("echo 'gridpad {version}'"),
            None,
            &self.key,
        )
    }

    fn trusted(&self) -> TrustedKeys {
        TrustedKeys::load(&self.dir.path().join("keys")).unwrap()
    }
}

fn install(agent: &Agent, b: &Path) -> Result<gridpad_update::InstallReport, Error> {
    agent.install(&Source::File(b.to_path_buf()), &InstallOptions::default())
}

fn current_target(agent: &Agent) -> Option<String> {
    std::fs::read_link(agent.cfg.root.join("current"))
        .ok()
        .map(|p| p.display().to_string())
}

#[test]
fn every_single_flipped_byte_is_refused() {
    let f = Fleet::new();
    let b = std::fs::read(f.good("0.2.0")).unwrap();
    let trusted = f.trusted();
    assert!(bundle::verify_stream(&b[..], &trusted, &mut std::io::sink()).is_ok());
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..b.len() {
        for mask in [0x01u8, 0x80] {
            let mut d = b.clone();
            d[i] ^= mask;
            let e = bundle::verify_stream(&d[..], &trusted, &mut std::io::sink())
                .expect_err(&format!("byte {i} ^ {mask:#x} was accepted"));
            let kind = format!("{e:?}");
            *kinds
                .entry(kind.split(['(', ' ', '{']).next().unwrap().to_string())
                .or_default() += 1;
        }
    }
    // Truncation and a trailing byte too.
    assert!(matches!(
        bundle::verify_stream(&b[..b.len() - 1], &trusted, &mut std::io::sink()),
        Err(Error::PayloadMismatch(_))
    ));
    let mut longer = b.clone();
    longer.push(0);
    assert!(matches!(
        bundle::verify_stream(&longer[..], &trusted, &mut std::io::sink()),
        Err(Error::PayloadMismatch(_))
    ));
    eprintln!("{} bytes × 2 flips refused: {kinds:?}", b.len());
    assert!(kinds.contains_key("BadSignature") && kinds.contains_key("PayloadMismatch"));
}

#[test]
fn flipped_payload_byte_message_and_nothing_installed() {
    let f = Fleet::new();
    let path = f.good("0.2.0");
    let mut b = std::fs::read(&path).unwrap();
    let n = b.len();
    b[n - 100] ^= 0x04;
    std::fs::write(&path, &b).unwrap();
    let agent = f.agent();
    let e = install(&agent, &path).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("payload does not match the signed manifest: SHA-256 is"),
        "{msg}"
    );
    assert_eq!(current_target(&agent), None);
    assert_eq!(agent.status().unwrap().version, "0.1.0");
    assert!(!agent.cfg.root.join("incoming/payload.deb").exists());
}

#[test]
fn wrong_key_is_refused() {
    let f = Fleet::new();
    let other = SecretKey::generate().unwrap();
    let b = f.bundle_with("0.2.0", "arm64", "echo 'gridpad 0.2.0'", None, &other);
    let forged_src = std::fs::read(&b).unwrap();
    let e = install(&f.agent(), &b).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "bundle is signed by release key {}, which this device does not trust",
            other.key_id()
        )
    );
    // A manifest re-signed by another key but carrying the trusted key's id fails the
    // signature check instead.
    let good = std::fs::read(f.good("0.2.0")).unwrap();
    let sig_at = |v: &[u8]| {
        let ml = u32::from_be_bytes(v[17..21].try_into().unwrap()) as usize;
        21 + ml
    };
    let (gs, fs_) = (sig_at(&good), sig_at(&forged_src));
    let glen = u32::from_be_bytes(good[gs..gs + 4].try_into().unwrap()) as usize;
    let good_sig: serde_json::Value = serde_json::from_slice(&good[gs + 4..gs + 4 + glen]).unwrap();
    let flen = u32::from_be_bytes(forged_src[fs_..fs_ + 4].try_into().unwrap()) as usize;
    let mut forged_sig: serde_json::Value =
        serde_json::from_slice(&forged_src[fs_ + 4..fs_ + 4 + flen]).unwrap();
    forged_sig["key_id"] = good_sig["key_id"].clone();
    let sig_bytes = serde_json::to_vec(&forged_sig).unwrap();
    let mut forged = forged_src[..fs_].to_vec();
    forged.extend_from_slice(&(sig_bytes.len() as u32).to_be_bytes());
    forged.extend_from_slice(&sig_bytes);
    forged.extend_from_slice(&forged_src[fs_ + 4 + flen..]);
    let p = f.dir.path().join("forged.gpb");
    std::fs::write(&p, forged).unwrap();
    let e = install(&f.agent(), &p).unwrap_err();
    assert!(matches!(e, Error::BadSignature { .. }), "{e}");
    assert!(e.to_string().contains("signature is not valid"), "{e}");
}

#[test]
fn wrong_target_is_refused() {
    let f = Fleet::new();
    let b = f.bundle_with("0.2.0", "armhf", "echo 'gridpad 0.2.0'", None, &f.key);
    let e = install(&f.agent(), &b).unwrap_err();
    assert_eq!(
        e.to_string(),
        "bundle is for target armhf, this device is arm64"
    );
}

#[test]
fn downgrade_is_refused_unless_allowed() {
    let f = Fleet::new();
    let agent = f.agent();
    install(&agent, &f.good("0.3.0")).unwrap();
    let old = f.good("0.2.0");
    let e = install(&agent, &old).unwrap_err();
    assert_eq!(
        e.to_string(),
        "refusing to downgrade from 0.3.0 to 0.2.0 (pass --allow-downgrade to force)"
    );
    assert_eq!(
        install(&agent, &f.good("0.3.0")).unwrap_err().to_string(),
        "version 0.3.0 is already installed"
    );
    let r = agent
        .install(
            &Source::File(old),
            &InstallOptions {
                allow_downgrade: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        (r.installed.as_str(), r.previous.as_str()),
        ("0.2.0", "0.3.0")
    );
}

#[test]
fn minimum_version_is_enforced() {
    let f = Fleet::new();
    let b = f.bundle_with(
        "0.3.0",
        "arm64",
        "echo 'gridpad 0.3.0'",
        Some("0.2.0"),
        &f.key,
    );
    let agent = f.agent();
    assert_eq!(
        install(&agent, &b).unwrap_err().to_string(),
        "bundle needs at least version 0.2.0 installed first, this device has 0.1.0"
    );
    install(&agent, &f.good("0.2.0")).unwrap();
    install(&agent, &b).unwrap();
}

#[test]
fn good_bundle_installs_atomically_and_keeps_the_previous() {
    let f = Fleet::new();
    let agent = f.agent();
    let r = install(&agent, &f.good("0.2.0")).unwrap();
    assert_eq!(
        (r.installed.as_str(), r.previous.as_str()),
        ("0.2.0", "0.1.0")
    );
    assert_eq!(current_target(&agent).as_deref(), Some("releases/0.2.0"));
    let out = std::process::Command::new(agent.cfg.root.join("current/usr/bin/gridpad"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "gridpad 0.2.0");

    install(&agent, &f.good("0.3.0")).unwrap();
    install(&agent, &f.good("0.4.0")).unwrap();
    let s = agent.load_state().unwrap();
    assert_eq!(s.current.as_deref(), Some("0.4.0"));
    assert_eq!(s.previous.as_deref(), Some("0.3.0"));
    assert_eq!(s.pending, None);
    // Only current and previous are kept.
    let mut kept: Vec<String> = std::fs::read_dir(agent.cfg.root.join("releases"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    assert_eq!(kept, ["0.3.0", "0.4.0"]);
    // Manual rollback goes to the kept previous release.
    assert_eq!(agent.rollback().unwrap(), "0.3.0");
    assert_eq!(current_target(&agent).as_deref(), Some("releases/0.3.0"));
}

#[test]
fn failing_new_version_rolls_back() {
    let f = Fleet::new();
    let agent = f.agent();
    install(&agent, &f.good("0.2.0")).unwrap();

    // Crashes at start.
    let bad = f.bundle_with(
        "0.3.0",
        "arm64",
        "echo 'panicked at main.rs' >&2; exit 101",
        None,
        &f.key,
    );
    let e = install(&agent, &bad).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("version 0.3.0 failed its health check"),
        "{msg}"
    );
    assert!(
        msg.contains("panicked at main.rs") && msg.ends_with("rolled back to 0.2.0"),
        "{msg}"
    );
    assert_eq!(current_target(&agent).as_deref(), Some("releases/0.2.0"));
    let s = agent.load_state().unwrap();
    assert_eq!(s.failed, ["0.3.0"]);
    assert_eq!(s.pending, None);
    assert!(s.history.iter().any(|h| h.action == "rolled-back"));
    // Not retried unless forced.
    let e = install(&agent, &bad).unwrap_err();
    assert!(
        e.to_string()
            .contains("failed its health check on this device before"),
        "{e}"
    );

    // Hangs: killed at the timeout, rolled back.
    let hang = f.bundle_with("0.4.0", "arm64", "sleep 30", None, &f.key);
    let t = std::time::Instant::now();
    let e = install(&agent, &hang).unwrap_err();
    assert!(t.elapsed() < std::time::Duration::from_secs(20));
    assert!(e.to_string().contains("did not finish within 2 s"), "{e}");
    // Reports the wrong version (a mislabelled build).
    let liar = f.bundle_with("0.5.0", "arm64", "echo 'gridpad 0.2.0'", None, &f.key);
    let e = install(&agent, &liar).unwrap_err();
    assert!(e.to_string().contains("expected version 0.5.0"), "{e}");
    assert_eq!(current_target(&agent).as_deref(), Some("releases/0.2.0"));

    // First bundle ever failing: back to the packaged program (no `current`).
    let g = Fleet::new();
    let agent = g.agent();
    let bad = g.bundle_with("0.2.0", "arm64", "exit 1", None, &g.key);
    let e = install(&agent, &bad).unwrap_err();
    assert!(e.to_string().ends_with("rolled back to 0.1.0"), "{e}");
    assert_eq!(current_target(&agent), None);
}

#[test]
fn restart_and_health_command_failure_rolls_back() {
    let f = Fleet::new();
    let mut agent = f.agent();
    let log = f.dir.path().join("restarts.log");
    script(
        &f.dir.path().join("restart"),
        &format!(
            "readlink {}/current >> {}",
            agent.cfg.root.display(),
            log.display()
        ),
    );
    agent.cfg.restart_command = vec![f.dir.path().join("restart").display().to_string()];
    // The "service" is healthy only for versions other than 0.3.0.
    agent.cfg.health_command = vec!["sh".into(), "-c".into(), "test {version} != 0.3.0".into()];
    install(&agent, &f.good("0.2.0")).unwrap();
    let e = install(&agent, &f.good("0.3.0")).unwrap_err();
    assert!(
        e.to_string().contains("health command exit status: 1"),
        "{e}"
    );
    // Restarted into the new release, then back into the old one.
    let restarts = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        restarts.lines().collect::<Vec<_>>(),
        ["releases/0.2.0", "releases/0.3.0", "releases/0.2.0"]
    );
    // At boot (ExecStartPre of the app's own unit) the agent neither restarts the unit nor
    // asks whether it is active: only the program itself is checked.
    agent.cfg.health_command = vec!["false".into()];
    let mut s = agent.load_state().unwrap();
    s.pending = Some(gridpad_update::agent::Pending {
        version: "0.2.0".into(),
        attempts: 0,
        since: "2026-01-01T00:00:00Z".into(),
    });
    std::fs::write(
        agent.cfg.root.join("state.json"),
        serde_json::to_vec(&s).unwrap(),
    )
    .unwrap();
    assert_eq!(
        agent.boot_check().unwrap(),
        BootDecision::Confirmed("0.2.0".into())
    );
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 3);
}

#[test]
fn boot_check_confirms_or_rolls_back_an_interrupted_install() {
    let f = Fleet::new();
    let agent = f.agent();
    install(&agent, &f.good("0.2.0")).unwrap();
    install(&agent, &f.good("0.3.0")).unwrap();
    assert_eq!(agent.boot_check().unwrap(), BootDecision::Nothing);

    // As if the power went off between the switch and the confirmation.
    let set_pending = |v: &str| {
        let mut s = agent.load_state().unwrap();
        s.pending = Some(gridpad_update::agent::Pending {
            version: v.into(),
            attempts: 0,
            since: "2026-01-01T00:00:00Z".into(),
        });
        std::fs::write(
            agent.cfg.root.join("state.json"),
            serde_json::to_vec(&s).unwrap(),
        )
        .unwrap();
    };
    set_pending("0.3.0");
    std::fs::create_dir_all(agent.cfg.root.join("releases/.0.4.0.partial")).unwrap();
    assert_eq!(
        agent.boot_check().unwrap(),
        BootDecision::Confirmed("0.3.0".into())
    );
    assert!(!agent.cfg.root.join("releases/.0.4.0.partial").exists());

    // A pending release that does not get healthy is given max_boot_attempts starts.
    set_pending("0.3.0");
    script(
        &agent.cfg.root.join("releases/0.3.0/usr/bin/gridpad"),
        "exit 3",
    );
    for attempt in 1..agent.cfg.max_boot_attempts {
        assert_eq!(
            agent.boot_check().unwrap(),
            BootDecision::Waiting {
                version: "0.3.0".into(),
                attempts: attempt
            }
        );
    }
    match agent.boot_check().unwrap() {
        BootDecision::RolledBack { from, to, .. } => {
            assert_eq!((from.as_str(), to.as_str()), ("0.3.0", "0.2.0"))
        }
        d => panic!("{d:?}"),
    }
    assert_eq!(current_target(&agent).as_deref(), Some("releases/0.2.0"));
    assert_eq!(agent.mark_good().unwrap(), None);
}

#[test]
fn a_second_agent_waits_its_turn() {
    let f = Fleet::new();
    let agent = f.agent();
    std::fs::create_dir_all(&agent.cfg.root).unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(agent.cfg.root.join("lock"))
        .unwrap();
    lock.lock().unwrap();
    let e = install(&agent, &f.good("0.2.0")).unwrap_err();
    assert!(matches!(e, Error::Busy(_)), "{e}");
}

/// Serves `body` over HTTP on loopback; the first response is cut off after `cut` bytes.
fn flaky_server(body: Vec<u8>, cut: usize) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/bundles/gridpad.gpb", l.local_addr().unwrap());
    let h = std::thread::spawn(move || {
        let mut ranges = Vec::new();
        for n in 0..2 {
            let (s, _) = l.accept().unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut range = String::new();
            loop {
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    range = v.trim().trim_end_matches('-').to_string();
                }
            }
            let mut s = s;
            if n == 0 {
                write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )
                .unwrap();
                s.write_all(&body[..cut]).unwrap();
            } else {
                let from: usize = range.parse().unwrap();
                write!(
                    s,
                    "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {from}-{}/{}\r\nTransfer-Encoding: chunked\r\n\r\n",
                    body.len() - 1,
                    body.len()
                )
                .unwrap();
                for c in body[from..].chunks(300) {
                    write!(s, "{:x}\r\n", c.len()).unwrap();
                    s.write_all(c).unwrap();
                    s.write_all(b"\r\n").unwrap();
                }
                s.write_all(b"0\r\n\r\n").unwrap();
            }
            ranges.push(range);
        }
        ranges
    });
    (url, h)
}

#[test]
fn download_resumes_after_a_dropped_connection_then_installs() {
    let f = Fleet::new();
    let path = f.good("0.2.0");
    let body = std::fs::read(&path).unwrap();
    let cut = body.len() / 2;
    let (url, server) = flaky_server(body.clone(), cut);
    let agent = f.agent();
    let r = agent
        .install(
            &Source::parse(&url),
            &InstallOptions {
                attempts: 2,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(r.installed, "0.2.0");
    let ranges = server.join().unwrap();
    assert_eq!(ranges, ["".to_string(), cut.to_string()]);
    // The download is not kept after installing.
    assert_eq!(
        std::fs::read_dir(agent.cfg.root.join("incoming"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn download_of_missing_bundle_reports_status() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/nope.gpb", l.local_addr().unwrap());
    let h = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf).unwrap();
        s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let e = fetch::fetch(&Source::parse(&url), dir.path(), 1).unwrap_err();
    h.join().unwrap();
    assert!(e.to_string().ends_with("HTTP 404 Not Found"), "{e}");
}

#[test]
fn inbox_installs_dropped_bundles_through_the_binary() {
    let f = Fleet::new();
    let root = f.dir.path().join("root");
    let inbox = root.join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::copy(f.good("0.2.0"), inbox.join("from-usb.gpb")).unwrap();
    std::fs::write(inbox.join("notes.txt"), "not a bundle").unwrap();
    std::fs::write(inbox.join(".half-copied.gpb"), "ignored").unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_gridpad-update"))
            .arg("--config")
            .arg(f.dir.path().join("no-such.toml"))
            .arg("--root")
            .arg(&root)
            .arg("--keys")
            .arg(f.dir.path().join("keys"))
            .args(["--target", "arm64", "--base-binary"])
            .arg(f.dir.path().join("base/gridpad"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["install-inbox"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("from-usb.gpb: installed 0.2.0 (was 0.1.0)"),
        "{stdout}"
    );
    assert!(stdout.contains("notes.txt: not a bundle"), "{stdout}");
    assert!(stderr.contains("1 of 2 inbox item(s) failed"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(&inbox)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, [".half-copied.gpb"]);
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("last-result.json")).unwrap()).unwrap();
    assert_eq!(results.as_array().unwrap().len(), 2);
    let status = run(&["status", "--json"]);
    let s: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(s["version"], "0.2.0");
    assert_eq!(s["target"], "arm64");
}

//! A throw-away PostgreSQL cluster for tests: Debian's server binaries, started once per test
//! process on a private Unix socket (no TCP port, nothing shared with another run), gone
//! when the process ends. Each test takes a database of its own with [`fresh_database`].
//!
//! `GRIDPAD_TEST_PG` (e.g. `host=/run/postgresql user=postgres`) points the tests at a
//! cluster that is already running instead; the databases they create are left there.
//!
//! As root (CI), the server runs as the `postgres` user that Debian's package creates:
//! PostgreSQL refuses to run as root.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Where the cluster listens and how to reach it as its superuser.
pub struct Cluster {
    /// libpq connection parameters without a database (`host=… port=… user=postgres`).
    pub params: String,
    bin: Option<PathBuf>,
    host: String,
    port: String,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(1);

/// The test process's cluster, started on first use. Panics with what to install when
/// PostgreSQL is missing (tests/setup.sh installs it).
pub fn cluster() -> &'static Cluster {
    match CLUSTER.get_or_init(start) {
        Ok(c) => c,
        Err(e) => panic!("no PostgreSQL for the tests: {e}"),
    }
}

/// A new, empty database on the test cluster; its connection string.
pub fn fresh_database() -> String {
    let c = cluster();
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::SeqCst)
    );
    let createdb = match &c.bin {
        Some(bin) => bin.join("createdb"),
        None => PathBuf::from("createdb"),
    };
    let out = Command::new(&createdb)
        .args(["-h", &c.host, "-p", &c.port, "-U", "postgres", &name])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", createdb.display()));
    assert!(
        out.status.success(),
        "createdb {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!("{} dbname={name}", c.params)
}

fn start() -> Result<Cluster, String> {
    if let Ok(params) = std::env::var("GRIDPAD_TEST_PG") {
        let get = |k: &str| {
            params
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{k}=")).map(str::to_string))
        };
        return Ok(Cluster {
            host: get("host").unwrap_or_else(|| "localhost".into()),
            port: get("port").unwrap_or_else(|| "5432".into()),
            bin: None,
            params,
        });
    }
    let bin = server_bin_dir()?;
    let root = std::env::temp_dir().join(format!("gridpad-pg-{}", std::process::id()));
    remove_stale_clusters(root.parent().unwrap_or(Path::new("/tmp")));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    let as_root = unsafe { libc::geteuid() } == 0;
    if as_root {
        let (uid, gid) = postgres_user()?;
        let c = std::ffi::CString::new(root.as_os_str().as_encoded_bytes()).unwrap();
        if unsafe { libc::chown(c.as_ptr(), uid, gid) } != 0 {
            return Err(format!(
                "chown {}: {}",
                root.display(),
                std::io::Error::last_os_error()
            ));
        }
    }
    let data = root.join("data");
    let run = |program: &Path| -> Command {
        if as_root {
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=postgres",
                "--regid=postgres",
                "--clear-groups",
                "--pdeathsig=QUIT",
                "--",
            ])
            .arg(program);
            c
        } else {
            Command::new(program)
        }
    };
    let out = run(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "-N",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let port = "5432".to_string();
    let host = root.to_string_lossy().into_owned();
    let mut server = run(&bin.join("postgres"));
    server
        .arg("-D")
        .arg(&data)
        .args(["-k", &host, "-p", &port])
        .args(["-c", "listen_addresses="])
        // A test cluster: losing it in a power cut loses nothing of value.
        .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
        .args(["-c", "full_page_writes=off", "-c", "max_connections=400"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(
            std::fs::File::create(root.join("server.log"))
                .map(Stdio::from)
                .unwrap_or_else(|_| Stdio::null()),
        );
    if !as_root {
        use std::os::unix::process::CommandExt;
        // The server ends with the test process, whatever way that ends.
        unsafe {
            server.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT);
                Ok(())
            });
        }
    }
    // The death signal follows the thread that started the server: a thread that lives as
    // long as the process does.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("postgres".into())
        .spawn(move || match server.spawn() {
            Ok(mut child) => {
                let _ = tx.send(Ok(()));
                let _ = child.wait();
                loop {
                    std::thread::park();
                }
            }
            Err(e) => {
                let _ = tx.send(Err(format!("postgres: {e}")));
            }
        })
        .map_err(|e| e.to_string())?;
    rx.recv().map_err(|e| e.to_string())??;
    let ready = bin.join("pg_isready");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ok = Command::new(&ready)
            .args(["-q", "-h", &host, "-p", &port, "-U", "postgres"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            break;
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(root.join("server.log")).unwrap_or_default();
            return Err(format!(
                "the test cluster did not start within 60 s:\n{log}"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(Cluster {
        params: format!("host={host} port={port} user=postgres"),
        bin: Some(bin),
        host,
        port,
    })
}

/// Debian's server binaries (`/usr/lib/postgresql/<version>/bin`), the newest version.
fn server_bin_dir() -> Result<PathBuf, String> {
    if let Ok(d) = std::env::var("PG_BINDIR") {
        return Ok(PathBuf::from(d));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| "PostgreSQL's server is not installed (apt-get install postgresql; tests/setup.sh does it)".to_string())?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, b)| b)
        .ok_or_else(|| "no PostgreSQL server binaries under /usr/lib/postgresql".to_string())
}

fn postgres_user() -> Result<(libc::uid_t, libc::gid_t), String> {
    let name = std::ffi::CString::new("postgres").unwrap();
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err("no `postgres` user (Debian's postgresql package creates it)".into());
    }
    Ok(unsafe { ((*pw).pw_uid, (*pw).pw_gid) })
}

/// Clusters left by test processes that are gone (their server died with them).
fn remove_stale_clusters(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("gridpad-pg-"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

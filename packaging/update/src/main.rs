//! `gridpad-update`: the device's update agent (see `packaging/README.md`).

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use gridpad_update::agent::{Agent, AgentConfig, BootDecision, InstallOptions};
use gridpad_update::fetch::{self, Bearer, DeviceAuth, Source};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "gridpad-update",
    version,
    about = "Gridpad's update agent: verifies signed bundles, installs them atomically, rolls back a release that fails its health check"
)]
struct Cli {
    /// Configuration file; its [update] table is read (missing file: defaults).
    #[arg(
        long,
        env = "GRIDPAD_CONFIG",
        default_value = "/etc/gridpad/gridpad.toml"
    )]
    config: PathBuf,
    /// Overrides [update].root.
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    /// Overrides [update].keys (a .pub file or a directory of them).
    #[arg(long, global = true)]
    keys: Option<PathBuf>,
    /// Overrides [update].target (Debian architecture).
    #[arg(long, global = true)]
    target: Option<String>,
    /// Overrides [update].base_binary.
    #[arg(long, global = true)]
    base_binary: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Verify and install a bundle from a file (USB stick) or an http(s) URL.
    Install {
        source: String,
        /// Accept a bundle older than the installed version.
        #[arg(long)]
        allow_downgrade: bool,
        /// Reinstall the installed version, or retry one that failed before.
        #[arg(long)]
        force: bool,
        /// Download attempts (each resumes the previous one).
        #[arg(long, default_value_t = 3)]
        attempts: u32,
        /// File holding a gridhub device token (for a URL on the hub).
        #[arg(long)]
        bearer_file: Option<PathBuf>,
        /// PEM of the CA that signed the hub's certificate (default: [update].hub_ca, else
        /// the system's roots).
        #[arg(long, requires = "bearer_file")]
        hub_ca: Option<PathBuf>,
    },
    /// Verify a bundle against this device's keys, target and version, without installing.
    Check {
        source: String,
        #[arg(long)]
        allow_downgrade: bool,
        /// File holding a gridhub device token (for a URL on the hub).
        #[arg(long)]
        bearer_file: Option<PathBuf>,
        /// PEM of the CA that signed the hub's certificate.
        #[arg(long, requires = "bearer_file")]
        hub_ca: Option<PathBuf>,
    },
    /// Ask gridhub for the newest bundle of this device's target and install it if it is
    /// newer than the installed version.
    UpdateFromHub {
        /// gridhub's base URL: https:// (plain http:// only for a hub on this machine).
        #[arg(long)]
        hub: String,
        /// File holding the device's gridhub token (first line).
        #[arg(long)]
        bearer_file: PathBuf,
        /// PEM of the CA that signed the hub's certificate, as pinned by the device
        /// (default: [update].hub_ca, else the system's roots).
        #[arg(long)]
        hub_ca: Option<PathBuf>,
        #[arg(long, default_value_t = 3)]
        attempts: u32,
    },
    /// Installed version, kept previous version, pending confirmation, history.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Switch back to the kept previous release (or the packaged one).
    Rollback,
    /// Confirm the pending release (the app calls this once it runs properly).
    MarkGood,
    /// Before the app starts: confirm or roll back a release left pending.
    BootCheck,
    /// Install what was dropped into <root>/inbox: bundles (*.gpb: from a USB stick, or
    /// fetched from gridhub by the app during its sync) and URLs (*.url, one line). Each
    /// file is removed once tried; the outcome goes to <root>/last-result.json.
    InstallInbox,
}

fn config(cli: &Cli) -> Result<AgentConfig> {
    let mut cfg = if cli.config.exists() {
        gridpad_config::DeviceConfig::load(&cli.config)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .update
    } else {
        AgentConfig::default()
    };
    if let Some(r) = &cli.root {
        cfg.root = r.clone();
    }
    if let Some(k) = &cli.keys {
        cfg.keys = k.clone();
    }
    if let Some(t) = &cli.target {
        cfg.target = t.clone();
    }
    if let Some(b) = &cli.base_binary {
        cfg.base_binary = b.clone();
    }
    Ok(cfg)
}

fn run(cli: Cli) -> Result<()> {
    let agent = Agent::new(config(&cli)?);
    match cli.command {
        Cmd::Install {
            source,
            allow_downgrade,
            force,
            attempts,
            bearer_file,
            hub_ca,
        } => {
            let opts = InstallOptions {
                allow_downgrade,
                force,
                attempts,
                auth: device_auth(&agent, bearer_file.as_deref(), hub_ca.as_deref())?,
            };
            let r = agent.install(&Source::parse(&source), &opts)?;
            println!(
                "installed gridpad {} (was {}), signed by release key {}",
                r.installed, r.previous, r.key_id
            );
        }
        Cmd::Check {
            source,
            allow_downgrade,
            bearer_file,
            hub_ca,
        } => {
            let dir = agent.cfg.root.join("incoming");
            let auth = device_auth(&agent, bearer_file.as_deref(), hub_ca.as_deref())?;
            let path = fetch::fetch_with(&Source::parse(&source), &dir, 3, auth.as_ref())?;
            let opts = InstallOptions {
                allow_downgrade,
                ..Default::default()
            };
            let vb = agent.check(&path, &opts, None)?;
            println!(
                "ok: {} {} for {}, signed by {}",
                vb.manifest.package, vb.manifest.version, vb.manifest.target, vb.key_id
            );
        }
        Cmd::Status { json } => {
            let s = agent.status()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                println!("version:  {}", s.version);
                println!("runs:     {}", s.running_from);
                println!("target:   {}", s.target);
                println!(
                    "previous: {}",
                    s.previous.as_deref().unwrap_or("(the packaged version)")
                );
                if let Some(p) = &s.pending {
                    println!(
                        "pending:  {} (not yet confirmed, {} starts)",
                        p.version, p.attempts
                    );
                }
                if !s.failed.is_empty() {
                    println!("failed:   {}", s.failed.join(", "));
                }
                for h in s.history.iter().rev().take(10) {
                    println!(
                        "  {}  {:<12} {:<10} {}",
                        h.time, h.action, h.version, h.detail
                    );
                }
            }
        }
        Cmd::UpdateFromHub {
            hub,
            bearer_file,
            hub_ca,
            attempts,
        } => {
            let ca = hub_ca.as_deref().or(agent.cfg.hub_ca.as_deref());
            let auth = DeviceAuth::from_files(&bearer_file, ca)?;
            let target = agent.cfg.device_target();
            let base = hub.trim_end_matches('/');
            let client = auth.client(base)?;
            let offer = gridpad_sync::updates::offer(&client, &target)
                .with_context(|| format!("asking the hub for an update ({base})"))?
                .ok_or_else(|| anyhow::anyhow!("the hub offers no update for {target}"))?;
            let installed = agent.status()?.version;
            let newer = gridpad_update::version::compare(&offer.version, &installed)
                .map(|o| o == std::cmp::Ordering::Greater)?;
            if !newer {
                println!(
                    "up to date: {installed} installed, the hub offers {}",
                    offer.version
                );
                return Ok(());
            }
            let opts = InstallOptions {
                attempts,
                auth: Some(auth),
                ..Default::default()
            };
            let r = agent.install(&Source::Url(format!("{base}{}", offer.path)), &opts)?;
            println!(
                "installed gridpad {} from the hub (was {}), signed by release key {}",
                r.installed, r.previous, r.key_id
            );
        }
        Cmd::Rollback => {
            let v = agent.rollback()?;
            println!("rolled back to {v}");
        }
        Cmd::MarkGood => match agent.mark_good()? {
            Some(v) => println!("confirmed {v}"),
            None => println!("nothing pending"),
        },
        Cmd::InstallInbox => install_inbox(&agent)?,
        Cmd::BootCheck => match agent.boot_check().context("boot check")? {
            BootDecision::Nothing => {}
            BootDecision::Confirmed(v) => println!("confirmed {v}"),
            BootDecision::Waiting { version, attempts } => {
                println!("{version} not healthy yet (start {attempts})")
            }
            BootDecision::RolledBack { from, to, reason } => {
                println!("rolled back from {from} to {to}: {reason}")
            }
        },
    }
    Ok(())
}

/// The device's credentials from a token file and a CA file (or `[update].hub_ca`).
fn device_auth(
    agent: &Agent,
    token: Option<&std::path::Path>,
    hub_ca: Option<&std::path::Path>,
) -> Result<Option<DeviceAuth>> {
    let Some(token) = token else {
        return Ok(None);
    };
    let ca = hub_ca.or(agent.cfg.hub_ca.as_deref());
    Ok(Some(DeviceAuth::from_files(token, ca)?))
}

#[derive(serde::Serialize)]
struct InboxResult {
    file: String,
    ok: bool,
    message: String,
    time: String,
}

/// Waits until a file stops growing (a bundle still being copied from a USB stick).
fn settled(p: &std::path::Path) -> bool {
    let sig = |p: &std::path::Path| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.len(), m.modified().ok()))
    };
    for _ in 0..30 {
        let a = sig(p);
        std::thread::sleep(std::time::Duration::from_secs(2));
        if a.is_some() && a == sig(p) {
            return true;
        }
    }
    false
}

fn install_inbox(agent: &Agent) -> Result<()> {
    let inbox = agent.cfg.root.join("inbox");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&inbox) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && !p
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .starts_with('.')
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort_by_key(|p| {
        (
            std::fs::metadata(p).and_then(|m| m.modified()).ok(),
            p.clone(),
        )
    });
    let mut results = Vec::new();
    let mut failed = 0;
    for f in files {
        let name = f
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let mut auth = None;
        let source = match f.extension().and_then(|x| x.to_str()) {
            Some("gpb") if settled(&f) => Some(Source::File(f.clone())),
            Some("url") => std::fs::read_to_string(&f).ok().and_then(|t| {
                // Line 1: the URL; optional line 2: `Authorization: Bearer <token>` (a
                // URL on gridhub, written by the app that holds the device's token).
                auth = t
                    .lines()
                    .nth(1)
                    .and_then(|l| l.trim().strip_prefix("Authorization: Bearer "))
                    .map(|b| DeviceAuth {
                        token: Bearer(b.trim().to_string()),
                        hub_ca: agent
                            .cfg
                            .hub_ca
                            .as_deref()
                            .and_then(|p| std::fs::read(p).ok()),
                    });
                t.lines().next().map(|l| Source::parse(l.trim()))
            }),
            _ => None,
        };
        let (ok, message) = match source {
            None => (
                false,
                "not a bundle (*.gpb) or a URL file (*.url)".to_string(),
            ),
            Some(src) => match agent.install(
                &src,
                &InstallOptions {
                    attempts: 3,
                    auth,
                    ..Default::default()
                },
            ) {
                Ok(r) => (
                    true,
                    format!("installed {} (was {})", r.installed, r.previous),
                ),
                Err(e) => (false, e.to_string()),
            },
        };
        println!("{name}: {message}");
        if !ok {
            failed += 1;
        }
        let _ = std::fs::remove_file(&f);
        results.push(InboxResult {
            file: name,
            ok,
            message,
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
    }
    if !results.is_empty() {
        gridpad_update::write_atomic(
            &agent.cfg.root.join("last-result.json"),
            &serde_json::to_vec_pretty(&results)?,
            0o644,
        )?;
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} inbox item(s) failed", results.len());
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gridpad-update: {e:#}");
            ExitCode::FAILURE
        }
    }
}

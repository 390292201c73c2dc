//! `gridhub`: serve devices, and administer the hub from the command line.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use gridhub::sqlite::SqliteStore;
use gridhub::Hub;
use gridpad_demo::DemoSpec;
use gridpad_domain::codes::EventStatus;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "gridhub",
    version,
    about = "gridhub — the command centre's sync service for Gridpad devices"
)]
struct Cli {
    /// Where the hub keeps its database.
    #[arg(
        long,
        global = true,
        env = "GRIDHUB_DATA_DIR",
        default_value = "/var/lib/gridpad/hub"
    )]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve devices and the admin API over HTTP.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8470")]
        listen: SocketAddr,
        /// Allow plain HTTP on a non-loopback address (only behind a TLS-terminating proxy).
        #[arg(long)]
        behind_tls_proxy: bool,
        /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
        #[arg(long, requires = "tls_key", env = "GRIDHUB_TLS_CERT")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert.
        #[arg(long, requires = "tls_cert", env = "GRIDHUB_TLS_KEY")]
        tls_key: Option<PathBuf>,
    },
    /// Administer the hub (works on the database directly, also while it serves).
    Admin {
        #[command(subcommand)]
        command: Admin,
    },
}

#[derive(Subcommand)]
enum Admin {
    /// Generate and import a demo town (grids, base data, catalog).
    SeedDemo {
        #[arg(long, default_value_t = 1_500)]
        persons: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        json: bool,
    },
    /// Import base data: JSON lines of {entity, row_id, op, fields, hlc}.
    Import { file: PathBuf },
    /// Issue a one-time enrollment code for a device.
    IssueCode {
        #[arg(long)]
        user: String,
        /// Grid id or code (repeatable).
        #[arg(long = "grid", required = true)]
        grids: Vec<String>,
        #[arg(long, default_value = "")]
        label: String,
        #[arg(long, default_value_t = 7)]
        days: u64,
        #[arg(long)]
        json: bool,
    },
    /// Create a bearer token for the HTTP admin API.
    ApiToken {
        #[arg(long, default_value_t = 30)]
        days: u64,
    },
    /// Events reported by devices.
    Events {
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Move an event along its lifecycle (accepted, rejected, escalated, verified, closed …).
    Transition {
        event: String,
        #[arg(long)]
        status: String,
        #[arg(long, default_value = "综治中心")]
        actor: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Dispatch an accepted event to its grid as a task.
    Dispatch {
        event: String,
        #[arg(long, default_value = "综治中心")]
        actor: String,
        #[arg(long, default_value_t = 24)]
        hours: u64,
        #[arg(long)]
        json: bool,
    },
    /// Create a task for a grid (or a person in it).
    Task {
        #[arg(long)]
        grid: String,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        body: String,
        #[arg(long, default_value_t = 24)]
        hours: u64,
        #[arg(long)]
        assignee: Option<String>,
    },
    /// Tasks and their state.
    Tasks {
        #[arg(long)]
        json: bool,
    },
    /// Publish a notice to all devices.
    Notice {
        #[arg(long)]
        title: String,
        #[arg(long)]
        body: String,
    },
    /// Device health: last seen, app version, queue, oldest pending, dead letters, clock offset.
    Devices {
        #[arg(long)]
        json: bool,
    },
    /// Publish a signed update bundle (.gpb from `gridctl bundle create`) to the fleet:
    /// devices of its target fetch the newest one. The hub checks its shape, devices its
    /// signature.
    PublishBundle {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Published update bundles, newest first per target.
    Bundles {
        #[arg(long)]
        json: bool,
    },
    /// Lock or wipe a lost device (it obeys on its next contact), or reactivate it.
    DeviceStatus {
        device: String,
        #[arg(long, value_parser = ["active", "locked", "wiped"])]
        status: String,
    },
}

fn open_hub(dir: &std::path::Path) -> Result<Arc<Hub>> {
    let store = SqliteStore::open(dir)
        .with_context(|| format!("opening the hub database in {}", dir.display()))?;
    let hub = Hub::with_system_clock(Arc::new(store));
    hub.attach_blobs(
        gridhub::evidence::open_blobs(dir)
            .with_context(|| format!("opening the photo store in {}", dir.display()))?,
    );
    Ok(Arc::new(hub))
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("gridhub: {e:#}");
        std::process::exit(1);
    }
}

fn print_json(v: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    let hub = open_hub(&cli.data_dir)?;
    match cli.command {
        Command::Serve {
            listen,
            behind_tls_proxy,
            tls_cert,
            tls_key,
        } => {
            let tls = match (&tls_cert, &tls_key) {
                (Some(cert), Some(key)) => Some(gridhub::tls::server_config(cert, key)?),
                _ => None,
            };
            if tls.is_none() && !listen.ip().is_loopback() && !behind_tls_proxy {
                bail!("refusing plain HTTP on {listen}: give --tls-cert and --tls-key, or serve on loopback behind a TLS proxy and pass --behind-tls-proxy");
            }
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("binding {listen}"))?;
                let shutdown = async {
                    let _ = tokio::signal::ctrl_c().await;
                };
                let bundles = gridhub::bundles::Bundles::new(&cli.data_dir);
                let app = gridhub::http::router(hub.clone())
                    .merge(gridhub::bundles::router(hub, bundles));
                eprintln!(
                    "gridhub: serving {} on {}://{}",
                    cli.data_dir.display(),
                    if tls.is_some() { "https" } else { "http" },
                    listener.local_addr()?
                );
                systemd_ready();
                match tls {
                    Some(config) => gridhub::tls::serve(listener, config, app, shutdown).await?,
                    None => {
                        axum::serve(listener, app)
                            .with_graceful_shutdown(shutdown)
                            .await?
                    }
                }
                Ok::<_, anyhow::Error>(())
            })?;
        }
        Command::Admin { command } => admin(&hub, &cli.data_dir, command)?,
    }
    Ok(())
}

/// Tell systemd (`Type=notify`, `WatchdogSec=`) that the hub listens, then keep its watchdog
/// fed from the async runtime: a runtime that stops making progress stops the pings and
/// systemd restarts the service. Without `NOTIFY_SOCKET` (not under systemd) nothing is sent.
fn systemd_ready() {
    if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Ready]) {
        eprintln!("gridhub: could not notify systemd: {e}");
    }
    if let Some(period) = sd_notify::watchdog_enabled() {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period / 2);
            loop {
                tick.tick().await;
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
            }
        });
    }
}

fn admin(hub: &Hub, data_dir: &std::path::Path, command: Admin) -> Result<()> {
    match command {
        Admin::PublishBundle { file, json } => {
            let p = gridhub::bundles::Bundles::new(data_dir).publish_file(&file)?;
            if json {
                return print_json(&p);
            }
            println!(
                "published {} {} for {} ({} bytes, payload SHA-256 {}) at {}",
                p.package, p.version, p.target, p.bundle_size, p.sha256, p.path
            );
        }
        Admin::Bundles { json } => {
            let list = gridhub::bundles::Bundles::new(data_dir).list()?;
            if json {
                return print_json(&list);
            }
            for p in list {
                println!(
                    "{}\t{}\t{}\t{} bytes\t{}",
                    p.target, p.package, p.version, p.bundle_size, p.path
                );
            }
        }
        Admin::SeedDemo {
            persons,
            seed,
            json,
        } => {
            let s = hub.seed_demo(DemoSpec { persons, seed })?;
            if json {
                return print_json(&s);
            }
            println!(
                "seeded {} residents, {} houses, {} grids; home grid {} ({})",
                s.persons, s.houses, s.grids, s.home_grid_code, s.home_grid_id
            );
        }
        Admin::Import { file } => {
            let f = std::fs::File::open(&file)
                .with_context(|| format!("opening {}", file.display()))?;
            let mut batch = vec![];
            let mut n = 0;
            for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                batch.push(serde_json::from_str(&line).with_context(|| format!("line {}", i + 1))?);
                if batch.len() == 5_000 {
                    hub.import(&batch)?;
                    n += batch.len();
                    batch.clear();
                }
            }
            n += batch.len();
            hub.import(&batch)?;
            println!("imported {n} records");
        }
        Admin::IssueCode {
            user,
            grids,
            label,
            days,
            json,
        } => {
            let code = hub.issue_code(&user, &label, &grids, days)?;
            if json {
                return print_json(&serde_json::json!({"code": code}));
            }
            println!("{code}");
        }
        Admin::ApiToken { days } => println!("{}", hub.issue_admin_token(days)?),
        Admin::Events { limit, json } => {
            if json {
                // With each report's evidence: photos received, complete, seal verdict.
                return print_json(&hub.events_with_evidence(limit)?);
            }
            let rows = hub.events(limit)?;
            for r in rows {
                let f = |k: &str| {
                    r.fields
                        .get(k)
                        .and_then(|v| v.as_str())
                        .unwrap_or("-")
                        .to_string()
                };
                let ev = hub.event_evidence(&r)?;
                let seal = match ev["seal_flags"].as_array() {
                    Some(fl) if !fl.is_empty() => format!("seal: {}", serde_json::json!(fl)),
                    _ => "sealed".to_string(),
                };
                println!(
                    "{}\t{}\t{}\t{}\tphotos {}/{}{}\t{seal}",
                    r.row_id,
                    f("status"),
                    f("category_code"),
                    f("description"),
                    ev["photos_received"],
                    ev["photos_expected"],
                    if ev["complete"] == true {
                        ""
                    } else {
                        " (incomplete)"
                    },
                );
            }
        }
        Admin::Transition {
            event,
            status,
            actor,
            note,
        } => {
            let s =
                EventStatus::parse(&status).with_context(|| format!("unknown status {status}"))?;
            hub.transition_event(&event, s, &actor, &note)?;
            println!("event {event}: {status}");
        }
        Admin::Dispatch {
            event,
            actor,
            hours,
            json,
        } => {
            let task = hub.dispatch_event(&event, &actor, hours)?;
            if json {
                return print_json(&serde_json::json!({"task_id": task}));
            }
            println!("event {event} dispatched as task {task}");
        }
        Admin::Task {
            grid,
            title,
            body,
            hours,
            assignee,
        } => {
            println!(
                "{}",
                hub.create_task(&grid, &title, &body, hours, None, assignee.as_deref())?
            );
        }
        Admin::Tasks { json } => {
            let rows = hub.tasks(1_000)?;
            if json {
                let out: Vec<_> = rows
                    .iter()
                    .map(|r| serde_json::json!({"id": r.row_id, "fields": r.fields}))
                    .collect();
                return print_json(&out);
            }
            for r in rows {
                let f = |k: &str| {
                    r.fields
                        .get(k)
                        .and_then(|v| v.as_str())
                        .unwrap_or("-")
                        .to_string()
                };
                println!("{}\t{}\t{}", r.row_id, f("status"), f("title"));
            }
        }
        Admin::Notice { title, body } => println!("{}", hub.create_notice(&title, &body)?),
        Admin::Devices { json } => {
            let list = hub.device_health()?;
            if json {
                return print_json(&list);
            }
            for d in list {
                println!(
                    "{}\t{}\t{}\tlast seen {}\tqueue {}\toldest {} s\tdead {}\tclock {:+} ms\t{}",
                    d.device_id,
                    d.label,
                    d.status,
                    d.last_seen_ms,
                    d.queue_len,
                    d.oldest_pending_s,
                    d.dead_letters,
                    d.clock_offset_ms,
                    d.app_version
                );
            }
        }
        Admin::DeviceStatus { device, status } => {
            hub.set_device_status(&device, &status)?;
            println!("device {device}: {status}");
        }
    }
    Ok(())
}

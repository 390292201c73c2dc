//! The command line: `gridhub serve` and `gridhub admin …`, one file per command.

mod account;
mod api_token;
mod audit;
mod bundles;
mod calendar;
mod department;
mod device_status;
mod devices;
mod dispatch;
mod events;
mod import;
mod issue_code;
mod notice;
mod org;
mod publish_bundle;
mod routing;
mod seed_demo;
mod serve;
mod supervise;
mod sweep_photos;
mod task;
mod tasks;
mod transition;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use gridhub::Hub;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "gridhub",
    version,
    about = "gridhub — the command centre's sync service for Gridpad devices"
)]
pub struct Cli {
    /// Where the hub keeps its database.
    #[arg(
        long,
        global = true,
        env = "GRIDHUB_DATA_DIR",
        default_value = "/var/lib/gridpad/hub"
    )]
    data_dir: PathBuf,
    /// The database: `sqlite` (the default: `gridhub.db` in the data directory) or a
    /// PostgreSQL connection string (`postgres://user@host/db`) that several gridhub
    /// instances share. Photos and update bundles stay in the data directory.
    #[arg(long, global = true, env = "GRIDHUB_DATABASE")]
    database: Option<String>,
    /// This instance's name when several gridhub processes share one PostgreSQL database
    /// (1–16 lower-case letters or digits): its central edits are stamped `hub-NAME`.
    #[arg(long, global = true, env = "GRIDHUB_INSTANCE")]
    instance: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve devices and the admin API over HTTP.
    Serve(serve::Args),
    /// Administer the hub (works on the database directly, also while it serves).
    Admin {
        #[command(subcommand)]
        command: Admin,
    },
}

#[derive(Subcommand)]
enum Admin {
    /// Generate and import a demo town (grids, base data, catalog).
    SeedDemo(seed_demo::Args),
    /// Import base data: JSON lines of {entity, row_id, op, fields, hlc}.
    Import(import::Args),
    /// Issue a one-time enrollment code for a device.
    IssueCode(issue_code::Args),
    /// Create a bearer token for the HTTP admin API.
    ApiToken(api_token::Args),
    /// Events reported by devices.
    Events(events::Args),
    /// Move an event along its lifecycle (accepted, rejected, escalated, verified, closed …).
    Transition(transition::Args),
    /// Dispatch an accepted event to its grid as a task.
    Dispatch(dispatch::Args),
    /// Create a task for a grid (or a person in it).
    Task(task::Args),
    /// Tasks and their state.
    Tasks(tasks::Args),
    /// Publish a notice to every device, or to those under a node (and of a role).
    Notice(notice::Args),
    /// Device health: last seen, app version, queue, oldest pending, dead letters, clock offset.
    Devices(devices::Args),
    /// Publish a signed update bundle (.gpb from `gridctl bundle create`) to the fleet:
    /// devices of its target fetch the newest one. The hub checks its shape, devices its
    /// signature.
    PublishBundle(publish_bundle::Args),
    /// Published update bundles, newest first per target.
    Bundles(bundles::Args),
    /// Lock or wipe a lost device (it obeys on its next contact), or reactivate it.
    DeviceStatus(device_status::Args),
    /// Accounts of the centre and the field: create (the first system administrator),
    /// list, set a password, enable TOTP, disable.
    Account {
        #[command(subcommand)]
        command: account::Command,
    },
    /// The organisation tree: import (CSV or JSON lines), list, remove a node.
    Org {
        #[command(subcommand)]
        command: org::Command,
    },
    /// Departments (职能部门) attached at nodes.
    Department {
        #[command(subcommand)]
        command: department::Command,
    },
    /// Which department handles which 小类 at which level.
    Routing {
        #[command(subcommand)]
        command: routing::Command,
    },
    /// The audit log: search, export (CSV), verify the chain.
    Audit(audit::Args),
    /// Forget abandoned photo uploads and photos that no record names.
    SweepPhotos(sweep_photos::Args),
    /// The working-time calendar: import a year (holidays and 调休 days), list the years.
    Calendar {
        #[command(subcommand)]
        command: calendar::Command,
    },
    /// Remind (督办) of every open task whose deadline crossed a threshold, once each.
    Supervise(supervise::Args),
}

fn open_hub(database: Option<&str>, instance: Option<&str>, dir: &Path) -> Result<Arc<Hub>> {
    let node =
        gridhub::service::node_id(instance).map_err(|e| anyhow::anyhow!("--instance: {e}"))?;
    let store = gridhub::storage::open(database, dir).with_context(|| match database {
        Some(d) if d != "sqlite" => "opening the hub database (--database)".to_string(),
        _ => format!("opening the hub database in {}", dir.display()),
    })?;
    let hub = Hub::with_system_clock_as(store, &node);
    hub.resume_clock().context("reading the hub clock's mark")?;
    hub.attach_blobs(
        gridhub::seals_and_photo_access::open_blobs(dir)
            .with_context(|| format!("opening the photo store in {}", dir.display()))?,
    );
    Ok(Arc::new(hub))
}

/// The command line acting under a name for the event timeline (`--actor`), audited as the
/// hub machine's user.
fn cli_as(name: &str) -> gridhub::authz::Principal {
    let mut p = gridhub::authz::Principal::cli();
    p.actor.name = name.chars().take(64).collect();
    p
}

/// A password from `$GRIDHUB_PASSWORD`, or the first line of standard input (never an
/// argument: it would show in `ps` and the shell's history).
fn read_password() -> Result<String> {
    if let Ok(p) = std::env::var("GRIDHUB_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let p = line.trim_end_matches(['\r', '\n']).to_string();
    anyhow::ensure!(
        !p.is_empty(),
        "no password: set GRIDHUB_PASSWORD or give it on standard input"
    );
    Ok(p)
}

fn print_json(v: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

pub fn run(cli: Cli) -> Result<()> {
    let hub = open_hub(
        cli.database.as_deref(),
        cli.instance.as_deref(),
        &cli.data_dir,
    )?;
    let dir = cli.data_dir.as_path();
    let r = run_command(&hub, dir, cli.command);
    // What this command stamped stays below what any later process stamps.
    hub.persist_clock()
        .context("recording the hub clock's mark")?;
    r
}

fn run_command(hub: &Arc<Hub>, dir: &Path, command: Command) -> Result<()> {
    let hub = hub.clone();
    match command {
        Command::Serve(a) => serve::run(hub, dir, a),
        Command::Admin { command } => match command {
            Admin::SeedDemo(a) => seed_demo::run(&hub, a),
            Admin::Import(a) => import::run(&hub, a),
            Admin::IssueCode(a) => issue_code::run(&hub, a),
            Admin::ApiToken(a) => api_token::run(&hub, a),
            Admin::Events(a) => events::run(&hub, a),
            Admin::Transition(a) => transition::run(&hub, a),
            Admin::Dispatch(a) => dispatch::run(&hub, a),
            Admin::Task(a) => task::run(&hub, a),
            Admin::Tasks(a) => tasks::run(&hub, a),
            Admin::Notice(a) => notice::run(&hub, a),
            Admin::Devices(a) => devices::run(&hub, a),
            Admin::PublishBundle(a) => publish_bundle::run(dir, a),
            Admin::Bundles(a) => bundles::run(dir, a),
            Admin::DeviceStatus(a) => device_status::run(&hub, a),
            Admin::Account { command } => account::run(&hub, command),
            Admin::Org { command } => org::run(&hub, command),
            Admin::Department { command } => department::run(&hub, command),
            Admin::Routing { command } => routing::run(&hub, command),
            Admin::Audit(a) => audit::run(&hub, a),
            Admin::SweepPhotos(a) => sweep_photos::run(&hub, a),
            Admin::Calendar { command } => calendar::run(&hub, command),
            Admin::Supervise(a) => supervise::run(&hub, a),
        },
    }
}

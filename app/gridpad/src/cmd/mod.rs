//! The `gridpad` commands, one module each: its arguments (`Args`) and what it does
//! (`run`). Helpers every command shares live here: opening the store (and the lock
//! check), the PIN, JSON output, Beijing time.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use gridpad_core::Store;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

mod catalog;
mod change_pin;
mod conflicts;
mod dead_letters;
mod demo_data;
mod dev_write_reports;
mod enroll;
mod event;
mod events;
mod fetch_photo;
mod init;
mod outbox;
mod report;
mod search;
mod status;
mod sync;
mod task;
mod tasks;
mod update;

#[derive(Subcommand)]
pub enum Command {
    /// Create the encrypted store; the PIN (6–12 digits) comes from GRIDPAD_PIN or a prompt.
    Init(init::Args),
    /// Load a generated demo grid (from one grid to a town), as if synced from the centre.
    DemoData(demo_data::Args),
    /// Find residents (name fragment, ID tail, phone, address), houses or units.
    Search(search::Args),
    /// Report an event, offline. It waits in the outbox until sync.
    Report(report::Args),
    /// Download a photo that a record on this device references (e.g. a task's reference
    /// photo), verified by its SHA-256; `--out` writes it (decrypted) to a file.
    FetchPhoto(fetch_photo::Args),
    /// Events on this device, with their deadline colours.
    Events(events::Args),
    /// One event with its lifecycle timeline.
    Event(event::Args),
    /// Tasks from the centre.
    Tasks(tasks::Args),
    /// Accept, start, complete or reject a task.
    Task(task::Args),
    /// The event catalog (事项清单).
    Catalog(catalog::Args),
    /// What is waiting to be sent to the centre.
    Outbox(outbox::Args),
    /// Device, grid and store summary.
    Status(status::Args),
    /// Enroll this device with the hub using a one-time code from the command centre.
    Enroll(enroll::Args),
    /// Sync with the hub: push what waits, pull what the centre decided. Without --once it
    /// keeps running, syncing after local writes, periodically and with back-off.
    Sync(sync::Args),
    /// Fetch the newest update bundle the hub offers for this device, over the device's
    /// authenticated transport, into the update agent's inbox (the agent verifies and
    /// installs it).
    Update(update::Args),
    /// Changes the hub refused, with the reason.
    DeadLetters(dead_letters::Args),
    /// Conflict notices: your changes superseded by the centre's (or the reverse).
    Conflicts(conflicts::Args),
    /// GNSS: replay a capture or watch a live receiver (serial or gpsd).
    #[command(subcommand)]
    Gnss(gridpad_gnss::cli::GnssCommand),
    /// Change the PIN: old from GRIDPAD_PIN (or prompt), new from GRIDPAD_NEW_PIN (or prompt).
    ChangePin,
    /// Write reports one after another until stopped (crash testing).
    #[command(hide = true)]
    DevWriteReports(dev_write_reports::Args),
}

impl Command {
    /// Commands that talk to the hub: a connection the network cuts must be an error to
    /// retry (EPIPE), not a SIGPIPE that kills the process mid-upload.
    pub fn uses_network(&self) -> bool {
        matches!(
            self,
            Command::Sync(_) | Command::Enroll(_) | Command::FetchPhoto(_) | Command::Update(_)
        )
    }

    pub fn run(&self, ctx: &Ctx) -> Result<()> {
        match self {
            Command::Init(a) => init::run(ctx, a),
            Command::DemoData(a) => demo_data::run(ctx, a),
            Command::Search(a) => search::run(ctx, a),
            Command::Report(a) => report::run(ctx, a),
            Command::FetchPhoto(a) => fetch_photo::run(ctx, a),
            Command::Events(a) => events::run(ctx, a),
            Command::Event(a) => event::run(ctx, a),
            Command::Tasks(a) => tasks::run(ctx, a),
            Command::Task(a) => task::run(ctx, a),
            Command::Catalog(a) => catalog::run(ctx, a),
            Command::Outbox(a) => outbox::run(ctx, a),
            Command::Status(a) => status::run(ctx, a),
            Command::Enroll(a) => enroll::run(ctx, a),
            Command::Sync(a) => sync::run(ctx, a),
            Command::Update(a) => update::run(ctx, a),
            Command::DeadLetters(a) => dead_letters::run(ctx, a),
            Command::Conflicts(a) => conflicts::run(ctx, a),
            Command::Gnss(c) => {
                let mut out = std::io::stdout().lock();
                Ok(gridpad_gnss::cli::run(c.clone(), &mut out)?)
            }
            Command::ChangePin => change_pin::run(ctx),
            Command::DevWriteReports(a) => dev_write_reports::run(ctx, a),
        }
    }
}

/// Where the command works: the global options.
pub struct Ctx {
    pub data_dir: PathBuf,
    /// `/etc/gridpad/gridpad.toml` (or `--config`), read once at start.
    pub config: gridpad_config::DeviceConfig,
}

impl Ctx {
    /// Open the store for a command that shows or changes data: refused while the device
    /// is locked (by the centre, or offline past `lock_after_days_offline`).
    pub fn open(&self) -> Result<Store> {
        let mut store = self.open_for_contact()?;
        if let Some(why) = store.access(self.config.lock_after_days_offline)?.refusal() {
            bail!("{why}");
        }
        Ok(store)
    }

    /// Open the store to contact the hub (enroll, sync): allowed while locked, since only
    /// the hub can lift the lock (or carry out a wipe).
    pub fn open_for_contact(&self) -> Result<Store> {
        let pin = pin_from("GRIDPAD_PIN", "PIN: ")?;
        Ok(Store::open(&self.data_dir, &pin)?)
    }
}

pub fn pin_from(var: &str, prompt: &str) -> Result<String> {
    if let Ok(pin) = std::env::var(var) {
        return Ok(pin);
    }
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(prompt).context("reading the PIN");
    }
    bail!("no PIN: set {var} (not interactive)")
}

pub fn print_json(v: &impl serde::Serialize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

/// Times are shown in Beijing time.
pub fn beijing(t: chrono::DateTime<chrono::Utc>) -> String {
    let bj = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    t.with_timezone(&bj).format("%Y-%m-%d %H:%M").to_string()
}

/// The error for a command that needs the hub on a device not enrolled.
pub fn not_enrolled() -> anyhow::Error {
    anyhow::anyhow!("this device is not enrolled: run `gridpad enroll --hub URL --code CODE`")
}

/// Take camera files as evidence for a record about to be made (a report, a task's result):
/// each is processed to the category's photo policy, stamped and stored encrypted. Returns their SHA-256.
pub fn take_photos(
    store: &mut Store,
    files: &[PathBuf],
    category: &str,
    position: Option<&gridpad_core::model::Position>,
    reporter: &str,
) -> Result<Vec<String>> {
    if files.is_empty() {
        return Ok(vec![]);
    }
    let policy = gridpad_photo::policy_for(store, category)?;
    let vault = gridpad_photo::Vault::open(store.dir(), store.photo_key())?;
    let wm = gridpad_photo::Watermarker::bundled()?;
    let stamp = gridpad_photo::camera::stamp_now(store, position, reporter)?;
    let mut out = vec![];
    for f in files {
        let c = gridpad_photo::capture_file(store, &vault, &wm, f, &policy, &stamp)
            .with_context(|| format!("photo {}", f.display()))?;
        out.push(c.sha256);
    }
    Ok(out)
}

/// A provisioned device's first contact: enroll with `<data_dir>/provision.toml` when the
/// store is not enrolled yet (`gridpad_sync::provision`); says what it did.
pub fn enroll_if_provisioned(ctx: &Ctx, store: &mut Store) -> Result<bool> {
    match gridpad_sync::provision::enroll_from_file(store, &ctx.config)? {
        Some(resp) => {
            println!(
                "enrolled {} as {} for grid(s) {} with provision.toml (its code is now used)",
                resp.device_id,
                resp.user,
                resp.grids.join(", ")
            );
            Ok(true)
        }
        None => Ok(false),
    }
}

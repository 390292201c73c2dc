//! `gridpad`: the grid worker's terminal. This is its command line — the non-GUI face of
//! the device app, used by admins, scripts and tests.

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use gridpad_core::demo::{self, DemoSpec};
use gridpad_core::model::{Position, TaskCommand};
use gridpad_core::{keyring, InitOptions, NewReport, Store};
use gridpad_sync::evidence::{EvidenceError, EvidenceReport, PhotoProgress};
use gridpad_sync::runner::{now_ms, Next, Progress, Runner, Totals};
use gridpad_sync::{DeviceCommand, Event, Report, SyncError};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

mod evidence;

#[derive(Parser)]
#[command(
    name = "gridpad",
    version,
    about = "Gridpad — the grid worker's offline terminal"
)]
struct Cli {
    /// Where the encrypted store lives.
    #[arg(long, global = true, env = "GRIDPAD_DATA_DIR", default_value_os_t = default_data_dir())]
    data_dir: PathBuf,
    /// Device configuration (`lock_after_days_offline`; a missing file means no self-lock).
    #[arg(long, global = true, env = "GRIDPAD_CONFIG", default_value = gridpad_core::access::DeviceConfig::PATH)]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("gridpad")
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    People,
    Houses,
    Units,
}

#[derive(Subcommand)]
enum Command {
    /// Create the encrypted store; the PIN (6–12 digits) comes from GRIDPAD_PIN or a prompt.
    Init {
        /// Device id (default: a new UUIDv7).
        #[arg(long)]
        device_id: Option<String>,
    },
    /// Load a generated demo grid (from one grid to a town), as if synced from the centre.
    DemoData {
        #[arg(long, default_value_t = 1_500)]
        persons: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Find residents (name fragment, ID tail, phone, address), houses or units.
    Search {
        query: String,
        #[arg(long, value_enum, default_value_t = Kind::People)]
        kind: Kind,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Continue from the `next` cursor of a previous page.
        #[arg(long)]
        page: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Report an event, offline. It waits in the outbox until sync.
    Report {
        /// Catalog subcategory code (see `gridpad catalog`).
        #[arg(long)]
        category: String,
        #[arg(long)]
        description: String,
        #[arg(long, default_value = "")]
        address: String,
        /// A field of the category, `key=value` (repeatable).
        #[arg(long = "field", value_parser = parse_kv)]
        fields: Vec<(String, serde_json::Value)>,
        #[arg(long, requires = "lon")]
        lat: Option<f64>,
        #[arg(long, requires = "lat")]
        lon: Option<f64>,
        /// 95 % accuracy of a typed position, metres.
        #[arg(long)]
        accuracy: Option<f64>,
        /// Handled on the spot (自行处置).
        #[arg(long)]
        on_the_spot: bool,
        #[arg(long, env = "GRIDPAD_USER", default_value = "网格员")]
        reporter: String,
        /// A photo (JPEG/PNG) as evidence, repeatable: processed to the category's photo
        /// policy, stamped (time, position, grid, reporter), stored encrypted.
        #[arg(long = "photo")]
        photos: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Download a photo that a record on this device references (e.g. a task's reference
    /// photo), verified by its SHA-256; `--out` writes it (decrypted) to a file.
    FetchPhoto {
        sha256: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Events on this device, with their deadline colours.
    Events {
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// One event with its lifecycle timeline.
    Event {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Tasks from the centre.
    Tasks {
        #[arg(long)]
        json: bool,
    },
    /// Accept, start, complete or reject a task.
    Task {
        id: String,
        #[arg(value_enum)]
        action: TaskAction,
        /// Feedback (complete) or reason (reject).
        #[arg(long, default_value = "")]
        note: String,
    },
    /// The event catalog (事项清单).
    Catalog {
        #[arg(long)]
        json: bool,
    },
    /// What is waiting to be sent to the centre.
    Outbox {
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Device, grid and store summary.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Enroll this device with the hub using a one-time code from the command centre.
    Enroll {
        #[arg(long, env = "GRIDPAD_HUB")]
        hub: String,
        #[arg(long)]
        code: String,
        #[arg(long, default_value = "")]
        label: String,
        /// PEM certificate of the authority that signed the hub's HTTPS certificate (a
        /// city's own CA); kept in the store and the only one trusted from then on.
        /// Without it the system's roots are trusted.
        #[arg(long, env = "GRIDPAD_HUB_CA")]
        hub_ca: Option<PathBuf>,
    },
    /// Sync with the hub: push what waits, pull what the centre decided. Without --once it
    /// keeps running, syncing after local writes, periodically and with back-off.
    Sync {
        #[arg(long)]
        once: bool,
        #[arg(long)]
        json: bool,
    },
    /// Changes the hub refused, with the reason.
    DeadLetters {
        #[arg(long)]
        json: bool,
    },
    /// Conflict notices: your changes superseded by the centre's (or the reverse).
    Conflicts {
        #[arg(long)]
        json: bool,
    },
    /// GNSS: replay a capture or watch a live receiver (serial or gpsd).
    #[command(subcommand)]
    Gnss(gridpad_gnss::cli::GnssCommand),
    /// Change the PIN: old from GRIDPAD_PIN (or prompt), new from GRIDPAD_NEW_PIN (or prompt).
    ChangePin,
    /// Write reports one after another until stopped (crash testing).
    #[command(hide = true)]
    DevWriteReports {
        #[arg(long, default_value_t = 1_000_000)]
        count: usize,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum TaskAction {
    Accept,
    Start,
    Complete,
    Reject,
}

fn parse_kv(s: &str) -> Result<(String, serde_json::Value), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected key=value, got {s:?}"))?;
    let value = serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.into()));
    Ok((k.to_string(), value))
}

fn pin_from(var: &str, prompt: &str) -> Result<String> {
    if let Ok(pin) = std::env::var(var) {
        return Ok(pin);
    }
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(prompt).context("reading the PIN");
    }
    bail!("no PIN: set {var} (not interactive)")
}

/// Open the store for a command that shows or changes data: refused while the device is
/// locked (by the centre, or offline past `lock_after_days_offline`).
fn open(cli: &Cli) -> Result<Store> {
    let mut store = open_for_contact(cli)?;
    let config = gridpad_core::access::DeviceConfig::load(&cli.config)?;
    if let Some(why) = store.access(config.lock_after_days_offline)?.refusal() {
        bail!("{why}");
    }
    Ok(store)
}

/// Open the store to contact the hub (enroll, sync): allowed while locked, since only the
/// hub can lift the lock (or carry out a wipe).
fn open_for_contact(cli: &Cli) -> Result<Store> {
    let pin = pin_from("GRIDPAD_PIN", "PIN: ")?;
    Ok(Store::open(&cli.data_dir, &pin)?)
}

fn print_json(v: &impl serde::Serialize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    // Behave like a Unix tool when piped into `head`: end quietly on a closed pipe. Not
    // for the commands that talk to the hub: there a connection the network cut must be
    // an error to retry (EPIPE), not a signal that kills the process mid-upload.
    let network = matches!(
        cli.command,
        Command::Sync { .. } | Command::Enroll { .. } | Command::FetchPhoto { .. }
    );
    if !network {
        // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    if let Err(e) = run(cli) {
        eprintln!("gridpad: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match &cli.command {
        Command::Init { device_id } => {
            let pin = pin_from("GRIDPAD_PIN", "New PIN (6–12 digits): ")?;
            if std::env::var("GRIDPAD_PIN").is_err() {
                let again = rpassword::prompt_password("Repeat the PIN: ")?;
                if again != pin {
                    bail!("the PINs differ");
                }
            }
            let store = Store::init(
                &cli.data_dir,
                &pin,
                InitOptions {
                    device_id: device_id.clone(),
                    ..Default::default()
                },
            )?;
            println!(
                "initialised {} (device {})",
                cli.data_dir.display(),
                store.device_id()
            );
        }
        Command::DemoData { persons, seed } => {
            let mut store = open(&cli)?;
            let started = std::time::Instant::now();
            let s = demo::load(
                &mut store,
                DemoSpec {
                    persons: *persons,
                    seed: *seed,
                },
            )?;
            println!(
                "loaded demo data in {:.1} s: {} grids, {} buildings, {} houses, {} residents, {} units, {} facilities, {} catalog entries; home grid {}",
                started.elapsed().as_secs_f64(),
                s.grids, s.buildings, s.houses, s.persons, s.organisations, s.facilities, s.categories, s.home_grid_code
            );
        }
        Command::Search {
            query,
            kind,
            limit,
            page,
            json,
        } => {
            let store = open(&cli)?;
            match kind {
                Kind::People => {
                    let p = store.search_people(query, *limit, page.as_deref())?;
                    if *json {
                        return print_json(&p);
                    }
                    for h in &p.hits {
                        println!(
                            "{}\t{}\t{}\t{}\t{}\t[{}]",
                            h.name,
                            h.sex,
                            h.id_number.as_deref().unwrap_or("-"),
                            h.phone.as_deref().unwrap_or("-"),
                            h.address.as_deref().unwrap_or("-"),
                            h.matched
                        );
                    }
                    print_next(p.next.as_deref(), p.hits.is_empty());
                }
                Kind::Houses => {
                    let p = store.search_houses(query, *limit, page.as_deref())?;
                    if *json {
                        return print_json(&p);
                    }
                    for h in &p.hits {
                        println!("{}\t{}\t{} residents", h.full_address, h.use_, h.residents);
                    }
                    print_next(p.next.as_deref(), p.hits.is_empty());
                }
                Kind::Units => {
                    let p = store.search_organisations(query, *limit, page.as_deref())?;
                    if *json {
                        return print_json(&p);
                    }
                    for h in &p.hits {
                        println!("{}\t{}\t{}\t[{}]", h.name, h.kind, h.address, h.matched);
                    }
                    print_next(p.next.as_deref(), p.hits.is_empty());
                }
            }
        }
        Command::Report {
            category,
            description,
            address,
            fields,
            lat,
            lon,
            accuracy,
            on_the_spot,
            reporter,
            photos,
            json,
        } => {
            let mut store = open(&cli)?;
            let position = match (lat, lon) {
                (Some(lat), Some(lon)) => Some(Position::manual(*lat, *lon, *accuracy)),
                _ => None,
            };
            let photos =
                evidence::take_photos(&mut store, photos, category, position.as_ref(), reporter)?;
            let id = store.report_event(NewReport {
                photos,
                category_code: category.clone(),
                description: description.clone(),
                address_text: address.clone(),
                fields: fields.iter().cloned().collect(),
                position,
                handled_on_spot: *on_the_spot,
                reporter: reporter.clone(),
                ..Default::default()
            })?;
            // Sealed into the device's hash chain, signed with the device key.
            gridpad_photo::seal_event(&mut store, &id)?;
            let ev = store
                .event(&id)?
                .ok_or_else(|| anyhow!("the report vanished"))?;
            if *json {
                return print_json(&ev);
            }
            println!(
                "reported {} ({}), due {}; waiting in the outbox ({} pending)",
                ev.id,
                ev.status,
                ev.deadline_at.map(beijing).unwrap_or_else(|| "-".into()),
                store.outbox_len()?
            );
        }
        Command::Events { limit, json } => {
            let store = open(&cli)?;
            let evs = store.events(*limit)?;
            if *json {
                return print_json(&evs);
            }
            for e in evs {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    e.id,
                    e.status,
                    e.colour.map(|c| c.as_str()).unwrap_or("-"),
                    e.category,
                    e.description
                );
            }
        }
        Command::Event { id, json } => {
            let store = open(&cli)?;
            let ev = store.event(id)?.ok_or_else(|| anyhow!("no event {id}"))?;
            let history = store.event_history(id)?;
            if *json {
                return print_json(&serde_json::json!({"event": ev, "history": history}));
            }
            println!("{} — {} ({})", ev.id, ev.description, ev.status);
            for h in history {
                println!("  {}\t{}\t{}\t{}", beijing(h.at), h.status, h.actor, h.note);
            }
        }
        Command::Tasks { json } => {
            let store = open(&cli)?;
            let tasks = store.tasks()?;
            if *json {
                return print_json(&tasks);
            }
            for t in tasks {
                println!(
                    "{}\t{}\t{}\t{}",
                    t.id,
                    t.status,
                    t.colour.map(|c| c.as_str()).unwrap_or("-"),
                    t.title
                );
            }
        }
        Command::Task { id, action, note } => {
            let mut store = open(&cli)?;
            let cmd = match action {
                TaskAction::Accept => TaskCommand::Accept,
                TaskAction::Start => TaskCommand::Start,
                TaskAction::Complete => TaskCommand::Complete,
                TaskAction::Reject => TaskCommand::Reject,
            };
            store.task_command(id, cmd, note, &[], None)?;
            println!("task {id}: {cmd} recorded");
        }
        Command::Catalog { json } => {
            let store = open(&cli)?;
            let cat = store.catalog()?;
            if *json {
                return print_json(&cat);
            }
            for c in cat.iter().filter(|c| c.level == 1) {
                println!("{} {}（{}）", c.code, c.name, c.department);
                for s in cat
                    .iter()
                    .filter(|s| s.parent_code.as_deref() == Some(&c.code))
                {
                    let fields: Vec<String> = s
                        .fields
                        .iter()
                        .map(|f| format!("{}{}", f.key, if f.required { "*" } else { "" }))
                        .collect();
                    println!(
                        "  {} {}\t{} h\t{}",
                        s.code,
                        s.name,
                        s.deadline_hours.unwrap_or(0),
                        fields.join(" ")
                    );
                }
            }
        }
        Command::Outbox { limit, json } => {
            let store = open(&cli)?;
            let out = store.outbox(*limit)?;
            if *json {
                return print_json(&out);
            }
            println!("{} change(s) waiting to be sent", store.outbox_len()?);
            for e in out {
                println!(
                    "#{}\t{}\t{}\t{}\t{}",
                    e.mutation.seq,
                    e.mutation.entity,
                    e.mutation.op.to_text(),
                    e.mutation.row_id,
                    e.created_at
                );
            }
        }
        Command::Status { json } => {
            let store = open(&cli)?;
            let counts = store.counts()?;
            let grid = store.home_grid()?;
            if *json {
                return print_json(&serde_json::json!({
                    "device_id": store.device_id(),
                    "hub_url": store.kv("hub_url")?,
                    "data_dir": cli.data_dir,
                    "grid": grid,
                    "counts": counts,
                }));
            }
            println!("device {}", store.device_id());
            println!(
                "grid   {}",
                grid.map(|g| format!("{} {}", g.code, g.name))
                    .unwrap_or_else(|| "-".into())
            );
            println!(
                "holds  {} residents, {} houses, {} units, {} events, {} tasks; {} change(s) waiting",
                counts.persons, counts.houses, counts.organisations, counts.events, counts.tasks, counts.outbox
            );
        }
        Command::Enroll {
            hub,
            code,
            label,
            hub_ca,
        } => {
            let mut store = open_for_contact(&cli)?;
            let ca_pem = match hub_ca {
                Some(path) => Some(
                    std::fs::read(path)
                        .with_context(|| format!("reading the hub CA {}", path.display()))?,
                ),
                None => None,
            };
            let resp = gridpad_sync::device::enroll_with_ca(
                &mut store,
                hub,
                code,
                label,
                ca_pem.as_deref(),
            )?;
            println!(
                "enrolled {} as {} for grid(s) {}; run `gridpad sync` to download the grid",
                resp.device_id,
                resp.user,
                resp.grids.join(", ")
            );
        }
        Command::FetchPhoto { sha256, out } => {
            let mut store = open(&cli)?;
            let mut session =
                gridpad_sync::device::Session::open(&mut store)?.ok_or_else(|| {
                    anyhow!(
                        "this device is not enrolled: run `gridpad enroll --hub URL --code CODE`"
                    )
                })?;
            session.login()?;
            session.keep_token(&mut store)?;
            let n = gridpad_sync::evidence::fetch_photo(&store, &session, sha256)?;
            if let Some(path) = out {
                let vault = gridpad_photo::Vault::open(store.dir(), store.photo_key())?;
                std::fs::write(path, vault.read(sha256)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            println!("photo {sha256}: {n} bytes, verified");
        }
        Command::Sync { once, json } => {
            let mut store = open_for_contact(&cli)?;
            sync_loop(&mut store, *once, *json)?;
        }
        Command::DeadLetters { json } => {
            let store = open(&cli)?;
            let list = store.dead_letters()?;
            if *json {
                return print_json(&list);
            }
            for d in list {
                println!("#{}	{} {}	{}	{}", d.seq, d.op, d.entity, d.row_id, d.reason);
            }
        }
        Command::Conflicts { json } => {
            let store = open(&cli)?;
            let list = store.conflict_notices()?;
            if *json {
                return print_json(&list);
            }
            for c in list {
                println!(
                    "{} {} {}: yours {:?}, now {:?} (by {})",
                    c.entity, c.row_id, c.field, c.local_value, c.winning_value, c.winner
                );
            }
        }
        Command::Gnss(cmd) => {
            let mut out = std::io::stdout().lock();
            gridpad_gnss::cli::run(cmd.clone(), &mut out)?;
        }
        Command::ChangePin => {
            let old = pin_from("GRIDPAD_PIN", "Current PIN: ")?;
            let new = pin_from("GRIDPAD_NEW_PIN", "New PIN: ")?;
            keyring::change_pin(&cli.data_dir, &old, &new)?;
            println!("PIN changed");
        }
        Command::DevWriteReports { count } => {
            let mut store = open(&cli)?;
            let mut out = std::io::stdout().lock();
            for i in 0..*count {
                store.report_event(NewReport {
                    category_code: "0401".into(),
                    description: format!("崩溃测试上报 {i}"),
                    reporter: "测试".into(),
                    ..Default::default()
                })?;
                writeln!(out, "{i}")?;
                out.flush()?;
            }
        }
    }
    Ok(())
}

/// Progress lines on stderr.
struct Printer {
    json: bool,
    once: bool,
}

impl Progress for Printer {
    fn exchanged(&mut self, r: &Report, totals: &Totals) {
        if r.remaining_ops > 0 {
            // A long first download: say how far it is.
            let all = totals.pulled_ops + r.remaining_ops;
            eprintln!(
                "downloading: {} of {} changes ({}%)",
                totals.pulled_ops,
                all,
                totals.pulled_ops * 100 / all.max(1)
            );
        }
        if !self.json {
            eprintln!(
                "synced: {} sent, {} acknowledged, {} refused, {} changes received{}",
                r.pushed,
                r.acked,
                r.rejected,
                r.pulled_ops,
                if r.more { ", more to come" } else { "" }
            );
        }
    }

    fn failed(&mut self, e: &SyncError) {
        if e.retryable() {
            eprintln!("sync failed, will retry: {e}");
        }
    }

    fn photo(&mut self, p: &PhotoProgress) {
        if self.json {
            return;
        }
        let short = &p.sha256[..12.min(p.sha256.len())];
        if p.done {
            eprintln!("photo {}/{} {short}…: complete", p.index, p.count);
        } else {
            eprintln!(
                "photo {}/{} {short}…: {} of {} bytes at the hub",
                p.index, p.count, p.at_hub, p.bytes
            );
        }
    }

    fn evidence_done(&mut self, r: &Result<EvidenceReport, EvidenceError>) {
        match r {
            // With --once the error ends the command.
            Err(e) if !self.once => eprintln!("photo evidence not sent yet, will retry: {e:#}"),
            Ok(r) if r.photos_deferred > 0 && !self.json => eprintln!(
                "{} photo(s) made no progress at the hub: they wait for the next sync",
                r.photos_deferred
            ),
            _ => {}
        }
    }
}

/// Sync until nothing is left (`--once`), or keep syncing on the scheduler's plan.
fn sync_loop(store: &mut Store, once: bool, json: bool) -> Result<()> {
    let mut runner = Runner::open(store, gridpad_sync::Config::default())?.ok_or_else(|| {
        anyhow!("this device is not enrolled: run `gridpad enroll --hub URL --code CODE`")
    })?;
    let mut printer = Printer { json, once };
    if !once {
        runner.stop_when_refused = true;
        let mut event = Event::Started { now: now_ms() };
        loop {
            match runner.handle(store, event, &mut printer) {
                Next::WakeAt(at) => {
                    let now = now_ms();
                    if at > now {
                        std::thread::sleep(std::time::Duration::from_millis(
                            (at - now).min(60_000),
                        ));
                    }
                    event = Event::Timer { now: now_ms() };
                }
                Next::Obeyed(cmd, done) => {
                    done?;
                    match cmd {
                        // Recorded by the exchange: nothing past the login.
                        DeviceCommand::Lock => bail!("the command centre locked this device"),
                        DeviceCommand::Wipe => {
                            bail!("the command centre wiped this device: its data is gone")
                        }
                    }
                }
                Next::Refused(e) => bail!("{e}"),
            }
        }
    }
    runner.once(store, &mut printer)?;
    let (total, evidence) = (&runner.totals, &runner.evidence);
    if json {
        print_json(&serde_json::json!({
            "pushed": total.pushed, "acked": total.acked, "rejected": total.rejected,
            "conflicts": total.conflicts, "pulled_ops": total.pulled_ops,
            "outbox": store.outbox_len()?,
            "evidence": evidence,
        }))?;
    } else {
        println!(
            "sync complete: {} acknowledged, {} refused, {} changes received; {} waiting; {} photo(s) uploaded ({} bytes sent), {} waiting",
            total.acked,
            total.rejected,
            total.pulled_ops,
            store.outbox_len()?,
            evidence.photos_uploaded,
            evidence.photo_bytes_sent,
            evidence.photos_waiting
        );
    }
    Ok(())
}

fn print_next(next: Option<&str>, empty: bool) {
    if empty {
        println!("(nothing found)");
    }
    if let Some(n) = next {
        println!("more: --page {n}");
    }
}

/// Times are shown in Beijing time.
fn beijing(t: chrono::DateTime<chrono::Utc>) -> String {
    let bj = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    t.with_timezone(&bj).format("%Y-%m-%d %H:%M").to_string()
}

//! `gridpad sync`: the device's sync runner (`gridpad_sync::runner`, the same the app's
//! sync thread runs), its progress on stderr and a summary on stdout.

use super::{not_enrolled, print_json, Ctx};
use anyhow::{bail, Result};
use gridpad_sync::evidence::{EvidenceError, EvidenceReport, PhotoProgress};
use gridpad_sync::runner::{now_ms, Next, Progress, Runner, Totals, UpdateCheck};
use gridpad_sync::updates::Handed;
use gridpad_sync::{DeviceCommand, Event, Report, SyncError};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    once: bool,
    #[arg(long)]
    json: bool,
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

    fn update_checked(&mut self, r: &Result<Handed, String>) {
        match r {
            Ok(Handed::Fetched { offer, file }) => eprintln!(
                "update {} {} fetched into {}: the update agent verifies and installs it",
                offer.package,
                offer.version,
                file.display()
            ),
            Err(e) => eprintln!("update check failed, will retry: {e}"),
            Ok(_) => {}
        }
    }
}

/// Sync until nothing is left (`--once`), or keep syncing on the scheduler's plan.
pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let mut store = ctx.open_for_contact()?;
    super::enroll_if_provisioned(ctx, &mut store)?;
    let mut runner = Runner::open(&mut store, gridpad_sync::Config::default())?
        .ok_or_else(not_enrolled)?
        .check_updates(UpdateCheck::from_config(
            &ctx.config.update,
            env!("CARGO_PKG_VERSION"),
        ));
    let mut printer = Printer {
        json: a.json,
        once: a.once,
    };
    if !a.once {
        runner.stop_when_refused = true;
        let mut event = Event::Started { now: now_ms() };
        loop {
            match runner.handle(&mut store, event, &mut printer) {
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
    runner.once(&mut store, &mut printer)?;
    let (total, evidence) = (&runner.totals, &runner.evidence);
    if a.json {
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

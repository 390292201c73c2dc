//! The sync service over `gridpad-sync`: a background thread with its own connection to
//! the encrypted store feeds events (start, "sync now", local writes — debounced by the
//! scheduler —, timers) to the device's sync runner (`gridpad_sync::runner`, the same that
//! `gridpad sync` runs: exchanges, seals, photos, back-off) and turns its progress into the
//! status the UI reads; the UI never waits for the network.

use crate::services::{SyncService, SyncStatus};
use gridpad_core::Store;
use gridpad_sync::device;
use gridpad_sync::evidence::{EvidenceError, EvidenceReport, PhotoProgress};
use gridpad_sync::runner::{now_ms, Next, Progress, Runner, Totals, UpdateCheck};
use gridpad_sync::{Config, DeviceCommand, Event, Report, SyncError, TransportError};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

enum Msg {
    Start(Box<Store>),
    Stop,
    Now,
    Write,
}

/// Sync with the hub the store is enrolled with.
pub struct HubSync {
    tx: Mutex<mpsc::Sender<Msg>>,
    status: Arc<Mutex<SyncStatus>>,
}

impl HubSync {
    /// Start the (idle) sync thread; it syncs once [`SyncService::start`] hands it a store.
    /// `updates`: where to hand the update bundles the hub offers (none: not asked).
    pub fn spawn(cfg: Config, updates: Option<UpdateCheck>) -> HubSync {
        let (tx, rx) = mpsc::channel();
        let status = Arc::new(Mutex::new(SyncStatus::default()));
        let st = status.clone();
        let _ = std::thread::Builder::new()
            .name("gridpad-sync".into())
            .spawn(move || run(rx, st, cfg, updates));
        HubSync {
            tx: Mutex::new(tx),
            status,
        }
    }

    fn send(&self, m: Msg) {
        let _ = self.tx.lock().unwrap_or_else(|p| p.into_inner()).send(m);
    }
}

impl SyncService for HubSync {
    fn status(&self) -> SyncStatus {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
    fn sync_now(&self) {
        self.send(Msg::Now);
    }
    fn local_write(&self) {
        self.send(Msg::Write);
    }
    fn enroll(&self, store: &mut Store, hub: &str, code: &str) -> Result<(), String> {
        let label = format!("gridpad-ui {}", env!("CARGO_PKG_VERSION"));
        device::enroll(store, hub, code, &label)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
    fn start(&self, store: Store) {
        self.send(Msg::Start(Box::new(store)));
    }
    fn stop(&self) {
        self.send(Msg::Stop);
    }
}

fn update(status: &Mutex<SyncStatus>, f: impl FnOnce(&mut SyncStatus)) {
    f(&mut status.lock().unwrap_or_else(|p| p.into_inner()));
}

/// The runner's progress, onto the status the screens read.
struct Screen<'a>(&'a Mutex<SyncStatus>);

impl Progress for Screen<'_> {
    fn exchanging(&mut self) {
        update(self.0, |s| s.running = true);
    }
    fn exchanged(&mut self, r: &Report, _totals: &Totals) {
        update(self.0, |s| {
            s.running = false;
            s.rounds += 1;
            s.online = true;
            s.error = None;
            s.track_download(r.pulled_ops, r.remaining_ops);
        });
    }
    fn failed(&mut self, e: &SyncError) {
        update(self.0, |s| {
            s.running = false;
            s.rounds += 1;
            s.online = !matches!(e, SyncError::Transport(TransportError::Offline(_)));
            s.error = Some(e.to_string());
        });
    }
    fn evidence_started(&mut self) {
        update(self.0, |s| s.running = true);
    }
    fn photo(&mut self, p: &PhotoProgress) {
        update(self.0, |s| {
            s.photo = if p.done { None } else { Some(p.clone()) }
        });
    }
    fn evidence_done(&mut self, r: &Result<EvidenceReport, EvidenceError>) {
        update(self.0, |s| {
            s.running = false;
            s.photo = None;
            s.rounds += 1;
            if let Err(e) = r {
                s.error = Some(e.to_string());
            }
        });
    }
    /// For the journal: the agent's own unit reports the installation.
    fn update_checked(&mut self, r: &Result<gridpad_sync::updates::Handed, String>) {
        match r {
            Ok(gridpad_sync::updates::Handed::Fetched { offer, file }) => eprintln!(
                "gridpad-ui: update {} {} handed to the update agent ({})",
                offer.package,
                offer.version,
                file.display()
            ),
            Err(e) => eprintln!("gridpad-ui: update check failed, will retry: {e}"),
            Ok(_) => {}
        }
    }
}

fn run(
    rx: mpsc::Receiver<Msg>,
    status: Arc<Mutex<SyncStatus>>,
    cfg: Config,
    updates: Option<UpdateCheck>,
) {
    let mut store: Option<Store> = None;
    let mut runner: Option<Runner> = None;
    let mut wake: Option<u64> = None;
    loop {
        let msg = match (store.is_some(), wake) {
            (true, Some(at)) => {
                let wait = at.saturating_sub(now_ms()).min(60_000);
                match rx.recv_timeout(Duration::from_millis(wait)) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
            _ => match rx.recv() {
                Ok(m) => Some(m),
                Err(_) => return,
            },
        };
        let event = match msg {
            Some(Msg::Start(s)) => {
                let mut s = *s;
                runner = match Runner::open(&mut s, cfg) {
                    Ok(r) => r.map(|r| r.check_updates(updates.clone())),
                    Err(e) => {
                        update(&status, |st| st.error = Some(e.to_string()));
                        None
                    }
                };
                update(&status, |st| {
                    st.enrolled = runner.is_some();
                    st.rounds += 1;
                });
                store = Some(s);
                Event::Started { now: now_ms() }
            }
            Some(Msg::Stop) => {
                store = None;
                runner = None;
                wake = None;
                update(&status, |st| st.running = false);
                continue;
            }
            Some(Msg::Now) if store.is_some() => Event::Connectivity {
                online: true,
                now: now_ms(),
            },
            Some(Msg::Write) if store.is_some() => Event::LocalWrite { now: now_ms() },
            Some(_) => continue,
            None => Event::Timer { now: now_ms() },
        };
        // Not enrolled: nothing to sync with until the next start.
        let (Some(st), Some(r)) = (store.as_mut(), runner.as_mut()) else {
            wake = None;
            continue;
        };
        match r.handle(st, event, &mut Screen(&status)) {
            Next::WakeAt(at) => wake = Some(at),
            Next::Obeyed(cmd, done) => {
                update(&status, |s| {
                    s.command = Some(match cmd {
                        DeviceCommand::Lock => "locked".into(),
                        DeviceCommand::Wipe => "wiped".into(),
                    });
                    if let Err(e) = done {
                        s.error = Some(e.to_string());
                    }
                });
                store = None;
                runner = None;
                wake = None;
            }
            // The app keeps retrying on the scheduler's plan (`stop_when_refused` is off).
            Next::Refused(_) => wake = None,
        }
    }
}

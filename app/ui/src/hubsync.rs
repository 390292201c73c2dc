//! The sync service over `gridpad-sync`: a background thread with its own connection to
//! the encrypted store runs the sans-IO scheduler (sync after local writes — debounced —,
//! periodically, with back-off on failure, and at once on "sync now") and exchanges with
//! the hub through the shared device session (`gridpad_sync::device`). The UI reads its
//! status; it never waits for the network.

use crate::services::{SyncService, SyncStatus};
use gridpad_core::Store;
use gridpad_sync::device::{self, Session};
use gridpad_sync::driver::DeviceCommand;
use gridpad_sync::{Action, Config, Event, Limits, Outcome, Scheduler};
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

fn now_ms() -> u64 {
    chrono::Utc::now().timestamp_millis().max(0) as u64
}

impl HubSync {
    /// Start the (idle) sync thread; it syncs once [`SyncService::start`] hands it a store.
    pub fn spawn(cfg: Config) -> HubSync {
        let (tx, rx) = mpsc::channel();
        let status = Arc::new(Mutex::new(SyncStatus::default()));
        let st = status.clone();
        let _ = std::thread::Builder::new()
            .name("gridpad-sync".into())
            .spawn(move || run(rx, st, cfg));
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

/// After the records: their seals, then the photos the hub lacks (resumable; what a cut
/// link interrupts continues at the next round). Progress goes to the status.
fn send_evidence(store: &mut Store, session: &mut Session, status: &Mutex<SyncStatus>) {
    if !gridpad_photo::exchange::evidence_pending(store).unwrap_or(false) {
        return;
    }
    update(status, |s| s.running = true);
    let r = gridpad_photo::exchange::send_evidence(store, session, &mut |p| {
        let p = p.clone();
        update(status, |s| s.photo = if p.done { None } else { Some(p) });
    });
    update(status, |s| {
        s.running = false;
        s.photo = None;
        s.rounds += 1;
        if let Err(e) = &r {
            s.error = Some(e.to_string());
        }
    });
}

fn run(rx: mpsc::Receiver<Msg>, status: Arc<Mutex<SyncStatus>>, cfg: Config) {
    let mut store: Option<Store> = None;
    let mut session: Option<Session> = None;
    let mut sched = Scheduler::new(cfg, now_ms());
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
        let mut action = match msg {
            Some(Msg::Start(s)) => {
                let mut s = *s;
                session = match Session::open(&mut s) {
                    Ok(sess) => sess,
                    Err(e) => {
                        update(&status, |st| st.error = Some(e.to_string()));
                        None
                    }
                };
                update(&status, |st| {
                    st.enrolled = session.is_some();
                    st.rounds += 1;
                });
                store = Some(s);
                sched = Scheduler::new(cfg, now_ms());
                Some(sched.handle(Event::Started { now: now_ms() }))
            }
            Some(Msg::Stop) => {
                store = None;
                session = None;
                wake = None;
                update(&status, |st| st.running = false);
                None
            }
            Some(Msg::Now) if store.is_some() => Some(sched.handle(Event::Connectivity {
                online: true,
                now: now_ms(),
            })),
            Some(Msg::Write) if store.is_some() => {
                Some(sched.handle(Event::LocalWrite { now: now_ms() }))
            }
            Some(_) => None,
            None => Some(sched.handle(Event::Timer { now: now_ms() })),
        };
        while let Some(a) = action.take() {
            match a {
                Action::WakeAt(at) => wake = Some(at),
                Action::Exchange => {
                    let (Some(st), Some(sess)) = (store.as_mut(), session.as_mut()) else {
                        // Not enrolled: nothing to exchange with; look again later.
                        action = Some(sched.handle(Event::Finished {
                            now: now_ms(),
                            outcome: Outcome::Failed,
                        }));
                        continue;
                    };
                    update(&status, |s| s.running = true);
                    let result = sess.exchange(st, Limits::default());
                    let outcome = match &result {
                        Ok(r) => Outcome::Done {
                            more: r.more,
                            next_sync_in_ms: r.next_sync_in_ms,
                        },
                        Err(_) => Outcome::Failed,
                    };
                    let mut command = None;
                    update(&status, |s| {
                        s.running = false;
                        s.rounds += 1;
                        match &result {
                            Ok(r) => {
                                s.online = true;
                                s.error = None;
                                s.track_download(r.pulled_ops, r.remaining_ops);
                                command = r.command;
                            }
                            Err(e) => {
                                s.online = !matches!(
                                    e,
                                    gridpad_sync::SyncError::Transport(
                                        gridpad_sync::TransportError::Offline(_)
                                    )
                                );
                                s.error = Some(e.to_string());
                            }
                        }
                    });
                    if let Some(cmd) = command {
                        let done = device::obey(st, cmd);
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
                        session = None;
                        wake = None;
                        break;
                    }
                    if let Outcome::Done { more: false, .. } = outcome {
                        send_evidence(st, sess, &status);
                    }
                    action = Some(sched.handle(Event::Finished {
                        now: now_ms(),
                        outcome,
                    }));
                }
            }
        }
    }
}

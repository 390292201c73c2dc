//! One sync runner for the device, called by `gridpad sync` and by the app's sync thread.
//!
//! The [`Scheduler`] decides *when* and *how much* (the page budget, smaller after a cut);
//! the runner carries out a round: exchanges (push and
//! pull in one request; a 409 gap is answered by the driver from what the store kept)
//! until the hub has nothing more, then the evidence step (seals, then the photos the hub
//! lacks: bounded, see [`crate::retry`]), then — at most every [`UpdateCheck::every_ms`] —
//! asks the hub for an update bundle and hands it to the update agent's inbox, and carries
//! out a fleet command. It tells a [`Progress`] what happens — the command line prints, the
//! app updates its screen.

use crate::device::{self, Session};
use crate::driver::{DeviceCommand, Limits, Report, SyncError};
use crate::evidence::{self, EvidenceError, EvidenceReport, PhotoProgress};
use crate::retry;
use crate::scheduler::{Action, Config, Event, Outcome, Scheduler};
use crate::updates::{self, Handed};
use gridpad_core::Store;
use std::path::PathBuf;

/// What the runner tells its caller as it works; every method does nothing by default.
pub trait Progress {
    /// An exchange is about to start.
    fn exchanging(&mut self) {}
    /// An exchange finished; `totals` since the runner started.
    fn exchanged(&mut self, _report: &Report, _totals: &Totals) {}
    /// An exchange failed; the scheduler plans the retry.
    fn failed(&mut self, _error: &SyncError) {}
    /// The evidence step starts.
    fn evidence_started(&mut self) {}
    /// Where the photo upload is.
    fn photo(&mut self, _progress: &PhotoProgress) {}
    /// The evidence step ended (an error leaves what did not go up queued).
    fn evidence_done(&mut self, _result: &Result<EvidenceReport, EvidenceError>) {}
    /// The hub was asked for an update bundle (a failure is tried again at the next check).
    fn update_checked(&mut self, _result: &Result<Handed, String>) {}
}

/// The update step of a round: where the update agent's inbox is, which bundles fit this
/// device, how often to ask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateCheck {
    /// Debian architecture of the bundles.
    pub target: String,
    /// The version running (an offer of it is no update).
    pub running: String,
    /// The agent's inbox (`<[update] root>/inbox`).
    pub inbox: PathBuf,
    /// At most one check per this many milliseconds (the first round always checks).
    pub every_ms: u64,
}

impl UpdateCheck {
    /// The check the configuration's `[update]` table describes — when its inbox exists
    /// on this machine (the Debian package makes it): a developer's desktop has none.
    pub fn from_config(cfg: &gridpad_config::UpdateConfig, running: &str) -> Option<UpdateCheck> {
        let inbox = cfg.inbox();
        inbox.is_dir().then(|| UpdateCheck {
            target: cfg.device_target(),
            running: running.to_string(),
            inbox,
            every_ms: crate::retry::UPDATE_CHECK_EVERY.as_millis() as u64,
        })
    }
}

/// Nothing to tell.
impl Progress for () {}

/// What the exchanges of a runner did, summed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    pub pushed: u64,
    pub acked: u64,
    pub rejected: u64,
    pub conflicts: u64,
    pub pulled_ops: u64,
}

impl Totals {
    fn add(&mut self, r: &Report) {
        self.pushed += r.pushed;
        self.acked += r.acked;
        self.rejected += r.rejected;
        self.conflicts += r.conflicts;
        self.pulled_ops += r.pulled_ops;
    }
}

/// What the caller does next.
#[derive(Debug)]
pub enum Next {
    /// Wait until then (ms since the epoch), or for the next event.
    WakeAt(u64),
    /// The centre's command was carried out (lock: nothing past the login; wipe: the data
    /// is gone — the store must not be used again). `Err`: carrying it out failed.
    Obeyed(DeviceCommand, Result<(), gridpad_core::Error>),
    /// The hub refused this device or a request for good; only with
    /// [`Runner::stop_when_refused`].
    Refused(SyncError),
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    #[error("the command centre locked this device")]
    Locked,
    #[error("the command centre wiped this device: its data is gone")]
    Wiped,
    #[error("carrying out the centre's command: {0}")]
    Obey(gridpad_core::Error),
}

/// The device's sync with the hub it is enrolled with.
pub struct Runner {
    session: Session,
    sched: Scheduler,
    /// Stop at an error retrying cannot fix (the command line) instead of retrying on the
    /// scheduler's plan (the app, which shows the error and keeps trying).
    pub stop_when_refused: bool,
    /// Every exchange's figures, summed.
    pub totals: Totals,
    /// The last evidence step's report.
    pub evidence: EvidenceReport,
    updates: Option<UpdateCheck>,
    updates_checked_ms: Option<u64>,
}

/// The first wait of `once` after a failed exchange (doubling, [`retry::delay`]).
const ONCE_FIRST_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Milliseconds since the epoch, by the device's clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Runner {
    /// `None` when the store is not enrolled with a hub.
    pub fn open(store: &mut Store, cfg: Config) -> Result<Option<Runner>, SyncError> {
        Ok(Session::open(store)?.map(|session| Runner {
            session,
            sched: Scheduler::new(cfg, now_ms()),
            stop_when_refused: false,
            totals: Totals::default(),
            evidence: EvidenceReport::default(),
            updates: None,
            updates_checked_ms: None,
        }))
    }

    /// Ask the hub for update bundles during rounds and hand them to the agent.
    pub fn check_updates(mut self, check: Option<UpdateCheck>) -> Self {
        self.updates = check;
        self
    }

    /// The authenticated session (for a photo download, say).
    pub fn session(&mut self) -> &mut Session {
        &mut self.session
    }

    /// Feed the scheduler an event and carry out the exchanges it asks for: each
    /// exchange, then — once the hub has nothing more — the evidence step if anything
    /// waits for it. Returns when the scheduler wants to wait.
    pub fn handle(&mut self, store: &mut Store, event: Event, progress: &mut dyn Progress) -> Next {
        let mut action = self.sched.handle(event);
        loop {
            match action {
                Action::WakeAt(at) => return Next::WakeAt(at),
                Action::Exchange => {}
            }
            let outcome = match self.exchange(store, progress) {
                Ok(r) => {
                    if let Some(cmd) = r.command {
                        return Next::Obeyed(cmd, device::obey(store, cmd));
                    }
                    if !r.more && evidence::evidence_pending(store).unwrap_or(false) {
                        let _ = self.send_evidence(store, progress);
                    }
                    if !r.more {
                        self.update_step(store, progress);
                    }
                    Outcome::Done {
                        more: r.more,
                        next_sync_in_ms: r.next_sync_in_ms,
                    }
                }
                Err(e) => {
                    progress.failed(&e);
                    if self.stop_when_refused && !e.retryable() {
                        return Next::Refused(e);
                    }
                    Outcome::Failed
                }
            };
            action = self.sched.handle(Event::Finished {
                now: now_ms(),
                outcome,
            });
        }
    }

    /// `gridpad sync --once`: exchange until the hub has nothing more, then seals and
    /// photos. An exchange that failed for a reason worth retrying (a cut, a timeout, a hub
    /// in trouble) is tried again after a back-off ([`retry::delay`]), asking for a smaller
    /// page each time (the scheduler's budget); [`retry::EXCHANGE_TRIES`] failures in a row,
    /// or any other failure, end the run (what did not go is kept for the next one).
    pub fn once(&mut self, store: &mut Store, progress: &mut dyn Progress) -> Result<(), RunError> {
        loop {
            let r = match self.exchange(store, progress) {
                Ok(r) => r,
                Err(e) => {
                    progress.failed(&e);
                    self.sched.handle(Event::Finished {
                        now: now_ms(),
                        outcome: Outcome::Failed,
                    });
                    let failures = self.sched.failures();
                    if !e.retryable() || failures >= retry::EXCHANGE_TRIES {
                        return Err(e.into());
                    }
                    std::thread::sleep(retry::delay(ONCE_FIRST_WAIT, failures));
                    continue;
                }
            };
            self.sched.handle(Event::Finished {
                now: now_ms(),
                outcome: Outcome::Done {
                    more: r.more,
                    next_sync_in_ms: r.next_sync_in_ms,
                },
            });
            if let Some(cmd) = r.command {
                device::obey(store, cmd).map_err(RunError::Obey)?;
                return Err(match cmd {
                    DeviceCommand::Lock => RunError::Locked,
                    DeviceCommand::Wipe => RunError::Wiped,
                });
            }
            if !r.more {
                self.send_evidence(store, progress)?;
                self.update_step(store, progress);
                return Ok(());
            }
        }
    }

    /// One exchange; figures to the totals and to `progress`.
    fn exchange(
        &mut self,
        store: &mut Store,
        progress: &mut dyn Progress,
    ) -> Result<Report, SyncError> {
        progress.exchanging();
        let limits = Limits::for_page(self.sched.page_bytes());
        let r = self.session.exchange(store, limits)?;
        self.totals.add(&r);
        progress.exchanged(&r, &self.totals);
        Ok(r)
    }

    /// The update step, when configured and due: the hub's newest bundle for this device
    /// into the agent's inbox. Its failure fails nothing else (the next check tries again).
    fn update_step(&mut self, store: &mut Store, progress: &mut dyn Progress) {
        let Some(check) = self.updates.clone() else {
            return;
        };
        let now = now_ms();
        if let Some(last) = self.updates_checked_ms {
            if now < last.saturating_add(check.every_ms) {
                return;
            }
        }
        self.updates_checked_ms = Some(now);
        let result = self
            .session
            .token_client(store)
            .map_err(|e| e.to_string())
            .and_then(|client| {
                updates::hand_to_agent(&client, &check.target, &check.running, &check.inbox)
                    .map_err(|e| e.to_string())
            });
        progress.update_checked(&result);
    }

    /// The evidence step: seals, then photos.
    fn send_evidence(
        &mut self,
        store: &mut Store,
        progress: &mut dyn Progress,
    ) -> Result<(), EvidenceError> {
        progress.evidence_started();
        let r = evidence::send_evidence(store, &mut self.session, &mut |p| progress.photo(p));
        progress.evidence_done(&r);
        let rep = r?;
        self.evidence = rep;
        Ok(())
    }
}

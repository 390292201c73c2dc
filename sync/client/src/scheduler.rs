//! When to sync: a sans-IO state machine. It is fed events (start, a local write,
//! connectivity, a timer, the end of an exchange) and answers with actions (exchange now,
//! wake me at T). It owns no clock, socket or thread, so it can be driven by a real loop
//! or by a deterministic simulation alike.
//!
//! Rules: sync soon after local writes (debounced), at once when connectivity returns,
//! periodically otherwise; while failing, back off exponentially with jitter from 5 s to
//! 5 min — and a failed exchange always schedules a retry. An exchange that stays in
//! flight longer than its watchdog is treated as failed.
//!
//! It also says *how much* an exchange asks for ([`Scheduler::page_bytes`]): the page
//! budget halves after a failed exchange (a cut wastes at most what was in flight, and the
//! next, smaller answer fits between cuts) down to [`PAGE_MIN`], and doubles after two
//! completed exchanges in a row back up to [`PAGE_MAX`] ([`Adaptive`]).

use crate::retry::{Adaptive, PAGE_MAX, PAGE_MIN};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The exchange completed. `more`: pages or pushes are left — go again at once.
    Done { more: bool, next_sync_in_ms: u64 },
    /// It failed (network, server). Retry later.
    Failed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Started { now: u64 },
    LocalWrite { now: u64 },
    Connectivity { online: bool, now: u64 },
    Timer { now: u64 },
    Finished { now: u64, outcome: Outcome },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start an exchange now.
    Exchange,
    /// Nothing to do before this time (ms).
    WakeAt(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    pub debounce_ms: u64,
    pub periodic_ms: u64,
    pub backoff_min_ms: u64,
    pub backoff_max_ms: u64,
    /// An exchange in flight longer than this counts as failed.
    pub watchdog_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            debounce_ms: 3_000,
            periodic_ms: 300_000,
            backoff_min_ms: 5_000,
            backoff_max_ms: 300_000,
            watchdog_ms: 180_000,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Scheduler {
    cfg: Config,
    online: bool,
    inflight_since: Option<u64>,
    next_at: Option<u64>,
    failures: u32,
    /// How many bytes of pages the next exchange asks for.
    pages: Adaptive,
    /// xorshift state for jitter (seeded: deterministic under simulation).
    rng: u64,
}

impl Scheduler {
    pub fn new(cfg: Config, seed: u64) -> Self {
        Scheduler {
            cfg,
            online: true,
            inflight_since: None,
            next_at: None,
            failures: 0,
            pages: Adaptive::new(PAGE_MAX, PAGE_MIN, PAGE_MAX),
            rng: seed | 1,
        }
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The page budget of the next exchange, in bytes before compression: pulled pages up
    /// to this, pushed mutations up to half of it.
    pub fn page_bytes(&self) -> u64 {
        self.pages.size
    }

    pub fn in_flight(&self) -> bool {
        self.inflight_since.is_some()
    }

    pub fn next_at(&self) -> Option<u64> {
        self.next_at
    }

    fn jitter(&mut self, ms: u64) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        // ±20 %
        let span = ms / 5;
        if span == 0 {
            return ms;
        }
        ms - span + self.rng % (2 * span + 1)
    }

    fn plan(&mut self, at: u64) -> Action {
        let at = match self.next_at {
            Some(t) if t <= at => t,
            _ => at,
        };
        self.next_at = Some(at);
        Action::WakeAt(at)
    }

    fn start(&mut self, now: u64) -> Action {
        self.inflight_since = Some(now);
        self.next_at = None;
        Action::Exchange
    }

    pub fn handle(&mut self, ev: Event) -> Action {
        match ev {
            Event::Started { now } => {
                if self.online {
                    self.start(now)
                } else {
                    self.plan(now + self.cfg.periodic_ms)
                }
            }
            Event::LocalWrite { now } => {
                if self.inflight_since.is_some() {
                    // The running exchange may miss it: make sure another one follows.
                    self.plan(now + self.cfg.debounce_ms)
                } else if self.online && self.failures == 0 {
                    self.plan(now + self.cfg.debounce_ms)
                } else {
                    self.plan(self.next_at.unwrap_or(now + self.cfg.backoff_min_ms))
                }
            }
            Event::Connectivity { online, now } => {
                self.online = online;
                if online {
                    self.failures = 0;
                    if self.inflight_since.is_none() {
                        return self.start(now);
                    }
                }
                self.plan(self.next_at.unwrap_or(now + self.cfg.periodic_ms))
            }
            Event::Timer { now } => {
                if let Some(since) = self.inflight_since {
                    if now.saturating_sub(since) >= self.cfg.watchdog_ms {
                        return self.handle(Event::Finished {
                            now,
                            outcome: Outcome::Failed,
                        });
                    }
                    return self.plan(since + self.cfg.watchdog_ms);
                }
                match self.next_at {
                    Some(t) if t <= now => self.start(now),
                    Some(t) => Action::WakeAt(t),
                    None => self.plan(now + self.cfg.periodic_ms),
                }
            }
            Event::Finished { now, outcome } => {
                self.inflight_since = None;
                let pending_write = self.next_at;
                self.next_at = None;
                match outcome {
                    Outcome::Done { .. } => self.pages.success(),
                    Outcome::Failed => self.pages.failure(),
                }
                match outcome {
                    Outcome::Done { more: true, .. } => {
                        self.failures = 0;
                        self.start(now)
                    }
                    Outcome::Done {
                        more: false,
                        next_sync_in_ms,
                    } => {
                        self.failures = 0;
                        let periodic =
                            now + next_sync_in_ms.clamp(1_000, self.cfg.periodic_ms.max(1_000));
                        let at = pending_write.map_or(periodic, |w| w.min(periodic)).max(now);
                        self.plan(at)
                    }
                    Outcome::Failed => {
                        self.failures = self.failures.saturating_add(1);
                        let exp = self
                            .cfg
                            .backoff_min_ms
                            .saturating_mul(1u64 << (self.failures - 1).min(16))
                            .min(self.cfg.backoff_max_ms);
                        let delay = self.jitter(exp);
                        self.plan(now + delay)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_at_once_and_goes_again_while_there_is_more() {
        let mut s = Scheduler::new(Config::default(), 1);
        assert_eq!(s.handle(Event::Started { now: 0 }), Action::Exchange);
        assert_eq!(
            s.handle(Event::Finished {
                now: 10,
                outcome: Outcome::Done {
                    more: true,
                    next_sync_in_ms: 300_000
                }
            }),
            Action::Exchange
        );
        assert_eq!(
            s.handle(Event::Finished {
                now: 20,
                outcome: Outcome::Done {
                    more: false,
                    next_sync_in_ms: 300_000
                }
            }),
            Action::WakeAt(300_020)
        );
    }

    #[test]
    fn a_failure_always_schedules_a_retry_with_growing_capped_backoff() {
        let cfg = Config::default();
        let mut s = Scheduler::new(cfg, 7);
        s.handle(Event::Started { now: 0 });
        let mut now = 0;
        let mut delays = vec![];
        for _ in 0..12 {
            let Action::WakeAt(at) = s.handle(Event::Finished {
                now,
                outcome: Outcome::Failed,
            }) else {
                panic!("a failure must schedule a retry")
            };
            delays.push(at - now);
            now = at;
            assert_eq!(s.handle(Event::Timer { now }), Action::Exchange);
        }
        assert!(delays[0] >= 4_000 && delays[0] <= 6_000, "{delays:?}");
        assert!(delays[3] > delays[0] * 4, "{delays:?}");
        assert!(
            delays.iter().all(|d| *d <= cfg.backoff_max_ms * 6 / 5),
            "{delays:?}"
        );
    }

    #[test]
    fn local_writes_are_debounced_and_connectivity_resets_backoff() {
        let mut s = Scheduler::new(Config::default(), 3);
        s.handle(Event::Started { now: 0 });
        s.handle(Event::Finished {
            now: 0,
            outcome: Outcome::Done {
                more: false,
                next_sync_in_ms: 300_000,
            },
        });
        assert_eq!(
            s.handle(Event::LocalWrite { now: 1_000 }),
            Action::WakeAt(4_000)
        );
        assert_eq!(
            s.handle(Event::LocalWrite { now: 2_000 }),
            Action::WakeAt(4_000)
        );
        assert_eq!(s.handle(Event::Timer { now: 4_000 }), Action::Exchange);
        s.handle(Event::Finished {
            now: 4_100,
            outcome: Outcome::Failed,
        });
        s.handle(Event::Connectivity {
            online: false,
            now: 5_000,
        });
        assert_eq!(
            s.handle(Event::Connectivity {
                online: true,
                now: 6_000
            }),
            Action::Exchange
        );
        assert_eq!(s.failures(), 0);
    }

    #[test]
    fn a_hung_exchange_is_failed_by_the_watchdog() {
        let cfg = Config::default();
        let mut s = Scheduler::new(cfg, 5);
        s.handle(Event::Started { now: 0 });
        assert_eq!(
            s.handle(Event::Timer { now: 1_000 }),
            Action::WakeAt(cfg.watchdog_ms)
        );
        let a = s.handle(Event::Timer {
            now: cfg.watchdog_ms,
        });
        assert!(matches!(a, Action::WakeAt(_)));
        assert!(!s.in_flight());
        assert_eq!(s.failures(), 1);
    }

    #[test]
    fn a_cut_exchange_asks_for_half_the_pages_and_successes_earn_them_back() {
        let mut s = Scheduler::new(Config::default(), 11);
        let (full, floor) = (PAGE_MAX, PAGE_MIN);
        assert_eq!(s.page_bytes(), full, "a good link gets full pages at once");
        s.handle(Event::Started { now: 0 });
        let mut now = 0;
        let mut asked = vec![];
        // A link that cuts every exchange: each retry asks for half, down to the floor.
        for _ in 0..7 {
            let Action::WakeAt(at) = s.handle(Event::Finished {
                now,
                outcome: Outcome::Failed,
            }) else {
                panic!("a failure schedules a retry")
            };
            now = at;
            assert_eq!(s.handle(Event::Timer { now }), Action::Exchange);
            asked.push(s.page_bytes());
        }
        assert_eq!(
            asked,
            [full / 2, full / 4, full / 8, full / 16, floor, floor, floor]
        );
        // The link holds again: the budget doubles after every second completed exchange.
        asked.clear();
        for _ in 0..10 {
            let done = Outcome::Done {
                more: true,
                next_sync_in_ms: 300_000,
            };
            assert_eq!(
                s.handle(Event::Finished { now, outcome: done }),
                Action::Exchange
            );
            asked.push(s.page_bytes() / 1024);
        }
        assert_eq!(asked, [16, 32, 32, 64, 64, 128, 128, 256, 256, 512]);
        // One cut among successes costs one halving, not the way back to the floor.
        s.handle(Event::Finished {
            now,
            outcome: Outcome::Failed,
        });
        assert_eq!(s.page_bytes(), full / 2);
    }

    #[test]
    fn a_write_during_an_exchange_gets_its_own_exchange() {
        let mut s = Scheduler::new(Config::default(), 9);
        s.handle(Event::Started { now: 0 });
        s.handle(Event::LocalWrite { now: 100 });
        let a = s.handle(Event::Finished {
            now: 200,
            outcome: Outcome::Done {
                more: false,
                next_sync_in_ms: 300_000,
            },
        });
        assert_eq!(a, Action::WakeAt(3_100));
    }
}

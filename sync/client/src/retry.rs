//! How the device waits and gives up, in one place. The exchange's own schedule (sync
//! after writes, periodically, 5 s → 5 min with jitter after a failure) is the
//! [`crate::scheduler`]'s; within one round:
//!
//! - a small request (seals, "which photos do you lack") is tried [`SMALL_TRIES`] times,
//!   0.5 s doubling between ([`retrying`]);
//! - a photo upload backs off 0.5 s doubling to 30 s after each failed request
//!   ([`delay`]); [`MAX_FAILURES`] failed requests in a row end the photo step (the link
//!   is down); a photo's turn ends after [`MAX_STALLS`] answers without progress or a
//!   third fresh start ([`MAX_RESTARTS`]), and the next photo goes on ([`Turn`]). What
//!   did not go up stays queued for the next round: nothing is lost;
//! - a `gridpad sync --once` run tries an exchange again after a failure worth retrying,
//!   0.5 s doubling between ([`delay`]), and ends after [`EXCHANGE_TRIES`] failures in a
//!   row;
//! - sizes that adapt to the link ([`Adaptive`]): halved after a failure, doubled after
//!   two successes in a row — the photo chunk (16 KiB–1 MiB) and the exchange's page
//!   budget ([`PAGE_MIN`]–[`PAGE_MAX`], held by the [`crate::scheduler`]).

use std::time::Duration;

/// Tries of a small request.
pub const SMALL_TRIES: u32 = 5;
/// Failed upload requests in a row that end the photo step of a round.
pub const MAX_FAILURES: u32 = 12;
/// Answers without progress (the hub's offset stays where it was) that end a photo's turn
/// for this round.
pub const MAX_STALLS: u32 = 3;
/// Fresh starts of one photo's upload (the hub forgot it, or discarded it) in one round.
pub const MAX_RESTARTS: u32 = 2;
/// Failed exchanges in a row that end a `gridpad sync --once` run (what did not go is
/// kept for the next one). With the page budget halved after each, the fifth retry asks
/// for a [`PAGE_MIN`] page.
pub const EXCHANGE_TRIES: u32 = 6;
/// The page budget of an exchange on a good link: pulled pages up to this many bytes
/// (before compression), pushes up to half of it.
pub const PAGE_MAX: u64 = 512 * 1024;
/// The smallest page budget a cut link brings it down to.
pub const PAGE_MIN: u64 = 16 * 1024;
/// The longest wait between two upload requests.
pub const MAX_DELAY: Duration = Duration::from_secs(30);
/// The update step asks the hub for a bundle at most this often (an update is no
/// emergency; a check costs a login and a request).
pub const UPDATE_CHECK_EVERY: Duration = Duration::from_secs(3_600);

/// The wait after the `failures`-th failure in a row: `first`, doubling, at most
/// [`MAX_DELAY`].
pub fn delay(first: Duration, failures: u32) -> Duration {
    (first * 2u32.saturating_pow(failures.saturating_sub(1).min(6))).min(MAX_DELAY)
}

/// A small request on a bad link: tried up to [`SMALL_TRIES`] times, 0.5 s doubling
/// between, while `retry` says the error is worth it.
pub fn retrying<T, E>(
    mut f: impl FnMut() -> Result<T, E>,
    retry: impl Fn(&E) -> bool,
) -> Result<T, E> {
    let mut wait = Duration::from_millis(500);
    for _ in 1..SMALL_TRIES {
        match f() {
            Err(e) if retry(&e) => {
                std::thread::sleep(wait);
                wait *= 2;
            }
            other => return other,
        }
    }
    f()
}

/// A size that adapts to the link: halved after a failure (not below `min`), doubled
/// after two successes in a row (not above `max`). A cut costs at most what was in flight,
/// so after cuts the next requests are small enough to get through, and a link that
/// holds earns the large ones back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Adaptive {
    pub size: u64,
    min: u64,
    max: u64,
    streak: u32,
}

impl Adaptive {
    /// Starting at `start`, kept within `min..=max`.
    pub fn new(start: u64, min: u64, max: u64) -> Self {
        Adaptive {
            size: start.clamp(min, max),
            min,
            max,
            streak: 0,
        }
    }

    /// The request of this size went through.
    pub fn success(&mut self) {
        self.streak += 1;
        if self.streak >= 2 {
            self.size = (self.size * 2).min(self.max);
            self.streak = 0;
        }
    }

    /// It failed (cut, timeout): the next one is half as large.
    pub fn failure(&mut self) {
        self.size = (self.size / 2).max(self.min);
        self.streak = 0;
    }
}

/// Why a photo's turn ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TurnDecision {
    /// Go on with this photo.
    Continue,
    /// Its turn is over for this round: the next photo.
    Defer(&'static str),
}

/// One photo's turn in a round: what bounds it.
#[derive(Clone, Debug, Default)]
pub struct Turn {
    /// Failed requests in a row, and in all.
    pub failures: u32,
    pub attempts: u32,
    /// Answers in a row that did not move the hub's offset.
    pub stalls: u32,
    pub restarts: u32,
    /// Completion was asked of the hub holding every byte.
    pub asked_completion: bool,
}

impl Turn {
    /// An answer that did not move the hub's offset.
    pub fn stalled(&mut self, why: &'static str) -> TurnDecision {
        self.stalls += 1;
        if self.stalls >= MAX_STALLS {
            TurnDecision::Defer(why)
        } else {
            TurnDecision::Continue
        }
    }

    /// The hub's offset moved.
    pub fn progressed(&mut self) {
        self.stalls = 0;
    }

    /// The upload starts again from zero.
    pub fn restart(&mut self) -> TurnDecision {
        self.restarts += 1;
        if self.restarts > MAX_RESTARTS {
            TurnDecision::Defer("the hub keeps losing the upload")
        } else {
            TurnDecision::Continue
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let first = Duration::from_millis(500);
        let d: Vec<u64> = (1..=9)
            .map(|n| delay(first, n).as_millis() as u64)
            .collect();
        assert_eq!(d, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    }

    #[test]
    fn an_adaptive_size_halves_to_its_floor_and_doubles_back_after_two_successes() {
        let mut a = Adaptive::new(PAGE_MAX, PAGE_MIN, PAGE_MAX);
        let mut seen = vec![];
        for _ in 0..7 {
            a.failure();
            seen.push(a.size / 1024);
        }
        assert_eq!(seen, [256, 128, 64, 32, 16, 16, 16]);
        seen.clear();
        for _ in 0..12 {
            a.success();
            seen.push(a.size / 1024);
        }
        assert_eq!(
            seen,
            [16, 32, 32, 64, 64, 128, 128, 256, 256, 512, 512, 512]
        );
        // A failure in between starts the count of successes again.
        a.failure();
        a.success();
        a.failure();
        a.success();
        assert_eq!(a.size / 1024, 128);
        assert_eq!(Adaptive::new(1, 16, 64).size, 16, "a start below the floor");
    }

    #[test]
    fn a_turn_ends_after_three_stalls_or_a_third_restart() {
        let mut t = Turn::default();
        assert_eq!(t.stalled("x"), TurnDecision::Continue);
        t.progressed();
        assert_eq!(t.stalled("x"), TurnDecision::Continue);
        assert_eq!(t.stalled("x"), TurnDecision::Continue);
        assert_eq!(t.stalled("x"), TurnDecision::Defer("x"));
        let mut t = Turn::default();
        assert_eq!(t.restart(), TurnDecision::Continue);
        assert_eq!(t.restart(), TurnDecision::Continue);
        assert!(matches!(t.restart(), TurnDecision::Defer(_)));
    }
}

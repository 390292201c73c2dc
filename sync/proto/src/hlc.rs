//! Hybrid logical clock (Kulkarni et al.): `(wall milliseconds, counter, node)`.
//!
//! The text form `0000018c2f3a1b2c-0001-<node>` (16 hex digits of milliseconds, 4 hex
//! digits of counter, node id) sorts lexicographically in clock order, so it can be
//! compared as a string in SQLite and PostgreSQL alike.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// One timestamp of a hybrid logical clock.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Hlc {
    /// Wall-clock component, milliseconds since the Unix epoch.
    pub millis: u64,
    /// Logical counter that orders events within one millisecond.
    pub counter: u16,
    /// The node (device id or `hub`) that issued the timestamp; breaks ties.
    pub node: String,
}

impl Hlc {
    pub fn new(millis: u64, counter: u16, node: impl Into<String>) -> Self {
        Hlc {
            millis,
            counter,
            node: node.into(),
        }
    }

    /// The hub's drift guard: a timestamp may not run ahead of the hub's own clock by more
    /// than `max_drift_ms`. A device whose clock is a year fast can therefore not beat a
    /// central edit by more than the allowed drift.
    pub fn clamped(&self, server_now_ms: u64, max_drift_ms: u64) -> Hlc {
        let ceiling = server_now_ms.saturating_add(max_drift_ms);
        if self.millis > ceiling {
            Hlc::new(ceiling, self.counter, self.node.clone())
        } else {
            self.clone()
        }
    }
}

impl Ord for Hlc {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.millis, self.counter, &self.node).cmp(&(other.millis, other.counter, &other.node))
    }
}

impl PartialOrd for Hlc {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}-{:04x}-{}", self.millis, self.counter, self.node)
    }
}

/// A string that is not an HLC in its text form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a hybrid logical clock timestamp: {0:?}")]
pub struct HlcParseError(pub String);

impl FromStr for Hlc {
    type Err = HlcParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || HlcParseError(s.chars().take(64).collect());
        let mut parts = s.splitn(3, '-');
        let millis = parts.next().ok_or_else(err)?;
        let counter = parts.next().ok_or_else(err)?;
        let node = parts.next().ok_or_else(err)?;
        if millis.len() != 16 || counter.len() != 4 || node.is_empty() {
            return Err(err());
        }
        Ok(Hlc {
            millis: u64::from_str_radix(millis, 16).map_err(|_| err())?,
            counter: u16::from_str_radix(counter, 16).map_err(|_| err())?,
            node: node.to_string(),
        })
    }
}

impl TryFrom<String> for Hlc {
    type Error = HlcParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Hlc> for String {
    fn from(h: Hlc) -> String {
        h.to_string()
    }
}

/// The clock of one node. It never goes backwards, even when the wall clock does
/// (a reset RTC, a GNSS correction), so a device always orders its own writes.
#[derive(Clone, Debug)]
pub struct HlcClock {
    node: String,
    last: Hlc,
}

impl HlcClock {
    /// A clock for `node` that resumes after `last` (persisted by the caller).
    pub fn new(node: impl Into<String>, last: Option<Hlc>) -> Self {
        let node = node.into();
        let last = last.unwrap_or_else(|| Hlc::new(0, 0, node.clone()));
        HlcClock { node, last }
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    pub fn last(&self) -> &Hlc {
        &self.last
    }

    /// Timestamp a local event at wall time `now_ms`.
    pub fn tick(&mut self, now_ms: u64) -> Hlc {
        let (millis, counter) = if now_ms > self.last.millis {
            (now_ms, 0)
        } else {
            self.bump(self.last.millis, self.last.counter)
        };
        self.last = Hlc::new(millis, counter, self.node.clone());
        self.last.clone()
    }

    /// Merge a timestamp received from another node (e.g. the hub) at wall time `now_ms`.
    pub fn observe(&mut self, remote: &Hlc, now_ms: u64) -> Hlc {
        let max = now_ms.max(self.last.millis).max(remote.millis);
        let (millis, counter) = if max == self.last.millis && max == remote.millis {
            self.bump(max, self.last.counter.max(remote.counter))
        } else if max == self.last.millis {
            self.bump(max, self.last.counter)
        } else if max == remote.millis {
            self.bump(max, remote.counter)
        } else {
            (max, 0)
        };
        self.last = Hlc::new(millis, counter, self.node.clone());
        self.last.clone()
    }

    fn bump(&self, millis: u64, counter: u16) -> (u64, u16) {
        match counter.checked_add(1) {
            Some(c) => (millis, c),
            // 65,536 events in one millisecond: borrow the next millisecond.
            None => (millis + 1, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_sorts_like_the_clock() {
        let a = Hlc::new(1_700_000_000_000, 5, "dev-a");
        let b = Hlc::new(1_700_000_000_000, 6, "dev-a");
        let c = Hlc::new(1_700_000_000_001, 0, "dev-a");
        assert!(a < b && b < c);
        assert!(a.to_string() < b.to_string() && b.to_string() < c.to_string());
        assert_eq!(a.to_string().parse::<Hlc>().unwrap(), a);
    }

    #[test]
    fn node_ids_with_dashes_round_trip() {
        let h = Hlc::new(42, 1, "0190a4b2-7c3d-7e00-8000-000000000001");
        assert_eq!(h.to_string().parse::<Hlc>().unwrap(), h);
    }

    #[test]
    fn garbage_is_refused() {
        for s in [
            "",
            "abc",
            "0000000000000001-0001-",
            "zzzzzzzzzzzzzzzz-0001-n",
            "1-1-n",
        ] {
            assert!(s.parse::<Hlc>().is_err(), "{s}");
        }
    }

    #[test]
    fn clock_never_runs_backwards_when_the_wall_clock_does() {
        let mut c = HlcClock::new("d", None);
        let t1 = c.tick(10_000);
        let t2 = c.tick(5_000); // RTC reset
        let t3 = c.tick(5_000);
        assert!(t1 < t2 && t2 < t3);
        assert_eq!(t2.millis, 10_000);
    }

    #[test]
    fn observing_a_future_remote_moves_the_clock_past_it() {
        let mut c = HlcClock::new("d", None);
        c.tick(1_000);
        let remote = Hlc::new(9_000, 3, "hub");
        let t = c.observe(&remote, 2_000);
        assert!(t > remote);
        assert!(c.tick(2_000) > t);
    }

    #[test]
    fn counter_overflow_borrows_a_millisecond() {
        let mut c = HlcClock::new("d", Some(Hlc::new(7, u16::MAX, "d")));
        let t = c.tick(7);
        assert_eq!((t.millis, t.counter), (8, 0));
    }

    #[test]
    fn hub_clamps_a_fast_device_clock() {
        let year_ahead = Hlc::new(1_000 + 365 * 86_400_000, 0, "d");
        let clamped = year_ahead.clamped(1_000, 300_000);
        assert_eq!(clamped.millis, 301_000);
        let honest = Hlc::new(900, 0, "d");
        assert_eq!(honest.clamped(1_000, 300_000), honest);
    }
}

//! May the user get past the login? A device the command centre locked, or one that has
//! not reached gridhub for `lock_after_days_offline` days (a lost or stolen handheld kept
//! away from the network), shows nothing past the login until a successful contact with
//! the hub — which may then lock or wipe it, or lift the lock.
//!
//! What stays allowed while locked: contacting the hub (sync, enrollment). A sync of a
//! locked device still pushes what waits in its outbox — the centre gets the reports —
//! and its answer decides: no command lifts both locks, `lock` keeps the centre's lock,
//! `wipe` destroys the key and the data.
//!
//! The store records (in its encrypted `kv` table, not synced):
//! - `last_hub_contact`: the time of the last successful exchange with the hub (RFC 3339);
//! - `clock_high_water`: the latest wall-clock time the device has seen in a check, so
//!   turning the clock back does not undo offline time already seen (it can only stop the
//!   count until the clock passes that time again);
//! - `locked`: `1` while the centre's lock is in force.

use crate::{Error, Result, Store};
use chrono::{DateTime, Utc};
use gridpad_proto::wire::DeviceCommand;

const LAST_CONTACT: &str = "last_hub_contact";
const HIGH_WATER: &str = "clock_high_water";
const LOCKED: &str = "locked";

/// The answer to "may the user get past the login?".
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Access {
    /// Everything is allowed.
    Open,
    /// The command centre locked this device (lost device); only contact with the hub.
    LockedByCentre,
    /// No contact with the hub for longer than allowed; only contact with the hub.
    OfflineTooLong {
        last_contact: DateTime<Utc>,
        days_offline: u64,
        limit_days: u32,
    },
}

impl Access {
    pub fn is_open(&self) -> bool {
        matches!(self, Access::Open)
    }

    /// What the login (or the command line) tells the user when it refuses; `None` if open.
    pub fn refusal(&self) -> Option<String> {
        match self {
            Access::Open => None,
            Access::LockedByCentre => Some(
                "the command centre locked this device; contact the command centre (sync is still allowed, so the centre can lift the lock)".into(),
            ),
            Access::OfflineTooLong {
                last_contact,
                days_offline,
                limit_days,
            } => Some(format!(
                "this device has not reached the command centre for {days_offline} days (last contact {}, limit {limit_days} days): connect it to the network and sync to unlock",
                last_contact.format("%Y-%m-%d %H:%M UTC")
            )),
        }
    }

    /// The refusal as an error ([`Error::NotAllowed`]); `Ok(())` if open.
    pub fn require_open(&self) -> Result<()> {
        match self.refusal() {
            None => Ok(()),
            Some(why) => Err(Error::NotAllowed(why)),
        }
    }
}

fn parse_time(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc))
}

impl Store {
    /// Record a successful exchange with the hub and obey its lock: `Lock` keeps (or sets)
    /// the centre's lock, no command lifts it. `Wipe` is the caller's to carry out (it
    /// destroys this store). Call after every successful response from the hub.
    pub fn record_hub_contact(&mut self, command: Option<DeviceCommand>) -> Result<()> {
        let now = self.now().to_rfc3339();
        self.set_kv(LAST_CONTACT, &now)?;
        match command {
            Some(DeviceCommand::Lock) => self.set_kv(LOCKED, "1"),
            None => self.set_kv(LOCKED, "0"),
            Some(DeviceCommand::Wipe) => Ok(()),
        }
    }

    /// The time of the last successful contact with the hub, if any.
    pub fn last_hub_contact(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(parse_time(self.kv(LAST_CONTACT)?))
    }

    /// May the user get past the login? `limit_days` is `lock_after_days_offline` (0 =
    /// never). The offline time counts from the last hub contact; a device that has never
    /// contacted a hub (not enrolled) is not self-locked, and an enrolled store without a
    /// recorded contact (made by an older Gridpad) starts counting now.
    pub fn access(&mut self, limit_days: u32) -> Result<Access> {
        if self.kv(LOCKED)?.as_deref() == Some("1") {
            return Ok(Access::LockedByCentre);
        }
        if limit_days == 0 {
            return Ok(Access::Open);
        }
        let now = self.now();
        let high_water = parse_time(self.kv(HIGH_WATER)?).unwrap_or(now);
        let effective_now = now.max(high_water);
        if effective_now > high_water || self.kv(HIGH_WATER)?.is_none() {
            self.set_kv(HIGH_WATER, &effective_now.to_rfc3339())?;
        }
        let last = match self.last_hub_contact()? {
            Some(t) => t,
            None if self.kv("hub_url")?.is_some() => {
                self.set_kv(LAST_CONTACT, &now.to_rfc3339())?;
                now
            }
            None => return Ok(Access::Open),
        };
        let offline = effective_now.signed_duration_since(last);
        let days_offline = offline.num_days().max(0) as u64;
        if offline > chrono::Duration::days(limit_days as i64) {
            return Ok(Access::OfflineTooLong {
                last_contact: last,
                days_offline,
                limit_days,
            });
        }
        Ok(Access::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InitOptions;
    use chrono::TimeZone;
    use std::path::Path;
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;

    const DAY: i64 = 86_400;

    fn store(dir: &Path, clock: Arc<AtomicI64>) -> Store {
        let mut s = Store::init(
            dir,
            "246810",
            InitOptions {
                device_id: Some("dev-1".into()),
                kdf_iterations: 1_000,
            },
        )
        .unwrap();
        s.set_clock(move || Utc.timestamp_opt(clock.load(Ordering::SeqCst), 0).unwrap());
        s
    }

    fn enrolled(dir: &Path, clock: Arc<AtomicI64>) -> Store {
        let mut s = store(dir, clock);
        s.set_kv("hub_url", "http://127.0.0.1:1/").unwrap();
        s.record_hub_contact(None).unwrap();
        s
    }

    #[test]
    fn a_device_offline_past_the_limit_locks_itself_until_the_next_contact() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(AtomicI64::new(1_795_000_000));
        let mut s = enrolled(dir.path(), clock.clone());
        assert_eq!(s.access(14).unwrap(), Access::Open);
        clock.fetch_add(14 * DAY - 60, Ordering::SeqCst);
        assert_eq!(s.access(14).unwrap(), Access::Open, "not yet 14 days");
        clock.fetch_add(120, Ordering::SeqCst);
        let a = s.access(14).unwrap();
        assert!(
            matches!(
                a,
                Access::OfflineTooLong {
                    days_offline: 14,
                    limit_days: 14,
                    ..
                }
            ),
            "{a:?}"
        );
        let why = a.refusal().unwrap();
        assert!(why.contains("14 days"), "{why}");
        assert!(matches!(
            s.access(14).unwrap().require_open(),
            Err(Error::NotAllowed(_))
        ));
        // 0 = never.
        assert_eq!(s.access(0).unwrap(), Access::Open);
        // A successful contact unlocks.
        s.record_hub_contact(None).unwrap();
        assert_eq!(s.access(14).unwrap(), Access::Open);
    }

    #[test]
    fn the_state_survives_reopening_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(AtomicI64::new(1_795_000_000));
        drop(enrolled(dir.path(), clock.clone()));
        clock.fetch_add(30 * DAY, Ordering::SeqCst);
        let mut s = Store::open(dir.path(), "246810").unwrap();
        let c = clock.clone();
        s.set_clock(move || Utc.timestamp_opt(c.load(Ordering::SeqCst), 0).unwrap());
        assert!(matches!(
            s.access(14).unwrap(),
            Access::OfflineTooLong {
                days_offline: 30,
                ..
            }
        ));
    }

    #[test]
    fn turning_the_clock_back_does_not_undo_offline_time_already_seen() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(AtomicI64::new(1_795_000_000));
        let mut s = enrolled(dir.path(), clock.clone());
        clock.fetch_add(10 * DAY, Ordering::SeqCst);
        assert_eq!(s.access(14).unwrap(), Access::Open);
        clock.fetch_add(-9 * DAY, Ordering::SeqCst); // the clock set back to day 1
        assert!(matches!(
            s.access(7).unwrap(),
            Access::OfflineTooLong {
                days_offline: 10,
                ..
            }
        ));
    }

    #[test]
    fn the_centres_lock_holds_until_the_hub_answers_without_it() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(AtomicI64::new(1_795_000_000));
        let mut s = enrolled(dir.path(), clock);
        s.record_hub_contact(Some(DeviceCommand::Lock)).unwrap();
        assert_eq!(s.access(0).unwrap(), Access::LockedByCentre);
        assert!(s.access(14).unwrap().refusal().unwrap().contains("locked"));
        s.record_hub_contact(Some(DeviceCommand::Lock)).unwrap();
        assert_eq!(s.access(14).unwrap(), Access::LockedByCentre);
        s.record_hub_contact(None).unwrap();
        assert_eq!(s.access(14).unwrap(), Access::Open);
    }

    #[test]
    fn a_device_that_never_enrolled_is_not_self_locked_and_an_old_store_starts_counting() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(AtomicI64::new(1_795_000_000));
        let mut s = store(dir.path(), clock.clone());
        clock.fetch_add(100 * DAY, Ordering::SeqCst);
        assert_eq!(s.access(14).unwrap(), Access::Open);
        // Enrolled by an older Gridpad, no contact recorded: counting starts at this check.
        s.set_kv("hub_url", "http://127.0.0.1:1/").unwrap();
        assert_eq!(s.access(14).unwrap(), Access::Open);
        assert!(s.last_hub_contact().unwrap().is_some());
        clock.fetch_add(15 * DAY, Ordering::SeqCst);
        assert!(!s.access(14).unwrap().is_open());
    }
}

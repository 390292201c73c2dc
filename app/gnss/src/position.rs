//! Last known position and the evidence policy for records: a report is
//! never blocked on GNSS; it carries the current fix, the last known one
//! with its (monotonic) age, or nothing.

use crate::fix::{Fix, FixMode, SourceKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How old a last known position is (notes §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Freshness {
    /// Under 30 s.
    Current,
    /// Under 5 min.
    Recent,
    /// Older: shown, never auto-accepted for a geofenced check-in.
    Stale,
}

/// Position attached to a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "position_source", rename_all = "snake_case")]
pub enum PositionEvidence {
    /// A live fix.
    Gnss { fix: Fix },
    /// The last valid fix, `age_s` seconds old (monotonic clock).
    LastKnown {
        fix: Fix,
        age_s: f64,
        freshness: Freshness,
    },
    /// No valid fix since start.
    None,
}

impl PositionEvidence {
    /// Label stored with the record: `gnss`, `last_known`, `none`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Gnss { .. } => "gnss",
            Self::LastKnown { .. } => "last_known",
            Self::None => "none",
        }
    }

    /// The fix, if any.
    pub fn fix(&self) -> Option<&Fix> {
        match self {
            Self::Gnss { fix } | Self::LastKnown { fix, .. } => Some(fix),
            Self::None => None,
        }
    }
}

/// Thresholds of the policy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvidencePolicy {
    /// A fix at most this old is "live" (receiver cycle plus slack).
    pub live_max: Duration,
    /// Under this, a last known position is [`Freshness::Current`].
    pub current_max: Duration,
    /// Under this, [`Freshness::Recent`]; beyond, stale.
    pub recent_max: Duration,
}

impl Default for EvidencePolicy {
    fn default() -> Self {
        Self {
            live_max: Duration::from_secs(3),
            current_max: Duration::from_secs(30),
            recent_max: Duration::from_secs(300),
        }
    }
}

/// What to persist (about every 10 s) so a restart still has a last known
/// position. Its age after a reboot can only come from wall-clock time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastKnownRecord {
    pub utc_time: Option<DateTime<Utc>>,
    pub lat: f64,
    pub lon: f64,
    pub acc_95_m: Option<f64>,
    pub mode: FixMode,
    pub sats: u16,
    pub source: SourceKind,
}

#[derive(Debug, Default)]
struct State {
    latest: Option<(Fix, Instant)>,
    last_valid: Option<(Fix, Instant)>,
}

/// Shared, thread-safe holder of the latest and last valid fixes. The GNSS
/// thread calls [`Self::update`]; any other thread asks [`Self::evidence`],
/// which returns immediately.
#[derive(Debug, Default)]
pub struct PositionTracker {
    policy: EvidencePolicy,
    state: Mutex<State>,
}

impl PositionTracker {
    /// Tracker with a policy.
    pub fn new(policy: EvidencePolicy) -> Self {
        Self {
            policy,
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a new epoch received now.
    pub fn update(&self, fix: &Fix) {
        self.update_at(fix, Instant::now());
    }

    /// Records a new epoch received at `at` (monotonic).
    pub fn update_at(&self, fix: &Fix, at: Instant) {
        let mut s = self.lock();
        s.latest = Some((fix.clone(), at));
        if fix.is_valid() {
            s.last_valid = Some((fix.clone(), at));
        }
    }

    /// Latest epoch, valid or not (for "waiting for fix: N satellites").
    pub fn latest(&self) -> Option<Fix> {
        self.lock().latest.as_ref().map(|(f, _)| f.clone())
    }

    /// Evidence for a record made now.
    pub fn evidence(&self) -> PositionEvidence {
        self.evidence_at(Instant::now())
    }

    /// Evidence for a record made at `now` (monotonic).
    pub fn evidence_at(&self, now: Instant) -> PositionEvidence {
        let s = self.lock();
        let Some((fix, at)) = s.last_valid.as_ref() else {
            return PositionEvidence::None;
        };
        let age = now.saturating_duration_since(*at);
        if age <= self.policy.live_max {
            return PositionEvidence::Gnss { fix: fix.clone() };
        }
        let freshness = if age < self.policy.current_max {
            Freshness::Current
        } else if age < self.policy.recent_max {
            Freshness::Recent
        } else {
            Freshness::Stale
        };
        PositionEvidence::LastKnown {
            fix: fix.clone(),
            age_s: age.as_secs_f64(),
            freshness,
        }
    }

    /// Record to persist, when there is a valid fix.
    pub fn last_known_record(&self) -> Option<LastKnownRecord> {
        let s = self.lock();
        let (f, _) = s.last_valid.as_ref()?;
        let (lat, lon) = f.position()?;
        Some(LastKnownRecord {
            utc_time: f.time,
            lat,
            lon,
            acc_95_m: f.accuracy_m,
            mode: f.mode,
            sats: f.sats_used,
            source: f.source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decoder::decode_all;
    use crate::merger::MergerConfig;

    fn fixes() -> Vec<Fix> {
        let data = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/nmea/beidou-gb.log"
        ))
        .unwrap();
        decode_all(&data, MergerConfig::default()).0
    }

    #[test]
    fn evidence_policy() {
        let f = fixes();
        let t = PositionTracker::default();
        let t0 = Instant::now();
        assert_eq!(t.evidence_at(t0), PositionEvidence::None);
        // No-fix epochs: still none, but the latest epoch is visible.
        t.update_at(&f[0], t0);
        assert_eq!(t.evidence_at(t0).label(), "none");
        assert_eq!(t.latest().unwrap().mode, FixMode::NoFix);
        t.update_at(&f[4], t0);
        assert_eq!(t.evidence_at(t0 + Duration::from_secs(1)).label(), "gnss");
        // Receiver loses the fix: the last valid one ages.
        t.update_at(&f[0], t0 + Duration::from_secs(2));
        match t.evidence_at(t0 + Duration::from_secs(10)) {
            PositionEvidence::LastKnown {
                age_s,
                freshness,
                fix,
            } => {
                assert!((age_s - 10.0).abs() < 1e-6);
                assert_eq!(freshness, Freshness::Current);
                assert_eq!(fix.position(), f[4].position());
            }
            e => panic!("{e:?}"),
        }
        let fresh = |s| match t.evidence_at(t0 + Duration::from_secs(s)) {
            PositionEvidence::LastKnown { freshness, .. } => freshness,
            e => panic!("{e:?}"),
        };
        assert_eq!(fresh(60), Freshness::Recent);
        assert_eq!(fresh(600), Freshness::Stale);
        let rec = t.last_known_record().unwrap();
        assert!((rec.lat - 31.248035).abs() < 1e-6);
        let j = serde_json::to_value(t.evidence_at(t0 + Duration::from_secs(60))).unwrap();
        assert_eq!(j["position_source"], "last_known");
    }
}

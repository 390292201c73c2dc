//! Device clock vs GNSS UTC (notes §3.6).
//!
//! The offset `gnss_utc − device_utc` is trusted only after three
//! consecutive plausible epochs that agree with the monotonic clock, with
//! a year between the build year and build year + 20 and none of the known
//! week-rollover dates. A change of about 18 s (a receiver that has not yet
//! received the leap-second count after a cold start) is deferred for up to
//! 12.5 minutes. History is never rewritten: each record stores its device
//! time and the corrected time.

use chrono::{
    DateTime, Datelike, Duration as ChronoDuration, FixedOffset, NaiveDate, TimeZone, Utc,
};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Year this crate was built (from `SOURCE_DATE_EPOCH` or the build
/// machine's clock).
pub const BUILD_YEAR: i32 = {
    let s = env!("GRIDPAD_BUILD_YEAR").as_bytes();
    let mut y = 0i32;
    let mut i = 0;
    while i < s.len() {
        y = y * 10 + (s[i] - b'0') as i32;
        i += 1;
    }
    y
};

/// Dates GPS receivers produce after 10-bit week rollovers or with garbage
/// almanacs.
pub const ROLLOVER_DATES: [(i32, u32, u32); 5] = [
    (1980, 1, 6),
    (1999, 8, 22),
    (2006, 12, 16),
    (2019, 4, 7),
    (2038, 11, 21),
];

/// Why a GNSS time was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeRejection {
    /// Year outside build year … build year + 20.
    ImplausibleYear,
    /// A known week-rollover date.
    RolloverDate,
    /// Offset disagrees with the previous epochs / monotonic clock.
    Inconsistent,
    /// ~18 s change within 12.5 min of the first sample: leap seconds not
    /// yet known by the receiver.
    LeapSecondPending,
}

/// Estimator settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClockConfig {
    pub min_year: i32,
    pub max_year: i32,
    /// Consecutive consistent epochs needed.
    pub needed: u32,
    /// Allowed disagreement between epochs, seconds.
    pub tolerance_s: f64,
    /// How long an ~18 s change is deferred.
    pub leap_defer: Duration,
}

impl Default for ClockConfig {
    fn default() -> Self {
        Self {
            min_year: BUILD_YEAR,
            max_year: BUILD_YEAR + 20,
            needed: 3,
            tolerance_s: 0.5,
            leap_defer: Duration::from_secs(750),
        }
    }
}

/// Where the corrected time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffsetSource {
    Gnss,
    /// No trusted offset: corrected = device time.
    None,
}

/// Times stored with every record.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RecordTime {
    pub device_time: DateTime<Utc>,
    pub corrected_time: DateTime<Utc>,
    pub offset_source: OffsetSource,
    /// Seconds since the offset was last confirmed.
    pub offset_age_s: Option<f64>,
}

/// Estimates the device clock offset from GNSS fixes.
#[derive(Debug, Clone)]
pub struct ClockEstimator {
    cfg: ClockConfig,
    /// (offset seconds, monotonic time) of the current run of agreeing epochs.
    run: Vec<(f64, Instant)>,
    trusted: Option<(f64, Instant)>,
    first_sample: Option<Instant>,
    pending_leap: Option<Instant>,
    last_rejection: Option<TimeRejection>,
}

impl Default for ClockEstimator {
    fn default() -> Self {
        Self::new(ClockConfig::default())
    }
}

/// True when `d` is a known rollover date.
pub fn is_rollover_date(d: NaiveDate) -> bool {
    ROLLOVER_DATES
        .iter()
        .any(|&(y, m, dd)| d.year() == y && d.month() == m && d.day() == dd)
}

impl ClockEstimator {
    /// New estimator.
    pub fn new(cfg: ClockConfig) -> Self {
        Self {
            cfg,
            run: Vec::new(),
            trusted: None,
            first_sample: None,
            pending_leap: None,
            last_rejection: None,
        }
    }

    /// Trusted offset (`gnss − device`), seconds.
    pub fn offset_s(&self) -> Option<f64> {
        self.trusted.map(|t| t.0)
    }

    /// Why the last sample was not used, if it was not.
    pub fn last_rejection(&self) -> Option<TimeRejection> {
        self.last_rejection
    }

    /// Feeds one valid fix's UTC with the device's wall clock and the
    /// monotonic clock at reception. Returns the rejection, if any.
    pub fn observe(
        &mut self,
        gnss: DateTime<Utc>,
        device: DateTime<Utc>,
        mono: Instant,
    ) -> Result<(), TimeRejection> {
        let r = self.observe_inner(gnss, device, mono);
        self.last_rejection = r.err();
        r
    }

    fn observe_inner(
        &mut self,
        gnss: DateTime<Utc>,
        device: DateTime<Utc>,
        mono: Instant,
    ) -> Result<(), TimeRejection> {
        let y = gnss.year();
        if y < self.cfg.min_year || y > self.cfg.max_year {
            self.run.clear();
            return Err(TimeRejection::ImplausibleYear);
        }
        if is_rollover_date(gnss.date_naive()) {
            self.run.clear();
            return Err(TimeRejection::RolloverDate);
        }
        let first = *self.first_sample.get_or_insert(mono);
        let offset = (gnss - device).num_milliseconds() as f64 / 1000.0;
        // Consistency with the run: offsets of agreeing epochs are equal
        // when the device clock and GNSS advance like the monotonic clock.
        if let Some(&(o, _)) = self.run.last() {
            if (offset - o).abs() > self.cfg.tolerance_s {
                self.run.clear();
                self.run.push((offset, mono));
                return Err(TimeRejection::Inconsistent);
            }
        }
        self.run.push((offset, mono));
        if self.run.len() > self.cfg.needed as usize {
            self.run.remove(0);
        }
        if self.run.len() < self.cfg.needed as usize {
            return Err(TimeRejection::Inconsistent);
        }
        let mean = self.run.iter().map(|r| r.0).sum::<f64>() / self.run.len() as f64;
        // Leap-second trap: a change of 16–20 s against the trusted offset
        // (or against a synchronised device clock when none is trusted yet)
        // within the defer window of the first sample.
        let reference = self.trusted.map(|t| t.0).unwrap_or(0.0);
        let delta = (mean - reference).abs();
        if (16.0..=20.0).contains(&delta) {
            let since = *self.pending_leap.get_or_insert(mono);
            let in_window = mono.saturating_duration_since(first) < self.cfg.leap_defer
                || mono.saturating_duration_since(since) < self.cfg.leap_defer;
            if in_window {
                return Err(TimeRejection::LeapSecondPending);
            }
        }
        self.pending_leap = None;
        self.trusted = Some((mean, mono));
        Ok(())
    }

    /// Device time corrected by the trusted offset.
    pub fn record_time(&self, device: DateTime<Utc>, now: Instant) -> RecordTime {
        match self.trusted {
            Some((o, at)) => RecordTime {
                device_time: device,
                corrected_time: device + ChronoDuration::milliseconds((o * 1000.0).round() as i64),
                offset_source: OffsetSource::Gnss,
                offset_age_s: Some(now.saturating_duration_since(at).as_secs_f64()),
            },
            None => RecordTime {
                device_time: device,
                corrected_time: device,
                offset_source: OffsetSource::None,
                offset_age_s: None,
            },
        }
    }
}

/// China Standard Time (UTC+8).
pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// `2026-08-05 13:52:34` in Beijing time.
pub fn format_beijing(t: DateTime<Utc>) -> String {
    beijing()
        .from_utc_datetime(&t.naive_utc())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ClockConfig {
        ClockConfig {
            min_year: 2024,
            max_year: 2044,
            ..ClockConfig::default()
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn build_year_is_sane() {
        assert!((2024..2100).contains(&BUILD_YEAR), "{BUILD_YEAR}");
    }

    #[test]
    fn trusted_after_three_consistent_epochs() {
        let mut c = ClockEstimator::new(cfg());
        let m0 = Instant::now();
        let g0 = t("2026-08-05T05:52:34Z");
        let d0 = t("2026-08-05T05:50:00Z"); // device 154 s slow
        for i in 0..3i64 {
            let r = c.observe(
                g0 + ChronoDuration::seconds(i),
                d0 + ChronoDuration::seconds(i),
                m0 + Duration::from_secs(i as u64),
            );
            assert_eq!(r.is_ok(), i == 2, "epoch {i}: {r:?}");
        }
        assert!((c.offset_s().unwrap() - 154.0).abs() < 1e-9);
        let rt = c.record_time(t("2026-08-05T06:00:00Z"), m0 + Duration::from_secs(10));
        assert_eq!(rt.corrected_time, t("2026-08-05T06:02:34Z"));
        assert_eq!(rt.offset_source, OffsetSource::Gnss);
    }

    #[test]
    fn rollover_and_implausible_years_rejected() {
        let mut c = ClockEstimator::new(cfg());
        let m = Instant::now();
        let d = t("2026-08-05T05:50:00Z");
        assert_eq!(
            c.observe(t("1999-08-22T00:04:30Z"), d, m),
            Err(TimeRejection::ImplausibleYear)
        );
        assert_eq!(
            c.observe(t("2006-12-16T23:59:48Z"), d, m),
            Err(TimeRejection::ImplausibleYear)
        );
        assert_eq!(
            c.observe(t("2208-01-01T00:00:00Z"), d, m),
            Err(TimeRejection::ImplausibleYear)
        );
        let mut wide = ClockEstimator::new(ClockConfig {
            min_year: 1990,
            max_year: 2100,
            ..cfg()
        });
        assert_eq!(
            wide.observe(t("2019-04-07T00:03:45Z"), d, m),
            Err(TimeRejection::RolloverDate)
        );
        assert!(c.offset_s().is_none());
        assert_eq!(c.record_time(d, m).corrected_time, d);
    }

    #[test]
    fn inconsistent_epochs_reset_the_run() {
        let mut c = ClockEstimator::new(cfg());
        let m0 = Instant::now();
        let g = t("2026-08-05T05:52:34Z");
        let d = t("2026-08-05T05:52:34Z");
        let _ = c.observe(g, d, m0);
        let _ = c.observe(
            g + ChronoDuration::seconds(1),
            d + ChronoDuration::seconds(1),
            m0,
        );
        // GNSS jumps 5 s: run restarts.
        assert_eq!(
            c.observe(
                g + ChronoDuration::seconds(7),
                d + ChronoDuration::seconds(2),
                m0
            ),
            Err(TimeRejection::Inconsistent)
        );
        assert!(c.offset_s().is_none());
    }

    #[test]
    fn cold_start_leap_offset_deferred() {
        let mut c = ClockEstimator::new(cfg());
        let m0 = Instant::now();
        let d = t("2026-08-05T05:52:34Z");
        // Receiver 18 s behind (GPS time without leap seconds).
        let g = d - ChronoDuration::seconds(18);
        for i in 0..3u64 {
            let r = c.observe(
                g + ChronoDuration::seconds(i as i64),
                d + ChronoDuration::seconds(i as i64),
                m0 + Duration::from_secs(i),
            );
            if i == 2 {
                assert_eq!(r, Err(TimeRejection::LeapSecondPending));
            }
        }
        assert!(c.offset_s().is_none());
        // Still there after 13 minutes: accepted.
        let s = 800u64;
        for i in s..s + 3 {
            let _ = c.observe(
                g + ChronoDuration::seconds(i as i64),
                d + ChronoDuration::seconds(i as i64),
                m0 + Duration::from_secs(i),
            );
        }
        assert!((c.offset_s().unwrap() + 18.0).abs() < 1e-9);
    }

    #[test]
    fn beijing_format() {
        assert_eq!(
            format_beijing(t("2026-08-05T17:30:00Z")),
            "2026-08-06 01:30:00"
        );
    }
}

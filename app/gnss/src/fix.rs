//! The fix: one per receiver cycle, with validity, accuracy and source.

use crate::sentence::Constellation;
use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

/// Fix dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FixMode {
    /// No usable position.
    #[serde(rename = "none")]
    NoFix,
    #[serde(rename = "2d")]
    Fix2D,
    #[serde(rename = "3d")]
    Fix3D,
}

impl FixMode {
    /// gpsd's TPV `mode` number (1 no fix, 2, 3).
    pub fn gpsd_mode(self) -> u8 {
        match self {
            Self::NoFix => 1,
            Self::Fix2D => 2,
            Self::Fix3D => 3,
        }
    }
}

/// Fix quality (GGA quality / FAA mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FixQuality {
    Invalid,
    Autonomous,
    Dgps,
    /// PPS / precise (P).
    Precise,
    RtkFixed,
    RtkFloat,
    /// Dead reckoning / estimated: show, never auto-accept.
    Estimated,
    Manual,
    Simulation,
}

impl FixQuality {
    /// From a GGA quality digit.
    pub fn from_gga(q: u8) -> Self {
        match q {
            1 => Self::Autonomous,
            2 | 9 => Self::Dgps,
            3 => Self::Precise,
            4 => Self::RtkFixed,
            5 => Self::RtkFloat,
            6 => Self::Estimated,
            7 => Self::Manual,
            8 => Self::Simulation,
            _ => Self::Invalid,
        }
    }

    /// From an FAA mode letter.
    pub fn from_mode(m: char) -> Self {
        match m {
            'A' => Self::Autonomous,
            'D' => Self::Dgps,
            'P' => Self::Precise,
            'R' => Self::RtkFixed,
            'F' => Self::RtkFloat,
            'E' => Self::Estimated,
            'M' => Self::Manual,
            'S' => Self::Simulation,
            _ => Self::Invalid,
        }
    }
}

/// Where the data came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Serial,
    Gpsd,
    Replay,
    #[default]
    Unknown,
}

/// How the accuracy estimate was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccuracySource {
    /// Receiver's GST error statistics.
    Gst,
    /// HDOP × UERE model.
    Dop,
    /// Not available.
    None,
}

/// Why an epoch has no valid fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidReason {
    /// No latitude/longitude in the epoch.
    NoPosition,
    /// RMC status not `A`/`D`.
    RmcStatus,
    /// FAA mode letter `N`, `M`, `S`, … .
    ModeIndicator,
    /// GGA quality 0, 7, 8 or empty.
    GgaQuality,
    /// GSA reports no fix.
    GsaNoFix,
    /// Fewer than 3 satellites used.
    TooFewSatellites,
    /// Latitude/longitude out of range or minutes ≥ 60.
    OutOfRange,
    /// Exactly 0,0.
    NullIsland,
    /// RMC and GGA positions disagree, or one says valid and the other not.
    Inconsistent,
    /// Epoch time did not advance (receiver repeating a stale cycle).
    Latched,
    /// Implied speed from the previous fix is impossible.
    ImpossibleJump,
}

/// Per-constellation satellite counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConstellationCount {
    pub constellation: Constellation,
    /// Used in the solution (GSA).
    pub used: u16,
    /// In view (GSV).
    pub in_view: u16,
}

/// One receiver cycle's result. `lat`/`lon` are present only when `mode`
/// is 2D or 3D.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    /// Full UTC time when the date is known (RMC/ZDA, or carried over).
    pub time: Option<DateTime<Utc>>,
    /// UTC time of day as sent by the receiver.
    pub time_of_day: NaiveTime,
    /// The receiver sent second 60.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub leap_second: bool,
    pub mode: FixMode,
    pub quality: FixQuality,
    /// WGS-84 latitude, degrees.
    pub lat: Option<f64>,
    /// WGS-84 longitude, degrees.
    pub lon: Option<f64>,
    /// Altitude above mean sea level, metres.
    pub alt_msl: Option<f64>,
    /// Geoid separation (ellipsoid − MSL), metres.
    pub geoid_sep: Option<f64>,
    /// Satellites used in the solution.
    pub sats_used: u16,
    /// Satellites in view (latest complete GSV sets).
    pub sats_in_view: u16,
    /// Breakdown by constellation.
    pub constellations: Vec<ConstellationCount>,
    pub hdop: Option<f64>,
    pub pdop: Option<f64>,
    pub vdop: Option<f64>,
    /// Horizontal accuracy estimate, 95 %, metres.
    pub accuracy_m: Option<f64>,
    pub accuracy_source: AccuracySource,
    /// Speed over ground, m/s.
    pub speed_mps: Option<f64>,
    /// Course over ground, degrees true.
    pub course_deg: Option<f64>,
    pub source: SourceKind,
    /// Valid but weak (estimated/DR, 3 satellites): show, no auto check-in.
    pub degraded: bool,
    /// Position confirmed by two sentence types (RMC and GGA/GNS).
    pub confirmed: bool,
    /// Why there is no fix, when `mode` is [`FixMode::NoFix`].
    pub invalid_reason: Option<InvalidReason>,
}

impl Fix {
    /// True for a 2D/3D fix.
    pub fn is_valid(&self) -> bool {
        self.mode != FixMode::NoFix
    }

    /// `(lat, lon)` when valid.
    pub fn position(&self) -> Option<(f64, f64)> {
        match (self.mode, self.lat, self.lon) {
            (FixMode::NoFix, _, _) => None,
            (_, Some(a), Some(o)) => Some((a, o)),
            _ => None,
        }
    }

    /// Suggested check-in acceptance (notes §3.3): 3D, not degraded,
    /// accuracy ≤ `max_acc_m`.
    pub fn good_for_check_in(&self, max_acc_m: f64) -> bool {
        self.mode == FixMode::Fix3D
            && !self.degraded
            && self.accuracy_m.is_some_and(|a| a <= max_acc_m)
    }
}

/// Accuracy model: GST when present, else HDOP × UERE with a floor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AccuracyModel {
    /// 95 % user equivalent range error, metres (per receiver model).
    pub uere_m: f64,
    /// Smallest estimate ever reported, metres.
    pub floor_m: f64,
    /// Factor applied to the DOP estimate when fewer than 6 satellites
    /// are used or the fix is 2D.
    pub weak_factor: f64,
}

impl Default for AccuracyModel {
    fn default() -> Self {
        Self {
            uere_m: 8.0,
            floor_m: 3.0,
            weak_factor: 1.5,
        }
    }
}

impl AccuracyModel {
    /// 95 % horizontal accuracy from GST 1σ latitude/longitude errors:
    /// 2 × √(σlat² + σlon²) (2DRMS).
    pub fn from_gst(&self, lat_sd: f64, lon_sd: f64) -> f64 {
        (2.0 * (lat_sd * lat_sd + lon_sd * lon_sd).sqrt()).max(self.floor_m)
    }

    /// 95 % horizontal accuracy from HDOP.
    pub fn from_hdop(&self, hdop: f64, sats_used: u16, mode: FixMode) -> f64 {
        let mut a = hdop * self.uere_m;
        if sats_used < 6 || mode == FixMode::Fix2D {
            a *= self.weak_factor;
        }
        a.max(self.floor_m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_floor_and_weak() {
        let m = AccuracyModel::default();
        assert_eq!(m.from_hdop(0.2, 12, FixMode::Fix3D), 3.0);
        assert!((m.from_hdop(1.0, 12, FixMode::Fix3D) - 8.0).abs() < 1e-12);
        assert!((m.from_hdop(1.0, 4, FixMode::Fix3D) - 12.0).abs() < 1e-12);
        assert!((m.from_gst(6.8, 7.2) - 2.0 * (6.8f64 * 6.8 + 7.2 * 7.2).sqrt()).abs() < 1e-9);
    }

    #[test]
    fn quality_mapping() {
        assert_eq!(FixQuality::from_gga(9), FixQuality::Dgps);
        assert_eq!(FixQuality::from_gga(6), FixQuality::Estimated);
        assert_eq!(FixQuality::from_mode('R'), FixQuality::RtkFixed);
        assert_eq!(FixQuality::from_mode('N'), FixQuality::Invalid);
    }
}

//! Pre-filter, normalisation and per-sentence parsing.
//!
//! Each checksum-valid frame from the [`crate::framer`] is first
//! normalised to dodge the verified `nmea` 0.8.0 failures (see the crate
//! README), then parsed with the stateless [`nmea::parse_str`] and converted
//! into small owned types of our own, so the rest of the crate does not
//! depend on `nmea`'s types.
//!
//! Normalisations (all re-checksummed):
//! * leap second `hhmm60` → `hhmm59` plus a `leap_second` flag;
//! * ZDA local zone `+00` → `00`;
//! * GNS with more than two mode characters → the best character (the raw
//!   string is kept for validity rules);
//! * GLL without the NMEA 2.3 mode field → mode derived from status;
//! * GGA empty quality → `0` (invalid); quality 9 (WAAS/SBAS) → 2 (DGPS);
//! * `GN` GSV → parsed as `GP`, constellations re-derived from PRN ranges;
//! * GSA trailing non-system-ID field (SiRF-TriG) or talker/system-ID
//!   mismatch → system ID dropped.
//!
//! Proprietary `$P…` sentences are dropped (except `$PQGSV`/`$PQGSA`, QZSS).

use crate::framer::nmea_checksum;
use chrono::{NaiveDate, NaiveTime, Timelike};
use serde::{Deserialize, Serialize};
use std::fmt;

/// GNSS constellations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Constellation {
    Gps,
    Glonass,
    Galileo,
    Beidou,
    Qzss,
    Navic,
    Sbas,
    Unknown,
}

impl Constellation {
    /// Constellation named by a talker ID (`None` for `GN`, combined).
    pub fn from_talker(talker: &str) -> Option<Self> {
        Some(match talker {
            "GP" => Self::Gps,
            "GL" => Self::Glonass,
            "GA" => Self::Galileo,
            "BD" | "GB" => Self::Beidou,
            "GQ" | "PQ" | "QZ" => Self::Qzss,
            "GI" => Self::Navic,
            _ => return None,
        })
    }

    /// NMEA 4.10 GSA/GSV system ID.
    pub fn from_system_id(id: u8) -> Option<Self> {
        Some(match id {
            1 => Self::Gps,
            2 => Self::Glonass,
            3 => Self::Galileo,
            4 => Self::Beidou,
            5 => Self::Qzss,
            6 => Self::Navic,
            _ => return None,
        })
    }

    /// Constellation from a PRN in the extended NMEA numbering used with the
    /// `GN` talker (gpsd's NMEA.adoc ranges).
    pub fn from_prn(prn: u32) -> Self {
        match prn {
            1..=32 => Self::Gps,
            33..=64 => Self::Sbas,
            65..=96 => Self::Glonass,
            193..=200 => Self::Qzss,
            201..=263 => Self::Beidou,
            301..=336 => Self::Galileo,
            401..=437 => Self::Beidou,
            _ => Self::Unknown,
        }
    }

    /// Short label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gps => "gps",
            Self::Glonass => "glonass",
            Self::Galileo => "galileo",
            Self::Beidou => "beidou",
            Self::Qzss => "qzss",
            Self::Navic => "navic",
            Self::Sbas => "sbas",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Constellation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// UTC time of day as sent by the receiver, in milliseconds; `leap` marks a
/// `hhmm60` second (then `ms` counts it as `hhmm59` + 1000 ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Tod {
    /// Milliseconds since midnight of the normalised time.
    pub ms: u32,
    /// The receiver sent second 60.
    pub leap: bool,
}

impl Tod {
    fn from_time(t: NaiveTime, leap: bool) -> Self {
        let ms = t.num_seconds_from_midnight() * 1000
            + (t.nanosecond() % 1_000_000_000 + 500_000) / 1_000_000;
        Self {
            ms: ms.min(86_399_999),
            leap,
        }
    }

    /// Milliseconds on a line where a leap second sits after `:59`.
    pub fn ordinal_ms(self) -> u32 {
        if self.leap {
            self.ms + 1000
        } else {
            self.ms
        }
    }

    /// As a chrono time (leap seconds use chrono's representation).
    pub fn to_naive_time(self) -> NaiveTime {
        let secs = self.ms / 1000;
        let milli = self.ms % 1000 + if self.leap { 1000 } else { 0 };
        NaiveTime::from_hms_milli_opt(secs / 3600, (secs / 60) % 60, secs % 60, milli)
            .unwrap_or(NaiveTime::MIN)
    }
}

/// GGA: fix data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gga {
    pub time: Option<Tod>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// Quality digit 0–9 (empty normalised to 0).
    pub quality: u8,
    pub sats: Option<u32>,
    pub hdop: Option<f32>,
    /// Altitude above mean sea level (field 9), metres.
    pub alt_msl: Option<f32>,
    pub geoid_sep: Option<f32>,
}

/// RMC: recommended minimum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rmc {
    pub time: Option<Tod>,
    pub date: Option<NaiveDate>,
    /// `A`, `D` or `V`.
    pub status: char,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub speed_knots: Option<f32>,
    pub course: Option<f32>,
    /// FAA mode letter (NMEA 2.3+).
    pub mode: Option<char>,
}

/// GSA: DOP and satellites used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gsa {
    /// 1 no fix, 2 = 2D, 3 = 3D.
    pub mode2: u8,
    /// Satellites used, with their constellation.
    pub used: Vec<(Constellation, u32)>,
    pub pdop: Option<f32>,
    pub hdop: Option<f32>,
    pub vdop: Option<f32>,
}

/// One satellite in view.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SatView {
    pub constellation: Constellation,
    pub prn: u32,
    pub elevation: Option<f32>,
    pub azimuth: Option<f32>,
    pub snr: Option<f32>,
}

/// GSV: satellites in view (one sentence of a set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gsv {
    /// Talker-derived constellation (`None` for `GN`).
    pub constellation: Option<Constellation>,
    pub total: u16,
    pub number: u16,
    pub in_view: u16,
    /// NMEA 4.11 signal ID, when present.
    pub signal: Option<String>,
    pub sats: Vec<SatView>,
}

/// GNS: multi-constellation fix data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gns {
    pub time: Option<Tod>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// Raw mode letters, one per system (e.g. `ANNA`).
    pub modes: String,
    pub sats: u16,
    pub hdop: Option<f32>,
    pub alt_msl: Option<f32>,
    pub geoid_sep: Option<f32>,
}

/// GLL: position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gll {
    pub time: Option<Tod>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub valid: bool,
    pub mode: Option<char>,
}

/// VTG: course and speed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vtg {
    pub course: Option<f32>,
    pub speed_knots: Option<f32>,
}

/// GST: pseudorange error statistics (1σ, metres).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gst {
    pub time: Option<Tod>,
    pub rms: Option<f32>,
    pub lat_sd: Option<f32>,
    pub lon_sd: Option<f32>,
    pub alt_sd: Option<f32>,
}

/// ZDA: time and date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Zda {
    pub time: Option<Tod>,
    pub date: Option<NaiveDate>,
}

/// Parsed content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SentenceData {
    Gga(Gga),
    Rmc(Rmc),
    Gsa(Gsa),
    Gsv(Gsv),
    Gns(Gns),
    Gll(Gll),
    Vtg(Vtg),
    Gst(Gst),
    Zda(Zda),
    Txt(String),
    /// Well-formed standard sentence we do not use (GRS, GBS, DTM…).
    Other,
}

/// A parsed sentence with its address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sentence {
    /// Talker ID, e.g. `GN`, `BD`, `GB`.
    pub talker: String,
    /// Sentence type, e.g. `GGA`.
    pub kind: String,
    /// Latitude or longitude minutes field was ≥ 60.
    pub bad_minutes: bool,
    pub data: SentenceData,
}

impl Sentence {
    /// UTC time of day carried by the sentence, if any.
    pub fn time(&self) -> Option<Tod> {
        match &self.data {
            SentenceData::Gga(d) => d.time,
            SentenceData::Rmc(d) => d.time,
            SentenceData::Gns(d) => d.time,
            SentenceData::Gll(d) => d.time,
            SentenceData::Gst(d) => d.time,
            SentenceData::Zda(d) => d.time,
            _ => None,
        }
    }
}

/// Why a checksum-valid frame produced no sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DropReason {
    /// Proprietary `$P…` sentence.
    #[error("proprietary sentence")]
    Proprietary,
    /// Address field is not `$TTSSS,`.
    #[error("malformed address")]
    Malformed,
    /// `nmea::parse_str` rejected a sentence we need.
    #[error("{kind}: {message}")]
    Parse { kind: String, message: String },
}

fn rebuild(address: &str, fields: &[String]) -> String {
    let mut body = String::with_capacity(100);
    body.push_str(address);
    for f in fields {
        body.push(',');
        body.push_str(f);
    }
    let ck = nmea_checksum(body.as_bytes());
    format!("${body}*{ck:02X}")
}

/// Normalises `hhmm60[.fff]` to `hhmm59[.fff]`; returns true if it did.
fn fix_leap(field: &mut String) -> bool {
    let b = field.as_bytes();
    if b.len() >= 6 && b[..4].iter().all(u8::is_ascii_digit) && &b[4..6] == b"60" {
        field.replace_range(4..6, "59");
        true
    } else {
        false
    }
}

/// Minutes part of `dddmm.mmmm` is < 60 (empty fields are fine).
fn minutes_ok(field: &str) -> bool {
    if field.is_empty() {
        return true;
    }
    let int_part = field.split('.').next().unwrap_or("");
    if int_part.len() < 2 {
        return false;
    }
    match int_part[int_part.len() - 2..].parse::<u32>() {
        Ok(m) => m < 60,
        Err(_) => false,
    }
}

fn mode_rank(c: char) -> u8 {
    match c {
        'R' => 7,
        'F' => 6,
        'P' => 5,
        'D' => 4,
        'A' => 3,
        'E' => 2,
        'N' => 0,
        _ => 1,
    }
}

/// Best FAA mode letter among per-system letters (`ANNA` → `A`).
pub fn best_mode(modes: &str) -> Option<char> {
    modes.chars().max_by_key(|&c| mode_rank(c))
}

fn faa_char(m: &nmea::sentences::FaaMode) -> char {
    use nmea::sentences::FaaMode::*;
    match m {
        Autonomous => 'A',
        Caution => 'C',
        Differential => 'D',
        Estimated => 'E',
        FloatRtk => 'F',
        Manual => 'M',
        DataNotValid => 'N',
        Precise => 'P',
        FixedRtk => 'R',
        Simulator => 'S',
        Unsafe => 'U',
    }
}

fn fix_type_digit(t: &nmea::sentences::FixType) -> u8 {
    use nmea::sentences::FixType::*;
    match t {
        Invalid => 0,
        Gps => 1,
        DGps => 2,
        Pps => 3,
        Rtk => 4,
        FloatRtk => 5,
        Estimated => 6,
        Manual => 7,
        Simulation => 8,
    }
}

fn system_id(t: nmea::sentences::gnss_type::GnssSystemId) -> Constellation {
    use nmea::sentences::gnss_type::GnssSystemId::*;
    match t {
        Gps => Constellation::Gps,
        Glonass => Constellation::Glonass,
        Galileo => Constellation::Galileo,
        Beidou => Constellation::Beidou,
    }
}

/// Parses one checksum-valid frame (`$…*hh`).
pub fn parse_sentence(frame: &str) -> Result<Sentence, DropReason> {
    let inner = frame
        .strip_prefix('$')
        .and_then(|s| s.get(..s.len().saturating_sub(3)))
        .ok_or(DropReason::Malformed)?;
    let (address, rest) = inner.split_once(',').ok_or(DropReason::Malformed)?;
    if address.starts_with('P') && !matches!(address, "PQGSV" | "PQGSA") {
        return Err(DropReason::Proprietary);
    }
    if address.len() != 5 || !address.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(DropReason::Malformed);
    }
    let (talker, kind) = address.split_at(2);
    let mut fields: Vec<String> = rest.split(',').map(str::to_string).collect();
    let mut leap = false;
    let mut changed = false;
    let mut bad_minutes = false;
    let mut gns_modes = String::new();
    let mut gsv_signal = None;
    let mut parse_address = address.to_string();
    let mut time_field = |fields: &mut Vec<String>, i: usize, changed: &mut bool| {
        if let Some(f) = fields.get_mut(i) {
            if fix_leap(f) {
                leap = true;
                *changed = true;
            }
        }
    };
    let check_minutes = |fields: &[String], lat: usize, lon: usize| {
        !(fields.get(lat).is_none_or(|f| minutes_ok(f))
            && fields.get(lon).is_none_or(|f| minutes_ok(f)))
    };
    match kind {
        "GGA" => {
            time_field(&mut fields, 0, &mut changed);
            bad_minutes = check_minutes(&fields, 1, 3);
            if let Some(q) = fields.get_mut(5) {
                if q.is_empty() {
                    *q = "0".into();
                    changed = true;
                } else if q == "9" {
                    *q = "2".into();
                    changed = true;
                }
            }
        }
        "RMC" => {
            time_field(&mut fields, 0, &mut changed);
            bad_minutes = check_minutes(&fields, 2, 4);
        }
        "GNS" => {
            time_field(&mut fields, 0, &mut changed);
            bad_minutes = check_minutes(&fields, 1, 3);
            if let Some(m) = fields.get_mut(5) {
                gns_modes = m.to_ascii_uppercase();
                if m.len() > 2 {
                    *m = best_mode(&gns_modes).map(String::from).unwrap_or_default();
                    changed = true;
                }
            }
        }
        "GLL" => {
            time_field(&mut fields, 4, &mut changed);
            bad_minutes = check_minutes(&fields, 0, 2);
            if fields.len() == 6 {
                let mode = if fields[5] == "A" { "A" } else { "N" };
                fields.push(mode.into());
                changed = true;
            }
        }
        "ZDA" => {
            time_field(&mut fields, 0, &mut changed);
            for i in [4, 5] {
                if let Some(f) = fields.get_mut(i) {
                    if let Some(s) = f.strip_prefix('+') {
                        *f = s.to_string();
                        changed = true;
                    }
                }
            }
        }
        "GST" => time_field(&mut fields, 0, &mut changed),
        "GSV" => {
            if fields.len() > 3 && (fields.len() - 3) % 4 == 1 {
                gsv_signal = fields.last().cloned().filter(|s| !s.is_empty());
            }
            if talker == "GN" {
                parse_address = "GPGSV".into();
                changed = true;
            }
        }
        "GSA" => {
            // 17 fields standard, 18 with an NMEA 4.10 system ID.
            if fields.len() > 17 {
                let last = fields.last().map(String::as_str).unwrap_or("");
                let is_id = last.len() == 1 && last.as_bytes()[0].is_ascii_hexdigit();
                if !is_id {
                    fields.pop();
                    changed = true;
                }
            }
        }
        "VTG" | "TXT" => {}
        _ => {
            return Ok(Sentence {
                talker: talker.into(),
                kind: kind.into(),
                bad_minutes: false,
                data: SentenceData::Other,
            })
        }
    }
    let text = if changed {
        rebuild(&parse_address, &fields)
    } else {
        frame.to_string()
    };
    let err = |e: nmea::Error<'_>| DropReason::Parse {
        kind: kind.to_string(),
        message: e.to_string(),
    };
    let parsed = match nmea::parse_str(&text) {
        Ok(p) => p,
        Err(nmea::Error::SystemIdMismatch { .. }) => {
            // Talker and system ID disagree: trust the talker, drop the ID.
            fields.pop();
            let text2 = rebuild(&parse_address, &fields);
            nmea::parse_str(&text2).map_err(err)?
        }
        Err(e) => return Err(err(e)),
    };
    finish(
        talker,
        kind,
        bad_minutes,
        leap,
        gns_modes,
        gsv_signal,
        parsed,
    )
}

fn finish(
    talker: &str,
    kind: &str,
    bad_minutes: bool,
    leap: bool,
    gns_modes: String,
    gsv_signal: Option<String>,
    parsed: nmea::ParseResult,
) -> Result<Sentence, DropReason> {
    use nmea::ParseResult as P;
    let tod = |t: Option<NaiveTime>| t.map(|t| Tod::from_time(t, leap));
    let talker_c = Constellation::from_talker(talker);
    let data = match parsed {
        P::GGA(d) => SentenceData::Gga(Gga {
            time: tod(d.fix_time),
            lat: d.latitude,
            lon: d.longitude,
            quality: d.fix_type.as_ref().map(fix_type_digit).unwrap_or(0),
            sats: d.fix_satellites,
            hdop: d.hdop,
            alt_msl: d.altitude,
            geoid_sep: d.geoid_separation,
        }),
        P::RMC(d) => SentenceData::Rmc(Rmc {
            time: tod(d.fix_time),
            date: d.fix_date,
            status: match d.status_of_fix {
                nmea::sentences::rmc::RmcStatusOfFix::Autonomous => 'A',
                nmea::sentences::rmc::RmcStatusOfFix::Differential => 'D',
                nmea::sentences::rmc::RmcStatusOfFix::Invalid => 'V',
            },
            lat: d.lat,
            lon: d.lon,
            speed_knots: d.speed_over_ground,
            course: d.true_course,
            mode: d.faa_mode.as_ref().map(faa_char),
        }),
        P::GSA(d) => {
            let sys = d.system_id.map(system_id).or(talker_c);
            SentenceData::Gsa(Gsa {
                mode2: match d.mode2 {
                    nmea::sentences::gsa::GsaMode2::NoFix => 1,
                    nmea::sentences::gsa::GsaMode2::Fix2D => 2,
                    nmea::sentences::gsa::GsaMode2::Fix3D => 3,
                },
                used: d
                    .fix_sats_prn
                    .iter()
                    .map(|&p| (sys.unwrap_or_else(|| Constellation::from_prn(p)), p))
                    .collect(),
                pdop: d.pdop,
                hdop: d.hdop,
                vdop: d.vdop,
            })
        }
        P::GSV(d) => SentenceData::Gsv(Gsv {
            constellation: talker_c,
            total: d.number_of_sentences,
            number: d.sentence_num,
            in_view: d.sats_in_view,
            signal: gsv_signal,
            sats: d
                .sats_info
                .iter()
                .flatten()
                .map(|s| SatView {
                    constellation: talker_c.unwrap_or_else(|| Constellation::from_prn(s.prn())),
                    prn: s.prn(),
                    elevation: s.elevation(),
                    azimuth: s.azimuth(),
                    snr: s.snr(),
                })
                .collect(),
        }),
        P::GNS(d) => SentenceData::Gns(Gns {
            time: tod(d.fix_time),
            lat: d.lat,
            lon: d.lon,
            modes: gns_modes,
            sats: d.nsattelites,
            hdop: d.hdop,
            alt_msl: d.alt,
            geoid_sep: d.geoid_separation,
        }),
        P::GLL(d) => SentenceData::Gll(Gll {
            time: tod(d.fix_time),
            lat: d.latitude,
            lon: d.longitude,
            valid: d.valid,
            mode: d.faa_mode.as_ref().map(faa_char),
        }),
        P::VTG(d) => SentenceData::Vtg(Vtg {
            course: d.true_course,
            speed_knots: d.speed_over_ground,
        }),
        P::GST(d) => SentenceData::Gst(Gst {
            time: tod(d.time),
            rms: d.rms_sd,
            lat_sd: d.lat_sd,
            lon_sd: d.long_sd,
            alt_sd: d.alt_sd,
        }),
        P::ZDA(d) => SentenceData::Zda(Zda {
            time: tod(d.utc_time),
            date: match (d.year, d.month, d.day) {
                (Some(y), Some(m), Some(dd)) => {
                    NaiveDate::from_ymd_opt(y.into(), m.into(), dd.into())
                }
                _ => None,
            },
        }),
        P::TXT(d) => SentenceData::Txt(d.text.to_string()),
        _ => SentenceData::Other,
    };
    Ok(Sentence {
        talker: talker.into(),
        kind: kind.into(),
        bad_minutes,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_ck(body: &str) -> String {
        format!("${body}*{:02X}", nmea_checksum(body.as_bytes()))
    }

    #[test]
    fn leap_second_normalised() {
        let s = parse_sentence(&with_ck(
            "GPRMC,235960.00,A,3114.8789,N,12135.2442,E,0.1,10.0,311216,,,A",
        ))
        .unwrap();
        let t = s.time().unwrap();
        assert!(t.leap);
        assert_eq!(t.ms, 86_399_000);
        assert_eq!(t.ordinal_ms(), 86_400_000);
        assert_eq!(t.to_naive_time().format("%H:%M:%S").to_string(), "23:59:60");
    }

    #[test]
    fn zda_plus_zone() {
        let s = parse_sentence(&with_ck("GPZDA,120000.00,05,08,2026,+00,00")).unwrap();
        match s.data {
            SentenceData::Zda(z) => assert_eq!(z.date, NaiveDate::from_ymd_opt(2026, 8, 5)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn gns_four_modes() {
        let s = parse_sentence(
            "$GNGNS,053232.438,3114.8789,N,12135.2442,E,ANNA,07,1.2,153.8,8.3,,0000*5F",
        )
        .unwrap();
        match s.data {
            SentenceData::Gns(g) => {
                assert_eq!(g.modes, "ANNA");
                assert_eq!(g.sats, 7);
                assert!((g.lat.unwrap() - 31.247981667).abs() < 1e-6);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn gll_without_mode() {
        let s = parse_sentence(&with_ck("GPGLL,4808.9993,N,01135.0798,E,000343.03,A")).unwrap();
        match s.data {
            SentenceData::Gll(g) => {
                assert!(g.valid);
                assert_eq!(g.mode, Some('A'));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn gga_empty_quality_is_invalid() {
        let s = parse_sentence(&with_ck(
            "GPGGA,120000.00,4808.9993,N,01135.0798,W,,2,60.000,100.0,M,,M,,",
        ))
        .unwrap();
        match s.data {
            SentenceData::Gga(g) => assert_eq!(g.quality, 0),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn gn_gsv_classified_by_prn() {
        let s = parse_sentence(&with_ck(
            "GNGSV,1,1,03,05,40,100,30,70,20,200,25,210,10,300,20",
        ))
        .unwrap();
        match s.data {
            SentenceData::Gsv(g) => {
                let c: Vec<_> = g.sats.iter().map(|s| s.constellation).collect();
                assert_eq!(
                    c,
                    vec![
                        Constellation::Gps,
                        Constellation::Glonass,
                        Constellation::Beidou
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn beidou_talkers() {
        for t in ["BD", "GB"] {
            let s = parse_sentence(&with_ck(&format!("{t}GSV,1,1,01,13,19,043,17"))).unwrap();
            match s.data {
                SentenceData::Gsv(g) => assert_eq!(g.sats[0].constellation, Constellation::Beidou),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn gsa_with_system_id() {
        let s = parse_sentence("$GNGSA,A,3,13,27,37,,,,,,,,,,1.5,0.9,1.2,4*39").unwrap();
        match s.data {
            SentenceData::Gsa(g) => {
                assert_eq!(g.mode2, 3);
                assert_eq!(
                    g.used,
                    vec![
                        (Constellation::Beidou, 13),
                        (Constellation::Beidou, 27),
                        (Constellation::Beidou, 37)
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn gsa_sirf_trig_trailing_field() {
        let s = parse_sentence(&with_ck("BDGSA,A,3,201,202,,,,,,,,,,,5.1,1.3,4.9,3.3")).unwrap();
        match s.data {
            SentenceData::Gsa(g) => {
                assert_eq!(g.used.len(), 2);
                assert_eq!(g.used[0].0, Constellation::Beidou);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn proprietary_dropped() {
        assert_eq!(
            parse_sentence("$PMTK001,320,2*30"),
            Err(DropReason::Proprietary)
        );
        assert_eq!(
            parse_sentence("$PSRFEPE,053229.438,V,,,,,*23"),
            Err(DropReason::Proprietary)
        );
    }

    #[test]
    fn unused_standard_sentence_is_other() {
        let s = parse_sentence(
            "$GPGRS,150119.000,1,-0.33,-2.59,3.03,-0.09,-2.98,7.12,-15.6,17.0,,,,*5A",
        )
        .unwrap();
        assert_eq!(s.data, SentenceData::Other);
        assert_eq!(s.kind, "GRS");
    }

    #[test]
    fn bad_minutes_flagged() {
        let s = parse_sentence(&with_ck(
            "GPGGA,120000.00,4875.0000,N,01135.0798,E,1,08,1.0,100.0,M,0.0,M,,",
        ))
        .unwrap();
        assert!(s.bad_minutes);
    }

    #[test]
    fn malformed_address() {
        assert_eq!(
            parse_sentence("$GPN,00000.0000,E,0,00,0.0,,M,,M,,*5C"),
            Err(DropReason::Malformed)
        );
    }
}

//! Epoch merger: groups parsed sentences into receiver cycles ("epochs")
//! and builds one [`Fix`] per cycle with the validity rules of the notes
//! (§3.2).
//!
//! An epoch is keyed by its UTC time of day. It closes when a sentence
//! with a different time arrives, or as soon as the learned *cycle ender*
//! arrives (the last sentence type of a cycle, learned from two identical
//! consecutive cycles, as gpsd does), so fixes are not delayed by a cycle.
//! GSV sky views are tracked separately across epochs because many
//! receivers send them only every few cycles.

use crate::fix::{
    AccuracyModel, AccuracySource, ConstellationCount, Fix, FixMode, FixQuality, InvalidReason,
    SourceKind,
};
use crate::geodesy::haversine_m;
use crate::sentence::{
    Constellation, Gga, Gll, Gns, Gsa, Gst, Rmc, SatView, Sentence, SentenceData, Tod, Vtg, Zda,
};
use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

/// f32 from `nmea` to f64 without binary noise (153.8f32 → 153.8).
fn clean(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::NAN)
}
use std::collections::{BTreeMap, BTreeSet};

const KNOT_MPS: f64 = 1852.0 / 3600.0;
const MAX_SKY_SETS: usize = 32;
const MAX_SATS_PER_SET: usize = 128;
const SKY_STALE_EPOCHS: u64 = 10;

/// Merger settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MergerConfig {
    pub accuracy: AccuracyModel,
    /// Implied speed above which a fix is rejected as a jump, m/s (after
    /// allowing for both fixes' accuracy).
    pub max_speed_mps: f64,
    /// RMC and GGA positions of one epoch further apart than this are
    /// inconsistent, metres.
    pub max_disagreement_m: f64,
    /// Stamped on every fix.
    pub source: SourceKind,
}

impl Default for MergerConfig {
    fn default() -> Self {
        Self {
            accuracy: AccuracyModel::default(),
            max_speed_mps: 30.0,
            max_disagreement_m: 50.0,
            source: SourceKind::Unknown,
        }
    }
}

/// Merger counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergerStats {
    /// Epochs emitted (with or without a fix).
    pub epochs: u64,
    /// Epochs with a valid 2D/3D fix.
    pub fixes: u64,
    /// Sentences arriving after their epoch was emitted.
    pub late_sentences: u64,
    /// Repeated cycles with a stale time.
    pub latched: u64,
    /// Fixes rejected as impossible jumps.
    pub jumps: u64,
    /// Epochs cut by a gap or the end of the stream before their cycle
    /// ender arrived (dropped).
    pub incomplete: u64,
}

#[derive(Debug, Default)]
struct Epoch {
    tod: Option<Tod>,
    gga: Option<Gga>,
    rmc: Option<Rmc>,
    gns: Option<Gns>,
    gll: Option<Gll>,
    vtg: Option<Vtg>,
    gst: Option<Gst>,
    zda: Option<Zda>,
    gsa: Vec<Gsa>,
    bad_minutes: bool,
    latched: bool,
    kinds: Vec<String>,
    last_kind: Option<String>,
}

impl Epoch {
    fn has_position_sentence(&self) -> bool {
        self.gga.is_some() || self.rmc.is_some() || self.gns.is_some() || self.gll.is_some()
    }
}

#[derive(Debug, Default)]
struct SkySet {
    sats: Vec<SatView>,
    pending: Vec<SatView>,
    next: u16,
    total: u16,
    seen_epoch: u64,
}

#[derive(Debug, Clone, Copy)]
struct Accepted {
    lat: f64,
    lon: f64,
    acc: f64,
    ms: i64,
}

/// Builds fixes from parsed sentences. Never panics on any input order.
#[derive(Debug)]
pub struct EpochMerger {
    cfg: MergerConfig,
    cur: Epoch,
    ender: Option<String>,
    ender_candidate: Option<String>,
    ender_misses: u32,
    last_emitted: Option<(Tod, Vec<String>)>,
    last_date: Option<NaiveDate>,
    last_tod_ms: Option<u32>,
    sky: BTreeMap<(String, Option<String>), SkySet>,
    epoch_counter: u64,
    last_accepted: Option<Accepted>,
    rejected_in_row: u32,
    stats: MergerStats,
}

impl Default for EpochMerger {
    fn default() -> Self {
        Self::new(MergerConfig::default())
    }
}

fn fail(r: InvalidReason, inv: &mut Option<InvalidReason>) {
    if inv.is_none() {
        *inv = Some(r);
    }
}

fn is_multi_sentence(addr: &str) -> bool {
    addr.ends_with("GSV") || addr.ends_with("GSA") || addr.ends_with("TXT")
}

fn mode_validity(m: char) -> Result<bool, InvalidReason> {
    // Ok(degraded)
    match m {
        'A' | 'D' | 'P' | 'R' | 'F' => Ok(false),
        'E' => Ok(true),
        _ => Err(InvalidReason::ModeIndicator),
    }
}

impl EpochMerger {
    /// New merger.
    pub fn new(cfg: MergerConfig) -> Self {
        Self {
            cfg,
            cur: Epoch::default(),
            ender: None,
            ender_candidate: None,
            ender_misses: 0,
            last_emitted: None,
            last_date: None,
            last_tod_ms: None,
            sky: BTreeMap::new(),
            epoch_counter: 0,
            last_accepted: None,
            rejected_in_row: 0,
            stats: MergerStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> &MergerStats {
        &self.stats
    }

    /// The learned cycle ender, e.g. `GNZDA`.
    pub fn cycle_ender(&self) -> Option<&str> {
        self.ender.as_deref()
    }

    /// End of stream or source gap. The pending epoch is emitted only when
    /// no cycle ender has been learned; otherwise it is incomplete (its
    /// ender never arrived: the link was cut mid-cycle) and is dropped, as
    /// gpsd does.
    pub fn flush(&mut self) -> Option<Fix> {
        if self.ender.is_some() && self.cur.tod.is_some() {
            self.stats.incomplete += 1;
            self.cur = Epoch::default();
            return None;
        }
        self.close(false)
    }

    /// Adds one sentence; returns the epochs it completes (usually none,
    /// sometimes one; two when a single-sentence cycle both closes the
    /// previous epoch and is its own cycle ender).
    pub fn push(&mut self, s: Sentence) -> Vec<Fix> {
        let mut v = Vec::new();
        self.push_with(s, &mut |f| v.push(f));
        v
    }

    /// Adds one sentence, calling `emit` for each completed epoch.
    pub fn push_with(&mut self, s: Sentence, emit: &mut dyn FnMut(Fix)) {
        let addr = format!("{}{}", s.talker, s.kind);
        if let SentenceData::Gsv(g) = &s.data {
            self.update_sky(&s.talker, g);
        }
        if let Some(t) = s.time() {
            match self.cur.tod {
                None => {
                    if let Some((et, kinds)) = &self.last_emitted {
                        if *et == t {
                            if kinds.contains(&addr) {
                                // The whole cycle repeats with a stale time.
                                self.cur.latched = true;
                                self.stats.latched += 1;
                            } else {
                                self.stats.late_sentences += 1;
                                return;
                            }
                        }
                    }
                    self.cur.tod = Some(t);
                }
                Some(ct) if ct == t => {
                    if self.cur.kinds.contains(&addr) {
                        // Same timed sentence twice: a new cycle, stale time.
                        if let Some(f) = self.close(true) {
                            emit(f);
                        }
                        self.cur.tod = Some(t);
                        self.cur.latched = true;
                        self.stats.latched += 1;
                    }
                }
                Some(_) => {
                    if self.last_emitted.as_ref().is_some_and(|(et, _)| *et == t) {
                        self.stats.late_sentences += 1;
                        return;
                    }
                    if let Some(f) = self.close(true) {
                        emit(f);
                    }
                    self.cur.tod = Some(t);
                }
            }
        }
        self.add(&addr, s);
        if self.cur.tod.is_some() && self.ender.as_deref() == Some(addr.as_str()) {
            self.ender_misses = 0;
            if let Some(f) = self.close(false) {
                emit(f);
            }
        }
    }

    fn add(&mut self, addr: &str, s: Sentence) {
        let e = &mut self.cur;
        if !e.kinds.iter().any(|k| k == addr) && e.kinds.len() < 64 {
            e.kinds.push(addr.to_string());
        }
        e.last_kind = Some(addr.to_string());
        e.bad_minutes |= s.bad_minutes;
        match s.data {
            SentenceData::Gga(d) => e.gga = Some(d),
            SentenceData::Rmc(d) => e.rmc = Some(d),
            SentenceData::Gns(d) => e.gns = Some(d),
            SentenceData::Gll(d) => e.gll = Some(d),
            SentenceData::Vtg(d) => e.vtg = Some(d),
            SentenceData::Gst(d) => e.gst = Some(d),
            SentenceData::Zda(d) => e.zda = Some(d),
            SentenceData::Gsa(d) => {
                if e.gsa.len() < 16 {
                    e.gsa.push(d)
                }
            }
            SentenceData::Gsv(_) | SentenceData::Txt(_) | SentenceData::Other => {}
        }
    }

    fn update_sky(&mut self, talker: &str, g: &crate::sentence::Gsv) {
        let key = (talker.to_string(), g.signal.clone());
        if !self.sky.contains_key(&key) && self.sky.len() >= MAX_SKY_SETS {
            return;
        }
        let epoch = self.epoch_counter;
        let set = self.sky.entry(key).or_default();
        if g.number == 1 {
            set.pending.clear();
            set.next = 1;
            set.total = g.total;
        }
        if g.number == 0 || g.number != set.next || g.total != set.total {
            set.pending.clear();
            set.next = 0;
            return;
        }
        for s in &g.sats {
            if set.pending.len() < MAX_SATS_PER_SET {
                set.pending.push(*s);
            }
        }
        set.next = set.next.saturating_add(1);
        if g.number >= g.total {
            set.sats = std::mem::take(&mut set.pending);
            set.seen_epoch = epoch;
            set.next = 0;
        }
    }

    fn close(&mut self, by_time_change: bool) -> Option<Fix> {
        let ep = std::mem::take(&mut self.cur);
        let tod = ep.tod?;
        // Learn the cycle ender from cycles closed by a time change.
        if by_time_change {
            let last = ep.last_kind.clone().filter(|k| !is_multi_sentence(k));
            if self.ender.is_some() {
                self.ender_misses += 1;
                if self.ender_misses >= 2 {
                    self.ender = None;
                    self.ender_candidate = last;
                    self.ender_misses = 0;
                }
            } else if last.is_some() && last == self.ender_candidate {
                self.ender = last;
                self.ender_misses = 0;
            } else {
                self.ender_candidate = last;
            }
        }
        self.last_emitted = Some((tod, ep.kinds.clone()));
        self.epoch_counter += 1;
        let epoch = self.epoch_counter;
        self.sky.retain(|_, s| {
            epoch.saturating_sub(s.seen_epoch) <= SKY_STALE_EPOCHS || !s.pending.is_empty()
        });
        if !ep.has_position_sentence() {
            return None;
        }
        let fix = self.build(&ep, tod);
        self.stats.epochs += 1;
        if fix.is_valid() {
            self.stats.fixes += 1;
        }
        Some(fix)
    }

    fn date_for(&mut self, ep: &Epoch, tod: Tod) -> Option<NaiveDate> {
        let explicit = ep
            .zda
            .as_ref()
            .and_then(|z| z.date)
            .or(ep.rmc.as_ref().and_then(|r| r.date));
        let date = match explicit {
            Some(d) => Some(d),
            None => match (self.last_date, self.last_tod_ms) {
                (Some(d), Some(prev))
                    if prev > tod.ordinal_ms() && prev - tod.ordinal_ms() > 43_200_000 =>
                {
                    d.checked_add_days(Days::new(1))
                }
                (d, _) => d,
            },
        };
        self.last_date = date;
        self.last_tod_ms = Some(tod.ordinal_ms());
        date
    }

    fn build(&mut self, ep: &Epoch, tod: Tod) -> Fix {
        let date = self.date_for(ep, tod);
        let time = date.map(|d| d.and_time(tod.to_naive_time()).and_utc());

        // Position: GGA, else RMC, else GNS, else GLL.
        let gga_pos = ep.gga.as_ref().and_then(|g| g.lat.zip(g.lon));
        let rmc_pos = ep.rmc.as_ref().and_then(|r| r.lat.zip(r.lon));
        let gns_pos = ep.gns.as_ref().and_then(|g| g.lat.zip(g.lon));
        let gll_pos = ep.gll.as_ref().and_then(|g| g.lat.zip(g.lon));
        let pos = gga_pos.or(rmc_pos).or(gns_pos).or(gll_pos);

        let mut invalid: Option<InvalidReason> = None;
        let mut degraded = false;
        let mut quality = FixQuality::Invalid;
        let mut votes_valid = 0u32;
        let mut votes_invalid = 0u32;

        if let Some(r) = &ep.rmc {
            let mut ok = matches!(r.status, 'A' | 'D');
            if !ok {
                fail(InvalidReason::RmcStatus, &mut invalid);
            }
            if let Some(m) = r.mode {
                match mode_validity(m) {
                    Ok(d) => degraded |= d,
                    Err(e) => {
                        ok = false;
                        fail(e, &mut invalid);
                    }
                }
                quality = FixQuality::from_mode(m);
            } else if ok {
                quality = if r.status == 'D' {
                    FixQuality::Dgps
                } else {
                    FixQuality::Autonomous
                };
            }
            if ok {
                votes_valid += 1
            } else {
                votes_invalid += 1
            }
        }
        if let Some(g) = &ep.gns {
            let best = crate::sentence::best_mode(&g.modes);
            match best.map(mode_validity) {
                Some(Ok(d)) => {
                    degraded |= d;
                    votes_valid += 1;
                    quality = FixQuality::from_mode(best.unwrap_or('N'));
                }
                _ => {
                    votes_invalid += 1;
                    fail(InvalidReason::ModeIndicator, &mut invalid);
                }
            }
        }
        if let Some(g) = &ep.gll {
            let ok = g.valid && g.mode.is_none_or(|m| mode_validity(m).is_ok());
            if ok {
                votes_valid += 1;
                degraded |= g.mode == Some('E');
            } else {
                votes_invalid += 1;
                fail(InvalidReason::ModeIndicator, &mut invalid);
            }
        }
        if let Some(g) = &ep.gga {
            quality = FixQuality::from_gga(g.quality);
            match g.quality {
                1..=5 | 9 => votes_valid += 1,
                6 => {
                    degraded = true;
                    votes_valid += 1;
                }
                _ => {
                    votes_invalid += 1;
                    fail(InvalidReason::GgaQuality, &mut invalid);
                }
            }
        }
        if votes_valid > 0 && votes_invalid > 0 {
            // Sentences of one epoch disagree on validity.
            invalid = Some(InvalidReason::Inconsistent);
        }
        let gsa_mode = ep.gsa.iter().map(|g| g.mode2).max();
        if gsa_mode == Some(1) {
            fail(InvalidReason::GsaNoFix, &mut invalid);
        }
        let sats_field = ep
            .gga
            .as_ref()
            .and_then(|g| g.sats)
            .or(ep.gns.as_ref().map(|g| u32::from(g.sats)));
        let mut used: BTreeSet<(Constellation, u32)> = BTreeSet::new();
        for g in &ep.gsa {
            used.extend(g.used.iter().copied());
        }
        let sats_used = sats_field
            .map(|s| s.min(u32::from(u16::MAX)) as u16)
            .unwrap_or(used.len() as u16);
        if let Some(n) = sats_field {
            if n < 3 {
                fail(InvalidReason::TooFewSatellites, &mut invalid);
            } else if n == 3 {
                degraded = true;
            }
        }
        match pos {
            None => fail(InvalidReason::NoPosition, &mut invalid),
            Some((lat, lon)) => {
                if !(lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0)
                    || ep.bad_minutes
                {
                    fail(InvalidReason::OutOfRange, &mut invalid);
                } else if lat.abs() < 1e-9 && lon.abs() < 1e-9 {
                    fail(InvalidReason::NullIsland, &mut invalid);
                }
            }
        }
        if let (Some(a), Some(b)) = (gga_pos.or(gns_pos), rmc_pos) {
            if haversine_m(a.0, a.1, b.0, b.1) > self.cfg.max_disagreement_m {
                fail(InvalidReason::Inconsistent, &mut invalid);
            }
        }
        if ep.latched {
            fail(InvalidReason::Latched, &mut invalid);
        }

        let alt_src = ep
            .gga
            .as_ref()
            .map(|g| (g.alt_msl, g.geoid_sep))
            .or(ep.gns.as_ref().map(|g| (g.alt_msl, g.geoid_sep)));
        let (alt_msl, geoid_sep) = alt_src.unwrap_or((None, None));
        let mut mode = match gsa_mode {
            Some(3) => FixMode::Fix3D,
            Some(2) => FixMode::Fix2D,
            _ => {
                if alt_msl.is_some() && sats_field.is_some_and(|n| n >= 4) {
                    FixMode::Fix3D
                } else {
                    FixMode::Fix2D
                }
            }
        };

        let hdop = ep
            .gga
            .as_ref()
            .and_then(|g| g.hdop)
            .or(ep.gns.as_ref().and_then(|g| g.hdop))
            .or(ep.gsa.iter().find_map(|g| g.hdop))
            .map(clean);
        let pdop = ep.gsa.iter().find_map(|g| g.pdop).map(clean);
        let vdop = ep.gsa.iter().find_map(|g| g.vdop).map(clean);

        let gst = ep.gst.as_ref().and_then(|g| g.lat_sd.zip(g.lon_sd));
        let (accuracy_m, accuracy_source) = match (gst, hdop) {
            (Some((a, b)), _) if a.is_finite() && b.is_finite() => (
                Some(self.cfg.accuracy.from_gst(clean(a), clean(b))),
                AccuracySource::Gst,
            ),
            (_, Some(h)) if h.is_finite() && h > 0.0 => (
                Some(self.cfg.accuracy.from_hdop(h, sats_used, mode)),
                AccuracySource::Dop,
            ),
            _ => (None, AccuracySource::None),
        };

        // Implied speed against the last accepted fix.
        if invalid.is_none() {
            if let (Some((lat, lon)), Some(t)) = (pos, time) {
                let ms = t.timestamp_millis();
                let acc = accuracy_m.unwrap_or(self.cfg.accuracy.floor_m);
                if let Some(prev) = self.last_accepted {
                    let dt = (ms - prev.ms) as f64 / 1000.0;
                    if dt > 0.0 && dt <= 600.0 {
                        let d =
                            (haversine_m(prev.lat, prev.lon, lat, lon) - prev.acc - acc).max(0.0);
                        if d / dt > self.cfg.max_speed_mps {
                            self.rejected_in_row += 1;
                            if self.rejected_in_row < 3 {
                                self.stats.jumps += 1;
                                fail(InvalidReason::ImpossibleJump, &mut invalid);
                            }
                        }
                    }
                }
                if invalid.is_none() {
                    self.rejected_in_row = 0;
                    self.last_accepted = Some(Accepted { lat, lon, acc, ms });
                }
            }
        }

        let valid = invalid.is_none();
        if !valid {
            mode = FixMode::NoFix;
            quality = FixQuality::Invalid;
        }
        let speed_mps = ep
            .rmc
            .as_ref()
            .and_then(|r| r.speed_knots)
            .or(ep.vtg.as_ref().and_then(|v| v.speed_knots))
            .map(|k| clean(k) * KNOT_MPS);
        let course_deg = ep
            .rmc
            .as_ref()
            .and_then(|r| r.course)
            .or(ep.vtg.as_ref().and_then(|v| v.course))
            .map(clean);

        // Per-constellation counts.
        let mut counts: BTreeMap<Constellation, (u16, u16)> = BTreeMap::new();
        for (c, _) in &used {
            counts.entry(*c).or_default().0 += 1;
        }
        let mut in_view: BTreeSet<(Constellation, u32)> = BTreeSet::new();
        for set in self.sky.values() {
            for s in &set.sats {
                in_view.insert((s.constellation, s.prn));
            }
        }
        for (c, _) in &in_view {
            let e = counts.entry(*c).or_default();
            e.1 = e.1.saturating_add(1);
        }
        let constellations = counts
            .into_iter()
            .map(|(constellation, (used, in_view))| ConstellationCount {
                constellation,
                used,
                in_view,
            })
            .collect();

        let confirmed = rmc_pos.is_some() && (gga_pos.is_some() || gns_pos.is_some());
        Fix {
            time,
            time_of_day: tod.to_naive_time(),
            leap_second: tod.leap,
            mode,
            quality,
            lat: if valid { pos.map(|p| p.0) } else { None },
            lon: if valid { pos.map(|p| p.1) } else { None },
            alt_msl: if valid { alt_msl.map(clean) } else { None },
            geoid_sep: geoid_sep.map(clean),
            sats_used,
            sats_in_view: in_view.len().min(usize::from(u16::MAX)) as u16,
            constellations,
            hdop,
            pdop,
            vdop,
            accuracy_m: if valid { accuracy_m } else { None },
            accuracy_source: if valid {
                accuracy_source
            } else {
                AccuracySource::None
            },
            speed_mps: if valid { speed_mps } else { None },
            course_deg: if valid { course_deg } else { None },
            source: self.cfg.source,
            degraded: valid && degraded,
            confirmed,
            invalid_reason: invalid,
        }
    }
}

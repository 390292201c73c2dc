//! Patrol tracks: online filter, spike removal, RDP simplification in
//! metres, explicit gaps (never interpolated), mileage, time inside a grid,
//! and a compact binary encoding of a segment.

use crate::fix::Fix;
use crate::geodesy::{bearing_deg, haversine_m, LocalProjection};
use crate::geofence::GridPolygon;
use serde::{Deserialize, Serialize};

/// One kept point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrackPoint {
    /// UTC, milliseconds since the Unix epoch.
    pub time_ms: i64,
    pub lat: f64,
    pub lon: f64,
    /// 95 % accuracy, metres (0 = unknown).
    pub acc_m: f32,
}

impl TrackPoint {
    /// From a valid fix with a full UTC time.
    pub fn from_fix(f: &Fix) -> Option<Self> {
        let (lat, lon) = f.position()?;
        Some(Self {
            time_ms: f.time?.timestamp_millis(),
            lat,
            lon,
            acc_m: f.accuracy_m.unwrap_or(0.0) as f32,
        })
    }

    fn dist(&self, o: &Self) -> f64 {
        haversine_m(self.lat, self.lon, o.lat, o.lon)
    }
}

/// Online filter settings (notes §3.7).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FilterConfig {
    /// Keep when moved more than max(this, `acc_factor` × accuracy), m.
    pub min_distance_m: f64,
    pub acc_factor: f64,
    /// Keep at least one point per this many seconds (presence).
    pub max_interval_s: f64,
    /// Keep on a heading change above this, degrees…
    pub heading_change_deg: f64,
    /// …when moving faster than this, m/s.
    pub heading_min_speed_mps: f64,
    /// Reject points implying a faster speed, m/s.
    pub max_speed_mps: f64,
    /// Reject fixes worse than this accuracy, m.
    pub max_accuracy_m: f64,
    /// Reject fixes with a larger HDOP.
    pub max_hdop: f64,
    /// No usable fix for this long closes the segment (explicit gap), s.
    pub gap_s: f64,
}

impl Default for FilterConfig {
    fn default() -> Self {
        Self {
            min_distance_m: 5.0,
            acc_factor: 0.5,
            max_interval_s: 30.0,
            heading_change_deg: 30.0,
            heading_min_speed_mps: 1.0,
            max_speed_mps: 30.0,
            max_accuracy_m: 50.0,
            max_hdop: 5.0,
            gap_s: 60.0,
        }
    }
}

/// What the recorder did with a fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Kept,
    /// Kept as the first point of a new segment after a gap.
    KeptAfterGap,
    /// Valid but redundant.
    Skipped,
    /// No fix, no time, degraded, or too inaccurate.
    Unusable,
    /// Implied speed impossible.
    Spike,
}

/// A run of points with no gap.
pub type Segment = Vec<TrackPoint>;

/// Records a patrol.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrackRecorder {
    cfg: FilterConfig,
    segments: Vec<Segment>,
    last_usable_ms: Option<i64>,
    gap_pending: bool,
}

fn angle_diff(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(360.0);
    d.min(360.0 - d)
}

impl TrackRecorder {
    /// New recorder.
    pub fn new(cfg: FilterConfig) -> Self {
        Self {
            cfg,
            ..Self::default()
        }
    }

    /// Explicit gap (patrol paused, receiver lost): the next point starts a
    /// new segment.
    pub fn mark_gap(&mut self) {
        self.gap_pending = true;
    }

    /// Offers a fix.
    pub fn push_fix(&mut self, f: &Fix) -> Decision {
        let usable = !f.degraded
            && f.accuracy_m.is_none_or(|a| a <= self.cfg.max_accuracy_m)
            && f.hdop.is_none_or(|h| h <= self.cfg.max_hdop);
        match TrackPoint::from_fix(f) {
            Some(p) if usable => self.push_point(p, f.course_deg, f.speed_mps),
            _ => Decision::Unusable,
        }
    }

    /// Offers a point (course/speed from the receiver when known).
    pub fn push_point(
        &mut self,
        p: TrackPoint,
        course: Option<f64>,
        speed: Option<f64>,
    ) -> Decision {
        if let Some(last) = self.last_usable_ms {
            if p.time_ms <= last {
                return Decision::Unusable;
            }
            if (p.time_ms - last) as f64 / 1000.0 > self.cfg.gap_s {
                self.gap_pending = true;
            }
        }
        let new_segment = self.gap_pending || self.segments.is_empty();
        if !new_segment {
            let seg = self.segments.last().expect("non-empty");
            let prev = *seg.last().expect("segments are never empty");
            let dt = (p.time_ms - prev.time_ms) as f64 / 1000.0;
            let d = p.dist(&prev);
            if dt > 0.0 && d / dt > self.cfg.max_speed_mps {
                return Decision::Spike;
            }
            self.last_usable_ms = Some(p.time_ms);
            let far = d > self
                .cfg
                .min_distance_m
                .max(self.cfg.acc_factor * f64::from(p.acc_m));
            let late = dt >= self.cfg.max_interval_s;
            let turning = {
                let heading =
                    course.unwrap_or_else(|| bearing_deg(prev.lat, prev.lon, p.lat, p.lon));
                let moving = speed.unwrap_or(if dt > 0.0 { d / dt } else { 0.0 })
                    > self.cfg.heading_min_speed_mps;
                let prev_heading = (seg.len() >= 2).then(|| {
                    let q = seg[seg.len() - 2];
                    bearing_deg(q.lat, q.lon, prev.lat, prev.lon)
                });
                moving
                    && d > 1.0
                    && prev_heading
                        .is_some_and(|h| angle_diff(h, heading) > self.cfg.heading_change_deg)
            };
            if !(far || late || turning) {
                return Decision::Skipped;
            }
            self.segments.last_mut().expect("non-empty").push(p);
            return Decision::Kept;
        }
        let after_gap = !self.segments.is_empty();
        self.segments.push(vec![p]);
        self.gap_pending = false;
        self.last_usable_ms = Some(p.time_ms);
        if after_gap {
            Decision::KeptAfterGap
        } else {
            Decision::Kept
        }
    }

    /// Segments so far.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Finishes: spike removal and simplification per segment.
    pub fn finish(self, epsilon_m: f64) -> Track {
        Track {
            segments: self
                .segments
                .into_iter()
                .map(|s| simplify(&remove_spikes(&s, 3.0), epsilon_m, self.cfg.max_interval_s))
                .collect(),
        }
    }
}

/// Removes points further than `factor` × their accuracy (at least 10 m)
/// from the component-wise median of their ±2 neighbours.
pub fn remove_spikes(points: &[TrackPoint], factor: f64) -> Segment {
    if points.len() < 5 {
        return points.to_vec();
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    };
    let mut out = Vec::with_capacity(points.len());
    for (i, p) in points.iter().enumerate() {
        let lo = i.saturating_sub(2);
        let hi = (i + 3).min(points.len());
        let nb: Vec<&TrackPoint> = points[lo..hi]
            .iter()
            .enumerate()
            .filter(|(j, _)| lo + j != i)
            .map(|(_, q)| q)
            .collect();
        if i == 0 || i == points.len() - 1 || nb.len() < 2 {
            out.push(*p);
            continue;
        }
        let mlat = median(nb.iter().map(|q| q.lat).collect());
        let mlon = median(nb.iter().map(|q| q.lon).collect());
        let limit = (factor * f64::from(p.acc_m)).max(10.0);
        if haversine_m(p.lat, p.lon, mlat, mlon) <= limit {
            out.push(*p);
        }
    }
    out
}

/// Ramer–Douglas–Peucker in metres (local projection at the segment's
/// first point) with the time-synchronised distance (TD-TR): a point is
/// measured against where the worker would be *at that point's time* moving
/// evenly along the chord, so the simplified track keeps when as well as
/// where (a stop followed by a walk keeps its corner; time-in-grid computed
/// on the stored track stays within `epsilon_m` of the walk). Keeps
/// first/last and presence points (a time step of at least `presence_s`
/// before or after); the chords between those are simplified one by one.
pub fn simplify(points: &[TrackPoint], epsilon_m: f64, presence_s: f64) -> Segment {
    let n = points.len();
    if n < 3 {
        return points.to_vec();
    }
    let pr = LocalProjection::new(points[0].lat, points[0].lon);
    let xy: Vec<(f64, f64)> = points.iter().map(|p| pr.to_xy(p.lat, p.lon)).collect();
    let mut keep = vec![false; n];
    keep[0] = true;
    keep[n - 1] = true;
    let presence_ms = (presence_s * 1000.0) as i64;
    for i in 1..n - 1 {
        if points[i].time_ms - points[i - 1].time_ms >= presence_ms
            || points[i + 1].time_ms - points[i].time_ms >= presence_ms
        {
            keep[i] = true;
        }
    }
    let anchors: Vec<usize> = (0..n).filter(|&i| keep[i]).collect();
    let mut stack: Vec<(usize, usize)> = anchors.windows(2).map(|w| (w[0], w[1])).collect();
    while let Some((a, b)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let (mut best, mut bi) = (0.0, a);
        let span = (points[b].time_ms - points[a].time_ms) as f64;
        for i in a + 1..b {
            let f = if span > 0.0 {
                (points[i].time_ms - points[a].time_ms) as f64 / span
            } else {
                0.0
            };
            let at = (
                xy[a].0 + (xy[b].0 - xy[a].0) * f,
                xy[a].1 + (xy[b].1 - xy[a].1) * f,
            );
            let d = (xy[i].0 - at.0).hypot(xy[i].1 - at.1);
            if d > best {
                best = d;
                bi = i;
            }
        }
        if best > epsilon_m {
            keep[bi] = true;
            stack.push((a, bi));
            stack.push((bi, b));
        }
    }
    points
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(p, _)| *p)
        .collect()
}

/// A finished track: segments separated by explicit gaps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Track {
    pub segments: Vec<Segment>,
}

impl Track {
    /// Distance walked, metres (haversine within segments, never across
    /// gaps).
    pub fn mileage_m(&self) -> f64 {
        self.segments
            .iter()
            .map(|s| s.windows(2).map(|w| w[0].dist(&w[1])).sum::<f64>())
            .sum()
    }

    /// Time covered by segments, seconds (gaps excluded).
    pub fn duration_s(&self) -> f64 {
        self.segments
            .iter()
            .filter_map(|s| Some((s.last()?.time_ms - s.first()?.time_ms) as f64 / 1000.0))
            .sum()
    }

    /// Seconds certainly inside `grid` (uncertain time near the boundary and
    /// gaps never count): [`Track::grid_time`]'s `inside_s`.
    pub fn time_inside_s(&self, grid: &GridPolygon) -> f64 {
        self.grid_time(grid).inside_s
    }
}

// --------------------------------------------------------------- encoding

const MAGIC: [u8; 2] = *b"GT";
const VERSION: u8 = 1;

/// Decoding failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not a Gridpad track segment")]
    BadHeader,
    #[error("truncated data")]
    Truncated,
    #[error("value overflow")]
    Overflow,
    #[error("trailing bytes")]
    Trailing,
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(data: &[u8], pos: &mut usize) -> Result<u64, DecodeError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*pos).ok_or(DecodeError::Truncated)?;
        *pos += 1;
        if shift == 63 && b > 1 {
            return Err(DecodeError::Overflow);
        }
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(DecodeError::Overflow)
}

fn e7(v: f64) -> i64 {
    (v * 1e7).round() as i64
}

/// Encodes a segment: header `GT`, version, count; then per point
/// zigzag-varint deltas of time (ms), latitude and longitude (1e-7°, so
/// ~1 cm) and the accuracy in decimetres. A 1 Hz walking track takes about
/// 7–9 bytes per point.
pub fn encode_segment(points: &[TrackPoint]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + points.len() * 9);
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    put_varint(&mut out, points.len() as u64);
    let (mut t, mut a, mut o) = (0i64, 0i64, 0i64);
    for p in points {
        let (pa, po) = (e7(p.lat), e7(p.lon));
        put_varint(&mut out, zigzag(p.time_ms.wrapping_sub(t)));
        put_varint(&mut out, zigzag(pa - a));
        put_varint(&mut out, zigzag(po - o));
        put_varint(
            &mut out,
            (f64::from(p.acc_m).max(0.0) * 10.0)
                .round()
                .min(u32::MAX as f64) as u64,
        );
        (t, a, o) = (p.time_ms, pa, po);
    }
    out
}

/// Decodes [`encode_segment`] output (coordinates quantised to 1e-7°).
pub fn decode_segment(data: &[u8]) -> Result<Segment, DecodeError> {
    if data.len() < 3 || data[..2] != MAGIC || data[2] != VERSION {
        return Err(DecodeError::BadHeader);
    }
    let mut pos = 3;
    let n = get_varint(data, &mut pos)?;
    // Each point takes at least 4 bytes: bound the allocation.
    if n > (data.len() - pos) as u64 / 4 {
        return Err(DecodeError::Truncated);
    }
    let mut out = Vec::with_capacity(n as usize);
    let (mut t, mut a, mut o) = (0i64, 0i64, 0i64);
    for _ in 0..n {
        t = t.wrapping_add(unzigzag(get_varint(data, &mut pos)?));
        a = a
            .checked_add(unzigzag(get_varint(data, &mut pos)?))
            .ok_or(DecodeError::Overflow)?;
        o = o
            .checked_add(unzigzag(get_varint(data, &mut pos)?))
            .ok_or(DecodeError::Overflow)?;
        let acc = get_varint(data, &mut pos)?;
        out.push(TrackPoint {
            time_ms: t,
            lat: a as f64 / 1e7,
            lon: o as f64 / 1e7,
            acc_m: acc as f32 / 10.0,
        });
    }
    if pos != data.len() {
        return Err(DecodeError::Trailing);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geodesy::EARTH_RADIUS_M;

    const T0: i64 = 1_785_900_000_000;

    /// Walk east along latitude 31.2 at `speed` m/s, 1 Hz.
    fn walk(n: usize, speed: f64) -> Vec<TrackPoint> {
        let m_per_deg = EARTH_RADIUS_M.to_radians() * 31.2f64.to_radians().cos();
        (0..n)
            .map(|i| TrackPoint {
                time_ms: T0 + i as i64 * 1000,
                lat: 31.2,
                lon: 121.5 + i as f64 * speed / m_per_deg,
                acc_m: 5.0,
            })
            .collect()
    }

    #[test]
    fn zigzag_and_varint() {
        for v in [0i64, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag(zigzag(v)), v);
            let mut b = Vec::new();
            put_varint(&mut b, zigzag(v));
            let mut p = 0;
            assert_eq!(unzigzag(get_varint(&b, &mut p).unwrap()), v);
        }
    }

    #[test]
    fn encode_round_trip() {
        let mut pts = walk(200, 1.4);
        pts[50].acc_m = 12.3;
        pts[51].lat = -33.8688; // big jump, negative
        pts[52].lon = -151.2093;
        let enc = encode_segment(&pts);
        let dec = decode_segment(&enc).unwrap();
        assert_eq!(dec.len(), pts.len());
        for (a, b) in pts.iter().zip(&dec) {
            assert_eq!(a.time_ms, b.time_ms);
            assert!((a.lat - b.lat).abs() <= 0.5e-7 + 1e-12);
            assert!((a.lon - b.lon).abs() <= 0.5e-7 + 1e-12);
            assert!((a.acc_m - b.acc_m).abs() < 0.051);
        }
        // Compact: a walking segment costs < 10 bytes per point.
        let plain = encode_segment(&walk(1000, 1.4));
        assert!(plain.len() < 10 * 1000, "{}", plain.len());
    }

    #[test]
    fn decode_rejects_garbage() {
        assert_eq!(decode_segment(b"XX\x01\x00"), Err(DecodeError::BadHeader));
        let enc = encode_segment(&walk(10, 1.0));
        assert_eq!(
            decode_segment(&enc[..enc.len() - 1]),
            Err(DecodeError::Truncated)
        );
        let mut long = enc.clone();
        long.push(0);
        assert_eq!(decode_segment(&long), Err(DecodeError::Trailing));
        assert_eq!(
            decode_segment(b"GT\x01\xff\xff\xff\xff\x0f"),
            Err(DecodeError::Truncated)
        );
        assert!(decode_segment(
            b"GT\x01\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x00\x00\x00"
        )
        .is_err());
    }

    #[test]
    fn online_filter_distance_time_and_spikes() {
        let mut r = TrackRecorder::new(FilterConfig::default());
        // Walking 1.4 m/s: a point every ~4 s (> 5 m).
        let pts = walk(61, 1.4);
        let kept = pts
            .iter()
            .filter(|p| matches!(r.push_point(**p, None, None), Decision::Kept))
            .count();
        assert!((12..=17).contains(&kept), "{kept}");
        // A 500 m spike one second later is rejected.
        let mut spike = pts[60];
        spike.time_ms += 1000;
        spike.lat += 0.0045;
        assert_eq!(r.push_point(spike, None, None), Decision::Spike);
        // Standing still: one point per 30 s.
        let mut r = TrackRecorder::new(FilterConfig::default());
        let still: Vec<_> = walk(91, 0.0);
        let kept = still
            .iter()
            .filter(|p| r.push_point(**p, None, None) == Decision::Kept)
            .count();
        assert_eq!(kept, 4); // t = 0, 30, 60, 90
    }

    #[test]
    fn heading_change_kept() {
        let mut r = TrackRecorder::new(FilterConfig {
            min_distance_m: 100.0,
            ..FilterConfig::default()
        });
        let east = walk(3, 2.0);
        for p in &east {
            r.push_point(*p, None, None);
        }
        let _ = r.push_point(east[0], None, None);
        // Force two kept points, then turn north.
        let mut r = TrackRecorder::new(FilterConfig {
            min_distance_m: 100.0,
            max_interval_s: 1.0,
            ..FilterConfig::default()
        });
        for p in &east {
            assert_eq!(r.push_point(*p, None, None), Decision::Kept);
        }
        let cfg = FilterConfig {
            min_distance_m: 100.0,
            max_interval_s: 1000.0,
            ..FilterConfig::default()
        };
        r.cfg = cfg;
        let mut north = east[2];
        north.time_ms += 1000;
        north.lat += (2.0 / EARTH_RADIUS_M).to_degrees();
        assert_eq!(r.push_point(north, None, Some(2.0)), Decision::Kept);
        let mut straight = north;
        straight.time_ms += 1000;
        straight.lat += (2.0 / EARTH_RADIUS_M).to_degrees();
        assert_eq!(r.push_point(straight, None, Some(2.0)), Decision::Skipped);
    }

    #[test]
    fn gaps_are_explicit_and_not_bridged() {
        let mut r = TrackRecorder::new(FilterConfig::default());
        let a = walk(20, 1.4);
        for p in &a {
            r.push_point(*p, None, None);
        }
        // 5 minutes later, 300 m further: new segment, no interpolation.
        let mut b = walk(20, 1.4);
        for p in &mut b {
            p.time_ms += 300_000;
            p.lon += 0.00315;
        }
        assert_eq!(r.push_point(b[0], None, None), Decision::KeptAfterGap);
        for p in &b[1..] {
            r.push_point(*p, None, None);
        }
        r.mark_gap();
        let mut c = b[19];
        c.time_ms += 1000;
        assert_eq!(r.push_point(c, None, None), Decision::KeptAfterGap);
        let t = r.finish(5.0);
        assert_eq!(t.segments.len(), 3);
        // Kept every 4 s (5.6 m > 5 m): 0…16 s in A and B = 2 × 22.4 m;
        // the 300 m jumps across the gaps never count.
        assert!(
            (t.mileage_m() - 2.0 * 22.4).abs() < 0.5,
            "{}",
            t.mileage_m()
        );
    }

    #[test]
    fn rdp_in_metres() {
        // Straight line with 2 m wiggles: simplified to its ends at ε = 5 m,
        // a 20 m detour survives.
        let mut pts = walk(50, 2.0);
        for (i, p) in pts.iter_mut().enumerate() {
            p.lat += ((if i % 2 == 0 { 2.0 } else { -2.0 }) / EARTH_RADIUS_M).to_degrees();
        }
        assert_eq!(simplify(&pts, 5.0, 1e9).len(), 2);
        pts[25].lat += (20.0 / EARTH_RADIUS_M).to_degrees();
        let s = simplify(&pts, 5.0, 1e9);
        assert!(s.len() > 2 && s.len() < 10, "{}", s.len());
        assert!(s.contains(&pts[25]));
        // Presence points (long stays) are kept.
        let mut stay = walk(5, 2.0);
        for (i, p) in stay.iter_mut().enumerate() {
            p.time_ms = T0 + i as i64 * 60_000;
        }
        assert_eq!(simplify(&stay, 5.0, 30.0).len(), 5);
    }

    #[test]
    fn simplification_keeps_when_as_well_as_where() {
        // 20 s standing, then 60 s walking on along the same line: spatially one straight
        // line, but the start of the walk must survive or the time along it is lost.
        let mut pts: Vec<TrackPoint> = (0..20)
            .map(|i| TrackPoint {
                time_ms: T0 + i * 1000,
                ..walk(1, 0.0)[0]
            })
            .collect();
        pts.extend(walk(61, 1.5).into_iter().map(|mut p| {
            p.time_ms += 20_000;
            p
        }));
        let s = simplify(&pts, 3.0, 1e9);
        assert!(s.len() >= 3, "{}", s.len());
        let corner = s
            .iter()
            .find(|p| (p.time_ms - (T0 + 20_000)).abs() <= 2_000)
            .expect("the start of the walk is kept");
        assert!(corner.dist(&pts[0]) < 3.5);
        // Evenly walked parts still collapse.
        assert!(s.len() <= 4, "{}", s.len());
    }

    #[test]
    fn spike_removal() {
        let mut pts = walk(20, 1.4);
        pts[10].lat += (200.0 / EARTH_RADIUS_M).to_degrees();
        let out = remove_spikes(&pts, 3.0);
        assert_eq!(out.len(), 19);
        assert!(!out.contains(&pts[10]));
    }

    #[test]
    fn time_inside_grid() {
        let g = GridPolygon::new(
            &[
                (31.19, 121.49),
                (31.19, 121.5005),
                (31.21, 121.5005),
                (31.21, 121.49),
            ],
            &[],
        )
        .unwrap();
        let t = Track {
            segments: vec![walk(100, 1.4)],
        };
        // The walk leaves the grid at about lon 121.5005 ≈ 47.6 m → ~34 s.
        let inside = t.time_inside_s(&g);
        assert!((30.0..=36.0).contains(&inside), "{inside}");
        assert!((t.duration_s() - 99.0).abs() < 1e-9);
    }
}

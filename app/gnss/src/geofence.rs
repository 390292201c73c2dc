//! Grid geofence: inside / outside / uncertain against a polygon with
//! holes, using the fix's 95 % accuracy as margin, with hysteresis.

use crate::geodesy::{point_segment_distance, LocalProjection};
use serde::{Deserialize, Serialize};

/// Result of a geofence test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Zone {
    Inside,
    Outside,
    /// Within the accuracy margin of the boundary.
    Uncertain,
}

/// Invalid polygon.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolygonError {
    #[error("ring {0} has fewer than 3 distinct points")]
    TooFewPoints(usize),
    #[error("ring {0} has a coordinate out of range or not finite")]
    BadCoordinate(usize),
}

/// A grid boundary in WGS-84 degrees, `(lat, lon)` vertices; rings need not
/// be closed. Projected once to local metres for distances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridPolygon {
    exterior: Vec<(f64, f64)>,
    holes: Vec<Vec<(f64, f64)>>,
    #[serde(skip)]
    xy: Vec<Vec<(f64, f64)>>,
}

fn clean_ring(ring: &[(f64, f64)], idx: usize) -> Result<Vec<(f64, f64)>, PolygonError> {
    let mut r: Vec<(f64, f64)> = Vec::with_capacity(ring.len());
    for &(lat, lon) in ring {
        if !(lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0) {
            return Err(PolygonError::BadCoordinate(idx));
        }
        if r.last() != Some(&(lat, lon)) {
            r.push((lat, lon));
        }
    }
    if r.len() > 1 && r.first() == r.last() {
        r.pop();
    }
    if r.len() < 3 {
        return Err(PolygonError::TooFewPoints(idx));
    }
    Ok(r)
}

impl GridPolygon {
    /// Builds and validates a polygon.
    pub fn new(exterior: &[(f64, f64)], holes: &[Vec<(f64, f64)>]) -> Result<Self, PolygonError> {
        let exterior = clean_ring(exterior, 0)?;
        let holes = holes
            .iter()
            .enumerate()
            .map(|(i, h)| clean_ring(h, i + 1))
            .collect::<Result<Vec<_>, _>>()?;
        let mut p = Self {
            exterior,
            holes,
            xy: Vec::new(),
        };
        p.project();
        Ok(p)
    }

    fn projection(&self) -> LocalProjection {
        let n = self.exterior.len() as f64;
        let lat = self.exterior.iter().map(|p| p.0).sum::<f64>() / n;
        let lon = self.exterior.iter().map(|p| p.1).sum::<f64>() / n;
        LocalProjection::new(lat, lon)
    }

    fn project(&mut self) {
        let pr = self.projection();
        self.xy = std::iter::once(&self.exterior)
            .chain(self.holes.iter())
            .map(|r| r.iter().map(|&(a, o)| pr.to_xy(a, o)).collect())
            .collect();
    }

    fn rings_xy(&self) -> std::borrow::Cow<'_, [Vec<(f64, f64)>]> {
        if self.xy.is_empty() {
            // Deserialised: recompute.
            let mut c = self.clone();
            c.project();
            std::borrow::Cow::Owned(c.xy)
        } else {
            std::borrow::Cow::Borrowed(&self.xy)
        }
    }

    /// Exterior ring `(lat, lon)`.
    pub fn exterior(&self) -> &[(f64, f64)] {
        &self.exterior
    }

    /// Holes.
    pub fn holes(&self) -> &[Vec<(f64, f64)>] {
        &self.holes
    }

    /// Point in polygon (even-odd over all rings); points on the boundary
    /// (within 1 cm) count as inside.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        let p = self.projection().to_xy(lat, lon);
        let rings = self.rings_xy();
        Self::dist(&rings, p) < 0.01 || Self::even_odd(&rings, p)
    }

    fn even_odd(rings: &[Vec<(f64, f64)>], p: (f64, f64)) -> bool {
        let mut inside = false;
        for ring in rings.iter() {
            let n = ring.len();
            for i in 0..n {
                let (a, b) = (ring[i], ring[(i + 1) % n]);
                if (a.1 > p.1) != (b.1 > p.1) {
                    let x = a.0 + (p.1 - a.1) / (b.1 - a.1) * (b.0 - a.0);
                    if p.0 < x {
                        inside = !inside;
                    }
                }
            }
        }
        inside
    }

    fn dist(rings: &[Vec<(f64, f64)>], p: (f64, f64)) -> f64 {
        let mut d = f64::INFINITY;
        for ring in rings {
            let n = ring.len();
            for i in 0..n {
                d = d.min(point_segment_distance(p, ring[i], ring[(i + 1) % n]));
            }
        }
        d
    }

    /// Distance in metres to the nearest edge (exterior or hole).
    pub fn boundary_distance_m(&self, lat: f64, lon: f64) -> f64 {
        let p = self.projection().to_xy(lat, lon);
        Self::dist(&self.rings_xy(), p)
    }

    /// Inside/outside when the point is at least `margin_m` (the 95 %
    /// accuracy) from the boundary, uncertain otherwise.
    pub fn classify(&self, lat: f64, lon: f64, margin_m: f64) -> Zone {
        let p = self.projection().to_xy(lat, lon);
        Self::zone_xy(&self.rings_xy(), p, margin_m)
    }

    /// The polygon's own local projection and its rings in it, for tests of
    /// many points (a track against the grid): project once, then
    /// [`GridPolygon::zone_xy`] per point.
    pub(crate) fn projected(&self) -> (LocalProjection, Vec<Vec<(f64, f64)>>) {
        (self.projection(), self.rings_xy().into_owned())
    }

    /// [`GridPolygon::classify`] on projected rings: the one place where a
    /// point is put inside, outside or near the boundary.
    pub(crate) fn zone_xy(rings: &[Vec<(f64, f64)>], p: (f64, f64), margin_m: f64) -> Zone {
        let d = Self::dist(rings, p);
        let margin = if margin_m.is_finite() {
            margin_m.max(0.0)
        } else {
            f64::INFINITY
        };
        if d < margin {
            Zone::Uncertain
        } else if d < 0.01 || Self::even_odd(rings, p) {
            Zone::Inside
        } else {
            Zone::Outside
        }
    }
}

/// Hysteresis: the reported zone changes only after `needed` consecutive
/// agreeing classifications (3 by default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeofenceMonitor {
    needed: u32,
    state: Option<Zone>,
    candidate: Option<Zone>,
    count: u32,
}

impl Default for GeofenceMonitor {
    fn default() -> Self {
        Self::new(3)
    }
}

impl GeofenceMonitor {
    /// Monitor needing `needed` agreeing fixes.
    pub fn new(needed: u32) -> Self {
        Self {
            needed: needed.max(1),
            state: None,
            candidate: None,
            count: 0,
        }
    }

    /// Current stable zone (`None` until established).
    pub fn state(&self) -> Option<Zone> {
        self.state
    }

    /// Feeds one classification; returns the new zone when it changes.
    pub fn update(&mut self, z: Zone) -> Option<Zone> {
        if Some(z) == self.state {
            self.candidate = None;
            self.count = 0;
            return None;
        }
        if self.candidate == Some(z) {
            self.count += 1;
        } else {
            self.candidate = Some(z);
            self.count = 1;
        }
        if self.count >= self.needed {
            self.state = Some(z);
            self.candidate = None;
            self.count = 0;
            return Some(z);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geodesy::EARTH_RADIUS_M;

    /// Square of side ~1.1 km around (39.90, 116.40) with a ~220 m hole.
    fn grid() -> GridPolygon {
        let ext = [
            (39.895, 116.395),
            (39.895, 116.405),
            (39.905, 116.405),
            (39.905, 116.395),
        ];
        let hole = vec![
            (39.899, 116.399),
            (39.899, 116.401),
            (39.901, 116.401),
            (39.901, 116.399),
        ];
        GridPolygon::new(&ext, &[hole]).unwrap()
    }

    fn dlat(m: f64) -> f64 {
        (m / EARTH_RADIUS_M).to_degrees()
    }

    #[test]
    fn inside_outside_hole() {
        let g = grid();
        assert!(g.contains(39.897, 116.397));
        assert!(!g.contains(39.900, 116.400), "hole");
        assert!(!g.contains(39.910, 116.400));
        assert!(g.contains(39.895, 116.400), "boundary counts as inside");
        assert_eq!(g.classify(39.897, 116.397, 10.0), Zone::Inside);
        assert_eq!(g.classify(39.900, 116.400, 10.0), Zone::Outside);
        assert_eq!(g.classify(39.910, 116.400, 10.0), Zone::Outside);
    }

    #[test]
    fn margin_makes_uncertain() {
        let g = grid();
        // 20 m inside the southern edge.
        let lat = 39.895 + dlat(20.0);
        assert!((g.boundary_distance_m(lat, 116.400) - 20.0).abs() < 0.05);
        assert_eq!(g.classify(lat, 116.400, 15.0), Zone::Inside);
        assert_eq!(g.classify(lat, 116.400, 25.0), Zone::Uncertain);
        // 20 m outside.
        let lat = 39.895 - dlat(20.0);
        assert_eq!(g.classify(lat, 116.400, 15.0), Zone::Outside);
        assert_eq!(g.classify(lat, 116.400, 25.0), Zone::Uncertain);
    }

    #[test]
    fn hysteresis_needs_three() {
        let mut m = GeofenceMonitor::default();
        assert_eq!(m.update(Zone::Inside), None);
        assert_eq!(m.update(Zone::Inside), None);
        assert_eq!(m.update(Zone::Inside), Some(Zone::Inside));
        assert_eq!(m.update(Zone::Outside), None);
        assert_eq!(m.update(Zone::Outside), None);
        assert_eq!(m.update(Zone::Inside), None, "a single agreeing fix resets");
        assert_eq!(m.update(Zone::Outside), None);
        assert_eq!(m.update(Zone::Outside), None);
        assert_eq!(m.state(), Some(Zone::Inside));
        assert_eq!(m.update(Zone::Outside), Some(Zone::Outside));
    }

    #[test]
    fn invalid_polygons() {
        assert_eq!(
            GridPolygon::new(&[(0.0, 0.0), (1.0, 1.0)], &[]),
            Err(PolygonError::TooFewPoints(0))
        );
        assert_eq!(
            GridPolygon::new(&[(0.0, 0.0), (1.0, 1.0), (91.0, 0.0)], &[]),
            Err(PolygonError::BadCoordinate(0))
        );
        // Closed ring accepted.
        assert!(GridPolygon::new(&[(0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (0.0, 0.0)], &[]).is_ok());
    }

    #[test]
    fn serde_round_trip_still_works() {
        let g = grid();
        let j = serde_json::to_string(&g).unwrap();
        let g2: GridPolygon = serde_json::from_str(&j).unwrap();
        assert!(g2.contains(39.897, 116.397));
        assert!(!g2.contains(39.900, 116.400));
    }
}

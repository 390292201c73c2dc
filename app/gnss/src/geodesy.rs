//! Small geodesy helpers: great-circle distance and a local metric
//! projection (equirectangular at a reference latitude), good to well under
//! a metre over a grid of a few kilometres.

/// Mean Earth radius (IUGG), metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Haversine distance in metres between two WGS-84 points (degrees).
pub fn haversine_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
}

/// Initial bearing in degrees (0 = north, clockwise) from point 1 to 2.
pub fn bearing_deg(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dl = (lon2 - lon1).to_radians();
    let y = dl.sin() * p2.cos();
    let x = p1.cos() * p2.sin() - p1.sin() * p2.cos() * dl.cos();
    (y.atan2(x).to_degrees() + 360.0) % 360.0
}

/// Local equirectangular projection to metres around a reference point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalProjection {
    lat0: f64,
    lon0: f64,
    cos0: f64,
}

impl LocalProjection {
    /// Projection centred at `(lat0, lon0)` degrees.
    pub fn new(lat0: f64, lon0: f64) -> Self {
        Self {
            lat0,
            lon0,
            cos0: lat0.to_radians().cos(),
        }
    }

    /// `(x east, y north)` in metres.
    pub fn to_xy(&self, lat: f64, lon: f64) -> (f64, f64) {
        let mut dl = lon - self.lon0;
        if dl > 180.0 {
            dl -= 360.0;
        } else if dl < -180.0 {
            dl += 360.0;
        }
        (
            dl.to_radians() * self.cos0 * EARTH_RADIUS_M,
            (lat - self.lat0).to_radians() * EARTH_RADIUS_M,
        )
    }
}

/// Distance in metres from point `p` to segment `a`–`b` (planar).
pub fn point_segment_distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (cx, cy) = (a.0 + t * dx, a.1 + t * dy);
    ((p.0 - cx).powi(2) + (p.1 - cy).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_one_degree_latitude() {
        let d = haversine_m(30.0, 120.0, 31.0, 120.0);
        assert!((d - 111_195.0).abs() < 5.0, "{d}");
    }

    #[test]
    fn projection_matches_haversine_locally() {
        let p = LocalProjection::new(39.9, 116.4);
        let (x, y) = p.to_xy(39.91, 116.41);
        let planar = (x * x + y * y).sqrt();
        let hav = haversine_m(39.9, 116.4, 39.91, 116.41);
        assert!((planar - hav).abs() < 0.5, "{planar} vs {hav}");
    }

    #[test]
    fn bearing_east() {
        assert!((bearing_deg(0.0, 0.0, 0.0, 1.0) - 90.0).abs() < 1e-9);
    }

    #[test]
    fn segment_distance() {
        assert!((point_segment_distance((0.0, 1.0), (-1.0, 0.0), (1.0, 0.0)) - 1.0).abs() < 1e-12);
        assert!((point_segment_distance((3.0, 0.0), (-1.0, 0.0), (1.0, 0.0)) - 2.0).abs() < 1e-12);
    }
}

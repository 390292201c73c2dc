//! China coordinate systems: WGS-84 (= CGCS2000 at our accuracy) ↔ GCJ-02
//! ↔ BD-09, and polygon import. Store WGS-84; convert only for display on
//! Chinese basemaps or to import geometry digitised on them, once.
//!
//! Formulas are the public ones (PRCoords / eviltransform), with
//! Krasovsky 1940 constants; inverses are iterative (< 1 mm).

use crate::geofence::{GridPolygon, PolygonError};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Datum of a coordinate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Datum {
    /// GNSS, OSM.
    Wgs84,
    /// 天地图 and government GIS: identical to WGS-84 at metre level.
    Cgcs2000,
    /// 高德, 腾讯 (火星坐标).
    Gcj02,
    /// 百度.
    Bd09,
}

const A: f64 = 6_378_245.0;
// Krasovsky e² (0.00669342162296594323 in the published formula).
const EE: f64 = 0.006_693_421_622_965_943;

/// Outside the rough mainland box the GCJ-02 shift is not applied.
pub fn out_of_china(lat: f64, lon: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

fn delta(lat: f64, lon: f64) -> (f64, f64) {
    let x = lon - 105.0;
    let y = lat - 35.0;
    let s = |v: f64| v.sin();
    let d_n = -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * x.abs().sqrt()
        + (20.0 * s(6.0 * PI * x) + 20.0 * s(2.0 * PI * x)) * 2.0 / 3.0
        + (20.0 * s(PI * y) + 40.0 * s(PI * y / 3.0)) * 2.0 / 3.0
        + (160.0 * s(PI * y / 12.0) + 320.0 * s(PI * y / 30.0)) * 2.0 / 3.0;
    let d_e = 300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * x.abs().sqrt()
        + (20.0 * s(6.0 * PI * x) + 20.0 * s(2.0 * PI * x)) * 2.0 / 3.0
        + (20.0 * s(PI * x) + 40.0 * s(PI * x / 3.0)) * 2.0 / 3.0
        + (150.0 * s(PI * x / 12.0) + 300.0 * s(PI * x / 30.0)) * 2.0 / 3.0;
    let phi = lat.to_radians();
    let m = 1.0 - EE * phi.sin() * phi.sin();
    let dlat = d_n / ((PI / 180.0) * A * (1.0 - EE) / m.powf(1.5));
    let dlon = d_e / ((PI / 180.0) * A * phi.cos() / m.sqrt());
    (dlat, dlon)
}

/// WGS-84 → GCJ-02, `(lat, lon)` degrees.
pub fn wgs84_to_gcj02(lat: f64, lon: f64) -> (f64, f64) {
    if out_of_china(lat, lon) {
        return (lat, lon);
    }
    let (dl, dn) = delta(lat, lon);
    (lat + dl, lon + dn)
}

fn invert(target: (f64, f64), f: impl Fn(f64, f64) -> (f64, f64)) -> (f64, f64) {
    // Fixed-point iteration w ← w − (f(w) − target).
    let mut w = target;
    let g = f(w.0, w.1);
    w = (w.0 - (g.0 - target.0), w.1 - (g.1 - target.1));
    for _ in 0..20 {
        let g = f(w.0, w.1);
        let (e0, e1) = (g.0 - target.0, g.1 - target.1);
        w = (w.0 - e0, w.1 - e1);
        if e0.abs() < 1e-10 && e1.abs() < 1e-10 {
            break;
        }
    }
    w
}

/// GCJ-02 → WGS-84 (iterative, < 1 mm).
pub fn gcj02_to_wgs84(lat: f64, lon: f64) -> (f64, f64) {
    if out_of_china(lat, lon) {
        return (lat, lon);
    }
    invert((lat, lon), wgs84_to_gcj02)
}

const K: f64 = PI * 3000.0 / 180.0;

/// GCJ-02 → BD-09.
pub fn gcj02_to_bd09(lat: f64, lon: f64) -> (f64, f64) {
    let (x, y) = (lon, lat);
    let z = (x * x + y * y).sqrt() + 0.00002 * (y * K).sin();
    let t = y.atan2(x) + 0.000003 * (x * K).cos();
    (z * t.sin() + 0.006, z * t.cos() + 0.0065)
}

/// BD-09 → GCJ-02 (the published inverse, refined iteratively).
pub fn bd09_to_gcj02(lat: f64, lon: f64) -> (f64, f64) {
    let (x, y) = (lon - 0.0065, lat - 0.006);
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * K).sin();
    let t = y.atan2(x) - 0.000003 * (x * K).cos();
    let mut w = (z * t.sin(), z * t.cos());
    for _ in 0..10 {
        let g = gcj02_to_bd09(w.0, w.1);
        let (e0, e1) = (g.0 - lat, g.1 - lon);
        w = (w.0 - e0, w.1 - e1);
        if e0.abs() < 1e-10 && e1.abs() < 1e-10 {
            break;
        }
    }
    w
}

/// WGS-84 → BD-09.
pub fn wgs84_to_bd09(lat: f64, lon: f64) -> (f64, f64) {
    let (a, o) = wgs84_to_gcj02(lat, lon);
    gcj02_to_bd09(a, o)
}

/// BD-09 → WGS-84.
pub fn bd09_to_wgs84(lat: f64, lon: f64) -> (f64, f64) {
    let (a, o) = bd09_to_gcj02(lat, lon);
    gcj02_to_wgs84(a, o)
}

/// Any datum → WGS-84.
pub fn to_wgs84(datum: Datum, lat: f64, lon: f64) -> (f64, f64) {
    match datum {
        Datum::Wgs84 | Datum::Cgcs2000 => (lat, lon),
        Datum::Gcj02 => gcj02_to_wgs84(lat, lon),
        Datum::Bd09 => bd09_to_wgs84(lat, lon),
    }
}

/// WGS-84 → any datum (for display).
pub fn from_wgs84(datum: Datum, lat: f64, lon: f64) -> (f64, f64) {
    match datum {
        Datum::Wgs84 | Datum::Cgcs2000 => (lat, lon),
        Datum::Gcj02 => wgs84_to_gcj02(lat, lon),
        Datum::Bd09 => wgs84_to_bd09(lat, lon),
    }
}

/// Polygon import failure.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("invalid polygon: {0}")]
    Polygon(#[from] PolygonError),
    #[error("invalid GeoJSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("GeoJSON is not a Polygon (or a Feature with one): {0}")]
    NotPolygon(String),
}

/// Imports a grid polygon given as rings of `[lon, lat]` (GeoJSON order)
/// in `datum`, converting every vertex to WGS-84 once.
pub fn import_polygon(rings: &[Vec<[f64; 2]>], datum: Datum) -> Result<GridPolygon, ImportError> {
    let conv = |r: &Vec<[f64; 2]>| -> Vec<(f64, f64)> {
        r.iter().map(|p| to_wgs84(datum, p[1], p[0])).collect()
    };
    let ext = rings.first().map(conv).unwrap_or_default();
    let holes: Vec<_> = rings.iter().skip(1).map(conv).collect();
    Ok(GridPolygon::new(&ext, &holes)?)
}

/// Imports a GeoJSON `Polygon` geometry or a `Feature` holding one.
pub fn polygon_from_geojson(json: &str, datum: Datum) -> Result<GridPolygon, ImportError> {
    let v: serde_json::Value = serde_json::from_str(json)?;
    let geom = if v["type"] == "Feature" {
        &v["geometry"]
    } else {
        &v
    };
    if geom["type"] != "Polygon" {
        return Err(ImportError::NotPolygon(geom["type"].to_string()));
    }
    let rings: Vec<Vec<[f64; 2]>> = serde_json::from_value(geom["coordinates"].clone())?;
    import_polygon(&rings, datum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geodesy::haversine_m;

    /// eviltransform's test vectors (notes §3.9).
    const GOLDEN: [((f64, f64), (f64, f64)); 3] = [
        ((39.911954, 116.377817), (39.913345, 116.384047)),
        ((31.1774276, 121.5272106), (31.175304, 121.531542)),
        ((22.543847, 113.912316), (22.540796, 113.917176)),
    ];

    #[test]
    fn wgs_to_gcj_golden() {
        for (w, g) in GOLDEN {
            let c = wgs84_to_gcj02(w.0, w.1);
            assert!(
                (c.0 - g.0).abs() < 1e-6 && (c.1 - g.1).abs() < 1e-6,
                "{w:?} → {c:?}, want {g:?}"
            );
        }
        // Beijing shift ≈ 155 m N, 532 m E.
        let (w, g) = GOLDEN[0];
        let n = haversine_m(w.0, w.1, g.0, w.1);
        let e = haversine_m(w.0, w.1, w.0, g.1);
        assert!(
            (n - 155.0).abs() < 5.0 && (e - 532.0).abs() < 5.0,
            "{n} {e}"
        );
    }

    #[test]
    fn gcj_to_wgs_iterative_under_a_millimetre() {
        for (w, g) in GOLDEN {
            let back = gcj02_to_wgs84(g.0, g.1);
            // Golden GCJ values are rounded to 1e-6°: compare to the exact
            // forward image instead for the millimetre bound.
            let exact = wgs84_to_gcj02(w.0, w.1);
            let rt = gcj02_to_wgs84(exact.0, exact.1);
            assert!(haversine_m(rt.0, rt.1, w.0, w.1) < 0.001, "{rt:?} vs {w:?}");
            assert!(
                haversine_m(back.0, back.1, w.0, w.1) < 0.2,
                "{back:?} vs {w:?}"
            );
        }
    }

    #[test]
    fn bd09_round_trips() {
        for (w, _) in GOLDEN {
            let b = wgs84_to_bd09(w.0, w.1);
            let g = wgs84_to_gcj02(w.0, w.1);
            // BD-09 sits ~0.006° N / 0.0065° E of GCJ-02.
            assert!(
                (b.0 - g.0 - 0.006).abs() < 0.001 && (b.1 - g.1 - 0.0065).abs() < 0.001,
                "{b:?}"
            );
            let back = bd09_to_wgs84(b.0, b.1);
            assert!(haversine_m(back.0, back.1, w.0, w.1) < 0.001, "{back:?}");
            let g2 = bd09_to_gcj02(b.0, b.1);
            assert!(haversine_m(g2.0, g2.1, g.0, g.1) < 0.001);
        }
    }

    #[test]
    fn outside_china_untouched() {
        assert_eq!(wgs84_to_gcj02(47.66, -122.33), (47.66, -122.33));
        assert_eq!(gcj02_to_wgs84(51.5, -0.1), (51.5, -0.1));
        assert_eq!(to_wgs84(Datum::Cgcs2000, 39.9, 116.4), (39.9, 116.4));
    }

    #[test]
    fn import_gcj_geojson_polygon() {
        // A square digitised on a GCJ-02 basemap around the Beijing point.
        let g = GOLDEN[0].1;
        let d = 0.001;
        let json = format!(
            r#"{{"type":"Feature","properties":{{}},"geometry":{{"type":"Polygon","coordinates":[[[{a},{b}],[{c},{b}],[{c},{e}],[{a},{e}],[{a},{b}]]]}}}}"#,
            a = g.1 - d,
            b = g.0 - d,
            c = g.1 + d,
            e = g.0 + d
        );
        let p = polygon_from_geojson(&json, Datum::Gcj02).unwrap();
        // The WGS-84 point under the GCJ centre is inside; the GCJ
        // coordinates themselves (≈550 m away) are not.
        let w = GOLDEN[0].0;
        assert!(p.contains(w.0, w.1));
        assert!(!p.contains(g.0, g.1));
        assert!(matches!(
            polygon_from_geojson(r#"{"type":"Point","coordinates":[1,2]}"#, Datum::Wgs84),
            Err(ImportError::NotPolygon(_))
        ));
    }
}

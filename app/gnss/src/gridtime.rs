//! Time spent inside a grid along a patrol track.
//!
//! Between two consecutive points of a segment the worker is taken to move
//! along the straight line at constant speed (the same assumption as the
//! mileage). The line is cut into pieces of at most [`STEP_M`] metres; each
//! piece's midpoint is put inside, outside or uncertain by the geofence
//! ([`GridPolygon::classify`]'s rule: uncertain when the boundary is nearer
//! than the 95 % accuracy, interpolated between the two points' accuracies)
//! and the piece's share of the interval's time goes to that zone. So a line
//! that leaves a concave grid between two inside points, or crosses a hole,
//! is counted as it runs, not by its ends.
//!
//! Decisions:
//! - **Uncertain time is not inside time.** A grid's figure (`inside_grid_s`
//!   of the finished patrol) counts only time whose whole accuracy circle was
//!   inside the boundary; time near the boundary is reported on its own
//!   ([`GridTime::uncertain_s`]) so the worker sees why the figures differ,
//!   and the centre's figure is never inflated by poor fixes.
//! - **Gaps are unknown.** Time between two segments (no usable fix for a
//!   while, or an explicit gap) counts as [`GridTime::unknown_s`], never as
//!   inside, even when both sides of the gap are inside.
//! - A point without an accuracy (`acc_m == 0`) is taken at
//!   [`UNKNOWN_ACCURACY_M`], the worst accuracy the track filter accepts.

use crate::geodesy::LocalProjection;
use crate::geofence::{GridPolygon, Zone};
use crate::track::{Track, TrackPoint};
use serde::{Deserialize, Serialize};

/// Longest piece of a line between two points that is classified as one, m.
pub const STEP_M: f64 = 1.0;
/// At most this many pieces per interval (a bounded cost for a bogus jump).
const MAX_PIECES: usize = 4_096;
/// Accuracy assumed for a point that has none, m.
pub const UNKNOWN_ACCURACY_M: f64 = 50.0;

/// A track's time by where it was relative to a grid, seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct GridTime {
    /// Certainly inside (the accuracy circle inside the boundary).
    pub inside_s: f64,
    /// Certainly outside.
    pub outside_s: f64,
    /// Within the accuracy of the boundary: not known which side.
    pub uncertain_s: f64,
    /// In gaps between segments: no usable position.
    pub unknown_s: f64,
}

impl GridTime {
    /// All time accounted for, seconds.
    pub fn total_s(&self) -> f64 {
        self.inside_s + self.outside_s + self.uncertain_s + self.unknown_s
    }

    fn add(&mut self, zone: Zone, s: f64) {
        match zone {
            Zone::Inside => self.inside_s += s,
            Zone::Outside => self.outside_s += s,
            Zone::Uncertain => self.uncertain_s += s,
        }
    }
}

/// Accumulates [`GridTime`] as points arrive (live on the patrol screen) or
/// over a finished track ([`Track::grid_time`]): the same code for both.
#[derive(Debug, Clone)]
pub struct GridClock {
    projection: LocalProjection,
    rings: Vec<Vec<(f64, f64)>>,
    last: Option<(TrackPoint, (f64, f64))>,
    last_zone: Option<Zone>,
    time: GridTime,
}

fn margin(p: &TrackPoint) -> f64 {
    let a = f64::from(p.acc_m);
    if a.is_finite() && a > 0.0 {
        a
    } else {
        UNKNOWN_ACCURACY_M
    }
}

impl GridClock {
    /// A clock for `grid`, with nothing counted yet.
    pub fn new(grid: &GridPolygon) -> Self {
        let (projection, rings) = grid.projected();
        Self {
            projection,
            rings,
            last: None,
            last_zone: None,
            time: GridTime::default(),
        }
    }

    /// The next point of the track; `after_gap`: it starts a new segment
    /// (the time since the previous point is unknown). Points that are not
    /// later than the previous one, or not finite, are ignored.
    pub fn push(&mut self, p: TrackPoint, after_gap: bool) {
        if !(p.lat.is_finite() && p.lon.is_finite()) {
            return;
        }
        let xy = self.projection.to_xy(p.lat, p.lon);
        if let Some((prev, prev_xy)) = self.last {
            if p.time_ms <= prev.time_ms {
                return;
            }
            let dt = (p.time_ms - prev.time_ms) as f64 / 1000.0;
            if after_gap {
                self.time.unknown_s += dt;
            } else {
                self.interval(&prev, prev_xy, &p, xy, dt);
            }
        }
        self.last_zone = Some(GridPolygon::zone_xy(&self.rings, xy, margin(&p)));
        self.last = Some((p, xy));
    }

    fn interval(
        &mut self,
        a: &TrackPoint,
        pa: (f64, f64),
        b: &TrackPoint,
        pb: (f64, f64),
        dt: f64,
    ) {
        let len = (pb.0 - pa.0).hypot(pb.1 - pa.1);
        let n = ((len / STEP_M).ceil() as usize).clamp(1, MAX_PIECES);
        let (ma, mb) = (margin(a), margin(b));
        let mut counts = [0usize; 3];
        for k in 0..n {
            let f = (k as f64 + 0.5) / n as f64;
            let p = (pa.0 + (pb.0 - pa.0) * f, pa.1 + (pb.1 - pa.1) * f);
            let zone = GridPolygon::zone_xy(&self.rings, p, ma + (mb - ma) * f);
            counts[zone as usize] += 1;
        }
        for (zone, c) in [Zone::Inside, Zone::Outside, Zone::Uncertain]
            .into_iter()
            .zip(counts)
        {
            self.time.add(zone, dt * c as f64 / n as f64);
        }
    }

    /// Time counted so far.
    pub fn time(&self) -> GridTime {
        self.time
    }

    /// Where the last point was (its own accuracy as margin), if any.
    pub fn zone(&self) -> Option<Zone> {
        self.last_zone
    }
}

impl Track {
    /// The track's time inside, outside and near `grid`, and in its gaps
    /// (see the module's rules).
    pub fn grid_time(&self, grid: &GridPolygon) -> GridTime {
        let mut clock = GridClock::new(grid);
        for (i, seg) in self.segments.iter().enumerate() {
            for (j, p) in seg.iter().enumerate() {
                clock.push(*p, i > 0 && j == 0);
            }
        }
        clock.time()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geodesy::EARTH_RADIUS_M;

    const T0: i64 = 1_785_900_000_000;
    const LAT0: f64 = 29.95;
    const LON0: f64 = 121.71;

    /// Degrees for metres north / east of (LAT0, LON0).
    fn at(north_m: f64, east_m: f64) -> (f64, f64) {
        let lat = LAT0 + (north_m / EARTH_RADIUS_M).to_degrees();
        let lon = LON0 + (east_m / (EARTH_RADIUS_M * LAT0.to_radians().cos())).to_degrees();
        (lat, lon)
    }

    fn point(t_s: f64, north_m: f64, east_m: f64, acc_m: f32) -> TrackPoint {
        let (lat, lon) = at(north_m, east_m);
        TrackPoint {
            time_ms: T0 + (t_s * 1000.0).round() as i64,
            lat,
            lon,
            acc_m,
        }
    }

    /// A polygon from corners given in metres (north, east).
    fn poly(corners: &[(f64, f64)], holes: &[&[(f64, f64)]]) -> GridPolygon {
        let ring = |c: &[(f64, f64)]| c.iter().map(|&(n, e)| at(n, e)).collect::<Vec<_>>();
        let holes: Vec<_> = holes.iter().copied().map(&ring).collect();
        GridPolygon::new(&ring(corners), &holes).unwrap()
    }

    /// A 200 m square: north 0…200, east 0…200.
    fn square() -> GridPolygon {
        poly(
            &[(0.0, 0.0), (0.0, 200.0), (200.0, 200.0), (200.0, 0.0)],
            &[],
        )
    }

    /// Walk east along `north_m` from `east0` at `speed` m/s, one point a second.
    fn walk_east(secs: usize, north_m: f64, east0: f64, speed: f64, acc: f32) -> Vec<TrackPoint> {
        (0..=secs)
            .map(|t| point(t as f64, north_m, east0 + t as f64 * speed, acc))
            .collect()
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn a_walk_out_of_the_grid_splits_its_time_at_the_boundary() {
        // From 100 m inside the eastern edge to 100 m outside, 2 m/s, 5 m accuracy:
        // 47.5 s inside, 5 s within 5 m of the edge, 47.5 s outside.
        let t = Track {
            segments: vec![walk_east(100, 100.0, 100.0, 2.0, 5.0)],
        };
        let g = t.grid_time(&square());
        assert!(close(g.inside_s, 47.5, 0.6), "{g:?}");
        assert!(close(g.uncertain_s, 5.0, 0.6), "{g:?}");
        assert!(close(g.outside_s, 47.5, 0.6), "{g:?}");
        assert_eq!(g.unknown_s, 0.0);
        assert!(close(g.total_s(), 100.0, 1e-9));
        // The old endpoint rule agrees on the inside part.
        assert!(close(t.time_inside_s(&square()), g.inside_s, 1e-9));
    }

    #[test]
    fn a_straight_line_between_two_far_points_is_counted_as_it_runs() {
        // Only two points, 60 s apart: 100 m west of the square, and on its eastern edge…
        let t = Track {
            segments: vec![vec![
                point(0.0, 100.0, -100.0, 5.0),
                point(60.0, 100.0, 200.0, 5.0),
            ]],
        };
        // …the first 100 m (of 300) are outside: 20 s, minus half the uncertain band.
        let g = t.grid_time(&square());
        assert!(close(g.outside_s, 20.0 - 1.0, 0.3), "{g:?}");
        assert!(close(g.uncertain_s, 2.0 + 1.0, 0.3), "{g:?}"); // 10 m band + 5 m at the end
        assert!(close(g.inside_s, 60.0 - 19.0 - 3.0, 0.3), "{g:?}");
    }

    #[test]
    fn a_concave_grid_does_not_count_its_notch() {
        // A U: 300 m wide, 200 m tall, with a notch 100 m wide from the north down to
        // 50 m. A walk along north = 150 m crosses left arm, notch, right arm; its only
        // points are at both ends, both inside.
        let u = poly(
            &[
                (0.0, 0.0),
                (0.0, 300.0),
                (200.0, 300.0),
                (200.0, 200.0),
                (50.0, 200.0),
                (50.0, 100.0),
                (200.0, 100.0),
                (200.0, 0.0),
            ],
            &[],
        );
        let (a, b) = (
            point(0.0, 150.0, 50.0, 3.0),
            point(100.0, 150.0, 250.0, 3.0),
        );
        assert_eq!(u.classify(a.lat, a.lon, 3.0), Zone::Inside);
        assert_eq!(u.classify(b.lat, b.lon, 3.0), Zone::Inside);
        let g = Track {
            segments: vec![vec![a, b]],
        }
        .grid_time(&u);
        // 200 m in 100 s: 100 m of arms, 100 m of notch; a 6 m band at each notch edge.
        assert!(close(g.inside_s, 50.0 - 3.0, 0.3), "{g:?}");
        assert!(close(g.outside_s, 50.0 - 3.0, 0.3), "{g:?}");
        assert!(close(g.uncertain_s, 6.0, 0.3), "{g:?}");
        // The same walk below the notch stays inside all the way.
        let g = Track {
            segments: vec![vec![
                point(0.0, 25.0, 50.0, 3.0),
                point(100.0, 25.0, 250.0, 3.0),
            ]],
        }
        .grid_time(&u);
        assert!(close(g.inside_s, 100.0, 1e-9), "{g:?}");
    }

    #[test]
    fn a_hole_is_outside() {
        let g = poly(
            &[(0.0, 0.0), (0.0, 200.0), (200.0, 200.0), (200.0, 0.0)],
            &[&[(80.0, 80.0), (80.0, 120.0), (120.0, 120.0), (120.0, 80.0)]],
        );
        // 20 → 180 m east through the 40 m hole, 1 m/s, 2 m accuracy.
        let t = Track {
            segments: vec![walk_east(160, 100.0, 20.0, 1.0, 2.0)],
        };
        let gt = t.grid_time(&g);
        assert!(close(gt.outside_s, 40.0 - 4.0, 0.6), "{gt:?}");
        assert!(close(gt.uncertain_s, 8.0, 0.6), "{gt:?}");
        assert!(close(gt.inside_s, 160.0 - 44.0, 0.6), "{gt:?}");
    }

    #[test]
    fn gaps_between_segments_are_unknown_even_inside() {
        let a = walk_east(30, 100.0, 50.0, 1.0, 5.0);
        let b: Vec<_> = walk_east(30, 100.0, 100.0, 1.0, 5.0)
            .into_iter()
            .map(|mut p| {
                p.time_ms += 300_000;
                p
            })
            .collect();
        let g = Track {
            segments: vec![a, b],
        }
        .grid_time(&square());
        assert!(close(g.inside_s, 60.0, 1e-6), "{g:?}");
        assert!(close(g.unknown_s, 300.0 - 30.0, 1e-6), "{g:?}");
        assert_eq!(g.outside_s + g.uncertain_s, 0.0);
    }

    #[test]
    fn accuracy_decides_near_the_boundary() {
        // Standing 10 m inside the northern edge for a minute.
        let still = |acc: f32| Track {
            segments: vec![vec![
                point(0.0, 190.0, 100.0, acc),
                point(60.0, 190.0, 100.0, acc),
            ]],
        };
        assert!(close(still(5.0).grid_time(&square()).inside_s, 60.0, 1e-9));
        assert!(close(
            still(15.0).grid_time(&square()).uncertain_s,
            60.0,
            1e-9
        ));
        // No accuracy: taken as 50 m, so uncertain too.
        assert!(close(
            still(0.0).grid_time(&square()).uncertain_s,
            60.0,
            1e-9
        ));
        // Far from every edge, even a 50 m accuracy is inside.
        let centre = Track {
            segments: vec![vec![
                point(0.0, 100.0, 100.0, 0.0),
                point(60.0, 100.0, 100.0, 0.0),
            ]],
        };
        assert!(close(centre.grid_time(&square()).inside_s, 60.0, 1e-9));
    }

    #[test]
    fn live_and_finished_counts_agree_and_bad_points_are_ignored() {
        let pts = walk_east(100, 100.0, 100.0, 2.0, 5.0);
        let mut c = GridClock::new(&square());
        for (i, p) in pts.iter().enumerate() {
            c.push(*p, false);
            if i == 10 {
                c.push(*p, false); // the same time again
                c.push(pts[3], false); // back in time
                c.push(
                    TrackPoint {
                        lat: f64::NAN,
                        ..*p
                    },
                    false,
                );
            }
        }
        let batch = Track {
            segments: vec![pts.clone()],
        }
        .grid_time(&square());
        assert_eq!(c.time(), batch);
        assert_eq!(c.zone(), Some(Zone::Outside));
        assert_eq!(GridClock::new(&square()).time(), GridTime::default());
    }

    #[test]
    fn a_deserialised_grid_counts_the_same() {
        let g: GridPolygon =
            serde_json::from_str(&serde_json::to_string(&square()).unwrap()).unwrap();
        let t = Track {
            segments: vec![walk_east(100, 100.0, 100.0, 2.0, 5.0)],
        };
        assert_eq!(t.grid_time(&g), t.grid_time(&square()));
    }
}

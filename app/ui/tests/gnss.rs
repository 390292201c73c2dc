//! The GNSS service over a real receiver capture (Quectel L70, from the shared captures),
//! replayed in real time: the home screen goes from "no position" to a fix with its
//! satellites, and the position is the receiver's.

mod common;

use common::*;
use gridpad_ui::gnss::{GnssSource, NmeaGnss};
use gridpad_ui::services::{GnssService, GnssState, Services};
use gridpad_ui::{HomeAdapter, Screen};
use slint::ComponentHandle;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CAPTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/nmea/quectel-L70.log"
);

#[test]
fn a_replayed_receiver_gives_the_home_screen_a_fix() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 50);
    let gnss = Arc::new(NmeaGnss::start(GnssSource::Replay(CAPTURE.into())));
    let mut services = Services::fake(now());
    services.gnss = gnss.clone();
    let app = gridpad_ui::App::new(gridpad_ui::AppConfig {
        data_dir: dir.path().to_path_buf(),
        device: Default::default(),
        services,
        mode: gridpad_ui::exec::Mode::Inline,
        language: Some("en".into()),
        kdf_iterations: Some(FAST_KDF),
    })
    .unwrap();
    app.ui
        .window()
        .set_size(slint::PhysicalSize::new(480, 2400));
    slint::ComponentHandle::show(&app.ui).unwrap();
    log_in(&app, PIN, "Unlock");
    assert_eq!(
        slint::ComponentHandle::global::<gridpad_ui::Nav>(&app.ui).get_current(),
        Screen::Home
    );
    let start = Instant::now();
    while gnss.status().state != GnssState::Fix {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no fix from the capture: {:?} {:?}",
            gnss.status(),
            gnss.error()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let st = gnss.status();
    let (lat, lon) = (st.lat.unwrap(), st.lon.unwrap());
    // The capture was recorded in Calgary (51.04 N, 114.05 W).
    assert!(
        (lat - 51.04).abs() < 0.1 && (lon + 114.05).abs() < 0.1,
        "{lat} {lon}"
    );
    assert!(st.sats >= 4 && st.accuracy_m.is_some_and(|a| a > 0.0));
    i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(1_100));
    let shown = slint::ComponentHandle::global::<HomeAdapter>(&app.ui).get_gnss();
    assert_eq!(shown.state, "fix");
    assert!(shown.sats >= 4);
}

fn nmea(body: &str) -> String {
    let cs = body.bytes().fold(0u8, |a, b| a ^ b);
    format!("${body}*{cs:02X}\r\n")
}

fn ddmm(v: f64, deg_digits: usize) -> String {
    let d = v.abs().trunc();
    let m = (v.abs() - d) * 60.0;
    format!("{:0w$}{:07.4}", d as u32, m, w = deg_digits)
}

/// A receiver on a worker walking north at 1.5 m/s for `secs` seconds (GGA + RMC at 1 Hz).
fn walk(secs: u32) -> String {
    let (lat0, lon) = (29.9493, 121.7131);
    let mut out = String::from("# synthetic: a walk north at 1.5 m/s\n");
    for t in 0..secs {
        let lat = lat0 + f64::from(t) * 1.5 / 111_195.0;
        let hms = format!("02{:02}{:02}.00", t / 60, t % 60);
        out += &nmea(&format!(
            "GPGGA,{hms},{},N,{},E,1,10,0.9,12.0,M,7.0,M,,",
            ddmm(lat, 2),
            ddmm(lon, 3)
        ));
        out += &nmea(&format!(
            "GPRMC,{hms},A,{},N,{},E,2.9,0.0,201126,,,A",
            ddmm(lat, 2),
            ddmm(lon, 3)
        ));
    }
    out
}

#[test]
fn a_patrol_records_its_distance_and_track_from_the_receiver() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 50);
    let capture = dir.path().join("walk.nmea");
    std::fs::write(&capture, walk(150)).unwrap();
    // 150 s of walking replayed 15× faster, once.
    let gnss = Arc::new(NmeaGnss::start_paced(
        GnssSource::Replay(capture),
        gridpad_gnss::source::Pacing::Speed(15.0),
        false,
    ));
    let mut services = Services::fake(now());
    services.gnss = gnss.clone();
    let app = gridpad_ui::App::new(gridpad_ui::AppConfig {
        data_dir: dir.path().to_path_buf(),
        device: Default::default(),
        services,
        mode: gridpad_ui::exec::Mode::Inline,
        language: Some("en".into()),
        kdf_iterations: Some(FAST_KDF),
    })
    .unwrap();
    app.ui
        .window()
        .set_size(slint::PhysicalSize::new(480, 2400));
    slint::ComponentHandle::show(&app.ui).unwrap();
    log_in(&app, PIN, "Unlock");
    app.ctx.go(Screen::Patrol);
    tap(&app, "Start patrol");
    let start = Instant::now();
    while gnss.track_distance_m() < 120.0 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the walk did not add up: {} m",
            gnss.track_distance_m()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(1_100));
    let shown = slint::ComponentHandle::global::<gridpad_ui::PatrolAdapter>(&app.ui)
        .get_distance()
        .to_string();
    assert!(shown.ends_with(" m"), "{shown}");
    tap(&app, "Stop patrol");

    let (distance, state, id): (f64, String, String) = app
        .with_store(|s| {
            s.conn()
                .query_row("SELECT distance_m, state, id FROM patrol", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .unwrap()
        })
        .unwrap();
    assert_eq!(state, "finished");
    assert!((100.0..=240.0).contains(&distance), "{distance} m");
    let segments: Vec<(i64, Vec<u8>)> = app
        .with_store(|s| {
            let mut st = s
                .conn()
                .prepare(
                    "SELECT n_points, points FROM track_segment WHERE patrol_id = ? ORDER BY seq",
                )
                .unwrap();
            st.query_map([&id], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        })
        .unwrap();
    assert!(!segments.is_empty());
    let mut walked = 0.0;
    for (n, blob) in &segments {
        let points = gridpad_gnss::track::decode_segment(blob).unwrap();
        assert_eq!(points.len() as i64, *n);
        // Northwards: every kept point is north of the one before.
        assert!(points.windows(2).all(|w| w[1].lat > w[0].lat));
        walked += gridpad_gnss::track::Track {
            segments: vec![points],
        }
        .mileage_m();
    }
    assert!((walked - distance).abs() < 1.0, "{walked} vs {distance}");
    // The patrol and its segments wait in the outbox for the hub.
    let outbox = app.with_store(|s| s.outbox(100).unwrap()).unwrap();
    assert!(outbox
        .iter()
        .any(|m| m.mutation.entity == gridpad_proto::Entity::TrackSegment));
}

/// A worker who stands `still` seconds at the position the fake GNSS uses in the home grid
/// (29.9493 N, 121.7131 E, 78 m south of its northern edge at 29.95 N), then walks north at
/// 1.5 m/s for `walk` seconds, out of the grid (GGA + RMC at 1 Hz, HDOP 0.9: ±7.2 m).
fn stand_then_walk_north(still: u32, walk: u32) -> String {
    let (lat0, lon) = (29.9493, 121.7131);
    let mut out = String::from("# synthetic: standing, then a walk north out of the grid\n");
    for t in 0..still + walk {
        let lat = lat0 + f64::from(t.saturating_sub(still)) * 1.5 / 111_195.0;
        let hms = format!("02{:02}{:02}.00", t / 60, t % 60);
        out += &nmea(&format!(
            "GPGGA,{hms},{},N,{},E,1,10,0.9,12.0,M,7.0,M,,",
            ddmm(lat, 2),
            ddmm(lon, 3)
        ));
        out += &nmea(&format!(
            "GPRMC,{hms},A,{},N,{},E,2.9,0.0,201126,,,A",
            ddmm(lat, 2),
            ddmm(lon, 3)
        ));
    }
    out
}

/// "00:01:07" → 67 s.
fn seconds(hms: &str) -> i64 {
    hms.split(':')
        .map(|p| p.parse::<i64>().unwrap())
        .fold(0, |a, v| a * 60 + v)
}

#[test]
fn a_patrol_out_of_the_grid_shows_and_stores_its_time_inside() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 50);
    let capture = dir.path().join("walk.nmea");
    const STILL: u32 = 30;
    std::fs::write(&capture, stand_then_walk_north(STILL, 120)).unwrap();
    // Replayed 10× faster, once: the patrol starts while the worker still stands.
    let gnss = Arc::new(NmeaGnss::start_paced(
        GnssSource::Replay(capture),
        gridpad_gnss::source::Pacing::Speed(10.0),
        false,
    ));
    let mut services = Services::fake(now());
    services.gnss = gnss.clone();
    let app = gridpad_ui::App::new(gridpad_ui::AppConfig {
        data_dir: dir.path().to_path_buf(),
        device: Default::default(),
        services,
        mode: gridpad_ui::exec::Mode::Inline,
        language: Some("en".into()),
        kdf_iterations: Some(FAST_KDF),
    })
    .unwrap();
    app.ui
        .window()
        .set_size(slint::PhysicalSize::new(480, 2400));
    slint::ComponentHandle::show(&app.ui).unwrap();
    log_in(&app, PIN, "Unlock");
    app.ctx.go(Screen::Patrol);
    tap(&app, "Start patrol");
    let patrol = slint::ComponentHandle::global::<gridpad_ui::PatrolAdapter>(&app.ui);
    // Until the walk is well outside (beyond 78 m + the accuracy band).
    let start = Instant::now();
    while gnss.track_grid_time().is_none_or(|g| g.outside_s < 30.0) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the walk never left the grid: {:?} {:?}",
            gnss.track_grid_time(),
            gnss.error()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(1_100));
    // Outside now: the indicator says so, the time inside stops growing.
    assert_eq!(patrol.get_gnss().in_grid, "outside");
    assert!(shows(&app, "Outside my grid"));
    let shown_inside = patrol.get_in_grid_time().to_string();
    assert!(
        shows(&app, &format!("In grid {shown_inside}")),
        "{shown_inside}"
    );
    // Crossing the ±7.2 m band around the edge at 1.5 m/s takes 9.6 s: shown, not counted.
    let near = seconds(&patrol.get_near_boundary_time());
    assert!((9..=10).contains(&near), "near the boundary {near} s");
    assert!(shows(&app, "Near the boundary 00:00:"));
    tap(&app, "Stop patrol");

    let (state, inside_grid_s, id): (String, f64, String) = app
        .with_store(|s| {
            s.conn()
                .query_row("SELECT state, inside_grid_s, id FROM patrol", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .unwrap()
        })
        .unwrap();
    assert_eq!(state, "finished");
    // What was shown is what was stored (the live count runs on the unsimplified points).
    assert!(
        (inside_grid_s - seconds(&shown_inside) as f64).abs() <= 2.0,
        "shown {shown_inside}, stored {inside_grid_s} s"
    );
    // From the first recorded point to the start of the walk the worker stood inside; then
    // 78 m − 7.2 m at 1.5 m/s = 47.1 s more until the accuracy circle touched the edge.
    let first_ms = app
        .with_store(|s| {
            let blob: Vec<u8> = s
                .conn()
                .query_row(
                    "SELECT points FROM track_segment WHERE patrol_id = ? ORDER BY seq LIMIT 1",
                    [&id],
                    |r| r.get(0),
                )
                .unwrap();
            gridpad_gnss::track::decode_segment(&blob).unwrap()[0].time_ms
        })
        .unwrap();
    let walk_starts_ms = (now().date_naive().and_hms_opt(2, 0, STILL).unwrap())
        .and_utc()
        .timestamp_millis();
    assert!(
        first_ms <= walk_starts_ms,
        "the patrol started during the walk"
    );
    let expected = (walk_starts_ms - first_ms) as f64 / 1000.0 + (77.84 - 7.2) / 1.5;
    assert!(
        (inside_grid_s - expected).abs() <= 1.5,
        "stored {inside_grid_s} s, expected {expected} s"
    );
    // Recording stopped with the patrol.
    assert!(gnss.track_grid_time().is_none());
}

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

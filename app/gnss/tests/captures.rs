//! Replays the real receiver captures in `shared/data/nmea/` and compares
//! every epoch with gpsd's expected output (`.chk`).
//!
//! gpsd re-emits a TPV after several sentences of a cycle; the `.chk`
//! interleaves the accepted sentences with its JSON output, so each TPV is
//! attributed to the UTC time of the latest timed sentence before it, and
//! the *last* TPV of that time is gpsd's final word on the epoch.

use gridpad_gnss::{decode_all, Fix, FixMode, MergerConfig};
use std::collections::BTreeMap;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/nmea");

/// Milliseconds of day from an NMEA `hhmmss.sss` field.
fn tod_ms(field: &str) -> Option<u32> {
    if field.len() < 6 || !field.as_bytes()[..6].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let h: u32 = field[0..2].parse().ok()?;
    let m: u32 = field[2..4].parse().ok()?;
    let s: f64 = field[4..].parse().ok()?;
    Some(h * 3_600_000 + m * 60_000 + (s * 1000.0).round() as u32)
}

#[derive(Debug, Clone)]
struct Expected {
    mode: u8,
    lat: Option<f64>,
    lon: Option<f64>,
}

/// Final gpsd TPV per epoch time, in order of first appearance.
fn expected(chk: &str) -> Vec<(u32, Expected)> {
    let mut cur: Option<u32> = None;
    let mut order = Vec::new();
    let mut map: BTreeMap<u32, Expected> = BTreeMap::new();
    for line in chk.lines() {
        if let Some(body) = line.strip_prefix('$') {
            let f: Vec<&str> = body.split(',').collect();
            let kind = f[0].get(2..).unwrap_or("");
            let t = match kind {
                "RMC" | "GGA" | "GNS" | "ZDA" | "GST" => f.get(1).copied(),
                "GLL" => f.get(5).copied(),
                _ => None,
            };
            if let Some(ms) = t.and_then(tod_ms) {
                cur = Some(ms);
            }
        } else if line.starts_with('{') {
            let v: serde_json::Value = serde_json::from_str(line).expect("chk json");
            if v["class"] != "TPV" {
                continue;
            }
            let Some(t) = cur else { continue };
            let e = Expected {
                mode: v["mode"].as_u64().unwrap_or(0) as u8,
                lat: v["lat"].as_f64(),
                lon: v["lon"].as_f64(),
            };
            if map.insert(t, e).is_none() {
                order.push(t);
            }
        }
    }
    order.into_iter().map(|t| (t, map[&t].clone())).collect()
}

fn fix_ms(f: &Fix) -> u32 {
    use chrono::Timelike;
    let t = f.time_of_day;
    t.num_seconds_from_midnight() * 1000 + t.nanosecond() / 1_000_000
}

struct Outcome {
    compared_fix: usize,
    compared_nofix: usize,
    fixes: Vec<Fix>,
}

fn check_capture(name: &str) -> Outcome {
    let log = std::fs::read(format!("{DATA}/{name}")).expect("capture present");
    let chk = std::fs::read_to_string(format!("{DATA}/{name}.chk")).expect("chk present");
    let (fixes, stats) = decode_all(&log, MergerConfig::default());
    eprintln!("{name}: {} epochs, stats {stats:?}", fixes.len());
    let mut ours: BTreeMap<u32, Vec<&Fix>> = BTreeMap::new();
    for f in &fixes {
        ours.entry(fix_ms(f)).or_default().push(f);
    }
    let exp = expected(&chk);
    assert!(!exp.is_empty(), "{name}: no TPV in chk");
    let mut compared_fix = 0;
    let mut compared_nofix = 0;
    for (t, e) in &exp {
        let mine = ours.get(t).map(Vec::as_slice).unwrap_or(&[]);
        if e.mode >= 2 {
            assert_eq!(
                mine.len(),
                1,
                "{name} t={t}: expected exactly one epoch, got {mine:?}"
            );
            let f = mine[0];
            assert_eq!(f.mode.gpsd_mode(), e.mode, "{name} t={t}: mode, ours {f:?}");
            let (lat, lon) = f.position().expect("position");
            assert!(
                (lat - e.lat.unwrap()).abs() < 1e-6,
                "{name} t={t}: lat {lat} vs {:?}",
                e.lat
            );
            assert!(
                (lon - e.lon.unwrap()).abs() < 1e-6,
                "{name} t={t}: lon {lon} vs {:?}",
                e.lon
            );
            compared_fix += 1;
        } else {
            for f in mine {
                assert_eq!(
                    f.mode,
                    FixMode::NoFix,
                    "{name} t={t}: gpsd has no fix, ours {f:?}"
                );
            }
            compared_nofix += 1;
        }
    }
    // And we never report a fix in an epoch where gpsd has none.
    let exp_map: BTreeMap<u32, Expected> = exp.into_iter().collect();
    for f in fixes.iter().filter(|f| f.is_valid()) {
        let t = fix_ms(f);
        let e = exp_map.get(&t);
        assert!(
            e.is_some_and(|e| e.mode >= 2),
            "{name} t={t}: our fix has no gpsd fix: {f:?} / {e:?}"
        );
    }
    Outcome {
        compared_fix,
        compared_nofix,
        fixes,
    }
}

#[test]
fn quectel_l76k_matches_gpsd() {
    let o = check_capture("quectel-l76k-nmea.log");
    assert_eq!(o.compared_fix, 150);
    // BeiDou satellites from BDGSV / GNGSA system ID 4 are counted.
    let f = o.fixes.iter().rev().find(|f| f.is_valid()).unwrap();
    let bds = f
        .constellations
        .iter()
        .find(|c| c.constellation == gridpad_gnss::Constellation::Beidou)
        .unwrap();
    assert!(bds.used > 0 && bds.in_view > 0, "{bds:?}");
}

#[test]
fn beidou_gb_matches_gpsd() {
    let o = check_capture("beidou-gb.log");
    assert_eq!(o.compared_fix, 2);
    assert_eq!(o.compared_nofix, 3);
}

#[test]
fn gp320fw_coldboot_matches_gpsd() {
    let o = check_capture("gp-320fw-2019-04-07-coldboot.log");
    assert_eq!(o.compared_fix, 2);
    assert!(o.compared_nofix >= 10);
    // 0,0 with a void status is never a fix.
    assert!(o.fixes.iter().all(|f| f.position() != Some((0.0, 0.0))));
}

#[test]
fn quectel_l70_matches_gpsd() {
    let o = check_capture("quectel-L70.log");
    assert_eq!(o.compared_fix, 16);
    // GST present: accuracy from the receiver's error statistics.
    assert!(o
        .fixes
        .iter()
        .filter(|f| f.is_valid())
        .all(|f| f.accuracy_source == gridpad_gnss::AccuracySource::Gst));
}

//! Hand-made edge cases: leap second, null island, bad checksum, binary
//! glue, GNS with four mode letters, 60+ satellites, latching, jumps.

use gridpad_gnss::framer::nmea_checksum;
use gridpad_gnss::{
    decode_all, Constellation, FixMode, FixQuality, InvalidReason, MergerConfig, NmeaDecoder,
};

fn s(body: &str) -> String {
    format!("${body}*{:02X}\r\n", nmea_checksum(body.as_bytes()))
}

/// RMC + GGA + GSA + ZDA for one epoch at Shanghai.
fn epoch(time: &str, ddmmyy: &str, lat: &str, lon: &str) -> String {
    let (d, m, y) = (&ddmmyy[0..2], &ddmmyy[2..4], &ddmmyy[4..6]);
    [
        s(&format!(
            "GNRMC,{time},A,{lat},N,{lon},E,0.10,45.0,{ddmmyy},,,A,V"
        )),
        s(&format!(
            "GNGGA,{time},{lat},N,{lon},E,1,12,0.8,12.5,M,8.3,M,,"
        )),
        s("GNGSA,A,3,02,07,14,15,17,20,,,,,,,1.4,0.8,1.1,1"),
        s("GNGSA,A,3,13,27,37,40,41,42,,,,,,,1.4,0.8,1.1,4"),
        s(&format!("GNZDA,{time},{d},{m},20{y},00,00")),
    ]
    .concat()
}

#[test]
fn leap_second_epoch() {
    let mut data = String::new();
    data += &epoch("235958.00", "311216", "3114.8789", "12135.2442");
    data += &epoch("235959.00", "311216", "3114.8789", "12135.2442");
    data += &epoch("235960.00", "311216", "3114.8789", "12135.2442");
    data += &epoch("000000.00", "010117", "3114.8789", "12135.2442");
    data += &epoch("000001.00", "010117", "3114.8789", "12135.2442");
    let (fixes, stats) = decode_all(data.as_bytes(), MergerConfig::default());
    assert!(stats.parse_errors.is_empty(), "{stats:?}");
    assert_eq!(fixes.len(), 5);
    assert!(fixes.iter().all(|f| f.mode == FixMode::Fix3D), "{fixes:?}");
    let leap = &fixes[2];
    assert!(leap.leap_second);
    assert_eq!(leap.time_of_day.format("%H:%M:%S").to_string(), "23:59:60");
    let t = leap.time.unwrap();
    assert_eq!(
        t.format("%Y-%m-%d %H:%M:%S").to_string(),
        "2016-12-31 23:59:60"
    );
    assert!(fixes[1].time.unwrap() < t && t < fixes[3].time.unwrap());
    assert_eq!(
        fixes[3].time.unwrap().to_rfc3339(),
        "2017-01-01T00:00:00+00:00"
    );
    assert!(!fixes[3].leap_second);
}

#[test]
fn null_island_with_status_a_is_rejected() {
    let mut data = String::new();
    for t in ["120000.00", "120001.00", "120002.00"] {
        data += &s(&format!(
            "GPRMC,{t},A,0000.0000,N,00000.0000,E,0.0,0.0,070419,,,A"
        ));
        data += &s(&format!(
            "GPGGA,{t},0000.0000,N,00000.0000,E,1,08,1.0,0.0,M,0.0,M,,"
        ));
    }
    let (fixes, _) = decode_all(data.as_bytes(), MergerConfig::default());
    assert_eq!(fixes.len(), 3);
    for f in &fixes {
        assert_eq!(f.mode, FixMode::NoFix);
        assert_eq!(f.invalid_reason, Some(InvalidReason::NullIsland));
        assert_eq!(f.position(), None);
    }
}

#[test]
fn bad_checksum_sentence_is_dropped_not_used() {
    let good = epoch("101010.00", "050826", "3114.8789", "12135.2442");
    // Corrupt the GGA's latitude without fixing the checksum.
    let bad = good.replacen("GNGGA,101010.00,3114.8789", "GNGGA,101010.00,3914.8789", 1);
    let (fixes, stats) = decode_all(bad.as_bytes(), MergerConfig::default());
    assert_eq!(stats.framer.bad_checksum, 1);
    assert_eq!(fixes.len(), 1);
    let (lat, _) = fixes[0].position().unwrap();
    assert!(
        (lat - 31.247981666).abs() < 1e-6,
        "corrupted latitude leaked: {lat}"
    );
    assert!(!fixes[0].confirmed, "only RMC carried the position");
}

#[test]
fn sentence_glued_to_binary() {
    let mut data: Vec<u8> = vec![0xb5, 0x62, 0x01, 0x07, 0x5c, 0x00, b'$', 0x10, 0xff, 0x00];
    let e = epoch("101010.00", "050826", "3114.8789", "12135.2442");
    for line in e.lines() {
        data.extend_from_slice(line.as_bytes());
        // Binary frame right after the checksum, no CR LF.
        data.extend_from_slice(&[0xb5, 0x62, 0x01, 0x35, 0x08, 0x00, 0x24, 0x24, 0xa0]);
    }
    let (fixes, stats) = decode_all(&data, MergerConfig::default());
    assert_eq!(stats.framer.sentences, 5, "{stats:?}");
    assert_eq!(fixes.len(), 1);
    assert_eq!(fixes[0].mode, FixMode::Fix3D);
}

#[test]
fn gns_with_four_mode_letters() {
    let mut data = String::new();
    for t in ["053232.438", "053233.438"] {
        data += &s(&format!(
            "GNGNS,{t},3114.8789,N,12135.2442,E,ANNA,07,1.2,153.8,8.3,,0000"
        ));
    }
    data += &s("GNGNS,053234.438,,,,,NNNN,00,,,0.0,,0000");
    let (fixes, stats) = decode_all(data.as_bytes(), MergerConfig::default());
    assert!(stats.parse_errors.is_empty(), "{stats:?}");
    assert_eq!(fixes.len(), 3);
    assert_eq!(fixes[0].mode, FixMode::Fix3D);
    assert_eq!(fixes[0].sats_used, 7);
    assert_eq!(fixes[0].quality, FixQuality::Autonomous);
    assert_eq!(fixes[2].mode, FixMode::NoFix);
    assert_eq!(fixes[2].invalid_reason, Some(InvalidReason::ModeIndicator));
}

fn gsv_set(talker: &str, prns: &[u32]) -> String {
    let total = prns.len().div_ceil(4);
    let mut out = String::new();
    for (i, chunk) in prns.chunks(4).enumerate() {
        let mut body = format!("{talker}GSV,{total},{},{:02}", i + 1, prns.len());
        for p in chunk {
            body += &format!(",{p:02},45,{:03},35", (p * 7) % 360);
        }
        out += &s(&body);
    }
    out
}

#[test]
fn sixty_satellites_in_view() {
    let gps: Vec<u32> = (1..=12).collect();
    let glo: Vec<u32> = (65..=74).collect();
    let gal: Vec<u32> = (1..=9).collect();
    let bds: Vec<u32> = (1..=24).collect();
    let qzs: Vec<u32> = (1..=5).collect();
    let mut data = String::new();
    for (i, t) in ["080000.00", "080001.00", "080002.00"].iter().enumerate() {
        data += &s(&format!(
            "GNGGA,{t},3114.8789,N,12135.2442,E,1,30,0.5,12.5,M,8.3,M,,"
        ));
        data += &s("GNGSA,A,3,01,02,03,04,05,06,07,08,09,10,11,12,0.9,0.5,0.7,1");
        data += &s("GNGSA,A,3,01,02,03,04,05,06,07,08,09,10,11,12,0.9,0.5,0.7,4");
        data += &s("GNGSA,A,3,13,14,15,16,17,18,,,,,,,0.9,0.5,0.7,4");
        data += &gsv_set("GP", &gps);
        data += &gsv_set("GL", &glo);
        data += &gsv_set("GA", &gal);
        // BeiDou under both talkers across cycles.
        data += &gsv_set(if i % 2 == 0 { "BD" } else { "GB" }, &bds);
        data += &gsv_set("GQ", &qzs);
        data += &s(&format!(
            "GNRMC,{t},A,3114.8789,N,12135.2442,E,0.0,0.0,050826,,,A,V"
        ));
    }
    // The same sky repeated 20 times (a receiver flooding GSV): no growth.
    for _ in 0..20 {
        data += &gsv_set("BD", &bds);
    }
    let (fixes, stats) = decode_all(data.as_bytes(), MergerConfig::default());
    assert!(stats.parse_errors.is_empty(), "{stats:?}");
    let f = fixes.last().unwrap();
    assert_eq!(f.sats_in_view, 60, "{f:?}");
    let count = |c| {
        f.constellations
            .iter()
            .find(|x| x.constellation == c)
            .copied()
            .unwrap()
    };
    assert_eq!(count(Constellation::Gps).in_view, 12);
    assert_eq!(count(Constellation::Glonass).in_view, 10);
    assert_eq!(count(Constellation::Galileo).in_view, 9);
    assert_eq!(count(Constellation::Beidou).in_view, 24);
    assert_eq!(count(Constellation::Qzss).in_view, 5);
    assert_eq!(count(Constellation::Gps).used, 12);
    assert_eq!(count(Constellation::Beidou).used, 18);
    assert_eq!(f.sats_used, 30);
}

#[test]
fn gsv_sentence_number_16_repeated_does_not_panic() {
    // The input that panics the crate's stateful `Nmea`.
    let mut data = String::new();
    for _ in 0..20 {
        data += &s("GPGSV,20,16,80,01,45,100,30,02,45,100,30,03,45,100,30,04,45,100,30");
    }
    for _ in 0..8 {
        data += &s("GNGSA,A,3,01,02,03,04,05,06,07,08,09,10,11,12,0.9,0.5,0.7");
    }
    data += &epoch("101010.00", "050826", "3114.8789", "12135.2442");
    let (fixes, _) = decode_all(data.as_bytes(), MergerConfig::default());
    assert_eq!(fixes.len(), 1);
}

#[test]
fn latched_gga_repeating_time_is_no_fix() {
    let mut data = String::new();
    for _ in 0..3 {
        data += &s("GPGGA,101010.00,3114.8789,N,12135.2442,E,1,08,1.0,12.0,M,8.3,M,,");
        data += &s("GPGSA,A,3,02,07,14,15,17,20,,,,,,,1.4,0.8,1.1");
    }
    let (fixes, stats) = decode_all(data.as_bytes(), MergerConfig::default());
    assert_eq!(fixes.len(), 3);
    assert!(fixes[0].is_valid());
    assert_eq!(fixes[1].invalid_reason, Some(InvalidReason::Latched));
    assert_eq!(fixes[2].invalid_reason, Some(InvalidReason::Latched));
    assert_eq!(stats.merger.latched, 2);
}

#[test]
fn impossible_jump_rejected_then_accepted_when_persistent() {
    let mut data = String::new();
    data += &epoch("101010.00", "050826", "3114.8789", "12135.2442");
    data += &epoch("101011.00", "050826", "3114.8789", "12135.2442");
    // 1 km north in one second, three times in a row.
    data += &epoch("101012.00", "050826", "3115.4189", "12135.2442");
    data += &epoch("101013.00", "050826", "3115.4189", "12135.2442");
    data += &epoch("101014.00", "050826", "3115.4189", "12135.2442");
    let (fixes, stats) = decode_all(data.as_bytes(), MergerConfig::default());
    assert_eq!(fixes.len(), 5);
    assert!(fixes[1].is_valid());
    assert_eq!(fixes[2].invalid_reason, Some(InvalidReason::ImpossibleJump));
    assert_eq!(fixes[3].invalid_reason, Some(InvalidReason::ImpossibleJump));
    assert!(fixes[4].is_valid(), "a persistent new position is accepted");
    assert_eq!(stats.merger.jumps, 2);
}

#[test]
fn estimated_mode_is_degraded_and_void_is_invalid() {
    let mut data = String::new();
    data += &s("GPRMC,101010.00,A,3114.8789,N,12135.2442,E,0.1,0.0,050826,,,E");
    data += &s("GPGGA,101010.00,3114.8789,N,12135.2442,E,6,08,1.0,12.0,M,8.3,M,,");
    data += &s("GPRMC,101011.00,V,3114.8789,N,12135.2442,E,0.1,0.0,050826,,,N");
    data += &s("GPGGA,101011.00,3114.8789,N,12135.2442,E,0,08,1.0,12.0,M,8.3,M,,");
    data += &s("GPRMC,101012.00,A,3114.8789,N,12135.2442,E,0.1,0.0,050826,,,A");
    data += &s("GPGGA,101012.00,3114.8789,N,12135.2442,E,0,08,1.0,12.0,M,8.3,M,,");
    let (fixes, _) = decode_all(data.as_bytes(), MergerConfig::default());
    assert_eq!(fixes.len(), 3);
    assert!(fixes[0].is_valid() && fixes[0].degraded);
    assert_eq!(fixes[0].quality, FixQuality::Estimated);
    assert!(!fixes[0].good_for_check_in(25.0));
    assert_eq!(fixes[1].invalid_reason, Some(InvalidReason::RmcStatus));
    assert_eq!(fixes[2].invalid_reason, Some(InvalidReason::Inconsistent));
}

#[test]
fn chunked_feeding_equals_whole() {
    let data = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/nmea/quectel-l76k-nmea.log"
    ))
    .unwrap();
    let (whole, _) = decode_all(&data, MergerConfig::default());
    let mut d = NmeaDecoder::new(MergerConfig::default());
    let mut parts = Vec::new();
    for c in data.chunks(7) {
        parts.extend(d.feed(c));
    }
    parts.extend(d.finish());
    assert_eq!(whole, parts);
}

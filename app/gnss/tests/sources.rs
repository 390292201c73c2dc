//! Sources: serial unplug mid-sentence (simulated), gpsd over TCP (a local
//! fake gpsd serving a real capture), replay pacing, and the CLI on a real
//! capture.

use gridpad_gnss::cli::{run, GnssCommand};
use gridpad_gnss::source::{
    gpsd_source, Backoff, ByteSource, Chunk, GnssStream, Pacing, ReconnectingSource, ReplaySource,
};
use gridpad_gnss::{FixMode, SourceKind};
use std::io::{self, BufRead, BufReader, Cursor, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/nmea");

fn capture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DATA}/{name}")).unwrap()
}

/// A reader that yields `data` then fails like an unplugged tty (EIO) or
/// ends (EOF).
struct Unplugging {
    data: Cursor<Vec<u8>>,
    eof: bool,
}

impl Read for Unplugging {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = buf.len().min(13);
        let n = self.data.read(&mut buf[..len])?;
        if n == 0 && !self.eof {
            return Err(io::Error::other("Input/output error (device unplugged)"));
        }
        Ok(n)
    }
}

/// Splits the L76K capture in the middle of a sentence; the second part
/// resumes some bytes later (what was sent while unplugged is lost).
fn unplug_scenario(eof: bool) {
    let data = capture("quectel-l76k-nmea.log");
    let cut = 60_000;
    assert_ne!(data[cut - 1], b'\n');
    let resume = data[cut..].iter().position(|&b| b == b'$').unwrap() + cut + 700;
    let parts = Arc::new(Mutex::new(vec![
        Ok(data[resume..].to_vec()),
        Err(()),
        Ok(data[..cut].to_vec()),
    ]));
    let opens = Arc::clone(&parts);
    let opener = Box::new(move || -> io::Result<Box<dyn Read + Send>> {
        match opens.lock().unwrap().pop() {
            Some(Ok(bytes)) => Ok(Box::new(Unplugging {
                data: Cursor::new(bytes),
                eof,
            })),
            Some(Err(())) => Err(io::Error::new(io::ErrorKind::NotFound, "no such device")),
            None => Err(io::Error::new(io::ErrorKind::NotFound, "done")),
        }
    });
    let sleeps = Arc::new(Mutex::new(Vec::new()));
    let s2 = Arc::clone(&sleeps);
    let src = ReconnectingSource::new(opener, SourceKind::Serial)
        .with_backoff(Backoff::new(
            Duration::from_millis(100),
            Duration::from_secs(1),
        ))
        .with_sleeper(Box::new(move |d| s2.lock().unwrap().push(d)));
    let mut stream = GnssStream::new(src);
    let mut fixes = Vec::new();
    for _ in 0..200_000 {
        match stream.poll().unwrap() {
            Some(f) => fixes.push(f),
            // Second stream drained and failed: stop.
            None if parts.lock().unwrap().is_empty()
                && stream.source().connections == 2
                && stream.stats().framer.truncated >= 2 =>
            {
                break
            }
            None => {}
        }
    }
    let st = stream.stats();
    assert_eq!(stream.source().connections, 2, "reopened after unplug");
    assert!(
        st.framer.truncated >= 1,
        "partial sentence discarded: {st:?}"
    );
    assert!(
        !sleeps.lock().unwrap().is_empty(),
        "backed off while the device was absent"
    );
    // Every cycle before and after the unplug yields a valid fix, none
    // built from the cut sentence; only the cycles around the cut are lost.
    // Cycles cut by the capture start or by the unplug keep only their RMC:
    // 2D, as gpsd reports them; everything else is 3D.
    assert!(fixes
        .iter()
        .all(|f| f.is_valid() && f.source == SourceKind::Serial));
    let two_d = fixes.iter().filter(|f| f.mode == FixMode::Fix2D).count();
    assert!(two_d <= 2, "{two_d}");
    assert!(fixes.len() >= 140 && fixes.len() < 150, "{}", fixes.len());
    let mut times: Vec<_> = fixes.iter().map(|f| f.time.unwrap()).collect();
    let n = times.len();
    times.dedup();
    assert_eq!(times.len(), n, "no epoch twice");
}

#[test]
fn serial_unplug_mid_sentence_with_error() {
    unplug_scenario(false);
}

#[test]
fn serial_eof_mid_sentence() {
    unplug_scenario(true);
}

#[test]
fn gpsd_over_tcp_nmea_watch() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let data = capture("beidou-gb.log");
    let server = std::thread::spawn(move || {
        let (sock, _) = listener.accept().unwrap();
        let mut r = BufReader::new(sock.try_clone().unwrap());
        let mut cmd = String::new();
        r.read_line(&mut cmd).unwrap();
        let mut w = sock;
        w.write_all(b"{\"class\":\"VERSION\",\"release\":\"3.25\",\"proto_major\":3,\"proto_minor\":15}\r\n").unwrap();
        w.write_all(b"{\"class\":\"DEVICES\",\"devices\":[{\"class\":\"DEVICE\",\"path\":\"/dev/ttyS1\"}]}\r\n").unwrap();
        for line in data.split(|&b| b == b'\n').filter(|l| !l.starts_with(b"#")) {
            w.write_all(line).unwrap();
            w.write_all(b"\n").unwrap();
        }
        cmd
    });
    let mut stream = GnssStream::new(gpsd_source(addr.to_string()));
    let fixes: Vec<_> = stream.by_ref().take(5).map(Result::unwrap).collect();
    let cmd = server.join().unwrap();
    assert!(
        cmd.starts_with("?WATCH=") && cmd.contains("\"nmea\":true"),
        "{cmd}"
    );
    assert_eq!(fixes.len(), 5);
    assert!(fixes.iter().all(|f| f.source == SourceKind::Gpsd));
    assert_eq!(fixes.iter().filter(|f| f.is_valid()).count(), 2);
    let (lat, lon) = fixes[4].position().unwrap();
    assert!((lat - 31.248035).abs() < 1e-6 && (lon - 121.58738).abs() < 1e-6);
}

#[test]
fn replay_skips_comments_and_paces() {
    let data = capture("quectel-L70.log");
    let slept = Arc::new(Mutex::new(Duration::ZERO));
    let s2 = Arc::clone(&slept);
    let src = ReplaySource::new(Cursor::new(data.clone()), Pacing::Speed(2.0))
        .with_sleeper(Box::new(move |d| *s2.lock().unwrap() += d));
    let fixes: Vec<_> = GnssStream::new(src).map(Result::unwrap).collect();
    assert_eq!(fixes.len(), 16);
    // 15:01:19 → 15:01:35 is 16 s of receiver time: 8 s at double speed.
    let total = *slept.lock().unwrap();
    assert!((total.as_secs_f64() - 8.0).abs() < 0.6, "{total:?}");
    // Comment lines never reach the framer.
    let mut src = ReplaySource::new(
        Cursor::new(b"# $GPGGA,not,a,sentence*00\n".to_vec()),
        Pacing::AsFastAsPossible,
    );
    let mut buf = [0u8; 64];
    assert_eq!(src.read_chunk(&mut buf).unwrap(), Chunk::End);
}

#[test]
fn cli_replay_json_on_real_capture() {
    let mut out = Vec::new();
    run(
        GnssCommand::Replay {
            file: format!("{DATA}/quectel-l76k-nmea.log").into(),
            json: true,
            speed: None,
            realtime: false,
            stats: false,
        },
        &mut out,
    )
    .unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 150);
    // First cycle: RMC only (capture starts mid-cycle) → 2D, like gpsd.
    assert_eq!(lines[0]["mode"], 2);
    assert_eq!(lines[1]["mode"], 3);
    assert_eq!(lines[1]["time"], "2026-08-05T05:52:34.200Z");
    assert!((lines[1]["lat"].as_f64().unwrap() - 47.661981667).abs() < 1e-6);
    assert!((lines[1]["lon"].as_f64().unwrap() + 122.326393667).abs() < 1e-6);
    assert_eq!(lines[1]["sats_used"], 14);
    assert_eq!(lines[1]["hdop"], 0.9);
    for key in ["alt", "quality", "accuracy"] {
        assert!(!lines[1][key].is_null(), "{key}");
    }
}

#[test]
fn cli_replay_missing_file_is_an_error() {
    let mut out = Vec::new();
    let r = run(
        GnssCommand::Replay {
            file: "/nonexistent/capture.log".into(),
            json: false,
            speed: None,
            realtime: false,
            stats: false,
        },
        &mut out,
    );
    assert!(r.is_err());
}

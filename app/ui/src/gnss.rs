//! The GNSS service over `gridpad-gnss`: a thread reads NMEA from the configured source
//! (serial receiver, gpsd, or a replayed capture for demos), turns it into fixes and
//! publishes them to a `PositionTracker`; the UI asks the tracker, which never blocks.
//!
//! The source is the settings' `gnss_source`:
//! - `""` or `none`: no receiver;
//! - `gpsd:HOST:PORT`: gpsd's NMEA stream;
//! - `replay:PATH`: an NMEA capture replayed in real time, over and over (demos, Xvfb);
//! - anything else: a serial device path (`/dev/ttyS1`), baud rate detected.

use crate::services::{GnssService, GnssState, GnssStatus};
use gridpad_gnss::source::{gpsd_source, serial_source, ByteSource, GnssStream, Pacing};
use gridpad_gnss::source::{ReplaySource, SerialConfig};
use gridpad_gnss::track::{FilterConfig, Track, TrackRecorder};
use gridpad_gnss::{Fix, PositionEvidence, PositionTracker};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where fixes come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GnssSource {
    Off,
    Serial(String),
    Gpsd(String),
    Replay(PathBuf),
}

impl GnssSource {
    pub fn parse(s: &str) -> GnssSource {
        let s = s.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("none") || s.eq_ignore_ascii_case("off") {
            GnssSource::Off
        } else if let Some(addr) = s.strip_prefix("gpsd:") {
            GnssSource::Gpsd(addr.to_string())
        } else if let Some(path) = s.strip_prefix("replay:") {
            GnssSource::Replay(PathBuf::from(path))
        } else {
            GnssSource::Serial(s.to_string())
        }
    }
}

/// A fix listener (the patrol's track recorder).
pub type FixSink = Box<dyn Fn(&Fix) + Send + Sync>;

/// The receiver as the app sees it.
pub struct NmeaGnss {
    tracker: Arc<PositionTracker>,
    /// Something was ever received (distinguishes "no fix yet" from "off").
    started: bool,
    stop: Arc<AtomicBool>,
    /// The source's last error ("cannot open /dev/ttyS1: …"), for the settings screen.
    error: Arc<Mutex<Option<String>>>,
    sinks: Arc<Mutex<Vec<FixSink>>>,
    /// The patrol track being recorded.
    track: Arc<Mutex<Option<TrackRecorder>>>,
}

/// Tracks are simplified to within this many metres when a patrol ends.
pub const TRACK_EPSILON_M: f64 = 3.0;

impl NmeaGnss {
    /// Start reading `source` on a thread of its own (a replay in real time, looped).
    pub fn start(source: GnssSource) -> NmeaGnss {
        Self::start_paced(source, Pacing::Speed(1.0), true)
    }

    /// Like [`NmeaGnss::start`], with the replay's pacing and whether it starts again at
    /// its end (tests replay a capture faster, once).
    pub fn start_paced(source: GnssSource, pacing: Pacing, looped: bool) -> NmeaGnss {
        let tracker = Arc::new(PositionTracker::default());
        let stop = Arc::new(AtomicBool::new(false));
        let error = Arc::new(Mutex::new(None));
        let sinks: Arc<Mutex<Vec<FixSink>>> = Arc::new(Mutex::new(vec![]));
        let track: Arc<Mutex<Option<TrackRecorder>>> = Arc::new(Mutex::new(None));
        let tr = track.clone();
        sinks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(move |fix| {
                if let Some(rec) = tr.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
                    rec.push_fix(fix);
                }
            }));
        let started = source != GnssSource::Off;
        if started {
            let (t, s, e, k) = (tracker.clone(), stop.clone(), error.clone(), sinks.clone());
            let _ = std::thread::Builder::new()
                .name("gridpad-gnss".into())
                .spawn(move || read_loop(source, pacing, looped, t, s, e, k));
        }
        NmeaGnss {
            tracker,
            started,
            stop,
            error,
            sinks,
            track,
        }
    }

    fn recorder(&self) -> std::sync::MutexGuard<'_, Option<TrackRecorder>> {
        self.track.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The source's last error, if any.
    pub fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Call `f` with every fix (valid or not) as it arrives, on the GNSS thread.
    pub fn on_fix(&self, f: FixSink) {
        self.sinks.lock().unwrap_or_else(|p| p.into_inner()).push(f);
    }
}

impl Drop for NmeaGnss {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn open(source: &GnssSource, pacing: Pacing) -> std::io::Result<Box<dyn ByteSource>> {
    Ok(match source {
        GnssSource::Off => unreachable!("no thread is started for Off"),
        GnssSource::Serial(path) => Box::new(serial_source(SerialConfig::new(path.clone(), None))),
        GnssSource::Gpsd(addr) => Box::new(gpsd_source(addr.clone())),
        GnssSource::Replay(path) => Box::new(ReplaySource::open(path, pacing)?),
    })
}

fn read_loop(
    source: GnssSource,
    pacing: Pacing,
    looped: bool,
    tracker: Arc<PositionTracker>,
    stop: Arc<AtomicBool>,
    error: Arc<Mutex<Option<String>>>,
    sinks: Arc<Mutex<Vec<FixSink>>>,
) {
    let set_error = |e: Option<String>| *error.lock().unwrap_or_else(|p| p.into_inner()) = e;
    while !stop.load(Ordering::SeqCst) {
        let src = match open(&source, pacing) {
            Ok(s) => s,
            Err(e) => {
                set_error(Some(e.to_string()));
                std::thread::sleep(Duration::from_secs(5));
                continue;
            }
        };
        let mut stream = GnssStream::new(src);
        while !stop.load(Ordering::SeqCst) {
            match stream.poll() {
                Ok(Some(fix)) => {
                    tracker.update(&fix);
                    for s in sinks.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                        s(&fix);
                    }
                }
                Ok(None) if stream.is_ended() => break,
                Ok(None) => {}
                Err(e) => {
                    set_error(Some(e.to_string()));
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
        // A replay ends: start it again (a live source reconnects by itself).
        if !looped {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What the UI shows for the tracker's evidence.
pub fn status_of(evidence: &PositionEvidence, latest: Option<&Fix>) -> GnssStatus {
    let sats = |f: &Fix| u32::from(f.sats_used);
    match evidence {
        PositionEvidence::Gnss { fix } => GnssStatus {
            state: GnssState::Fix,
            sats: sats(fix),
            accuracy_m: fix.accuracy_m,
            age_s: None,
            lat: fix.lat,
            lon: fix.lon,
            inside: None,
        },
        PositionEvidence::LastKnown { fix, age_s, .. } => GnssStatus {
            state: GnssState::LastKnown,
            sats: latest.map(sats).unwrap_or(0),
            accuracy_m: fix.accuracy_m,
            age_s: Some(*age_s),
            lat: fix.lat,
            lon: fix.lon,
            inside: None,
        },
        PositionEvidence::None => GnssStatus {
            sats: latest.map(sats).unwrap_or(0),
            ..GnssStatus::none()
        },
    }
}

impl GnssService for NmeaGnss {
    fn status(&self) -> GnssStatus {
        if !self.started {
            return GnssStatus {
                state: GnssState::Off,
                ..GnssStatus::none()
            };
        }
        status_of(&self.tracker.evidence(), self.tracker.latest().as_ref())
    }

    fn start_track(&self) {
        let mut rec = self.recorder();
        if rec.is_none() {
            *rec = Some(TrackRecorder::new(FilterConfig::default()));
        }
    }

    fn track_distance_m(&self) -> f64 {
        self.recorder().as_ref().map_or(0.0, |r| {
            Track {
                segments: r.segments().to_vec(),
            }
            .mileage_m()
        })
    }

    fn finish_track(&self) -> Option<Track> {
        self.recorder()
            .take()
            .map(|r| r.finish(TRACK_EPSILON_M))
            .filter(|t| t.segments.iter().any(|s| !s.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_read_from_the_setting() {
        assert_eq!(GnssSource::parse(""), GnssSource::Off);
        assert_eq!(GnssSource::parse("none"), GnssSource::Off);
        assert_eq!(
            GnssSource::parse("/dev/ttyS1"),
            GnssSource::Serial("/dev/ttyS1".into())
        );
        assert_eq!(
            GnssSource::parse("gpsd:127.0.0.1:2947"),
            GnssSource::Gpsd("127.0.0.1:2947".into())
        );
        assert_eq!(
            GnssSource::parse("replay:/tmp/a.log"),
            GnssSource::Replay("/tmp/a.log".into())
        );
    }
}

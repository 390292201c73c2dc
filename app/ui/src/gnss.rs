//! The GNSS service over `gridpad-gnss`: a thread reads NMEA from the configured source
//! (serial receiver, gpsd, or a replayed capture for demos), turns it into fixes and
//! publishes them to a `PositionTracker`; the UI asks the tracker, which never blocks.
//!
//! The source is `[gnss]` of the device configuration (`gridpad_config::GnssConfig`: the
//! one default, `/dev/ttyS3`), unless this device's settings screen chose another one
//! (`--gnss` wins over both), written as:
//! - `""` or `none`: no receiver;
//! - `gpsd:HOST:PORT`: gpsd's NMEA stream;
//! - `replay:PATH`: an NMEA capture replayed in real time, over and over (demos, Xvfb);
//! - anything else: a serial device path (`/dev/ttyS3`), baud rate detected.

use crate::services::{inside_of, GnssService, GnssState, GnssStatus};
use gridpad_core::model::Grid;
use gridpad_gnss::geofence::{GeofenceMonitor, GridPolygon};
use gridpad_gnss::gridtime::{GridClock, GridTime, UNKNOWN_ACCURACY_M};
use gridpad_gnss::source::{gpsd_source, serial_source, ByteSource, GnssStream, Pacing};
use gridpad_gnss::source::{ReplaySource, SerialConfig};
use gridpad_gnss::track::{Decision, FilterConfig, Track, TrackRecorder};
use gridpad_gnss::{Fix, PositionEvidence, PositionTracker};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where fixes come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GnssSource {
    Off,
    /// A serial device and its speed (`None`: detected).
    Serial(String, Option<u32>),
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
            GnssSource::Serial(s.to_string(), None)
        }
    }

    /// The configuration's receiver.
    pub fn from_config(c: &gridpad_config::GnssConfig) -> GnssSource {
        use gridpad_config::GnssKind;
        match c.source {
            GnssKind::None => GnssSource::Off,
            GnssKind::Gpsd => GnssSource::Gpsd(c.gpsd.clone()),
            GnssKind::Serial => {
                GnssSource::Serial(c.device.clone(), Some(c.baud).filter(|b| *b != 0))
            }
        }
    }

    /// The source as the settings screen writes it ([`GnssSource::parse`] reads it back;
    /// a configured baud rate is not shown).
    pub fn setting(&self) -> String {
        match self {
            GnssSource::Off => "none".into(),
            GnssSource::Serial(path, _) => path.clone(),
            GnssSource::Gpsd(addr) => format!("gpsd:{addr}"),
            GnssSource::Replay(path) => format!("replay:{}", path.display()),
        }
    }

    /// The receiver to use: `--gnss`, else the one this device's settings chose, else the
    /// configuration's.
    pub fn choose(
        arg: Option<&str>,
        setting: Option<&str>,
        config: &gridpad_config::GnssConfig,
    ) -> GnssSource {
        match arg.or(setting) {
            Some(s) => GnssSource::parse(s),
            None => GnssSource::from_config(config),
        }
    }
}

/// A fix listener (the patrol's track recorder).
pub type FixSink = Box<dyn Fn(&Fix) + Send + Sync>;

/// A grid's boundary as the geofence wants it: the store keeps rings of `[lon, lat]`
/// (outer ring, then holes); `None` when the grid has no usable boundary.
pub fn grid_polygon(grid: &Grid) -> Option<GridPolygon> {
    let rings = grid.boundary.as_ref()?;
    let (outer, holes) = rings.split_first()?;
    let ring = |r: &Vec<[f64; 2]>| r.iter().map(|p| (p[1], p[0])).collect::<Vec<_>>();
    let holes: Vec<_> = holes.iter().map(ring).collect();
    GridPolygon::new(&ring(outer), &holes).ok()
}

/// The patrol being recorded: the track, and its time in the grid as it grows.
struct Recording {
    rec: TrackRecorder,
    clock: Option<GridClock>,
}

impl Recording {
    /// A clock for `grid` that has seen every point recorded so far.
    fn recount(&mut self, grid: Option<&GridPolygon>) {
        self.clock = grid.map(|g| {
            let mut c = GridClock::new(g);
            for (i, seg) in self.rec.segments().iter().enumerate() {
                for (j, p) in seg.iter().enumerate() {
                    c.push(*p, i > 0 && j == 0);
                }
            }
            c
        });
    }
}

/// The grid and where the receiver is relative to it (3 agreeing fixes to change).
#[derive(Default)]
struct Fence {
    grid: Option<GridPolygon>,
    monitor: GeofenceMonitor,
}

/// The receiver as the app sees it.
pub struct NmeaGnss {
    tracker: Arc<PositionTracker>,
    /// Something was ever received (distinguishes "no fix yet" from "off").
    started: bool,
    stop: Arc<AtomicBool>,
    /// The source's last error ("cannot open /dev/ttyS3: …"), for the settings screen.
    error: Arc<Mutex<Option<String>>>,
    sinks: Arc<Mutex<Vec<FixSink>>>,
    /// The patrol track being recorded.
    track: Arc<Mutex<Option<Recording>>>,
    fence: Arc<Mutex<Fence>>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
        let track: Arc<Mutex<Option<Recording>>> = Arc::new(Mutex::new(None));
        let fence: Arc<Mutex<Fence>> = Arc::new(Mutex::new(Fence::default()));
        let (tr, fe) = (track.clone(), fence.clone());
        locked(&sinks).push(Box::new(move |fix| {
            {
                let mut guard = locked(&fe);
                let f = &mut *guard;
                if let (Some(g), Some((lat, lon)), false) = (&f.grid, fix.position(), fix.degraded)
                {
                    let zone = g.classify(lat, lon, fix.accuracy_m.unwrap_or(UNKNOWN_ACCURACY_M));
                    f.monitor.update(zone);
                }
            }
            if let Some(r) = locked(&tr).as_mut() {
                let decision = r.rec.push_fix(fix);
                if matches!(decision, Decision::Kept | Decision::KeptAfterGap) {
                    let last = r.rec.segments().last().and_then(|s| s.last()).copied();
                    if let (Some(c), Some(p)) = (r.clock.as_mut(), last) {
                        c.push(p, decision == Decision::KeptAfterGap);
                    }
                }
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
            fence,
        }
    }

    fn recording(&self) -> std::sync::MutexGuard<'_, Option<Recording>> {
        locked(&self.track)
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
        GnssSource::Serial(path, baud) => {
            Box::new(serial_source(SerialConfig::new(path.clone(), *baud)))
        }
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
        let mut st = status_of(&self.tracker.evidence(), self.tracker.latest().as_ref());
        if st.state == GnssState::Fix {
            st.inside = locked(&self.fence).monitor.state().map(inside_of);
        }
        st
    }

    fn start_track(&self) {
        let grid = locked(&self.fence).grid.clone();
        let mut rec = self.recording();
        if rec.is_none() {
            let mut r = Recording {
                rec: TrackRecorder::new(FilterConfig::default()),
                clock: None,
            };
            r.recount(grid.as_ref());
            *rec = Some(r);
        }
    }

    fn track_distance_m(&self) -> f64 {
        self.recording().as_ref().map_or(0.0, |r| {
            Track {
                segments: r.rec.segments().to_vec(),
            }
            .mileage_m()
        })
    }

    fn current_track(&self) -> Option<Track> {
        self.recording()
            .as_ref()
            .map(|r| r.rec.clone().finish(TRACK_EPSILON_M))
            .filter(|t| t.segments.iter().any(|s| !s.is_empty()))
    }

    fn end_track(&self) {
        self.recording().take();
    }

    fn set_grid(&self, grid: Option<GridPolygon>) {
        {
            let mut f = locked(&self.fence);
            if f.grid == grid {
                return;
            }
            f.grid = grid.clone();
            f.monitor = GeofenceMonitor::default();
        }
        if let Some(r) = self.recording().as_mut() {
            r.recount(grid.as_ref());
        }
    }

    fn track_grid_time(&self) -> Option<GridTime> {
        self.recording()
            .as_ref()
            .and_then(|r| r.clock.as_ref())
            .map(GridClock::time)
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
            GnssSource::parse("/dev/ttyUSB0"),
            GnssSource::Serial("/dev/ttyUSB0".into(), None)
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

    /// `[gnss]` of gridpad.toml decides the receiver unless the settings screen or
    /// `--gnss` chose one; every key (source, device, baud, gpsd) counts.
    #[test]
    fn the_configuration_chooses_the_receiver() {
        use gridpad_config::{DeviceConfig, GnssConfig};
        let default = GnssConfig::default();
        assert_eq!(
            GnssSource::choose(None, None, &default),
            GnssSource::Serial("/dev/ttyS3".into(), None),
            "the one default is the shipped file's UART"
        );
        let c = DeviceConfig::parse("[gnss]\ndevice = \"/dev/ttyUSB1\"\nbaud = 9600\n").unwrap();
        assert_eq!(
            GnssSource::choose(None, None, &c.gnss),
            GnssSource::Serial("/dev/ttyUSB1".into(), Some(9600))
        );
        let c =
            DeviceConfig::parse("[gnss]\nsource = \"gpsd\"\ngpsd = \"10.0.0.2:2947\"\n").unwrap();
        assert_eq!(
            GnssSource::choose(None, None, &c.gnss),
            GnssSource::Gpsd("10.0.0.2:2947".into())
        );
        let c = DeviceConfig::parse("[gnss]\nsource = \"none\"\n").unwrap();
        assert_eq!(GnssSource::choose(None, None, &c.gnss), GnssSource::Off);
        // The device's own choice, then the command line, win.
        assert_eq!(
            GnssSource::choose(None, Some("gpsd:127.0.0.1:2947"), &default),
            GnssSource::Gpsd("127.0.0.1:2947".into())
        );
        assert_eq!(
            GnssSource::choose(Some("none"), Some("/dev/ttyS0"), &default),
            GnssSource::Off
        );
        for s in [
            GnssSource::Off,
            GnssSource::Serial("/dev/ttyS3".into(), None),
            GnssSource::Gpsd("h:1".into()),
        ] {
            assert_eq!(GnssSource::parse(&s.setting()), s);
        }
    }
}

//! Services the UI uses, behind traits so tests and screenshots use fakes: the clock, the
//! GNSS receiver, sync with the hub, the camera.

use chrono::{DateTime, Utc};
use gridpad_core::model::{Inside, Position, PositionSource};
use gridpad_core::Store;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still (tests, screenshots).
pub struct FixedClock(pub DateTime<Utc>);
impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GnssState {
    /// A current fix.
    Fix,
    /// No fix now; a previous position of a known age.
    LastKnown,
    /// Never had a position.
    None,
    /// No receiver configured.
    Off,
}

impl GnssState {
    pub fn as_str(self) -> &'static str {
        match self {
            GnssState::Fix => "fix",
            GnssState::LastKnown => "last-known",
            GnssState::None => "none",
            GnssState::Off => "off",
        }
    }
}

/// What the receiver says now.
#[derive(Clone, Debug, PartialEq)]
pub struct GnssStatus {
    pub state: GnssState,
    pub sats: u32,
    pub accuracy_m: Option<f64>,
    pub age_s: Option<f64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub inside: Option<Inside>,
}

impl GnssStatus {
    pub fn none() -> Self {
        GnssStatus {
            state: GnssState::None,
            sats: 0,
            accuracy_m: None,
            age_s: None,
            lat: None,
            lon: None,
            inside: None,
        }
    }

    /// The position evidence a record gets: the fix, the last known position with its
    /// age, or none.
    pub fn position(&self) -> Position {
        match (self.state, self.lat, self.lon) {
            (GnssState::Fix, Some(lat), Some(lon)) => Position {
                source: PositionSource::Gnss,
                lat: Some(lat),
                lon: Some(lon),
                accuracy_m: self.accuracy_m,
                sats_used: Some(self.sats),
                ..Position::none()
            },
            (GnssState::LastKnown, Some(lat), Some(lon)) => Position {
                source: PositionSource::LastKnown,
                lat: Some(lat),
                lon: Some(lon),
                accuracy_m: self.accuracy_m,
                age_s: self.age_s,
                ..Position::none()
            },
            _ => Position::none(),
        }
    }
}

pub trait GnssService: Send + Sync {
    fn status(&self) -> GnssStatus;
    /// Start recording a patrol track from the fixes that arrive (a recording already
    /// under way goes on).
    fn start_track(&self) {}
    /// Metres walked so far on the recording (0 without one).
    fn track_distance_m(&self) -> f64 {
        0.0
    }
    /// The recording as it would be stored now: filtered, simplified, segments split at
    /// gaps (`None` without a recording or without a point). Recording goes on: only
    /// [`GnssService::end_track`] stops it, once the track is safely stored.
    fn current_track(&self) -> Option<gridpad_gnss::track::Track> {
        None
    }
    /// Stop recording and forget the track (after it was stored).
    fn end_track(&self) {}
    /// The grid whose boundary `inside` and the track's time in the grid are measured
    /// against (`None`: no boundary known).
    fn set_grid(&self, _grid: Option<gridpad_gnss::geofence::GridPolygon>) {}
    /// Time of the recording so far inside / outside / near the grid's boundary, and in
    /// gaps (`None` without a recording or a grid).
    fn track_grid_time(&self) -> Option<gridpad_gnss::gridtime::GridTime> {
        None
    }
}

/// A receiver whose answer the test sets.
pub struct FakeGnss(pub Mutex<GnssStatus>);

impl FakeGnss {
    pub fn fix(lat: f64, lon: f64, accuracy_m: f64, sats: u32) -> Self {
        FakeGnss(Mutex::new(GnssStatus {
            state: GnssState::Fix,
            sats,
            accuracy_m: Some(accuracy_m),
            age_s: None,
            lat: Some(lat),
            lon: Some(lon),
            inside: Some(Inside::Inside),
        }))
    }
    pub fn set(&self, s: GnssStatus) {
        *self.0.lock().unwrap() = s;
    }
}

impl GnssService for FakeGnss {
    fn status(&self) -> GnssStatus {
        self.0.lock().unwrap().clone()
    }
}

/// The store's zone word for a geofence zone.
pub fn inside_of(zone: gridpad_gnss::geofence::Zone) -> Inside {
    use gridpad_gnss::geofence::Zone;
    match zone {
        Zone::Inside => Inside::Inside,
        Zone::Outside => Inside::Outside,
        Zone::Uncertain => Inside::Uncertain,
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncStatus {
    /// The last exchange reached the hub.
    pub online: bool,
    /// An exchange is under way.
    pub running: bool,
    /// The store knows a hub to sync with.
    pub enrolled: bool,
    /// Why the last exchange failed (cleared by a success).
    pub error: Option<String>,
    /// Counts finished exchanges (and starts): screens reload when it changes.
    pub rounds: u64,
    /// A fleet command that was carried out: "locked" or "wiped".
    pub command: Option<String>,
    /// A long download under way (a first sync): changes received so far and the size of
    /// the whole download; both 0 when nothing big is downloading.
    pub downloaded: u64,
    pub download_total: u64,
    /// The photo upload under way, if any.
    pub photo: Option<gridpad_sync::evidence::PhotoProgress>,
}

impl SyncStatus {
    /// Follow a download across exchanges: each report says what it received and what the
    /// hub still holds for this device.
    pub fn track_download(&mut self, pulled: u64, remaining: u64) {
        if remaining == 0 {
            self.downloaded = 0;
            self.download_total = 0;
            return;
        }
        let so_far = if self.download_total > 0 {
            self.downloaded + pulled
        } else {
            pulled
        };
        self.downloaded = so_far;
        self.download_total = so_far + remaining;
    }
}

pub trait SyncService: Send + Sync {
    fn status(&self) -> SyncStatus;
    /// Ask for a sync round as soon as possible.
    fn sync_now(&self);
    /// Something was written locally (sync soon, debounced).
    fn local_write(&self);
    /// Enroll a new store with the hub using a one-time code (first run). The error is
    /// shown to the user as it is.
    fn enroll(&self, store: &mut Store, hub: &str, code: &str) -> Result<(), String>;
    /// Enroll a new store with the data directory's `provision.toml` (first run of a
    /// provisioned device); the file's code is then marked used.
    fn enroll_provisioned(
        &self,
        store: &mut Store,
        config: &gridpad_config::DeviceConfig,
    ) -> Result<(), String> {
        match gridpad_sync::provision::enroll_from_file(store, config) {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err("provision.toml has no unused enrollment code".into()),
            Err(e) => Err(e.to_string()),
        }
    }
    /// Start syncing with this connection to the store (after unlock).
    fn start(&self, store: Store);
    /// Stop syncing and close the connection (lock).
    fn stop(&self);
}

/// Sync without a hub (tests, screenshots): offline, counts requests; enrollment keeps
/// the code in the store.
#[derive(Default)]
pub struct FakeSync {
    pub requests: AtomicU64,
    pub writes: AtomicU64,
}

impl SyncService for FakeSync {
    fn status(&self) -> SyncStatus {
        SyncStatus::default()
    }
    fn sync_now(&self) {
        self.requests.fetch_add(1, Ordering::SeqCst);
    }
    fn local_write(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }
    fn enroll(&self, store: &mut Store, hub: &str, code: &str) -> Result<(), String> {
        store
            .set_kv("hub_url", hub)
            .and_then(|_| store.set_kv("enrollment_code", code))
            .map_err(|e| e.to_string())
    }
    fn start(&self, _store: Store) {}
    fn stop(&self) {}
}

pub use gridpad_photo::camera::Camera;

/// Everything the UI talks to besides the store.
#[derive(Clone)]
pub struct Services {
    pub clock: Arc<dyn Clock>,
    pub gnss: Arc<dyn GnssService>,
    pub sync: Arc<dyn SyncService>,
    pub camera: Option<Arc<dyn Camera>>,
}

impl Services {
    /// Fakes: a fixed clock, a GNSS fix in the demo town, sync offline, a test-pattern
    /// camera (real JPEGs, so photos go through the real intake, stamp and vault).
    pub fn fake(now: DateTime<Utc>) -> Self {
        Services {
            clock: Arc::new(FixedClock(now)),
            gnss: Arc::new(FakeGnss::fix(29.9493, 121.7131, 4.0, 14)),
            sync: Arc::new(FakeSync::default()),
            camera: Some(Arc::new(gridpad_photo::camera::PatternCamera::new(
                800, 600,
            ))),
        }
    }

    /// The running system: system clock, the GNSS receiver `gnss`, sync with the hub
    /// (handing the bundles it offers to the update agent, as `[update]` of the
    /// configuration says), the device's camera (see [`gridpad_photo::camera::from_env`];
    /// none: photos cannot be taken).
    pub fn system(
        config: &gridpad_config::DeviceConfig,
        gnss: crate::gnss::GnssSource,
        camera: Option<Arc<dyn Camera>>,
    ) -> Self {
        let updates = gridpad_sync::runner::UpdateCheck::from_config(
            &config.update,
            env!("CARGO_PKG_VERSION"),
        );
        Services {
            clock: Arc::new(SystemClock),
            gnss: Arc::new(crate::gnss::NmeaGnss::start(gnss)),
            sync: Arc::new(crate::hubsync::HubSync::spawn(
                gridpad_sync::Config::default(),
                updates,
            )),
            camera,
        }
    }
}

#[cfg(test)]
mod download_tests {
    use super::SyncStatus;

    #[test]
    fn a_long_download_is_followed_across_exchanges_and_cleared_at_the_end() {
        let mut s = SyncStatus::default();
        s.track_download(1_000, 3_000);
        assert_eq!((s.downloaded, s.download_total), (1_000, 4_000));
        s.track_download(1_500, 1_500);
        assert_eq!((s.downloaded, s.download_total), (2_500, 4_000));
        s.track_download(1_500, 0);
        assert_eq!((s.downloaded, s.download_total), (0, 0));
        // A small sync afterwards shows no progress at all.
        s.track_download(3, 0);
        assert_eq!((s.downloaded, s.download_total), (0, 0));
    }
}

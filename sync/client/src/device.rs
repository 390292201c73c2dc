//! The device's side of enrollment and sync rounds over HTTP, shared by the `gridpad`
//! command line and the terminal app: where the hub address, the token and the time of the
//! last sync are kept in the store, and what the fleet's lock and wipe commands do.

use crate::driver::{exchange, DeviceCommand, Limits, Report, SyncError};
use crate::http::HttpTransport;
use gridpad_core::{keyring, Store};
use gridpad_proto::wire::EnrollResponse;

/// `kv` keys this module owns.
pub const HUB_URL: &str = "hub_url";
pub const HUB_USER: &str = "hub_user";
pub const HUB_TOKEN: &str = "hub_token";
pub const LAST_SYNC_AT: &str = "last_sync_at";

/// Enroll this device with a one-time code; on success the hub address, the user and the
/// home grid are kept in the store (nothing is written when the hub refuses).
pub fn enroll(
    store: &mut Store,
    hub: &str,
    code: &str,
    label: &str,
) -> Result<EnrollResponse, SyncError> {
    let key = store.device_keypair()?;
    let transport = HttpTransport::new(hub, store.device_id(), key)?;
    let resp = transport.enroll(code.trim(), label)?;
    store.set_kv(HUB_URL, hub)?;
    store.set_kv(HUB_USER, &resp.user)?;
    if let Some(home) = resp.grids.first() {
        store.set_kv("grid_id", home)?;
    }
    Ok(resp)
}

/// An authenticated conversation with the hub the store is enrolled with.
pub struct Session {
    transport: HttpTransport,
}

impl Session {
    /// `None` when the device is not enrolled (no hub address in the store).
    pub fn open(store: &mut Store) -> Result<Option<Session>, SyncError> {
        let Some(hub) = store.kv(HUB_URL)? else {
            return Ok(None);
        };
        let key = store.device_keypair()?;
        let transport =
            HttpTransport::new(&hub, store.device_id(), key)?.with_token(store.kv(HUB_TOKEN)?);
        Ok(Some(Session { transport }))
    }

    /// One exchange; keeps a renewed token and, on success, the time of the sync.
    pub fn exchange(&mut self, store: &mut Store, limits: Limits) -> Result<Report, SyncError> {
        let result = exchange(store, &mut self.transport, limits);
        if let Some(t) = self.transport.token() {
            if store.kv(HUB_TOKEN)?.as_deref() != Some(t) {
                store.set_kv(HUB_TOKEN, t)?;
            }
        }
        let report = result?;
        let now = store
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        store.set_kv(LAST_SYNC_AT, &now)?;
        Ok(report)
    }
}

/// Carry out a fleet command: lock marks the store locked (the apps stop at their login);
/// wipe destroys the data key (crypto-erase) and then every file of the data directory.
pub fn obey(store: &mut Store, cmd: DeviceCommand) -> Result<(), gridpad_core::Error> {
    match cmd {
        DeviceCommand::Lock => store.set_kv("locked", "1"),
        DeviceCommand::Wipe => {
            let dir = store.dir().to_path_buf();
            keyring::destroy(&dir)?;
            let io = |e| gridpad_core::Error::io(&dir, e);
            for entry in std::fs::read_dir(&dir).map_err(io)? {
                let path = entry.map_err(io)?.path();
                if path.is_dir() {
                    std::fs::remove_dir_all(&path).map_err(io)?;
                } else {
                    std::fs::remove_file(&path).map_err(io)?;
                }
            }
            Ok(())
        }
    }
}

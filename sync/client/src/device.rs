//! The device's side of enrollment and sync rounds over HTTP, shared by the `gridpad`
//! command line and the terminal app: where the hub address, the token and the time of the
//! last sync are kept in the store, and what the fleet's lock and wipe commands do.

use crate::driver::{exchange, DeviceCommand, Limits, Report, SyncError};
use crate::http::{HttpTransport, HubTls, TokenClient};
use gridpad_core::{keyring, Store};
use gridpad_proto::wire::EnrollResponse;

/// `kv` keys this module owns.
pub const HUB_URL: &str = "hub_url";
pub const HUB_USER: &str = "hub_user";
pub const HUB_TOKEN: &str = "hub_token";
/// PEM of the CA pinned for the hub at enrollment (absent: the system's roots).
pub const HUB_CA_PEM: &str = "hub_ca_pem";

/// Enroll this device with a one-time code; on success the hub address, the user and the
/// home grid are kept in the store (nothing is written when the hub refuses).
pub fn enroll(
    store: &mut Store,
    hub: &str,
    code: &str,
    label: &str,
) -> Result<EnrollResponse, SyncError> {
    enroll_with_ca(store, hub, code, label, None)
}

/// [`enroll`], trusting only `ca_pem` (a city's own CA) for this hub from now on.
pub fn enroll_with_ca(
    store: &mut Store,
    hub: &str,
    code: &str,
    label: &str,
    ca_pem: Option<&[u8]>,
) -> Result<EnrollResponse, SyncError> {
    let key = store.device_keypair()?;
    let tls = HubTls {
        ca_pem: ca_pem.map(<[u8]>::to_vec),
    };
    let transport = HttpTransport::with_tls(hub, store.device_id(), key, &tls)?;
    let resp = transport.enroll(code.trim(), label)?;
    match ca_pem {
        Some(pem) => store.set_kv(HUB_CA_PEM, &String::from_utf8_lossy(pem))?,
        None => store.delete_kv(HUB_CA_PEM)?,
    }
    store.record_hub_contact(None)?;
    store.set_kv(HUB_URL, hub)?;
    store.set_kv(HUB_USER, &resp.user)?;
    if let Some(home) = resp.grids.first() {
        store.set_kv("grid_id", home)?;
    }
    Ok(resp)
}

/// The TLS trust for the hub the store is enrolled with.
pub fn hub_tls(store: &Store) -> Result<HubTls, SyncError> {
    Ok(HubTls {
        ca_pem: store.kv(HUB_CA_PEM)?.map(String::into_bytes),
    })
}

/// An authenticated conversation with the hub the store is enrolled with.
pub struct Session {
    transport: HttpTransport,
    hub: String,
}

impl Session {
    /// `None` when the device is not enrolled (no hub address in the store).
    pub fn open(store: &mut Store) -> Result<Option<Session>, SyncError> {
        let Some(hub) = store.kv(HUB_URL)? else {
            return Ok(None);
        };
        let key = store.device_keypair()?;
        let transport = HttpTransport::with_tls(&hub, store.device_id(), key, &hub_tls(store)?)?
            .with_token(store.kv(HUB_TOKEN)?);
        Ok(Some(Session { transport, hub }))
    }

    /// The hub's base URL.
    pub fn hub(&self) -> &str {
        &self.hub
    }

    /// The session token, if logged in.
    pub fn token(&self) -> Option<&str> {
        self.transport.token()
    }

    /// A fresh token (signed challenge); [`Session::keep_token`] stores it.
    pub fn login(&mut self) -> Result<String, SyncError> {
        self.transport.login()?;
        Ok(self.transport.token().unwrap_or_default().to_string())
    }

    /// Keep a renewed token in the store, so the next run need not log in again.
    pub fn keep_token(&self, store: &mut Store) -> Result<(), SyncError> {
        if let Some(t) = self.transport.token() {
            if store.kv(HUB_TOKEN)?.as_deref() != Some(t) {
                store.set_kv(HUB_TOKEN, t)?;
            }
        }
        Ok(())
    }

    /// A client for the hub's other device routes (update offers and bundles) with a
    /// fresh token (kept in the store), the same TLS trust as the exchange.
    pub fn token_client(&mut self, store: &mut Store) -> Result<TokenClient, SyncError> {
        let token = self.login()?;
        self.keep_token(store)?;
        Ok(TokenClient::new(&self.hub, &hub_tls(store)?, &token)?)
    }

    /// One exchange; keeps a renewed token. The driver records the contact
    /// (`Store::record_hub_contact`): that is the "last sync" the screens show.
    pub fn exchange(&mut self, store: &mut Store, limits: Limits) -> Result<Report, SyncError> {
        let result = exchange(store, &mut self.transport, limits);
        self.keep_token(store)?;
        result
    }
}

/// Carry out a fleet command. Lock: nothing to do here — the exchange already recorded it
/// with the hub contact (`Store::record_hub_contact`), and the apps stop at their login.
/// Wipe: destroy the data key (crypto-erase), then every file of the data directory.
pub fn obey(store: &mut Store, cmd: DeviceCommand) -> Result<(), gridpad_core::Error> {
    match cmd {
        DeviceCommand::Lock => Ok(()),
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

//! The hub: its storage, its clock and its randomness. What it does lives in one module per
//! concern: [`crate::auth`] (enrollment, sessions, principals), [`crate::exchange`] (the
//! sync exchange: push verdicts, pulled pages), [`crate::merge`] (the one per-field merge),
//! [`crate::centre`] (the command centre's actions), [`crate::seals_and_photo_access`] (photos, seals).
//! Time is injected, so a simulation can run the hub deterministically in-process.

use gridhub_store::{with_tx, HubStore, HubTx, StoreError};
use gridpad_proto::{Hlc, HlcClock};
use ring::rand::{SecureRandom, SystemRandom};
use std::sync::{Arc, Mutex};

pub use crate::error::{HubError, HubResult};

/// Device clocks may run ahead of the hub's by at most this much (5 minutes).
pub const MAX_DRIFT_MS: u64 = 5 * 60 * 1000;
/// Suggested delay between periodic exchanges.
pub const SYNC_INTERVAL_MS: u64 = 5 * 60 * 1000;

type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

pub struct Hub {
    store: Arc<dyn HubStore>,
    now: Clock,
    hlc: Mutex<HlcClock>,
    /// Who this process is when it holds a job's lease (`service.rs`).
    lease_holder: String,
    /// Requests, mutations, sizes ([`crate::metrics`]).
    pub metrics: crate::metrics::Metrics,
    rng: SystemRandom,
    /// Where photos are kept ([`crate::blobstore`]); set by `gridhub` at start.
    pub(crate) blobs: std::sync::OnceLock<Arc<dyn crate::blobstore::BlobStore>>,
    /// The organisation tree as last read, and when (see `org.rs`).
    pub(crate) org_cache: Mutex<Option<(u64, Arc<crate::org::OrgTree>)>>,
}

impl Hub {
    pub fn new(store: Arc<dyn HubStore>, now: Clock) -> Hub {
        Hub::new_as(store, now, "hub")
    }

    /// A hub whose central edits carry the clock node `node` (`crate::service::node_id`).
    pub fn new_as(store: Arc<dyn HubStore>, now: Clock, node: &str) -> Hub {
        let rng = SystemRandom::new();
        let mut tag = [0u8; 4];
        rng.fill(&mut tag).expect("system randomness");
        Hub {
            store,
            now,
            hlc: Mutex::new(HlcClock::new(node, None)),
            lease_holder: format!("{node}:{}:{}", std::process::id(), hex::encode(tag)),
            metrics: crate::metrics::Metrics::new(),
            rng,
            blobs: std::sync::OnceLock::new(),
            org_cache: Mutex::new(None),
        }
    }

    /// A hub on the system clock.
    pub fn with_system_clock(store: Arc<dyn HubStore>) -> Hub {
        Hub::with_system_clock_as(store, "hub")
    }

    /// A hub on the system clock stamping with clock node `node`.
    pub fn with_system_clock_as(store: Arc<dyn HubStore>, node: &str) -> Hub {
        Hub::new_as(
            store,
            Arc::new(|| chrono::Utc::now().timestamp_millis().max(0) as u64),
            node,
        )
    }

    pub fn now_ms(&self) -> u64 {
        (self.now)()
    }

    pub fn store(&self) -> &dyn HubStore {
        &*self.store
    }

    /// The hub's next hybrid-clock timestamp, for a central write.
    pub(crate) fn tick(&self) -> Hlc {
        let now = self.now_ms();
        self.hlc_clock().tick(now)
    }

    pub(crate) fn hlc_clock(&self) -> std::sync::MutexGuard<'_, HlcClock> {
        self.hlc.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn lease_holder(&self) -> &str {
        &self.lease_holder
    }

    pub(crate) fn random(&self, n: usize) -> Vec<u8> {
        let mut b = vec![0u8; n];
        self.rng.fill(&mut b).expect("system randomness");
        b
    }
}

pub(crate) fn sha256_hex(b: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, b))
}

pub fn rfc3339_ms(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(crate) fn fields_of(v: serde_json::Value) -> gridpad_proto::Fields {
    v.as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// Run `f` in one transaction that commits only if `f` succeeds: a refusal part-way (a bad
/// record in an import, a state the action does not allow) leaves nothing written.
pub(crate) fn in_tx<T>(
    store: &dyn HubStore,
    mut f: impl FnMut(&mut dyn HubTx) -> HubResult<T>,
) -> HubResult<T> {
    let mut refusal: Option<HubError> = None;
    let r = with_tx(store, |tx| match f(tx) {
        Ok(v) => Ok(Some(v)),
        Err(HubError::Store(e)) => Err(e),
        Err(e) => {
            refusal = Some(e);
            Err(StoreError::Backend("refused; rolled back".into()))
        }
    });
    if let Some(e) = refusal {
        return Err(e);
    }
    match r {
        Ok(Some(v)) => Ok(v),
        Ok(None) => unreachable!("the closure returned a value"),
        Err(e) => Err(e.into()),
    }
}

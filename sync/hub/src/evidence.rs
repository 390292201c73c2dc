//! Photo evidence at the hub.
//!
//! - **Blobs**: photos arrive through `gridpad_evidence`'s resumable upload routes and are
//!   kept by an [`FsBlobStore`] under `<data dir>/evidence`. gridhub mounts those routes
//!   behind its device authentication (`http.rs`).
//! - **Who may read a photo**: a device may download a blob only when a record it may read
//!   (its own report, a task of its grid …) references the hash ([`Hub::may_read_blob`]);
//!   records reference photos through the `photo_ref` index kept with every write.
//! - **Completeness**: a report is complete when every photo it names is at the hub,
//!   verified against its SHA-256 ([`Hub::event_evidence`]).
//! - **Seals**: devices send their sealed records (`POST /v1/seals`); the hub checks each
//!   with the device's enrolled Ed25519 key through [`ChainVerifier`], keeps the verdict
//!   and the chain state, and shows the verdict on the record: gap, reorder, broken link,
//!   bad signature, altered, fork — or no seal at all.

use crate::hub::{Hub, HubError, HubResult};
use gridhub_store::*;
use gridpad_evidence::fs_store::FsBlobStore;
use gridpad_evidence::hub::{Authorizer, BlobStore};
use gridpad_evidence::seal::{ChainState, SealBody, Verdict};
pub use gridpad_evidence::seal::{SealVerdict, SealsRequest, SealsResponse, MAX_SEALS, SEALS_PATH};
use gridpad_evidence::ChainVerifier;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What the hub keeps of a device's chain between requests.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct DeviceChain {
    state: ChainState,
    /// The highest `last_seq` the device ever reported.
    claimed_last_seq: u64,
}

impl DeviceChain {
    fn received_through(&self) -> u64 {
        let mut s = 0;
        while self.state.links.contains_key(&(s + 1)) {
            s += 1;
        }
        s
    }

    fn missing(&self) -> Vec<u64> {
        let mut m = self.state.missing();
        m.extend(self.state.max_seq() + 1..=self.claimed_last_seq);
        m
    }
}

/// The photos (SHA-256) a stored record names.
fn photos_of(row: &Row) -> Vec<String> {
    row.fields
        .get(gridpad_domain::spec::PHOTOS)
        .and_then(gridpad_domain::spec::photo_list)
        .unwrap_or_default()
}

fn verdict_name(v: &Verdict) -> &'static str {
    match v {
        Verdict::Ok => "ok",
        Verdict::BadSignature => "bad_signature",
        Verdict::Altered { .. } => "altered",
        Verdict::Gap { .. } => "gap",
        Verdict::Reorder => "reorder",
        Verdict::BrokenLink { .. } => "broken_link",
        Verdict::Duplicate => "duplicate",
        Verdict::Fork => "fork",
    }
}

/// How a stored event differs from what its device sealed (`None`: it does not).
fn differs_from_seal(row: &Row, body: &SealBody) -> Option<String> {
    let photos = photos_of(row);
    if photos != body.photos {
        return Some("photos".into());
    }
    for key in [
        "grid_id",
        "category_code",
        "description",
        "address_text",
        "reporter",
    ] {
        let stored = row.fields.get(key).cloned().unwrap_or(Value::Null);
        let sealed = body.record.get(key).cloned().unwrap_or(Value::Null);
        if stored != sealed {
            return Some(key.into());
        }
    }
    None
}

impl Hub {
    /// Keep photos in `store` (gridhub: `<data dir>/evidence`). Set once, at start.
    pub fn attach_blobs(&self, store: Arc<FsBlobStore>) {
        let _ = self.blobs.set(store);
    }

    pub fn blobs(&self) -> Option<&Arc<FsBlobStore>> {
        self.blobs.get()
    }

    fn has_blob(&self, sha256: &str) -> bool {
        self.blobs
            .get()
            .is_some_and(|b| matches!(b.blob_len(sha256), Ok(Some(_))))
    }

    /// Whether `device` may download `sha256`: a record in one of its scopes references
    /// the hash. Knowing a hash is not enough.
    pub fn may_read_blob(&self, device: &str, sha256: &str) -> HubResult<bool> {
        Ok(with_tx(self.store(), |tx| {
            let Some(dev) = tx.device(device)? else {
                return Ok(false);
            };
            if dev.status != DeviceStatus::Active {
                return Ok(false);
            }
            let scopes = crate::scopes::scopes_of(&dev);
            for (entity, row_id) in tx.photo_refs(sha256)? {
                if let Some(row) = tx.row(entity, &row_id)? {
                    if !row.deleted && scopes.contains(&row.scope) {
                        return Ok(true);
                    }
                }
            }
            Ok(false)
        })?)
    }

    /// Whether `device` may upload (enrolled and active).
    pub fn may_upload_blob(&self, device: &str) -> HubResult<bool> {
        Ok(with_tx(self.store(), |tx| {
            Ok(tx
                .device(device)?
                .is_some_and(|d| d.status == DeviceStatus::Active))
        })?)
    }

    /// Verify and keep sealed records from `device`, in the order given.
    pub fn receive_seals(&self, device: &str, req: &SealsRequest) -> HubResult<SealsResponse> {
        if req.seals.len() > MAX_SEALS {
            return Err(HubError::BadRequest(format!(
                "at most {MAX_SEALS} seals per request"
            )));
        }
        let now = self.now_ms();
        let mut out = None;
        with_tx(self.store(), |tx| {
            let dev = tx
                .device(device)?
                .ok_or_else(|| StoreError::Backend("device vanished".into()))?;
            let mut chain: DeviceChain = match tx.chain_state(device)? {
                Some(s) => {
                    serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(e.to_string()))?
                }
                None => DeviceChain::default(),
            };
            let mut v = ChainVerifier::new(device, &dev.public_key, chain.state.clone());
            let mut verdicts = vec![];
            for rec in &req.seals {
                let verdict = v.check(rec);
                if verdict != Verdict::Duplicate {
                    tx.put_seal(&StoredSeal {
                        device_id: device.to_string(),
                        seq: rec.seq,
                        entity: rec.entity.clone(),
                        record_id: rec.record_id.clone(),
                        hash: rec.hash.clone(),
                        verdict: serde_json::to_string(&verdict).expect("verdict serialises"),
                        body: rec.body.clone(),
                        received_ms: now,
                    })?;
                }
                verdicts.push(SealVerdict {
                    seq: rec.seq,
                    record_id: rec.record_id.clone(),
                    verdict,
                });
            }
            chain.state = v.into_state();
            chain.claimed_last_seq = chain.claimed_last_seq.max(req.last_seq);
            tx.put_chain_state(device, &serde_json::to_string(&chain).expect("serialises"))?;
            out = Some(SealsResponse {
                verdicts,
                received_through: chain.received_through(),
                missing: chain.missing(),
            });
            Ok(())
        })?;
        Ok(out.expect("transaction ran"))
    }

    /// A device's chain as the hub sees it: newest seal received, newest the device said it
    /// holds, sequence numbers missing.
    pub fn chain_status(&self, device: &str) -> HubResult<ChainStatus> {
        let chain: DeviceChain = with_tx(self.store(), |tx| {
            Ok(match tx.chain_state(device)? {
                Some(s) => {
                    serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(e.to_string()))?
                }
                None => DeviceChain::default(),
            })
        })?;
        Ok(ChainStatus {
            head: chain.state.max_seq(),
            received_through: chain.received_through(),
            claimed_last_seq: chain.claimed_last_seq,
            missing: chain.missing(),
        })
    }

    /// The evidence of one event: its photos and how many are at the hub, whether it is
    /// complete, and what its seal says.
    pub fn event_evidence(&self, row: &Row) -> HubResult<EventEvidence> {
        let photos = photos_of(row);
        let received = photos.iter().filter(|h| self.has_blob(h)).count();
        let seals = with_tx(self.store(), |tx| tx.seals_of("event", &row.row_id))?;
        let device = row.origin.as_deref().unwrap_or_default();
        let mut flags: Vec<String> = vec![];
        let mut seal = Value::Null;
        for s in &seals {
            let verdict: Verdict = serde_json::from_str(&s.verdict)
                .map_err(|e| HubError::Store(StoreError::Corrupt(e.to_string())))?;
            let name = verdict_name(&verdict);
            if name != "ok" && !flags.iter().any(|f| f == name) {
                flags.push(name.to_string());
            }
            if s.device_id != device && !flags.iter().any(|f| f == "other_device") {
                flags.push("other_device".into());
            }
            if verdict.authentic() {
                if let Ok(body) = serde_json::from_str::<SealBody>(&s.body) {
                    if let Some(what) = differs_from_seal(row, &body) {
                        flags.push("altered".into());
                        seal = json!({"seq": s.seq, "hash": s.hash, "verdict": verdict,
                            "differs": what});
                        continue;
                    }
                }
            }
            if seal.is_null() || name == "ok" {
                seal = json!({"seq": s.seq, "hash": s.hash, "verdict": verdict});
            }
        }
        if seals.is_empty() {
            flags.push("unsealed".into());
        }
        flags.sort();
        flags.dedup();
        Ok(EventEvidence {
            photos_expected: photos.len(),
            photos_received: received,
            complete: received == photos.len(),
            photos,
            seal,
            sealed_ok: !seals.is_empty() && flags.is_empty(),
            seal_flags: flags,
        })
    }

    /// Events for the command centre, with their evidence and their device's chain.
    pub fn events_with_evidence(
        &self,
        who: &crate::authz::Principal,
        limit: usize,
    ) -> HubResult<Vec<EventView>> {
        let rows = self.events(who, limit)?;
        let mut chains: BTreeMap<String, ChainStatus> = BTreeMap::new();
        rows.iter()
            .map(|r| {
                let evidence = self.event_evidence(r)?;
                let device = r.origin.as_deref().unwrap_or_default();
                if !chains.contains_key(device) {
                    chains.insert(device.to_string(), self.chain_status(device)?);
                }
                Ok(EventView {
                    id: r.row_id.clone(),
                    scope: r.scope.to_string(),
                    device_scope: r.scope.to_string(),
                    fields: r.fields.clone(),
                    evidence,
                    device_chain: chains[device].clone(),
                })
            })
            .collect()
    }
}

/// A device's seal chain as the hub sees it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChainStatus {
    /// The newest sealed sequence number received.
    pub head: u64,
    /// Every seal up to here arrived.
    pub received_through: u64,
    /// The newest the device said it holds.
    pub claimed_last_seq: u64,
    pub missing: Vec<u64>,
}

/// What the hub holds of one report's evidence.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventEvidence {
    pub photos: Vec<String>,
    pub photos_expected: usize,
    pub photos_received: usize,
    pub complete: bool,
    /// The seal the verdict rests on (`seq`, `hash`, `verdict`, and `differs` when the
    /// stored record differs from what was sealed); null without one.
    pub seal: Value,
    /// ok → empty; otherwise gap, reorder, broken_link, bad_signature, altered, fork,
    /// other_device, unsealed.
    pub seal_flags: Vec<String>,
    pub sealed_ok: bool,
}

/// An event as the centre's list shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventView {
    pub id: String,
    pub scope: String,
    pub device_scope: String,
    pub fields: gridpad_proto::Fields,
    #[serde(flatten)]
    pub evidence: EventEvidence,
    pub device_chain: ChainStatus,
}

/// The blob routes' view of the hub's records.
pub struct HubAuthorizer(pub Arc<Hub>);

impl Authorizer for HubAuthorizer {
    fn may_upload(&self, device: &str) -> bool {
        self.0.may_upload_blob(device).unwrap_or(false)
    }

    fn may_read(&self, device: &str, sha256: &str) -> bool {
        self.0.may_read_blob(device, sha256).unwrap_or(false)
    }
}

/// Open the blob store under a hub data directory.
pub fn open_blobs(data_dir: &std::path::Path) -> std::io::Result<Arc<FsBlobStore>> {
    Ok(Arc::new(FsBlobStore::open(data_dir.join("evidence"))?))
}

//! Photo evidence at the hub.
//!
//! - **Blobs**: photos arrive through the resumable upload routes (`http/blobs.rs`) and are
//!   kept by a [`BlobStore`] (gridhub: an [`FsBlobStore`] under `<data dir>/evidence`).
//! - **Who may read a photo**: a device may download a blob only when a record it may read
//!   (its own report, a task of its grid …) references the hash ([`Hub::may_read_blob`]);
//!   records reference photos through the `photo_ref` index kept with every write.
//! - **Completeness**: a report is complete when every photo it names is at the hub,
//!   verified against its SHA-256 ([`Hub::event_evidence`]).
//! - **Seals**: devices send their sealed records (`POST /v1/seals`); the hub checks each
//!   with the device's enrolled Ed25519 key through [`ChainVerifier`], keeps the verdict
//!   and the chain state, and shows the verdict on the record: gap, reorder, broken link,
//!   bad signature, altered, fork — or no seal at all.

use crate::blobstore::{BlobStore, FsBlobStore};
use crate::hub::{Hub, HubError, HubResult};
use gridhub_store::*;
use gridpad_evidence::seal::{ChainState, ChainVerdict, SealBody};
pub use gridpad_evidence::seal::{
    SealVerdict, SealsRequest, SealsResponse, SeqRange, MAX_MISSING_LISTED, MAX_SEALS,
    MAX_SEAL_SEQ, SEALS_PATH,
};
use gridpad_evidence::ChainVerifier;
use gridpad_evidence::SealedRecord;
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
        // The end of the run of links from 1 (links are few; numbers may be huge).
        let mut s = 0;
        for &seq in self.state.links.keys() {
            if seq != s + 1 {
                break;
            }
            s = seq;
        }
        s
    }

    /// Holes, and the seals the device says it holds but has not sent, as ranges.
    fn missing(&self) -> Vec<SeqRange> {
        let mut m = self.state.missing();
        let head = self.state.max_seq();
        if self.claimed_last_seq > head {
            m.push(SeqRange {
                from: head + 1,
                to: self.claimed_last_seq,
            });
        }
        m
    }
}

/// What an answer lists of the missing ranges: the first [`MAX_MISSING_LISTED`] ranges,
/// the first [`MAX_MISSING_LISTED`] numbers, and how many are missing in all.
fn missing_listing(ranges: &[SeqRange]) -> (Vec<SeqRange>, Vec<u64>, u64) {
    let count = ranges.iter().fold(0u64, |n, r| n.saturating_add(r.len()));
    let numbers = ranges
        .iter()
        .flat_map(|r| (r.from..=r.to).take(MAX_MISSING_LISTED))
        .take(MAX_MISSING_LISTED)
        .collect();
    let listed = ranges.iter().take(MAX_MISSING_LISTED).copied().collect();
    (listed, numbers, count)
}

/// Most seals one device may send for one record (a report is sealed once; later steps
/// of the same record, a few times): a device cannot grow its chain without records.
pub const MAX_SEALS_PER_RECORD: usize = 8;
/// Longest sealed body the hub keeps.
pub const MAX_SEAL_BODY: usize = 64 * 1024;

/// Whether one sealed record's envelope is within the hub's bounds; why not.
fn out_of_bounds(rec: &SealedRecord) -> Option<String> {
    if rec.seq == 0 || rec.seq > MAX_SEAL_SEQ {
        return Some(format!("seq {} is not within 1..={MAX_SEAL_SEQ}", rec.seq));
    }
    if rec.body.len() > MAX_SEAL_BODY {
        return Some(format!(
            "seal {}: the body is over {MAX_SEAL_BODY} bytes",
            rec.seq
        ));
    }
    if rec.entity.parse::<gridpad_proto::Entity>().is_err() {
        return Some(format!("seal {}: no such entity", rec.seq));
    }
    let short = |s: &str| !s.is_empty() && s.len() <= 128;
    let hexish = |s: &str, max: usize| s.len() <= max;
    if !short(&rec.record_id)
        || !short(&rec.device)
        || !hexish(&rec.hash, 128)
        || !hexish(&rec.prev, 128)
        || !hexish(&rec.signature, 256)
    {
        return Some(format!(
            "seal {}: record id, device, hash, prev or signature too long",
            rec.seq
        ));
    }
    None
}

/// Who a record's photos come from: the device that made it; for a task made from a
/// report, the device that made the report; `None` for the centre's own records.
fn photo_owner(tx: &mut dyn HubTx, row: &Row) -> StoreResult<Option<String>> {
    if let Some(o) = &row.origin {
        return Ok(Some(o.clone()));
    }
    if row.entity == gridpad_proto::Entity::Task {
        if let Some(src) = row.fields.get("source_event_id").and_then(Value::as_str) {
            return Ok(match tx.row(gridpad_proto::Entity::Event, src)? {
                Some(ev) => Some(ev.origin.unwrap_or_default()),
                // The report is gone: nobody vouches for the photo.
                None => Some(String::new()),
            });
        }
    }
    Ok(None)
}

/// The photos (SHA-256) a stored record names.
fn photos_of(row: &Row) -> Vec<String> {
    row.fields
        .get(gridpad_domain::spec::PHOTOS)
        .and_then(gridpad_domain::spec::photo_list)
        .unwrap_or_default()
}

fn verdict_name(v: &ChainVerdict) -> &'static str {
    match v {
        ChainVerdict::Ok => "ok",
        ChainVerdict::BadSignature => "bad_signature",
        ChainVerdict::Altered { .. } => "altered",
        ChainVerdict::Gap { .. } => "gap",
        ChainVerdict::Reorder => "reorder",
        ChainVerdict::BrokenLink { .. } => "broken_link",
        ChainVerdict::Duplicate => "duplicate",
        ChainVerdict::Fork => "fork",
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
    pub fn attach_blobs(&self, store: Arc<dyn BlobStore>) {
        let _ = self.blobs.set(store);
    }

    pub fn blobs(&self) -> Option<&Arc<dyn BlobStore>> {
        self.blobs.get()
    }

    fn has_blob(&self, sha256: &str) -> bool {
        self.blobs
            .get()
            .is_some_and(|b| matches!(b.blob_len(sha256), Ok(Some(_))))
    }

    /// Whether `device` may download `sha256`: a record in one of its scopes references
    /// the hash *and really carries that photo from its owner* — the device that made the
    /// record (for a task, the device that made the report it handles) delivered those
    /// bytes. Knowing a hash is not enough, and naming it in a report of one's own is not
    /// either: a device in another grid that puts the hash of someone else's photo into its
    /// own report never uploaded it, so its report grants nothing.
    pub fn may_read_blob(&self, device: &str, sha256: &str) -> HubResult<bool> {
        let Some(blobs) = self.blobs.get() else {
            return Ok(false);
        };
        let tree = self.org()?;
        let owners: Vec<Option<String>> = with_tx(self.store(), |tx| {
            let Some(dev) = tx.device(device)? else {
                return Ok(vec![]);
            };
            if dev.status != DeviceStatus::Active {
                return Ok(vec![]);
            }
            let scopes = crate::scopes::scopes_of(&dev, &tree);
            let mut owners = vec![];
            for (entity, row_id) in tx.photo_refs(sha256)? {
                let Some(row) = tx.row(entity, &row_id)? else {
                    continue;
                };
                if row.deleted || !scopes.contains(&row.scope) {
                    continue;
                }
                owners.push(photo_owner(tx, &row)?);
            }
            Ok(owners)
        })?;
        for owner in owners {
            let carried = match owner {
                Some(o) => blobs.delivered(&o, sha256)?,
                // A record of the centre's own: the photo is the centre's.
                None => blobs.blob_len(sha256)?.is_some(),
            };
            if carried {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Verify and keep sealed records from `device`, in the order given.
    ///
    /// Every number and string is bounded first (a request outside the bounds is refused
    /// whole and changes nothing); then a seal naming a record that another device made is
    /// not kept (its verdict says why): a device seals only its own records, so it cannot
    /// taint another device's evidence. Gaps are kept and answered as ranges.
    pub fn receive_seals(&self, device: &str, req: &SealsRequest) -> HubResult<SealsResponse> {
        if req.seals.len() > MAX_SEALS {
            return Err(HubError::BadRequest(format!(
                "at most {MAX_SEALS} seals per request"
            )));
        }
        if req.last_seq > MAX_SEAL_SEQ {
            return Err(HubError::BadRequest(format!(
                "last_seq {} is beyond {MAX_SEAL_SEQ}",
                req.last_seq
            )));
        }
        if let Some(why) = req.seals.iter().find_map(out_of_bounds) {
            return Err(HubError::BadRequest(why));
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
                let refused = |reason: String| SealVerdict {
                    seq: rec.seq,
                    record_id: rec.record_id.clone(),
                    verdict: ChainVerdict::Altered { reason },
                };
                // Only the device that made a record may seal it.
                let entity: gridpad_proto::Entity =
                    rec.entity.parse().expect("entity checked above");
                if let Some(row) = tx.row(entity, &rec.record_id)? {
                    if row.origin.as_deref() != Some(device) {
                        verdicts.push(refused(
                            "not kept: the record was made by another device".into(),
                        ));
                        continue;
                    }
                }
                let earlier = tx
                    .seals_of(&rec.entity, &rec.record_id)?
                    .into_iter()
                    .filter(|s| s.device_id == device)
                    .count();
                if earlier >= MAX_SEALS_PER_RECORD && !chain.state.links.contains_key(&rec.seq) {
                    verdicts.push(refused(format!(
                        "not kept: a record has at most {MAX_SEALS_PER_RECORD} seals"
                    )));
                    continue;
                }
                let verdict = v.check(rec);
                if verdict != ChainVerdict::Duplicate {
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
            let (missing_ranges, missing, missing_count) = missing_listing(&chain.missing());
            out = Some(SealsResponse {
                verdicts,
                received_through: chain.received_through(),
                missing,
                missing_ranges,
                missing_count,
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
        let (missing, _, missing_count) = missing_listing(&chain.missing());
        Ok(ChainStatus {
            head: chain.state.max_seq(),
            received_through: chain.received_through(),
            claimed_last_seq: chain.claimed_last_seq,
            missing,
            missing_count,
        })
    }

    /// The evidence of one event: its photos and how many are at the hub, whether it is
    /// complete, and what its seal says.
    pub fn event_evidence(&self, row: &Row) -> HubResult<EventEvidence> {
        let photos = photos_of(row);
        let received = photos.iter().filter(|h| self.has_blob(h)).count();
        let device = row.origin.as_deref().unwrap_or_default();
        // Only the seals of the device that made the record speak for it: another device's
        // seal naming it (sent before the record arrived) neither confirms nor taints it.
        let seals: Vec<StoredSeal> = with_tx(self.store(), |tx| tx.seals_of("event", &row.row_id))?
            .into_iter()
            .filter(|s| s.device_id == device)
            .collect();
        let mut flags: Vec<String> = vec![];
        let mut seal = Value::Null;
        for s in &seals {
            let verdict: ChainVerdict = serde_json::from_str(&s.verdict)
                .map_err(|e| HubError::Store(StoreError::Corrupt(e.to_string())))?;
            let name = verdict_name(&verdict);
            if name != "ok" && !flags.iter().any(|f| f == name) {
                flags.push(name.to_string());
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
    /// The sequence numbers missing, as ranges (the first [`MAX_MISSING_LISTED`]).
    pub missing: Vec<SeqRange>,
    /// How many are missing in all.
    pub missing_count: u64,
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
    /// unsealed. Seals of other devices naming the record are not counted.
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

/// Open the blob store under a hub data directory.
pub fn open_blobs(data_dir: &std::path::Path) -> std::io::Result<Arc<FsBlobStore>> {
    Ok(Arc::new(FsBlobStore::open(data_dir.join("evidence"))?))
}

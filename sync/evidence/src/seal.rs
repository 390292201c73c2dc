//! Sealed records: tamper-evident evidence of what a device recorded, when and where.
//!
//! A device seals each report (and later verifications, handled tasks …) once, when it is
//! made. The seal's **body** is the record's canonical bytes ([`canonical_json`]): the
//! record's fields, the SHA-256 of each of its photos in order, its GNSS fix, its device and
//! GNSS-corrected times, the device id, the record's place in the device's chain (`seq`)
//! and the hash of the device's previous sealed record (`prev`). The body's SHA-256 is the
//! record's **hash**; the device signs `"gridpad-seal-v1\0" ‖ hash` with its Ed25519 key.
//!
//! Because each body names its predecessor's hash, the seals of one device form a hash
//! chain. [`ChainVerifier`] (used by gridhub, incrementally, with the state it keeps per
//! device) checks each arriving record and reports [`ChainVerdict`]s: a bad signature, an altered
//! body, a gap (records missing before it), a reorder (it arrived after a later one), a
//! broken link (its `prev` is not the hash of the record before it), a duplicate or a fork.

use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Domain separation for signatures: a seal signature can never be mistaken for (or
/// replayed as) a signature of anything else the device key signs.
pub const SIGNING_CONTEXT: &[u8] = b"gridpad-seal-v1\0";
/// `prev` of a device's first sealed record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Version of the body layout.
pub const SEAL_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("a photo reference is not a SHA-256 hex digest: {0:?}")]
    BadPhotoHash(String),
    #[error("the record is not a JSON object")]
    NotAnObject,
    #[error("the JSON contains a number that is not finite")]
    NonFinite,
    #[error("the previous seal is not a SHA-256 hex digest")]
    BadPrev,
    #[error("the sealed body is not valid: {0}")]
    BadBody(String),
}

/// What a device seals: one record with its evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SealInput {
    /// `event`, `task`, `visit` … (the outbox entity).
    pub entity: String,
    pub record_id: String,
    /// The record's fields as the device stored them (a JSON object). Photo hashes,
    /// position and times are given separately below and need not be repeated here.
    pub record: Value,
    /// SHA-256 (lower-case hex) of every photo of the record, in the record's order.
    pub photos: Vec<String>,
    /// The GNSS fix (the store's `Position` JSON), if any.
    pub position: Option<Value>,
    /// The device clock when the record was made (RFC 3339, UTC).
    pub device_time: String,
    /// GNSS-corrected time (RFC 3339, UTC), when the clock offset was known.
    pub corrected_time: Option<String>,
}

/// The parsed body of a seal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SealBody {
    pub v: u32,
    pub device: String,
    pub seq: u64,
    pub prev: String,
    pub entity: String,
    pub record_id: String,
    pub record: Value,
    pub photos: Vec<String>,
    pub position: Option<Value>,
    pub device_time: String,
    pub corrected_time: Option<String>,
    /// Device clock when the seal was made (RFC 3339, UTC).
    pub sealed_at: String,
}

/// A sealed record as it is stored on the device (table `seal`) and travels to the hub.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedRecord {
    pub device: String,
    pub seq: u64,
    pub entity: String,
    pub record_id: String,
    /// Hash of the device's previous sealed record ([`GENESIS`] for the first).
    pub prev: String,
    /// SHA-256 of `body`, lower-case hex.
    pub hash: String,
    /// Ed25519 signature over [`SIGNING_CONTEXT`] ‖ hash (32 raw bytes), lower-case hex.
    pub signature: String,
    /// The canonical bytes that were hashed (UTF-8 JSON, see [`canonical_json`]).
    pub body: String,
}

impl SealedRecord {
    pub fn parse_body(&self) -> Result<SealBody, SealError> {
        serde_json::from_str(&self.body).map_err(|e| SealError::BadBody(e.to_string()))
    }
}

pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

/// Canonical JSON: objects with keys sorted by their UTF-8 bytes, no insignificant
/// whitespace, strings escaped as serde_json escapes them (only `"`, `\` and control
/// characters; everything else verbatim UTF-8), integers as integers, other numbers in
/// their shortest round-trip form; non-finite numbers are refused. The same value always
/// gives the same bytes, whatever the map order of the serde_json build.
pub fn canonical_json(v: &Value) -> Result<String, SealError> {
    let mut out = String::new();
    write_canonical(v, &mut out)?;
    Ok(out)
}

fn write_canonical(v: &Value, out: &mut String) -> Result<(), SealError> {
    match v {
        Value::Null | Value::Bool(_) | Value::String(_) => out.push_str(&v.to_string()),
        Value::Number(n) => {
            if let Some(f) = n.as_f64() {
                if !f.is_finite() {
                    return Err(SealError::NonFinite);
                }
            }
            out.push_str(&n.to_string())
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let sorted: BTreeMap<&str, &Value> = map.iter().map(|(k, v)| (k.as_str(), v)).collect();
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.to_string()).to_string());
                out.push(':');
                write_canonical(v, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn message(hash: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNING_CONTEXT.len() + hash.len());
    m.extend_from_slice(SIGNING_CONTEXT);
    m.extend_from_slice(hash);
    m
}

/// Seal `input` as record `prev_seq + 1` of `device`'s chain, after the record whose hash
/// is `prev_hash` (`None` = the device's first record).
pub fn seal(
    key: &Ed25519KeyPair,
    device: &str,
    prev: Option<(u64, &str)>,
    input: &SealInput,
    sealed_at: &str,
) -> Result<SealedRecord, SealError> {
    if !input.record.is_object() {
        return Err(SealError::NotAnObject);
    }
    if let Some(bad) = input.photos.iter().find(|h| !is_sha256_hex(h)) {
        return Err(SealError::BadPhotoHash(bad.clone()));
    }
    let (seq, prev) = match prev {
        None => (1, GENESIS.to_string()),
        Some((s, h)) if is_sha256_hex(h) => (s + 1, h.to_string()),
        Some(_) => return Err(SealError::BadPrev),
    };
    let body = SealBody {
        v: SEAL_VERSION,
        device: device.to_string(),
        seq,
        prev: prev.clone(),
        entity: input.entity.clone(),
        record_id: input.record_id.clone(),
        record: input.record.clone(),
        photos: input.photos.clone(),
        position: input.position.clone(),
        device_time: input.device_time.clone(),
        corrected_time: input.corrected_time.clone(),
        sealed_at: sealed_at.to_string(),
    };
    let value = serde_json::to_value(&body).map_err(|e| SealError::BadBody(e.to_string()))?;
    let body = canonical_json(&value)?;
    let digest = ring::digest::digest(&ring::digest::SHA256, body.as_bytes());
    let signature = key.sign(&message(digest.as_ref()));
    Ok(SealedRecord {
        device: device.to_string(),
        seq,
        entity: input.entity.clone(),
        record_id: input.record_id.clone(),
        prev,
        hash: hex::encode(digest.as_ref()),
        signature: hex::encode(signature.as_ref()),
        body,
    })
}

/// The raw 32-byte Ed25519 public key of a key pair (what the hub keeps per device).
pub fn public_key(key: &Ed25519KeyPair) -> Vec<u8> {
    key.public_key().as_ref().to_vec()
}

/// What the verifier says of one record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum ChainVerdict {
    /// Signature, body and link all check out.
    Ok,
    /// The signature does not verify with the device's key (forged, or the hash changed).
    BadSignature,
    /// The body does not hash to the signed hash, or the envelope (seq, prev, entity,
    /// record, device) disagrees with the signed body.
    Altered { reason: String },
    /// Valid, but records `from..=to` before it are missing (removed, or not yet arrived).
    Gap { from: u64, to: u64 },
    /// Valid, but it arrived after a record with a higher sequence number (it fills an
    /// earlier gap).
    Reorder,
    /// Valid signature, but `prev` is not the hash of the device's record `seq - 1`.
    BrokenLink { expected: String, found: String },
    /// The very same record again.
    Duplicate,
    /// Another, validly signed record with a sequence number already used: the device's
    /// chain forked (restored backup, cloned device, replayed key).
    Fork,
}

impl ChainVerdict {
    /// Whether the record itself is authentic (signed by the device, body intact). Gaps
    /// and reorders are about the chain around it, not about this record.
    pub fn authentic(&self) -> bool {
        !matches!(
            self,
            ChainVerdict::BadSignature | ChainVerdict::Altered { .. }
        )
    }
}

/// One authentic record the verifier has seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub hash: String,
    pub prev: String,
}

/// Verification state of one device's chain, as the hub persists it between requests
/// (or rebuilds it from the seals it stores: sequence number, hash and prev of each).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainState {
    pub links: BTreeMap<u64, Link>,
}

impl ChainState {
    /// Highest sequence number seen.
    pub fn max_seq(&self) -> u64 {
        self.links.keys().next_back().copied().unwrap_or(0)
    }

    /// The holes below the highest sequence number seen, as ranges: work and size follow
    /// the records held, never the numbers a device chose (a seal numbered 2⁵³ is one
    /// range, not 2⁵³ entries).
    pub fn missing(&self) -> Vec<SeqRange> {
        let mut out = vec![];
        let mut next = 1u64;
        for &seq in self.links.keys() {
            if seq > next {
                out.push(SeqRange {
                    from: next,
                    to: seq - 1,
                });
            }
            next = seq.saturating_add(1);
        }
        out
    }

    /// The first sequence number of the hole that ends just before `seq` (`seq` itself
    /// when nothing is missing before it).
    fn hole_start_before(&self, seq: u64) -> u64 {
        self.links
            .range(..seq)
            .next_back()
            .map(|(s, _)| s + 1)
            .unwrap_or(1)
    }
}

/// Sequence numbers `from..=to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeqRange {
    pub from: u64,
    pub to: u64,
}

impl SeqRange {
    /// How many sequence numbers it holds.
    pub fn len(&self) -> u64 {
        self.to.saturating_sub(self.from).saturating_add(1)
    }

    pub fn is_empty(&self) -> bool {
        self.to < self.from
    }
}

/// The largest sequence number a seal (or a device's claim of its newest seal) may carry:
/// 2⁵³ − 1, exact in every JSON reader and far above any device's lifetime of records.
pub const MAX_SEAL_SEQ: u64 = (1 << 53) - 1;

/// Verifies the sealed records of one device as they arrive, in any order.
pub struct ChainVerifier {
    device: String,
    key: UnparsedPublicKey<Vec<u8>>,
    state: ChainState,
}

impl ChainVerifier {
    /// `public_key`: the device's raw 32-byte Ed25519 public key, registered at enrolment.
    pub fn new(device: &str, public_key: &[u8], state: ChainState) -> Self {
        ChainVerifier {
            device: device.to_string(),
            key: UnparsedPublicKey::new(&ED25519, public_key.to_vec()),
            state,
        }
    }

    pub fn state(&self) -> &ChainState {
        &self.state
    }

    pub fn into_state(self) -> ChainState {
        self.state
    }

    /// Check one record and, when it is authentic, remember it.
    pub fn check(&mut self, rec: &SealedRecord) -> ChainVerdict {
        let digest = ring::digest::digest(&ring::digest::SHA256, rec.body.as_bytes());
        let signed = hex::decode(&rec.hash).unwrap_or_default();
        let signature = hex::decode(&rec.signature).unwrap_or_default();
        // The signature covers the claimed hash; the body must hash to it.
        if self.key.verify(&message(&signed), &signature).is_err() {
            return ChainVerdict::BadSignature;
        }
        if digest.as_ref() != signed.as_slice() {
            return ChainVerdict::Altered {
                reason: "the body does not hash to the signed hash".into(),
            };
        }
        let body = match rec.parse_body() {
            Ok(b) => b,
            Err(e) => {
                return ChainVerdict::Altered {
                    reason: e.to_string(),
                }
            }
        };
        let mismatch = if body.device != self.device || rec.device != self.device {
            Some("device")
        } else if body.seq != rec.seq || body.seq == 0 || body.seq > MAX_SEAL_SEQ {
            Some("seq")
        } else if body.prev != rec.prev {
            Some("prev")
        } else if body.entity != rec.entity || body.record_id != rec.record_id {
            Some("record")
        } else {
            None
        };
        if let Some(what) = mismatch {
            return ChainVerdict::Altered {
                reason: format!("the envelope's {what} disagrees with the signed body"),
            };
        }
        let seq = body.seq;
        if let Some(known) = self.state.links.get(&seq) {
            return if known.hash == rec.hash {
                ChainVerdict::Duplicate
            } else {
                ChainVerdict::Fork
            };
        }
        let max = self.state.max_seq();
        let expected_prev = if seq == 1 {
            Some(GENESIS.to_string())
        } else {
            self.state.links.get(&(seq - 1)).map(|l| l.hash.clone())
        };
        // A successor that arrived first must point at this record.
        let successor_prev = self.state.links.get(&(seq + 1)).map(|l| l.prev.clone());
        self.state.links.insert(
            seq,
            Link {
                hash: rec.hash.clone(),
                prev: body.prev.clone(),
            },
        );
        if let Some(exp) = &expected_prev {
            if *exp != body.prev {
                return ChainVerdict::BrokenLink {
                    expected: exp.clone(),
                    found: body.prev,
                };
            }
        }
        if let Some(next_prev) = successor_prev {
            if next_prev != rec.hash {
                return ChainVerdict::BrokenLink {
                    expected: next_prev,
                    found: rec.hash.clone(),
                };
            }
        }
        match expected_prev {
            _ if seq < max => ChainVerdict::Reorder,
            Some(_) => ChainVerdict::Ok,
            None => ChainVerdict::Gap {
                from: self.state.hole_start_before(seq),
                to: seq - 1,
            },
        }
    }
}

/// Verify a sequence of one device's sealed records in the order given; one verdict per
/// record, and the sequence numbers still missing at the end.
pub fn verify_chain(
    device: &str,
    public_key: &[u8],
    records: &[SealedRecord],
) -> (Vec<ChainVerdict>, Vec<SeqRange>) {
    let mut v = ChainVerifier::new(device, public_key, ChainState::default());
    let verdicts = records.iter().map(|r| v.check(r)).collect();
    (verdicts, v.state().missing())
}

/// Path where a device sends its sealed records to the hub.
pub const SEALS_PATH: &str = "/v1/seals";
/// Most seals in one request.
pub const MAX_SEALS: usize = 500;

/// `POST /v1/seals` (JSON): the device's sealed records after the last one the hub
/// acknowledged, and the sequence number of the newest seal the device holds (so the hub
/// can tell records held back from records not yet made).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SealsRequest {
    /// The newest seal of the device's chain (0: none yet).
    pub last_seq: u64,
    #[serde(default)]
    pub seals: Vec<SealedRecord>,
}

/// The hub's verdict on one arriving seal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealVerdict {
    pub seq: u64,
    pub record_id: String,
    pub verdict: ChainVerdict,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SealsResponse {
    pub verdicts: Vec<SealVerdict>,
    /// Every seal `1..=received_through` is at the hub: the device sends from the next.
    pub received_through: u64,
    /// Sequence numbers the hub has not received (holes, and seals the device says it
    /// holds but has not sent), at most [`MAX_MISSING_LISTED`] of them: the first ones.
    /// `missing_ranges` says the whole.
    pub missing: Vec<u64>,
    /// The same as ranges, at most [`MAX_MISSING_LISTED`] ranges (the first ones).
    #[serde(default)]
    pub missing_ranges: Vec<SeqRange>,
    /// How many sequence numbers are missing in all.
    #[serde(default)]
    pub missing_count: u64,
}

/// Most entries of a missing list in an answer.
pub const MAX_MISSING_LISTED: usize = 100;

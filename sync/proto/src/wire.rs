//! Versioned wire types of the device ↔ hub protocol, and their encoding: CBOR, compressed
//! with zstd. One `POST /v1/sync` exchange carries both directions: the device's pending
//! mutations up, pages of the hub's change log (per scope) down.

use crate::{Entity, Fields, Hlc, Mutation};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// Protocol version. The hub serves N and N−1.
pub const PROTOCOL: u32 = 1;
/// Media type of request and response bodies.
pub const CONTENT_TYPE: &str = "application/vnd.gridpad.v1+cbor";
/// Largest body either side accepts after decompression (64 MiB).
pub const MAX_BODY: usize = 64 << 20;

// ---- enrollment and authentication -------------------------------------------------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnrollRequest {
    pub code: String,
    pub device_id: String,
    /// Ed25519 public key, 32 bytes.
    #[serde(with = "serde_bytes_compat")]
    pub public_key: Vec<u8>,
    pub app_version: String,
    pub label: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub device_id: String,
    pub user: String,
    /// Grids this device works in; the first is its home grid.
    pub grids: Vec<String>,
    pub server_time_ms: u64,
    pub max_drift_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChallengeRequest {
    pub device_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChallengeResponse {
    #[serde(with = "serde_bytes_compat")]
    pub nonce: Vec<u8>,
    pub expires_ms: u64,
}

/// The device proves possession of its key by signing [`auth_message`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenRequest {
    pub device_id: String,
    #[serde(with = "serde_bytes_compat")]
    pub nonce: Vec<u8>,
    #[serde(with = "serde_bytes_compat")]
    pub signature: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub token: String,
    pub expires_ms: u64,
}

/// The bytes a device signs to obtain a token.
pub fn auth_message(device_id: &str, nonce: &[u8]) -> Vec<u8> {
    let mut m = b"gridpad-auth-v1\0".to_vec();
    m.extend_from_slice(device_id.as_bytes());
    m.push(0);
    m.extend_from_slice(nonce);
    m
}

// ---- the exchange ------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    pub scope: String,
    pub after_op: u64,
}

/// Piggy-backed on every exchange, so the hub can list stuck devices.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub queue_len: u64,
    pub oldest_pending_s: u64,
    pub dead_letters: u64,
    pub db_bytes: u64,
    pub clock_offset_ms: i64,
    pub last_error: Option<String>,
    /// Pulled records the device could not apply and set aside (the centre should look).
    #[serde(default)]
    pub quarantined: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncRequest {
    pub protocol: u32,
    pub app_version: String,
    pub device_time_ms: u64,
    /// Pending mutations, in sequence order, contiguous from the oldest unacknowledged.
    pub push: Vec<Mutation>,
    pub cursors: Vec<Cursor>,
    /// Upper bound on the pulled pages' size in bytes (before compression).
    pub max_bytes: u32,
    pub health: Health,
    /// After a 409 with `restored` (the hub was restored from a backup and expects an older
    /// sequence number): the device no longer holds its mutations below this one and asks
    /// the hub to take its pushes from here. The hub records the skipped numbers as lost
    /// (audit log, device health). Ignored unless it is beyond what the hub expects and
    /// the push starts with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_from: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Applied as sent.
    Applied,
    /// Applied, but some fields lost to newer central edits (see `conflicts`).
    Merged,
    /// Seen before (a re-sent batch): acknowledged, not applied again.
    Duplicate,
    /// Refused for good; the device moves it to its dead-letter list.
    Rejected,
}

/// "Your change to `field` was superseded by …" — or replaced a central change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    pub field: String,
    /// True when the device's value lost.
    pub device_lost: bool,
    pub other_value: serde_json::Value,
    pub other_hlc: Hlc,
    pub other_by: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub seq: u64,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The timestamp the hub recorded (device clocks running ahead are clamped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hlc: Option<Hlc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
    /// The hub's current values of the fields a base-data mutation touched: the device
    /// takes them once the verdict arrives (whatever it skipped while the edit was pending).
    #[serde(default, skip_serializing_if = "Fields::is_empty")]
    pub canonical: Fields,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum OpKind {
    /// Set these fields (create the row if missing).
    Put,
    /// The row is gone.
    Remove,
    /// A command with its arguments (event lifecycle transitions).
    Command(String),
}

/// One entry of a scope's change log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogOp {
    pub op_id: u64,
    pub entity: Entity,
    pub row_id: String,
    pub kind: OpKind,
    #[serde(default, skip_serializing_if = "Fields::is_empty")]
    pub fields: Fields,
    pub hlc: Hlc,
    /// 32-bit content hash; a scope's checksum is the wrapping sum of its ops' hashes.
    pub hash: u32,
}

impl LogOp {
    /// The content hash of an op (independent of its position in the log).
    pub fn content_hash(
        scope: &str,
        entity: Entity,
        row_id: &str,
        kind: &OpKind,
        fields: &Fields,
        hlc: &Hlc,
    ) -> u32 {
        // FNV-1a over a canonical text: fast, stable across platforms and languages.
        let text = serde_json::to_string(&(scope, entity, row_id, kind, fields, hlc))
            .expect("op serialises");
        let mut h: u32 = 0x811c_9dc5;
        for b in text.bytes() {
            h ^= b as u32;
            h = h.wrapping_mul(0x0100_0193);
        }
        h
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub scope: String,
    pub ops: Vec<LogOp>,
    /// The cursor after this page.
    pub next_after_op: u64,
    /// Checksum and count of the scope's log up to `next_after_op`.
    pub checksum: u32,
    pub count: u64,
    /// No more ops in this scope right now.
    pub complete: bool,
    /// How many ops of this scope come after this page (0 when complete): lets the device
    /// show progress during a long first download. Absent from older hubs.
    #[serde(default)]
    pub remaining: u64,
}

/// What the fleet asks of a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceCommand {
    Lock,
    Wipe,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncResponse {
    pub protocol: u32,
    /// Every mutation with seq ≤ this is durably recorded at the hub.
    pub acked_through: u64,
    pub verdicts: Vec<Verdict>,
    pub pages: Vec<Page>,
    /// The scopes this device may read now (scopes it held and that are gone: drop them).
    pub scopes: Vec<String>,
    /// More to pull: exchange again right away.
    pub more: bool,
    pub server_time_ms: u64,
    /// Suggested delay before the next periodic exchange.
    pub next_sync_in_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<DeviceCommand>,
}

/// The hub wants the device to resend from `expected_seq` (a gap in the sequence).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeqGap {
    pub expected_seq: u64,
    /// The device is *ahead* of the hub: it offered `offered_seq`, beyond `expected_seq`,
    /// so the hub has forgotten mutations it once acknowledged — it was restored from a
    /// backup. The device resends from `expected_seq` what it still holds, or, when it no
    /// longer holds those, sends [`SyncRequest::resume_from`] (the centre is told which
    /// sequence numbers were lost). False for a device that is behind (its storage went
    /// back): it numbers its mutations anew from `expected_seq`.
    #[serde(default)]
    pub restored: bool,
    /// The first sequence number the device offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered_seq: Option<u64>,
}

/// The largest sequence number the hub takes (2⁵³ − 1: exact in every JSON reader).
pub const MAX_SEQ: u64 = (1 << 53) - 1;

/// A refusal with a reason, as a problem body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProblemDetails {
    pub status: u16,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

// ---- encoding ----------------------------------------------------------------------

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("body is not valid compressed CBOR: {0}")]
    Decode(String),
    #[error("body larger than {MAX_BODY} bytes")]
    TooLarge,
}

/// CBOR, then zstd (level 3).
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut cbor = Vec::new();
    ciborium::into_writer(value, &mut cbor).expect("CBOR serialisation to memory");
    zstd::bulk::compress(&cbor, 3).expect("zstd compression to memory")
}

/// The inverse of [`encode`], refusing bodies that inflate past [`MAX_BODY`].
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let mut out = Vec::new();
    let mut dec =
        zstd::stream::read::Decoder::new(bytes).map_err(|e| CodecError::Decode(e.to_string()))?;
    let n = std::io::copy(
        &mut std::io::Read::take(&mut dec, MAX_BODY as u64 + 1),
        &mut out,
    )
    .map_err(|e| CodecError::Decode(e.to_string()))?;
    if n as usize > MAX_BODY {
        return Err(CodecError::TooLarge);
    }
    ciborium::from_reader(out.as_slice()).map_err(|e| CodecError::Decode(e.to_string()))
}

/// Serde helper: byte vectors as CBOR byte strings (not arrays of integers).
mod serde_bytes_compat {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(out)
            }
        }
        d.deserialize_bytes(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Op;

    #[test]
    fn requests_round_trip_through_the_codec() {
        let req = SyncRequest {
            protocol: PROTOCOL,
            app_version: "0.1.0".into(),
            device_time_ms: 1,
            push: vec![Mutation {
                seq: 1,
                mutation_id: "m".into(),
                hlc: Hlc::new(5, 0, "d"),
                entity: Entity::Event,
                row_id: "e1".into(),
                op: Op::Insert,
                fields: [("description".to_string(), serde_json::json!("楼道堆物"))].into(),
            }],
            cursors: vec![Cursor {
                scope: "grid:g1".into(),
                after_op: 7,
            }],
            max_bytes: 65_536,
            health: Health::default(),
            resume_from: None,
        };
        let bytes = encode(&req);
        assert_eq!(decode::<SyncRequest>(&bytes).unwrap(), req);
        let enroll = EnrollRequest {
            code: "c".into(),
            device_id: "d".into(),
            public_key: vec![7; 32],
            app_version: "v".into(),
            label: "l".into(),
        };
        assert_eq!(decode::<EnrollRequest>(&encode(&enroll)).unwrap(), enroll);
    }

    #[test]
    fn garbage_and_bombs_are_refused() {
        assert!(decode::<SyncRequest>(b"not zstd").is_err());
        let bomb = zstd::bulk::compress(&vec![0u8; MAX_BODY + 10], 19).unwrap();
        assert!(matches!(
            decode::<SyncRequest>(&bomb),
            Err(CodecError::TooLarge)
        ));
    }

    #[test]
    fn op_hash_depends_on_content_only() {
        let f: Fields = [("name".to_string(), serde_json::json!("张喆"))].into();
        let h = Hlc::new(1, 0, "hub");
        let a = LogOp::content_hash("grid:g", Entity::Person, "p1", &OpKind::Put, &f, &h);
        let b = LogOp::content_hash("grid:g", Entity::Person, "p1", &OpKind::Put, &f, &h);
        let c = LogOp::content_hash("grid:g", Entity::Person, "p2", &OpKind::Put, &f, &h);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}

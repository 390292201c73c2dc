//! Gridpad evidence, what the device and the hub share (no database, no HTTP server, no
//! async runtime — the handheld links this crate):
//!
//! - [`seal`]: a record's canonical bytes, the per-device hash chain, Ed25519 signatures
//!   (ring) and the chain verifier gridhub runs on arriving records;
//! - [`blob`]: the resumable photo upload / ranged download protocol (paths, headers,
//!   bodies, `Range` parsing). Its server is gridhub's (`sync/hub/src/http/blobs.rs`).

pub mod blob;
pub mod seal;

pub use seal::{
    seal, verify_chain, ChainState, ChainVerdict, ChainVerifier, SealInput, SealedRecord, SeqRange,
};

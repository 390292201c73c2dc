//! Gridpad evidence, shared by the device and the hub (no database dependency):
//!
//! - [`seal`]: a record's canonical bytes, the per-device hash chain, Ed25519 signatures
//!   (ring) and the chain verifier gridhub runs on arriving records;
//! - [`blob`]: the resumable photo upload / ranged download protocol (paths, headers,
//!   bodies);
//! - [`hub`]: its hub side, an axum router generic over a [`hub::BlobStore`] and an
//!   [`hub::Authorizer`]; [`fs_store::FsBlobStore`] keeps blobs on the file system.

pub mod blob;
pub mod fs_store;
pub mod hub;
pub mod seal;

pub use hub::{router, AuthedDevice, Authorizer, BlobStore};
pub use seal::{seal, verify_chain, ChainState, ChainVerifier, SealInput, SealedRecord, Verdict};

//! Gridpad's hostile test suite: what a field device's holder, a broken or rolled-back
//! device, or a power cut can do to a real `gridhub` process on loopback, and what the
//! hub must answer. The client here is crafted from the wire format's definition
//! (`gridpad_proto::wire`: CBOR then zstd), not the project's sync client, so it sends
//! whatever an attacker would: other ids, other grids, broken bodies, huge numbers.
//!
//! - [`process`] (the test kit's): the `gridhub serve` process (crash points, restarts)
//!   and `gridhub admin`;
//! - [`wire`]: the crafted device client and the checks of an answer (a refusal is a 4xx
//!   with a problem document that says why, or a rejected verdict with a reason);
//! - [`honest`]: the honest device — the real device store — that must keep syncing its
//!   grid completely after every hostile case;
//! - [`photo`]: photos by hand (a report naming them, an upload, a download);
//! - [`state`]: the hub's state read through its storage contract, to show a refusal
//!   changed nothing;
//! - [`town`]: the arena, a hub seeded with the demo town's two grids.
//!
//! The cases are in `tests/`: privilege, rights, bad_input, exhaustion, seal_and_photo_abuse,
//! restore, crash.

pub mod honest;
pub mod photo;
pub mod state;
pub mod town;
pub mod wire;

pub use gridpad_testkit::process;
pub use gridpad_testkit::process::HubProcess;
pub use honest::Honest;
pub use state::Snapshot;
pub use town::Town;
pub use wire::{assert_applied, assert_rejected, fields, Answer, Device, Http};

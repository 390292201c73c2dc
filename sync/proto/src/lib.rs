//! The contract between a Gridpad device and `gridhub`.
//!
//! This crate holds no I/O. It defines:
//! - [`Hlc`], the hybrid logical clock every local change is stamped with, so that
//!   field-level last-writer-wins orders edits by when they were made (not when they
//!   arrived), while a device with a wrong clock still orders its own writes;
//! - [`Mutation`], one local change as it sits in the device's outbox and travels to the
//!   hub: dense per-device sequence number, UUIDv7 mutation id, HLC, entity, row id,
//!   operation and the changed fields.

pub mod hlc;
pub mod mutation;
pub mod wire;

pub use hlc::{Hlc, HlcClock, HlcParseError};
pub use mutation::{Entity, Fields, Mutation, Op, RemoteChange, UnknownEntity};

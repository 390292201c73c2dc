//! The `gridctl` commands, one module each.

pub mod bundle;
pub mod keygen;
pub mod provision;

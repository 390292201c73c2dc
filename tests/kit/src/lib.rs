//! Gridpad's test kit: set-up that test crates share, written once.
//!
//! - [`pg`]: a throw-away PostgreSQL cluster (Debian's packages), one per test process,
//!   with a fresh database per test.

pub mod pg;

//! Gridpad's test kit: set-up that test crates share, written once. Fixtures only: nothing
//! here asserts how Gridpad behaves (a helper panics only when its set-up fails).
//!
//! - [`store`] (feature `store`): the test PIN, a device store on a fast key derivation,
//!   the demo town loaded into it, a report;
//! - [`process`]: the workspace's binaries, `gridhub serve` on loopback (start, stop,
//!   restart, crash, its port), `gridhub admin …`, the demo town seeded into a hub, a
//!   device enrolled through the `gridpad` command line;
//! - [`loopback`] (feature `hub`): gridhub inside the test's process, its router on a
//!   loopback port, the demo town seeded; a device store enrolled at it;
//! - [`proxy`]: a TCP proxy standing for a bad link (cuts, delays, no signal);
//! - [`pg`]: a throw-away PostgreSQL cluster (Debian's packages), one per test process,
//!   with a fresh database per test.

#[cfg(feature = "hub")]
pub mod loopback;
pub mod pg;
pub mod process;
pub mod proxy;
#[cfg(feature = "store")]
pub mod store;

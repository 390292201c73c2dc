//! Gridpad's device sync.
//!
//! - [`runner`]: THE sync runner, called by `gridpad sync` and the app's sync thread: a
//!   round is exchanges until the hub has nothing more, then seals and photos, then any
//!   fleet command; progress goes to a [`runner::Progress`];
//! - [`scheduler`]: when to sync — a sans-IO state machine (events in, actions out);
//! - [`retry`]: how the device waits and gives up (back-off, retries, per-photo bounds);
//! - [`driver`]: one exchange against the device store through a [`Transport`];
//! - [`evidence`]: the evidence step (seals, then the photos the hub lacks, resumable and
//!   bounded) and photo downloads;
//! - [`http`]: the HTTP(S) transport with device authentication (pinned CA, plain HTTP only
//!   to this machine), and [`http::TokenClient`] for the hub's other device routes;
//! - [`updates`]: update offers and bundles over that transport (the CLI and the agent);
//! - [`device`]: enrollment, an authenticated session and fleet commands over the store;
//! - [`provision`]: a provisioned device's first start (enroll with `provision.toml`).
//!
//! Without the `store` feature (the update agent) only the transport, the scheduler, the
//! back-off and update downloads are built. The deterministic simulation (`tests/sim`)
//! drives the same scheduler and driver with an in-process hub and injected faults.

#[cfg(feature = "store")]
pub mod device;
#[cfg(feature = "store")]
pub mod driver;
#[cfg(feature = "store")]
pub mod evidence;
pub mod http;
#[cfg(feature = "store")]
pub mod provision;
pub mod retry;
#[cfg(feature = "store")]
pub mod runner;
pub mod scheduler;
pub mod transport;
pub mod updates;

#[cfg(feature = "store")]
pub use driver::{exchange, DeviceCommand, Limits, Report, SyncError};
pub use scheduler::{Action, Config, Event, Outcome, Scheduler};
pub use transport::{Transport, TransportError};

//! Gridpad's device sync.
//!
//! - [`scheduler`]: when to sync — a sans-IO state machine (events in, actions out);
//! - [`driver`]: one exchange against the device store through a [`driver::Transport`];
//! - [`http`]: the HTTP transport with device authentication;
//! - [`device`]: enrollment, an authenticated session and fleet commands over the store
//!   (shared by the command line and the terminal app).
//!
//! The deterministic simulation (`tests/sim`) drives the same scheduler and driver with an
//! in-process hub and injected faults.

pub mod device;
pub mod driver;
pub mod http;
pub mod scheduler;

pub use driver::{exchange, Limits, Report, SyncError, Transport, TransportError};
pub use scheduler::{Action, Config, Event, Outcome, Scheduler};

//! gridhub, the central platform's sync service for Gridpad devices.
//!
//! - [`store`]: storage behind a trait ([`store::HubStore`]), free of SQL;
//! - [`sqlite`]: the default backend (one file, nothing else to run);
//! - [`hub`]: enrollment, authentication, the sync exchange, the command centre's actions;
//! - [`evidence`]: photos (blob store, who may read them, completeness) and sealed records;
//! - [`http`]: the HTTP interface (axum);
//! - [`tls`]: HTTPS for `gridhub serve` (rustls);
//! - [`bundles`]: signed update bundles published for the fleet.

pub mod bundles;
pub mod evidence;
pub mod http;
pub mod hub;
pub mod sqlite;
pub mod store;
pub mod tls;

pub use hub::{Hub, HubError};

//! gridhub, the central platform's sync service for Gridpad devices.
//!
//! - [`store`]: storage behind a trait ([`store::HubStore`]), free of SQL;
//! - [`sqlite`]: the default backend (one file, nothing else to run);
//! - [`hub`]: enrollment, authentication, the sync exchange, the command centre's actions;
//! - [`http`]: the HTTP interface (axum);
//! - [`bundles`]: signed update bundles published for the fleet.

pub mod bundles;
pub mod http;
pub mod hub;
pub mod sqlite;
pub mod store;

pub use hub::{Hub, HubError};

//! gridhub, the central platform's sync service for Gridpad devices.
//!
//! - [`hub`]: the hub (storage, clock, randomness) and [`error`], its one error type;
//! - [`auth`]: enrollment, device sessions, administrators' tokens — typed principals;
//! - [`exchange`]: the sync exchange (push verdicts, pulled pages), [`merge`] its one
//!   per-field merge, [`scopes`] who reads what;
//! - [`centre`]: the command centre's actions (import, lifecycle, tasks); [`notices`]: notices
//!   for a node of the tree (and a role) and who has read them; [`catalog`]: the event
//!   catalog's editor (one 小类 at a time, checked, versioned);
//! - [`seals_and_photo_access`]: photos (who may read them, completeness) and sealed records;
//!   [`blobstore`]: where photos are kept;
//! - [`bundles`]: signed update bundles published for the fleet;
//! - [`crash`]: named crash points (`GRIDHUB_CRASH_AT`) for the crash tests;
//! - [`deadlines`]: the working-time calendar, steps' deadlines and colours; [`supervise`]:
//!   the automatic 督办 (reminders once per threshold crossed);
//! - [`photos`]: the quota of photos no record names, and the sweep;
//! - [`http`]: the HTTP interface (axum), one file per resource; [`console`]: the
//!   centre's console in a browser (HTML pages on the same origin), [`timeline`] its
//!   reads of one event; [`tls`]: HTTPS;
//!   [`conn`]: the accept loop and the limits on idle and trickling clients;
//! - storage: the [`store`] contract (`gridhub-store`) and its backends ([`sqlite`], the
//!   default; [`postgres`] for a city), chosen by [`storage::open`].

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod blobstore;
pub mod bundles;
pub mod catalog;
pub mod centre;
pub mod conn;
pub mod console;
pub mod crash;
pub mod deadlines;
pub mod departments;
pub mod devices;
pub mod error;
pub mod exchange;
pub mod handling;
pub mod http;
pub mod hub;
pub mod merge;
pub mod metrics;
pub mod notices;
pub mod org;
pub mod photos;
pub mod scopes;
pub mod seals_and_photo_access;
pub mod service;
pub mod storage;
pub mod supervise;
pub mod timeline;
pub mod tls;
pub mod totp;

pub use gridhub_postgres as postgres;
pub use gridhub_sqlite as sqlite;
pub use gridhub_store as store;
pub use hub::{Hub, HubError};

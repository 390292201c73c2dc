//! Gridpad's device domain and encrypted store.
//!
//! - [`store::Store`]: the encrypted SQLite database of one device (SQLCipher, data key
//!   wrapped by the user's PIN, see [`keyring`]; files private to the user, see
//!   [`private`]): opening, transactions and the outbox in [`store`], typed writes per kind
//!   of record in `store/` (residents, reports and task commands, field work), every read
//!   and the one set of read types in [`queries`];
//! - the outbox contract: every local change is recorded with its outbox row in the same
//!   transaction ([`store::Writer::record`]); changes from the centre — pages of the
//!   scopes' logs from the sync pull ([`store::Store::apply_page`], in [`sync_state`]) —
//!   are applied through the same code ([`apply`]) without one;
//! - [`base_data`]: adding and editing houses and organisations, with the forms' checks;
//! - [`search`]: Chinese search by 1–3 character fragments, ID tails, phones, addresses;
//! - [`demo`]: a deterministic generator of realistic grids, from one grid to a town;
//! - [`vault`]: the photo files, encrypted and content-addressed beside the database.
//!
//! This crate does not depend on the UI.

pub mod access;
pub mod apply;
pub mod base_data;
pub mod db;
pub mod demo;
pub mod error;
pub mod keyring;
pub mod model;
pub mod private;
pub mod queries;
pub mod resend;
pub mod seals_and_uploads;
pub mod search;
pub mod store;
pub mod sync_state;
pub mod vault;

pub use base_data::{FormProblem, HouseDraft, OrganisationDraft};
pub use error::{Error, Result};
pub use store::{
    InitOptions, NewPerson, NewReport, NewTrackSegment, NewVisit, RemoteChange, Store,
};

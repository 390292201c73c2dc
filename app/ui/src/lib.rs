//! Gridpad terminal app: the Slint GUI of the grid worker's handheld.
//!
//! `ui/` holds the screens (one `.slint` file each, with its `*Adapter` global of
//! properties and callbacks); `controllers/` fill the adapters from the device store and
//! the services; no SQL here (the store's `queries` module has it), no layout in Rust.

slint::include_modules!();

pub mod controllers;
pub mod exec;
pub mod format;
pub mod gnss;
pub mod hubsync;
pub mod measure;
pub mod notify;
pub mod paged;
pub mod photos;
pub mod services;
pub mod settings;
pub mod snapshot;

pub use controllers::{App, AppConfig};

/// The Slint version the app was built with (shown under Settings → About).
pub const SLINT_VERSION: &str = "1.18";

//! Errors of the device store. Every failure a user can meet has a message that says what
//! happened and what to do; none of them leaves a half-written record behind.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("wrong PIN ({remaining} attempts left before the device locks for a while)")]
    WrongPin { remaining: u32 },
    #[error("too many wrong PINs: locked for another {seconds} s")]
    LockedOut { seconds: u64 },
    /// The attempt could not be counted (a full disk, a read-only or failing storage), so
    /// the PIN was not tried: an uncounted attempt would let PINs be guessed without end.
    #[error("the PIN was not checked: this attempt could not be recorded ({reason}). Free some space on the device, or have its storage checked, and try again")]
    AttemptNotCounted { reason: String },
    #[error("PIN must be 6 to 12 digits")]
    WeakPin,
    #[error("no Gridpad data in {0} — run `gridpad init` first")]
    NotInitialised(PathBuf),
    #[error("Gridpad data already exists in {0}")]
    AlreadyInitialised(PathBuf),
    #[error("the key file {path} is damaged or not a Gridpad key file: {reason}")]
    BadKeyFile { path: PathBuf, reason: String },
    #[error("storage is full: the change was not saved (free some space and try again)")]
    StorageFull,
    #[error("the database was written by a newer Gridpad (schema {found}, this build knows {known}); update the app")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid input: {0}")]
    Invalid(String),
    /// A form with problems, each tied to its field (see [`crate::base_data::FormProblem`]).
    #[error("invalid input: {}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
    Form(Vec<crate::base_data::FormProblem>),
    #[error("not allowed: {0}")]
    NotAllowed(String),
    #[error("database error: {0}")]
    Db(rusqlite::Error),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cryptography failure: {0}")]
    Crypto(String),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            // SQLite maps ENOSPC on write to SQLITE_FULL, as it does a database that
            // reached its max_page_count.
            Some(rusqlite::ErrorCode::DiskFull) => Error::StorageFull,
            _ => Error::Db(e),
        }
    }
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        match source.raw_os_error() {
            Some(27) | Some(28) | Some(122) => Error::StorageFull,
            _ => Error::Io { path, source },
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

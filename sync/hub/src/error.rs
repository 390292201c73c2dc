//! The hub's one error type. Every route maps it to an answer in one place
//! (`http::error`); the CLI prints it.

use gridhub_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The password is right and the account also signs in with its authenticator's
    /// one-time code, which was not given (the console then asks for it).
    #[error("unauthorized: a one-time code from the authenticator is needed")]
    SecondFactorNeeded,
    /// Too many failed sign-ins: the account is refused, even with the right password, for
    /// `minutes` more.
    #[error(
        "forbidden: this account is locked after repeated failures; try again in {minutes} min"
    )]
    Locked { minutes: u64 },
    #[error("not found: {0}")]
    NotFound(String),
    /// The device's next mutation is not the one the hub expects. `offered` is beyond
    /// `expected` when the device is ahead of the hub (the hub was restored from a backup).
    #[error("sequence gap: expected {expected}")]
    SeqGap { expected: u64, offered: Option<u64> },
    /// The request conflicts with the state (a bundle already published …).
    #[error("conflict: {0}")]
    Conflict(String),
    /// More than the hub takes (a body, a list, a count).
    #[error("too large: {0}")]
    TooLarge(String),
    /// A finished photo upload does not hash to the SHA-256 it was created with (the hub
    /// discarded it).
    #[error("the upload does not hash to its SHA-256")]
    DigestMismatch,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type HubResult<T> = Result<T, HubError>;

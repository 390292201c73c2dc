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
    #[error("not found: {0}")]
    NotFound(String),
    /// The device's next mutation is not the one the hub expects.
    #[error("sequence gap: expected {expected}")]
    SeqGap { expected: u64 },
    /// The request conflicts with the state (a bundle already published …).
    #[error("conflict: {0}")]
    Conflict(String),
    /// More than the hub takes (a body, a list, a count).
    #[error("too large: {0}")]
    TooLarge(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type HubResult<T> = Result<T, HubError>;

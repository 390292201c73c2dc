//! What carries an exchange to the hub, and how it fails.

use gridpad_proto::wire::{SyncRequest, SyncResponse};

/// How a transport failed. `Offline`/`Server` are worth retrying; the others need a person.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TransportError {
    #[error("no connection to the hub: {0}")]
    Offline(String),
    #[error("the hub is having trouble: {0}")]
    Server(String),
    #[error("the hub refused this device: {0}")]
    Auth(String),
    #[error("the hub expects mutation {0} next")]
    Gap(u64),
    #[error("the hub refused the request: {0}")]
    Refused(String),
}

impl TransportError {
    pub fn retryable(&self) -> bool {
        matches!(self, TransportError::Offline(_) | TransportError::Server(_))
    }
}

pub trait Transport {
    fn sync(&mut self, req: &SyncRequest) -> Result<SyncResponse, TransportError>;
}

//! Where the hub keeps photos: verified blobs, content-addressed, which device delivered
//! each, and the uploads in progress. The hub speaks only the [`BlobStore`] trait;
//! [`fs::FsBlobStore`] keeps everything under `<data dir>/evidence`. A backend that every
//! instance of a multi-instance hub reaches (an object store, a shared file system) is a
//! second implementation of the same trait (issue 18).

pub mod fs;

pub use fs::FsBlobStore;

/// An upload in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    pub id: String,
    pub device: String,
    pub sha256: String,
    pub length: u64,
    /// Bytes received so far.
    pub offset: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("no such upload")]
    NotFound,
    #[error("the upload is at offset {0}")]
    Conflict(u64),
    #[error("more bytes than the upload's length")]
    TooLong,
    #[error("the upload does not hash to its SHA-256")]
    DigestMismatch,
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Where the hub keeps blobs and uploads in progress. Calls are blocking; the HTTP routes
/// run them on tokio's blocking pool.
pub trait BlobStore: Send + Sync + 'static {
    /// Has `device` already delivered `sha256` (the hub holds the verified blob and this
    /// device proved it has the bytes by uploading them)? A blob another device uploaded
    /// does not count: a device cannot claim a photo by knowing its hash.
    fn delivered(&self, device: &str, sha256: &str) -> Result<bool, BlobError>;
    /// Create the upload of `sha256` by `device`, or return the existing one (same device
    /// and hash → same upload, so a device that lost its upload id resumes all the same).
    fn create_upload(&self, device: &str, sha256: &str, length: u64) -> Result<Upload, BlobError>;
    fn upload(&self, id: &str) -> Result<Option<Upload>, BlobError>;
    /// The uploads `device` has in progress.
    fn uploads_of(&self, device: &str) -> Result<Vec<Upload>, BlobError>;
    /// Append `data` at `offset` (which must be the upload's current offset); returns the
    /// new offset. Need not be durable until [`BlobStore::sync`].
    fn append(&self, id: &str, offset: u64, data: &[u8]) -> Result<u64, BlobError>;
    /// Make the bytes appended so far durable (before the offset is acknowledged).
    fn sync(&self, id: &str) -> Result<(), BlobError>;
    /// All bytes are in: verify the SHA-256, store the blob content-addressed, record that
    /// `device` delivered it, drop the upload. On a mismatch the upload is discarded.
    fn complete(&self, id: &str) -> Result<(), BlobError>;
    /// Length of a stored blob.
    fn blob_len(&self, sha256: &str) -> Result<Option<u64>, BlobError>;
    /// Read `[start, end)` of a stored blob.
    fn read_blob(&self, sha256: &str, start: u64, end: u64) -> Result<Vec<u8>, BlobError>;
    /// The blobs `device` delivered, with their lengths.
    fn delivered_by(&self, device: &str) -> Result<Vec<(String, u64)>, BlobError>;
    /// Stored blobs last written more than `age` ago.
    fn blobs_older_than(&self, age: std::time::Duration) -> Result<Vec<String>, BlobError>;
    /// Uploads in progress last written more than `age` ago.
    fn uploads_older_than(&self, age: std::time::Duration) -> Result<Vec<Upload>, BlobError>;
    /// Forget a blob: its bytes and every device's delivery of it.
    fn remove_blob(&self, sha256: &str) -> Result<(), BlobError>;
    /// Abandon an upload in progress.
    fn remove_upload(&self, id: &str) -> Result<(), BlobError>;
    /// Finish whatever a stopped process left half done: uploads whose bytes are all in are
    /// completed (or discarded when they do not hash right), a completion cut between its
    /// steps is carried to its end. Returns how many uploads it finished.
    fn recover(&self) -> Result<usize, BlobError>;
    /// How many blobs are stored and their bytes (monitoring; may walk the whole store).
    fn usage(&self) -> Result<(u64, u64), BlobError>;
}

impl From<BlobError> for crate::hub::HubError {
    fn from(e: BlobError) -> Self {
        use crate::hub::HubError;
        match e {
            BlobError::NotFound => HubError::NotFound("no such upload".into()),
            BlobError::Conflict(o) => HubError::Conflict(format!("the upload is at offset {o}")),
            BlobError::TooLong => HubError::TooLarge("more bytes than the upload's length".into()),
            BlobError::DigestMismatch => HubError::DigestMismatch,
            BlobError::Io(e) => HubError::Store(gridhub_store::StoreError::Backend(format!(
                "photo store: {e}"
            ))),
        }
    }
}

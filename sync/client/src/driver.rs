//! One sync exchange against the device store: build the request from the outbox and the
//! scope cursors, hand it to a [`Transport`], apply the answer.

pub use crate::transport::{Transport, TransportError};
use gridpad_core::resend::Resend;
use gridpad_core::Store;
pub use gridpad_proto::wire::DeviceCommand;
use gridpad_proto::wire::{SyncRequest, SyncResponse, PROTOCOL};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("device store: {0}")]
    Store(#[from] gridpad_core::Error),
}

impl SyncError {
    pub fn retryable(&self) -> bool {
        match self {
            SyncError::Transport(t) => t.retryable(),
            SyncError::Store(gridpad_core::Error::StorageFull) => true,
            SyncError::Store(_) => false,
        }
    }
}

/// What one exchange did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub pushed: u64,
    pub acked: u64,
    pub rejected: u64,
    pub conflicts: u64,
    pub pulled_ops: u64,
    /// Ops the hub still holds for this device after this exchange (all scopes): with
    /// `pulled_ops` summed over a run, the progress of a long first download.
    pub remaining_ops: u64,
    pub diverged_scopes: u64,
    pub more: bool,
    pub next_sync_in_ms: u64,
    pub command: Option<DeviceCommand>,
}

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Push at most this many bytes of mutations per exchange (64 KB suits EDGE).
    pub push_bytes: usize,
    /// Ask for at most this many bytes of pages.
    pub pull_bytes: u32,
}

impl Limits {
    /// An exchange of `page_bytes` (the scheduler's adaptive budget): pages up to that,
    /// pushes up to half of it (the store sends at least one mutation whatever its size).
    pub fn for_page(page_bytes: u64) -> Self {
        Limits {
            push_bytes: (page_bytes / 2) as usize,
            pull_bytes: page_bytes.min(u32::MAX as u64) as u32,
        }
    }
}

impl Default for Limits {
    /// A good link's: 512 KiB of pages, 256 KiB of pushes.
    fn default() -> Self {
        Limits::for_page(crate::retry::PAGE_MAX)
    }
}

pub fn build_request(
    store: &Store,
    limits: Limits,
    clock_offset_ms: i64,
) -> Result<SyncRequest, SyncError> {
    Ok(SyncRequest {
        protocol: PROTOCOL,
        app_version: env!("CARGO_PKG_VERSION").to_string(),
        device_time_ms: store.now().timestamp_millis().max(0) as u64,
        push: store.pending_mutations(limits.push_bytes)?,
        cursors: store.cursors()?,
        max_bytes: limits.pull_bytes,
        health: store.sync_health(clock_offset_ms, None)?,
        resume_from: None,
    })
}

/// Apply a response: scopes first (new ones start from zero), then verdicts (one
/// transaction), then each page (one transaction each, with its cursor).
pub fn apply_response(
    store: &mut Store,
    req: &SyncRequest,
    resp: &SyncResponse,
) -> Result<Report, SyncError> {
    // A successful answer is a contact with the hub: it resets the offline self-lock and
    // sets or lifts the centre's lock (gridpad_core::access).
    store.record_hub_contact(resp.command)?;
    let before: Vec<String> = store.cursors()?.into_iter().map(|c| c.scope).collect();
    store.set_scopes(&resp.scopes)?;
    let new_scopes = resp.scopes.iter().any(|s| !before.contains(s));
    let ack = store.apply_verdicts(resp.acked_through, &resp.verdicts)?;
    let mut report = Report {
        pushed: req.push.len() as u64,
        acked: ack.acked,
        rejected: ack.rejected,
        conflicts: ack.conflicts,
        next_sync_in_ms: resp.next_sync_in_ms,
        command: resp.command,
        ..Default::default()
    };
    for page in &resp.pages {
        if !resp.scopes.contains(&page.scope) {
            continue;
        }
        let s = store.apply_page(page)?;
        report.pulled_ops += s.applied;
        report.remaining_ops += page.remaining;
        if s.diverged {
            report.diverged_scopes += 1;
        }
        // Conflicts found while applying pages are in the store's notices too.
    }
    let pushed_all = req.push.last().is_none_or(|m| m.seq <= resp.acked_through);
    report.more = resp.more
        || new_scopes
        || report.diverged_scopes > 0
        || (!pushed_all && report.acked > 0)
        || store.outbox_len()? > 0 && report.acked > 0;
    Ok(report)
}

/// One full exchange.
pub fn exchange(
    store: &mut Store,
    transport: &mut dyn Transport,
    limits: Limits,
) -> Result<Report, SyncError> {
    let mut req = build_request(store, limits, 0)?;
    let resp = match transport.sync(&req) {
        // The hub expects an older mutation than the outbox starts with: it was restored
        // from a backup and forgot what it had acknowledged. Put back what the device kept
        // (gridpad_core::resend) and send again; what it no longer keeps, the hub is asked
        // to skip (`resume_from`), and records as lost.
        Err(TransportError::Gap(expected)) => match store.resend_from(expected)? {
            Resend::NotBehind => return Err(TransportError::Gap(expected).into()),
            Resend::Requeued(_) => {
                req = build_request(store, limits, 0)?;
                transport.sync(&req)?
            }
            Resend::Missing { kept_from, .. } => {
                req = build_request(store, limits, 0)?;
                req.resume_from = Some(kept_from);
                transport.sync(&req)?
            }
        },
        other => other?,
    };
    apply_response(store, &req, &resp)
}

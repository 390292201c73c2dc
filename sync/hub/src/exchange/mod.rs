//! One sync exchange (`POST /v1/sync`): the device's pushed mutations get their verdicts
//! ([`push`]), then it receives pages of every scope it reads ([`pull`]). A locked or wiped
//! device gets only its command: nothing it sends is taken, nothing is sent to it.

mod pull;
mod push;

pub(crate) use push::printable;

use crate::hub::{Hub, HubError, HubResult, SYNC_INTERVAL_MS};
use crate::scopes::scopes_of;
use gridhub_store::DeviceStatus;
use gridpad_proto::wire::*;

/// Most mutations one exchange may push.
pub const MAX_PUSH: usize = 5_000;
/// Most cursors one exchange may carry.
pub const MAX_CURSORS: usize = 4_096;

impl Hub {
    /// One sync exchange of the device `device_id` (authenticated by the caller).
    pub fn sync(&self, device_id: &str, req: &SyncRequest) -> HubResult<SyncResponse> {
        if req.protocol != PROTOCOL && req.protocol + 1 != PROTOCOL {
            return Err(HubError::BadRequest(format!(
                "protocol {} not served",
                req.protocol
            )));
        }
        if req.push.len() > MAX_PUSH {
            return Err(HubError::TooLarge(format!(
                "at most {MAX_PUSH} mutations an exchange"
            )));
        }
        // Refused before anything is taken, so a refusal never hides verdicts of a push
        // that was applied (the pull checks the count against the device's scopes).
        if req.cursors.len() > MAX_CURSORS {
            return Err(HubError::TooLarge(format!(
                "{} cursors: at most {MAX_CURSORS} an exchange",
                req.cursors.len()
            )));
        }
        let now = self.now_ms();
        let (device, verdicts) = self.push(device_id, req, now)?;
        let command = match device.status {
            DeviceStatus::Active => None,
            DeviceStatus::Locked => Some(DeviceCommand::Lock),
            DeviceStatus::Wiped => Some(DeviceCommand::Wipe),
        };
        let scopes = scopes_of(&device, &*self.org()?);
        let (pages, more) = if command.is_none() {
            self.pull(&scopes, req)?
        } else {
            (vec![], false)
        };
        Ok(SyncResponse {
            protocol: PROTOCOL,
            acked_through: device.last_seq,
            verdicts,
            pages,
            scopes: if command.is_none() {
                scopes.iter().map(ToString::to_string).collect()
            } else {
                vec![]
            },
            more,
            server_time_ms: now,
            next_sync_in_ms: SYNC_INTERVAL_MS,
            command,
        })
    }
}

//! Devices as the centre manages them: enrollment codes (for a grid, or for a person), the
//! health list, lock and wipe.

use crate::authz::{Action, Principal};
use crate::hub::{in_tx, sha256_hex, Hub, HubError, HubResult};
use gridhub_store::*;
use serde::Serialize;
use serde_json::{json, Value};

/// A device's row in the health list.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceHealth {
    pub device_id: String,
    pub label: String,
    pub user: String,
    pub grids: Vec<String>,
    pub status: DeviceStatus,
    pub last_seen_ms: u64,
    pub app_version: String,
    pub queue_len: u64,
    pub oldest_pending_s: u64,
    pub dead_letters: u64,
    /// Pulled records the device could not apply (set aside; the data needs a look).
    pub quarantined: u64,
    pub last_error: Option<String>,
    pub clock_offset_ms: i64,
    pub last_seq: u64,
    /// The device offered sequence numbers beyond what the hub expects: the hub forgot
    /// what it had acknowledged (restored from a backup); the device is catching it up.
    pub ahead: Option<gridhub_store::AheadOfHub>,
    /// Sequence numbers lost after a restore (the device no longer held them).
    pub lost_seqs: Vec<(u64, u64)>,
}

/// A one-time enrollment code as issued: shown once, never stored (the hub keeps its hash).
#[derive(Clone, Debug)]
pub struct IssuedCode {
    pub code: String,
    pub expires_ms: u64,
    /// The holder's name, as the device will show it.
    pub user: String,
    /// The grids' ids.
    pub grids: Vec<String>,
}

/// Whom an enrollment code is for.
#[derive(Clone, Copy, Debug)]
pub enum Holder<'a> {
    /// A named holder working `grids` (ids or codes).
    Named { user: &'a str, grids: &'a [String] },
    /// A field staff account (by username): the grids of the person's node.
    Account(&'a str),
}

impl Hub {
    /// Issue a one-time enrollment code for a device of `user` working `grids`.
    pub fn issue_code(
        &self,
        who: &Principal,
        user: &str,
        label: &str,
        grids: &[String],
        ttl_days: u64,
    ) -> HubResult<String> {
        self.issue_code_with(who, user, label, grids, ttl_days, None)
            .map(|c| c.code)
    }

    /// Issue a one-time enrollment code for `holder`, with its expiry (the console shows
    /// both once, beside the code's QR image).
    pub fn enrollment_code(
        &self,
        who: &Principal,
        holder: Holder<'_>,
        label: &str,
        ttl_days: u64,
    ) -> HubResult<IssuedCode> {
        match holder {
            Holder::Named { user, grids } => {
                self.issue_code_with(who, user, label, grids, ttl_days, None)
            }
            Holder::Account(username) => self.account_code(who, username, label, ttl_days),
        }
    }

    fn issue_code_with(
        &self,
        who: &Principal,
        user: &str,
        label: &str,
        grids: &[String],
        ttl_days: u64,
        account_id: Option<String>,
    ) -> HubResult<IssuedCode> {
        who.require(Action::CodesIssue)?;
        if user.trim().is_empty() || user.chars().count() > 64 || label.chars().count() > 64 {
            return Err(HubError::BadRequest(
                "a user name (1–64 characters) and a label of at most 64".into(),
            ));
        }
        if grids.is_empty() || grids.len() > 64 {
            return Err(HubError::BadRequest(
                "an enrollment code needs 1–64 grids".into(),
            ));
        }
        let grids = grids
            .iter()
            .map(|g| {
                let id = self.grid_id(g)?;
                who.require_grid(Some(&id), &format!("grid {g:.40}"))?;
                Ok(id)
            })
            .collect::<HubResult<Vec<_>>>()?;
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let raw: String = self
            .random(12)
            .iter()
            .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
            .collect();
        let code = format!("{}-{}-{}", &raw[..4], &raw[4..8], &raw[8..]);
        let rec = EnrollmentCode {
            code_hash: sha256_hex(crate::auth::normalise_code(&code).as_bytes()),
            user: user.to_string(),
            label: label.to_string(),
            grids,
            expires_ms: self.now_ms() + ttl_days.clamp(1, 90) * 86_400_000,
            used_by: None,
            account_id,
        };
        in_tx(self.store(), |tx| {
            tx.put_code(&rec)?;
            self.audit(
                tx,
                &who.actor,
                "code.issue",
                &format!("user:{}", rec.user),
                Value::Null,
                json!({"grids": rec.grids, "label": rec.label, "expires_ms": rec.expires_ms}),
            )
        })?;
        Ok(IssuedCode {
            code,
            expires_ms: rec.expires_ms,
            user: rec.user,
            grids: rec.grids,
        })
    }

    /// A one-time enrollment code for a field staff account: the device is enrolled for the
    /// person (its reports follow them to a replacement device), for the grids of the
    /// person's node.
    pub fn issue_code_for(
        &self,
        who: &Principal,
        username: &str,
        label: &str,
        ttl_days: u64,
    ) -> HubResult<String> {
        self.account_code(who, username, label, ttl_days)
            .map(|c| c.code)
    }

    fn account_code(
        &self,
        who: &Principal,
        username: &str,
        label: &str,
        ttl_days: u64,
    ) -> HubResult<IssuedCode> {
        who.require(Action::CodesIssue)?;
        let account = with_tx(self.store(), |tx| tx.account_by_username(username))?
            .filter(|a| who.sees_node(&a.node_id))
            .ok_or_else(|| HubError::NotFound(format!("account {username:.32}")))?;
        if account.role != Role::FieldStaff || account.disabled {
            return Err(HubError::BadRequest(format!(
                "{} is not an active field staff account",
                account.username
            )));
        }
        let grids = self.org()?.grids_under(&account.node_id);
        if grids.is_empty() {
            return Err(HubError::BadRequest(format!(
                "{}'s node has no grid under it",
                account.username
            )));
        }
        self.issue_code_with(
            who,
            &account.display_name,
            label,
            &grids,
            ttl_days,
            Some(account.id),
        )
    }

    pub fn device_health(&self, who: &Principal) -> HubResult<Vec<DeviceHealth>> {
        who.require(Action::DevicesRead)?;
        let devices = with_tx(self.store(), |tx| tx.devices())?;
        Ok(devices
            .into_iter()
            .filter(|d| who.sees_any_grid(&d.grids))
            .map(|d| DeviceHealth {
                device_id: d.device_id,
                label: d.label,
                user: d.user,
                grids: d.grids,
                status: d.status,
                last_seen_ms: d.last_seen_ms,
                app_version: d.app_version,
                queue_len: d.health.queue_len,
                oldest_pending_s: d.health.oldest_pending_s,
                dead_letters: d.health.dead_letters,
                quarantined: d.health.quarantined,
                last_error: d.health.last_error,
                clock_offset_ms: d.clock_offset_ms,
                last_seq: d.last_seq,
                ahead: d.ahead,
                lost_seqs: d.lost_seqs,
            })
            .collect())
    }

    /// Lock or wipe a lost device (it obeys on its next contact), or make it active again.
    pub fn set_device_status(
        &self,
        who: &Principal,
        device_id: &str,
        status: &str,
    ) -> HubResult<()> {
        who.require(Action::DevicesManage)?;
        let status = DeviceStatus::parse(status)
            .ok_or_else(|| HubError::BadRequest(format!("unknown device status {status:.20}")))?;
        in_tx(self.store(), |tx| {
            match tx
                .device(device_id)?
                .filter(|d| who.sees_any_grid(&d.grids))
            {
                Some(mut d) => {
                    if d.status == DeviceStatus::Wiped && status != DeviceStatus::Wiped {
                        return Err(HubError::BadRequest(
                            "a wiped device stays wiped; enroll the device again with a new code"
                                .into(),
                        ));
                    }
                    let before = d.status;
                    d.status = status;
                    tx.put_device(&d)?;
                    self.audit(
                        tx,
                        &who.actor,
                        &format!("device.{}", status.as_str()),
                        &format!("device:{device_id}"),
                        json!({"status": before}),
                        json!({"status": status}),
                    )
                }
                None => Err(HubError::NotFound(format!("device {device_id:.40}"))),
            }
        })
    }
}

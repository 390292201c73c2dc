//! The first start of a provisioned device: `<data_dir>/provision.toml` (written by
//! `gridctl provision`, with a code gridhub issued) is read, the device enrolls with the
//! hub it names (pinning its CA), and the file's code is marked used — removed from the
//! file — so a copy of the card enrolls nothing. Shared by the command line (`gridpad init`,
//! `enroll`, `sync`) and the app's first run.
//!
//! Refused, with the reason and nothing changed: a file for another hub than the one the
//! device is configured for (`hub_url` in gridpad.toml) or enrolled with; a file whose code
//! was used (here, or by the hub for another device); an unknown or expired code.

use crate::device::{self, HUB_URL};
use crate::driver::SyncError;
use crate::transport::TransportError;
use gridpad_config::provision::Provision;
use gridpad_config::{same_hub, ConfigError, DeviceConfig};
use gridpad_core::Store;
use gridpad_proto::wire::EnrollResponse;

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The file cannot be read or is not a provisioning file.
    #[error("provision.toml: {0}")]
    File(#[from] ConfigError),
    /// The file cannot enroll this device (why, and what to do).
    #[error("{0}")]
    Refused(String),
    /// The hub could not be reached, or the store failed: try again later.
    #[error(transparent)]
    Sync(#[from] SyncError),
}

impl From<gridpad_core::Error> for ProvisionError {
    fn from(e: gridpad_core::Error) -> Self {
        ProvisionError::Sync(SyncError::Store(e))
    }
}

/// The unused provisioning in `dir`, if any (for the first-run screen to show).
pub fn pending(dir: &std::path::Path) -> Result<Option<Provision>, ConfigError> {
    Ok(Provision::read(dir)?.filter(|p| p.code().is_some()))
}

/// Enroll `store` with its data directory's `provision.toml`. `Ok(None)`: there is no file,
/// or it was used by this very device (nothing to do).
pub fn enroll_from_file(
    store: &mut Store,
    config: &DeviceConfig,
) -> Result<Option<EnrollResponse>, ProvisionError> {
    let dir = store.dir().to_path_buf();
    let Some(p) = Provision::read(&dir)? else {
        return Ok(None);
    };
    let label = &p.device_label;
    if let Some(configured) = config.hub() {
        if !same_hub(configured, &p.hub_url) {
            return Err(ProvisionError::Refused(format!(
                "provision.toml ({label}) is for the hub at {}, but this device is configured for {configured} (hub_url in gridpad.toml): it was provisioned for another hub; provision it again for this one",
                p.hub_url
            )));
        }
    }
    let enrolled = store.kv(HUB_URL)?;
    if let Some(h) = &enrolled {
        if !same_hub(h, &p.hub_url) {
            return Err(ProvisionError::Refused(format!(
                "provision.toml ({label}) is for the hub at {}, but this device is enrolled with {h}: a device changes hub only after a wipe",
                p.hub_url
            )));
        }
    }
    let Some(code) = p.code() else {
        if enrolled.is_some() && p.used_by_device.as_deref() == Some(store.device_id()) {
            return Ok(None);
        }
        return Err(ProvisionError::Refused(format!(
            "provision.toml ({label}) was used on {} by device {}: its enrollment code enrolls no other device; ask the fleet manager for a new one (gridctl provision --force)",
            p.used_at.as_deref().unwrap_or("an earlier start"),
            p.used_by_device.as_deref().unwrap_or("?")
        )));
    };
    let now = store.now().to_rfc3339();
    if enrolled.is_some() {
        // Enrolled with this hub already (a start cut short before the file was marked):
        // the code did its work.
        p.used(store.device_id(), &now)
            .write(&dir)
            .map_err(|e| gridpad_core::Error::io(&dir, e))?;
        return Ok(None);
    }
    let ca = p.hub_ca_pem.as_deref().map(str::as_bytes);
    let resp = match device::enroll_with_ca(store, &p.hub_url, code, label, ca) {
        Ok(r) => r,
        Err(SyncError::Transport(TransportError::Auth(why))) => {
            return Err(ProvisionError::Refused(explain(&p, &why)))
        }
        Err(e) => return Err(e.into()),
    };
    p.used(store.device_id(), &now)
        .write(&dir)
        .map_err(|e| gridpad_core::Error::io(&dir, e))?;
    Ok(Some(resp))
}

/// The hub's refusal of the file's code, said for the person holding the device.
fn explain(p: &Provision, why: &str) -> String {
    let label = &p.device_label;
    let hub = &p.hub_url;
    if why.contains("already used") {
        format!("provision.toml ({label}): the hub at {hub} says its enrollment code was already used by another device (a copied card?); ask the fleet manager for a new one (gridctl provision --force)")
    } else if why.contains("expired") {
        format!(
            "provision.toml ({label}): its enrollment code expired{}; ask the fleet manager for a new one (gridctl provision --force)",
            p.code_expires
                .as_deref()
                .map(|t| format!(" on {t}"))
                .unwrap_or_default()
        )
    } else if why.contains("unknown enrollment code") {
        format!("provision.toml ({label}): the hub at {hub} does not know its enrollment code: it was issued by another hub, or never issued; provision the device again")
    } else {
        format!("provision.toml ({label}): the hub at {hub} refused the enrollment: {why}")
    }
}

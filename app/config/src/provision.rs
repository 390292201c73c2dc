//! `provision.toml`: one device's provisioning, written by `gridctl provision` onto the data
//! partition (`<data partition>/gridpad/provision.toml`, seen by the device as
//! `<data_dir>/provision.toml`, mode 0600) and read once by the device on its first start,
//! which enrolls with the hub by itself (`gridpad_sync::provision`).
//!
//! ```toml
//! format = 2
//! device_label = "dc-001"            # shown in gridhub
//! serial = "RG-2207-00017"           # optional: the hardware serial
//! hub_url = "https://hub.example.cn/"
//! hub_ca_pem = "-----BEGIN CERTIFICATE-----\n…"   # optional: the city's CA, pinned at enrollment
//! enrollment_code = "K7QM-2XVD-9HTA" # issued by that hub for `holder`; removed once used
//! holder = "张三"                     # whom the hub issued the code for
//! grid_code = "441900105001"
//! grid_name = "东城街道 1 网格"        # optional
//! code_expires = "2026-11-29T23:00:00Z"
//! created = "2026-11-22T23:00:00Z"
//! used_at = "…"                      # set by the device when it enrolled with the code
//! used_by_device = "…"               # its device id
//! ```
//!
//! The codes are the hub's: gridctl asks gridhub for one per device (an admin token), so
//! the hub knows every code it will accept, for whom and until when.

use crate::ConfigError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file's name in the data directory.
pub const FILE: &str = "provision.toml";
/// The format this build writes and reads.
pub const FORMAT: u32 = 2;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provision {
    pub format: u32,
    pub device_label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    pub hub_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_ca_pem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrollment_code: Option<String>,
    #[serde(default)]
    pub holder: String,
    pub grid_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_expires: Option<String>,
    #[serde(default)]
    pub created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by_device: Option<String>,
}

impl Provision {
    /// `<dir>/provision.toml`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(FILE)
    }

    /// The provisioning in the data directory `dir`, if there is one.
    pub fn read(dir: &Path) -> Result<Option<Provision>, ConfigError> {
        let path = Self::path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ConfigError::new(&path, e.to_string())),
        };
        Self::parse(&text)
            .map(Some)
            .map_err(|m| ConfigError::new(&path, m))
    }

    pub fn parse(text: &str) -> Result<Provision, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        match table.get("format").and_then(|f| f.as_integer()) {
            Some(f) if f == FORMAT as i64 => {}
            Some(1) => {
                return Err("format 1 (its enrollment code was made up by gridctl, never issued by gridhub): provision this device again with `gridctl provision`".into())
            }
            other => return Err(format!("unknown format {other:?} (this build reads {FORMAT})")),
        }
        let p: Provision = toml::from_str(text).map_err(|e| e.to_string())?;
        if !(p.hub_url.starts_with("https://") || p.hub_url.starts_with("http://")) {
            return Err(format!("hub_url {:?} is not an http(s) URL", p.hub_url));
        }
        Ok(p)
    }

    /// The code, unless it was used.
    pub fn code(&self) -> Option<&str> {
        self.enrollment_code
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty() && self.used_at.is_none())
    }

    pub fn to_toml(&self) -> String {
        format!(
            "# Gridpad device provisioning, written by gridctl. Read by the device on its first\n\
             # start, which enrolls with gridhub using the code and then marks it used here.\n\
             # Secret until used: the enrollment code.\n{}",
            toml::to_string(self).expect("a provision file serialises")
        )
    }

    /// The same provisioning with its code used up by `device_id` at `at` (the code is
    /// removed: it is worth nothing any more, and a copy of this file enrolls nothing).
    pub fn used(&self, device_id: &str, at: &str) -> Provision {
        Provision {
            enrollment_code: None,
            used_at: Some(at.to_string()),
            used_by_device: Some(device_id.to_string()),
            ..self.clone()
        }
    }

    /// Replace `<dir>/provision.toml` with `self` (temporary file 0600, fsync, rename).
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = Self::path(dir);
        let tmp = dir.join(format!(".{FILE}.tmp"));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(self.to_toml().as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(dir)?.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Provision {
        Provision {
            format: FORMAT,
            device_label: "dc-001".into(),
            serial: None,
            hub_url: "https://hub.example.cn/".into(),
            hub_ca_pem: Some(
                "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n".into(),
            ),
            enrollment_code: Some("ABCD-EFGH-JKLM".into()),
            holder: "张三".into(),
            grid_code: "441900105001".into(),
            grid_name: Some("东城街道 1 网格".into()),
            code_expires: None,
            created: "2026-11-22T23:00:00Z".into(),
            used_at: None,
            used_by_device: None,
        }
    }

    #[test]
    fn round_trip_and_used_up() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Provision::read(dir.path()).unwrap(), None);
        let p = sample();
        p.write(dir.path()).unwrap();
        let back = Provision::read(dir.path()).unwrap().unwrap();
        assert_eq!(back, p);
        assert_eq!(back.code(), Some("ABCD-EFGH-JKLM"));
        let used = back.used("dev-1", "2026-11-23T00:00:00Z");
        used.write(dir.path()).unwrap();
        let text = std::fs::read_to_string(Provision::path(dir.path())).unwrap();
        assert!(!text.contains("ABCD-EFGH-JKLM"), "{text}");
        let back = Provision::read(dir.path()).unwrap().unwrap();
        assert_eq!(back.code(), None);
        assert_eq!(back.used_by_device.as_deref(), Some("dev-1"));
    }

    #[test]
    fn an_old_format_is_refused_with_the_reason() {
        let e = Provision::parse("format = 1\ndevice_label = \"x\"\nidentity_seed = \"00\"\n")
            .unwrap_err();
        assert!(e.contains("gridctl provision"), "{e}");
        assert!(Provision::parse(
            "format = 2\ndevice_label = \"x\"\nhub_url = \"ftp://x\"\ngrid_code = \"1\"\n"
        )
        .is_err());
    }
}

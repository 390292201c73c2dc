//! The device's configuration, `/etc/gridpad/gridpad.toml`: one type, read by every program
//! that documents it — the app (`gridpad-ui`), the command line (`gridpad`) and the update
//! agent (`gridpad-update`, the `[update]` table). And `provision.toml`, the per-device
//! file `gridctl provision` writes onto the data partition ([`provision`]).
//!
//! Every key is optional; a missing file means the defaults. A key this type does not know
//! is an error naming the file, the line and the keys it expected (a misspelt
//! `lock_after_days_offline` must not silently leave a device without its self-lock).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub mod provision;

/// The packaged location of the device configuration.
pub const PATH: &str = "/etc/gridpad/gridpad.toml";

/// The one default GNSS receiver: the handheld's UART the shipped configuration names.
pub const DEFAULT_GNSS_DEVICE: &str = "/dev/ttyS3";

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl ConfigError {
    fn new(path: &Path, message: impl Into<String>) -> ConfigError {
        ConfigError {
            path: path.display().to_string(),
            message: message.into(),
        }
    }
}

/// `/etc/gridpad/gridpad.toml`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceConfig {
    /// The fleet's gridhub (base URL); empty: none configured. `gridpad enroll` and the
    /// first-run screen use it when no other address is given; a `provision.toml` for
    /// another hub is refused.
    pub hub_url: String,
    /// Where the encrypted store, photos and key file live (after `--data-dir` and
    /// `GRIDPAD_DATA_DIR`).
    pub data_dir: Option<PathBuf>,
    /// Days without hub contact before the device locks itself; 0 = never.
    pub lock_after_days_offline: u32,
    pub gnss: GnssConfig,
    pub ui: UiConfig,
    pub update: UpdateConfig,
}

/// Where position fixes come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GnssKind {
    /// NMEA 0183 on a UART or USB serial port.
    #[default]
    Serial,
    /// A gpsd daemon.
    Gpsd,
    /// No receiver.
    None,
}

/// `[gnss]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GnssConfig {
    pub source: GnssKind,
    /// The serial device (`source = "serial"`).
    pub device: String,
    /// Its speed; 0 = detect among 4800, 9600, 38400, 115200.
    pub baud: u32,
    /// gpsd's address (`source = "gpsd"`).
    pub gpsd: String,
}

impl Default for GnssConfig {
    fn default() -> Self {
        GnssConfig {
            source: GnssKind::Serial,
            device: DEFAULT_GNSS_DEVICE.into(),
            baud: 0,
            gpsd: "127.0.0.1:2947".into(),
        }
    }
}

/// `[ui]`: turned into the environment Slint reads when the window is made.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    /// Screen rotation in degrees (0, 90, 180, 270): `SLINT_KMS_ROTATION`.
    pub rotation: Option<u32>,
    /// UI scale: `SLINT_SCALE_FACTOR`.
    pub scale_factor: Option<f32>,
}

impl UiConfig {
    /// The environment variables these keys set. A variable already in the environment
    /// (`/etc/default/gridpad`, a developer's shell) wins: `is_set` says which are.
    pub fn env(&self, is_set: impl Fn(&str) -> bool) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(r) = self.rotation {
            out.push(("SLINT_KMS_ROTATION", r.to_string()));
        }
        if let Some(s) = self.scale_factor {
            out.push(("SLINT_SCALE_FACTOR", s.to_string()));
        }
        out.retain(|(k, _)| !is_set(k));
        out
    }
}

/// `[update]`: the update agent's table (every key optional).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpdateConfig {
    /// Where releases and state live; the inbox is `<root>/inbox`.
    pub root: PathBuf,
    /// A `.pub` release key or a directory of them.
    pub keys: PathBuf,
    /// The Debian package bundles must carry.
    pub package: String,
    /// This device's Debian architecture; empty = the architecture of this build.
    pub target: String,
    /// The program inside a release checked by the health check.
    pub binary: String,
    /// The packaged program, whose `--version` is the installed version before any bundle.
    pub base_binary: PathBuf,
    /// How long the health check's commands may take, each.
    pub health_timeout_secs: u64,
    /// Restarts the app after the switch (e.g. `["systemctl","restart","gridpad.service"]`);
    /// empty: no restart.
    pub restart_command: Vec<String>,
    /// Seconds to wait after the restart before `health_command`.
    pub settle_secs: u64,
    /// Run after the restart; must exit 0. `{bin}` and `{version}` are replaced. Empty: none.
    pub health_command: Vec<String>,
    /// Starts of a release left pending before boot-check gives up on it.
    pub max_boot_attempts: u32,
    /// PEM of the CA that signed gridhub's certificate, for URLs on the hub dropped into
    /// the inbox (absent: the system's roots).
    pub hub_ca: Option<PathBuf>,
}

impl Default for UpdateConfig {
    fn default() -> Self {
        UpdateConfig {
            root: "/var/lib/gridpad-update".into(),
            keys: "/etc/gridpad/update-keys".into(),
            package: "gridpad".into(),
            target: String::new(),
            binary: "usr/bin/gridpad".into(),
            base_binary: "/usr/bin/gridpad".into(),
            health_timeout_secs: 30,
            restart_command: Vec::new(),
            settle_secs: 10,
            health_command: Vec::new(),
            max_boot_attempts: 3,
            hub_ca: None,
        }
    }
}

/// The Debian architecture of this build (`arm64`, `armhf`, `amd64`).
pub fn native_target() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        "arm" => "armhf",
        "x86_64" => "amd64",
        "x86" => "i386",
        other => other,
    }
}

impl UpdateConfig {
    /// The Debian architecture bundles must be built for.
    pub fn device_target(&self) -> String {
        if self.target.is_empty() {
            native_target().to_string()
        } else {
            self.target.clone()
        }
    }

    /// Where bundles (`*.gpb`) and URLs (`*.url`) wait for the agent.
    pub fn inbox(&self) -> PathBuf {
        self.root.join("inbox")
    }
}

impl DeviceConfig {
    /// Read the configuration; a missing file means the defaults. A file that is not
    /// valid TOML, has a wrong type, an unknown key or a value out of range is an error
    /// naming the file.
    pub fn load(path: &Path) -> Result<DeviceConfig, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(DeviceConfig::default())
            }
            Err(e) => return Err(ConfigError::new(path, e.to_string())),
        };
        Self::parse(&text).map_err(|m| ConfigError::new(path, m))
    }

    /// [`DeviceConfig::load`] of a text.
    pub fn parse(text: &str) -> Result<DeviceConfig, String> {
        let c: DeviceConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        c.check()?;
        Ok(c)
    }

    fn check(&self) -> Result<(), String> {
        let http = self.hub_url.starts_with("https://") || self.hub_url.starts_with("http://");
        if !self.hub_url.is_empty() && !http {
            return Err(format!(
                "hub_url {:?} must be an http(s) URL (or empty)",
                self.hub_url
            ));
        }
        if let Some(r) = self.ui.rotation {
            if ![0, 90, 180, 270].contains(&r) {
                return Err(format!("[ui] rotation = {r}: must be 0, 90, 180 or 270"));
            }
        }
        if let Some(s) = self.ui.scale_factor {
            if !(0.25..=8.0).contains(&s) {
                return Err(format!(
                    "[ui] scale_factor = {s}: must be between 0.25 and 8"
                ));
            }
        }
        if self.gnss.source == GnssKind::Serial && self.gnss.device.trim().is_empty() {
            return Err("[gnss] source = \"serial\" needs a device".into());
        }
        if self.gnss.source == GnssKind::Gpsd && self.gnss.gpsd.trim().is_empty() {
            return Err("[gnss] source = \"gpsd\" needs a gpsd address".into());
        }
        Ok(())
    }

    /// The configured hub, if any.
    pub fn hub(&self) -> Option<&str> {
        Some(self.hub_url.trim()).filter(|h| !h.is_empty())
    }
}

/// Whether two hub addresses name the same hub (scheme and host case, a trailing slash
/// and surrounding spaces do not matter).
pub fn same_hub(a: &str, b: &str) -> bool {
    fn norm(u: &str) -> String {
        let u = u.trim().trim_end_matches('/');
        match u.split_once("://") {
            Some((scheme, rest)) => {
                let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
                format!(
                    "{}://{}/{}",
                    scheme.to_ascii_lowercase(),
                    host.to_ascii_lowercase(),
                    path
                )
            }
            None => u.to_string(),
        }
    }
    norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../../packaging/debian/gridpad/gridpad.toml");

    #[test]
    fn the_shipped_file_is_read_whole_and_agrees_with_the_defaults_on_gnss() {
        let c = DeviceConfig::parse(SHIPPED).expect("the shipped gridpad.toml");
        assert_eq!(c.lock_after_days_offline, 14);
        assert_eq!(c.gnss, GnssConfig::default(), "one GNSS default");
        assert_eq!(c.gnss.device, DEFAULT_GNSS_DEVICE);
        assert_eq!(c.ui.rotation, Some(0));
        assert_eq!(c.ui.scale_factor, Some(2.0));
        assert_eq!(c.update.max_boot_attempts, 3);
        assert_eq!(c.data_dir.as_deref(), Some(Path::new("/var/lib/gridpad")));
    }

    #[test]
    fn a_missing_file_is_the_defaults_and_a_bad_one_names_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gridpad.toml");
        assert_eq!(DeviceConfig::load(&p).unwrap(), DeviceConfig::default());
        std::fs::write(&p, "lock_after_day_offline = 7\n").unwrap();
        let e = DeviceConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("gridpad.toml"), "{e}");
        assert!(e.contains("unknown field `lock_after_day_offline`"), "{e}");
        assert!(
            e.contains("lock_after_days_offline"),
            "names what it expected: {e}"
        );
        std::fs::write(&p, "[gnss]\ndevcie = \"/dev/ttyUSB0\"\n").unwrap();
        let e = DeviceConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("unknown field `devcie`"), "{e}");
        std::fs::write(&p, "[ui]\nrotation = 45\n").unwrap();
        let e = DeviceConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("rotation = 45"), "{e}");
        std::fs::write(&p, "[gnss]\nsource = \"usb\"\n").unwrap();
        let e = DeviceConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("unknown variant `usb`"), "{e}");
        std::fs::write(&p, "hub_url = \"hub.example.cn\"\n").unwrap();
        assert!(DeviceConfig::load(&p).is_err());
    }

    #[test]
    fn ui_keys_become_slint_environment_unless_already_set() {
        let ui = UiConfig {
            rotation: Some(90),
            scale_factor: Some(1.5),
        };
        assert_eq!(
            ui.env(|_| false),
            vec![
                ("SLINT_KMS_ROTATION", "90".to_string()),
                ("SLINT_SCALE_FACTOR", "1.5".to_string())
            ]
        );
        assert_eq!(
            ui.env(|k| k == "SLINT_SCALE_FACTOR"),
            vec![("SLINT_KMS_ROTATION", "90".to_string())]
        );
        assert!(UiConfig::default().env(|_| false).is_empty());
    }

    #[test]
    fn hub_addresses_compare_as_addresses() {
        assert!(same_hub(
            "https://Hub.example.cn/",
            "https://hub.example.cn"
        ));
        assert!(same_hub(
            " http://127.0.0.1:8470 ",
            "http://127.0.0.1:8470/"
        ));
        assert!(!same_hub(
            "https://hub.example.cn/",
            "https://hub2.example.cn/"
        ));
        assert!(!same_hub("http://127.0.0.1:8470", "http://127.0.0.1:8471"));
    }
}

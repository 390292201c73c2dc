//! Device UI settings kept beside the encrypted database in `ui-settings.json`: language,
//! text size, high contrast, the GNSS source chosen on this device (else gridpad.toml's
//! `[gnss]`), hub address. Nothing personal: the login screen needs them before the store
//! is unlocked.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const FILE: &str = "ui-settings.json";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Bundled translation: "zh_CN" or "en".
    pub language: String,
    pub text_scale: f32,
    pub high_contrast: bool,
    /// The GNSS source chosen on the settings screen (`GnssSource::parse`); `None`: the
    /// configuration's `[gnss]`. (Older files' `gnss_source`, always written with the old
    /// default, is not read.)
    pub gnss_override: Option<String>,
    pub hub: String,
    /// Shown on the lock screen (the grid's name is not personal data).
    pub grid_name: String,
    /// Minutes without input before the app locks itself; 0 = never.
    pub auto_lock_min: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            language: "zh_CN".into(),
            text_scale: 1.0,
            high_contrast: false,
            gnss_override: None,
            hub: String::new(),
            grid_name: String::new(),
            auto_lock_min: 5,
        }
    }
}

impl Settings {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(FILE)
    }

    /// The settings in `dir`, or the defaults when there are none or they are damaged.
    pub fn load(dir: &Path) -> Settings {
        std::fs::read(Self::path(dir))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Write atomically (temp file + rename), private to the user like everything in
    /// the data directory (`gridpad_core::private`).
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        use std::io::Write;
        gridpad_core::private::create_dir(dir)?;
        let tmp = dir.join(format!("{FILE}.tmp"));
        gridpad_core::private::create_file(&tmp)?.write_all(&serde_json::to_vec_pretty(self)?)?;
        std::fs::rename(tmp, Self::path(dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_survive_damage() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Settings::load(dir.path()), Settings::default());
        let s = Settings {
            language: "en".into(),
            text_scale: 1.2,
            ..Default::default()
        };
        s.save(dir.path()).unwrap();
        assert_eq!(Settings::load(dir.path()), s);
        std::fs::write(Settings::path(dir.path()), b"{not json").unwrap();
        assert_eq!(Settings::load(dir.path()), Settings::default());
    }
}

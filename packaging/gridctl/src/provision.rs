//! Per-device provisioning: a CSV of devices → one `provision.toml` per device, on a mounted
//! data partition, in one directory per device (bulk), or inside a disk image's data
//! partition.
//!
//! `provision.toml` (written to `<data partition>/gridpad/provision.toml`, seen by the app as
//! `/var/lib/gridpad/provision.toml`, mode 0600):
//!
//! ```toml
//! format = 1
//! device_label = "dongcheng-001"     # unique per fleet; shown in gridhub
//! serial = "RG-2207-00017"           # optional: the hardware serial
//! hub_url = "https://hub.example.cn/"
//! enrollment_code = "K7QM-2XVD-9HTA" # one-time; gridhub accepts it once, for this label
//! grid_code = "441900105001"         # the device's home grid (网格编码)
//! grid_name = "东城街道 1 网格"       # optional
//! identity_seed = "<64 hex>"         # 32 random bytes: the device's Ed25519 identity seed
//! identity_public_key = "<64 hex>"   # its public key (gridhub can pre-authorise it)
//! created = "2026-11-22T23:00:00Z"
//! ```
//!
//! On first boot the app enrolls with `enrollment_code` (and proves the identity by signing
//! with the seed's key), moves the seed into its encrypted store and deletes this file.

use anyhow::{bail, Context, Result};
use ring::rand::SecureRandom;
use ring::signature::KeyPair;
use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Provision {
    pub format: u32,
    pub device_label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    pub hub_url: String,
    pub enrollment_code: String,
    pub grid_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid_name: Option<String>,
    pub identity_seed: String,
    pub identity_public_key: String,
    pub created: String,
}

/// One row of the fleet manager's CSV. Columns (header required, any order):
/// `label` (required), `grid_code` (required), `hub_url`, `enrollment_code`, `serial`,
/// `grid_name`. Empty `hub_url` → `--hub-url`; empty `enrollment_code` → generated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Row {
    pub label: String,
    pub grid_code: String,
    pub hub_url: String,
    pub enrollment_code: String,
    pub serial: String,
    pub grid_name: String,
}

/// RFC 4180 CSV: quoted fields with `""` escapes and embedded commas/newlines; a UTF-8 BOM
/// (Excel) is skipped.
pub fn parse_csv(text: &str) -> Result<Vec<Vec<String>>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut line = 1;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c)
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                line += 1;
                row.push(std::mem::take(&mut field));
                if !(row.len() == 1 && row[0].trim().is_empty()) {
                    rows.push(std::mem::take(&mut row));
                } else {
                    row.clear();
                }
            }
            _ => field.push(c),
        }
    }
    if quoted {
        bail!("CSV: unterminated quoted field (line {line})");
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

pub fn rows_from_csv(text: &str) -> Result<Vec<Row>> {
    let mut rows = parse_csv(text)?.into_iter();
    let header: Vec<String> = rows
        .next()
        .context("CSV is empty")?
        .into_iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let label = col("label").context("CSV header has no `label` column")?;
    let grid = col("grid_code").context("CSV header has no `grid_code` column")?;
    let known = [
        "label",
        "grid_code",
        "hub_url",
        "enrollment_code",
        "serial",
        "grid_name",
    ];
    if let Some(h) = header.iter().find(|h| !known.contains(&h.as_str())) {
        bail!("CSV: unknown column `{h}` (known: {})", known.join(", "));
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (i, r) in rows.enumerate() {
        let line = i + 2;
        let get = |c: Option<usize>| {
            c.and_then(|c| r.get(c))
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let row = Row {
            label: get(Some(label)),
            grid_code: get(Some(grid)),
            hub_url: get(col("hub_url")),
            enrollment_code: get(col("enrollment_code")),
            serial: get(col("serial")),
            grid_name: get(col("grid_name")),
        };
        if row.label.is_empty() {
            bail!("CSV row {line}: empty label");
        }
        if !row
            .label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || row.label.starts_with('.')
        {
            bail!(
                "CSV row {line}: label {:?} may only use A-Z a-z 0-9 - _ . (it names a directory)",
                row.label
            );
        }
        if row.grid_code.is_empty() || !row.grid_code.chars().all(|c| c.is_ascii_digit()) {
            bail!(
                "CSV row {line}: grid_code {:?} must be digits",
                row.grid_code
            );
        }
        if !seen.insert(row.label.clone()) {
            bail!("CSV row {line}: label {} appears twice", row.label);
        }
        out.push(row);
    }
    if out.is_empty() {
        bail!("CSV has a header but no devices");
    }
    Ok(out)
}

/// A one-time enrollment code: 12 characters of Crockford base32 (60 bits), in groups of 4.
pub fn enrollment_code(rng: &dyn SecureRandom) -> Result<String> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut b = [0u8; 12];
    rng.fill(&mut b)
        .map_err(|_| anyhow::anyhow!("no randomness"))?;
    let s: String = b
        .iter()
        .map(|x| ALPHABET[(*x & 31) as usize] as char)
        .collect();
    Ok(format!("{}-{}-{}", &s[0..4], &s[4..8], &s[8..12]))
}

pub fn make(row: &Row, default_hub: Option<&str>, rng: &dyn SecureRandom) -> Result<Provision> {
    let hub_url = if !row.hub_url.is_empty() {
        row.hub_url.clone()
    } else {
        default_hub
            .map(str::to_string)
            .with_context(|| format!("{}: no hub_url in the CSV and no --hub-url", row.label))?
    };
    if !(hub_url.starts_with("https://") || hub_url.starts_with("http://")) {
        bail!("{}: hub_url {hub_url:?} must be an http(s) URL", row.label);
    }
    let mut seed = [0u8; 32];
    rng.fill(&mut seed)
        .map_err(|_| anyhow::anyhow!("no randomness"))?;
    let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed)
        .map_err(|_| anyhow::anyhow!("bad seed"))?;
    Ok(Provision {
        format: 1,
        device_label: row.label.clone(),
        serial: Some(row.serial.clone()).filter(|s| !s.is_empty()),
        hub_url,
        enrollment_code: if row.enrollment_code.is_empty() {
            enrollment_code(rng)?
        } else {
            row.enrollment_code.clone()
        },
        grid_code: row.grid_code.clone(),
        grid_name: Some(row.grid_name.clone()).filter(|s| !s.is_empty()),
        identity_seed: hex::encode(seed),
        identity_public_key: hex::encode(pair.public_key().as_ref()),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

pub fn to_toml(p: &Provision) -> String {
    format!(
        "# Gridpad device provisioning, written by gridctl. Read once by gridpad on first boot,\n\
         # which enrolls with gridhub, keeps the identity in its encrypted store and deletes\n\
         # this file. Secret: the identity seed and the enrollment code.\n{}",
        toml::to_string(p).expect("serialise provision")
    )
}

/// The record gridhub imports to pre-authorise devices (no seed: only the public key).
#[derive(Serialize)]
pub struct EnrollmentRecord<'a> {
    pub device_label: &'a str,
    pub serial: Option<&'a str>,
    pub grid_code: &'a str,
    pub enrollment_code: &'a str,
    pub identity_public_key: &'a str,
}

impl<'a> From<&'a Provision> for EnrollmentRecord<'a> {
    fn from(p: &'a Provision) -> Self {
        EnrollmentRecord {
            device_label: &p.device_label,
            serial: p.serial.as_deref(),
            grid_code: &p.grid_code,
            enrollment_code: &p.enrollment_code,
            identity_public_key: &p.identity_public_key,
        }
    }
}

/// Writes `<data root>/gridpad/provision.toml` (0600; directory 0700), refusing to replace
/// an existing one unless `force`.
pub fn write_to_data_root(root: &Path, p: &Provision, force: bool) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let dir = root.join("gridpad");
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    let path = dir.join("provision.toml");
    if path.exists() && !force {
        bail!(
            "{} exists (device already provisioned); pass --force to replace it",
            path.display()
        );
    }
    gridpad_update::write_atomic(&path, to_toml(p).as_bytes(), 0o600)?;
    // Owned like its directory (the app's user when the partition was prepared for it; the
    // change needs root and is skipped otherwise).
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&dir)?;
    let _ = std::os::unix::fs::chown(&path, Some(meta.uid()), Some(meta.gid()));
    Ok(path)
}

/// Writes provision files into the data partition of a disk image without mounting it:
/// finds the partition (GPT name `data`, else the last one) with `sfdisk --json`, then writes
/// with `debugfs` at the partition's offset (ext4).
pub fn write_to_image(image: &Path, p: &Provision, force: bool) -> Result<String> {
    let out = std::process::Command::new("sfdisk")
        .arg("--json")
        .arg(image)
        .output()
        .context("sfdisk (util-linux) is needed to read the image's partition table")?;
    if !out.status.success() {
        bail!(
            "{}: no partition table: {}",
            image.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let table = &v["partitiontable"];
    let sector = table["sectorsize"].as_u64().unwrap_or(512);
    let parts = table["partitions"].as_array().context("no partitions")?;
    let part = parts
        .iter()
        .find(|p| p["name"].as_str() == Some("data"))
        .or_else(|| parts.last())
        .context("image has no partitions")?;
    let offset = part["start"].as_u64().context("partition start")? * sector;
    let spec = format!("{}?offset={offset}", image.display());
    let debugfs = |cmds: &str| -> Result<String> {
        let mut child = std::process::Command::new("debugfs")
            .arg("-w")
            .arg("-f")
            .arg("-")
            .arg(&spec)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .context("debugfs (e2fsprogs) is needed to write into an image")?;
        use std::io::Write;
        child.stdin.take().unwrap().write_all(cmds.as_bytes())?;
        let o = child.wait_with_output()?;
        Ok(format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ))
    };
    let probe = debugfs("stat /gridpad/provision.toml\n")?;
    if probe.contains("Bad magic number") || probe.contains("Couldn't find valid filesystem") {
        bail!(
            "{}: the data partition at offset {offset} is not ext4",
            image.display()
        );
    }
    let exists = probe.contains("Inode:") && !probe.contains("File not found");
    if exists && !force {
        bail!(
            "{}: /gridpad/provision.toml exists in the data partition; pass --force to replace it",
            image.display()
        );
    }
    let tmp = tempfile_path()?;
    std::fs::write(&tmp, to_toml(p))?;
    // The file belongs to whoever owns /gridpad on the partition (the app's user, as the
    // image build made it), so the app can read and then delete it.
    let dir = debugfs("stat /gridpad\n")?;
    let owner = |key: &str| {
        dir.split(key)
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse::<u32>().ok())
    };
    let chown = match (owner("User:"), owner("Group:")) {
        (Some(u), Some(g)) if dir.contains("Inode:") => {
            format!("sif /gridpad/provision.toml uid {u}\nsif /gridpad/provision.toml gid {g}\n")
        }
        _ => String::new(),
    };
    let cmds = format!(
        "mkdir /gridpad\nsif /gridpad mode 040700\n{}write {} /gridpad/provision.toml\nsif /gridpad/provision.toml mode 0100600\n{chown}",
        if exists { "rm /gridpad/provision.toml\n" } else { "" },
        tmp.display()
    );
    let log = debugfs(&cmds);
    let _ = std::fs::remove_file(&tmp);
    let log = log?;
    let check = debugfs("stat /gridpad/provision.toml\n")?;
    if !check.contains("Inode:") || check.contains("File not found") {
        bail!("debugfs did not write the file: {log}");
    }
    Ok(format!(
        "{} partition {} (offset {offset}): /gridpad/provision.toml",
        image.display(),
        part["name"].as_str().unwrap_or("(last)")
    ))
}

fn tempfile_path() -> Result<PathBuf> {
    let mut b = [0u8; 8];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| anyhow::anyhow!("no randomness"))?;
    Ok(std::env::temp_dir().join(format!("gridctl-provision-{}.toml", hex::encode(b))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_bom_and_validation() {
        let t = "\u{feff}label,grid_code,grid_name,hub_url\r\n\
                 dc-001,441900105001,\"东城街道 1 网格, 北区\",https://hub.example/\r\n\
                 dc-002,441900105002,\"say \"\"hi\"\"\",\n\n";
        let rows = rows_from_csv(t).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].grid_name, "东城街道 1 网格, 北区");
        assert_eq!(rows[1].grid_name, "say \"hi\"");
        assert_eq!(rows[1].hub_url, "");
        assert!(rows_from_csv("label,grid_code\n../x,1\n").is_err());
        assert!(rows_from_csv("label,grid_code\na,1\na,2\n").is_err());
        assert!(rows_from_csv("label,grid_code\na,12x\n").is_err());
        assert!(rows_from_csv("label,grid,zzz\n").is_err());
        assert!(rows_from_csv("label,grid_code\n").is_err());
    }

    #[test]
    fn provision_has_a_working_identity() {
        let rng = ring::rand::SystemRandom::new();
        let row = Row {
            label: "dc-001".into(),
            grid_code: "441900105001".into(),
            ..Default::default()
        };
        assert!(make(&row, None, &rng).is_err());
        let p = make(&row, Some("https://hub.example/"), &rng).unwrap();
        assert_eq!(p.enrollment_code.len(), 14);
        let seed = hex::decode(&p.identity_seed).unwrap();
        let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
        assert_eq!(
            hex::encode(pair.public_key().as_ref()),
            p.identity_public_key
        );
        let text = to_toml(&p);
        let back: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(back["grid_code"].as_str(), Some("441900105001"));
        assert!(back.get("serial").is_none());
    }
}

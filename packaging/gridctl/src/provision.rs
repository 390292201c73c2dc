//! Per-device provisioning: a CSV of devices → an enrollment code per device, issued by
//! gridhub (`POST /v1/admin/enrollment-codes` with an admin token: the hub knows every code
//! it will accept, for whom, until when) → one `provision.toml` per device
//! (`gridpad_config::provision`), on a mounted data partition, in one directory per device
//! (bulk), or inside a disk image's data partition. The device reads it on its first start
//! and enrolls by itself (`gridpad_sync::provision`).

use anyhow::{bail, Context, Result};
use gridpad_config::provision::{Provision, FORMAT};
use ring::rand::SecureRandom;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// One row of the fleet manager's CSV. Columns (header required, any order): `label`
/// (required), then whom the device is for — `account` (a field staff account of the hub:
/// its grids come from its node) or `user` (a name) with `grid_code` — and optionally
/// `serial`, `grid_name` (`grid_code` may go with `account` too: the device's home grid).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Row {
    pub label: String,
    pub grid_code: String,
    pub user: String,
    pub account: String,
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
    let known = [
        "label",
        "grid_code",
        "user",
        "account",
        "serial",
        "grid_name",
    ];
    for h in &header {
        match h.as_str() {
            "enrollment_code" => bail!(
                "CSV: column `enrollment_code`: codes are issued by gridhub now (gridctl asks it for one per device); remove the column"
            ),
            "hub_url" => bail!("CSV: column `hub_url`: one hub per run, given with --hub-url; remove the column"),
            h if !known.contains(&h) => {
                bail!("CSV: unknown column `{h}` (known: {})", known.join(", "))
            }
            _ => {}
        }
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
            grid_code: get(col("grid_code")),
            user: get(col("user")),
            account: get(col("account")),
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
        if !row.grid_code.chars().all(|c| c.is_ascii_digit()) {
            bail!(
                "CSV row {line}: grid_code {:?} must be digits",
                row.grid_code
            );
        }
        match (row.account.is_empty(), row.user.is_empty(), row.grid_code.is_empty()) {
            (false, true, _) => {}
            (true, false, false) => {}
            (false, false, _) => bail!("CSV row {line}: `account` or `user`, not both"),
            (true, false, true) => bail!("CSV row {line}: `user` needs a grid_code"),
            (true, true, _) => bail!(
                "CSV row {line}: whom is {} for? an `account` (field staff) or a `user` with a grid_code",
                row.label
            ),
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

/// What the hub answered for one device (`POST /v1/admin/enrollment-codes`).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Issued {
    pub code: String,
    pub expires_ms: u64,
    pub user: String,
    #[allow(dead_code)]
    pub grids: Vec<String>,
}

/// Ask the hub for `row`'s one-time code, valid `days`, labelled with the device's label.
pub fn issue(client: &gridpad_sync::http::TokenClient, row: &Row, days: u64) -> Result<Issued> {
    let body = if row.account.is_empty() {
        serde_json::json!({"user": row.user, "grids": [row.grid_code], "label": row.label, "ttl_days": days})
    } else {
        serde_json::json!({"account": row.account, "label": row.label, "ttl_days": days})
    };
    client
        .post_json("/v1/admin/enrollment-codes", &body)
        .with_context(|| format!("{}: the hub did not issue an enrollment code", row.label))
}

/// The device's provisioning: the hub, its CA (pinned by the device), the hub's code.
pub fn make(row: &Row, hub_url: &str, hub_ca_pem: Option<&str>, issued: &Issued) -> Provision {
    let time = |ms: u64| {
        chrono::DateTime::from_timestamp_millis(ms as i64)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    Provision {
        format: FORMAT,
        device_label: row.label.clone(),
        serial: Some(row.serial.clone()).filter(|s| !s.is_empty()),
        hub_url: hub_url.to_string(),
        hub_ca_pem: hub_ca_pem.map(str::to_string),
        enrollment_code: Some(issued.code.clone()),
        holder: issued.user.clone(),
        grid_code: row.grid_code.clone(),
        grid_name: Some(row.grid_name.clone()).filter(|s| !s.is_empty()),
        code_expires: Some(time(issued.expires_ms)),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        used_at: None,
        used_by_device: None,
    }
}

/// Whether `<data root>/gridpad/provision.toml` may be written (checked for every device
/// before the hub is asked for any code).
pub fn check_data_root(root: &Path, force: bool) -> Result<()> {
    let path = root.join("gridpad").join(gridpad_config::provision::FILE);
    if path.exists() && !force {
        bail!(
            "{} exists (device already provisioned); pass --force to replace it",
            path.display()
        );
    }
    Ok(())
}

/// Writes `<data root>/gridpad/provision.toml` (0600; directory 0700), refusing to replace
/// an existing one unless `force`.
pub fn write_to_data_root(root: &Path, p: &Provision, force: bool) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let dir = root.join("gridpad");
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    check_data_root(root, force)?;
    let path = dir.join(gridpad_config::provision::FILE);
    gridpad_update::write_atomic(&path, p.to_toml().as_bytes(), 0o600)?;
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
    write_or_check_image(image, Some(p), force)
}

/// Whether the image's data partition may take a provision file (checked before the hub
/// is asked for a code).
pub fn check_image(image: &Path, force: bool) -> Result<()> {
    write_or_check_image(image, None, force).map(|_| ())
}

fn write_or_check_image(image: &Path, p: Option<&Provision>, force: bool) -> Result<String> {
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
    let Some(p) = p else {
        return Ok(String::new());
    };
    let tmp = tempfile_path()?;
    std::fs::write(&tmp, p.to_toml())?;
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
        let t = "\u{feff}label,grid_code,grid_name,user\r\n\
                 dc-001,441900105001,\"东城街道 1 网格, 北区\",张三\r\n\
                 dc-002,441900105002,\"say \"\"hi\"\"\",李四\n\n";
        let rows = rows_from_csv(t).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].grid_name, "东城街道 1 网格, 北区");
        assert_eq!(rows[1].grid_name, "say \"hi\"");
        assert_eq!(rows[1].user, "李四");
        assert!(rows_from_csv("label,grid_code,user\n../x,1,a\n").is_err());
        assert!(rows_from_csv("label,grid_code,user\na,1,x\na,2,y\n").is_err());
        assert!(rows_from_csv("label,grid_code,user\na,12x,z\n").is_err());
        assert!(rows_from_csv("label,grid,zzz\n").is_err());
        assert!(rows_from_csv("label,grid_code\n").is_err());
        // Whom each device is for.
        assert!(rows_from_csv("label,grid_code\na,1\n").is_err());
        assert!(rows_from_csv("label,user\na,张三\n").is_err());
        assert!(rows_from_csv("label,account,user\na,zhang,张三\n").is_err());
        assert_eq!(
            rows_from_csv("label,account\na,zhang\n").unwrap()[0].account,
            "zhang"
        );
        let e = rows_from_csv("label,grid_code,user,enrollment_code\na,1,x,K7QM-2XVD-9HTA\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("issued by gridhub"), "{e}");
    }
}

//! `gridctl provision`: each device's provisioning from a CSV — an enrollment code issued by
//! gridhub for the device's holder (admin token), the hub's URL and CA — onto mounted data
//! partitions, per-device directories or a disk image (`crate::provision` does the
//! writing). Every target is checked before the hub is asked for any code.

use crate::provision;
use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use gridpad_sync::http::{HubTls, TokenClient};
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Layout {
    Bulk,
    Partition,
}

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    csv: PathBuf,
    /// A directory (mounted data partition, or the parent of per-device directories) or a
    /// disk image file.
    #[arg(long)]
    target: PathBuf,
    /// `bulk`: <target>/<label>/gridpad/provision.toml for every row; `partition`:
    /// <target>/gridpad/provision.toml for the one device chosen with --device (or the
    /// only row). Images are always `partition`.
    #[arg(long, value_enum, default_value_t = Layout::Bulk)]
    layout: Layout,
    /// The CSV row (label) to write with --layout partition or into an image.
    #[arg(long)]
    device: Option<String>,
    /// The hub that issues the codes and that the devices enroll with.
    #[arg(long)]
    hub_url: String,
    /// A file holding an admin API token of that hub (`gridhub admin api-token`); never on
    /// the command line.
    #[arg(long)]
    admin_token_file: PathBuf,
    /// PEM of the CA that signed the hub's certificate (a city's own CA): trusted for the
    /// request and written into each provision.toml, where the device pins it.
    #[arg(long)]
    hub_ca: Option<PathBuf>,
    /// Days the codes stay valid (the hub allows 1–90).
    #[arg(long, default_value_t = 30)]
    days: u64,
    /// Replace existing provision files.
    #[arg(long)]
    force: bool,
}

pub fn run(a: Args) -> Result<()> {
    let text =
        std::fs::read_to_string(&a.csv).with_context(|| format!("read {}", a.csv.display()))?;
    let mut rows = provision::rows_from_csv(&text)?;
    let is_image = a.target.is_file();
    if is_image || a.layout == Layout::Partition {
        rows = match &a.device {
            Some(d) => rows.into_iter().filter(|r| &r.label == d).collect(),
            None if rows.len() == 1 => rows,
            None => bail!(
                "{} rows in the CSV: choose one with --device LABEL for a single data partition or image",
                rows.len()
            ),
        };
        if rows.is_empty() {
            bail!("no CSV row has that label");
        }
    } else if !a.target.is_dir() {
        bail!(
            "{} is neither a directory nor a disk image",
            a.target.display()
        );
    }
    let root = |label: &str| {
        if a.layout == Layout::Partition {
            a.target.clone()
        } else {
            a.target.join(label)
        }
    };
    // Nothing is asked of the hub for a device that could not be written.
    for row in &rows {
        if is_image {
            provision::check_image(&a.target, a.force)?;
        } else {
            provision::check_data_root(&root(&row.label), a.force)?;
        }
    }
    let token = std::fs::read_to_string(&a.admin_token_file)
        .with_context(|| format!("read {}", a.admin_token_file.display()))?;
    let ca_pem = match &a.hub_ca {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .with_context(|| format!("read the hub CA {}", p.display()))?,
        ),
        None => None,
    };
    let tls = HubTls {
        ca_pem: ca_pem.clone().map(String::into_bytes),
    };
    let client = TokenClient::new(&a.hub_url, &tls, token.trim())?;
    let mut made = 0;
    for row in &rows {
        let issued = provision::issue(&client, row, a.days)?;
        let p = provision::make(row, &a.hub_url, ca_pem.as_deref(), &issued);
        let where_ = if is_image {
            provision::write_to_image(&a.target, &p, a.force)?
        } else {
            provision::write_to_data_root(&root(&row.label), &p, a.force)?
                .display()
                .to_string()
        };
        println!(
            "{}  for {}  code {} (until {})  → {where_}",
            p.device_label,
            p.holder,
            issued.code,
            p.code_expires.as_deref().unwrap_or("?")
        );
        made += 1;
    }
    println!(
        "{made} device(s) provisioned with codes issued by {}",
        a.hub_url
    );
    Ok(())
}

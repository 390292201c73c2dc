//! `gridctl provision`: each device's provisioning (hub URL, enrollment code, label, grid,
//! identity seed) from a CSV onto mounted data partitions, per-device directories or a disk
//! image; the enrollment list for gridhub beside it (`crate::provision` does the writing).

use crate::provision;
use anyhow::{bail, Context, Result};
use clap::ValueEnum;
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
    /// Hub URL for rows without one.
    #[arg(long)]
    hub_url: Option<String>,
    /// Replace existing provision files.
    #[arg(long)]
    force: bool,
    /// Where to write the enrollment list for gridhub (labels, codes, public keys; no
    /// secrets). Default: <csv>.enrollment.json
    #[arg(long)]
    enrollment_out: Option<PathBuf>,
}

pub fn run(a: Args) -> Result<()> {
    let Args {
        csv,
        target,
        layout,
        device,
        hub_url,
        force,
        enrollment_out,
    } = a;
    let text = std::fs::read_to_string(&csv).with_context(|| format!("read {}", csv.display()))?;
    let mut rows = provision::rows_from_csv(&text)?;
    let is_image = target.is_file();
    if is_image || layout == Layout::Partition {
        rows = match device {
                    Some(d) => rows.into_iter().filter(|r| r.label == d).collect(),
                    None if rows.len() == 1 => rows,
                    None => bail!(
                        "{} rows in the CSV: choose one with --device LABEL for a single data partition or image",
                        rows.len()
                    ),
                };
        if rows.is_empty() {
            bail!("no CSV row has that label");
        }
    } else if !target.is_dir() {
        bail!(
            "{} is neither a directory nor a disk image",
            target.display()
        );
    }
    let rng = ring::rand::SystemRandom::new();
    let mut made = Vec::new();
    for row in &rows {
        let p = provision::make(row, hub_url.as_deref(), &rng)?;
        let where_ = if is_image {
            provision::write_to_image(&target, &p, force)?
        } else if layout == Layout::Partition {
            provision::write_to_data_root(&target, &p, force)?
                .display()
                .to_string()
        } else {
            provision::write_to_data_root(&target.join(&row.label), &p, force)?
                .display()
                .to_string()
        };
        println!(
            "{}  grid {}  code {}  → {where_}",
            p.device_label, p.grid_code, p.enrollment_code
        );
        made.push(p);
    }
    let records: Vec<provision::EnrollmentRecord> = made.iter().map(Into::into).collect();
    let out = enrollment_out.unwrap_or_else(|| {
        let mut s = csv.clone().into_os_string();
        s.push(".enrollment.json");
        PathBuf::from(s)
    });
    gridpad_update::write_atomic(&out, &serde_json::to_vec_pretty(&records)?, 0o600)?;
    println!(
        "{} device(s) provisioned; enrollment list for gridhub: {}",
        made.len(),
        out.display()
    );
    Ok(())
}

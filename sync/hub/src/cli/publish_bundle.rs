//! `gridhub admin publish-bundle FILE`.

use anyhow::Result;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    file: PathBuf,
    #[arg(long)]
    json: bool,
}

pub fn run(data_dir: &Path, a: Args) -> Result<()> {
    let p = gridhub::bundles::Bundles::new(data_dir).publish_file(&a.file)?;
    if a.json {
        return super::print_json(&p);
    }
    println!(
        "published {} {} for {} ({} bytes, payload SHA-256 {}) at {}",
        p.package, p.version, p.target, p.bundle_size, p.sha256, p.path
    );
    Ok(())
}

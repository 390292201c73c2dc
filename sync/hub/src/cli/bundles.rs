//! `gridhub admin bundles`: published update bundles.

use anyhow::Result;
use std::path::Path;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    json: bool,
}

pub fn run(data_dir: &Path, a: Args) -> Result<()> {
    let list = gridhub::bundles::Bundles::new(data_dir).list()?;
    if a.json {
        return super::print_json(&list);
    }
    for p in list {
        println!(
            "{}\t{}\t{}\t{} bytes\t{}",
            p.target, p.package, p.version, p.bundle_size, p.path
        );
    }
    Ok(())
}

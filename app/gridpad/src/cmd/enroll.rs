//! `gridpad enroll`: enroll this device with the hub using a one-time code.

use super::Ctx;
use anyhow::{Context, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, env = "GRIDPAD_HUB")]
    hub: String,
    #[arg(long)]
    code: String,
    #[arg(long, default_value = "")]
    label: String,
    /// PEM certificate of the authority that signed the hub's HTTPS certificate (a
    /// city's own CA); kept in the store and the only one trusted from then on.
    /// Without it the system's roots are trusted.
    #[arg(long, env = "GRIDPAD_HUB_CA")]
    hub_ca: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let mut store = ctx.open_for_contact()?;
    let ca_pem = match &a.hub_ca {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("reading the hub CA {}", path.display()))?,
        ),
        None => None,
    };
    let resp = gridpad_sync::device::enroll_with_ca(
        &mut store,
        &a.hub,
        &a.code,
        &a.label,
        ca_pem.as_deref(),
    )?;
    println!(
        "enrolled {} as {} for grid(s) {}; run `gridpad sync` to download the grid",
        resp.device_id,
        resp.user,
        resp.grids.join(", ")
    );
    Ok(())
}

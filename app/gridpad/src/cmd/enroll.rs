//! `gridpad enroll`: enroll this device with the hub using a one-time code — given here,
//! or the one in the data directory's `provision.toml`.

use super::Ctx;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The hub (default: `hub_url` of the configuration).
    #[arg(long, env = "GRIDPAD_HUB")]
    hub: Option<String>,
    /// The one-time code; without it, `provision.toml` in the data directory is used.
    #[arg(long)]
    code: Option<String>,
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
    let Some(code) = &a.code else {
        if !super::enroll_if_provisioned(ctx, &mut store)? {
            bail!(
                "no --code, and no unused provision.toml in {}",
                ctx.data_dir.display()
            );
        }
        return Ok(());
    };
    let hub = a
        .hub
        .as_deref()
        .or(ctx.config.hub())
        .context("no --hub, and no hub_url in the configuration")?;
    let ca_pem = match &a.hub_ca {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("reading the hub CA {}", path.display()))?,
        ),
        None => None,
    };
    let resp =
        gridpad_sync::device::enroll_with_ca(&mut store, hub, code, &a.label, ca_pem.as_deref())?;
    println!(
        "enrolled {} as {} for grid(s) {}; run `gridpad sync` to download the grid",
        resp.device_id,
        resp.user,
        resp.grids.join(", ")
    );
    Ok(())
}

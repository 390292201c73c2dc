//! `gridpad init`: create the encrypted store.

use super::{pin_from, Ctx};
use anyhow::{bail, Result};
use gridpad_core::{InitOptions, Store};

#[derive(clap::Args)]
pub struct Args {
    /// Device id (default: a new UUIDv7).
    #[arg(long)]
    device_id: Option<String>,
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let pin = pin_from("GRIDPAD_PIN", "New PIN (6–12 digits): ")?;
    if std::env::var("GRIDPAD_PIN").is_err() {
        let again = rpassword::prompt_password("Repeat the PIN: ")?;
        if again != pin {
            bail!("the PINs differ");
        }
    }
    let store = Store::init(
        &ctx.data_dir,
        &pin,
        InitOptions {
            device_id: a.device_id.clone(),
            ..Default::default()
        },
    )?;
    println!(
        "initialised {} (device {})",
        ctx.data_dir.display(),
        store.device_id()
    );
    Ok(())
}

//! `gridpad init`: create the encrypted store; a provisioned device (`provision.toml` in
//! the data directory) then enrolls with its hub at once.

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
    let mut store = Store::init(
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
    // A first start that cannot reach the hub is not a failed init: `gridpad sync` tries
    // again. A refused file is said now.
    match super::enroll_if_provisioned(ctx, &mut store) {
        Err(e) if is_offline(&e) => {
            eprintln!("provision.toml: the hub cannot be reached yet ({e:#}); `gridpad sync` enrolls once it can")
        }
        other => {
            other?;
        }
    }
    Ok(())
}

fn is_offline(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<gridpad_sync::provision::ProvisionError>(),
        Some(gridpad_sync::provision::ProvisionError::Sync(s)) if s.retryable()
    )
}

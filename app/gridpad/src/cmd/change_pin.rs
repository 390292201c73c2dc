//! `gridpad change-pin`: old PIN from GRIDPAD_PIN (or a prompt), new from GRIDPAD_NEW_PIN.

use super::{pin_from, Ctx};
use anyhow::Result;
use gridpad_core::keyring;

pub fn run(ctx: &Ctx) -> Result<()> {
    let old = pin_from("GRIDPAD_PIN", "Current PIN: ")?;
    let new = pin_from("GRIDPAD_NEW_PIN", "New PIN: ")?;
    keyring::change_pin(&ctx.data_dir, &old, &new)?;
    println!("PIN changed");
    Ok(())
}

//! `gridctl keygen`: an Ed25519 release key (secret key file 0600 + `<file>.pub`).

use anyhow::{bail, Result};
use gridpad_update::keys::SecretKey;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "release.key")]
    out: PathBuf,
    /// Replace an existing key file.
    #[arg(long)]
    force: bool,
}

pub fn run(a: &Args) -> Result<()> {
    if a.out.exists() && !a.force {
        bail!("{} exists; pass --force to replace it", a.out.display());
    }
    let k = SecretKey::generate()?;
    let pub_path = k.save(&a.out)?;
    println!("release key {}", k.key_id());
    println!(
        "  secret: {} (keep offline or in CI secrets)",
        a.out.display()
    );
    println!(
        "  public: {} (install on devices as /etc/gridpad/update-keys/{}.pub)",
        pub_path.display(),
        k.key_id()
    );
    Ok(())
}

//! `gridpad update`: fetch the newest update bundle the hub offers for this device, over
//! the device's own session — the CA pinned at enrollment, its token (fresh from a signed
//! challenge), plain HTTP only to this machine — into the update agent's inbox, where
//! `gridpad-update install-inbox` (started by its path unit) verifies the signature and
//! installs it. The token never leaves the encrypted store.

use super::{not_enrolled, Ctx};
use anyhow::{Context, Result};
use gridpad_sync::device::Session;
use gridpad_sync::updates;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Debian architecture of this device (default: this build's).
    #[arg(long)]
    target: Option<String>,
    /// The update agent's inbox.
    #[arg(long, default_value = "/var/lib/gridpad-update/inbox")]
    inbox: PathBuf,
}

/// The Debian architecture of this build.
fn native_target() -> String {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        "arm" => "armhf",
        "x86_64" => "amd64",
        "x86" => "i386",
        other => other,
    }
    .to_string()
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let mut store = ctx.open()?;
    let mut session = Session::open(&mut store)?.ok_or_else(not_enrolled)?;
    let target = a.target.clone().unwrap_or_else(native_target);
    let client = session.token_client(&mut store)?;
    let Some(offer) = updates::offer(&client, &target)? else {
        println!("the hub offers no update for {target}");
        return Ok(());
    };
    if offer.version == env!("CARGO_PKG_VERSION") {
        println!("up to date: {} is running", offer.version);
        return Ok(());
    }
    // Downloaded (and resumed) in a hidden directory the agent ignores, then moved into
    // the inbox whole.
    let staging = a.inbox.join(".downloading");
    let file = updates::download(&client, &offer.path, &staging)?;
    let name = file.file_name().context("the bundle's file name")?;
    let dest = a.inbox.join(name);
    std::fs::rename(&file, &dest).with_context(|| format!("moving it to {}", dest.display()))?;
    println!(
        "fetched {} {} for {target} ({} bytes) into {}; the update agent verifies and installs it",
        offer.package,
        offer.version,
        offer.bundle_size,
        dest.display()
    );
    Ok(())
}

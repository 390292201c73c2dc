//! `gridpad update`: fetch the newest update bundle the hub offers for this device, over
//! the device's own session — the CA pinned at enrollment, its token (fresh from a signed
//! challenge), plain HTTP only to this machine — into the update agent's inbox, where
//! `gridpad-update install-inbox` (started by its path unit) verifies the signature and
//! installs it. The token never leaves the encrypted store.

use super::{not_enrolled, Ctx};
use anyhow::Result;
use gridpad_sync::device::Session;
use gridpad_sync::updates::{self, Handed};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Debian architecture of this device (default: `[update] target` of the
    /// configuration, else this build's).
    #[arg(long)]
    target: Option<String>,
    /// The update agent's inbox (default: `<[update] root>/inbox`).
    #[arg(long)]
    inbox: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let mut store = ctx.open()?;
    let mut session = Session::open(&mut store)?.ok_or_else(not_enrolled)?;
    let target = a
        .target
        .clone()
        .unwrap_or_else(|| ctx.config.update.device_target());
    let inbox = a.inbox.clone().unwrap_or_else(|| ctx.config.update.inbox());
    let client = session.token_client(&mut store)?;
    let running = env!("CARGO_PKG_VERSION");
    match updates::hand_to_agent(&client, &target, running, &inbox)? {
        Handed::NoOffer => println!("the hub offers no update for {target}"),
        Handed::UpToDate(v) => println!("up to date: {v} is running"),
        Handed::AlreadyHanded(v) => {
            println!("{v} was handed to the update agent before (see `gridpad-update status`)")
        }
        Handed::Fetched { offer, file } => println!(
            "fetched {} {} for {target} ({} bytes) into {}; the update agent verifies and installs it",
            offer.package,
            offer.version,
            offer.bundle_size,
            file.display()
        ),
    }
    Ok(())
}

//! `gridpad fetch-photo SHA256`: download a photo a record on this device references,
//! verified by its SHA-256, over the device's session.

use super::{not_enrolled, Ctx};
use anyhow::{Context, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    sha256: String,
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let mut store = ctx.open()?;
    let mut session = gridpad_sync::device::Session::open(&mut store)?.ok_or_else(not_enrolled)?;
    session.login()?;
    session.keep_token(&mut store)?;
    let sha256 = &a.sha256;
    let n = gridpad_sync::evidence::fetch_photo(&store, &session, sha256)?;
    if let Some(path) = &a.out {
        let vault = gridpad_photo::Vault::open(store.dir(), store.photo_key())?;
        std::fs::write(path, vault.read(sha256)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!("photo {sha256}: {n} bytes, verified");
    Ok(())
}

//! `gridhub admin sweep-photos`: forget abandoned uploads and photos no record names (what
//! `gridhub serve` does every hour, with shorter grace periods when asked).

use anyhow::Result;
use gridhub::Hub;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// Uploads not written for this many hours are removed.
    #[arg(long, default_value_t = 7 * 24)]
    upload_grace_hours: u64,
    /// Stored photos no live record names are removed after this many hours.
    #[arg(long, default_value_t = 24)]
    unreferenced_grace_hours: u64,
    #[arg(long)]
    json: bool,
}

pub fn run(hub: &Hub, a: Args) -> Result<()> {
    let hours = |h: u64| Duration::from_secs(h.min(24 * 3650) * 3600);
    let s = hub.sweep_photos(
        hours(a.upload_grace_hours),
        hours(a.unreferenced_grace_hours),
    )?;
    if a.json {
        return super::print_json(&s);
    }
    println!(
        "{} abandoned upload(s), {} unnamed photo(s), {} bytes removed",
        s.uploads_removed, s.photos_removed, s.bytes_removed
    );
    Ok(())
}

//! `gridhub admin devices`: device health.

use anyhow::Result;
use gridhub::Hub;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    json: bool,
}

pub fn run(hub: &Hub, a: Args) -> Result<()> {
    let list = hub.device_health(&gridhub::authz::Principal::cli())?;
    if a.json {
        return super::print_json(&list);
    }
    for d in list {
        println!(
            "{}\t{}\t{}\tlast seen {}\tqueue {}\toldest {} s\tdead {}\tclock {:+} ms\t{}",
            d.device_id,
            d.label,
            d.status.as_str(),
            d.last_seen_ms,
            d.queue_len,
            d.oldest_pending_s,
            d.dead_letters,
            d.clock_offset_ms,
            d.app_version
        );
    }
    Ok(())
}

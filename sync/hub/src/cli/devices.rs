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
        if let Some(a) = &d.ahead {
            println!(
                "\tahead of the hub: offers {} where the hub expects {} (restored from a backup?)",
                a.offered_seq, a.expected_seq
            );
        }
        for (from, to) in &d.lost_seqs {
            println!("\tlost after a restore: mutations {from}..={to}");
        }
    }
    Ok(())
}

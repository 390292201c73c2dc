//! `gridpad status`: device, grid and store summary.

use super::{print_json, Ctx};
use anyhow::Result;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let store = ctx.open()?;
    let counts = store.counts()?;
    let grid = store.home_grid()?;
    if a.json {
        return print_json(&serde_json::json!({
            "device_id": store.device_id(),
            "hub_url": store.kv("hub_url")?,
            "data_dir": ctx.data_dir,
            "grid": grid,
            "counts": counts,
        }));
    }
    println!("device {}", store.device_id());
    println!(
        "grid   {}",
        grid.map(|g| format!("{} {}", g.code, g.name))
            .unwrap_or_else(|| "-".into())
    );
    println!(
        "holds  {} residents, {} houses, {} units, {} events, {} tasks; {} change(s) waiting",
        counts.persons,
        counts.houses,
        counts.organisations,
        counts.events,
        counts.tasks,
        counts.outbox
    );
    Ok(())
}

//! `gridpad events`: the events on this device, with their deadline colours.

use super::{print_json, Ctx};
use anyhow::Result;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 50)]
    limit: usize,
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let store = ctx.open()?;
    let evs = store.events(a.limit)?;
    if a.json {
        return print_json(&evs);
    }
    for e in evs {
        println!(
            "{}\t{}\t{}\t{}\t{}",
            e.id,
            e.status,
            e.colour.map(|c| c.as_str()).unwrap_or("-"),
            e.category,
            e.description
        );
    }
    Ok(())
}

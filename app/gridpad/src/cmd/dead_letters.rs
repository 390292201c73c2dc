//! `gridpad dead-letters`: changes the hub refused, with the reason.

use super::{print_json, Ctx};
use anyhow::Result;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let store = ctx.open()?;
    let list = store.dead_letters()?;
    if a.json {
        return print_json(&list);
    }
    for d in list {
        println!("#{}	{} {}	{}	{}", d.seq, d.op, d.entity, d.row_id, d.reason);
    }
    Ok(())
}

//! `gridpad conflicts`: your changes superseded by the centre's (or the reverse).

use super::{print_json, Ctx};
use anyhow::Result;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let store = ctx.open()?;
    let list = store.conflict_notices()?;
    if a.json {
        return print_json(&list);
    }
    for c in list {
        println!(
            "{} {} {}: yours {:?}, now {:?} (by {})",
            c.entity, c.row_id, c.field, c.local_value, c.winning_value, c.winner
        );
    }
    Ok(())
}

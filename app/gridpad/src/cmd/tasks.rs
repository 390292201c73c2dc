//! `gridpad tasks`: the tasks from the centre.

use super::{print_json, Ctx};
use anyhow::Result;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let store = ctx.open()?;
    let tasks = store.tasks()?;
    if a.json {
        return print_json(&tasks);
    }
    for t in tasks {
        println!(
            "{}\t{}\t{}\t{}",
            t.id,
            t.status,
            t.colour.map(|c| c.as_str()).unwrap_or("-"),
            t.title
        );
    }
    Ok(())
}

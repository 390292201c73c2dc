//! `gridpad outbox`: what is waiting to be sent to the centre.

use super::{print_json, Ctx};
use anyhow::Result;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 100)]
    limit: usize,
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let store = ctx.open()?;
    let out = store.outbox(a.limit)?;
    if a.json {
        return print_json(&out);
    }
    println!("{} change(s) waiting to be sent", store.outbox_len()?);
    for e in out {
        println!(
            "#{}\t{}\t{}\t{}\t{}",
            e.mutation.seq,
            e.mutation.entity,
            e.mutation.op.to_text(),
            e.mutation.row_id,
            e.created_at
        );
    }
    Ok(())
}

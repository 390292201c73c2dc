//! `gridpad event ID`: one event with its lifecycle timeline.

use super::{beijing, print_json, Ctx};
use anyhow::{anyhow, Result};

#[derive(clap::Args)]
pub struct Args {
    id: String,
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let store = ctx.open()?;
    let id = &a.id;
    let ev = store.event(id)?.ok_or_else(|| anyhow!("no event {id}"))?;
    let history = store.event_history(id)?;
    if a.json {
        return print_json(&serde_json::json!({"event": ev, "history": history}));
    }
    println!("{} — {} ({})", ev.id, ev.description, ev.status);
    for h in history {
        println!("  {}\t{}\t{}\t{}", beijing(h.at), h.status, h.actor, h.note);
    }
    Ok(())
}

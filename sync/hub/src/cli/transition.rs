//! `gridhub admin transition EVENT --status S`: move an event along its lifecycle.

use anyhow::{Context, Result};
use gridhub::Hub;
use gridpad_domain::codes::EventStatus;

#[derive(clap::Args)]
pub struct Args {
    event: String,
    #[arg(long)]
    status: String,
    #[arg(long, default_value = "综治中心")]
    actor: String,
    #[arg(long, default_value = "")]
    note: String,
}

pub fn run(hub: &Hub, a: Args) -> Result<()> {
    let s =
        EventStatus::parse(&a.status).with_context(|| format!("unknown status {}", a.status))?;
    hub.transition_event(&super::cli_as(&a.actor), &a.event, s, &a.note)?;
    println!("event {}: {}", a.event, a.status);
    Ok(())
}

//! `gridhub admin dispatch EVENT`: dispatch an accepted event to its grid as a task.

use anyhow::Result;
use gridhub::Hub;

#[derive(clap::Args)]
pub struct Args {
    event: String,
    #[arg(long, default_value = "综治中心")]
    actor: String,
    #[arg(long, default_value_t = 24)]
    hours: u64,
    #[arg(long)]
    json: bool,
}

pub fn run(hub: &Hub, a: Args) -> Result<()> {
    let task = hub.dispatch_event(&super::cli_as(&a.actor), &a.event, a.hours)?;
    if a.json {
        return super::print_json(&serde_json::json!({"task_id": task}));
    }
    println!("event {} dispatched as task {task}", a.event);
    Ok(())
}

//! `gridhub admin dispatch EVENT`: dispatch an accepted event to its grid as a task, due
//! after the catalog's deadline for its 小类 unless one is given (`--hours` on the clock,
//! `--working-hours`, `--working-days`).

use anyhow::Result;
use gridhub::Hub;

#[derive(clap::Args)]
pub struct Args {
    event: String,
    #[arg(long, default_value = "综治中心")]
    actor: String,
    /// Hours on the clock.
    #[arg(long)]
    hours: Option<u64>,
    #[arg(long)]
    working_hours: Option<u64>,
    #[arg(long)]
    working_days: Option<u64>,
    #[arg(long)]
    json: bool,
}

pub fn run(hub: &Hub, a: Args) -> Result<()> {
    let deadline = gridhub::deadlines::given_deadline(a.hours, a.working_hours, a.working_days)?;
    let task = hub.dispatch_event(&super::cli_as(&a.actor), &a.event, deadline)?;
    if a.json {
        return super::print_json(&serde_json::json!({"task_id": task}));
    }
    println!("event {} dispatched as task {task}", a.event);
    Ok(())
}

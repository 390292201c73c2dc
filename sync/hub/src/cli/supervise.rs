//! `gridhub admin supervise`: one run of the automatic 督办 (what `gridhub serve` does
//! every minute): remind, once per threshold crossed, of every open task's deadline.

use anyhow::Result;
use gridhub::Hub;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    json: bool,
}

pub fn run(hub: &Hub, a: Args) -> Result<()> {
    let s = hub.supervise()?;
    if a.json {
        return super::print_json(&serde_json::json!({"tasks": s.tasks, "reminders": s.reminders}));
    }
    println!(
        "{} task(s) reminded, {} reminder(s) sent",
        s.tasks, s.reminders
    );
    Ok(())
}

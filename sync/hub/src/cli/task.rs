//! `gridhub admin task`: a task for a grid (or a person in it).

use anyhow::Result;
use gridhub::Hub;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    grid: String,
    #[arg(long)]
    title: String,
    #[arg(long, default_value = "")]
    body: String,
    #[arg(long, default_value_t = 24)]
    hours: u64,
    #[arg(long)]
    assignee: Option<String>,
}

pub fn run(hub: &Hub, a: Args) -> Result<()> {
    let id = hub.create_task(
        &gridhub::authz::Principal::cli(),
        &gridhub::centre::NewTask {
            grid: &a.grid,
            title: &a.title,
            body: &a.body,
            deadline: Some(gridpad_domain::worktime::Deadline::hours(
                u32::try_from(a.hours).unwrap_or(u32::MAX),
            )),
            source_event: None,
            assignee: a.assignee.as_deref(),
        },
    )?;
    println!("{id}");
    Ok(())
}

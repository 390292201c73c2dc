//! `gridpad task ID accept|start|complete|reject`.

use super::Ctx;
use anyhow::Result;
use clap::ValueEnum;
use gridpad_core::model::TaskCommand;

#[derive(Clone, Copy, ValueEnum)]
enum TaskAction {
    Accept,
    Start,
    Complete,
    Reject,
}

#[derive(clap::Args)]
pub struct Args {
    id: String,
    #[arg(value_enum)]
    action: TaskAction,
    /// Feedback (complete) or reason (reject).
    #[arg(long, default_value = "")]
    note: String,
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let mut store = ctx.open()?;
    let cmd = match a.action {
        TaskAction::Accept => TaskCommand::Accept,
        TaskAction::Start => TaskCommand::Start,
        TaskAction::Complete => TaskCommand::Complete,
        TaskAction::Reject => TaskCommand::Reject,
    };
    store.task_command(&a.id, cmd, &a.note, &[], None)?;
    println!("task {}: {cmd} recorded", a.id);
    Ok(())
}

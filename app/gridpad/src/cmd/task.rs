//! `gridpad task ID accept|start|complete|reject`; `complete --photo FILE` adds result
//! photos (processed like a report's: the task's category's policy, the stamp, the vault).

use super::{take_photos, Ctx};
use anyhow::{anyhow, bail, Result};
use clap::ValueEnum;
use gridpad_core::model::TaskCommand;
use std::path::PathBuf;

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
    /// A result photo (JPEG/PNG), repeatable: only with `complete`.
    #[arg(long = "photo")]
    photos: Vec<PathBuf>,
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let mut store = ctx.open()?;
    let cmd = match a.action {
        TaskAction::Accept => TaskCommand::Accept,
        TaskAction::Start => TaskCommand::Start,
        TaskAction::Complete => TaskCommand::Complete,
        TaskAction::Reject => TaskCommand::Reject,
    };
    if !a.photos.is_empty() && cmd != TaskCommand::Complete {
        bail!("result photos go with `complete` only");
    }
    let photos = if a.photos.is_empty() {
        vec![]
    } else {
        let task = store
            .queries()
            .task(&a.id)?
            .ok_or_else(|| anyhow!("no task {}", a.id))?;
        let category = task.category_code.clone().unwrap_or_default();
        let who = task.assignee.clone().unwrap_or_default();
        take_photos(&mut store, &a.photos, &category, None, &who)?
    };
    store.task_command(&a.id, cmd, &a.note, &photos, None)?;
    println!("task {}: {cmd} recorded", a.id);
    Ok(())
}

//! `gridhub admin calendar import FILE | list`: the working-time calendar's years (the
//! State Council's holidays and 调休 days, one file per year: `assets/worktime/2026.txt`
//! shows the format). An imported year replaces the shipped one of the same number.

use anyhow::{Context, Result};
use gridhub::Hub;
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Import (or replace) one year from its file.
    Import { file: PathBuf },
    /// The years the hub counts working time with.
    List,
}

pub fn run(hub: &Hub, c: Command) -> Result<()> {
    match c {
        Command::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let year = hub.import_calendar_year(&gridhub::authz::Principal::cli(), &text)?;
            println!("calendar year {year} imported");
        }
        Command::List => {
            let years = hub.calendar()?.years();
            let list: Vec<String> = years.iter().map(|y| y.to_string()).collect();
            println!("{}", list.join("\n"));
        }
    }
    Ok(())
}

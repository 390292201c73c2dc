//! `gridhub admin routing …`: which department handles a 小类 at which level.

use anyhow::{Context, Result};
use gridhub::authz::Principal;
use gridhub::Hub;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Set the departments of a 小类: `--rule street=cg --rule district=cg` (replaces).
    Set {
        #[arg(long)]
        category: String,
        #[arg(long = "rule")]
        rules: Vec<String>,
    },
    List {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(hub: &Hub, c: Command) -> Result<()> {
    let who = Principal::cli();
    match c {
        Command::Set { category, rules } => {
            let rules = rules
                .iter()
                .map(|r| {
                    r.split_once('=')
                        .map(|(l, d)| (l.trim().to_string(), d.trim().to_string()))
                        .with_context(|| format!("a rule is level=department, not {r}"))
                })
                .collect::<Result<Vec<_>>>()?;
            hub.set_routing(&who, &category, &rules)?;
            println!("routing of {category} set");
        }
        Command::List { json } => {
            let list = hub.routing(&who)?;
            if json {
                return super::print_json(&list);
            }
            for r in list {
                println!("{}\t{}\t{}", r.category_code, r.level, r.department_code);
            }
        }
    }
    Ok(())
}

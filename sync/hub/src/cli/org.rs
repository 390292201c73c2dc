//! `gridhub admin org …`: the organisation tree (docs/org-import.md).

use anyhow::{Context, Result};
use gridhub::authz::Principal;
use gridhub::Hub;
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Add or change nodes from a CSV (code,name,level,parent[,boundary]) or JSON-lines
    /// file; all or nothing.
    Import { file: PathBuf },
    /// The nodes, from the top down.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a node with nothing under it and nobody bound to it.
    Remove { node: String },
}

pub fn run(hub: &Hub, c: Command) -> Result<()> {
    let who = Principal::cli();
    match c {
        Command::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let nodes = gridhub::org::parse_import(&text)?;
            let ids = hub.put_nodes(&who, &nodes)?;
            println!("{} nodes imported", ids.len());
        }
        Command::List { json } => {
            let nodes = hub.org_view(&who)?;
            if json {
                return super::print_json(&nodes);
            }
            for n in nodes {
                println!(
                    "{}\t{}\t{}\t{}",
                    n.code,
                    n.level,
                    n.name,
                    n.parent_id.unwrap_or_default()
                );
            }
        }
        Command::Remove { node } => {
            hub.remove_node(&who, &node)?;
            println!("node {node} removed");
        }
    }
    Ok(())
}

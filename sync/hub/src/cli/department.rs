//! `gridhub admin department …`: 职能部门 attached at nodes.

use anyhow::Result;
use gridhub::authz::Principal;
use gridhub::departments::NewDepartment;
use gridhub::Hub;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Attach a department at a node.
    Add {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// Node id or code.
        #[arg(long)]
        node: String,
    },
    List {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(hub: &Hub, c: Command) -> Result<()> {
    let who = Principal::cli();
    match c {
        Command::Add { code, name, node } => {
            let d = hub.add_department(&who, &NewDepartment { code, name, node })?;
            println!("{}", d.id);
        }
        Command::List { json } => {
            let list = hub.departments(&who)?;
            if json {
                return super::print_json(&list);
            }
            for d in list {
                println!("{}\t{}\t{}\t{}", d.code, d.name, d.node_id, d.id);
            }
        }
    }
    Ok(())
}

//! `gridhub admin notice`: publish a notice to every device, or to the devices under a
//! node of the organisation tree (optionally only field staff's).

use anyhow::{anyhow, Result};
use gridhub::notices::NewNotice;
use gridhub::store::Role;
use gridhub::Hub;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    title: String,
    #[arg(long)]
    body: String,
    /// Only the devices under this node (id or code); default: every device.
    #[arg(long)]
    node: Option<String>,
    /// Only the devices of this role under the node (field_staff: devices enrolled for
    /// a person).
    #[arg(long, requires = "node")]
    role: Option<String>,
}

pub fn run(hub: &Hub, a: Args) -> Result<()> {
    let role = match a.role.as_deref() {
        Some(r) => Some(Role::parse(r).ok_or_else(|| anyhow!("unknown role {r}"))?),
        None => None,
    };
    let id = hub.publish_notice(
        &gridhub::authz::Principal::cli(),
        &NewNotice {
            title: &a.title,
            body: &a.body,
            node: a.node.as_deref(),
            role,
        },
    )?;
    println!("{id}");
    Ok(())
}

//! `gridhub admin notice`: publish a notice to all devices.

use anyhow::Result;
use gridhub::Hub;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    title: String,
    #[arg(long)]
    body: String,
}

pub fn run(hub: &Hub, a: Args) -> Result<()> {
    println!(
        "{}",
        hub.create_notice(&gridhub::authz::Principal::cli(), &a.title, &a.body)?
    );
    Ok(())
}

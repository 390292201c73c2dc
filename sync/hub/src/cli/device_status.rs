//! `gridhub admin device-status DEVICE --status locked|wiped|active`.

use anyhow::Result;
use gridhub::Hub;

#[derive(clap::Args)]
pub struct Args {
    device: String,
    #[arg(long, value_parser = ["active", "locked", "wiped"])]
    status: String,
}

pub fn run(hub: &Hub, a: Args) -> Result<()> {
    hub.set_device_status(&gridhub::authz::Principal::cli(), &a.device, &a.status)?;
    println!("device {}: {}", a.device, a.status);
    Ok(())
}

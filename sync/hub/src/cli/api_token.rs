//! `gridhub admin api-token`: a bearer token for the HTTP admin API, printed once.

use anyhow::Result;
use gridhub::Hub;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 30)]
    days: u64,
}

pub fn run(hub: &Hub, a: Args) -> Result<()> {
    println!("{}", hub.issue_admin_token(a.days)?);
    Ok(())
}

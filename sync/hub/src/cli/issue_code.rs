//! `gridhub admin issue-code`: a one-time enrollment code for a device.

use anyhow::Result;
use gridhub::Hub;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    user: String,
    /// Grid id or code (repeatable).
    #[arg(long = "grid", required = true)]
    grids: Vec<String>,
    #[arg(long, default_value = "")]
    label: String,
    #[arg(long, default_value_t = 7)]
    days: u64,
    #[arg(long)]
    json: bool,
}

pub fn run(hub: &Hub, a: Args) -> Result<()> {
    let code = hub.issue_code(
        &gridhub::authz::Principal::cli(),
        &a.user,
        &a.label,
        &a.grids,
        a.days,
    )?;
    if a.json {
        return super::print_json(&serde_json::json!({"code": code}));
    }
    println!("{code}");
    Ok(())
}

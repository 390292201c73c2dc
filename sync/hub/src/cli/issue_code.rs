//! `gridhub admin issue-code`: a one-time enrollment code for a device.

use anyhow::Result;
use gridhub::Hub;

#[derive(clap::Args)]
pub struct Args {
    /// For a field staff account (its grids come from its node).
    #[arg(long, conflicts_with_all = ["user", "grids"])]
    account: Option<String>,
    /// Or: the user's name …
    #[arg(long, required_unless_present = "account", default_value = "")]
    user: String,
    /// … and grid ids or codes (repeatable).
    #[arg(long = "grid", required_unless_present = "account")]
    grids: Vec<String>,
    #[arg(long, default_value = "")]
    label: String,
    #[arg(long, default_value_t = 7)]
    days: u64,
    #[arg(long)]
    json: bool,
}

pub fn run(hub: &Hub, a: Args) -> Result<()> {
    let who = gridhub::authz::Principal::cli();
    let code = match &a.account {
        Some(acc) => hub.issue_code_for(&who, acc, &a.label, a.days)?,
        None => hub.issue_code(&who, &a.user, &a.label, &a.grids, a.days)?,
    };
    if a.json {
        return super::print_json(&serde_json::json!({"code": code}));
    }
    println!("{code}");
    Ok(())
}

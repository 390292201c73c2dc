//! `gridhub admin api-token`: the administrator's bearer token (bootstrap), or with
//! `--account` an account's API token limited to `--scope`s. Printed once.

use anyhow::Result;
use gridhub::authz::Principal;
use gridhub::Hub;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 30)]
    days: u64,
    /// An account's token instead of the administrator's.
    #[arg(long)]
    account: Option<String>,
    /// What the account's token may do (repeatable), e.g. events.read.
    #[arg(long = "scope")]
    scopes: Vec<String>,
    #[arg(long, default_value = "")]
    label: String,
}

pub fn run(hub: &Hub, a: Args) -> Result<()> {
    match a.account {
        None => println!("{}", hub.issue_admin_token(a.days)?),
        Some(user) => {
            let (token, t) =
                hub.create_api_token(&Principal::cli(), &user, &a.label, &a.scopes, a.days)?;
            eprintln!("token {} for {user}: {}", t.id, t.scopes.join(", "));
            println!("{token}");
        }
    }
    Ok(())
}

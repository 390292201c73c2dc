//! `gridhub admin account …`: accounts of the centre and the field. Passwords come from
//! `$GRIDHUB_PASSWORD` or standard input, never the command line.

use anyhow::Result;
use gridhub::accounts::NewAccount;
use gridhub::authz::Principal;
use gridhub::Hub;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create an account (the first system administrator is made here). With --password
    /// the password is read from $GRIDHUB_PASSWORD or standard input.
    Create {
        #[arg(long)]
        username: String,
        /// dispatcher, department_handler, supervisor, fleet_manager, auditor,
        /// system_administrator, field_staff.
        #[arg(long)]
        role: String,
        /// The node (id or code) whose subtree is the account's area.
        #[arg(long)]
        node: String,
        #[arg(long, default_value = "")]
        display_name: String,
        /// The department (id) of a department handler.
        #[arg(long)]
        department: Option<String>,
        /// Read a console password.
        #[arg(long)]
        password: bool,
        #[arg(long)]
        json: bool,
    },
    /// Accounts, with their role, node and state.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Set a password (read from $GRIDHUB_PASSWORD or standard input); ends its sessions.
    Password {
        #[arg(long)]
        username: String,
    },
    /// Turn on the TOTP second factor; prints the secret for the authenticator app.
    Totp {
        #[arg(long)]
        username: String,
    },
    /// Disable an account (ends its sessions), or enable it again.
    Disable {
        #[arg(long)]
        username: String,
        #[arg(long)]
        enable: bool,
    },
}

pub fn run(hub: &Hub, c: Command) -> Result<()> {
    let who = Principal::cli();
    match c {
        Command::Create {
            username,
            role,
            node,
            display_name,
            department,
            password,
            json,
        } => {
            let password = if password {
                Some(super::read_password()?)
            } else {
                None
            };
            let a = hub.create_account(
                &who,
                &NewAccount {
                    username,
                    display_name,
                    role,
                    node,
                    department_id: department,
                    password,
                },
            )?;
            if json {
                return super::print_json(&a);
            }
            println!(
                "account {} ({}) at node {}: {}",
                a.username,
                a.role.as_str(),
                a.node_id,
                a.id
            );
        }
        Command::List { json } => {
            let list = hub.accounts(&who)?;
            if json {
                return super::print_json(&list);
            }
            for a in list {
                println!(
                    "{}\t{}\t{}\t{}{}{}",
                    a.username,
                    a.role.as_str(),
                    a.node_id,
                    a.display_name,
                    if a.locked { "\tlocked" } else { "" },
                    if a.disabled { "\tdisabled" } else { "" }
                );
            }
        }
        Command::Password { username } => {
            hub.set_password(&who, &username, &super::read_password()?)?;
            println!("password of {username} set");
        }
        Command::Totp { username } => {
            let secret = hub.enable_totp(&who, &username)?;
            println!("{secret}");
        }
        Command::Disable { username, enable } => {
            hub.set_account_disabled(&who, &username, !enable)?;
            println!(
                "{username}: {}",
                if enable { "enabled" } else { "disabled" }
            );
        }
    }
    Ok(())
}

//! `gridctl`: the fleet manager's tool — release keys, signed update bundles, provisioning.
//! See `packaging/README.md`. One module per command in `cmd/`; this file parses and
//! dispatches.

mod cmd;
mod provision;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "gridctl", version, about = "Gridpad fleet tool")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create an Ed25519 release key (secret key file 0600 + `<file>.pub` for devices).
    Keygen(cmd::keygen::Args),
    /// Signed update bundles.
    #[command(subcommand)]
    Bundle(cmd::bundle::BundleCmd),
    /// Write each device's provisioning (hub URL and CA, an enrollment code the hub issues,
    /// label, grid) from a CSV onto mounted data partitions, per-device directories, or a
    /// disk image.
    Provision(cmd::provision::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Cmd::Keygen(a) => cmd::keygen::run(&a),
        Cmd::Bundle(b) => cmd::bundle::run(b),
        Cmd::Provision(a) => cmd::provision::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gridctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}

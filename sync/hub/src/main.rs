//! `gridhub`: serve devices, and administer the hub from the command line. One module per
//! command under `cli/`.

mod cli;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    if let Err(e) = gridhub::crash::arm_from_env() {
        eprintln!("gridhub: {e}");
        std::process::exit(2);
    }
    if let Err(e) = cli::run(args) {
        eprintln!("gridhub: {e:#}");
        std::process::exit(1);
    }
}

//! `gridpad`: the grid worker's terminal. This is its command line — the non-GUI face of
//! the device app, used by admins, scripts and tests. One module per command in `cmd/`;
//! this file parses and dispatches.

use clap::Parser;
use std::path::PathBuf;

mod cmd;

#[derive(Parser)]
#[command(
    name = "gridpad",
    version,
    about = "Gridpad — the grid worker's offline terminal"
)]
struct Cli {
    /// Where the encrypted store lives.
    #[arg(long, global = true, env = "GRIDPAD_DATA_DIR", default_value_os_t = default_data_dir())]
    data_dir: PathBuf,
    /// Device configuration (`lock_after_days_offline`; a missing file means no self-lock).
    #[arg(long, global = true, env = "GRIDPAD_CONFIG", default_value = gridpad_core::access::DeviceConfig::PATH)]
    config: PathBuf,
    #[command(subcommand)]
    command: cmd::Command,
}

fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("gridpad")
}

fn main() {
    let cli = Cli::parse();
    // Behave like a Unix tool when piped into `head`: end quietly on a closed pipe. Not
    // for the commands that talk to the hub: there a connection the network cut must be
    // an error to retry (EPIPE), not a signal that kills the process mid-upload.
    if !cli.command.uses_network() {
        // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let ctx = cmd::Ctx {
        data_dir: cli.data_dir,
        config: cli.config,
    };
    if let Err(e) = cli.command.run(&ctx) {
        eprintln!("gridpad: {e:#}");
        std::process::exit(1);
    }
}

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
    /// Where the encrypted store lives (default: the configuration's `data_dir`, else
    /// $XDG_DATA_HOME/gridpad).
    #[arg(long, global = true, env = "GRIDPAD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The device configuration (`gridpad_config::DeviceConfig`; a missing file means the
    /// defaults).
    #[arg(long, global = true, env = "GRIDPAD_CONFIG", default_value = gridpad_config::PATH)]
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
    let config = match gridpad_config::DeviceConfig::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gridpad: {e}");
            std::process::exit(1);
        }
    };
    let ctx = cmd::Ctx {
        data_dir: cli
            .data_dir
            .or_else(|| config.data_dir.clone())
            .unwrap_or_else(default_data_dir),
        config,
    };
    if let Err(e) = cli.command.run(&ctx) {
        eprintln!("gridpad: {e:#}");
        std::process::exit(1);
    }
}

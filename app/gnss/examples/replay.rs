//! `cargo run -p gridpad-gnss --example replay -- FILE [--json]`: the same
//! as `gridpad gnss replay`.

use clap::Parser;
use gridpad_gnss::cli::{run, GnssCommand};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: GnssCommand,
}

fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().collect();
    if args.get(1).is_some_and(|a| a != "replay" && a != "watch") {
        args.insert(1, "replay".into());
    }
    let cli = Cli::parse_from(args);
    run(cli.cmd, &mut std::io::stdout().lock())
}

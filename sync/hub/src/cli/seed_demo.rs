//! `gridhub admin seed-demo`: generate and import a demo town.

use anyhow::Result;
use gridhub::Hub;
use gridpad_demo::DemoSpec;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 1_500)]
    persons: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long)]
    json: bool,
}

pub fn run(hub: &Hub, a: Args) -> Result<()> {
    let s = hub.seed_demo(
        &gridhub::authz::Principal::cli(),
        DemoSpec {
            persons: a.persons,
            seed: a.seed,
        },
    )?;
    if a.json {
        return super::print_json(&s);
    }
    println!(
        "seeded {} residents, {} houses, {} grids; home grid {} ({})",
        s.persons, s.houses, s.grids, s.home_grid_code, s.home_grid_id
    );
    Ok(())
}

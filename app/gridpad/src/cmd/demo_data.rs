//! `gridpad demo-data`: load a generated demo grid, as if synced from the centre.

use super::Ctx;
use anyhow::Result;
use gridpad_core::demo::{self, DemoSpec};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 1_500)]
    persons: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<()> {
    let mut store = ctx.open()?;
    let started = std::time::Instant::now();
    let s = demo::load(
        &mut store,
        DemoSpec {
            persons: a.persons,
            seed: a.seed,
        },
    )?;
    println!(
        "loaded demo data in {:.1} s: {} grids, {} buildings, {} houses, {} residents, {} units, {} facilities, {} catalog entries; home grid {}",
        started.elapsed().as_secs_f64(),
        s.grids, s.buildings, s.houses, s.persons, s.organisations, s.facilities, s.categories, s.home_grid_code
    );
    Ok(())
}

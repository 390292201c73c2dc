//! Demo data on the device: the generator is `gridpad-demo` (shared with the hub's
//! `seed-demo`); loading it into a store is here.

pub use gridpad_demo::*;

use crate::error::Result;
use crate::store::Store;

/// Load a generated grid into a device store as if it had come from the centre, and make
/// its first grid the device's home grid.
pub fn load(store: &mut Store, spec: DemoSpec) -> Result<DemoSummary> {
    let summary = generate(spec, 5_000, |batch| store.apply_remote(&batch))?;
    store.set_kv("grid_id", &summary.home_grid_id)?;
    store.optimize_search()?;
    Ok(summary)
}

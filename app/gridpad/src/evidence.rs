//! Photo evidence on the command line: `gridpad report --photo FILE` (intake with the
//! category's policy, 水印 watermark, encrypted vault, seal). The evidence step of
//! `gridpad sync` is the sync runner's (`gridpad_sync::evidence`), shared with the app.

use anyhow::{Context, Result};
use gridpad_core::model::Position;
use gridpad_core::Store;
use gridpad_photo::{Vault, Watermarker};
use std::path::PathBuf;

/// Take camera files as evidence for a report about to be made: each is processed to the
/// category's photo policy, stamped and stored encrypted. Returns their SHA-256.
pub fn take_photos(
    store: &mut Store,
    files: &[PathBuf],
    category: &str,
    position: Option<&Position>,
    reporter: &str,
) -> Result<Vec<String>> {
    if files.is_empty() {
        return Ok(vec![]);
    }
    let policy = gridpad_photo::policy_for(store, category)?;
    let vault = Vault::open(store.dir(), store.photo_key())?;
    let wm = Watermarker::bundled()?;
    let stamp = gridpad_photo::camera::stamp_now(store, position, reporter)?;
    let mut out = vec![];
    for f in files {
        let c = gridpad_photo::capture_file(store, &vault, &wm, f, &policy, &stamp)
            .with_context(|| format!("photo {}", f.display()))?;
        out.push(c.sha256);
    }
    Ok(out)
}

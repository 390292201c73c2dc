//! Write a window snapshot as PNG (`gridpad-ui --screenshot`, the demo under Xvfb).

use slint::{Rgba8Pixel, SharedPixelBuffer};
use std::path::Path;

pub fn save_png(shot: &SharedPixelBuffer<Rgba8Pixel>, path: &Path) -> Result<(), String> {
    image::save_buffer(
        path,
        shot.as_bytes(),
        shot.width(),
        shot.height(),
        image::ColorType::Rgba8,
    )
    .map_err(|e| e.to_string())
}

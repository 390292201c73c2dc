//! Intake: a camera file (JPEG/PNG) → the evidence photo and its list thumbnail.
//!
//! 1. read at most [`MAX_FILE_BYTES`]; guess the format from the bytes, not the name;
//! 2. read the dimensions from the header and refuse anything over [`MAX_SOURCE_PIXELS`]
//!    *before* decoding, and decode under `image::Limits` (memory bounded);
//! 3. a JPEG must end with its EOI marker (a truncated file is refused, not padded grey);
//! 4. resize (fast_image_resize, SIMD incl. NEON) to the category policy's `max_pixels`,
//!    then apply the EXIF orientation to the small picture (cheaper than rotating 12 MP);
//! 5. stamp the watermark; encode JPEG at the policy's quality, lowering quality and then
//!    size until it fits `max_bytes`. The encoder writes no EXIF: whatever the camera put
//!    there (its GPS, serial number, maker notes) is dropped; the facts that matter are in
//!    the stamp and in the seal.

use crate::watermark::{Stamp, Watermarker};
use fast_image_resize as fr;
use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage};
use serde::{Deserialize, Serialize};
use std::io::Cursor;
use std::path::Path;

/// Largest camera file we read (a 50 MP JPEG is ~25 MB).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Largest source picture: 64 MP (8000 × 8000); 20000 × 20000 is refused from its header.
pub const MAX_SOURCE_PIXELS: u64 = 64_000_000;
/// Longest side of a source picture.
pub const MAX_SOURCE_SIDE: u32 = 16_384;
/// Decoder memory bound (64 MP × 3 bytes plus working buffers).
pub const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;
/// Longer side of a list thumbnail.
pub const THUMB_SIDE: u32 = 320;
pub const THUMB_QUALITY: u8 = 70;

/// A catalog category's photo policy (`catalog_category.photo_policy`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhotoPolicy {
    #[serde(default = "default_max_pixels")]
    pub max_pixels: u64,
    #[serde(default = "default_quality")]
    pub quality: u8,
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
}

fn default_max_pixels() -> u64 {
    2_000_000
}
fn default_quality() -> u8 {
    80
}
fn default_max_bytes() -> u64 {
    600_000
}

impl Default for PhotoPolicy {
    fn default() -> Self {
        PhotoPolicy {
            max_pixels: default_max_pixels(),
            quality: default_quality(),
            max_bytes: default_max_bytes(),
        }
    }
}

impl PhotoPolicy {
    /// From the catalog's JSON; missing or broken fields take the defaults, and values are
    /// clamped to what makes sense (quality 30–95, at least 0.1 MP and 50 KB).
    pub fn from_json(json: &str) -> PhotoPolicy {
        let p: PhotoPolicy = serde_json::from_str(json).unwrap_or_default();
        PhotoPolicy {
            max_pixels: p.max_pixels.clamp(100_000, 50_000_000),
            quality: p.quality.clamp(30, 95),
            max_bytes: p.max_bytes.max(50_000),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("cannot read {0}: {1}")]
    Io(String, std::io::Error),
    #[error("the file is {0} bytes; photos over {MAX_FILE_BYTES} bytes are not accepted")]
    FileTooLarge(u64),
    #[error("not a JPEG or PNG picture")]
    NotAnImage,
    #[error("the picture is {0}×{1} pixels; at most {MAX_SOURCE_PIXELS} pixels ({MAX_SOURCE_SIDE} per side) are accepted")]
    TooLarge(u32, u32),
    #[error("the picture file is truncated (incomplete copy or interrupted capture)")]
    Truncated,
    #[error("the picture is damaged and cannot be decoded: {0}")]
    Corrupt(String),
    #[error("the photo cannot be made smaller than {0} bytes")]
    CannotFit(u64),
    #[error("internal image error: {0}")]
    Internal(String),
}

/// The evidence photo made from one camera file.
#[derive(Clone, Debug)]
pub struct Processed {
    /// JPEG bytes.
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub quality: u8,
    /// List thumbnail, JPEG.
    pub thumb: Vec<u8>,
    pub thumb_width: u32,
    pub thumb_height: u32,
    /// Source dimensions (after orientation).
    pub source_width: u32,
    pub source_height: u32,
}

/// Read a camera file, bounded by [`MAX_FILE_BYTES`].
pub fn read_file(path: &Path) -> Result<Vec<u8>, IntakeError> {
    use std::io::Read;
    let err = |e| IntakeError::Io(path.display().to_string(), e);
    let f = std::fs::File::open(path).map_err(err)?;
    let len = f.metadata().map_err(err)?.len();
    if len > MAX_FILE_BYTES {
        return Err(IntakeError::FileTooLarge(len));
    }
    let mut buf = Vec::with_capacity(len as usize);
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(err)?;
    if buf.len() as u64 > MAX_FILE_BYTES {
        return Err(IntakeError::FileTooLarge(buf.len() as u64));
    }
    Ok(buf)
}

fn jpeg_complete(bytes: &[u8]) -> bool {
    // Entropy-coded data never contains FF D9 (FF is stuffed), so a cut file cannot end
    // in EOI; cameras may pad after it with zeros or FF.
    let mut end = bytes.len();
    while end > 2 && (bytes[end - 1] == 0x00 || bytes[end - 1] == 0xFF) {
        end -= 1;
    }
    end >= 4 && bytes[end - 2] == 0xFF && bytes[end - 1] == 0xD9
}

/// Decode a camera file: format check, dimension check before decoding, bounded decode,
/// EXIF orientation returned separately (applied after resizing).
fn decode(bytes: &[u8]) -> Result<(RgbImage, image::metadata::Orientation), IntakeError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| IntakeError::Internal(e.to_string()))?;
    match reader.format() {
        Some(image::ImageFormat::Jpeg) => {
            if !jpeg_complete(bytes) {
                return Err(IntakeError::Truncated);
            }
        }
        Some(image::ImageFormat::Png) => {}
        _ => return Err(IntakeError::NotAnImage),
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SOURCE_SIDE);
    limits.max_image_height = Some(MAX_SOURCE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    let mut reader = reader;
    let mut header_limits = image::Limits::default();
    header_limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(header_limits);
    let mut decoder = reader.into_decoder().map_err(classify)?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(IntakeError::Corrupt("zero-sized picture".into()));
    }
    if w > MAX_SOURCE_SIDE || h > MAX_SOURCE_SIDE || w as u64 * h as u64 > MAX_SOURCE_PIXELS {
        return Err(IntakeError::TooLarge(w, h));
    }
    decoder.set_limits(limits).map_err(classify)?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let img = DynamicImage::from_decoder(decoder).map_err(classify)?;
    Ok((img.into_rgb8(), orientation))
}

fn classify(e: image::ImageError) -> IntakeError {
    use image::ImageError as E;
    match e {
        E::Limits(_) => IntakeError::TooLarge(0, 0),
        E::Unsupported(_) => IntakeError::NotAnImage,
        E::IoError(ref io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            IntakeError::Truncated
        }
        other => IntakeError::Corrupt(other.to_string()),
    }
}

/// Target size: at most `max_pixels`, keeping the aspect ratio; never enlarged.
pub fn fit_size(w: u32, h: u32, max_pixels: u64) -> (u32, u32) {
    let px = w as u64 * h as u64;
    if px <= max_pixels {
        return (w, h);
    }
    let s = (max_pixels as f64 / px as f64).sqrt();
    let nw = ((w as f64 * s).floor() as u32).max(1);
    let nh = ((h as f64 * s).floor() as u32).max(1);
    (nw, nh)
}

/// Resize with fast_image_resize (Catmull-Rom convolution; SIMD on x86 and NEON on ARM).
pub fn resize(img: &RgbImage, w: u32, h: u32) -> Result<RgbImage, IntakeError> {
    if img.dimensions() == (w, h) {
        return Ok(img.clone());
    }
    let src =
        fr::images::ImageRef::new(img.width(), img.height(), img.as_raw(), fr::PixelType::U8x3)
            .map_err(|e| IntakeError::Internal(e.to_string()))?;
    let mut dst = fr::images::Image::new(w, h, fr::PixelType::U8x3);
    let opts =
        fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::CatmullRom));
    fr::Resizer::new()
        .resize(&src, &mut dst, &opts)
        .map_err(|e| IntakeError::Internal(e.to_string()))?;
    RgbImage::from_raw(w, h, dst.into_vec())
        .ok_or_else(|| IntakeError::Internal("resize buffer size".into()))
}

pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Result<Vec<u8>, IntakeError> {
    let mut out = Vec::with_capacity((img.width() * img.height() / 4) as usize);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .map_err(|e| IntakeError::Internal(e.to_string()))?;
    Ok(out)
}

fn swaps_sides(o: image::metadata::Orientation) -> bool {
    use image::metadata::Orientation as O;
    matches!(
        o,
        O::Rotate90 | O::Rotate270 | O::Rotate90FlipH | O::Rotate270FlipH
    )
}

/// Make the evidence photo: decode, resize to the policy, orient, stamp, encode to fit.
pub fn process(
    bytes: &[u8],
    policy: &PhotoPolicy,
    stamp: Option<(&Watermarker, &Stamp)>,
) -> Result<Processed, IntakeError> {
    let (img, orientation) = decode(bytes)?;
    let (sw, sh) = img.dimensions();
    let (mut tw, mut th) = fit_size(sw, sh, policy.max_pixels);
    let mut quality = policy.quality;
    let (src_w, src_h) = if swaps_sides(orientation) {
        (sh, sw)
    } else {
        (sw, sh)
    };
    // At most a few encodes: quality down in steps of 10 to 50, then the size down by 20 %.
    for _ in 0..12 {
        let mut small = resize(&img, tw, th)?;
        let mut dynimg = DynamicImage::ImageRgb8(std::mem::take(&mut small));
        dynimg.apply_orientation(orientation);
        let mut small = dynimg.into_rgb8();
        if let Some((wm, s)) = stamp {
            wm.apply(&mut small, s);
        }
        loop {
            let jpeg = encode_jpeg(&small, quality)?;
            if jpeg.len() as u64 <= policy.max_bytes {
                let thumb_size = fit_size(
                    small.width(),
                    small.height(),
                    THUMB_SIDE as u64 * THUMB_SIDE as u64 * 3 / 4,
                );
                let thumb_img = resize(&small, thumb_size.0, thumb_size.1)?;
                let thumb = encode_jpeg(&thumb_img, THUMB_QUALITY)?;
                return Ok(Processed {
                    width: small.width(),
                    height: small.height(),
                    quality,
                    jpeg,
                    thumb,
                    thumb_width: thumb_size.0,
                    thumb_height: thumb_size.1,
                    source_width: src_w,
                    source_height: src_h,
                });
            }
            if quality > 50 {
                quality = quality.saturating_sub(10).max(50);
            } else {
                break;
            }
        }
        if tw < 64 || th < 64 {
            break;
        }
        tw = tw * 4 / 5;
        th = th * 4 / 5;
    }
    Err(IntakeError::CannotFit(policy.max_bytes))
}

#![allow(dead_code)]

//! The photo tests' fixtures: pictures made by hand (JPEG/PNG, EXIF orientation, lying
//! headers) and the device these tests use, from the test kit.

use gridpad_core::{NewReport, Store};
use gridpad_testkit::store as kit;
use image::{Rgb, RgbImage};
use std::path::Path;

#[allow(unused_imports)] // not every test file opens a store by PIN
pub use kit::{FAST_KDF, PIN};

/// The device of the photo tests.
const DEVICE: &str = "0190a4b2-7c3d-7e00-8000-00000000d0f0";

pub fn new_store(dir: &Path) -> Store {
    kit::new_store_as(dir, DEVICE)
}

/// A store holding the demo town of 50 residents (seed 7, the hub's in these tests).
pub fn demo_store(dir: &Path) -> Store {
    let mut s = new_store(dir);
    kit::load_demo(&mut s, 50, 7);
    s
}

/// The kit's report of a blocked fire escape, with these photos.
pub fn report(desc: &str, photos: Vec<String>) -> NewReport {
    NewReport {
        photos,
        ..kit::report(desc)
    }
}

/// A deterministic "photo": smooth gradients plus texture (so JPEG sizes are realistic).
pub fn picture(w: u32, h: u32, seed: u32) -> RgbImage {
    let mut x: u32 = seed.wrapping_mul(2654435761).wrapping_add(1);
    RgbImage::from_fn(w, h, |i, j| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let n = (x & 0x1f) as i32 - 16;
        let r = (i * 255 / w.max(1)) as i32 + n;
        let g = (j * 255 / h.max(1)) as i32 + n;
        let b = (((i / 40 + j / 40) % 2) * 120 + 60) as i32 + n;
        Rgb([
            r.clamp(0, 255) as u8,
            g.clamp(0, 255) as u8,
            b.clamp(0, 255) as u8,
        ])
    })
}

pub fn jpeg(img: &RgbImage, q: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q)
        .encode_image(img)
        .unwrap();
    out
}

pub fn png(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// Insert an APP1 EXIF segment with an orientation tag (and a camera "Make") after SOI.
pub fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\0\x2a\0\0\0\x08");
    tiff.extend_from_slice(&2u16.to_be_bytes()); // 2 entries
                                                 // Make (0x010F), ASCII, 8 bytes, at offset 38
    tiff.extend_from_slice(&0x010Fu16.to_be_bytes());
    tiff.extend_from_slice(&2u16.to_be_bytes());
    tiff.extend_from_slice(&8u32.to_be_bytes());
    tiff.extend_from_slice(&38u32.to_be_bytes());
    // Orientation (0x0112), SHORT, 1
    tiff.extend_from_slice(&0x0112u16.to_be_bytes());
    tiff.extend_from_slice(&3u16.to_be_bytes());
    tiff.extend_from_slice(&1u32.to_be_bytes());
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes()); // next IFD
    tiff.extend_from_slice(b"SpyCam\0\0");
    let mut seg = b"Exif\0\0".to_vec();
    seg.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((seg.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&seg);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Rewrite the SOF0 dimensions of a JPEG (the header claims a huge picture).
pub fn jpeg_claiming(jpeg: &[u8], w: u16, h: u16) -> Vec<u8> {
    let mut out = jpeg.to_vec();
    let mut i = 2;
    while i + 9 < out.len() {
        if out[i] == 0xFF && (out[i + 1] == 0xC0 || out[i + 1] == 0xC2) {
            out[i + 5..i + 7].copy_from_slice(&h.to_be_bytes());
            out[i + 7..i + 9].copy_from_slice(&w.to_be_bytes());
            return out;
        }
        let len = u16::from_be_bytes([out[i + 2], out[i + 3]]) as usize;
        i += 2 + len;
    }
    panic!("no SOF");
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// Rewrite a PNG's IHDR dimensions (with a valid CRC).
pub fn png_claiming(png: &[u8], w: u32, h: u32) -> Vec<u8> {
    let mut out = png.to_vec();
    // signature(8) length(4) "IHDR"(4) data(13) crc(4)
    out[16..20].copy_from_slice(&w.to_be_bytes());
    out[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&out[12..29]);
    out[29..33].copy_from_slice(&crc.to_be_bytes());
    out
}

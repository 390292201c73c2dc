//! Intake: policy, orientation, foreign EXIF dropped, thumbnails; bad input refused with
//! nothing stored; the watermark is in the picture.

mod common;

use common::*;
use gridpad_photo::intake::{self, IntakeError, PhotoPolicy};
use gridpad_photo::{capture, Stamp, Vault, Watermarker};

fn stamp() -> Stamp {
    Stamp {
        time: chrono::DateTime::parse_from_rfc3339("2026-05-01T00:30:12Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
        time_corrected: true,
        position: Some((31.230416, 121.473701)),
        accuracy_m: Some(4.0),
        grid: "幸福社区第3网格".into(),
        reporter: "王芳".into(),
    }
}

fn has_exif(jpeg: &[u8]) -> bool {
    jpeg.windows(6).any(|w| w == b"Exif\0\0")
}

#[test]
fn large_photo_meets_the_policy_without_foreign_exif() {
    let src = with_exif_orientation(&jpeg(&picture(4000, 3000, 1), 92), 1);
    assert!(has_exif(&src));
    let policy = PhotoPolicy::default();
    let wm = Watermarker::bundled().unwrap();
    let p = intake::process(&src, &policy, Some((&wm, &stamp()))).unwrap();
    assert!((p.width as u64 * p.height as u64) <= policy.max_pixels);
    assert!(
        p.jpeg.len() as u64 <= policy.max_bytes,
        "{} bytes",
        p.jpeg.len()
    );
    assert_eq!((p.width, p.height), (1632, 1224));
    assert!(!has_exif(&p.jpeg));
    assert!(!p.jpeg.windows(6).any(|w| w == b"SpyCam"));
    let t = image::load_from_memory(&p.thumb).unwrap();
    assert_eq!((t.width(), t.height()), (p.thumb_width, p.thumb_height));
    assert!(t.width() <= 320 && t.height() <= 320);
}

#[test]
fn tight_byte_budget_lowers_quality_then_size() {
    let src = jpeg(&picture(3000, 2000, 2), 95);
    let policy =
        PhotoPolicy::from_json(r#"{"max_pixels": 2000000, "quality": 90, "max_bytes": 60000}"#);
    let p = intake::process(&src, &policy, None).unwrap();
    assert!(p.jpeg.len() as u64 <= 60_000, "{} bytes", p.jpeg.len());
    assert!(p.quality < 90);
}

#[test]
fn exif_orientation_is_applied() {
    // Left half red, right half blue; orientation 6 = rotate 90° clockwise to view.
    let img = image::RgbImage::from_fn(400, 200, |x, _| {
        if x < 200 {
            image::Rgb([230, 20, 20])
        } else {
            image::Rgb([20, 20, 230])
        }
    });
    let src = with_exif_orientation(&jpeg(&img, 90), 6);
    let p = intake::process(&src, &PhotoPolicy::default(), None).unwrap();
    assert_eq!((p.width, p.height), (200, 400));
    let out = image::load_from_memory(&p.jpeg).unwrap().into_rgb8();
    // After a clockwise quarter turn the red (left) half is on top.
    assert!(
        out.get_pixel(100, 50).0[0] > 150,
        "{:?}",
        out.get_pixel(100, 50)
    );
    assert!(
        out.get_pixel(100, 350).0[2] > 150,
        "{:?}",
        out.get_pixel(100, 350)
    );
}

#[test]
fn png_is_accepted() {
    let src = png(&picture(800, 600, 3));
    let p = intake::process(&src, &PhotoPolicy::default(), None).unwrap();
    assert_eq!((p.width, p.height), (800, 600));
    assert_eq!(&p.jpeg[..2], &[0xFF, 0xD8]);
}

#[test]
fn bad_input_is_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = demo_store(dir.path());
    let vault = Vault::open(dir.path(), store.photo_key()).unwrap();
    let wm = Watermarker::bundled().unwrap();
    let good = jpeg(&picture(1200, 900, 4), 90);
    let policy = PhotoPolicy::default();

    let truncated = &good[..good.len() * 2 / 3];
    let mut corrupt = good.clone();
    // Destroy the Huffman tables / frame header: every marker after SOI becomes garbage.
    for b in corrupt[2..400].iter_mut() {
        *b = 0x5A;
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", truncated.to_vec()),
        ("corrupt", corrupt),
        ("text", b"this is a report, not a photo\n".repeat(50)),
        ("empty", Vec::new()),
        ("huge jpeg", jpeg_claiming(&good, 20000, 20000)),
        (
            "huge png",
            png_claiming(&png(&picture(64, 64, 5)), 20000, 20000),
        ),
    ];
    for (name, bytes) in cases {
        let t = std::time::Instant::now();
        let err = capture(&mut store, &vault, &wm, &bytes, &policy, &stamp()).expect_err(name);
        let msg = err.to_string();
        println!("{name}: {msg} ({:?})", t.elapsed());
        assert!(t.elapsed().as_secs() < 2, "{name} took {:?}", t.elapsed());
        match name {
            "truncated" => assert!(
                matches!(
                    err,
                    gridpad_photo::PhotoError::Intake(IntakeError::Truncated)
                ),
                "{msg}"
            ),
            "text" | "empty" => assert!(
                matches!(
                    err,
                    gridpad_photo::PhotoError::Intake(IntakeError::NotAnImage)
                ),
                "{msg}"
            ),
            "huge jpeg" | "huge png" => assert!(
                matches!(
                    err,
                    gridpad_photo::PhotoError::Intake(IntakeError::TooLarge(..))
                ),
                "{msg}"
            ),
            _ => assert!(matches!(err, gridpad_photo::PhotoError::Intake(_)), "{msg}"),
        }
    }
    assert_eq!(vault.usage().unwrap().files, 0);
    let n: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM photo", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);

    // And the good one goes in, once.
    let a = capture(&mut store, &vault, &wm, &good, &policy, &stamp()).unwrap();
    let b = capture(&mut store, &vault, &wm, &good, &policy, &stamp()).unwrap();
    assert_eq!(a, b);
    assert_eq!(vault.usage().unwrap().files, 2); // photo + thumbnail
    let up = store.photo_upload(&a.sha256).unwrap().unwrap();
    assert_eq!(up.state, "local");
    assert_eq!(up.thumb_sha256.as_deref(), Some(a.thumb_sha256.as_str()));
}

/// Mean absolute difference over a region, per channel.
fn region_diff(a: &image::RgbImage, b: &image::RgbImage, y0: u32, y1: u32) -> f64 {
    let mut sum = 0u64;
    let mut n = 0u64;
    for y in y0..y1 {
        for x in 0..a.width() {
            for c in 0..3 {
                sum += (a.get_pixel(x, y).0[c] as i32 - b.get_pixel(x, y).0[c] as i32)
                    .unsigned_abs() as u64;
                n += 1;
            }
        }
    }
    sum as f64 / n as f64
}

#[test]
fn watermark_text_is_in_the_picture() {
    let wm = Watermarker::bundled().unwrap();
    let s = stamp();
    for (w, h) in [(320u32, 240u32), (1632, 1224), (1224, 1632)] {
        let base = image::RgbImage::from_pixel(w, h, image::Rgb([128, 140, 120]));
        let src = jpeg(&base, 95);
        let p = intake::process(&src, &PhotoPolicy::default(), Some((&wm, &s))).unwrap();
        let out = image::load_from_memory(&p.jpeg).unwrap().into_rgb8();
        let (top, band_h) = wm.band(w, h, &s);
        assert!(band_h >= 4 * 11, "band {band_h} px on {w}×{h}");
        // Expected rendering of the right text vs of a different reporter.
        let mut want = base.clone();
        wm.apply(&mut want, &s);
        let mut other = base.clone();
        let mut s2 = s.clone();
        s2.reporter = "李强".into();
        s2.grid = "和平社区第9网格".into();
        wm.apply(&mut other, &s2);
        // Where the two texts differ, the picture must look like the right one.
        let (mut d_right, mut d_wrong, mut n) = (0u64, 0u64, 0u64);
        for y in top..h {
            for x in 0..w {
                let (a, b, o) = (
                    want.get_pixel(x, y).0[0] as i32,
                    other.get_pixel(x, y).0[0] as i32,
                    out.get_pixel(x, y).0[0] as i32,
                );
                if (a - b).abs() > 60 {
                    d_right += (o - a).unsigned_abs() as u64;
                    d_wrong += (o - b).unsigned_abs() as u64;
                    n += 1;
                }
            }
        }
        let (d_right, d_wrong) = (d_right as f64 / n as f64, d_wrong as f64 / n as f64);
        let d_plain = region_diff(&out, &base, top, h);
        println!("{w}×{h}: band {band_h} px; on {n} text pixels: diff vs right text {d_right:.1}, vs other text {d_wrong:.1}; band vs no stamp {d_plain:.1}");
        assert!(n > 30, "{n} differing text pixels");
        assert!(d_right * 2.0 < d_wrong, "{d_right} vs {d_wrong}");
        assert!(d_plain > 20.0, "{d_plain}");
        // Above the band the picture is untouched.
        assert!(region_diff(&out, &base, 0, top.saturating_sub(8)) < 2.0);
    }
    assert!(
        s.lines()[0].starts_with("2026-05-01 08:30:12 北京时间"),
        "{:?}",
        s.lines()
    );
    assert_eq!(s.lines()[1], "31.230416°N 121.473701°E ±4m");
}

//! Intake benchmark: a 12-megapixel JPEG to the default policy size with the watermark,
//! against ImageMagick's `convert -resize` of the same file to the same size, in the same
//! run. Not part of CI. Run with `bash app/photo/bench.sh` (installs ImageMagick first) or
//! `cargo bench -p gridpad-photo --bench intake`.
//!
//! `GRIDPAD_BENCH_JPEG=/path/photo.jpg` uses a real photo instead of the generated one.

use gridpad_photo::intake::{self, PhotoPolicy};
use gridpad_photo::{Stamp, Watermarker};
use image::{Rgb, RgbImage};
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 7;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A deterministic 4000×3000 "photo" with gradients, edges and sensor-like noise.
fn twelve_mp() -> Vec<u8> {
    let (w, h) = (4000u32, 3000u32);
    let mut x: u32 = 0x1234_5678;
    let img = RgbImage::from_fn(w, h, |i, j| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let n = (x & 0x0f) as i32 - 8;
        let wave = (((i as f32 / 37.0).sin() + (j as f32 / 23.0).cos()) * 40.0) as i32;
        let r = (i * 200 / w) as i32 + wave + n + 20;
        let g = (j * 200 / h) as i32 - wave / 2 + n + 30;
        let b = (((i / 97 + j / 61) % 3) * 70 + 40) as i32 + n;
        Rgb([
            r.clamp(0, 255) as u8,
            g.clamp(0, 255) as u8,
            b.clamp(0, 255) as u8,
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .unwrap();
    out
}

/// ImageMagick's `convert`: `$GRIDPAD_IMAGEMAGICK`, else Debian's `/usr/bin/convert`
/// (a `convert` earlier on PATH may be something else), else `convert` / `magick`.
fn imagemagick() -> Option<(String, String)> {
    let mut candidates: Vec<String> = std::env::var("GRIDPAD_IMAGEMAGICK").into_iter().collect();
    candidates.extend(["/usr/bin/convert", "convert", "magick"].map(String::from));
    candidates.into_iter().find_map(|c| {
        let out = Command::new(&c).arg("-version").output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.contains("ImageMagick")
            .then(|| (c, text.lines().next().unwrap_or("").to_string()))
    })
}

fn main() {
    let src = match std::env::var("GRIDPAD_BENCH_JPEG") {
        Ok(p) => std::fs::read(p).expect("read GRIDPAD_BENCH_JPEG"),
        Err(_) => twelve_mp(),
    };
    let dir = tempfile::tempdir().unwrap();
    let in_path = dir.path().join("in.jpg");
    std::fs::write(&in_path, &src).unwrap();
    let policy = PhotoPolicy::default();
    let wm = Watermarker::bundled().expect("font");
    let stamp = Stamp {
        time: chrono::Utc::now(),
        time_corrected: true,
        position: Some((31.230416, 121.473701)),
        accuracy_m: Some(4.0),
        grid: "幸福社区第3网格".into(),
        reporter: "王芳".into(),
    };
    let dims = image::load_from_memory(&src).unwrap();
    println!(
        "source: {}×{} JPEG, {} bytes; policy {:?}",
        dims.width(),
        dims.height(),
        src.len(),
        policy
    );
    drop(dims);

    // Warm-up, then the whole pipeline.
    let p = intake::process(&src, &policy, Some((&wm, &stamp))).unwrap();
    let ours = median(
        (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                let p = intake::process(&src, &policy, Some((&wm, &stamp))).unwrap();
                std::hint::black_box(p.jpeg.len());
                t.elapsed()
            })
            .collect(),
    );
    println!(
        "gridpad intake (decode, resize, orient, watermark, encode q{}, thumbnail): {}×{}, {} bytes, median {:.1} ms",
        p.quality,
        p.width,
        p.height,
        p.jpeg.len(),
        ours.as_secs_f64() * 1e3
    );

    // Stages, for the README.
    let t = Instant::now();
    let img = image::load_from_memory(&src).unwrap().into_rgb8();
    let decode = t.elapsed();
    let t = Instant::now();
    let small = intake::resize(&img, p.width, p.height).unwrap();
    let fir = t.elapsed();
    let t = Instant::now();
    let via_image = image::imageops::resize(
        &img,
        p.width,
        p.height,
        image::imageops::FilterType::CatmullRom,
    );
    let img_resize = t.elapsed();
    std::hint::black_box(via_image);
    let mut stamped = small.clone();
    let t = Instant::now();
    wm.apply(&mut stamped, &stamp);
    let stamp_t = t.elapsed();
    let t = Instant::now();
    let enc = intake::encode_jpeg(&stamped, policy.quality).unwrap();
    let encode = t.elapsed();
    println!(
        "stages: decode {:.1} ms; resize fast_image_resize {:.1} ms (image::imageops {:.1} ms); watermark {:.1} ms; encode {:.1} ms ({} bytes)",
        decode.as_secs_f64() * 1e3,
        fir.as_secs_f64() * 1e3,
        img_resize.as_secs_f64() * 1e3,
        stamp_t.as_secs_f64() * 1e3,
        encode.as_secs_f64() * 1e3,
        enc.len()
    );

    let Some((convert, version)) = imagemagick() else {
        println!(
            "ImageMagick's convert is not installed (or `convert` is not ImageMagick): no ratio. \
             Run `bash app/photo/bench.sh`, which installs it."
        );
        return;
    };
    println!("baseline: {convert}: {version}");
    let out_path = dir.path().join("out.jpg");
    let size = format!("{}x{}!", p.width, p.height);
    let run_im = |extra: &[&str]| -> Duration {
        let mut cmd = Command::new(&convert);
        cmd.args(extra)
            .arg(&in_path)
            .args(["-resize", &size])
            .arg(&out_path);
        let st = cmd.status().unwrap();
        assert!(st.success());
        let times = (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                let st = Command::new(&convert)
                    .args(extra)
                    .arg(&in_path)
                    .args(["-resize", &size])
                    .arg(&out_path)
                    .status()
                    .unwrap();
                assert!(st.success());
                t.elapsed()
            })
            .collect();
        median(times)
    };
    let im = run_im(&[]);
    let im1 = run_im(&["-limit", "thread", "1"]);
    let im_bytes = std::fs::metadata(&out_path).map(|m| m.len()).unwrap_or(0);
    println!(
        "ImageMagick convert -resize {size}: median {:.1} ms (all cores), {:.1} ms (one thread); output {} bytes",
        im.as_secs_f64() * 1e3,
        im1.as_secs_f64() * 1e3,
        im_bytes
    );
    println!(
        "RATIO gridpad / ImageMagick = {:.2} (all cores), {:.2} (ImageMagick on one thread; gridpad uses one)",
        ours.as_secs_f64() / im.as_secs_f64(),
        ours.as_secs_f64() / im1.as_secs_f64()
    );
}

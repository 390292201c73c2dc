//! `gridpad-ui measure`: start-up time, memory and frame times on a large town, rendered
//! headless with the software renderer at 480×800 (the device's renderer, no display).
//!
//! ```text
//! gridpad-ui measure --data-dir /tmp/town --pin 246810 [--make-town 100000] [--frames 120]
//! ```
//!
//! Store jobs run inline here, so a frame that needs a page of residents includes the
//! SQLite read: the frame times are an upper bound of what the threaded app shows.
//!
//! Scrolling is measured three times over the same positions in one run: full repaint of
//! the window each frame (`RepaintBufferType::NewBuffer`, pages read for the first time),
//! partial repaint (`ReusedBuffer`: only the dirty region, what a KMS framebuffer that is
//! kept between frames allows) and full repaint again with the same pages cached, so the
//! partial/full ratio comes from the same machine state. The partial pass's picture is
//! checked against a full repaint of the same frame.

use crate::exec::Mode;
use crate::services::Services;
use crate::{App, AppConfig, LoginAdapter, Nav, ResidentsAdapter, Screen};
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType, Rgb565Pixel};
use slint::platform::{Platform, WindowAdapter};
use slint::{ComponentHandle, Model};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

struct Headless(Rc<MinimalSoftwareWindow>);

impl Platform for Headless {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        Ok(self.0.clone())
    }
}

/// Seconds since the process started (from /proc, 10 ms resolution).
fn since_process_start() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let start_ticks: f64 = after.split_whitespace().nth(19)?.parse().ok()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let hz = 100.0; // USER_HZ on Linux
    Some(uptime - start_ticks / hz)
}

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// One scrolling pass: each frame's time, the pixels repainted, the pages read.
#[derive(Default)]
struct Pass {
    times: Vec<Duration>,
    pixels: usize,
    reads: usize,
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let main_at = Instant::now();
    let to_main = since_process_start();
    let mut dir = PathBuf::from("gridpad-town");
    let mut pin = "246810".to_string();
    let mut make: Option<usize> = None;
    let mut frames = 120usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("{a} needs a value"))
        };
        match a.as_str() {
            "--data-dir" => dir = val()?.into(),
            "--pin" => pin = val()?,
            "--make-town" => make = Some(val()?.parse()?),
            "--frames" => frames = val()?.parse()?,
            other => anyhow::bail!("unknown argument {other:?}"),
        }
    }
    anyhow::ensure!(frames > 0, "--frames needs at least 1 frame");
    if let Some(n) = make {
        if !dir.join(gridpad_core::db::DB_FILE).exists() {
            let t = Instant::now();
            let mut s = gridpad_core::Store::init(&dir, &pin, Default::default())?;
            gridpad_core::demo::load(
                &mut s,
                gridpad_core::demo::DemoSpec {
                    persons: n,
                    seed: 42,
                },
            )?;
            eprintln!(
                "made a town of {n} residents in {:.1} s",
                t.elapsed().as_secs_f64()
            );
            return Ok(()); // measure in a fresh process
        }
    }

    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    slint::platform::set_platform(Box::new(Headless(window.clone())))
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let (w, h) = (480usize, 800usize);
    let buf = std::cell::RefCell::new(vec![Rgb565Pixel(0); w * h]);
    // Draws a frame if one is due with the given repaint mode; returns the pixels repainted.
    // `ReusedBuffer` keeps `buf` between frames and repaints only the dirty region (what a
    // KMS framebuffer that is not swapped allows); `NewBuffer` repaints the whole window.
    let draw = |mode: RepaintBufferType| -> usize {
        slint::platform::update_timers_and_animations();
        let mut painted = 0;
        window.draw_if_needed(|r| {
            r.set_repaint_buffer_type(mode);
            painted = r
                .render(&mut buf.borrow_mut()[..], w)
                .iter()
                .map(|(_, s)| s.width as usize * s.height as usize)
                .sum();
        });
        painted
    };
    let full = RepaintBufferType::NewBuffer;
    let partial = RepaintBufferType::ReusedBuffer;

    let app = App::new(AppConfig {
        data_dir: dir.clone(),
        device: Default::default(),
        services: Services::system(&Default::default(), crate::gnss::GnssSource::Off, None),
        mode: Mode::Inline,
        language: None,
        kdf_iterations: None,
    })?;
    window.set_size(slint::PhysicalSize::new(w as u32, h as u32));
    app.ui.show()?;
    draw(full);
    let first_frame = main_at.elapsed();
    let rss_login = status_kb("VmRSS:");

    let t = Instant::now();
    app.ui
        .global::<LoginAdapter>()
        .invoke_submit(pin.as_str().into());
    anyhow::ensure!(
        app.ui.global::<Nav>().get_current() == Screen::Home,
        "login failed: {}",
        app.ui.global::<LoginAdapter>().get_error_kind()
    );
    let unlock = t.elapsed();
    let t = Instant::now();
    draw(full);
    let home_frame = t.elapsed();

    let t = Instant::now();
    app.ctx.go(Screen::Residents);
    draw(full);
    let list_frame = t.elapsed();
    let ra = app.ui.global::<ResidentsAdapter>();
    let rows = ra.get_rows();
    let total = rows.row_count();
    let reads = || {
        rows.as_any()
            .downcast_ref::<crate::paged::PeopleModel>()
            .map(|m| m.page_reads())
            .unwrap_or(0)
    };
    anyhow::ensure!(
        total > 0,
        "the town has no residents: make one with --make-town"
    );

    // Scroll: a fling of `frames` frames, 36 px per frame, from the top of the list. Three
    // passes over the same positions, one after the other in this process: full repaint
    // with the pages read for the first time (cold), partial repaint, full repaint again
    // (the same pages cached as for the partial pass, so partial vs full-warm is the ratio).
    let fling = |mode: RepaintBufferType| -> Pass {
        ra.set_scroll_y(0.0);
        window.request_redraw();
        draw(mode); // back at the top, in this mode: not timed
        let reads_before = reads();
        let mut pass = Pass::default();
        for i in 1..=frames {
            ra.set_scroll_y(-(i as f32) * 36.0);
            let t = Instant::now();
            let px = draw(mode);
            pass.times.push(t.elapsed());
            pass.pixels += px;
        }
        pass.reads = reads() - reads_before;
        pass
    };
    let cold = fling(full);
    let part = fling(partial);
    // The picture the partial repaints built up must be the one a full repaint draws.
    let after_partial = buf.borrow().clone();
    window.request_redraw();
    draw(full);
    let differ = after_partial
        .iter()
        .zip(buf.borrow().iter())
        .filter(|(a, b)| a.0 != b.0)
        .count();
    let warm = fling(full);

    // Jumps deep into the list (each needs a page not read yet), full repaint.
    let mut jumps = vec![];
    let reads_before = reads();
    for frac in [0.25, 0.5, 0.75, 0.999] {
        ra.set_scroll_y(-(total as f32 * 76.0 * frac));
        let t = Instant::now();
        draw(full);
        jumps.push(t.elapsed());
    }
    let jump_reads = reads() - reads_before;

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "gridpad-ui measure — {} residents, 480×800, software renderer, headless",
        total
    );
    if let Some(s) = to_main {
        println!(
            "  process start → main           {:>7.0} ms (/proc, ±10 ms)",
            s * 1000.0
        );
        println!(
            "  process start → first frame    {:>7.0} ms (±10 ms)",
            s * 1000.0 + ms(first_frame)
        );
    }
    println!(
        "  main → first frame (login)     {:>7.1} ms",
        ms(first_frame)
    );
    println!(
        "  RSS at first frame             {:>7.1} MB",
        rss_login as f64 / 1024.0
    );
    println!("  unlock (PIN key derivation)    {:>7.0} ms", ms(unlock));
    println!(
        "  home frame                     {:>7.1} ms",
        ms(home_frame)
    );
    println!(
        "  resident list first frame      {:>7.1} ms",
        ms(list_frame)
    );
    let window_px = w * h * frames;
    for (name, pass) in [
        ("full repaint, cold", &cold),
        ("partial repaint   ", &part),
        ("full repaint, warm", &warm),
    ] {
        let mut t = pass.times.clone();
        println!(
            "  scrolling, {frames} frames, {name}: median {:.1} ms, p95 {:.1} ms, max {:.1} ms; \
             {:.0} % of the window repainted; {} pages read",
            pct(&mut t, 0.5),
            pct(&mut t, 0.95),
            pct(&mut t, 1.0),
            pass.pixels as f64 * 100.0 / window_px as f64,
            pass.reads
        );
    }
    println!(
        "  partial repaint gives the full repaint's picture: {}",
        if differ == 0 {
            "yes".to_string()
        } else {
            format!("NO, {differ} pixels differ")
        }
    );
    let (mut p, mut f) = (part.times.clone(), warm.times.clone());
    println!(
        "  partial / full (warm) median: {:.2}",
        pct(&mut p, 0.5) / pct(&mut f, 0.5).max(1e-9)
    );
    println!(
        "  jumps to 25/50/75/100 %: {} ({jump_reads} pages read)",
        jumps
            .iter()
            .map(|d| format!("{:.1} ms", ms(*d)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  pages read from SQLite in all: {} (of {})",
        reads(),
        total.div_ceil(crate::paged::PAGE)
    );
    println!(
        "  RSS now {:.1} MB, peak {:.1} MB",
        status_kb("VmRSS:") as f64 / 1024.0,
        status_kb("VmHWM:") as f64 / 1024.0
    );
    Ok(())
}

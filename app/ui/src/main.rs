//! `gridpad-ui --data-dir DIR [--lang zh_CN|en]` — the terminal app.
//!
//! Backend by cargo feature: `device` = full-screen Linux KMS with libinput (no desktop),
//! `desktop` = winit (X11/Wayland, Xvfb). Both use the software renderer. `SLINT_BACKEND`
//! overrides. The PIN is entered on the login screen.

use gridpad_ui::exec::Mode;
use gridpad_ui::services::{Camera, Services};
use gridpad_ui::{App, AppConfig};
use slint::ComponentHandle;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

fn usage() -> ! {
    eprintln!(
        "usage: gridpad-ui [--data-dir DIR] [--lang zh_CN|en] [--gnss SOURCE] [--camera CAMERA]\n\
         \x20                 [--screenshot PNG]\n\
         gridpad-ui --version\n\
         gridpad-ui measure --data-dir DIR --pin PIN [--make-town N] [--frames N]\n\
         \n\
         The device configuration is $GRIDPAD_CONFIG, else /etc/gridpad/gridpad.toml.\n\
         DIR defaults to $GRIDPAD_DATA_DIR, then the configuration's data_dir, then\n\
         ./gridpad-data. A directory without data opens the first-run screen (enroll with\n\
         provision.toml or a code, and create a PIN). SOURCE overrides the GNSS source (the\n\
         settings screen's, else the configuration's [gnss]): a serial device (/dev/ttyS3),\n\
         gpsd:HOST:PORT, replay:FILE.nmea, none.\n\
         CAMERA: a still-capture command with {{out}} for the file it writes (\"libcamera-still\n\
         -n -o {{out}}\"), a folder the camera saves into, or \"pattern\" (generated test\n\
         pictures, for demos); default $GRIDPAD_CAMERA_CMD, then $GRIDPAD_CAMERA_DIR.\n\
         --screenshot writes the first screen to PNG (after 2 s) and goes on running."
    );
    std::process::exit(2)
}

/// The camera named on the command line (a folder, a capture command, "pattern"), else
/// the one the environment configures.
fn camera_from(arg: Option<&str>, data_dir: &Path) -> Option<Arc<dyn Camera>> {
    use gridpad_photo::camera::{from_env, CommandCamera, DirCamera, PatternCamera};
    let Some(arg) = arg else {
        return from_env(data_dir).map(Arc::from);
    };
    if arg == "pattern" {
        return Some(Arc::new(PatternCamera::default()));
    }
    let path = Path::new(arg);
    if path.is_dir() {
        let since = std::time::SystemTime::now() - Duration::from_secs(60);
        return Some(Arc::new(DirCamera::new(path, since)));
    }
    CommandCamera::new(arg, data_dir).map(|c| Arc::new(c) as Arc<dyn Camera>)
}

fn select_backend() {
    if std::env::var_os("SLINT_BACKEND").is_some() {
        return; // the user chose
    }
    let backend = if cfg!(feature = "device") {
        "linuxkms"
    } else {
        "winit"
    };
    if let Err(e) = slint::BackendSelector::new()
        .backend_name(backend.into())
        .renderer_name("software".into())
        .select()
    {
        eprintln!("gridpad-ui: cannot start the {backend} backend: {e}");
    }
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("measure") {
        if let Err(e) = gridpad_ui::measure::run(&argv[2..]) {
            eprintln!("gridpad-ui measure: {e:#}");
            std::process::exit(1);
        }
        return;
    }
    let mut data_dir: Option<PathBuf> = std::env::var_os("GRIDPAD_DATA_DIR").map(PathBuf::from);
    let mut language = None;
    let mut gnss = None;
    let mut screenshot: Option<PathBuf> = None;
    let mut camera: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data-dir" => data_dir = Some(args.next().unwrap_or_else(|| usage()).into()),
            "--lang" => language = Some(args.next().unwrap_or_else(|| usage())),
            "--gnss" => gnss = Some(args.next().unwrap_or_else(|| usage())),
            "--screenshot" => screenshot = Some(args.next().unwrap_or_else(|| usage()).into()),
            "--camera" => camera = Some(args.next().unwrap_or_else(|| usage())),
            "-V" | "--version" => {
                println!("gridpad-ui {}", env!("CARGO_PKG_VERSION"));
                return;
            }
            "-h" | "--help" => usage(),
            other => {
                eprintln!("gridpad-ui: unknown argument {other:?}");
                usage()
            }
        }
    }
    // A configuration that cannot be read stops the app with the reason in the journal
    // (exit 78, EX_CONFIG: gridpad.service does not restart it in a loop).
    let config_path = std::env::var_os("GRIDPAD_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| gridpad_config::PATH.into());
    let device = match gridpad_config::DeviceConfig::load(&config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gridpad-ui: {e}");
            std::process::exit(78);
        }
    };
    // [ui]: Slint reads these when the window is made (the environment wins).
    for (key, value) in device.ui.env(|k| std::env::var_os(k).is_some()) {
        std::env::set_var(key, value);
    }
    let data_dir = data_dir
        .or_else(|| device.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from("gridpad-data"));
    select_backend();
    let saved = gridpad_ui::settings::Settings::load(&data_dir).gnss_override;
    let gnss =
        gridpad_ui::gnss::GnssSource::choose(gnss.as_deref(), saved.as_deref(), &device.gnss);
    let camera = camera_from(camera.as_deref(), &data_dir);
    let services = Services::system(&device, gnss, camera);
    let app = match App::new(AppConfig {
        data_dir,
        device,
        services,
        mode: Mode::Threaded,
        language,
        kdf_iterations: None,
    }) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("gridpad-ui: cannot open the window: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = app.ui.show() {
        eprintln!("gridpad-ui: cannot show the window: {e}");
        std::process::exit(1);
    }
    // The software renderer has no frame notifier: a zero-delay timer runs once the event
    // loop turns with the window shown, i.e. after its first frame was drawn.
    let ready = slint::Timer::default();
    ready.start(slint::TimerMode::SingleShot, Duration::ZERO, || {
        let _ = gridpad_ui::notify::notify("READY=1");
    });
    let _watchdog = gridpad_ui::notify::watchdog();
    let _shot = screenshot.map(|path| {
        let weak = app.ui.as_weak();
        let t = slint::Timer::default();
        t.start(
            slint::TimerMode::SingleShot,
            Duration::from_secs(2),
            move || {
                let Some(ui) = weak.upgrade() else { return };
                match ui.window().take_snapshot() {
                    Ok(shot) => match gridpad_ui::snapshot::save_png(&shot, &path) {
                        Ok(()) => eprintln!("gridpad-ui: screenshot saved to {}", path.display()),
                        Err(e) => eprintln!("gridpad-ui: cannot write {}: {e}", path.display()),
                    },
                    Err(e) => eprintln!("gridpad-ui: cannot take a screenshot: {e}"),
                }
            },
        );
        t
    });
    if let Err(e) = slint::run_event_loop() {
        eprintln!("gridpad-ui: {e}");
        std::process::exit(1);
    }
}

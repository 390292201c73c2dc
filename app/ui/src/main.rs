//! `gridpad-ui --data-dir DIR [--lang zh_CN|en]` — the terminal app.
//!
//! Backend by cargo feature: `device` = full-screen Linux KMS with libinput (no desktop),
//! `desktop` = winit (X11/Wayland, Xvfb). Both use the software renderer. `SLINT_BACKEND`
//! overrides. The PIN is entered on the login screen.

use gridpad_ui::exec::Mode;
use gridpad_ui::services::Services;
use gridpad_ui::{App, AppConfig};
use slint::ComponentHandle;
use std::path::PathBuf;

fn usage() -> ! {
    eprintln!(
        "usage: gridpad-ui [--data-dir DIR] [--lang zh_CN|en]\n\
         gridpad-ui measure --data-dir DIR --pin PIN [--make-town N] [--frames N]\n\
         \n\
         DIR defaults to $GRIDPAD_DATA_DIR, then ./gridpad-data. A directory without data\n\
         opens the first-run screen (enroll and create a PIN)."
    );
    std::process::exit(2)
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
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data-dir" => data_dir = Some(args.next().unwrap_or_else(|| usage()).into()),
            "--lang" => language = Some(args.next().unwrap_or_else(|| usage())),
            "-h" | "--help" => usage(),
            other => {
                eprintln!("gridpad-ui: unknown argument {other:?}");
                usage()
            }
        }
    }
    let data_dir = data_dir.unwrap_or_else(|| PathBuf::from("gridpad-data"));
    select_backend();
    let app = match App::new(AppConfig {
        data_dir,
        services: Services::system(),
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
    if let Err(e) = app.ui.run() {
        eprintln!("gridpad-ui: {e}");
        std::process::exit(1);
    }
}

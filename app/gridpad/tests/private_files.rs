//! What the `gridpad` CLI leaves on the device is the user's alone (issue 12): after
//! `init`, loading base data, a report with a photo and a PIN change, through the real
//! binary, the data directory is 0700 and no file in it is readable by group or others —
//! the key file, the database and its WAL/shared-memory files, the photo vault, the PIN
//! attempt counter.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

const PIN: &str = "135790";

fn gridpad(dir: &Path, pin: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gridpad"));
    c.env("GRIDPAD_PIN", pin).env("GRIDPAD_DATA_DIR", dir);
    // The usual umask: files made without an explicit mode would be readable by all.
    unsafe {
        c.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        });
    }
    c
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run gridpad");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn small_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .unwrap();
    out
}

/// Every entry under `dir` that others could read or enter, with its mode.
fn open_to_others(dir: &Path, found: &mut Vec<String>, seen: &mut usize) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let meta = std::fs::symlink_metadata(e.path()).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        *seen += 1;
        if meta.is_dir() {
            if mode != 0o700 {
                found.push(format!("{} {mode:o}", e.path().display()));
            }
            open_to_others(&e.path(), found, seen);
        } else if mode & 0o077 != 0 {
            found.push(format!("{} {mode:o}", e.path().display()));
        }
    }
}

#[test]
fn the_data_directory_and_every_file_in_it_are_private() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("gridpad-data");
    run_ok(gridpad(&dir, PIN).args(["init"]));
    run_ok(gridpad(&dir, PIN).args(["demo-data", "--persons", "30"]));
    let photo = tmp.path().join("IMG_0001.jpg");
    std::fs::write(&photo, small_jpeg()).unwrap();
    let out = run_ok(
        gridpad(&dir, PIN)
            .args([
                "report",
                "--category",
                "0401",
                "--description",
                "消防栓损坏",
            ])
            .args(["--lat", "29.9493", "--lon", "121.7131", "--json", "--photo"])
            .arg(&photo),
    );
    let ev: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(ev["photos"].as_array().map(Vec::len), Some(1), "{out}");
    run_ok(
        gridpad(&dir, PIN)
            .env("GRIDPAD_NEW_PIN", "24681357")
            .arg("change-pin"),
    );
    run_ok(gridpad(&dir, "24681357").args(["status"]));

    // SQLite removes its WAL and shared-memory files when the last connection closes:
    // look while one is open and has written.
    let mut store = gridpad_core::Store::open(&dir, "24681357").unwrap();
    store.set_kv("ui.checked", "1").unwrap();

    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "the data directory is {mode:o}");
    let (mut found, mut seen) = (vec![], 0);
    open_to_others(&dir, &mut found, &mut seen);
    for f in [
        "key.json",
        "gridpad.db",
        "gridpad.db-wal",
        "gridpad.db-shm",
        "pin-attempts",
        "photos",
    ] {
        assert!(dir.join(f).exists(), "{f} is where it should be");
    }
    assert!(
        seen >= 8,
        "only {seen} entries: the photo vault is missing?"
    );
    assert!(found.is_empty(), "readable by others: {found:#?}");
}

//! `gridpad-ui measure` as a person runs it: the real binary, a real encrypted town on
//! disk. Checks what the figures rest on (the resident count, the pages read, partial
//! repaint drawing the same picture as a full repaint), never a time.

use std::process::Command;

fn measure(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gridpad-ui"))
        .arg("measure")
        .args(args)
        .output()
        .expect("run gridpad-ui measure")
}

#[test]
fn measures_a_small_town_with_full_and_partial_repaint() {
    let dir = tempfile::tempdir().unwrap();
    let town = dir.path().join("town");
    let town = town.to_str().unwrap();

    let made = measure(&["--data-dir", town, "--pin", "135790", "--make-town", "300"]);
    assert!(made.status.success(), "{made:?}");
    assert!(String::from_utf8_lossy(&made.stderr).contains("made a town of 300 residents"));

    let run = measure(&["--data-dir", town, "--pin", "135790", "--frames", "20"]);
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{run:?}");
    assert!(out.contains("— 300 residents"), "{out}");
    assert!(out.contains("main → first frame (login)"), "{out}");
    assert!(out.contains("RSS at first frame"), "{out}");
    assert!(
        out.contains("partial repaint gives the full repaint's picture: yes"),
        "{out}"
    );
    // Full repaint covers the whole window each frame; partial repaint leaves at least the
    // header out while the list scrolls.
    let percent = |name: &str| -> f64 {
        let line = out
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no line {name:?} in {out}"));
        let before = line.split(" % of the window").next().unwrap();
        before.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(percent("full repaint, warm"), 100.0, "{out}");
    let partial = percent("partial repaint");
    assert!(partial > 0.0 && partial < 100.0, "{out}");
    // 300 residents are 6 pages of 50; a list that read more than it has would be wrong.
    assert!(out.contains("pages read from SQLite in all: "), "{out}");
    assert!(out.contains("(of 6)"), "{out}");
}

#[test]
fn a_missing_town_or_wrong_pin_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let town = dir.path().join("town");
    let town = town.to_str().unwrap();

    let run = measure(&["--data-dir", town, "--pin", "135790"]);
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.starts_with("gridpad-ui measure: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let made = measure(&["--data-dir", town, "--pin", "135790", "--make-town", "60"]);
    assert!(made.status.success(), "{made:?}");
    let run = measure(&["--data-dir", town, "--pin", "000000"]);
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("login failed"), "{err}");

    let run = measure(&["--data-dir", town, "--frames", "0"]);
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    assert!(String::from_utf8_lossy(&run.stderr).contains("--frames"));
}

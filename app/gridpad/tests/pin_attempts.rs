//! PIN attempts made by many `gridpad` processes at once share one counter (issue 12): no
//! more PINs are tried than the lockout allows, whatever the timing.

use std::path::Path;
use std::process::Command;

const PIN: &str = "135790";

fn gridpad(dir: &Path, pin: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gridpad"));
    c.env("GRIDPAD_PIN", pin).env("GRIDPAD_DATA_DIR", dir);
    c
}

fn run_ok(cmd: &mut Command) {
    let out = cmd.output().expect("run gridpad");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn wrong_pins_from_many_processes_at_once_share_one_counter() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    run_ok(gridpad(&dir, PIN).args(["init"]));
    let children: Vec<_> = (0..10)
        .map(|i| {
            gridpad(&dir, &format!("{:06}", 900_000 + i))
                .arg("status")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let answers: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(!out.status.success());
            String::from_utf8_lossy(&out.stderr).into_owned()
        })
        .collect();
    let wrong = answers.iter().filter(|a| a.contains("wrong PIN (")).count();
    let locked = answers.iter().filter(|a| a.contains("locked for")).count();
    assert_eq!(wrong, 4, "{answers:#?}");
    assert_eq!(locked, 6, "{answers:#?}");
    let out = gridpad(&dir, PIN).arg("status").output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("locked for"),
        "the right PIN waits out the lock"
    );
}

//! The PIN lockout holds against attempts made at the same time and against storage that
//! cannot record an attempt (issue 12): real key files, real threads, a real full device.

use gridpad_core::keyring::{self, FREE_ATTEMPTS};
use gridpad_core::Error;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Barrier};

const PIN: &str = "135790";
/// Slow enough that parallel attempts overlap, fast enough for a test.
const ITERATIONS: u32 = 20_000;

#[test]
fn parallel_wrong_pins_get_no_more_tries_than_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    keyring::create_with_iterations(dir.path(), PIN, "dev-1", ITERATIONS).unwrap();
    let n = 16;
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let dir = dir.path().to_path_buf();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                keyring::unlock(&dir, &format!("{:06}", 900_000 + i))
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let wrong = results
        .iter()
        .filter(|r| matches!(r, Err(Error::WrongPin { .. })))
        .count();
    let locked = results
        .iter()
        .filter(|r| matches!(r, Err(Error::LockedOut { .. })))
        .count();
    // FREE_ATTEMPTS tries in all: four answered "wrong", the fifth locked the device, and
    // every other attempt met the lock without its PIN being tried.
    assert_eq!(
        wrong,
        FREE_ATTEMPTS as usize - 1,
        "attempts slipped past the counter: {results:?}"
    );
    assert_eq!(locked, n - wrong, "{results:?}");
    assert!(
        matches!(
            keyring::unlock(dir.path(), PIN),
            Err(Error::LockedOut { .. })
        ),
        "the right PIN must wait out the lock"
    );
}

#[test]
fn an_attempt_that_cannot_be_recorded_is_refused_and_the_pin_not_tried() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    keyring::create_with_iterations(d, PIN, "dev-1", ITERATIONS).unwrap();
    // Every write to the counter meets a full device (/dev/full answers ENOSPC), also a
    // counter written by replacing the key file.
    let _ = std::fs::remove_file(keyring::attempts_path(d));
    std::os::unix::fs::symlink("/dev/full", keyring::attempts_path(d)).unwrap();
    std::os::unix::fs::symlink("/dev/full", d.join(".key.json.tmp")).unwrap();
    for _ in 0..3 {
        match keyring::unlock(d, PIN) {
            Err(e @ Error::AttemptNotCounted { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("PIN was not checked"), "{msg}");
                assert!(msg.contains("Free some space"), "{msg}");
            }
            Ok(_) => panic!("the PIN was tried although the attempt could not be counted"),
            Err(e) => panic!("expected a refusal that says why, got {e:?}"),
        }
    }
    // Space again: the PIN works and nothing was lost.
    std::fs::remove_file(keyring::attempts_path(d)).unwrap();
    std::fs::remove_file(d.join(".key.json.tmp")).unwrap();
    keyring::unlock(d, PIN).unwrap();
}

/// Mount a small tmpfs (root only; elsewhere the test says so and passes).
fn tmpfs(size: &str) -> Option<(tempfile::TempDir, Unmount)> {
    let mnt = tempfile::tempdir().unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(mnt.path())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("cannot mount a tmpfs here (not root?): full-disk PIN test skipped");
        return None;
    }
    let guard = Unmount(mnt.path().to_path_buf());
    Some((mnt, guard))
}

struct Unmount(std::path::PathBuf);
impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn fill(dir: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let block = vec![7u8; 64 * 1024];
    while f.write_all(&block).is_ok() {}
    let _ = f.sync_all();
    // Even a new empty file's first byte finds no room now.
    assert!(std::fs::write(dir.join("probe"), [1u8; 4096]).is_err());
}

#[test]
fn on_a_full_disk_wrong_pins_are_still_counted() {
    let Some((mnt, _guard)) = tmpfs("1m") else {
        return;
    };
    let d = mnt.path().join("data");
    std::fs::create_dir(&d).unwrap();
    keyring::create_with_iterations(&d, PIN, "dev-1", ITERATIONS).unwrap();
    fill(mnt.path());
    for i in 1..FREE_ATTEMPTS {
        match keyring::unlock(&d, "000000") {
            Err(Error::WrongPin { remaining }) => assert_eq!(remaining, FREE_ATTEMPTS - i),
            other => panic!("attempt {i}: expected a counted wrong PIN, got {other:?}"),
        }
    }
    assert!(matches!(
        keyring::unlock(&d, "000000"),
        Err(Error::LockedOut { seconds: 30 })
    ));
    assert!(matches!(
        keyring::unlock(&d, PIN),
        Err(Error::LockedOut { .. })
    ));
}

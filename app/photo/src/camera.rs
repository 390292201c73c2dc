//! Where photos come from. A handheld's camera is driven by its vendor's still-capture
//! tool (`libcamera-still`, `fswebcam`, a vendor binary) or saves into a picture folder;
//! Gridpad takes the still from either and runs it through the evidence intake
//! ([`take_evidence`]: policy, 水印 stamp, encrypted vault, registration) — the same
//! pipeline as `gridpad report --photo`.
//!
//! - [`CommandCamera`]: runs the capture command (`GRIDPAD_CAMERA_CMD`, `{out}` is the
//!   file it must write), with a deadline;
//! - [`DirCamera`]: the newest picture in a folder (`GRIDPAD_CAMERA_DIR`) not taken yet;
//! - [`PatternCamera`]: a generated, deterministic test picture, for the demo and for
//!   tests on machines without a camera. It is never chosen by [`from_env`].

use crate::intake::encode_jpeg;
use crate::watermark::{Stamp, Watermarker};
use crate::{Captured, PhotoError, Vault};
use gridpad_core::model::Position;
use gridpad_core::Store;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// Largest camera file read (a 50 MP JPEG is ~25 MB).
const MAX_STILL: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    /// Nothing to take (no new picture in the folder).
    #[error("no new picture in {0}: take one with the camera first")]
    NoNewPicture(String),
    #[error("the camera command failed: {0}")]
    Command(String),
    #[error("the camera did not answer within {0} s")]
    Timeout(u64),
    #[error("camera file {path}: {error}")]
    Io {
        path: String,
        #[source]
        error: std::io::Error,
    },
    #[error("camera file {0} is larger than 64 MB")]
    TooLarge(String),
}

/// A source of still pictures (JPEG or PNG bytes as the camera wrote them).
pub trait Camera: Send + Sync {
    fn take(&self) -> Result<Vec<u8>, CameraError>;
    /// What the settings screen shows ("libcamera-still", "/media/DCIM" …).
    fn describe(&self) -> String;
}

fn read_still(path: &Path) -> Result<Vec<u8>, CameraError> {
    let io = |error| CameraError::Io {
        path: path.display().to_string(),
        error,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_STILL {
        return Err(CameraError::TooLarge(path.display().to_string()));
    }
    std::fs::read(path).map_err(io)
}

/// Runs a still-capture command that writes one picture to `{out}`.
pub struct CommandCamera {
    program: String,
    args: Vec<String>,
    /// Where `{out}` points (a scratch file, removed after reading).
    scratch: PathBuf,
    deadline: Duration,
}

impl CommandCamera {
    /// `command`: program and arguments separated by spaces, `{out}` standing for the
    /// file to write, e.g. `libcamera-still -n -t 300 -o {out}`. Without `{out}` the
    /// file name is appended.
    pub fn new(command: &str, scratch_dir: &Path) -> Option<CommandCamera> {
        let mut words = command.split_whitespace().map(str::to_string);
        let program = words.next()?;
        let mut args: Vec<String> = words.collect();
        if !args.iter().any(|a| a.contains("{out}")) {
            args.push("{out}".into());
        }
        Some(CommandCamera {
            program,
            args,
            scratch: scratch_dir.join("camera-still.jpg"),
            deadline: Duration::from_secs(20),
        })
    }

    pub fn with_deadline(mut self, d: Duration) -> Self {
        self.deadline = d;
        self
    }
}

impl Camera for CommandCamera {
    fn take(&self) -> Result<Vec<u8>, CameraError> {
        let out = self.scratch.display().to_string();
        let _ = std::fs::remove_file(&self.scratch);
        let mut child = Command::new(&self.program)
            .args(self.args.iter().map(|a| a.replace("{out}", &out)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| CameraError::Command(format!("{}: {e}", self.program)))?;
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if started.elapsed() > self.deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(CameraError::Timeout(self.deadline.as_secs()));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(CameraError::Command(e.to_string())),
            }
        };
        if !status.success() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            let last = err.lines().last().unwrap_or("").trim().to_string();
            return Err(CameraError::Command(format!(
                "{} exited with {status}{}",
                self.program,
                if last.is_empty() {
                    String::new()
                } else {
                    format!(": {last}")
                }
            )));
        }
        let bytes = read_still(&self.scratch);
        let _ = std::fs::remove_file(&self.scratch);
        bytes
    }

    fn describe(&self) -> String {
        self.program.clone()
    }
}

/// Takes the newest JPEG/PNG in a folder the device's camera saves into, each picture
/// once, and only pictures newer than the last one taken (an old holiday photo in the
/// folder is never picked up as evidence).
pub struct DirCamera {
    dir: PathBuf,
    state: Mutex<(SystemTime, HashSet<PathBuf>)>,
}

impl DirCamera {
    /// Pictures older than `since` are not taken (the app passes its start time, less a
    /// minute for a picture taken just before).
    pub fn new(dir: &Path, since: SystemTime) -> DirCamera {
        DirCamera {
            dir: dir.to_path_buf(),
            state: Mutex::new((since, HashSet::new())),
        }
    }
}

impl Camera for DirCamera {
    fn take(&self) -> Result<Vec<u8>, CameraError> {
        let files = crate::camera_files(&self.dir).map_err(|error| CameraError::Io {
            path: self.dir.display().to_string(),
            error,
        })?;
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        for f in files {
            let modified = std::fs::metadata(&f)
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            if modified < st.0 {
                break; // newest first: the rest are older still
            }
            if st.1.contains(&f) {
                continue;
            }
            let bytes = read_still(&f)?;
            st.0 = modified;
            st.1.insert(f);
            return Ok(bytes);
        }
        Err(CameraError::NoNewPicture(self.dir.display().to_string()))
    }

    fn describe(&self) -> String {
        self.dir.display().to_string()
    }
}

/// A generated picture: sky, a street of blocks, noise so it compresses like a photo;
/// different for every take, the same sequence in every run.
pub struct PatternCamera {
    n: AtomicU64,
    width: u32,
    height: u32,
}

impl PatternCamera {
    pub fn new(width: u32, height: u32) -> PatternCamera {
        PatternCamera {
            n: AtomicU64::new(0),
            width,
            height,
        }
    }
}

impl Default for PatternCamera {
    fn default() -> Self {
        PatternCamera::new(1600, 1200)
    }
}

impl Camera for PatternCamera {
    fn take(&self) -> Result<Vec<u8>, CameraError> {
        let n = self.n.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(pattern_jpeg(self.width, self.height, n))
    }

    fn describe(&self) -> String {
        "test pattern".into()
    }
}

/// The [`PatternCamera`]'s picture number `n`.
pub fn pattern_jpeg(w: u32, h: u32, n: u64) -> Vec<u8> {
    let mut x: u32 = (n as u32).wrapping_mul(2654435761).wrapping_add(7);
    let horizon = h * 2 / 5;
    let shift = (n as u32).wrapping_mul(97) % w.max(1);
    let img = image::RgbImage::from_fn(w, h, |i, j| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let noise = (x % 13) as i32 - 6;
        let base: [i32; 3] = if j < horizon {
            let t = (j * 100 / horizon.max(1)) as i32;
            [120 + t / 2, 170 + t / 3, 230 - t / 4]
        } else {
            let col = ((i + shift) / (w / 6).max(1)) % 3;
            let window = ((i + shift) / 24) % 3 == 1 && ((j - horizon) / 30) % 2 == 1;
            match (col, window) {
                (_, true) => [60, 70, 90],
                (0, _) => [190, 180, 165],
                (1, _) => [160, 150, 140],
                _ => [205, 200, 190],
            }
        };
        let px = |c: i32| (c + noise).clamp(0, 255) as u8;
        image::Rgb([px(base[0]), px(base[1]), px(base[2])])
    });
    encode_jpeg(&img, 90).unwrap_or_default()
}

/// The camera this device is configured with: `GRIDPAD_CAMERA_CMD` (a capture command),
/// else `GRIDPAD_CAMERA_DIR` (a picture folder); `None` when neither is set.
pub fn from_env(scratch_dir: &Path) -> Option<Box<dyn Camera>> {
    if let Ok(cmd) = std::env::var("GRIDPAD_CAMERA_CMD") {
        if let Some(c) = CommandCamera::new(&cmd, scratch_dir) {
            return Some(Box::new(c));
        }
    }
    if let Ok(dir) = std::env::var("GRIDPAD_CAMERA_DIR") {
        let since = SystemTime::now() - Duration::from_secs(60);
        return Some(Box::new(DirCamera::new(Path::new(&dir), since)));
    }
    None
}

/// The 水印 stamp for a photo taken now: device time, the position ± accuracy, the home
/// grid's name, the reporter.
pub fn stamp_now(
    store: &Store,
    position: Option<&Position>,
    reporter: &str,
) -> Result<Stamp, PhotoError> {
    let grid = store
        .home_grid()?
        .map(|g| g.name)
        .or(store.kv("grid_id")?)
        .unwrap_or_default();
    Ok(Stamp {
        time: store.now(),
        time_corrected: false,
        position: position.and_then(|p| Some((p.lat?, p.lon?))),
        accuracy_m: position.and_then(|p| p.accuracy_m),
        grid,
        reporter: reporter.to_string(),
    })
}

/// Take a picture with `camera` as evidence for a record of `category` (its photo
/// policy; the default policy when empty): processed, stamped, stored encrypted and
/// registered. A camera failure or a corrupt picture registers nothing.
pub fn take_evidence(
    store: &mut Store,
    camera: &dyn Camera,
    category: &str,
    position: Option<&Position>,
    reporter: &str,
) -> Result<Captured, PhotoError> {
    let source = camera.take()?;
    let policy = crate::policy_for(store, category)?;
    let vault = Vault::open(store.dir(), store.photo_key())?;
    let wm = Watermarker::bundled()?;
    let stamp = stamp_now(store, position, reporter)?;
    crate::capture(store, &vault, &wm, &source, &policy, &stamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_camera_gives_a_new_decodable_picture_each_time() {
        let c = PatternCamera::new(320, 240);
        let (a, b) = (c.take().unwrap(), c.take().unwrap());
        assert_ne!(a, b);
        let img = image::load_from_memory(&a).unwrap();
        assert_eq!((img.width(), img.height()), (320, 240));
    }

    #[test]
    fn a_capture_command_writes_the_still_and_failures_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src.jpg");
        std::fs::write(&src, pattern_jpeg(64, 48, 1)).unwrap();
        let cam = CommandCamera::new(&format!("cp {} {{out}}", src.display()), dir.path()).unwrap();
        assert_eq!(cam.take().unwrap(), std::fs::read(&src).unwrap());
        assert!(
            !dir.path().join("camera-still.jpg").exists(),
            "scratch removed"
        );

        let script = dir.path().join("cam.sh");
        std::fs::write(&script, "#!/bin/sh\necho 'sensor busy' >&2\nexit 3\n").unwrap();
        let bad = CommandCamera::new(&format!("sh {}", script.display()), dir.path()).unwrap();
        let e = bad.take().unwrap_err().to_string();
        assert!(e.contains("sensor busy"), "{e}");

        let hang = dir.path().join("hang.sh");
        std::fs::write(&hang, "#!/bin/sh\nsleep 5\n").unwrap();
        let slow = CommandCamera::new(&format!("sh {}", hang.display()), dir.path())
            .unwrap()
            .with_deadline(Duration::from_millis(200));
        assert!(matches!(slow.take(), Err(CameraError::Timeout(_))));

        let missing = CommandCamera::new("gridpad-no-such-camera-tool", dir.path()).unwrap();
        assert!(matches!(missing.take(), Err(CameraError::Command(_))));
    }

    #[test]
    fn a_picture_folder_gives_each_new_picture_once_and_never_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.jpg");
        std::fs::write(&old, pattern_jpeg(32, 32, 1)).unwrap();
        let since = SystemTime::now() + Duration::from_secs(1);
        let cam = DirCamera::new(dir.path(), since);
        assert!(matches!(cam.take(), Err(CameraError::NoNewPicture(_))));
        let new = dir.path().join("IMG_0002.JPG");
        std::fs::write(&new, pattern_jpeg(32, 32, 2)).unwrap();
        let f = std::fs::File::options().write(true).open(&new).unwrap();
        f.set_modified(since + Duration::from_secs(5)).unwrap();
        drop(f);
        assert_eq!(cam.take().unwrap(), std::fs::read(&new).unwrap());
        assert!(
            matches!(cam.take(), Err(CameraError::NoNewPicture(_))),
            "each picture once"
        );
    }
}

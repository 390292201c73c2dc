//! Named crash points, for the tests of what a kill at the worst moment leaves behind.
//!
//! `GRIDHUB_CRASH_AT=<area>.<step>` in gridhub's environment (read once, at start) makes the
//! process abort when it reaches that point — SIGABRT: no destructor runs, no transaction
//! commits, no answer goes out, as with a power cut or the OOM killer. Without the variable
//! (always, in production) a point costs one load of a once-initialised value. An armed
//! point is announced on stderr at start, so a hub started with one by mistake says so.
//!
//! The points, each between two steps of a multi-step write (`tests/hostile/tests/crash.rs`
//! kills the hub at every one, restarts it on the same data and checks that nothing was
//! lost or taken twice and that devices converge):
//!
//! | point | where |
//! |---|---|
//! | `enroll.before_commit` | the code marked used and the device written, not committed |
//! | `enroll.after_commit` | enrollment committed, the answer not sent |
//! | `push.after_verdicts` | a push's mutations applied and their verdicts kept, the device record not yet written, nothing committed |
//! | `push.after_commit` | a push committed, no pages pulled, no answer sent |
//! | `import.before_commit` | a batch of a central import written, not committed |
//! | `import.after_batch` | `gridhub admin import`: one batch committed, the next not begun |
//! | `dispatch.after_transition` | 派遣: the event moved to dispatched, its task not yet created (one transaction) |
//! | `upload.before_complete` | a photo's last byte on disk, its completion not begun |
//! | `upload.after_rename` | the photo renamed into the store, its delivery not marked, the upload not closed |
//! | `upload.after_mark` | the delivery marked, the upload not closed |
//! | `supervise.after_mark` | 督办: a task's thresholds marked, its reminders and audit line not written (one transaction) |
//!
//! Other areas add their points here, named the same way (`area.step`).

use std::sync::OnceLock;

/// The environment variable that arms a crash point.
pub const ENV: &str = "GRIDHUB_CRASH_AT";

/// Every crash point of the hub, as `area.step`.
pub const POINTS: &[&str] = &[
    "enroll.before_commit",
    "enroll.after_commit",
    "push.after_verdicts",
    "push.after_commit",
    "import.before_commit",
    "import.after_batch",
    "dispatch.after_transition",
    "handling.after_step",
    "upload.before_complete",
    "upload.after_rename",
    "upload.after_mark",
    "supervise.after_mark",
];

static ARMED: OnceLock<Option<String>> = OnceLock::new();

fn armed() -> Option<&'static str> {
    ARMED
        .get_or_init(|| std::env::var(ENV).ok().filter(|s| !s.is_empty()))
        .as_deref()
}

/// Read the environment (once) and say on stderr which point, if any, is armed. gridhub
/// calls this at start; an unknown name is refused, so a typo never leaves a test
/// waiting for a crash that cannot come.
pub fn arm_from_env() -> Result<(), String> {
    match armed() {
        None => Ok(()),
        Some(p) if POINTS.contains(&p) => {
            eprintln!("gridhub: crash point {p} armed ({ENV}); the process will abort there");
            Ok(())
        }
        Some(p) => Err(format!(
            "{ENV}={p:.64}: no such crash point (known: {})",
            POINTS.join(", ")
        )),
    }
}

/// Abort the process here if this point is armed.
pub fn point(name: &'static str) {
    debug_assert!(POINTS.contains(&name), "crash point {name} is not listed");
    if armed() == Some(name) {
        eprintln!("gridhub: crash point {name} reached; aborting");
        std::process::abort();
    }
}

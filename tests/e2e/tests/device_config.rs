//! `/etc/gridpad/gridpad.toml` through the real programs: every key the command line and
//! the update agent document has its effect, and a key none of them knows stops them with
//! its name. (The app's keys: `gridpad-ui`'s tests — GNSS in `gnss.rs`, `[ui]` in
//! gridpad-config; `lock_after_days_offline`: `lost_device.rs`.)

use gridpad_testkit::process::*;
use std::path::Path;
use std::process::Command;

/// `gridpad` with only a configuration: no GRIDPAD_DATA_DIR.
fn configured(config: &Path) -> Command {
    let mut c = Command::new(bin("gridpad"));
    c.env("GRIDPAD_PIN", DEVICE_PIN)
        .env_remove("GRIDPAD_DATA_DIR")
        .env("GRIDPAD_CONFIG", config);
    c
}

#[test]
fn data_dir_and_hub_url_are_where_the_device_keeps_its_data_and_enrolls() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let hub_dir = w.join("hub");
    let seeded = seed_demo(&hub_dir, 300);
    let grid = seeded["home_grid_code"].as_str().unwrap().to_string();
    let hub = HubProcess::start(&hub_dir);
    let data = w.join("data");
    let config = w.join("gridpad.toml");
    std::fs::write(
        &config,
        format!(
            "hub_url = \"{}/\"\ndata_dir = \"{}\"\n",
            hub.url,
            data.display()
        ),
    )
    .unwrap();
    let out = run(configured(&config).arg("init"));
    assert!(out.contains(&data.display().to_string()), "{out}");
    assert!(data.join(gridpad_core::db::DB_FILE).exists());
    // `enroll` without --hub: the configured hub.
    let code = issue_code(&hub_dir, "网格员", &grid);
    let out = run(configured(&config).args(["enroll", "--code", &code]));
    assert!(out.contains("enrolled"), "{out}");
    let out = run(configured(&config).args(["sync", "--once"]));
    assert!(out.contains("sync complete"), "{out}");
    // --data-dir (and GRIDPAD_DATA_DIR) still win.
    let elsewhere = w.join("elsewhere");
    let out = configured(&config)
        .arg("--data-dir")
        .arg(&elsewhere)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&elsewhere.display().to_string()),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_unknown_or_misspelt_key_stops_every_program_with_its_name() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let config = w.join("gridpad.toml");
    for (text, key) in [
        ("lock_after_day_offline = 7\n", "lock_after_day_offline"),
        ("[gnss]\ndevcie = \"/dev/ttyUSB0\"\n", "devcie"),
        ("[update]\nroot_dir = \"/tmp\"\n", "root_dir"),
    ] {
        std::fs::write(&config, text).unwrap();
        let out = configured(&config)
            .arg("--data-dir")
            .arg(w.join("d"))
            .arg("status")
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("gridpad.toml"), "{err}");
        assert!(err.contains(&format!("unknown field `{key}`")), "{err}");
        let out = Command::new(bin("gridpad-update"))
            .arg("--config")
            .arg(&config)
            .arg("status")
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("unknown field `{key}`")), "{err}");
    }
    // The shipped file is read whole by both.
    let shipped =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/debian/gridpad/gridpad.toml");
    std::fs::copy(&shipped, &config).unwrap();
    let root = w.join("update-root");
    let status = run_json(
        Command::new(bin("gridpad-update"))
            .arg("--config")
            .arg(&config)
            .arg("--root")
            .arg(&root)
            .args(["status", "--json"]),
    );
    assert_eq!(status["running_from"], "/usr/bin/gridpad", "{status}");
}

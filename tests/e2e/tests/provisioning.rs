//! Provisioning through real processes: `gridctl provision` asks a real gridhub for one
//! enrollment code per device (admin token), writes each device's provision.toml (hub,
//! code, label, grid); the device's first start (`gridpad init`) enrolls by itself and
//! uses the code up. A copied card, a used file, a file for another hub are refused with
//! the reason, and change nothing.

use gridpad_testkit::process::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Fleet {
    hub: HubProcess,
    hub_dir: tempfile::TempDir,
    grid: String,
    token_file: PathBuf,
}

fn fleet(work: &Path) -> Fleet {
    let hub_dir = tempfile::tempdir().unwrap();
    let seeded = seed_demo(hub_dir.path(), 300);
    let grid = seeded["home_grid_code"].as_str().unwrap().to_string();
    let hub = HubProcess::start(hub_dir.path());
    let token = run(gridhub_admin(hub_dir.path()).arg("api-token"));
    let token_file = work.join("admin.token");
    std::fs::write(&token_file, token.trim()).unwrap();
    Fleet {
        hub,
        hub_dir,
        grid,
        token_file,
    }
}

fn gridctl_provision(f: &Fleet, csv: &Path, target: &Path, extra: &[&str]) -> Output {
    Command::new(bin("gridctl"))
        .args(["provision", "--csv"])
        .arg(csv)
        .arg("--target")
        .arg(target)
        .args(["--hub-url", &f.hub.url, "--admin-token-file"])
        .arg(&f.token_file)
        .args(extra)
        .output()
        .unwrap()
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn refused(o: Output) -> String {
    assert!(
        !o.status.success(),
        "succeeded: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn table(path: &Path) -> toml::Table {
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `gridpad` on `dir` with a configuration of our own (not the machine's /etc).
fn device(dir: &Path, config: &Path) -> Command {
    let mut c = gridpad(dir);
    c.env("GRIDPAD_CONFIG", config);
    c
}

fn devices(f: &Fleet) -> Vec<serde_json::Value> {
    run_json(gridhub_admin(f.hub_dir.path()).args(["devices", "--json"]))
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_provisioned_device_enrolls_on_its_first_start_and_uses_its_code_up() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let f = fleet(w);
    let csv = w.join("devices.csv");
    std::fs::write(
        &csv,
        format!(
            "label,grid_code,user,grid_name,serial\n\
             dc-001,{g},张三,东城街道 1 网格,RG-1\n\
             dc-002,{g},李四,,\n",
            g = f.grid
        ),
    )
    .unwrap();
    let out = w.join("cards");
    std::fs::create_dir_all(&out).unwrap();
    let printed = ok(gridctl_provision(&f, &csv, &out, &[]));
    assert!(printed.contains("2 device(s) provisioned"), "{printed}");
    let card1 = out.join("dc-001/gridpad");
    let p1 = table(&card1.join("provision.toml"));
    assert_eq!(p1["hub_url"].as_str(), Some(f.hub.url.as_str()));
    assert_eq!(p1["holder"].as_str(), Some("张三"));
    assert_eq!(p1["device_label"].as_str(), Some("dc-001"));
    let code1 = p1["enrollment_code"].as_str().unwrap().to_string();
    assert!(printed.contains(&code1), "{printed}");
    // No silent overwrite, and no code asked of the hub for it.
    let e = refused(gridctl_provision(&f, &csv, &out, &[]));
    assert!(e.contains("already provisioned"), "{e}");
    let copied_card = std::fs::read(card1.join("provision.toml")).unwrap();

    // First start: the store is made and the device enrolls with the card, by itself.
    let config = w.join("gridpad.toml");
    std::fs::write(&config, "lock_after_days_offline = 14\n").unwrap();
    let first = run(device(&card1, &config).arg("init"));
    assert!(first.contains("enrolled"), "{first}");
    assert!(first.contains("张三"), "{first}");
    let used = table(&card1.join("provision.toml"));
    assert!(
        used.get("enrollment_code").is_none(),
        "the code is used up: {used:?}"
    );
    assert!(used["used_by_device"].as_str().is_some());
    let listed = devices(&f);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["label"].as_str(), Some("dc-001"));
    assert_eq!(listed[0]["user"].as_str(), Some("张三"));
    let synced = run(device(&card1, &config).args(["sync", "--once"]));
    assert!(synced.contains("sync complete"), "{synced}");
    // Starting again does nothing more.
    run(device(&card1, &config).args(["sync", "--once"]));
    assert_eq!(devices(&f).len(), 1);

    // A copy of the card taken before the first start: the hub says the code was used.
    let copy = w.join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::write(copy.join("provision.toml"), &copied_card).unwrap();
    let e = refused(device(&copy, &config).arg("init").output().unwrap());
    assert!(e.contains("already used by another device"), "{e}");
    assert_eq!(
        std::fs::read(copy.join("provision.toml")).unwrap(),
        copied_card
    );
    // The used card in another handheld: refused on the device, without the hub.
    let used_copy = w.join("used-copy");
    std::fs::create_dir_all(&used_copy).unwrap();
    std::fs::copy(
        card1.join("provision.toml"),
        used_copy.join("provision.toml"),
    )
    .unwrap();
    let e = refused(device(&used_copy, &config).arg("init").output().unwrap());
    assert!(e.contains("was used on"), "{e}");
    assert_eq!(devices(&f).len(), 1);

    // A card for another hub than the configured one: refused, the code stays unused.
    let card2 = out.join("dc-002/gridpad");
    let other = w.join("other-hub.toml");
    std::fs::write(&other, "hub_url = \"https://hub.other-city.example/\"\n").unwrap();
    let e = refused(device(&card2, &other).arg("init").output().unwrap());
    assert!(e.contains("provisioned for another hub"), "{e}");
    assert!(table(&card2.join("provision.toml"))
        .get("enrollment_code")
        .is_some());
    // With the right configuration the next contact enrolls it.
    let right = w.join("right-hub.toml");
    std::fs::write(&right, format!("hub_url = \"{}/\"\n", f.hub.url)).unwrap();
    let synced = run(device(&card2, &right).args(["sync", "--once"]));
    assert!(synced.contains("enrolled"), "{synced}");
    assert_eq!(devices(&f).len(), 2);

    // An enrolled device given a card for another hub: refused.
    let mut foreign = table(&card2.join("provision.toml"));
    foreign.insert("hub_url".into(), "http://127.0.0.1:9/".into());
    foreign.insert("enrollment_code".into(), "AAAA-BBBB-CCCC".into());
    foreign.remove("used_at");
    foreign.remove("used_by_device");
    std::fs::write(
        card1.join("provision.toml"),
        toml::to_string(&foreign).unwrap(),
    )
    .unwrap();
    let e = refused(
        device(&card1, &config)
            .args(["sync", "--once"])
            .output()
            .unwrap(),
    );
    assert!(e.contains("enrolled with"), "{e}");
}

#[test]
fn codes_come_from_the_hub_for_named_people_and_accounts_only() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let f = fleet(w);
    let out = w.join("cards");
    std::fs::create_dir_all(&out).unwrap();
    // A code written into the CSV is refused: the hub never issued it.
    let csv = w.join("old.csv");
    std::fs::write(
        &csv,
        format!(
            "label,grid_code,user,enrollment_code\ndc-9,{},王五,K7QM-2XVD-9HTA\n",
            f.grid
        ),
    )
    .unwrap();
    let e = refused(gridctl_provision(&f, &csv, &out, &[]));
    assert!(e.contains("issued by gridhub"), "{e}");
    // A grid the hub does not know: the hub's refusal, nothing written.
    let csv = w.join("bad.csv");
    std::fs::write(&csv, "label,grid_code,user\ndc-8,999999999999,王五\n").unwrap();
    let e = refused(gridctl_provision(&f, &csv, &out, &[]));
    assert!(e.contains("dc-8"), "{e}");
    assert!(!out.join("dc-8/gridpad/provision.toml").exists());
    // A wrong admin token: refused by the hub.
    std::fs::write(&f.token_file, "not-a-token").unwrap();
    let csv = w.join("ok.csv");
    std::fs::write(
        &csv,
        format!("label,grid_code,user\ndc-7,{},王五\n", f.grid),
    )
    .unwrap();
    let e = refused(gridctl_provision(&f, &csv, &out, &[]));
    assert!(e.contains("dc-7"), "{e}");
}

fn have(tool: &str) -> bool {
    ["/sbin", "/usr/sbin", "/usr/bin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(tool).exists())
}

#[test]
fn provisioning_into_a_disk_image() {
    if !(have("sfdisk") && have("debugfs") && have("mkfs.ext4")) {
        eprintln!("skipped: needs sfdisk, debugfs and mkfs.ext4");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let f = fleet(w);
    let img = w.join("disk.img");
    let file = std::fs::File::create(&img).unwrap();
    file.set_len(24 << 20).unwrap();
    drop(file);
    let mut sf = Command::new("sfdisk")
        .arg("-q")
        .arg(&img)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    sf.stdin
        .take()
        .unwrap()
        .write_all(b"label: gpt\nstart=1MiB, size=4MiB, name=boot\nsize=8MiB, name=rootfs\nsize=8MiB, name=data\n")
        .unwrap();
    assert!(sf.wait().unwrap().success());
    let st = Command::new("mkfs.ext4")
        .args(["-q", "-F", "-E", &format!("offset={}", 13 << 20)])
        .arg(&img)
        .arg("8M")
        .status()
        .unwrap();
    assert!(st.success());
    let csv = w.join("devices.csv");
    std::fs::write(
        &csv,
        format!(
            "label,grid_code,user\ndc-001,{g},张三\ndc-002,{g},李四\n",
            g = f.grid
        ),
    )
    .unwrap();
    let e = refused(gridctl_provision(&f, &csv, &img, &[]));
    assert!(e.contains("choose one with --device"), "{e}");
    let printed = ok(gridctl_provision(&f, &csv, &img, &["--device", "dc-001"]));
    assert!(
        printed.contains("partition data (offset 13631488)"),
        "{printed}"
    );
    let part = format!("{}?offset={}", img.display(), 13 << 20);
    let debugfs = |req: &str| {
        let o = Command::new("debugfs")
            .arg("-R")
            .arg(req)
            .arg(&part)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let text = debugfs("cat /gridpad/provision.toml");
    assert!(text.contains("device_label = \"dc-001\""), "{text}");
    assert!(text.contains("holder = \"张三\""), "{text}");
    assert!(debugfs("stat /gridpad/provision.toml").contains("Mode:  0600"));
    let e = refused(gridctl_provision(&f, &csv, &img, &["--device", "dc-001"]));
    assert!(e.contains("exists in the data partition"), "{e}");
    ok(gridctl_provision(
        &f,
        &csv,
        &img,
        &["--device", "dc-001", "--force"],
    ));
    // The code in the image enrolls a device.
    let code = debugfs("cat /gridpad/provision.toml")
        .lines()
        .find_map(|l| l.strip_prefix("enrollment_code = \""))
        .map(|c| c.trim_end_matches('"').to_string())
        .unwrap();
    let dev = w.join("dev");
    run(gridpad(&dev).arg("init"));
    run(gridpad(&dev).args(["enroll", "--hub", &f.hub.url, "--code", &code]));
}

//! `gridctl` through the real binary: keys, bundles, provisioning (directories and a disk
//! image).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn gridctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gridctl"))
        .args(args)
        .output()
        .expect("run gridctl")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "gridctl failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "gridctl succeeded: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn deb(dir: &Path, version: &str, arch: &str) -> PathBuf {
    let tree = dir.join(format!("pkg-{version}-{arch}"));
    std::fs::create_dir_all(tree.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(tree.join("usr/bin")).unwrap();
    std::fs::write(
        tree.join("DEBIAN/control"),
        format!("Package: gridpad\nVersion: {version}-1\nArchitecture: {arch}\nMaintainer: t <t@example.invalid>\nDescription: t\n"),
    )
    .unwrap();
    let bin = tree.join("usr/bin/gridpad");
    std::fs::write(&bin, format!("#!/bin/sh\necho gridpad {version}\n")).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = dir.join(format!("gridpad_{version}-1_{arch}.deb"));
    let st = Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .arg(&tree)
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    out
}

#[test]
fn keys_and_bundles() {
    let d = tempfile::tempdir().unwrap();
    let p = |s: &str| d.path().join(s).display().to_string();
    let out = ok(&gridctl(&["keygen", "--out", &p("release.key")]));
    assert!(out.starts_with("release key "), "{out}");
    assert!(err(&gridctl(&["keygen", "--out", &p("release.key")])).contains("exists"));
    ok(&gridctl(&["keygen", "--out", &p("other.key")]));

    let deb = deb(d.path(), "0.2.0", "arm64");
    let debs = deb.display().to_string();
    // The package must match what is claimed.
    let e = err(&gridctl(&[
        "bundle",
        "create",
        "--deb",
        &debs,
        "--version",
        "0.2.0",
        "--target",
        "armhf",
        "--key",
        &p("release.key"),
    ]));
    assert!(e.contains("is built for arm64, not --target armhf"), "{e}");
    let e = err(&gridctl(&[
        "bundle",
        "create",
        "--deb",
        &debs,
        "--version",
        "0.3.0",
        "--target",
        "arm64",
        "--key",
        &p("release.key"),
    ]));
    assert!(
        e.contains("has version 0.2.0-1, not --version 0.3.0"),
        "{e}"
    );

    let out = ok(&gridctl(&[
        "bundle",
        "create",
        "--deb",
        &debs,
        "--version",
        "0.2.0",
        "--target",
        "arm64",
        "--key",
        &p("release.key"),
        "--min-version",
        "0.1.0",
    ]));
    let bundle = p("gridpad_0.2.0_arm64.gpb");
    assert!(out.starts_with(&bundle), "{out}");

    let out = ok(&gridctl(&[
        "bundle",
        "verify",
        &bundle,
        "--keys",
        &p("release.key.pub"),
    ]));
    assert!(out.starts_with("ok: gridpad 0.2.0 for arm64"), "{out}");
    let e = err(&gridctl(&[
        "bundle",
        "verify",
        &bundle,
        "--keys",
        &p("other.key.pub"),
    ]));
    assert!(e.contains("which this device does not trust"), "{e}");
    let e = err(&gridctl(&[
        "bundle",
        "verify",
        &bundle,
        "--keys",
        &p("release.key.pub"),
        "--target",
        "armhf",
    ]));
    assert!(
        e.contains("bundle is for target arm64, this device is armhf"),
        "{e}"
    );
    let inspect = ok(&gridctl(&["bundle", "inspect", &bundle]));
    assert!(
        inspect.contains("\"min_version\": \"0.1.0\"") && inspect.contains("not verified"),
        "{inspect}"
    );

    let mut bytes = std::fs::read(&bundle).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x20;
    std::fs::write(&bundle, bytes).unwrap();
    let e = err(&gridctl(&[
        "bundle",
        "verify",
        &bundle,
        "--keys",
        &p("release.key.pub"),
    ]));
    assert!(
        e.contains("payload does not match the signed manifest"),
        "{e}"
    );
}

const CSV: &str = "label,grid_code,grid_name,serial,enrollment_code\n\
dc-001,441900105001,东城街道 1 网格,RG-1,\n\
dc-002,441900105002,\"东城街道 2 网格, 北\",,FIXD-CODE-0002\n";

#[test]
fn provision_bulk_and_one_partition() {
    let d = tempfile::tempdir().unwrap();
    let csv = d.path().join("devices.csv");
    std::fs::write(&csv, CSV).unwrap();
    let target = d.path().join("out");
    std::fs::create_dir_all(&target).unwrap();
    let (c, t) = (csv.display().to_string(), target.display().to_string());
    let e = err(&gridctl(&["provision", "--csv", &c, "--target", &t]));
    assert!(e.contains("dc-001: no hub_url"), "{e}");
    let out = ok(&gridctl(&[
        "provision",
        "--csv",
        &c,
        "--target",
        &t,
        "--hub-url",
        "https://hub.example/",
    ]));
    assert!(out.contains("2 device(s) provisioned"), "{out}");
    let f1 = target.join("dc-001/gridpad/provision.toml");
    let t1: toml::Table = toml::from_str(&std::fs::read_to_string(&f1).unwrap()).unwrap();
    assert_eq!(t1["hub_url"].as_str(), Some("https://hub.example/"));
    assert_eq!(t1["grid_name"].as_str(), Some("东城街道 1 网格"));
    assert_eq!(t1["serial"].as_str(), Some("RG-1"));
    assert_eq!(t1["identity_seed"].as_str().unwrap().len(), 64);
    assert_eq!(
        std::fs::metadata(&f1).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let t2: toml::Table = toml::from_str(
        &std::fs::read_to_string(target.join("dc-002/gridpad/provision.toml")).unwrap(),
    )
    .unwrap();
    assert_eq!(t2["enrollment_code"].as_str(), Some("FIXD-CODE-0002"));
    assert_ne!(t1["identity_seed"], t2["identity_seed"]);
    // The enrollment list for gridhub has public keys and codes, no seeds.
    let list = std::fs::read_to_string(format!("{c}.enrollment.json")).unwrap();
    assert!(list.contains(t1["identity_public_key"].as_str().unwrap()));
    assert!(!list.contains(t1["identity_seed"].as_str().unwrap()));
    // No silent overwrite.
    let e = err(&gridctl(&[
        "provision",
        "--csv",
        &c,
        "--target",
        &t,
        "--hub-url",
        "https://hub.example/",
    ]));
    assert!(e.contains("already provisioned"), "{e}");

    // One mounted data partition: one device chosen from the CSV.
    let part = d.path().join("mnt");
    std::fs::create_dir_all(&part).unwrap();
    let ps = part.display().to_string();
    let e = err(&gridctl(&[
        "provision",
        "--csv",
        &c,
        "--target",
        &ps,
        "--layout",
        "partition",
        "--hub-url",
        "https://h/",
    ]));
    assert!(e.contains("choose one with --device"), "{e}");
    ok(&gridctl(&[
        "provision",
        "--csv",
        &c,
        "--target",
        &ps,
        "--layout",
        "partition",
        "--device",
        "dc-002",
        "--hub-url",
        "https://h/",
    ]));
    let t: toml::Table =
        toml::from_str(&std::fs::read_to_string(part.join("gridpad/provision.toml")).unwrap())
            .unwrap();
    assert_eq!(t["device_label"].as_str(), Some("dc-002"));
}

fn have(tool: &str) -> bool {
    ["/sbin", "/usr/sbin", "/usr/bin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(tool).exists())
}

#[test]
fn provision_into_a_disk_image() {
    if !(have("sfdisk") && have("debugfs") && have("mkfs.ext4")) {
        eprintln!("skipped: needs sfdisk, debugfs and mkfs.ext4");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let img = d.path().join("disk.img");
    let f = std::fs::File::create(&img).unwrap();
    f.set_len(24 << 20).unwrap();
    drop(f);
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
    // An ext4 data partition at 13 MiB, made in place.
    let st = Command::new("mkfs.ext4")
        .args(["-q", "-F", "-E", &format!("offset={}", 13 << 20)])
        .arg(&img)
        .arg("8M")
        .status()
        .unwrap();
    assert!(st.success());
    let csv = d.path().join("devices.csv");
    std::fs::write(&csv, CSV).unwrap();
    let (c, i) = (csv.display().to_string(), img.display().to_string());
    let out = ok(&gridctl(&[
        "provision",
        "--csv",
        &c,
        "--target",
        &i,
        "--device",
        "dc-001",
        "--hub-url",
        "https://hub.example/",
    ]));
    assert!(out.contains("partition data (offset 13631488)"), "{out}");
    let cat = Command::new("debugfs")
        .arg("-R")
        .arg("cat /gridpad/provision.toml")
        .arg(format!("{i}?offset={}", 13 << 20))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&cat.stdout);
    assert!(text.contains("device_label = \"dc-001\""), "{text}");
    let stat = Command::new("debugfs")
        .arg("-R")
        .arg("stat /gridpad/provision.toml")
        .arg(format!("{i}?offset={}", 13 << 20))
        .output()
        .unwrap();
    let stat = String::from_utf8_lossy(&stat.stdout);
    assert!(stat.contains("Mode:  0600"), "{stat}");
    let stat = Command::new("debugfs")
        .arg("-R")
        .arg("stat /gridpad/provision.toml")
        .arg(format!("{i}?offset={}", 13 << 20))
        .output()
        .unwrap();
    let stat = String::from_utf8_lossy(&stat.stdout);
    assert!(stat.contains("Mode:  0600"), "{stat}");
    let e = err(&gridctl(&[
        "provision",
        "--csv",
        &c,
        "--target",
        &i,
        "--device",
        "dc-001",
        "--hub-url",
        "https://hub.example/",
    ]));
    assert!(e.contains("exists in the data partition"), "{e}");
    ok(&gridctl(&[
        "provision",
        "--csv",
        &c,
        "--target",
        &i,
        "--device",
        "dc-001",
        "--hub-url",
        "https://hub.example/",
        "--force",
    ]));
}

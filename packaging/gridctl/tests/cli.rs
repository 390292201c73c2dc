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

const CSV: &str = "label,grid_code,grid_name,serial,user\n\
dc-001,441900105001,东城街道 1 网格,RG-1,张三\n\
dc-002,441900105002,\"东城街道 2 网格, 北\",,李四\n";

/// What gridctl refuses before it asks the hub for any code (the hub address here answers
/// nothing: a request would fail differently). Provisioning with a real hub:
/// `tests/e2e/tests/provisioning.rs`.
#[test]
fn provision_refuses_before_asking_the_hub() {
    let d = tempfile::tempdir().unwrap();
    let csv = d.path().join("devices.csv");
    let target = d.path().join("out");
    std::fs::create_dir_all(&target).unwrap();
    let (c, t) = (csv.display().to_string(), target.display().to_string());
    let provision = |extra: &[&str]| {
        let mut args = vec![
            "provision",
            "--csv",
            &c,
            "--target",
            &t,
            "--hub-url",
            "http://127.0.0.1:9/",
            "--admin-token-file",
            "/nonexistent/admin.token",
        ];
        args.extend_from_slice(extra);
        gridctl(&args)
    };
    std::fs::write(
        &csv,
        "label,grid_code,user,enrollment_code\ndc-001,441900105001,张三,K7QM-2XVD-9HTA\n",
    )
    .unwrap();
    let e = err(&provision(&[]));
    assert!(e.contains("issued by gridhub"), "{e}");
    std::fs::write(&csv, "label,grid_code\ndc-001,441900105001\n").unwrap();
    let e = err(&provision(&[]));
    assert!(e.contains("whom is dc-001 for"), "{e}");
    std::fs::write(&csv, CSV).unwrap();
    let e = err(&provision(&["--layout", "partition"]));
    assert!(e.contains("choose one with --device"), "{e}");
    // A device already provisioned: refused before any code is asked for.
    let existing = target.join("dc-002/gridpad");
    std::fs::create_dir_all(&existing).unwrap();
    std::fs::write(existing.join("provision.toml"), "format = 2\n").unwrap();
    let e = err(&provision(&[]));
    assert!(e.contains("already provisioned"), "{e}");
    assert!(!target.join("dc-001/gridpad/provision.toml").exists());
    // Only then the token is read.
    std::fs::remove_file(existing.join("provision.toml")).unwrap();
    let e = err(&provision(&[]));
    assert!(e.contains("admin.token"), "{e}");
}

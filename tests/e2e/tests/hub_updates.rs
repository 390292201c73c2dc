//! Update bundles served by gridhub, through real processes: `gridctl` signs a bundle of a
//! real .deb, the admin publishes it (`gridhub admin publish-bundle`, and the HTTP admin
//! endpoint), the hub refuses garbage, and an enrolled device's update agent
//! (`gridpad-update update-from-hub`, with the device's own hub token) fetches the newest
//! bundle of its target over HTTP, verifies it and installs it into a temporary root. Over
//! HTTPS: `gridpad update` fetches through the device's own session (its pinned CA and
//! token) into the agent's inbox; the agent trusts only the CA it is given and never sends
//! a token over plain HTTP to another machine.

use gridpad_testkit::process::*;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn script(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A signed bundle of a .deb whose `usr/bin/gridpad` answers `gridpad <version>`.
fn signed_bundle(dir: &Path, version: &str, arch: &str) -> PathBuf {
    signed_bundle_with(dir, version, arch, "")
}

fn signed_bundle_with(dir: &Path, version: &str, arch: &str, extra: &str) -> PathBuf {
    let tree = dir.join(format!("deb-{version}-{arch}{extra}"));
    std::fs::create_dir_all(tree.join("DEBIAN")).unwrap();
    std::fs::write(
        tree.join("DEBIAN/control"),
        format!("Package: gridpad\nVersion: {version}\nArchitecture: {arch}\nMaintainer: Gridpad developers <dev@example.invalid>\nDescription: test package\n"),
    )
    .unwrap();
    script(
        &tree.join("usr/bin/gridpad"),
        &format!("echo 'gridpad {version}'{extra}"),
    );
    let deb = dir.join(format!("gridpad_{version}_{arch}{extra}.deb"));
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zgzip", "--build"])
        .arg(&tree)
        .arg(&deb));
    let out = dir.join(format!("gridpad_{version}_{arch}{extra}.gpb"));
    run(Command::new(bin("gridctl"))
        .args(["bundle", "create", "--deb"])
        .arg(&deb)
        .args(["--version", version, "--target", arch, "--key"])
        .arg(dir.join("release.key"))
        .arg("--out")
        .arg(&out));
    out
}

/// One raw HTTP/1.1 request; returns (status, headers, body).
fn http(
    hub: &HubProcess,
    method: &str,
    path: &str,
    headers: &[String],
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", hub.port())).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = vec![];
    s.read_to_end(&mut out).unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head, out[split + 4..].to_vec())
}

#[test]
fn a_published_bundle_reaches_an_enrolled_device_and_is_installed() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    // The hub and an enrolled device (its hub token is in its encrypted store).
    let hub_dir = w.join("hub");
    let seeded = seed_demo(&hub_dir, 300);
    let grid = seeded["home_grid_code"].as_str().unwrap().to_string();
    let hub = HubProcess::start(&hub_dir);
    let dev = w.join("device");
    let code = issue_code(&hub_dir, "网格员", &grid);
    init_and_enroll(&dev, &hub.url, &code);
    run(gridpad(&dev).args(["sync", "--once"]));
    let token = gridpad_core::Store::open(&dev, "246810")
        .unwrap()
        .kv("hub_token")
        .unwrap()
        .expect("the device holds a hub token after sync");
    let token_file = w.join("hub-token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let auth = format!("Authorization: Bearer {token}");

    // The fleet's release key, trusted by the device.
    run(Command::new(bin("gridctl"))
        .args(["keygen", "--out"])
        .arg(w.join("release.key")));
    std::fs::create_dir_all(w.join("keys")).unwrap();
    std::fs::copy(w.join("release.key.pub"), w.join("keys/release.pub")).unwrap();

    // Nothing published yet.
    let (st, _, _) = http(
        &hub,
        "GET",
        "/v1/updates/arm64",
        std::slice::from_ref(&auth),
        b"",
    );
    assert_eq!(st, 404);

    // Publish 0.2.0 over the admin HTTP endpoint, 0.3.0 with the admin command.
    let admin = run(gridhub_admin(&hub_dir).arg("api-token"))
        .trim()
        .to_string();
    let admin_auth = format!("Authorization: Bearer {admin}");
    let b020 = std::fs::read(signed_bundle(w, "0.2.0", "arm64")).unwrap();
    let (st, _, body) = http(
        &hub,
        "POST",
        "/v1/admin/bundles",
        &[
            admin_auth.clone(),
            "Content-Type: application/octet-stream".into(),
        ],
        &b020,
    );
    assert_eq!(st, 201, "{}", String::from_utf8_lossy(&body));
    let published: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(published["version"], "0.2.0");
    // A device token cannot publish.
    let (st, _, _) = http(
        &hub,
        "POST",
        "/v1/admin/bundles",
        std::slice::from_ref(&auth),
        &b020,
    );
    assert_eq!(st, 403);
    let b030 = signed_bundle(w, "0.3.0", "arm64");
    let p = run_json(
        gridhub_admin(&hub_dir)
            .arg("publish-bundle")
            .arg(&b030)
            .arg("--json"),
    );
    assert_eq!(p["path"], "/v1/updates/arm64/gridpad_0.3.0_arm64.gpb");

    // Garbage is refused with a reason, over HTTP and on the command line; nothing is kept.
    let (st, _, body) = http(
        &hub,
        "POST",
        "/v1/admin/bundles",
        std::slice::from_ref(&admin_auth),
        b"<html>not a bundle</html>",
    );
    assert_eq!(st, 400);
    assert!(String::from_utf8_lossy(&body).contains("not a Gridpad update bundle"));
    let truncated = w.join("truncated.gpb");
    let full = std::fs::read(signed_bundle(w, "0.4.0", "arm64")).unwrap();
    std::fs::write(&truncated, &full[..full.len() - 100]).unwrap();
    let out = gridhub_admin(&hub_dir)
        .arg("publish-bundle")
        .arg(&truncated)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("truncated"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = run_json(gridhub_admin(&hub_dir).args(["bundles", "--json"]));
    let versions: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["version"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(versions, ["0.3.0", "0.2.0"]);
    // Another payload under a published version is refused; the same bundle again is fine.
    let other = signed_bundle_with(w, "0.3.0", "arm64", " # rebuilt");
    let out = gridhub_admin(&hub_dir)
        .arg("publish-bundle")
        .arg(&other)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already published"));
    run(gridhub_admin(&hub_dir).arg("publish-bundle").arg(&b030));

    // The device asks: the newest arm64 bundle. Downloads need a device token and resume.
    let (st, _, body) = http(
        &hub,
        "GET",
        "/v1/updates/arm64",
        std::slice::from_ref(&auth),
        b"",
    );
    assert_eq!(st, 200);
    let offer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(offer["version"], "0.3.0");
    let path = offer["path"].as_str().unwrap().to_string();
    let (st, _, _) = http(&hub, "GET", &path, &[], b"");
    assert_eq!(st, 401);
    let whole = std::fs::read(&b030).unwrap();
    // Streamed from the file, whole or from an offset.
    let (st, head, body) = http(&hub, "GET", &path, std::slice::from_ref(&auth), b"");
    assert_eq!(st, 200);
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("content-length: {}", whole.len())),
        "{head}"
    );
    assert_eq!(body, whole);
    let (st, head, body) = http(
        &hub,
        "GET",
        &path,
        &[auth.clone(), "Range: bytes=1000-".into()],
        b"",
    );
    assert_eq!(st, 206);
    assert!(
        head.to_ascii_lowercase().contains(&format!(
            "content-range: bytes 1000-{}/{}",
            whole.len() - 1,
            whole.len()
        )),
        "{head}"
    );
    assert_eq!(body, whole[1000..]);
    let (st, _, _) = http(
        &hub,
        "GET",
        &path,
        &[auth.clone(), format!("Range: bytes={}-", whole.len())],
        b"",
    );
    assert_eq!(st, 416);

    // The agent: packaged 0.1.0 in a temporary root, fetches, verifies, installs 0.3.0.
    script(&w.join("base/gridpad"), "echo 'gridpad 0.1.0'");
    let agent = |args: &[&str]| {
        let mut c = Command::new(bin("gridpad-update"));
        c.arg("--config")
            .arg(w.join("no-such.toml"))
            .arg("--root")
            .arg(w.join("root"))
            .arg("--keys")
            .arg(w.join("keys"))
            .args(["--target", "arm64", "--base-binary"])
            .arg(w.join("base/gridpad"))
            .args(args);
        c
    };
    let out = run(agent(&["update-from-hub", "--hub", &hub.url, "--bearer-file"]).arg(&token_file));
    assert!(
        out.contains("installed gridpad 0.3.0 from the hub (was 0.1.0)"),
        "{out}"
    );
    let ran = run(&mut Command::new(w.join("root/current/usr/bin/gridpad")));
    assert_eq!(ran.trim(), "gridpad 0.3.0");
    let status = run_json(&mut agent(&["status", "--json"]));
    assert_eq!(status["version"], "0.3.0");
    let out = run(agent(&["update-from-hub", "--hub", &hub.url, "--bearer-file"]).arg(&token_file));
    assert!(out.contains("up to date: 0.3.0 installed"), "{out}");

    // A bundle the device does not trust is refused by the device, whatever the hub says.
    let rogue = w.join("rogue");
    std::fs::create_dir_all(&rogue).unwrap();
    run(Command::new(bin("gridctl"))
        .args(["keygen", "--out"])
        .arg(rogue.join("release.key")));
    let b050 = signed_bundle(&rogue, "0.5.0", "arm64");
    run(gridhub_admin(&hub_dir).arg("publish-bundle").arg(&b050));
    let out = agent(&["update-from-hub", "--hub", &hub.url, "--bearer-file"])
        .arg(&token_file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("which this device does not trust"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        run_json(&mut agent(&["status", "--json"]))["version"],
        "0.3.0"
    );
}

/// A CA and a hub certificate for localhost/127.0.0.1 signed by it, as PEM files in `dir`:
/// (ca, cert, key).
fn pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "网格化管理中心 CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let hub_key = KeyPair::generate().unwrap();
    let hub_cert = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&hub_key, &ca)
        .unwrap();
    let p = (dir.join("ca.pem"), dir.join("hub.pem"), dir.join("hub.key"));
    std::fs::write(&p.0, ca.pem()).unwrap();
    std::fs::write(&p.1, hub_cert.pem()).unwrap();
    std::fs::write(&p.2, hub_key.serialize_pem()).unwrap();
    p
}

/// Update checks use the device's own transport: over HTTPS the device fetches the
/// bundle with its session (the CA pinned at enrollment, its own token, which never
/// leaves the encrypted store) into the agent's inbox; the agent given a token file
/// trusts only the CA it is told to, and never sends a token over plain HTTP.
#[test]
fn update_checks_use_the_device_transport_and_never_send_a_token_over_plain_http() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let (ca, cert, key) = pki(w);
    let hub_dir = w.join("hub");
    let seeded = seed_demo(&hub_dir, 300);
    let grid = seeded["home_grid_code"].as_str().unwrap().to_string();
    let hub = HubProcess::start_tls(&hub_dir, &cert, &key);
    let url = format!("https://localhost:{}", hub.port());
    let dev = w.join("device");
    let code = issue_code(&hub_dir, "网格员", &grid);
    run(gridpad(&dev).arg("init"));
    run(gridpad(&dev)
        .args(["enroll", "--hub", &url, "--code", &code, "--hub-ca"])
        .arg(&ca));
    run(gridpad(&dev).args(["sync", "--once"]));

    run(Command::new(bin("gridctl"))
        .args(["keygen", "--out"])
        .arg(w.join("release.key")));
    std::fs::create_dir_all(w.join("keys")).unwrap();
    std::fs::copy(w.join("release.key.pub"), w.join("keys/release.pub")).unwrap();
    script(&w.join("base/gridpad"), "echo 'gridpad 0.1.0'");
    let agent = |args: &[&str]| {
        let mut c = Command::new(bin("gridpad-update"));
        c.arg("--config")
            .arg(w.join("no-such.toml"))
            .arg("--root")
            .arg(w.join("root"))
            .arg("--keys")
            .arg(w.join("keys"))
            .args(["--target", "arm64", "--base-binary"])
            .arg(w.join("base/gridpad"))
            .args(args);
        c
    };

    // Nothing offered yet.
    let inbox = w.join("root/inbox");
    let out = run(gridpad(&dev)
        .args(["update", "--target", "arm64", "--inbox"])
        .arg(&inbox));
    assert!(out.contains("no update"), "{out}");

    // The device fetches 0.3.0 over its own HTTPS session into the inbox; the agent
    // verifies and installs it.
    let b030 = signed_bundle(w, "0.3.0", "arm64");
    run(gridhub_admin(&hub_dir).arg("publish-bundle").arg(&b030));
    let out = run(gridpad(&dev)
        .args(["update", "--target", "arm64", "--inbox"])
        .arg(&inbox));
    assert!(out.contains("0.3.0"), "{out}");
    let fetched = inbox.join("gridpad_0.3.0_arm64.gpb");
    assert_eq!(
        std::fs::read(&fetched).unwrap(),
        std::fs::read(&b030).unwrap()
    );
    let out = run(&mut agent(&["install-inbox"]));
    assert!(out.contains("installed 0.3.0 (was 0.1.0)"), "{out}");

    // The agent with a token file: it trusts the CA it is given, not the system's roots.
    let token = gridpad_core::Store::open(&dev, "246810")
        .unwrap()
        .kv("hub_token")
        .unwrap()
        .expect("the device holds a hub token after sync");
    let token_file = w.join("hub-token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    run(gridhub_admin(&hub_dir)
        .arg("publish-bundle")
        .arg(signed_bundle(w, "0.4.0", "arm64")));
    let out = agent(&["update-from-hub", "--hub", &url, "--bearer-file"])
        .arg(&token_file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("certificate"), "{err}");
    let out = run(agent(&["update-from-hub", "--hub", &url, "--bearer-file"])
        .arg(&token_file)
        .arg("--hub-ca")
        .arg(&ca));
    assert!(
        out.contains("installed gridpad 0.4.0 from the hub (was 0.3.0)"),
        "{out}"
    );

    // A token is never sent over plain HTTP to another machine: refused before any
    // connection, from the command line and from a URL dropped into the inbox.
    for hub_url in ["http://hub.example.cn", "http://10.1.2.3:8470"] {
        let out = agent(&["update-from-hub", "--hub", hub_url, "--bearer-file"])
            .arg(&token_file)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("refusing plain HTTP"), "{err}");
    }
    std::fs::write(
        inbox.join("offer.url"),
        format!("http://10.1.2.3:8470/v1/updates/arm64/gridpad_0.5.0_arm64.gpb\nAuthorization: Bearer {token}\n"),
    )
    .unwrap();
    let out = agent(&["install-inbox"]).output().unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("refusing plain HTTP"), "{said}");
    assert_eq!(
        run_json(&mut agent(&["status", "--json"]))["version"],
        "0.4.0"
    );
}

/// Nobody runs `gridpad update`: a bundle the hub offers reaches the device during its
/// sync (the runner's update step, the same in the app), lands in the agent's inbox named
/// by `[update]` of the device's configuration, and the agent installs it. It is handed
/// over once: the next syncs fetch nothing more until the hub offers another version.
#[test]
fn an_offered_bundle_reaches_the_update_agent_during_sync() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let hub_dir = w.join("hub");
    let seeded = seed_demo(&hub_dir, 300);
    let grid = seeded["home_grid_code"].as_str().unwrap().to_string();
    let hub = HubProcess::start(&hub_dir);
    let dev = w.join("device");
    let code = issue_code(&hub_dir, "网格员", &grid);
    init_and_enroll(&dev, &hub.url, &code);
    // The device's configuration: the agent's root (its inbox made, as the package's
    // tmpfiles.d does) and the device's architecture.
    let root = w.join("root");
    std::fs::create_dir_all(root.join("inbox")).unwrap();
    let config = w.join("gridpad.toml");
    std::fs::write(
        &config,
        format!(
            "[update]\nroot = \"{}\"\ntarget = \"arm64\"\n",
            root.display()
        ),
    )
    .unwrap();
    let sync = || {
        let out = gridpad(&dev)
            .env("GRIDPAD_CONFIG", &config)
            .args(["sync", "--once"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let bundles = |dir: &Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".gpb"))
            .collect()
    };
    // Nothing offered: nothing fetched, the sync is not disturbed.
    sync();
    assert!(bundles(&root.join("inbox")).is_empty());

    run(Command::new(bin("gridctl"))
        .args(["keygen", "--out"])
        .arg(w.join("release.key")));
    std::fs::create_dir_all(w.join("keys")).unwrap();
    std::fs::copy(w.join("release.key.pub"), w.join("keys/release.pub")).unwrap();
    script(&w.join("base/gridpad"), "echo 'gridpad 0.1.0'");
    let b030 = signed_bundle(w, "0.3.0", "arm64");
    run(gridhub_admin(&hub_dir).arg("publish-bundle").arg(&b030));
    // Another architecture's newer bundle is not this device's.
    run(gridhub_admin(&hub_dir)
        .arg("publish-bundle")
        .arg(signed_bundle(w, "0.9.0", "armhf")));

    let said = sync();
    assert!(said.contains("update gridpad 0.3.0 fetched"), "{said}");
    let inbox = root.join("inbox");
    assert_eq!(bundles(&inbox), vec!["gridpad_0.3.0_arm64.gpb".to_string()]);
    assert_eq!(
        std::fs::read(inbox.join("gridpad_0.3.0_arm64.gpb")).unwrap(),
        std::fs::read(&b030).unwrap()
    );
    // The agent (started by its path unit on a device) installs what it was handed.
    let agent = |args: &[&str]| {
        let mut c = Command::new(bin("gridpad-update"));
        c.arg("--config")
            .arg(&config)
            .arg("--keys")
            .arg(w.join("keys"))
            .arg("--base-binary")
            .arg(w.join("base/gridpad"))
            .args(args);
        c
    };
    let out = run(&mut agent(&["install-inbox"]));
    assert!(out.contains("installed 0.3.0 (was 0.1.0)"), "{out}");
    assert!(bundles(&inbox).is_empty());
    // Handed over once: the next sync fetches nothing.
    let said = sync();
    assert!(!said.contains("fetched"), "{said}");
    assert!(bundles(&inbox).is_empty());
    // A newer version is fetched in its turn.
    run(gridhub_admin(&hub_dir)
        .arg("publish-bundle")
        .arg(signed_bundle(w, "0.4.0", "arm64")));
    let said = sync();
    assert!(said.contains("update gridpad 0.4.0 fetched"), "{said}");
    assert_eq!(bundles(&inbox), vec!["gridpad_0.4.0_arm64.gpb".to_string()]);
}

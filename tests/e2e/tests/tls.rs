//! The device talks to the hub over HTTPS: a city's own CA given at enrollment is the only
//! one trusted from then on; a hub whose certificate that CA did not sign is refused with a
//! message that says so; plain HTTP is refused anywhere but on this machine.

use gridpad_testkit::process::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use std::path::{Path, PathBuf};

struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

/// A CA and a hub certificate for localhost/127.0.0.1 signed by it, as PEM files in `dir`.
fn pki(dir: &Path, name: &str) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("{name} 网格化管理中心 CA"));
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let hub_key = KeyPair::generate().unwrap();
    let hub_cert = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&hub_key, &ca)
        .unwrap();
    let p = Pki {
        ca: dir.join(format!("{name}-ca.pem")),
        cert: dir.join(format!("{name}-hub.pem")),
        key: dir.join(format!("{name}-hub.key")),
    };
    std::fs::write(&p.ca, ca.pem()).unwrap();
    std::fs::write(&p.cert, hub_cert.pem()).unwrap();
    std::fs::write(&p.key, hub_key.serialize_pem()).unwrap();
    p
}

#[test]
fn a_device_syncs_over_https_trusting_only_the_city_ca() {
    let certs = tempfile::tempdir().unwrap();
    let city = pki(certs.path(), "city");
    let other = pki(certs.path(), "other");
    let hub_dir = tempfile::tempdir().unwrap();
    let seeded = seed_demo(hub_dir.path(), 300);
    let grid = seeded["home_grid_code"].as_str().unwrap().to_string();
    let hub = HubProcess::start_tls(hub_dir.path(), &city.cert, &city.key);
    assert!(hub.url.starts_with("https://"), "{}", hub.url);
    let url = format!("https://localhost:{}", hub.port());

    // Trusting another authority: refused, and the message names the certificate.
    let dev = tempfile::tempdir().unwrap();
    run(gridpad(dev.path()).arg("init"));
    let code = issue_code(hub_dir.path(), "网格员", &grid);
    let out = gridpad(dev.path())
        .args(["enroll", "--hub", &url, "--code", &code, "--hub-ca"])
        .arg(&other.ca)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    eprintln!("refused as it should be: {err}");
    assert!(err.contains("certificate"), "{err}");

    // The city's CA: enrolls (the same code: nothing reached the hub before), syncs the
    // grid down, pushes a report, and keeps trusting that CA on later syncs.
    run(gridpad(dev.path())
        .args(["enroll", "--hub", &url, "--code", &code, "--hub-ca"])
        .arg(&city.ca));
    let first = run_json(gridpad(dev.path()).args(["sync", "--once", "--json"]));
    assert!(first["pulled_ops"].as_u64().unwrap() > 300, "{first}");
    // A report with a photo: the record, its seal and the photo all travel over HTTPS.
    let photo = certs.path().join("photo.jpg");
    let img = image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x * y) % 239) as u8])
    });
    img.save(&photo).unwrap();
    let ev = run_json(
        gridpad(dev.path())
            .args([
                "report",
                "--category",
                "0401",
                "--description",
                "加密链路上报的占道经营",
                "--json",
                "--photo",
            ])
            .arg(&photo),
    );
    let id = ev["id"].as_str().unwrap().to_string();
    let second = run_json(gridpad(dev.path()).args(["sync", "--once", "--json"]));
    assert_eq!(second["rejected"], 0, "{second}");
    assert_eq!(second["outbox"], 0, "{second}");
    assert_eq!(second["evidence"]["photos_uploaded"], 1, "{second}");
    let events = run_json(hub.admin().args(["events", "--json"]));
    let at_hub = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id.as_str())
        .unwrap_or_else(|| panic!("the report reached the hub: {events}"))
        .clone();
    assert_eq!(
        at_hub["fields"]["description"], "加密链路上报的占道经营",
        "{at_hub}"
    );
    assert_eq!(at_hub["photos_received"], 1, "{at_hub}");
    assert_eq!(at_hub["complete"], true, "{at_hub}");
    assert_eq!(at_hub["sealed_ok"], true, "{at_hub}");
}

#[test]
fn plain_http_is_refused_off_this_machine_on_both_sides() {
    let hub_dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(bin("gridhub"))
        .arg("--data-dir")
        .arg(hub_dir.path())
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refusing plain HTTP"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let dev = tempfile::tempdir().unwrap();
    run(gridpad(dev.path()).arg("init"));
    let out = gridpad(dev.path())
        .args([
            "enroll",
            "--hub",
            "http://192.0.2.10:8470",
            "--code",
            "K7QM2XVD9HTA",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing plain HTTP"), "{err}");
}

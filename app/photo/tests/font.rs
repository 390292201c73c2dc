//! The stamp's font on a packaged device: the `gridpad` package depends on Debian's
//! `fonts-noto-cjk`, and the stamp finds the Simplified Chinese face of its collection where
//! that package installs it — with no other font around (no GRIDPAD_FONT, nothing beside
//! the program, no source tree).

use gridpad_photo::watermark::{FontSearch, Stamp, Watermarker, DEBIAN_FONT, FAMILY};
use std::path::{Path, PathBuf};

/// The device package's metadata (cargo-deb's table).
fn deb_metadata() -> toml::Table {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/update/Cargo.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let cargo: toml::Table = toml::from_str(&text).unwrap();
    cargo["package"]["metadata"]["deb"]
        .as_table()
        .unwrap()
        .clone()
}

#[test]
fn the_package_depends_on_the_font_package_that_installs_the_stamps_font() {
    let deb = deb_metadata();
    let depends = deb["depends"].as_str().unwrap();
    assert!(
        depends
            .split(',')
            .any(|d| d.trim().starts_with("fonts-noto-cjk")),
        "the stamp cannot work without its font, so it is a Depends (not a Recommends): {depends}"
    );
    // Where Debian's package puts the collection (dpkg's own list, when it is installed here).
    let listed = std::process::Command::new("dpkg")
        .args(["-L", "fonts-noto-cjk"])
        .output();
    match listed {
        Ok(o) if o.status.success() => {
            let files = String::from_utf8_lossy(&o.stdout);
            assert!(
                files.lines().any(|l| l == DEBIAN_FONT),
                "fonts-noto-cjk installs no {DEBIAN_FONT}"
            );
        }
        _ => eprintln!("fonts-noto-cjk is not installed here: its file list not checked"),
    }
}

#[test]
fn a_packaged_device_stamps_with_debians_simplified_chinese_face() {
    if !Path::new(DEBIAN_FONT).exists() {
        panic!("{DEBIAN_FONT} is missing: apt-get install fonts-noto-cjk (tests/setup.sh)");
    }
    // /usr/bin/gridpad-ui: nothing beside it, no GRIDPAD_FONT, no checkout.
    let bin = tempfile::tempdir().unwrap();
    let search = FontSearch {
        env: None,
        exe_dir: Some(bin.path().to_path_buf()),
        debian: DEBIAN_FONT.into(),
        source_tree: None,
    };
    let found = search
        .find()
        .expect("the stamp's font on a packaged device");
    assert_eq!(found, PathBuf::from(DEBIAN_FONT));
    let data = std::fs::read(&found).unwrap();
    let index = gridpad_photo::watermark::face_index(&data).expect("an SC face");
    // Debian's collection starts with the Japanese face: taking the first would draw
    // Japanese glyph forms.
    assert_ne!(index, 0, "{FAMILY} is not the collection's first face");
    let face = ttf_parser::Face::parse(&data, index).unwrap();
    let family = face
        .names()
        .into_iter()
        .filter(|n| n.name_id == ttf_parser::name_id::FAMILY)
        .find_map(|n| n.to_string())
        .unwrap();
    assert_eq!(family, FAMILY);

    // And it draws the stamp: the band differs from the plain picture.
    let wm = Watermarker::from_path(&found).unwrap();
    let mut img = image::RgbImage::from_pixel(640, 480, image::Rgb([200, 200, 200]));
    let before = img.clone();
    let stamp = Stamp {
        time: chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
        time_corrected: true,
        position: Some((29.9493, 121.7131)),
        accuracy_m: Some(4.0),
        grid: "东城街道 1 网格".into(),
        reporter: "张喆".into(),
    };
    wm.apply(&mut img, &stamp);
    assert_ne!(img, before);

    // Without Debian's font and nothing else, the error says what to install.
    let none = FontSearch {
        debian: bin.path().join("absent.ttc"),
        ..search
    };
    let e = none.find().unwrap_err().to_string();
    assert!(e.contains("fonts-noto-cjk"), "{e}");
}

//! `gridctl bundle create|verify|inspect`: signed update bundles.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use gridpad_update::bundle::{self, CreateOptions};
use gridpad_update::keys::{SecretKey, TrustedKeys};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum BundleCmd {
    /// Build and sign a bundle from a .deb.
    Create {
        #[arg(long)]
        deb: PathBuf,
        /// Release version (semantic: 1.2.3); must match the package's version.
        #[arg(long)]
        version: String,
        /// Debian architecture: arm64, armhf or amd64; must match the package's.
        #[arg(long)]
        target: String,
        /// Secret release key (from `gridctl keygen`).
        #[arg(long)]
        key: PathBuf,
        /// Devices must already run at least this version.
        #[arg(long)]
        min_version: Option<String>,
        /// Package name the device expects.
        #[arg(long, default_value = "gridpad")]
        package: String,
        /// Output file. Default: <package>_<version>_<target>.gpb beside the .deb.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check a bundle's signature and payload against trusted public keys.
    Verify {
        bundle: PathBuf,
        /// A .pub file or a directory of them.
        #[arg(long)]
        keys: PathBuf,
        /// Also require this target.
        #[arg(long)]
        target: Option<String>,
    },
    /// Print a bundle's manifest (unverified).
    Inspect { bundle: PathBuf },
}

pub fn run(cmd: BundleCmd) -> Result<()> {
    match cmd {
        BundleCmd::Create {
            deb,
            version,
            target,
            key,
            min_version,
            package,
            out,
        } => create(deb, version, target, key, min_version, package, out),
        BundleCmd::Verify {
            bundle: path,
            keys,
            target,
        } => verify(&path, &keys, target),
        BundleCmd::Inspect { bundle: path } => {
            let (m, key_id) = bundle::read_unverified_manifest(&path)?;
            println!("{}", serde_json::to_string_pretty(&m)?);
            println!("signed by: {key_id} (not verified: use `gridctl bundle verify`)");
            Ok(())
        }
    }
}

fn create(
    deb: PathBuf,
    version: String,
    target: String,
    key: PathBuf,
    min_version: Option<String>,
    package: String,
    out: Option<PathBuf>,
) -> Result<()> {
    let (pkg, ver, arch) = deb_fields(&deb)?;
    if pkg != package {
        bail!("{} holds package {pkg}, expected {package}", deb.display());
    }
    if arch != target && arch != "all" {
        bail!(
            "{} is built for {arch}, not --target {target}",
            deb.display()
        );
    }
    let want = version.trim_start_matches('v');
    if ver.split(['-', '~', '+']).next() != Some(want.split(['-', '+']).next().unwrap_or("")) {
        bail!(
            "{} has version {ver}, not --version {version}",
            deb.display()
        );
    }
    let key = SecretKey::load(&key)?;
    let out = out.unwrap_or_else(|| deb.with_file_name(format!("{package}_{want}_{target}.gpb")));
    let m = bundle::create(
        &deb,
        &CreateOptions {
            package,
            version,
            target,
            min_version,
        },
        &key,
        &out,
    )?;
    println!(
        "{}: {} {} for {}, {} bytes payload, sha256 {}, signed by {}",
        out.display(),
        m.package,
        m.version,
        m.target,
        m.size,
        m.sha256,
        key.key_id()
    );
    Ok(())
}

fn verify(path: &Path, keys: &Path, target: Option<String>) -> Result<()> {
    let trusted = TrustedKeys::load(keys)?;
    let vb = bundle::verify_file(path, &trusted)?;
    if let Some(t) = target {
        if vb.manifest.target != t {
            return Err(gridpad_update::Error::WrongTarget {
                bundle: vb.manifest.target,
                device: t,
            }
            .into());
        }
    }
    println!(
        "ok: {} {} for {} ({} bytes, sha256 {}), signed by release key {}",
        vb.manifest.package,
        vb.manifest.version,
        vb.manifest.target,
        vb.manifest.size,
        vb.manifest.sha256,
        vb.key_id
    );
    Ok(())
}

fn deb_fields(deb: &Path) -> Result<(String, String, String)> {
    let out = std::process::Command::new("dpkg-deb")
        .arg("--field")
        .arg(deb)
        .args(["Package", "Version", "Architecture"])
        .output()
        .context("dpkg-deb is needed to read the package")?;
    if !out.status.success() {
        bail!(
            "{} is not a Debian package: {}",
            deb.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let f = |n: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{n}: ")))
            .unwrap_or("")
            .trim()
            .to_string()
    };
    Ok((f("Package"), f("Version"), f("Architecture")))
}

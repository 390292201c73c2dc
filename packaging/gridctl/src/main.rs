//! `gridctl`: the fleet manager's tool — release keys, signed update bundles, provisioning.
//! See `packaging/README.md`.

mod provision;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use gridpad_update::bundle::{self, CreateOptions};
use gridpad_update::keys::{SecretKey, TrustedKeys};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "gridctl", version, about = "Gridpad fleet tool")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create an Ed25519 release key (secret key file 0600 + `<file>.pub` for devices).
    Keygen {
        #[arg(long, default_value = "release.key")]
        out: PathBuf,
        /// Replace an existing key file.
        #[arg(long)]
        force: bool,
    },
    /// Signed update bundles.
    #[command(subcommand)]
    Bundle(BundleCmd),
    /// Write each device's provisioning (hub URL, enrollment code, label, grid, identity seed)
    /// from a CSV onto mounted data partitions, per-device directories, or a disk image.
    Provision {
        #[arg(long)]
        csv: PathBuf,
        /// A directory (mounted data partition, or the parent of per-device directories) or a
        /// disk image file.
        #[arg(long)]
        target: PathBuf,
        /// `bulk`: <target>/<label>/gridpad/provision.toml for every row; `partition`:
        /// <target>/gridpad/provision.toml for the one device chosen with --device (or the
        /// only row). Images are always `partition`.
        #[arg(long, value_enum, default_value_t = Layout::Bulk)]
        layout: Layout,
        /// The CSV row (label) to write with --layout partition or into an image.
        #[arg(long)]
        device: Option<String>,
        /// Hub URL for rows without one.
        #[arg(long)]
        hub_url: Option<String>,
        /// Replace existing provision files.
        #[arg(long)]
        force: bool,
        /// Where to write the enrollment list for gridhub (labels, codes, public keys; no
        /// secrets). Default: <csv>.enrollment.json
        #[arg(long)]
        enrollment_out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Layout {
    Bulk,
    Partition,
}

#[derive(Subcommand)]
enum BundleCmd {
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

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Cmd::Keygen { out, force } => {
            if out.exists() && !force {
                bail!("{} exists; pass --force to replace it", out.display());
            }
            let k = SecretKey::generate()?;
            let pub_path = k.save(&out)?;
            println!("release key {}", k.key_id());
            println!(
                "  secret: {} (keep offline or in CI secrets)",
                out.display()
            );
            println!(
                "  public: {} (install on devices as /etc/gridpad/update-keys/{}.pub)",
                pub_path.display(),
                k.key_id()
            );
        }
        Cmd::Bundle(BundleCmd::Create {
            deb,
            version,
            target,
            key,
            min_version,
            package,
            out,
        }) => {
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
            if ver.split(['-', '~', '+']).next()
                != Some(want.split(['-', '+']).next().unwrap_or(""))
            {
                bail!(
                    "{} has version {ver}, not --version {version}",
                    deb.display()
                );
            }
            let key = SecretKey::load(&key)?;
            let out =
                out.unwrap_or_else(|| deb.with_file_name(format!("{package}_{want}_{target}.gpb")));
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
        }
        Cmd::Bundle(BundleCmd::Verify {
            bundle: path,
            keys,
            target,
        }) => {
            let trusted = TrustedKeys::load(&keys)?;
            let vb = bundle::verify_file(&path, &trusted)?;
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
        }
        Cmd::Bundle(BundleCmd::Inspect { bundle: path }) => {
            let (m, key_id) = bundle::read_unverified_manifest(&path)?;
            println!("{}", serde_json::to_string_pretty(&m)?);
            println!("signed by: {key_id} (not verified: use `gridctl bundle verify`)");
        }
        Cmd::Provision {
            csv,
            target,
            layout,
            device,
            hub_url,
            force,
            enrollment_out,
        } => {
            let text =
                std::fs::read_to_string(&csv).with_context(|| format!("read {}", csv.display()))?;
            let mut rows = provision::rows_from_csv(&text)?;
            let is_image = target.is_file();
            if is_image || layout == Layout::Partition {
                rows = match device {
                    Some(d) => rows.into_iter().filter(|r| r.label == d).collect(),
                    None if rows.len() == 1 => rows,
                    None => bail!(
                        "{} rows in the CSV: choose one with --device LABEL for a single data partition or image",
                        rows.len()
                    ),
                };
                if rows.is_empty() {
                    bail!("no CSV row has that label");
                }
            } else if !target.is_dir() {
                bail!(
                    "{} is neither a directory nor a disk image",
                    target.display()
                );
            }
            let rng = ring::rand::SystemRandom::new();
            let mut made = Vec::new();
            for row in &rows {
                let p = provision::make(row, hub_url.as_deref(), &rng)?;
                let where_ = if is_image {
                    provision::write_to_image(&target, &p, force)?
                } else if layout == Layout::Partition {
                    provision::write_to_data_root(&target, &p, force)?
                        .display()
                        .to_string()
                } else {
                    provision::write_to_data_root(&target.join(&row.label), &p, force)?
                        .display()
                        .to_string()
                };
                println!(
                    "{}  grid {}  code {}  → {where_}",
                    p.device_label, p.grid_code, p.enrollment_code
                );
                made.push(p);
            }
            let records: Vec<provision::EnrollmentRecord> = made.iter().map(Into::into).collect();
            let out = enrollment_out.unwrap_or_else(|| {
                let mut s = csv.clone().into_os_string();
                s.push(".enrollment.json");
                PathBuf::from(s)
            });
            gridpad_update::write_atomic(&out, &serde_json::to_vec_pretty(&records)?, 0o600)?;
            println!(
                "{} device(s) provisioned; enrollment list for gridhub: {}",
                made.len(),
                out.display()
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gridctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}

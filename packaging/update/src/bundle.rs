//! The update bundle container (`.gpb`).
//!
//! ```text
//! "GRIDPAD-BUNDLE 1\n"                      magic line (17 bytes)
//! u32 big-endian  manifest length (≤ 64 KiB)
//! manifest.json                             what the bundle holds (see `Manifest`)
//! u32 big-endian  signature length (≤ 4 KiB)
//! signature.json  {"algorithm":"ed25519","key_id":"…","signature":"<base64>"}
//! payload                                   the .deb, exactly `manifest.size` bytes, then EOF
//! ```
//!
//! The signature is Ed25519 over `"gridpad-bundle-v1\n" ‖ manifest bytes`; the manifest holds
//! the payload's SHA-256 and size; the signature block must be in its canonical (compact)
//! form. So every byte of a bundle is checked: one flipped byte anywhere is refused (tested
//! exhaustively). Verification streams: memory use is bounded whatever the payload size.

use crate::keys::{SecretKey, TrustedKeys};
use crate::{Error, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::Path;

pub const MAGIC: &[u8] = b"GRIDPAD-BUNDLE 1\n";
const SIGNED_PREFIX: &[u8] = b"gridpad-bundle-v1\n";
const MAX_MANIFEST: u32 = 64 * 1024;
const MAX_SIGNATURE: u32 = 4 * 1024;
pub const FORMAT: u32 = 1;

/// What a bundle holds and for whom. Signed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Container format version (1).
    pub format: u32,
    /// Debian package name in the payload (`gridpad`).
    pub package: String,
    /// Semantic version of the release.
    pub version: String,
    /// Debian architecture the payload is built for: `arm64`, `armhf` or `amd64`.
    pub target: String,
    /// Lower-case hex SHA-256 of the payload.
    pub sha256: String,
    /// Payload size in bytes.
    pub size: u64,
    /// A device must already run at least this version to install the bundle (e.g. a data
    /// migration that needs an intermediate release); `null` for none.
    pub min_version: Option<String>,
    /// UTC creation time, RFC 3339.
    pub created: String,
    /// Payload kind: `deb`.
    pub payload: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureBlock {
    algorithm: String,
    key_id: String,
    signature: String,
}

/// What `create` needs besides the payload and the key.
#[derive(Clone, Debug)]
pub struct CreateOptions {
    pub package: String,
    pub version: String,
    pub target: String,
    pub min_version: Option<String>,
}

fn signed_message(manifest: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNED_PREFIX.len() + manifest.len());
    m.extend_from_slice(SIGNED_PREFIX);
    m.extend_from_slice(manifest);
    m
}

fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex::encode(ctx.finish()), size))
}

/// Builds and signs a bundle from a payload file; writes it atomically to `out`.
pub fn create(
    payload: &Path,
    opts: &CreateOptions,
    key: &SecretKey,
    out: &Path,
) -> Result<Manifest> {
    crate::version::parse(&opts.version)?;
    if let Some(m) = &opts.min_version {
        crate::version::parse(m)?;
    }
    let (sha256, size) = sha256_file(payload)?;
    let manifest = Manifest {
        format: FORMAT,
        package: opts.package.clone(),
        version: opts.version.trim_start_matches('v').to_string(),
        target: opts.target.clone(),
        sha256,
        size,
        min_version: opts
            .min_version
            .as_ref()
            .map(|m| m.trim_start_matches('v').to_string()),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        payload: "deb".into(),
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).expect("serialise manifest");
    let sig = SignatureBlock {
        algorithm: "ed25519".into(),
        key_id: key.key_id(),
        signature: B64.encode(key.sign(&signed_message(&manifest_bytes))),
    };
    let sig_bytes = serde_json::to_vec(&sig).expect("serialise signature");

    let dir = out.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.partial",
        out.file_name().and_then(|n| n.to_str()).unwrap_or("bundle")
    ));
    {
        let mut w = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let io = |e| Error::io(&tmp, e);
        w.write_all(MAGIC).map_err(io)?;
        w.write_all(&(manifest_bytes.len() as u32).to_be_bytes())
            .map_err(io)?;
        w.write_all(&manifest_bytes).map_err(io)?;
        w.write_all(&(sig_bytes.len() as u32).to_be_bytes())
            .map_err(io)?;
        w.write_all(&sig_bytes).map_err(io)?;
        let mut p = std::fs::File::open(payload).map_err(|e| Error::io(payload, e))?;
        let copied = std::io::copy(&mut p, &mut w).map_err(io)?;
        if copied != size {
            return Err(Error::Other(format!(
                "{} changed while the bundle was written",
                payload.display()
            )));
        }
        w.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, out).map_err(|e| Error::io(out, e))?;
    Ok(manifest)
}

/// A bundle whose signature, manifest and payload have been checked. Target and version
/// policy are the agent's business ([`crate::agent`]).
#[derive(Clone, Debug)]
pub struct VerifiedBundle {
    pub manifest: Manifest,
    pub key_id: String,
}

fn read_exact_or_damaged<R: Read>(r: &mut R, buf: &mut [u8], what: &str) -> Result<()> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Error::Damaged(format!("truncated in the {what}"))
        } else {
            Error::Damaged(format!("cannot read the {what}: {e}"))
        }
    })
}

fn read_block<R: Read>(r: &mut R, max: u32, what: &str) -> Result<Vec<u8>> {
    let mut len = [0u8; 4];
    read_exact_or_damaged(r, &mut len, &format!("{what} length"))?;
    let len = u32::from_be_bytes(len);
    if len == 0 || len > max {
        return Err(Error::Damaged(format!(
            "{what} length {len} is out of range (1..={max})"
        )));
    }
    let mut buf = vec![0u8; len as usize];
    read_exact_or_damaged(r, &mut buf, what)?;
    Ok(buf)
}

/// Verifies a bundle read from `r`, streaming the payload into `payload_out` as it is
/// hashed. On error the caller must discard whatever reached `payload_out`.
pub fn verify_stream<R: Read, W: Write>(
    mut r: R,
    trusted: &TrustedKeys,
    payload_out: &mut W,
) -> Result<VerifiedBundle> {
    let mut magic = [0u8; MAGIC.len()];
    match r.read_exact(&mut magic) {
        Ok(()) if magic == MAGIC => {}
        Ok(()) => return Err(Error::NotABundle),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(Error::NotABundle),
        Err(e) => return Err(Error::Damaged(format!("cannot read: {e}"))),
    }
    let manifest_bytes = read_block(&mut r, MAX_MANIFEST, "manifest")?;
    let sig_bytes = read_block(&mut r, MAX_SIGNATURE, "signature")?;

    let sig: SignatureBlock = serde_json::from_slice(&sig_bytes)
        .map_err(|e| Error::Damaged(format!("signature block is not valid: {e}")))?;
    if serde_json::to_vec(&sig).expect("serialise") != sig_bytes {
        return Err(Error::Damaged(
            "signature block is not in canonical form".into(),
        ));
    }
    if sig.algorithm != "ed25519" {
        return Err(Error::Damaged(format!(
            "unsupported signature algorithm {:?}",
            sig.algorithm
        )));
    }
    let key = trusted.get(&sig.key_id).ok_or_else(|| Error::UnknownKey {
        key_id: sig.key_id.clone(),
    })?;
    let raw_sig = B64
        .decode(&sig.signature)
        .map_err(|_| Error::BadSignature {
            key_id: sig.key_id.clone(),
        })?;
    if !key.verify(&signed_message(&manifest_bytes), &raw_sig) {
        return Err(Error::BadSignature { key_id: sig.key_id });
    }
    // Only now, with the signature good, is the manifest parsed.
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| Error::Damaged(format!("signed manifest is not valid: {e}")))?;
    if manifest.format != FORMAT {
        return Err(Error::Damaged(format!(
            "bundle format {} is not supported (this agent reads format {FORMAT})",
            manifest.format
        )));
    }

    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Damaged(format!("cannot read the payload: {e}"))),
        };
        if n == 0 {
            break;
        }
        size += n as u64;
        if size > manifest.size {
            return Err(Error::PayloadMismatch(format!(
                "payload is longer than the {} bytes the manifest says",
                manifest.size
            )));
        }
        ctx.update(&buf[..n]);
        payload_out
            .write_all(&buf[..n])
            .map_err(|e| Error::Other(format!("cannot write the payload: {e}")))?;
    }
    if size != manifest.size {
        return Err(Error::PayloadMismatch(format!(
            "payload is {size} bytes, the manifest says {} (truncated bundle?)",
            manifest.size
        )));
    }
    let got = hex::encode(ctx.finish());
    if got != manifest.sha256 {
        return Err(Error::PayloadMismatch(format!(
            "SHA-256 is {got}, the manifest says {}",
            manifest.sha256
        )));
    }
    payload_out
        .flush()
        .map_err(|e| Error::Other(format!("cannot write the payload: {e}")))?;
    Ok(VerifiedBundle {
        manifest,
        key_id: sig.key_id,
    })
}

/// Verifies a bundle file without keeping the payload.
pub fn verify_file(path: &Path, trusted: &TrustedKeys) -> Result<VerifiedBundle> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    verify_stream(std::io::BufReader::new(f), trusted, &mut std::io::sink())
}

/// Verifies a bundle file and writes its payload to `payload_path` (removed again on error).
pub fn verify_and_extract(
    path: &Path,
    trusted: &TrustedKeys,
    payload_path: &Path,
) -> Result<VerifiedBundle> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut out = std::fs::File::create(payload_path).map_err(|e| Error::io(payload_path, e))?;
    match verify_stream(std::io::BufReader::new(f), trusted, &mut out) {
        Ok(v) => {
            out.sync_all().map_err(|e| Error::io(payload_path, e))?;
            Ok(v)
        }
        Err(e) => {
            drop(out);
            let _ = std::fs::remove_file(payload_path);
            Err(e)
        }
    }
}

/// Reads the manifest without checking anything (for `gridctl bundle inspect` of a bundle
/// whose key is not at hand). Never use the result to decide an installation.
pub fn read_unverified_manifest(path: &Path) -> Result<(Manifest, String)> {
    let mut f = std::io::BufReader::new(std::fs::File::open(path).map_err(|e| Error::io(path, e))?);
    let mut magic = [0u8; MAGIC.len()];
    f.read_exact(&mut magic).map_err(|_| Error::NotABundle)?;
    if magic != MAGIC {
        return Err(Error::NotABundle);
    }
    let m = read_block(&mut f, MAX_MANIFEST, "manifest")?;
    let s = read_block(&mut f, MAX_SIGNATURE, "signature")?;
    let manifest = serde_json::from_slice(&m)
        .map_err(|e| Error::Damaged(format!("manifest is not valid: {e}")))?;
    let sig: SignatureBlock = serde_json::from_slice(&s)
        .map_err(|e| Error::Damaged(format!("signature block is not valid: {e}")))?;
    Ok((manifest, sig.key_id))
}

/// Checks a bundle's shape without a key — what a server that stores bundles for devices can
/// check (gridhub's `publish-bundle`): magic line, a parseable manifest of format 1 with a
/// semantic version, a known target and a 64-hex SHA-256, a well-formed signature block,
/// and a payload of exactly `manifest.size` bytes. It proves nothing about who made the
/// bundle: the device verifies the signature before installing.
pub fn check_shape(path: &Path) -> Result<Manifest> {
    let (manifest, key_id) = read_unverified_manifest(path)?;
    if manifest.format != FORMAT {
        return Err(Error::Damaged(format!(
            "unknown bundle format {}",
            manifest.format
        )));
    }
    crate::version::parse(&manifest.version)?;
    if !["arm64", "armhf", "amd64"].contains(&manifest.target.as_str()) {
        return Err(Error::Damaged(format!(
            "unknown target {:?}",
            manifest.target
        )));
    }
    if manifest.sha256.len() != 64 || !manifest.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Damaged(
            "manifest SHA-256 is not 64 hex digits".into(),
        ));
    }
    if key_id.len() != 16 || manifest.package.is_empty() {
        return Err(Error::Damaged("bad key id or package name".into()));
    }
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut offset = MAGIC.len() as u64;
    for _ in 0..2 {
        let mut len = [0u8; 4];
        f.seek(SeekFrom::Start(offset))
            .and_then(|_| f.read_exact(&mut len))
            .map_err(|e| Error::io(path, e))?;
        offset += 4 + u32::from_be_bytes(len) as u64;
    }
    let total = f.metadata().map_err(|e| Error::io(path, e))?.len();
    let payload = total.saturating_sub(offset);
    if payload != manifest.size {
        return Err(Error::PayloadMismatch(format!(
            "payload is {payload} bytes, the manifest says {} (truncated bundle?)",
            manifest.size
        )));
    }
    Ok(manifest)
}

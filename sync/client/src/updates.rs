//! Update bundles from the hub over the device's own transport: the same scheme rule as
//! the exchange (HTTPS; plain HTTP only to this machine), the same TLS trust (the CA
//! pinned at enrollment, or the system's roots) and a device token that goes only to the
//! hub's own address (no redirect is followed). Used by `gridpad update` (which holds the
//! device's session) and by the update agent `gridpad-update` (given a token file).
//!
//! `GET /v1/updates/{target}` is the newest bundle for a Debian architecture; its `path`
//! is downloaded with `Range` resume into `<dir>/<file>.part`, renamed to `<dir>/<file>`
//! when whole. The bundle's signature is the agent's to check, not the transport's.
//! [`hand_to_agent`] puts an offered bundle into the agent's inbox: the sync runner does it
//! during sync (`runner::UpdateCheck`), `gridpad update` on demand.

use crate::http::TokenClient;
use crate::transport::TransportError;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// What the hub offers for a target (`GET /v1/updates/{target}`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Offer {
    pub package: String,
    pub version: String,
    pub target: String,
    pub sha256: String,
    pub size: u64,
    pub min_version: Option<String>,
    pub bundle_size: u64,
    /// Relative to the hub's base URL.
    pub path: String,
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the hub's update offer: {0}")]
    BadOffer(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> UpdateError + '_ {
    move |source| UpdateError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The newest bundle the hub offers for `target`; `None` when it has none.
pub fn offer(client: &TokenClient, target: &str) -> Result<Option<Offer>, UpdateError> {
    if target.is_empty() || !target.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(UpdateError::BadOffer(format!("target {target:?}")));
    }
    let r = client.get(&format!("/v1/updates/{target}"), None)?;
    if r.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let r = TokenClient::check(r)?;
    let offer: Offer = r.json().map_err(|e| UpdateError::BadOffer(e.to_string()))?;
    let file = offer.path.rsplit('/').next().unwrap_or("");
    if !offer.path.starts_with("/v1/updates/") || !safe_file_name(file) {
        return Err(UpdateError::BadOffer(format!("path {:?}", offer.path)));
    }
    Ok(Some(offer))
}

/// A name a download may take in its directory: no separators, no dot files.
fn safe_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '~'))
}

/// Download `path` (on the client's hub) into `dir`, resuming a `.part` left by an
/// interrupted attempt. Returns the complete file.
pub fn download(client: &TokenClient, path: &str, dir: &Path) -> Result<PathBuf, UpdateError> {
    let name = path.rsplit('/').next().unwrap_or("");
    if !safe_file_name(name) {
        return Err(UpdateError::BadOffer(format!("path {path:?}")));
    }
    let (part, done) = (dir.join(format!("{name}.part")), dir.join(name));
    download_to(client, path, &part)?;
    std::fs::rename(&part, &done).map_err(io(&done))?;
    Ok(done)
}

/// Download `path` into `part`, resuming from what `part` already holds.
pub fn download_to(client: &TokenClient, path: &str, part: &Path) -> Result<(), UpdateError> {
    if let Some(dir) = part.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let r = client.get(path, (have > 0).then_some(have))?;
    let append = match r.status().as_u16() {
        206 => {
            let start = r
                .headers()
                .get(reqwest::header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes "))
                .and_then(|v| v.split('-').next())
                .and_then(|v| v.parse::<u64>().ok());
            if start != Some(have) {
                return Err(TransportError::Server(format!(
                    "the hub resumed at {start:?}, expected {have}"
                ))
                .into());
            }
            true
        }
        // Nothing left to send: the part is whole (the signature check will tell).
        416 if have > 0 => return Ok(()),
        _ => false,
    };
    let mut r = TokenClient::check(r)?;
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(part)
        .map_err(io(part))?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = out.sync_all();
                return Err(TransportError::Offline(format!(
                    "connection lost (the part is kept for resume): {e}"
                ))
                .into());
            }
        };
        out.write_all(&buf[..n]).map_err(io(part))?;
    }
    out.sync_all().map_err(io(part))?;
    Ok(())
}

/// What [`hand_to_agent`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handed {
    /// The hub offers no bundle for the target.
    NoOffer,
    /// The offered version is the one running.
    UpToDate(String),
    /// This version was handed to the agent before (installed, refused or waiting): not
    /// fetched again.
    AlreadyHanded(String),
    /// Fetched into the inbox, where the agent (its path unit) verifies and installs it.
    Fetched { offer: Offer, file: PathBuf },
}

/// The record of the last bundle handed over, in the inbox (a dot file: the agent ignores
/// it).
const HANDED: &str = ".handed";

/// Ask the hub for the newest bundle of `target` and, when it is not the `running`
/// version and was not handed over before, download it (resuming in
/// `<inbox>/.downloading/`) and move it into `inbox` whole: the update agent does the rest
/// (signature, checks, atomic switch, health check, rollback). A version is handed over
/// once, so a bundle the agent refused (an older version, a bad signature) is not fetched
/// again on every sync.
pub fn hand_to_agent(
    client: &TokenClient,
    target: &str,
    running: &str,
    inbox: &Path,
) -> Result<Handed, UpdateError> {
    let Some(offer) = offer(client, target)? else {
        return Ok(Handed::NoOffer);
    };
    if offer.version == running {
        return Ok(Handed::UpToDate(offer.version));
    }
    let name = offer.path.rsplit('/').next().unwrap_or("").to_string();
    let handed = inbox.join(HANDED);
    if std::fs::read_to_string(&handed)
        .ok()
        .as_deref()
        .map(str::trim)
        == Some(name.as_str())
    {
        return Ok(Handed::AlreadyHanded(offer.version));
    }
    let staging = inbox.join(".downloading");
    let file = download(client, &offer.path, &staging)?;
    let dest = inbox.join(&name);
    std::fs::rename(&file, &dest).map_err(io(&dest))?;
    std::fs::write(&handed, &name).map_err(io(&handed))?;
    Ok(Handed::Fetched { offer, file: dest })
}

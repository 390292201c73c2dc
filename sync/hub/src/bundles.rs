//! Signed update bundles (`.gpb`, made by `gridctl bundle create`) that the hub keeps for
//! the fleet: admins publish them, devices ask for the newest one of their target and
//! download it with `Range` resume.
//!
//! The hub does not trust a bundle — the device verifies the Ed25519 signature against
//! its own release keys before installing — but it refuses garbage: a published file must
//! have a bundle's shape (magic line, a manifest of format 1 with a semantic version and a
//! known target, a signature block, a payload of exactly the announced size).
//!
//! Files: `<data dir>/bundles/<target>/<package>_<version>_<target>.gpb`, written to a
//! temporary file in the same directory, fsynced and renamed (a crash never leaves half a
//! bundle under its final name). A version is published once: the same bundle again is a
//! no-op, a different bundle under a published version is refused.

use crate::hub::{Hub, HubError};
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gridpad_update::bundle::check_shape;
use gridpad_update::Manifest;
use serde::Serialize;
use std::io::{Read, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// Largest bundle accepted over HTTP.
pub const MAX_BUNDLE: usize = 512 << 20;

/// A published bundle, as listed to admins and offered to devices.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Published {
    pub package: String,
    pub version: String,
    pub target: String,
    pub sha256: String,
    pub size: u64,
    pub min_version: Option<String>,
    /// Bundle file size (header + payload).
    pub bundle_size: u64,
    /// Where a device downloads it (relative to the hub's base URL).
    pub path: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("not a valid update bundle: {0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

fn io(path: &Path, source: std::io::Error) -> BundleError {
    BundleError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Directory modification times a listing was read at.
type Stamps = Vec<(PathBuf, Option<SystemTime>)>;

/// A listing and the stamps it was read at.
type Listing = Option<(Stamps, Vec<Published>)>;

/// The bundle directory of a hub.
#[derive(Clone, Debug)]
pub struct Bundles {
    dir: PathBuf,
    /// The listing as last read, with the stamps of the directories it came from. Devices
    /// ask for their newest bundle on every check, publishing is rare — and may happen in
    /// another process (`gridhub admin publish-bundle`), which changes a directory's
    /// modification time, so the stamps, not this process, say when to read again.
    cache: Arc<Mutex<Listing>>,
}

fn safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-~".contains(&b))
        && !s.starts_with('.')
}

impl Bundles {
    /// Bundles under `<data_dir>/bundles`.
    pub fn new(data_dir: &Path) -> Bundles {
        Bundles {
            dir: data_dir.join("bundles"),
            cache: Arc::new(Mutex::new(None)),
        }
    }

    fn describe(m: &Manifest, file: &Path) -> Result<Published, BundleError> {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        Ok(Published {
            package: m.package.clone(),
            version: m.version.clone(),
            target: m.target.clone(),
            sha256: m.sha256.clone(),
            size: m.size,
            min_version: m.min_version.clone(),
            bundle_size: std::fs::metadata(file).map_err(|e| io(file, e))?.len(),
            path: format!("/v1/updates/{}/{name}", m.target),
        })
    }

    /// Publish the bundle in `src` (copied; `src` is left alone).
    pub fn publish_file(&self, src: &Path) -> Result<Published, BundleError> {
        let mut f = std::fs::File::open(src).map_err(|e| io(src, e))?;
        self.publish_reader(&mut f)
    }

    /// Publish a bundle read from `r`.
    pub fn publish_reader(&self, r: &mut dyn Read) -> Result<Published, BundleError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| io(&self.dir, e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(|e| io(&self.dir, e))?;
        std::io::copy(r, tmp.as_file_mut()).map_err(|e| io(tmp.path(), e))?;
        tmp.as_file().sync_all().map_err(|e| io(tmp.path(), e))?;
        let m = check_shape(tmp.path()).map_err(|e| BundleError::Invalid(e.to_string()))?;
        if !safe_name(&m.package) || !safe_name(&m.version) {
            return Err(BundleError::Invalid(
                "package or version has characters not allowed in a file name".into(),
            ));
        }
        let dir = self.dir.join(&m.target);
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let dest = dir.join(format!("{}_{}_{}.gpb", m.package, m.version, m.target));
        if dest.exists() {
            let (old, _) = gridpad_update::bundle::read_unverified_manifest(&dest)
                .map_err(|e| BundleError::Invalid(e.to_string()))?;
            if old.sha256 == m.sha256 && old.size == m.size {
                return Self::describe(&old, &dest);
            }
            return Err(BundleError::Conflict(format!(
                "{} {} for {} is already published with another payload; publish a new version",
                m.package, m.version, m.target
            )));
        }
        tmp.persist_noclobber(&dest)
            .map_err(|e| io(&dest, e.error))?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Self::describe(&m, &dest)
    }

    /// The bundle directory and its target directories, with their modification times.
    fn stamps(&self) -> Stamps {
        let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let mut out = vec![(self.dir.clone(), mtime(&self.dir))];
        if let Ok(rd) = std::fs::read_dir(&self.dir) {
            let mut dirs: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect();
            dirs.sort();
            out.extend(dirs.into_iter().map(|d| {
                let t = mtime(&d);
                (d, t)
            }));
        }
        out
    }

    /// Every published bundle, newest version first within each target. Read from disk
    /// only when a bundle directory changed since the last read.
    pub fn list(&self) -> Result<Vec<Published>, BundleError> {
        // Stamps first: a bundle published while we read makes them differ next time.
        let stamps = self.stamps();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, list)) = cache.as_ref() {
            if *at == stamps {
                return Ok(list.clone());
            }
        }
        let list = self.read_list()?;
        *cache = Some((stamps, list.clone()));
        Ok(list)
    }

    fn read_list(&self) -> Result<Vec<Published>, BundleError> {
        let mut out = vec![];
        let targets = match std::fs::read_dir(&self.dir) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io(&self.dir, e)),
        };
        for t in targets.flatten() {
            if !t.path().is_dir() {
                continue;
            }
            for f in std::fs::read_dir(t.path())
                .map_err(|e| io(&t.path(), e))?
                .flatten()
            {
                let p = f.path();
                if p.extension().and_then(|x| x.to_str()) != Some("gpb") {
                    continue;
                }
                if let Ok((m, _)) = gridpad_update::bundle::read_unverified_manifest(&p) {
                    out.push(Self::describe(&m, &p)?);
                }
            }
        }
        out.sort_by(|a, b| {
            a.target.cmp(&b.target).then_with(|| {
                let v = |s: &str| gridpad_update::version::parse(s).ok();
                v(&b.version).cmp(&v(&a.version))
            })
        });
        Ok(out)
    }

    /// The newest bundle of `target` (`package` if given), by semantic version.
    pub fn latest(&self, target: &str, package: Option<&str>) -> Result<Published, BundleError> {
        self.list()?
            .into_iter()
            .find(|p| p.target == target && package.is_none_or(|pk| pk == p.package))
            .ok_or_else(|| BundleError::NotFound(format!("no update published for {target}")))
    }

    /// The file of a published bundle (name as in [`Published::path`]).
    pub fn file(&self, target: &str, name: &str) -> Result<PathBuf, BundleError> {
        if !safe_name(target) || !safe_name(name) || !name.ends_with(".gpb") {
            return Err(BundleError::NotFound(format!("no bundle {target}/{name}")));
        }
        let p = self.dir.join(target).join(name);
        if p.is_file() {
            Ok(p)
        } else {
            Err(BundleError::NotFound(format!("no bundle {target}/{name}")))
        }
    }
}

// ---- HTTP ----------------------------------------------------------------------------

/// Routes: `POST/GET /v1/admin/bundles` (admin token), `GET /v1/updates/{target}` (the
/// newest for a device's target) and `GET /v1/updates/{target}/{file}` (the bundle, with
/// `Range`), both with a device token.
pub fn router(hub: Arc<Hub>, bundles: Bundles) -> Router {
    Router::new()
        .route(
            "/v1/admin/bundles",
            post(admin_publish)
                .get(admin_list)
                .layer(DefaultBodyLimit::max(MAX_BUNDLE)),
        )
        .route("/v1/updates/{target}", get(latest))
        .route("/v1/updates/{target}/{file}", get(download))
        .with_state((hub, bundles))
}

/// The routes [`router`] serves, as (method, path) — checked against `openapi.json`.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/admin/bundles"),
    ("post", "/v1/admin/bundles"),
    ("get", "/v1/updates/{target}"),
    ("get", "/v1/updates/{target}/{file}"),
];

type St = State<(Arc<Hub>, Bundles)>;

fn problem(status: StatusCode, title: &str, detail: String) -> Response {
    crate::http::problem(status, title, Some(detail))
}

fn bundle_error(e: BundleError) -> Response {
    match e {
        BundleError::Invalid(d) => problem(StatusCode::BAD_REQUEST, "bad request", d),
        BundleError::Conflict(d) => problem(StatusCode::CONFLICT, "conflict", d),
        BundleError::NotFound(d) => problem(StatusCode::NOT_FOUND, "not found", d),
        BundleError::Io { .. } => {
            eprintln!("gridhub: bundle storage error: {e}");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage unavailable",
                "the hub could not read or write its bundle directory".into(),
            )
        }
    }
}

fn hub_error(e: HubError) -> Response {
    match e {
        HubError::Unauthorized(d) => problem(StatusCode::UNAUTHORIZED, "unauthorized", d),
        HubError::Forbidden(d) => problem(StatusCode::FORBIDDEN, "forbidden", d),
        e => {
            eprintln!("gridhub: {e}");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage unavailable",
                "try again later".into(),
            )
        }
    }
}

/// The token's subject, `admin` or a device id.
async fn subject(hub: &Arc<Hub>, headers: &HeaderMap, admin: bool) -> Result<String, Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
        .ok_or_else(|| {
            problem(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing bearer token".into(),
            )
        })?;
    let h = hub.clone();
    let s = tokio::task::spawn_blocking(move || h.authenticate(&token))
        .await
        .map_err(|e| hub_error(HubError::BadRequest(e.to_string())))?
        .map_err(hub_error)?;
    match (admin, s == "admin") {
        (true, false) => Err(problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "admin token required".into(),
        )),
        (false, true) => Err(problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "a device token is required".into(),
        )),
        _ => Ok(s),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BundleError> + Send + 'static,
) -> Result<T, Response> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| {
            bundle_error(BundleError::Io {
                path: "bundles".into(),
                source: std::io::Error::other(e.to_string()),
            })
        })?
        .map_err(bundle_error)
}

async fn admin_publish(State((hub, b)): St, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = subject(&hub, &headers, true).await {
        return r;
    }
    match blocking(move || b.publish_reader(&mut &body[..])).await {
        Ok(p) => (StatusCode::CREATED, Json(p)).into_response(),
        Err(r) => r,
    }
}

async fn admin_list(State((hub, b)): St, headers: HeaderMap) -> Response {
    if let Err(r) = subject(&hub, &headers, true).await {
        return r;
    }
    match blocking(move || b.list()).await {
        Ok(l) => Json(l).into_response(),
        Err(r) => r,
    }
}

async fn latest(
    State((hub, b)): St,
    headers: HeaderMap,
    UrlPath(target): UrlPath<String>,
) -> Response {
    if let Err(r) = subject(&hub, &headers, false).await {
        return r;
    }
    match blocking(move || b.latest(&target, None)).await {
        Ok(p) => Json(p).into_response(),
        Err(r) => r,
    }
}

async fn download(
    State((hub, b)): St,
    headers: HeaderMap,
    UrlPath((target, name)): UrlPath<(String, String)>,
) -> Response {
    if let Err(r) = subject(&hub, &headers, false).await {
        return r;
    }
    let path = match blocking(move || b.file(&target, &name)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let storage = |e: std::io::Error| bundle_error(io(&path, e));
    let mut f = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) => return storage(e),
    };
    let len = match f.metadata().await {
        Ok(m) => m.len(),
        Err(e) => return storage(e),
    };
    // One range (`bytes=N-`, `bytes=N-M`, `bytes=-N`), the same rules as photo downloads.
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, end) = match range {
        None => (StatusCode::OK, 0, len),
        Some(r) => match gridpad_evidence::blob::parse_range(r, len) {
            Some((s, e)) => (StatusCode::PARTIAL_CONTENT, s, e),
            None => {
                return (
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    [(header::CONTENT_RANGE, format!("bytes */{len}"))],
                )
                    .into_response()
            }
        },
    };
    if let Err(e) = f.seek(SeekFrom::Start(start)).await {
        return storage(e);
    }
    // Streamed from the file: a hub serving a 100 MB bundle to many devices at once holds
    // a few buffers per download, not the bundle.
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(f.take(end - start)));
    let mut r = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/vnd.gridpad.bundle")
        .header(header::CONTENT_LENGTH, end - start)
        .header(header::ACCEPT_RANGES, "bytes");
    if status == StatusCode::PARTIAL_CONTENT {
        r = r.header(
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{len}", end - 1),
        );
    }
    r.body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

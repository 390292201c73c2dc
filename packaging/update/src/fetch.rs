//! Where bundles come from: a file (a USB stick, an SD card) or a URL (gridhub).
//!
//! With the device's token (gridhub's device endpoints) a bundle comes only through the
//! device's own transport (`gridpad_sync::updates`): HTTPS trusting the CA pinned for the
//! hub (or the system's roots), plain HTTP only to this machine, no redirects — a token
//! never travels in clear. Without a token (a signed bundle on a plain mirror), `http://`
//! is spoken here with the standard library (no TLS is needed for integrity: the bundle is
//! signed, like Debian's archive over http) and `https://` is handed to `curl -C -`.
//! Either way an interrupted download keeps its `.part` file and the next attempt asks for
//! the rest with a `Range` request, so a few minutes of EDGE at a time eventually fetch a
//! bundle.

use crate::{Error, Result};
use gridpad_sync::http::{HubTls, TokenClient};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Url(String),
}

impl Source {
    pub fn parse(s: &str) -> Source {
        if s.starts_with("http://") || s.starts_with("https://") {
            Source::Url(s.to_string())
        } else {
            Source::File(PathBuf::from(s.strip_prefix("file://").unwrap_or(s)))
        }
    }
}

/// A bearer token for gridhub's device endpoints. Its `Debug` does not show it (secrets
/// stay out of logs); it is sent only to the URL's own host, never after a redirect, and
/// only over the device transport ([`DeviceAuth`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Bearer(pub String);

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(…)")
    }
}

impl Bearer {
    /// Reads a token from a file (first line, trimmed); refuses an empty one.
    pub fn from_file(path: &Path) -> Result<Bearer> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let token = text.lines().next().unwrap_or("").trim().to_string();
        if token.is_empty() || token.contains(char::is_whitespace) {
            return Err(Error::Other(format!(
                "{}: no bearer token on its first line",
                path.display()
            )));
        }
        Ok(Bearer(token))
    }
}

/// The device's credentials for gridhub: its token and the PEM of the CA the hub's
/// certificate must chain to (absent: the system's roots), as the device pinned it.
#[derive(Clone, Debug)]
pub struct DeviceAuth {
    pub token: Bearer,
    pub hub_ca: Option<Vec<u8>>,
}

impl DeviceAuth {
    /// A token file and, optionally, the hub's CA file.
    pub fn from_files(token: &Path, hub_ca: Option<&Path>) -> Result<DeviceAuth> {
        Ok(DeviceAuth {
            token: Bearer::from_file(token)?,
            hub_ca: hub_ca
                .map(|p| std::fs::read(p).map_err(|e| Error::io(p, e)))
                .transpose()?,
        })
    }

    /// The device transport's client for the hub serving `url`, and the path on it.
    pub fn client_for(&self, url: &str) -> Result<(TokenClient, String)> {
        TokenClient::for_url(url, &self.tls(), &self.token.0).map_err(download_error)
    }

    /// The device transport's client for the hub at `base`.
    pub fn client(&self, base: &str) -> Result<TokenClient> {
        TokenClient::new(base, &self.tls(), &self.token.0).map_err(download_error)
    }

    fn tls(&self) -> HubTls {
        HubTls {
            ca_pem: self.hub_ca.clone(),
        }
    }
}

pub(crate) fn download_error(e: impl std::fmt::Display) -> Error {
    Error::Download(e.to_string())
}

/// Returns a local path holding the complete bundle: the file itself, or the download in
/// `dir` (resumed if a previous attempt left a `.part`).
pub fn fetch(source: &Source, dir: &Path, attempts: u32) -> Result<PathBuf> {
    fetch_with(source, dir, attempts, None)
}

/// [`fetch`], with the device's credentials for a URL on gridhub (its device endpoints).
pub fn fetch_with(
    source: &Source,
    dir: &Path,
    attempts: u32,
    auth: Option<&DeviceAuth>,
) -> Result<PathBuf> {
    match source {
        Source::File(p) => {
            if !p.is_file() {
                return Err(Error::io(
                    p,
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no such bundle file"),
                ));
            }
            Ok(p.clone())
        }
        Source::Url(url) => {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            let (part, done) = download_paths(url, dir);
            drop_stale_parts(dir, &part);
            let mut last = None;
            for _ in 0..attempts.max(1) {
                let r = match auth {
                    Some(a) => a.client_for(url).and_then(|(client, path)| {
                        gridpad_sync::updates::download_to(&client, &path, &part)
                            .map_err(download_error)
                    }),
                    None if url.starts_with("https://") => curl(url, &part, dir),
                    None => http_get_resume(url, &part, 5),
                };
                match r {
                    Ok(()) => {
                        std::fs::rename(&part, &done).map_err(|e| Error::io(&done, e))?;
                        return Ok(done);
                    }
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| Error::Download("no attempt made".into())))
        }
    }
}

/// The partial and the complete download file of `url` in `dir`.
pub fn download_paths(url: &str, dir: &Path) -> (PathBuf, PathBuf) {
    let d = ring::digest::digest(&ring::digest::SHA256, url.as_bytes());
    let stem = format!("download-{}", &hex::encode(d.as_ref())[..16]);
    (
        dir.join(format!("{stem}.gpb.part")),
        dir.join(format!("{stem}.gpb")),
    )
}

/// Drop partial downloads of other URLs: one download is resumed at a time, and one that
/// was abandoned (its offer superseded by a newer bundle) would otherwise hold its space on
/// the device for good.
fn drop_stale_parts(dir: &Path, keep: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let n = e.file_name().to_string_lossy().to_string();
        if n.starts_with("download-") && n.ends_with(".gpb.part") && e.path() != keep {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// A token-less download over https (a signed bundle on a mirror).
fn curl(url: &str, part: &Path, _dir: &Path) -> Result<()> {
    let mut cmd = std::process::Command::new("curl");
    cmd.args(["-fsSL", "--retry", "3", "-C", "-", "-o"])
        .arg(part)
        .arg(url);
    let st = cmd
        .status()
        .map_err(|e| Error::Download(format!("https needs curl: {e}")))?;
    if st.success() {
        Ok(())
    } else {
        Err(Error::Download(format!("curl {url}: {st}")))
    }
}

struct Url {
    host: String,
    port: u16,
    path: String,
}

fn parse_http_url(url: &str) -> Result<Url> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| Error::Download(format!("not an http:// URL: {url}")))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
            h.to_string(),
            p.parse()
                .map_err(|_| Error::Download(format!("bad port in {url}")))?,
        ),
        _ => (authority.to_string(), 80),
    };
    if host.is_empty() {
        return Err(Error::Download(format!("no host in {url}")));
    }
    Ok(Url {
        host,
        port,
        path: path.to_string(),
    })
}

/// GETs `url` into `part`, asking only for the bytes it does not have yet. No token is
/// ever sent this way: a URL on gridhub goes through [`DeviceAuth`].
pub fn http_get_resume(url: &str, part: &Path, redirects: u32) -> Result<()> {
    let u = parse_http_url(url)?;
    let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let host = u.host.trim_start_matches('[').trim_end_matches(']');
    let addr = (host, u.port)
        .to_socket_addrs()
        .map_err(|e| Error::Download(format!("{}: {e}", u.host)))?
        .next()
        .ok_or_else(|| Error::Download(format!("{}: no address", u.host)))?;
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(20))
        .map_err(|e| Error::Download(format!("connect {addr}: {e}")))?;
    stream.set_read_timeout(Some(Duration::from_secs(60))).ok();
    stream.set_write_timeout(Some(Duration::from_secs(60))).ok();
    let mut req = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: gridpad-update/{}\r\nConnection: close\r\n",
        u.path,
        if u.port == 80 {
            u.host.clone()
        } else {
            format!("{}:{}", u.host, u.port)
        },
        env!("CARGO_PKG_VERSION")
    );
    if have > 0 {
        req.push_str(&format!("Range: bytes={have}-\r\n"));
    }
    req.push_str("\r\n");
    (&stream)
        .write_all(req.as_bytes())
        .map_err(|e| Error::Download(format!("send: {e}")))?;

    let mut r = BufReader::new(stream);
    let mut status_line = String::new();
    r.read_line(&mut status_line)
        .map_err(|e| Error::Download(format!("read status: {e}")))?;
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::Download(format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    let mut total = 0usize;
    loop {
        let mut line = String::new();
        let n = r
            .read_line(&mut line)
            .map_err(|e| Error::Download(format!("read headers: {e}")))?;
        total += n;
        if n == 0 || total > 64 * 1024 {
            return Err(Error::Download("bad response headers".into()));
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };

    let append = match status {
        200 => false,
        206 => {
            let start = header("content-range")
                .and_then(|v| v.strip_prefix("bytes "))
                .and_then(|v| v.split('-').next())
                .and_then(|v| v.parse::<u64>().ok());
            if start != Some(have) {
                return Err(Error::Download(format!(
                    "server resumed at {start:?}, expected {have}"
                )));
            }
            true
        }
        // Nothing left to send: the part file is complete (verification will tell).
        416 if have > 0 => return Ok(()),
        301 | 302 | 303 | 307 | 308 if redirects > 0 => {
            let loc = header("location")
                .ok_or_else(|| Error::Download("redirect without Location".into()))?;
            let next = if loc.starts_with("http://") || loc.starts_with("https://") {
                loc.to_string()
            } else {
                format!("http://{}:{}{}", u.host, u.port, loc)
            };
            if next.starts_with("https://") {
                let dir = part.parent().unwrap_or(Path::new("."));
                return curl(&next, part, dir);
            }
            return http_get_resume(&next, part, redirects - 1);
        }
        s => {
            return Err(Error::Download(format!(
                "{url}: HTTP {s} {}",
                status_line
                    .split_whitespace()
                    .skip(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            )))
        }
    };
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(part)
        .map_err(|e| Error::io(part, e))?;
    let chunked = header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let length = header("content-length").and_then(|v| v.parse::<u64>().ok());
    let io_err = |e: std::io::Error| Error::Download(format!("connection lost: {e}"));
    if chunked {
        loop {
            let mut line = String::new();
            r.read_line(&mut line).map_err(io_err)?;
            let size = u64::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| Error::Download("bad chunk header".into()))?;
            if size == 0 {
                break;
            }
            copy_exact(&mut r, &mut out, size, part)?;
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf).map_err(io_err)?;
        }
    } else if let Some(len) = length {
        copy_exact(&mut r, &mut out, len, part)?;
    } else {
        std::io::copy(&mut r, &mut out).map_err(io_err)?;
    }
    out.sync_all().map_err(|e| Error::io(part, e))?;
    Ok(())
}

fn copy_exact<R: Read, W: Write>(r: &mut R, w: &mut W, mut n: u64, part: &Path) -> Result<()> {
    let mut buf = vec![0u8; 32 * 1024];
    while n > 0 {
        let want = buf.len().min(n as usize);
        let got = match r.read(&mut buf[..want]) {
            Ok(0) => {
                return Err(Error::Download(format!(
                    "connection closed with {n} bytes to go (kept for resume)"
                )))
            }
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Download(format!("connection lost: {e}"))),
        };
        w.write_all(&buf[..got]).map_err(|e| Error::io(part, e))?;
        n -= got as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_urls() {
        assert_eq!(
            Source::parse("/media/usb/gridpad.gpb"),
            Source::File("/media/usb/gridpad.gpb".into())
        );
        assert_eq!(
            Source::parse("file:///media/usb/x.gpb"),
            Source::File("/media/usb/x.gpb".into())
        );
        assert!(matches!(Source::parse("http://h/x"), Source::Url(_)));
        let u = parse_http_url("http://127.0.0.1:8080/bundles/a.gpb").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 8080, "/bundles/a.gpb")
        );
        let u = parse_http_url("http://hub.example").unwrap();
        assert_eq!((u.port, u.path.as_str()), (80, "/"));
    }

    #[test]
    fn a_new_download_drops_the_partial_downloads_of_superseded_offers() {
        let dir = tempfile::tempdir().unwrap();
        let (old_part, _) =
            download_paths("http://hub/v1/updates/arm64/gridpad_0.2.0.gpb", dir.path());
        let (part, _) = download_paths("http://hub/v1/updates/arm64/gridpad_0.3.0.gpb", dir.path());
        std::fs::write(&old_part, vec![7u8; 4096]).unwrap();
        std::fs::write(&part, b"resume me").unwrap();
        std::fs::write(dir.path().join("payload.deb"), b"not a download").unwrap();
        drop_stale_parts(dir.path(), &part);
        assert!(!old_part.exists(), "the abandoned download is gone");
        assert_eq!(
            std::fs::read(&part).unwrap(),
            b"resume me",
            "this one resumes"
        );
        assert!(
            dir.path().join("payload.deb").exists(),
            "other files are left alone"
        );
    }
}

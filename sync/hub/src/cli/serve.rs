//! `gridhub serve`: devices and the admin API over HTTP(S).

use anyhow::{bail, Context, Result};
use gridhub::Hub;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "127.0.0.1:8470")]
    listen: SocketAddr,
    /// Allow plain HTTP on a non-loopback address (only behind a TLS-terminating proxy).
    #[arg(long)]
    behind_tls_proxy: bool,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(long, requires = "tls_key", env = "GRIDHUB_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert", env = "GRIDHUB_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Seconds a client has to send a request's headers (idle connections are closed).
    #[arg(long, env = "GRIDHUB_HEADER_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_timeout_secs: u64,
    /// Longest pause, in seconds, inside a request body.
    #[arg(long, env = "GRIDHUB_BODY_IDLE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    body_idle_secs: u64,
    /// Least average rate of a request body in bytes a second (checked after
    /// --body-idle-secs).
    #[arg(long, env = "GRIDHUB_MIN_BODY_RATE", default_value_t = 256, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    min_body_rate: u64,
    /// Serve `/metrics` (Prometheus) and the health checks on this address too, plain
    /// HTTP: an address of the operator's network, never the devices'.
    #[arg(long, env = "GRIDHUB_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
}

pub fn run(hub: Arc<Hub>, data_dir: &Path, a: Args) -> Result<()> {
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(cert), Some(key)) => Some(gridhub::tls::server_config(cert, key)?),
        _ => None,
    };
    let listen = a.listen;
    if tls.is_none() && !listen.ip().is_loopback() && !a.behind_tls_proxy {
        bail!("refusing plain HTTP on {listen}: give --tls-cert and --tls-key, or serve on loopback behind a TLS proxy and pass --behind-tls-proxy");
    }
    let limits = gridhub::conn::Limits {
        header: Duration::from_secs(a.header_timeout_secs),
        body_idle: Duration::from_secs(a.body_idle_secs),
        min_body_rate: a.min_body_rate,
    };
    // Finish photo uploads a stopped hub left half done before anyone asks for them.
    if let Some(blobs) = hub.blobs() {
        let n = blobs.recover().context("recovering photo uploads")?;
        if n > 0 {
            eprintln!("gridhub: finished {n} photo upload(s) a stop had cut short");
        }
    }
    let rt = tokio::runtime::Runtime::new()?;
    let data_dir = data_dir.to_path_buf();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let hub_for_sweep = hub.clone();
        let bundles = gridhub::bundles::Bundles::new(&data_dir);
        let app = gridhub::http::router(hub.clone())
            .merge(gridhub::bundles::router(hub.clone(), bundles));
        let app = gridhub::http::ops::instrument(app, hub.clone());
        if let Some(addr) = a.metrics_listen {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr} (--metrics-listen)"))?;
            eprintln!("gridhub: metrics on http://{}/metrics", l.local_addr()?);
            let ops = gridhub::http::ops::metrics_router(hub.clone());
            tokio::spawn(async move {
                if let Err(e) = axum::serve(l, ops).await {
                    eprintln!("gridhub: metrics listener: {e}");
                }
            });
        }
        eprintln!(
            "gridhub: serving {} on {}://{}",
            data_dir.display(),
            if tls.is_some() { "https" } else { "http" },
            listener.local_addr()?
        );
        systemd_ready();
        keep_clock_mark(hub_for_sweep.clone());
        supervise_every_minute(hub_for_sweep.clone());
        sweep_photos_hourly(hub_for_sweep);
        let tls = tls.map(|c| tokio_rustls::TlsAcceptor::from(Arc::new(c)));
        gridhub::conn::serve(listener, tls, app, limits, shutdown).await?;
        Ok::<_, anyhow::Error>(())
    })
}

/// Tell systemd (`Type=notify`, `WatchdogSec=`) that the hub listens, then keep its watchdog
/// fed from the async runtime: a runtime that stops making progress stops the pings and
/// systemd restarts the service. Without `NOTIFY_SOCKET` (not under systemd) nothing is sent.
fn systemd_ready() {
    if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Ready]) {
        eprintln!("gridhub: could not notify systemd: {e}");
    }
    if let Some(period) = sd_notify::watchdog_enabled() {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period / 2);
            loop {
                tick.tick().await;
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
            }
        });
    }
}

/// Record the hub clock's mark every few seconds ([`gridhub::service`]): a restarted or
/// other instance starts above it.
fn keep_clock_mark(hub: Arc<Hub>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(gridhub::service::CLOCK_PERSIST_EVERY);
        let mut failing = false;
        loop {
            tick.tick().await;
            let hub = hub.clone();
            let r = tokio::task::spawn_blocking(move || hub.persist_clock()).await;
            match r {
                Ok(Ok(())) => failing = false,
                Ok(Err(e)) if !failing => {
                    failing = true;
                    eprintln!("gridhub: recording the clock's mark: {e}");
                }
                _ => {}
            }
        }
    });
}

/// The photo sweep's lease: one instance sweeps a shared photo directory per hour.
const SWEEP_JOB: &str = "photo-sweep";

/// Forget abandoned uploads and photos no record names ([`gridhub::photos`]): now, then
/// every hour, on the blocking pool — on the one instance holding the sweep's lease.
fn sweep_photos_hourly(hub: Arc<Hub>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let hub = hub.clone();
            let r = tokio::task::spawn_blocking(move || {
                // Held a little less than the period: the next turn is anybody's.
                match hub.take_lease(SWEEP_JOB, Duration::from_secs(3000)) {
                    Ok(true) => {}
                    Ok(false) => return Ok(Default::default()),
                    Err(e) => return Err(gridhub::error::HubError::Store(e)),
                }
                hub.sweep_photos(
                    gridhub::photos::UPLOAD_GRACE,
                    gridhub::photos::UNREFERENCED_GRACE,
                )
            })
            .await;
            match r {
                Ok(Ok(s)) if s.uploads_removed + s.photos_removed > 0 => eprintln!(
                    "gridhub: swept {} abandoned upload(s), {} unnamed photo(s) ({} bytes)",
                    s.uploads_removed, s.photos_removed, s.bytes_removed
                ),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => eprintln!("gridhub: photo sweep: {e}"),
                Err(e) => eprintln!("gridhub: photo sweep: {e}"),
            }
        }
    });
}

/// The automatic 督办 ([`gridhub::supervise`]): every minute, on the one instance holding
/// its lease (so a reminder goes out once however many instances serve).
fn supervise_every_minute(hub: Arc<Hub>) {
    use gridhub::supervise::{EVERY, JOB};
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            let hub = hub.clone();
            let r = tokio::task::spawn_blocking(move || {
                match hub.take_lease(JOB, EVERY * 3) {
                    Ok(true) => {}
                    Ok(false) => return Ok(Default::default()),
                    Err(e) => return Err(gridhub::error::HubError::Store(e)),
                }
                hub.supervise()
            })
            .await;
            match r {
                Ok(Ok(s)) if s.tasks > 0 => eprintln!(
                    "gridhub: 督办: {} task(s), {} reminder(s)",
                    s.tasks, s.reminders
                ),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => eprintln!("gridhub: 督办: {e}"),
                Err(e) => eprintln!("gridhub: 督办: {e}"),
            }
        }
    });
}

//! `gridhub serve`: devices and the admin API over HTTP(S).

use anyhow::{bail, Context, Result};
use gridhub::Hub;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    let rt = tokio::runtime::Runtime::new()?;
    let data_dir = data_dir.to_path_buf();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let bundles = gridhub::bundles::Bundles::new(&data_dir);
        let app = gridhub::http::router(hub.clone()).merge(gridhub::bundles::router(hub, bundles));
        eprintln!(
            "gridhub: serving {} on {}://{}",
            data_dir.display(),
            if tls.is_some() { "https" } else { "http" },
            listener.local_addr()?
        );
        systemd_ready();
        match tls {
            Some(config) => gridhub::tls::serve(listener, config, app, shutdown).await?,
            None => {
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(shutdown)
                .await?
            }
        }
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

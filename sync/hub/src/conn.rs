//! Connections: the accept loop of `gridhub serve` (plain HTTP or TLS), and the limits that
//! give back what an idle or trickling client holds.
//!
//! - **Headers**: a connection has [`Limits::header`] to send a request's headers — a new
//!   connection that sends nothing, a keep-alive connection that sends no next request, or
//!   one that trickles its headers a byte at a time is closed when it runs out (hyper's
//!   header read timeout, which needs a timer: `axum::serve` sets none, so gridhub runs
//!   its own loop).
//! - **Bodies**: a request body that sends nothing for [`Limits::body_idle`], or that after
//!   that long averages under [`Limits::min_body_rate`] bytes a second, ends with an error
//!   (the upload route keeps what arrived; the device resumes from `HEAD`).
//! - **TLS**: each handshake runs in its own task with a deadline ([`crate::tls`]).

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// How long a client may hold a connection without making progress.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Time to send a request's headers (also: the next request on a kept-alive
    /// connection).
    pub header: Duration,
    /// Longest pause inside a request body.
    pub body_idle: Duration,
    /// Least average rate of a body (bytes a second), checked once it has run
    /// `body_idle`.
    pub min_body_rate: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header: Duration::from_secs(30),
            body_idle: Duration::from_secs(30),
            // EDGE moves 5–20 KB/s; a body under 256 B/s for half a minute is holding the
            // connection, not sending.
            min_body_rate: 256,
        }
    }
}

/// Serve `app` on `listener` until `shutdown`, over TLS when `tls` is given.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: axum::Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let app = app
        .layer(axum::middleware::from_fn(
            move |req: Request, next: Next| body_limits(limits, req, next),
        ))
        .layer(axum::middleware::from_fn(
            crate::http::error::plain_errors_as_problems,
        ));
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                // Out of file descriptors and the like: let the others finish first.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                Some(acceptor) => {
                    if let Some(stream) = crate::tls::handshake(&acceptor, tcp).await {
                        serve_connection(stream, peer, app, limits).await
                    }
                }
                None => serve_connection(tcp, peer, app, limits).await,
            }
        });
    }
}

async fn serve_connection<S>(stream: S, peer: SocketAddr, app: axum::Router, limits: Limits)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let app = app.layer(axum::Extension(axum::extract::ConnectInfo(peer)));
    let service = TowerToHyperService::new(app);
    // HTTP/1.1 only (what devices and browsers speak to the hub): the auto builder would
    // otherwise first wait, without a deadline, for bytes to tell HTTP/1 from HTTP/2 — a
    // connection that sends nothing would be held for ever.
    let mut builder =
        hyper_util::server::conn::auto::Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header);
    let _ = builder
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// Wrap the request body so that a stalled or trickling body ends with an error.
async fn body_limits(limits: Limits, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let body = Body::from_stream(guarded(body, limits));
    next.run(Request::from_parts(parts, body)).await
}

fn guarded(
    body: Body,
    limits: Limits,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let state = (body.into_data_stream(), Instant::now(), 0u64, false);
    futures_util::stream::unfold(state, move |(mut s, start, mut n, done)| async move {
        if done {
            return None;
        }
        let err = |msg: String| std::io::Error::new(std::io::ErrorKind::TimedOut, msg);
        match tokio::time::timeout(limits.body_idle, s.next()).await {
            Err(_) => Some((
                Err(err(format!(
                    "no body bytes for {} s",
                    limits.body_idle.as_secs()
                ))),
                (s, start, n, true),
            )),
            Ok(None) => None,
            Ok(Some(Err(e))) => Some((Err(std::io::Error::other(e)), (s, start, n, true))),
            Ok(Some(Ok(b))) => {
                n += b.len() as u64;
                let t = start.elapsed();
                if t > limits.body_idle
                    && (n as f64) < limits.min_body_rate as f64 * t.as_secs_f64()
                {
                    return Some((
                        Err(err(format!(
                            "body slower than {} bytes a second",
                            limits.min_body_rate
                        ))),
                        (s, start, n, true),
                    ));
                }
                Some((Ok(b), (s, start, n, false)))
            }
        }
    })
}

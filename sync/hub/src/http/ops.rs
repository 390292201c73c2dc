//! For the operator and the load balancer: readiness (`/v1/ready`: the database answers),
//! the metrics page (`/metrics`, on its own listener: `gridhub serve --metrics-listen`),
//! and the layer that counts every request ([`instrument`]).

use crate::hub::Hub;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the readiness check waits for the database.
const READY_WITHIN: Duration = Duration::from_secs(2);

/// 200 when the database answers a read within [`READY_WITHIN`], 503 otherwise: a load
/// balancer sends no device to an instance that cannot reach its database.
pub async fn ready(State(hub): State<Arc<Hub>>) -> Response {
    let check = tokio::task::spawn_blocking(move || {
        gridhub_store::with_read_tx(hub.store(), |tx| tx.clock_floor().map(|_| ()))
    });
    match tokio::time::timeout(READY_WITHIN, check).await {
        Ok(Ok(Ok(()))) => (StatusCode::OK, "ready").into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            "the database does not answer",
        )
            .into_response(),
    }
}

/// The metrics page and the two health checks, for a listener of the operator's network.
pub fn metrics_router(hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/v1/health", get(|| async { "ok" }))
        .route("/v1/ready", get(ready))
        .with_state(hub)
}

async fn metrics(State(hub): State<Arc<Hub>>) -> Response {
    let r = tokio::task::spawn_blocking(move || hub.metrics.render(&hub)).await;
    match r {
        Ok(Ok(text)) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Ok(Err(e)) => {
            eprintln!("gridhub: metrics: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, "metrics unavailable").into_response()
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "metrics failed").into_response(),
    }
}

/// Count and time every request a route of `app` answers (by the route's template).
pub fn instrument(app: Router, hub: Arc<Hub>) -> Router {
    app.route_layer(axum::middleware::from_fn_with_state(hub, track))
}

async fn track(State(hub): State<Arc<Hub>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "other".into());
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let resp = next.run(req).await;
    hub.metrics
        .request(&method, &route, resp.status().as_u16(), started.elapsed());
    resp
}

//! Update bundles over HTTP: `POST/GET /v1/admin/bundles` (administrator), `GET
//! /v1/updates/{target}` (the newest for a device's target) and `GET
//! /v1/updates/{target}/{file}` (the bundle, with `Range`; active devices).

use super::extract::{blocking, ActiveDevice, CentreAuth, HubState};
use crate::authz::Action;
use crate::bundles::{io, Bundles};
use crate::hub::{Hub, HubError};
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::io::SeekFrom;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// The router state of the bundle routes.
#[derive(Clone)]
pub struct BundleState(Arc<Hub>, Bundles);

impl HubState for BundleState {
    fn hub(&self) -> &Arc<Hub> {
        &self.0
    }
}

type St = State<BundleState>;

/// Routes: `POST/GET /v1/admin/bundles` (admin token), `GET /v1/updates/{target}` (the
/// newest for a device's target) and `GET /v1/updates/{target}/{file}` (the bundle, with
/// `Range`), both with a device token.
pub fn router(hub: Arc<Hub>, bundles: Bundles) -> Router {
    Router::new()
        .route(
            "/v1/admin/bundles",
            post(admin_publish)
                .get(admin_list)
                .layer(DefaultBodyLimit::max(crate::bundles::MAX_BUNDLE)),
        )
        .route("/v1/updates/{target}", get(latest))
        .route("/v1/updates/{target}/{file}", get(download))
        .with_state(BundleState(hub, bundles))
}

/// The routes [`router`] serves, as (method, path) — checked against `openapi.json`.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/admin/bundles"),
    ("post", "/v1/admin/bundles"),
    ("get", "/v1/updates/{target}"),
    ("get", "/v1/updates/{target}/{file}"),
];

async fn admin_publish(
    State(BundleState(hub, b)): St,
    CentreAuth(who): CentreAuth,
    body: Bytes,
) -> Result<Response, HubError> {
    who.require(Action::BundlesPublish)?;
    let p = blocking(move || {
        let p = b.publish_reader(&mut &body[..])?;
        hub.audit_alone(
            &who.actor,
            "bundle.publish",
            &format!("bundle:{}", p.path),
            serde_json::json!(p),
        )?;
        Ok(p)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(p)).into_response())
}

async fn admin_list(
    State(BundleState(_, b)): St,
    CentreAuth(who): CentreAuth,
) -> Result<Response, HubError> {
    who.require(Action::DevicesRead)?;
    let l = blocking(move || Ok(b.list()?)).await?;
    Ok(Json(l).into_response())
}

async fn latest(
    State(BundleState(_, b)): St,
    _: ActiveDevice,
    UrlPath(target): UrlPath<String>,
) -> Result<Response, HubError> {
    let p = blocking(move || Ok(b.latest(&target, None)?)).await?;
    Ok(Json(p).into_response())
}

async fn download(
    State(BundleState(_, b)): St,
    _: ActiveDevice,
    headers: HeaderMap,
    UrlPath((target, name)): UrlPath<(String, String)>,
) -> Response {
    let path = match blocking(move || Ok(b.file(&target, &name)?)).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let storage = |e: std::io::Error| HubError::from(io(&path, e)).into_response();
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

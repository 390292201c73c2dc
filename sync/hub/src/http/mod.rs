//! gridhub's HTTP interface, one file per resource. Device endpoints speak compressed CBOR
//! (`application/vnd.gridpad.v1+cbor`); the administrator's endpoints speak JSON. Every
//! request but enrollment, the login challenge and `/v1/health` carries a bearer token,
//! checked by the typed extractors of [`extract`] (a device, an active device, the
//! administrator). Errors are `application/problem+json`, mapped in [`error`] alone.

pub mod admin;
pub mod bundles;
mod device;
pub mod error;
pub mod extract;
mod seals;
mod sync;

use crate::evidence::HubAuthorizer;
use crate::hub::{Hub, HubError};
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use gridpad_proto::wire::{self, CONTENT_TYPE};
use std::sync::Arc;

pub use error::problem;

/// Largest compressed request body.
pub const MAX_REQUEST: usize = 16 << 20;

pub fn router(hub: Arc<Hub>) -> Router {
    let blobs = hub.blobs().cloned().map(|store| {
        gridpad_evidence::router(store, Arc::new(HubAuthorizer(hub.clone()))).layer(
            axum::middleware::from_fn_with_state(hub.clone(), seals::device_auth),
        )
    });
    let api = Router::new()
        .route("/v1/health", get(|| async { "ok" }))
        .route("/v1/enroll", post(device::enroll))
        .route("/v1/auth/challenge", post(device::challenge))
        .route("/v1/auth/token", post(device::token))
        .route("/v1/sync", post(sync::sync))
        .route(crate::evidence::SEALS_PATH, post(seals::seals))
        .route("/v1/admin/devices", get(admin::devices))
        .route("/v1/admin/devices/{id}/status", post(admin::device_status))
        .route("/v1/admin/events", get(admin::events))
        .route("/v1/admin/events/{id}/transition", post(admin::transition))
        .route("/v1/admin/events/{id}/dispatch", post(admin::dispatch))
        .route(
            "/v1/admin/tasks",
            get(admin::tasks).post(admin::create_task),
        )
        .route("/v1/admin/enrollment-codes", post(admin::issue_code))
        .route("/v1/admin/notices", post(admin::notice))
        .layer(DefaultBodyLimit::max(MAX_REQUEST))
        .with_state(hub);
    match blobs {
        Some(b) => api.merge(b),
        None => api,
    }
}

pub(crate) fn cbor<T: serde::Serialize>(v: &T) -> Response {
    (
        [
            (header::CONTENT_TYPE, CONTENT_TYPE),
            (header::CONTENT_ENCODING, "identity"),
        ],
        wire::encode(v),
    )
        .into_response()
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, HubError> {
    wire::decode(body).map_err(|e| HubError::BadRequest(e.to_string()))
}

/// Every route the router serves, as (method, path) — checked against `openapi.json`.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/health"),
    ("post", "/v1/enroll"),
    ("post", "/v1/auth/challenge"),
    ("post", "/v1/auth/token"),
    ("post", "/v1/sync"),
    ("post", "/v1/seals"),
    ("post", "/v1/blobs/have"),
    ("post", "/v1/uploads"),
    ("head", "/v1/uploads/{id}"),
    ("patch", "/v1/uploads/{id}"),
    ("get", "/v1/blobs/{sha256}"),
    ("get", "/v1/admin/devices"),
    ("post", "/v1/admin/devices/{id}/status"),
    ("get", "/v1/admin/events"),
    ("post", "/v1/admin/events/{id}/transition"),
    ("post", "/v1/admin/events/{id}/dispatch"),
    ("get", "/v1/admin/tasks"),
    ("post", "/v1/admin/tasks"),
    ("post", "/v1/admin/enrollment-codes"),
    ("post", "/v1/admin/notices"),
];

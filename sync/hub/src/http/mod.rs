//! gridhub's HTTP interface, one file per resource. Device endpoints speak compressed CBOR
//! (`application/vnd.gridpad.v1+cbor`); the administrator's endpoints speak JSON. Every
//! request but enrollment, the login challenge and `/v1/health` carries a bearer token,
//! checked by the typed extractors of [`extract`] (a device, an active device, the
//! administrator). Errors are `application/problem+json`, mapped in [`error`] alone.

pub mod accounts;
pub mod admin;
pub mod audit;
pub mod blobs;
pub mod bundles;
pub mod deadlines;
mod device;
pub mod error;
pub mod extract;
pub mod handling;
pub mod ops;
pub mod org;
mod seals;
pub mod session;
mod sync;

use crate::hub::{Hub, HubError};
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use gridpad_proto::wire::{self, CONTENT_TYPE};
use std::sync::Arc;

pub use error::problem;

/// Largest compressed request body.
pub const MAX_REQUEST: usize = 16 << 20;

pub fn router(hub: Arc<Hub>) -> Router {
    let blobs = hub
        .blobs()
        .cloned()
        .map(|store| blobs::router(hub.clone(), store));
    let hub_for_console = hub.clone();
    let api = Router::new()
        .route("/v1/health", get(|| async { "ok" }))
        .route("/v1/ready", get(ops::ready))
        .route("/v1/enroll", post(device::enroll))
        .route("/v1/auth/challenge", post(device::challenge))
        .route("/v1/auth/token", post(device::token))
        .route("/v1/sync", post(sync::sync))
        .route(gridpad_evidence::seal::SEALS_PATH, post(seals::seals))
        .route("/v1/admin/devices", get(admin::devices))
        .route("/v1/admin/devices/{id}/status", post(admin::device_status))
        .route("/v1/admin/events", get(admin::events))
        .route("/v1/admin/events/{id}/transition", post(admin::transition))
        .route("/v1/admin/events/{id}/dispatch", post(admin::dispatch))
        .route("/v1/admin/events/{id}/escalate", post(handling::escalate))
        .route("/v1/admin/events/{id}/send-back", post(handling::send_back))
        .route(
            "/v1/admin/events/{id}/dispatch-department",
            post(handling::dispatch_department),
        )
        .route(
            "/v1/admin/events/{id}/department",
            post(handling::department),
        )
        .route(
            "/v1/admin/tasks",
            get(admin::tasks).post(admin::create_task),
        )
        .route("/v1/admin/enrollment-codes", post(admin::issue_code))
        .route("/v1/admin/notices", post(admin::notice))
        .route(
            "/v1/session",
            post(session::login)
                .get(session::me)
                .delete(session::logout),
        )
        .route("/v1/session/password", post(session::change_password))
        .route("/v1/admin/org", get(org::list).post(org::put))
        .route("/v1/admin/org/{id}", delete(org::remove))
        .route(
            "/v1/admin/departments",
            get(org::departments).post(org::add_department),
        )
        .route("/v1/admin/routing", get(org::routing))
        .route("/v1/admin/routing/{category}", put(org::set_routing))
        .route(
            "/v1/admin/accounts",
            get(accounts::list).post(accounts::create),
        )
        .route(
            "/v1/admin/accounts/{username}/password",
            post(accounts::password),
        )
        .route(
            "/v1/admin/accounts/{username}/disabled",
            post(accounts::disabled),
        )
        .route("/v1/admin/accounts/{username}/totp", post(accounts::totp))
        .route(
            "/v1/admin/accounts/{username}/tokens",
            post(accounts::create_token),
        )
        .route("/v1/admin/tokens/{id}", delete(accounts::revoke_token))
        .route("/v1/admin/audit", get(audit::list))
        .route("/v1/admin/audit/verify", get(audit::verify))
        .route("/v1/admin/calendar/{year}", put(deadlines::put_calendar))
        .route("/v1/session/reminders", get(deadlines::reminders))
        .layer(DefaultBodyLimit::max(MAX_REQUEST))
        .with_state(hub);
    let api = api.merge(crate::console::router(hub_for_console));
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
    ("get", "/v1/ready"),
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
    ("post", "/v1/admin/events/{id}/escalate"),
    ("post", "/v1/admin/events/{id}/send-back"),
    ("post", "/v1/admin/events/{id}/dispatch-department"),
    ("post", "/v1/admin/events/{id}/department"),
    ("get", "/v1/admin/tasks"),
    ("post", "/v1/admin/tasks"),
    ("post", "/v1/admin/enrollment-codes"),
    ("post", "/v1/admin/notices"),
    ("post", "/v1/session"),
    ("get", "/v1/session"),
    ("delete", "/v1/session"),
    ("post", "/v1/session/password"),
    ("get", "/v1/admin/org"),
    ("post", "/v1/admin/org"),
    ("delete", "/v1/admin/org/{id}"),
    ("get", "/v1/admin/departments"),
    ("post", "/v1/admin/departments"),
    ("get", "/v1/admin/routing"),
    ("put", "/v1/admin/routing/{category}"),
    ("get", "/v1/admin/accounts"),
    ("post", "/v1/admin/accounts"),
    ("post", "/v1/admin/accounts/{username}/password"),
    ("post", "/v1/admin/accounts/{username}/disabled"),
    ("post", "/v1/admin/accounts/{username}/totp"),
    ("post", "/v1/admin/accounts/{username}/tokens"),
    ("delete", "/v1/admin/tokens/{id}"),
    ("get", "/v1/admin/audit"),
    ("get", "/v1/admin/audit/verify"),
    ("put", "/v1/admin/calendar/{year}"),
    ("get", "/v1/session/reminders"),
];

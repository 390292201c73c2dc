//! gridhub's HTTP interface. Device endpoints speak compressed CBOR
//! (`application/vnd.gridpad.v1+cbor`); admin endpoints speak JSON. Every request but
//! enrollment, the login challenge and `/v1/health` carries a bearer token. Errors are
//! `application/problem+json`.

use crate::evidence::{HubAuthorizer, SealsRequest, SEALS_PATH};
use crate::hub::{Hub, HubError};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gridpad_domain::codes::EventStatus;
use gridpad_evidence::AuthedDevice;
use gridpad_proto::wire::{self, Problem, SeqGap, CONTENT_TYPE};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// Largest compressed request body.
pub const MAX_REQUEST: usize = 16 << 20;

pub fn router(hub: Arc<Hub>) -> Router {
    let blobs = hub.blobs().cloned().map(|store| {
        gridpad_evidence::router(store, Arc::new(HubAuthorizer(hub.clone()))).layer(
            axum::middleware::from_fn_with_state(hub.clone(), device_auth),
        )
    });
    let api = Router::new()
        .route("/v1/health", get(|| async { "ok" }))
        .route("/v1/enroll", post(enroll))
        .route("/v1/auth/challenge", post(challenge))
        .route("/v1/auth/token", post(token))
        .route("/v1/sync", post(sync))
        .route(SEALS_PATH, post(seals))
        .route("/v1/admin/devices", get(admin_devices))
        .route("/v1/admin/devices/{id}/status", post(admin_device_status))
        .route("/v1/admin/events", get(admin_events))
        .route("/v1/admin/events/{id}/transition", post(admin_transition))
        .route("/v1/admin/events/{id}/dispatch", post(admin_dispatch))
        .route("/v1/admin/tasks", get(admin_tasks).post(admin_create_task))
        .route("/v1/admin/enrollment-codes", post(admin_issue_code))
        .route("/v1/admin/notices", post(admin_notice))
        .layer(DefaultBodyLimit::max(MAX_REQUEST))
        .with_state(hub);
    match blobs {
        Some(b) => api.merge(b),
        None => api,
    }
}

/// The photo routes' authentication: the bearer token of a device session becomes the
/// [`AuthedDevice`] the blob handlers read. Admin tokens cannot move photos.
async fn device_auth(
    State(hub): State<Arc<Hub>>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match authed_device(&hub, req.headers()).await {
        Ok(device) => {
            req.extensions_mut().insert(AuthedDevice(device));
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

struct ApiError(HubError);

impl From<HubError> for ApiError {
    fn from(e: HubError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, title) = match &self.0 {
            HubError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad request"),
            HubError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            HubError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            HubError::NotFound(_) => (StatusCode::NOT_FOUND, "not found"),
            HubError::SeqGap { expected } => {
                let body = serde_json::to_vec(&SeqGap {
                    expected_seq: *expected,
                })
                .unwrap_or_default();
                return (
                    StatusCode::CONFLICT,
                    [(header::CONTENT_TYPE, "application/json")],
                    body,
                )
                    .into_response();
            }
            HubError::Store(e) => {
                eprintln!("gridhub: storage error: {e}");
                (StatusCode::SERVICE_UNAVAILABLE, "storage unavailable")
            }
        };
        let detail = match &self.0 {
            HubError::Store(_) => None, // internals stay in the log
            e => Some(e.to_string()),
        };
        problem(status, title, detail)
    }
}

/// An RFC 9457 problem answer (`application/problem+json`), as every hub route gives.
pub(crate) fn problem(status: StatusCode, title: &str, detail: Option<String>) -> Response {
    let body = serde_json::to_vec(&Problem {
        status: status.as_u16(),
        title: title.into(),
        detail,
    })
    .unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body,
    )
        .into_response()
}

type ApiResult<T> = Result<T, ApiError>;

fn cbor<T: serde::Serialize>(v: &T) -> Response {
    (
        [
            (header::CONTENT_TYPE, CONTENT_TYPE),
            (header::CONTENT_ENCODING, "identity"),
        ],
        wire::encode(v),
    )
        .into_response()
}

fn decode<T: serde::de::DeserializeOwned>(body: &Bytes) -> ApiResult<T> {
    wire::decode(body).map_err(|e| ApiError(HubError::BadRequest(e.to_string())))
}

fn bearer(headers: &HeaderMap) -> ApiResult<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
        .ok_or_else(|| ApiError(HubError::Unauthorized("missing bearer token".into())))
}

/// Run blocking storage work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, HubError> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| {
            ApiError(HubError::Store(crate::store::StoreError::Backend(
                e.to_string(),
            )))
        })?
        .map_err(ApiError)
}

async fn authed_device(hub: &Arc<Hub>, headers: &HeaderMap) -> ApiResult<String> {
    let token = bearer(headers)?;
    let h = hub.clone();
    let subject = blocking(move || h.authenticate(&token)).await?;
    if subject == "admin" {
        return Err(ApiError(HubError::Forbidden(
            "admin tokens cannot sync".into(),
        )));
    }
    Ok(subject)
}

async fn authed_admin(hub: &Arc<Hub>, headers: &HeaderMap) -> ApiResult<()> {
    let token = bearer(headers)?;
    let h = hub.clone();
    let subject = blocking(move || h.authenticate(&token)).await?;
    if subject != "admin" {
        return Err(ApiError(HubError::Forbidden("admin token required".into())));
    }
    Ok(())
}

async fn enroll(State(hub): State<Arc<Hub>>, body: Bytes) -> ApiResult<Response> {
    let req: wire::EnrollRequest = decode(&body)?;
    let resp = blocking(move || hub.enroll(&req)).await?;
    Ok(cbor(&resp))
}

async fn challenge(State(hub): State<Arc<Hub>>, body: Bytes) -> ApiResult<Response> {
    let req: wire::ChallengeRequest = decode(&body)?;
    let resp = blocking(move || hub.challenge(&req)).await?;
    Ok(cbor(&resp))
}

async fn token(State(hub): State<Arc<Hub>>, body: Bytes) -> ApiResult<Response> {
    let req: wire::TokenRequest = decode(&body)?;
    let resp = blocking(move || hub.token(&req)).await?;
    Ok(cbor(&resp))
}

async fn sync(State(hub): State<Arc<Hub>>, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let device = authed_device(&hub, &headers).await?;
    let req: wire::SyncRequest = decode(&body)?;
    let resp = blocking(move || hub.sync(&device, &req)).await?;
    Ok(cbor(&resp))
}

/// A device's sealed records (JSON, see [`crate::evidence`]).
async fn seals(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    Json(req): Json<SealsRequest>,
) -> ApiResult<Response> {
    let device = authed_device(&hub, &headers).await?;
    let resp = blocking(move || hub.receive_seals(&device, &req)).await?;
    Ok(Json(resp).into_response())
}

#[derive(Deserialize)]
struct Limit {
    limit: Option<usize>,
}

async fn admin_devices(State(hub): State<Arc<Hub>>, headers: HeaderMap) -> ApiResult<Response> {
    authed_admin(&hub, &headers).await?;
    let list = blocking(move || hub.device_health()).await?;
    Ok(Json(list).into_response())
}

#[derive(Deserialize)]
struct StatusBody {
    status: String,
}

async fn admin_device_status(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<StatusBody>,
) -> ApiResult<Response> {
    authed_admin(&hub, &headers).await?;
    blocking(move || hub.set_device_status(&id, &b.status)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn row_json(r: &crate::store::Row) -> serde_json::Value {
    json!({"id": r.row_id, "scope": r.scope, "fields": r.fields})
}

async fn admin_events(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    Query(q): Query<Limit>,
) -> ApiResult<Response> {
    authed_admin(&hub, &headers).await?;
    let rows = blocking(move || hub.events_with_evidence(q.limit.unwrap_or(100))).await?;
    Ok(Json(rows).into_response())
}

async fn admin_tasks(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    Query(q): Query<Limit>,
) -> ApiResult<Response> {
    authed_admin(&hub, &headers).await?;
    let rows = blocking(move || hub.tasks(q.limit.unwrap_or(100))).await?;
    Ok(Json(rows.iter().map(row_json).collect::<Vec<_>>()).into_response())
}

#[derive(Deserialize)]
struct TransitionBody {
    status: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    note: String,
}

async fn admin_transition(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<TransitionBody>,
) -> ApiResult<Response> {
    authed_admin(&hub, &headers).await?;
    let status = EventStatus::parse(&b.status)
        .ok_or_else(|| ApiError(HubError::BadRequest(format!("unknown status {}", b.status))))?;
    blocking(move || hub.transition_event(&id, status, &b.actor, &b.note)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct DispatchBody {
    #[serde(default)]
    actor: String,
    #[serde(default = "default_hours")]
    deadline_hours: u64,
}

fn default_hours() -> u64 {
    24
}

async fn admin_dispatch(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<DispatchBody>,
) -> ApiResult<Response> {
    authed_admin(&hub, &headers).await?;
    let task = blocking(move || hub.dispatch_event(&id, &b.actor, b.deadline_hours)).await?;
    Ok((StatusCode::CREATED, Json(json!({"task_id": task}))).into_response())
}

#[derive(Deserialize)]
struct TaskBody {
    grid: String,
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default = "default_hours")]
    deadline_hours: u64,
    assignee: Option<String>,
}

async fn admin_create_task(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    Json(b): Json<TaskBody>,
) -> ApiResult<Response> {
    authed_admin(&hub, &headers).await?;
    let id = blocking(move || {
        hub.create_task(
            &b.grid,
            &b.title,
            &b.body,
            b.deadline_hours,
            None,
            b.assignee.as_deref(),
        )
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"task_id": id}))).into_response())
}

#[derive(Deserialize)]
struct CodeBody {
    user: String,
    #[serde(default)]
    label: String,
    grids: Vec<String>,
    #[serde(default = "default_ttl")]
    ttl_days: u64,
}

fn default_ttl() -> u64 {
    7
}

async fn admin_issue_code(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    Json(b): Json<CodeBody>,
) -> ApiResult<Response> {
    authed_admin(&hub, &headers).await?;
    let code = blocking(move || hub.issue_code(&b.user, &b.label, &b.grids, b.ttl_days)).await?;
    Ok((StatusCode::CREATED, Json(json!({"code": code}))).into_response())
}

#[derive(Deserialize)]
struct NoticeBody {
    title: String,
    body: String,
}

async fn admin_notice(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    Json(b): Json<NoticeBody>,
) -> ApiResult<Response> {
    authed_admin(&hub, &headers).await?;
    let id = blocking(move || hub.create_notice(&b.title, &b.body)).await?;
    Ok((StatusCode::CREATED, Json(json!({"notice_id": id}))).into_response())
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

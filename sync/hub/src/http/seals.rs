//! `POST /v1/seals`: a device's sealed records (JSON), and the photo routes mounted behind
//! the device check.

use super::extract::{blocking, ActiveDevice};
use crate::evidence::SealsRequest;
use crate::hub::{Hub, HubError};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gridpad_evidence::AuthedDevice;
use std::sync::Arc;

pub async fn seals(
    State(hub): State<Arc<Hub>>,
    ActiveDevice(device): ActiveDevice,
    Json(req): Json<SealsRequest>,
) -> Result<Response, HubError> {
    let resp = blocking(move || hub.receive_seals(&device.device_id, &req)).await?;
    Ok(Json(resp).into_response())
}

/// The photo routes' authentication: the session of an active device becomes the
/// [`AuthedDevice`] the blob handlers read. Administrators' tokens cannot move photos.
pub async fn device_auth(
    State(hub): State<Arc<Hub>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::extract::FromRequestParts;
    let (mut parts, body) = req.into_parts();
    match ActiveDevice::from_request_parts(&mut parts, &hub).await {
        Ok(ActiveDevice(d)) => {
            parts.extensions.insert(AuthedDevice(d.device_id));
            next.run(axum::extract::Request::from_parts(parts, body))
                .await
        }
        Err(e) => e.into_response(),
    }
}

//! `POST /v1/seals`: a device's sealed records (JSON).

use super::extract::{blocking, ActiveDevice};
use crate::hub::{Hub, HubError};
use crate::seals_and_photo_access::SealsRequest;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

pub async fn seals(
    State(hub): State<Arc<Hub>>,
    ActiveDevice(device): ActiveDevice,
    Json(req): Json<SealsRequest>,
) -> Result<Response, HubError> {
    let resp = blocking(move || hub.receive_seals(&device.device_id, &req)).await?;
    Ok(Json(resp).into_response())
}

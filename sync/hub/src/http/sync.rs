//! `POST /v1/sync`: one exchange (compressed CBOR).

use super::extract::{blocking, DeviceAuth};
use super::{cbor, decode};
use crate::hub::{Hub, HubError};
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use gridpad_proto::wire;
use std::sync::Arc;

pub async fn sync(
    State(hub): State<Arc<Hub>>,
    DeviceAuth(device): DeviceAuth,
    body: Bytes,
) -> Result<Response, HubError> {
    let req: wire::SyncRequest = decode(&body)?;
    Ok(cbor(
        &blocking(move || hub.sync(&device.device_id, &req)).await?,
    ))
}

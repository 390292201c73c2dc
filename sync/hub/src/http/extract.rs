//! Typed authentication: one extractor per kind of principal, used by every route. A
//! handler that takes [`AdminAuth`] cannot be reached with a device token, one that takes
//! [`ActiveDevice`] not with an administrator's token nor by a locked or wiped device.

use crate::hub::{Hub, HubError};
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use gridhub_store::{DeviceRecord, DeviceStatus};
use std::sync::Arc;

/// A router state that holds the hub.
pub trait HubState: Send + Sync {
    fn hub(&self) -> &Arc<Hub>;
}

impl HubState for Arc<Hub> {
    fn hub(&self) -> &Arc<Hub> {
        self
    }
}

fn bearer(parts: &Parts) -> Result<String, HubError> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
        .ok_or_else(|| HubError::Unauthorized("missing bearer token".into()))
}

/// Run blocking storage work off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, HubError> + Send + 'static,
) -> Result<T, HubError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| HubError::Store(gridhub_store::StoreError::Backend(e.to_string())))?
}

/// A device session, whatever the device's status (only the exchange takes it: a locked
/// or wiped device learns there what to do, and nothing else).
pub struct DeviceAuth(pub DeviceRecord);

/// A device session of an active device.
pub struct ActiveDevice(pub DeviceRecord);

/// The hub's administrator.
pub struct AdminAuth(pub String);

impl<S: HubState> FromRequestParts<S> for DeviceAuth {
    type Rejection = HubError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        let hub = state.hub().clone();
        blocking(move || hub.device_session(&token))
            .await
            .map(DeviceAuth)
    }
}

impl<S: HubState> FromRequestParts<S> for ActiveDevice {
    type Rejection = HubError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let DeviceAuth(d) = DeviceAuth::from_request_parts(parts, state).await?;
        match d.status {
            DeviceStatus::Active => Ok(ActiveDevice(d)),
            s => Err(HubError::Forbidden(format!(
                "this device is {}",
                s.as_str()
            ))),
        }
    }
}

impl<S: HubState> FromRequestParts<S> for AdminAuth {
    type Rejection = HubError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        let hub = state.hub().clone();
        blocking(move || hub.admin_session(&token))
            .await
            .map(AdminAuth)
    }
}

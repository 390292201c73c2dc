//! Typed authentication: one extractor per kind of principal, used by every route. A
//! handler that takes [`AdminAuth`] cannot be reached with a device token, one that takes
//! [`ActiveDevice`] not with an administrator's token nor by a locked or wiped device.

use crate::authz::Principal;
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

/// A JSON body, read after the caller's rights were checked (so a forbidden caller hears
/// "forbidden", not what was wrong with its body).
pub fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, HubError> {
    serde_json::from_slice(body).map_err(|e| HubError::BadRequest(format!("the body: {e}")))
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

/// The hub's administrator (its bootstrap token): fleet-wide things no account owns.
pub struct AdminAuth(pub String);

/// A person of the centre: a console session (cookie; a change also needs the session's
/// CSRF token in the `X-CSRF-Token` header), an account's API token, or the
/// administrator's token. Routes then ask it for the action and filter by its area.
pub struct CentreAuth(pub Principal);

/// The console session's cookie.
pub const SESSION_COOKIE: &str = "gridhub_session";

/// The client's address (for the audit log).
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(address(parts)))
    }
}

/// The client's address as the connection says.
fn address(parts: &Parts) -> String {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default()
}

/// The session cookie's value, if the request carries one.
pub fn session_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_string())
}

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

impl<S: HubState> FromRequestParts<S> for CentreAuth {
    type Rejection = HubError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let hub = state.hub().clone();
        let addr = address(parts);
        if parts.headers.contains_key(header::AUTHORIZATION) {
            let token = bearer(parts)?;
            return blocking(move || hub.centre_principal(&token, &addr))
                .await
                .map(CentreAuth);
        }
        let Some(token) = session_cookie(&parts.headers) else {
            return Err(HubError::Unauthorized("please sign in".into()));
        };
        let (p, csrf) = blocking(move || hub.session_principal(&token, &addr)).await?;
        let safe = matches!(
            parts.method,
            axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
        );
        if !safe {
            let given = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if given.len() != csrf.len()
                || given
                    .bytes()
                    .zip(csrf.bytes())
                    .fold(0u8, |a, (x, y)| a | (x ^ y))
                    != 0
            {
                return Err(HubError::Forbidden(
                    "this form is stale or came from elsewhere (CSRF); reload the page".into(),
                ));
            }
        }
        Ok(CentreAuth(p))
    }
}

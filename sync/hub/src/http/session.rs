//! Console sessions: `POST /v1/session` signs in (username, password, one-time code) and
//! sets the session cookie (Secure when served over TLS, HttpOnly, SameSite=Strict);
//! `GET /v1/session` tells who is signed in and the CSRF token to echo on changes;
//! `DELETE /v1/session` signs out; `POST /v1/session/password` changes one's own password.

use super::extract::{blocking, json_body, session_cookie, CentreAuth, ClientAddr, SESSION_COOKIE};
use crate::accounts::{AccountView, LoggedIn, SESSION_MAX_MS};
use crate::hub::{Hub, HubError};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Deserialize)]
pub struct Login {
    username: String,
    password: String,
    #[serde(default)]
    totp: Option<String>,
}

pub(crate) fn cookie(value: &str, max_age_s: u64, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Whether the console is reached over TLS (directly, or behind a proxy that says so).
pub(crate) fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
        || headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|h| {
                !(h.starts_with("127.") || h.starts_with("localhost") || h.starts_with("[::1]"))
            })
}

pub async fn login(
    State(hub): State<Arc<Hub>>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HubError> {
    let b: Login = json_body(&body)?;
    let l: LoggedIn =
        blocking(move || hub.login(&b.username, &b.password, b.totp.as_deref(), &address)).await?;
    let c = cookie(&l.token, SESSION_MAX_MS / 1000, over_tls(&headers));
    Ok(([(header::SET_COOKIE, c)], Json(l)).into_response())
}

#[derive(Serialize)]
pub struct Me {
    pub account: Option<AccountView>,
    pub username: String,
    pub role: String,
    pub node_id: String,
    pub csrf: String,
}

pub async fn me(
    State(hub): State<Arc<Hub>>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
) -> Result<Response, HubError> {
    let token =
        session_cookie(&headers).ok_or_else(|| HubError::Unauthorized("please sign in".into()))?;
    let (p, csrf) = blocking(move || hub.session_principal(&token, &addr)).await?;
    Ok(Json(Me {
        account: None,
        username: p.actor.name,
        role: p.actor.role,
        node_id: p.actor.node_id,
        csrf,
    })
    .into_response())
}

pub async fn logout(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    headers: HeaderMap,
) -> Result<Response, HubError> {
    let token = session_cookie(&headers).unwrap_or_default();
    blocking(move || hub.logout(&token, &who.actor)).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, cookie("", 0, over_tls(&headers)))],
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct PasswordChange {
    current: String,
    new: String,
}

pub async fn change_password(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    body: Bytes,
) -> Result<Response, HubError> {
    let b: PasswordChange = json_body(&body)?;
    blocking(move || {
        // The current password again, so a session left open cannot change it.
        hub.login(&who.actor.name, &b.current, None, &who.actor.address)
            .map_err(|_| HubError::Forbidden("the current password is not right".into()))?;
        hub.set_password(&who, &who.actor.name, &b.new)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

//! Accounts over HTTP: `GET/POST /v1/admin/accounts`, `POST
//! /v1/admin/accounts/{username}/password|disabled|totp|tokens`, `DELETE
//! /v1/admin/tokens/{id}`. A token or a TOTP secret is in the answer once.

use super::extract::{blocking, json_body, CentreAuth};
use crate::accounts::NewAccount;
use crate::authz::{Action, Principal};
use crate::hub::{Hub, HubError};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

type Reply = Result<Response, HubError>;

/// One's own account, or one the principal may manage.
fn own_or_manage(who: &Principal, username: &str) -> Result<(), HubError> {
    if who.role.is_some() && who.actor.name == username {
        Ok(())
    } else {
        who.require(Action::AccountsWrite)
    }
}

pub async fn list(State(hub): State<Arc<Hub>>, CentreAuth(who): CentreAuth) -> Reply {
    Ok(Json(blocking(move || hub.accounts(&who)).await?).into_response())
}

pub async fn create(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    body: Bytes,
) -> Reply {
    who.require(Action::AccountsWrite)?;
    let n: NewAccount = json_body(&body)?;
    let a = blocking(move || hub.create_account(&who, &n)).await?;
    Ok((StatusCode::CREATED, Json(a)).into_response())
}

#[derive(Deserialize)]
pub struct Password {
    password: String,
}

pub async fn password(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    Path(username): Path<String>,
    body: Bytes,
) -> Reply {
    own_or_manage(&who, &username)?;
    let b: Password = json_body(&body)?;
    blocking(move || hub.set_password(&who, &username, &b.password)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
pub struct Disabled {
    disabled: bool,
}

pub async fn disabled(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    Path(username): Path<String>,
    body: Bytes,
) -> Reply {
    who.require(Action::AccountsWrite)?;
    let b: Disabled = json_body(&body)?;
    blocking(move || hub.set_account_disabled(&who, &username, b.disabled)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Serialize)]
pub struct TotpSecret {
    /// Base32, for an authenticator app (shown once).
    pub secret: String,
    pub otpauth: String,
}

pub async fn totp(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    Path(username): Path<String>,
) -> Reply {
    own_or_manage(&who, &username)?;
    let u = username.clone();
    let secret = blocking(move || hub.enable_totp(&who, &u)).await?;
    let otpauth = format!("otpauth://totp/gridhub:{username}?secret={secret}&issuer=gridhub");
    Ok((StatusCode::CREATED, Json(TotpSecret { secret, otpauth })).into_response())
}

#[derive(Deserialize)]
pub struct NewToken {
    #[serde(default)]
    label: String,
    scopes: Vec<String>,
    #[serde(default = "thirty")]
    days: u64,
}

fn thirty() -> u64 {
    30
}

#[derive(Serialize)]
pub struct TokenCreated {
    pub id: String,
    /// The bearer token (shown once).
    pub token: String,
    pub scopes: Vec<String>,
    pub expires_ms: u64,
}

pub async fn create_token(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    Path(username): Path<String>,
    body: Bytes,
) -> Reply {
    own_or_manage(&who, &username)?;
    let b: NewToken = json_body(&body)?;
    let (token, t) =
        blocking(move || hub.create_api_token(&who, &username, &b.label, &b.scopes, b.days))
            .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated {
            id: t.id,
            token,
            scopes: t.scopes,
            expires_ms: t.expires_ms,
        }),
    )
        .into_response())
}

pub async fn revoke_token(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    Path(id): Path<String>,
) -> Reply {
    blocking(move || hub.revoke_api_token(&who, &id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

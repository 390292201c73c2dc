//! Enrollment and the device's login: `POST /v1/enroll`, `/v1/auth/challenge`,
//! `/v1/auth/token` (compressed CBOR, no token needed).

use super::extract::blocking;
use super::{cbor, decode};
use crate::hub::{Hub, HubError};
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use gridpad_proto::wire;
use std::sync::Arc;

pub async fn enroll(State(hub): State<Arc<Hub>>, body: Bytes) -> Result<Response, HubError> {
    let req: wire::EnrollRequest = decode(&body)?;
    Ok(cbor(&blocking(move || hub.enroll(&req)).await?))
}

pub async fn challenge(State(hub): State<Arc<Hub>>, body: Bytes) -> Result<Response, HubError> {
    let req: wire::ChallengeRequest = decode(&body)?;
    Ok(cbor(&blocking(move || hub.challenge(&req)).await?))
}

pub async fn token(State(hub): State<Arc<Hub>>, body: Bytes) -> Result<Response, HubError> {
    let req: wire::TokenRequest = decode(&body)?;
    Ok(cbor(&blocking(move || hub.token(&req)).await?))
}

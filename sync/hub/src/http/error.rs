//! The one mapping of [`HubError`] to an HTTP answer: RFC 9457 problem documents
//! (`application/problem+json`), a 409 with the expected sequence number for a gap.
//! Storage failures are logged and answered 503 without their details.

use crate::hub::HubError;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use gridpad_evidence::blob::CHECKSUM_MISMATCH;
use gridpad_proto::wire::{Problem, SeqGap};

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        let (status, title) = match &self {
            HubError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad request"),
            HubError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            HubError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            HubError::NotFound(_) => (StatusCode::NOT_FOUND, "not found"),
            HubError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            HubError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too large"),
            HubError::DigestMismatch => (
                StatusCode::from_u16(CHECKSUM_MISMATCH).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
                "checksum mismatch",
            ),
            HubError::SeqGap { expected, offered } => {
                let body = serde_json::to_vec(&SeqGap {
                    expected_seq: *expected,
                    restored: offered.is_some_and(|o| o > *expected),
                    offered_seq: *offered,
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
        let detail = match &self {
            HubError::Store(_) => None, // internals stay in the log
            e => Some(e.to_string()),
        };
        problem(status, title, detail)
    }
}

/// An RFC 9457 problem answer (`application/problem+json`), as every hub route gives.
pub fn problem(status: StatusCode, title: &str, detail: Option<String>) -> Response {
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

//! The one mapping of [`HubError`] to an HTTP answer: RFC 9457 problem documents
//! (`application/problem+json`), a 409 with the expected sequence number for a gap.
//! Storage failures are logged and answered 503 without their details.

use crate::hub::HubError;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use gridpad_evidence::blob::CHECKSUM_MISMATCH;
use gridpad_proto::wire::{ProblemDetails, SeqGap};

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        let (status, title) = match &self {
            HubError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad request"),
            HubError::Unauthorized(_) | HubError::SecondFactorNeeded => {
                (StatusCode::UNAUTHORIZED, "unauthorized")
            }
            HubError::Forbidden(_) | HubError::Locked { .. } => {
                (StatusCode::FORBIDDEN, "forbidden")
            }
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
    let body = serde_json::to_vec(&ProblemDetails {
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

/// Every error the hub answers is a problem document, also those written by the HTTP stack
/// itself (a body over the limit, an unreadable body, an unknown route, a wrong method) —
/// but the console's own error pages (HTML) stay pages:
/// a plain-text or empty error answer becomes `application/problem+json` with the text as
/// its detail; its other headers (`Upload-Offset` …) are kept. Applied to every connection
/// by [`crate::conn::serve`].
pub async fn plain_errors_as_problems(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let r = next.run(req).await;
    let status = r.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return r;
    }
    let json = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json") || ct.starts_with("text/html"));
    if json {
        return r;
    }
    let (parts, body) = r.into_parts();
    let bytes = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text: String = String::from_utf8_lossy(&bytes).chars().take(500).collect();
    let title = status.canonical_reason().unwrap_or("error").to_lowercase();
    let detail = if text.trim().is_empty() {
        title.clone()
    } else {
        text.trim().to_string()
    };
    let mut out = problem(status, &title, Some(detail));
    for (k, v) in parts.headers.iter() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        // The rest of the body was not read: the connection cannot carry another request,
        // and the client must know not to reuse it.
        out.headers_mut().insert(
            header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    out
}

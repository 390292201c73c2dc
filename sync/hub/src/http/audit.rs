//! The audit log over HTTP (auditors): `GET /v1/admin/audit` (JSON, or CSV with
//! `format=csv`; filters `since`, `until` (ms), `actor`, `action` (prefix), `target`,
//! `limit`), `GET /v1/admin/audit/verify` (the whole chain checked).

use super::extract::{blocking, CentreAuth};
use crate::audit::AuditQuery;
use crate::authz::Action;
use crate::hub::{Hub, HubError};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;

type Reply = Result<Response, HubError>;

#[derive(Deserialize)]
pub struct Q {
    since: Option<u64>,
    until: Option<u64>,
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    limit: Option<usize>,
    format: Option<String>,
}

pub async fn list(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    Query(q): Query<Q>,
) -> Reply {
    who.require(Action::AuditRead)?;
    let query = AuditQuery {
        since_ms: q.since,
        until_ms: q.until,
        actor: q.actor,
        action: q.action,
        target: q.target,
        limit: q.limit.unwrap_or(1_000),
    };
    let csv = q.format.as_deref() == Some("csv");
    let lines = blocking(move || hub.audit_log(&query)).await?;
    if csv {
        let text = crate::audit::to_csv(&lines)?;
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"gridhub-audit.csv\"",
                ),
            ],
            text,
        )
            .into_response());
    }
    Ok(Json(lines).into_response())
}

pub async fn verify(State(hub): State<Arc<Hub>>, CentreAuth(who): CentreAuth) -> Reply {
    who.require(Action::AuditRead)?;
    let r = blocking(move || hub.verify_audit()).await?;
    Ok(Json(match r {
        Ok(lines) => serde_json::json!({"intact": true, "lines": lines}),
        Err(b) => serde_json::json!({"intact": false, "broken_at": b.seq, "what": b.what}),
    })
    .into_response())
}

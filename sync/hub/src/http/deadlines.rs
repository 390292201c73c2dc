//! Deadlines over HTTP: `PUT /v1/admin/calendar/{year}` imports (or replaces) a year of the
//! working-time calendar (`{"text": "<the year's file>"}`, the year in the path must be
//! the file's); `GET /v1/session/reminders` lists the 督办 reminders addressed to the
//! signed-in account, newest first.

use super::extract::{blocking, json_body, CentreAuth};
use crate::authz::Action;
use crate::hub::{Hub, HubError};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;

type Reply = Result<Response, HubError>;

#[derive(Deserialize)]
pub struct CalendarBody {
    text: String,
}

pub async fn put_calendar(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    Path(year): Path<i32>,
    body: Bytes,
) -> Reply {
    who.require(Action::CatalogWrite)?;
    let b: CalendarBody = json_body(&body)?;
    let parsed = gridpad_domain::worktime::YearCalendar::parse(&b.text)
        .map_err(|e| HubError::BadRequest(e.to_string()))?;
    if parsed.year != year {
        return Err(HubError::BadRequest(format!(
            "the file is the calendar of {}, not of {year}",
            parsed.year
        )));
    }
    blocking(move || hub.import_calendar_year(&who, &b.text)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn reminders(State(hub): State<Arc<Hub>>, CentreAuth(who): CentreAuth) -> Reply {
    Ok(Json(blocking(move || hub.reminders(&who, 200)).await?).into_response())
}

//! An event across levels and departments, for scripts and other platforms (a 12345
//! hotline's, a city's): 上报上级, 退回下级, 派遣至部门 by a dispatcher of the holding
//! level (`events.handle`), and a department's 签收, 处置完毕 and 退回
//! (`events.department`). The same steps as the console's, through the same checks
//! ([`crate::handling`]); `expected_version` makes a step conditional as a form is.

use super::extract::{blocking, json_body, CentreAuth};
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

/// Where a hop took the event.
#[derive(Debug, Serialize, Deserialize)]
pub struct HopMade {
    /// The level's or the department's name.
    pub to: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    reason: String,
    #[serde(default)]
    expected_version: Option<String>,
}

/// 上报上级: `{reason}` → `{to}` (the level above).
pub async fn escalate(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    hop_with_reason(hub, who, id, body, Hub::escalate_event).await
}

/// 退回下级: `{reason}` → `{to}` (the level that sent it up).
pub async fn send_back(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    hop_with_reason(hub, who, id, body, Hub::send_back_event).await
}

/// A dispatcher's hop with a reason: [`Hub::escalate_event`], [`Hub::send_back_event`].
type ReasonHop = fn(&Hub, &Principal, &str, &str, Option<&str>) -> Result<String, HubError>;

/// A dispatcher's hop that takes a reason and answers where the event went.
async fn hop_with_reason(
    hub: Arc<Hub>,
    who: Principal,
    id: String,
    body: Bytes,
    hop: ReasonHop,
) -> Reply {
    who.require(Action::EventsHandle)?;
    let b: ReasonBody = json_body(&body)?;
    let to =
        blocking(move || hop(&hub, &who, &id, &b.reason, b.expected_version.as_deref())).await?;
    Ok(Json(HopMade { to }).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentBody {
    department: String,
    #[serde(default)]
    note: String,
    deadline_hours: Option<u64>,
    deadline_working_hours: Option<u64>,
    deadline_working_days: Option<u64>,
    #[serde(default)]
    expected_version: Option<String>,
}

/// 派遣至部门: `{department, note?, deadline_*?}` → `{to}` (the department).
pub async fn dispatch_department(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    who.require(Action::EventsHandle)?;
    let b: DepartmentBody = json_body(&body)?;
    let deadline = crate::deadlines::given_deadline(
        b.deadline_hours,
        b.deadline_working_hours,
        b.deadline_working_days,
    )?;
    let to = blocking(move || {
        hub.dispatch_to_department(
            &who,
            &id,
            &b.department,
            deadline,
            &b.note,
            b.expected_version.as_deref(),
        )
    })
    .await?;
    Ok((StatusCode::CREATED, Json(HopMade { to })).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum DepartmentAct {
    Sign,
    Handled,
    Return,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentActBody {
    action: DepartmentAct,
    /// The feedback (handled) or the reason (return).
    #[serde(default)]
    text: String,
    #[serde(default)]
    expected_version: Option<String>,
}

/// The department's step: `{action: sign|handled|return, text?}` → 204.
pub async fn department(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    who.require(Action::DepartmentHandle)?;
    let b: DepartmentActBody = json_body(&body)?;
    blocking(move || {
        let v = b.expected_version.as_deref();
        match b.action {
            DepartmentAct::Sign => hub.department_sign(&who, &id, v),
            DepartmentAct::Handled => hub.department_handle(&who, &id, &b.text, v),
            DepartmentAct::Return => hub.department_return(&who, &id, &b.text, v),
        }
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

//! The administrator's API (`/v1/admin/*`, JSON, an administrator's bearer token): devices,
//! events, tasks, enrollment codes, notices. Replies are typed; `openapi.json` describes
//! them and a test holds the two together.

use super::extract::{blocking, json_body, CentreAuth};
use crate::authz::Action;
use crate::centre::DeviceHealth;
use crate::devices::Holder;
use crate::hub::{Hub, HubError};
use crate::seals_and_photo_access::EventView;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gridpad_domain::codes::EventStatus;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

type Reply = Result<Response, HubError>;

#[derive(Deserialize)]
pub struct Limit {
    limit: Option<usize>,
}

/// A task as the admin list shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TaskView {
    pub id: String,
    pub scope: String,
    pub fields: gridpad_proto::Fields,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TaskCreated {
    pub task_id: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CodeIssued {
    pub code: String,
    /// When the code stops working (ms since the epoch).
    pub expires_ms: u64,
    /// The holder's name, as the device will show it.
    pub user: String,
    /// The grids' ids.
    pub grids: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NoticeCreated {
    pub notice_id: String,
}

pub async fn devices(State(hub): State<Arc<Hub>>, CentreAuth(who): CentreAuth) -> Reply {
    let list: Vec<DeviceHealth> = blocking(move || hub.device_health(&who)).await?;
    Ok(Json(list).into_response())
}

#[derive(Deserialize)]
pub struct StatusBody {
    status: String,
}

pub async fn device_status(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    who.require(Action::DevicesManage)?;
    let b: StatusBody = json_body(&body)?;
    blocking(move || hub.set_device_status(&who, &id, &b.status)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn events(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    Query(q): Query<Limit>,
) -> Reply {
    let rows: Vec<EventView> =
        blocking(move || hub.events_with_evidence(&who, q.limit.unwrap_or(100))).await?;
    Ok(Json(rows).into_response())
}

pub async fn tasks(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    Query(q): Query<Limit>,
) -> Reply {
    let rows = blocking(move || hub.tasks(&who, q.limit.unwrap_or(100))).await?;
    let out: Vec<TaskView> = rows
        .into_iter()
        .map(|r| TaskView {
            id: r.row_id,
            scope: r.scope.to_string(),
            fields: r.fields,
        })
        .collect();
    Ok(Json(out).into_response())
}

#[derive(Deserialize)]
pub struct TransitionBody {
    status: String,
    #[serde(default)]
    note: String,
}

pub async fn transition(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    who.require(Action::EventsHandle)?;
    let b: TransitionBody = json_body(&body)?;
    let status = EventStatus::parse(&b.status)
        .ok_or_else(|| HubError::BadRequest(format!("unknown status {:.20}", b.status)))?;
    blocking(move || hub.transition_event(&who, &id, status, &b.note)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn default_hours() -> u64 {
    24
}

/// A dispatch's deadline, in at most one unit; none: the catalog's for the event's 小类.
#[derive(Deserialize)]
pub struct DispatchBody {
    deadline_hours: Option<u64>,
    deadline_working_hours: Option<u64>,
    deadline_working_days: Option<u64>,
}

pub async fn dispatch(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    who.require(Action::EventsHandle)?;
    let b: DispatchBody = json_body(&body)?;
    let deadline = crate::deadlines::given_deadline(
        b.deadline_hours,
        b.deadline_working_hours,
        b.deadline_working_days,
    )?;
    let task_id = blocking(move || hub.dispatch_event(&who, &id, deadline)).await?;
    Ok((StatusCode::CREATED, Json(TaskCreated { task_id })).into_response())
}

#[derive(Deserialize)]
pub struct TaskBody {
    grid: String,
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default = "default_hours")]
    deadline_hours: u64,
    assignee: Option<String>,
}

pub async fn create_task(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    body: Bytes,
) -> Reply {
    who.require(Action::TasksWrite)?;
    let b: TaskBody = json_body(&body)?;
    let task_id = blocking(move || {
        hub.create_task(
            &who,
            &crate::centre::NewTask {
                grid: &b.grid,
                title: &b.title,
                body: &b.body,
                deadline: Some(gridpad_domain::worktime::Deadline::hours(
                    u32::try_from(b.deadline_hours).unwrap_or(u32::MAX),
                )),
                source_event: None,
                assignee: b.assignee.as_deref(),
            },
        )
    })
    .await?;
    Ok((StatusCode::CREATED, Json(TaskCreated { task_id })).into_response())
}

fn default_ttl() -> u64 {
    7
}

#[derive(Deserialize)]
pub struct CodeBody {
    /// A field staff account (its grids come from its node) …
    #[serde(default)]
    account: Option<String>,
    /// … or a name and grids.
    #[serde(default)]
    user: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    grids: Vec<String>,
    #[serde(default = "default_ttl")]
    ttl_days: u64,
}

pub async fn issue_code(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    body: Bytes,
) -> Reply {
    who.require(Action::CodesIssue)?;
    let b: CodeBody = json_body(&body)?;
    let issued = blocking(move || {
        let holder = match &b.account {
            Some(a) => Holder::Account(a),
            None => Holder::Named {
                user: &b.user,
                grids: &b.grids,
            },
        };
        hub.enrollment_code(&who, holder, &b.label, b.ttl_days)
    })
    .await?;
    let answer = CodeIssued {
        code: issued.code,
        expires_ms: issued.expires_ms,
        user: issued.user,
        grids: issued.grids,
    };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

#[derive(Deserialize)]
pub struct NoticeBody {
    title: String,
    body: String,
    /// Only the devices under this node (id or code) of the caller's area.
    #[serde(default)]
    node: Option<String>,
    /// Only the devices of this role there (`field_staff`).
    #[serde(default)]
    role: Option<String>,
}

pub async fn notice(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    body: Bytes,
) -> Reply {
    who.require(Action::NoticesWrite)?;
    let b: NoticeBody = json_body(&body)?;
    let role = match b.role.as_deref() {
        Some(r) => Some(
            gridhub_store::Role::parse(r)
                .ok_or_else(|| HubError::BadRequest(format!("unknown role {r:.32}")))?,
        ),
        None => None,
    };
    let notice_id = blocking(move || {
        hub.publish_notice(
            &who,
            &crate::notices::NewNotice {
                title: &b.title,
                body: &b.body,
                node: b.node.as_deref(),
                role,
            },
        )
    })
    .await?;
    Ok((StatusCode::CREATED, Json(NoticeCreated { notice_id })).into_response())
}

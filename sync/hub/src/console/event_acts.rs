//! The event page's actions: the forms an account's standing allows in the event's state,
//! and their handler. A dispatcher of the holding level accepts, rejects, dispatches (to
//! the grid as a task, or to a department), escalates (上报上级), sends back down
//! (退回下级), verifies, returns for rework, closes and notes; a handler of the department
//! that holds it signs for it, handles it or returns it (see [`crate::handling`]). Each
//! form carries the event's version: a stale form, a second click or another account's
//! step in between is refused with a message and changes nothing.

use super::event::{render, Loaded};
use super::queue::text;
use super::{Ctx, Failure, Kind, St};
use crate::authz::Principal;
use crate::centre::event_version;
use crate::handling::{Holding, Standing};
use crate::http::extract::blocking;
use crate::hub::{Hub, HubError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gridhub_store::{Department, Row};
use gridpad_domain::codes::EventStatus;
use gridpad_domain::worktime::Deadline;
use maud::{html, Markup};

/// What a centre account can do to an event, and the step it makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    Accept,
    Reject,
    Dispatch,
    DispatchDepartment,
    Escalate,
    SendBack,
    Verify,
    Return,
    Close,
    Note,
    DepartmentSign,
    DepartmentHandle,
    DepartmentReturn,
}

impl Act {
    const ALL: [Act; 13] = [
        Act::Accept,
        Act::Reject,
        Act::Dispatch,
        Act::DispatchDepartment,
        Act::Escalate,
        Act::SendBack,
        Act::Verify,
        Act::Return,
        Act::Close,
        Act::Note,
        Act::DepartmentSign,
        Act::DepartmentHandle,
        Act::DepartmentReturn,
    ];

    fn code(self) -> &'static str {
        match self {
            Act::Accept => "accept",
            Act::Reject => "reject",
            Act::Dispatch => "dispatch",
            Act::DispatchDepartment => "dispatch_department",
            Act::Escalate => "escalate",
            Act::SendBack => "send_back",
            Act::Verify => "verify",
            Act::Return => "return",
            Act::Close => "close",
            Act::Note => "note",
            Act::DepartmentSign => "department_sign",
            Act::DepartmentHandle => "department_handle",
            Act::DepartmentReturn => "department_return",
        }
    }

    fn parse(s: &str) -> Option<Act> {
        Act::ALL.into_iter().find(|a| a.code() == s)
    }

    /// The status a simple step moves to (the others go through [`crate::handling`]).
    fn next(self) -> Option<EventStatus> {
        Some(match self {
            Act::Accept => EventStatus::Accepted,
            Act::Reject => EventStatus::Rejected,
            Act::Verify => EventStatus::Verified,
            Act::Close => EventStatus::Closed,
            _ => return None,
        })
    }

    /// Whether the account may take it in the event's state (its standing, and where the
    /// hops could go).
    fn allowed(self, current: EventStatus, ev: &Acting) -> bool {
        let standing = ev.standing;
        let dispatchable =
            current != EventStatus::Handled && current.can_become(EventStatus::Dispatched);
        match standing {
            Standing::Onlooker => false,
            Standing::Department => {
                matches!(
                    self,
                    Act::DepartmentSign | Act::DepartmentHandle | Act::DepartmentReturn
                ) && current == EventStatus::Dispatched
            }
            Standing::Dispatcher => match self {
                Act::Note => true,
                Act::Dispatch => dispatchable,
                Act::DispatchDepartment => dispatchable && !ev.departments.is_empty(),
                Act::Escalate => {
                    ev.escalate_to.is_some() && current.can_become(EventStatus::Escalated)
                }
                Act::SendBack => current == EventStatus::Escalated && ev.send_back_to.is_some(),
                Act::Return => current == EventStatus::Handled,
                Act::DepartmentSign | Act::DepartmentHandle | Act::DepartmentReturn => false,
                a => a.next().is_some_and(|n| current.can_become(n)),
            },
        }
    }

    /// A reason (or the feedback) is required.
    fn needs_text(self) -> bool {
        matches!(
            self,
            Act::Reject
                | Act::Return
                | Act::Note
                | Act::Escalate
                | Act::SendBack
                | Act::DepartmentHandle
                | Act::DepartmentReturn
        )
    }

    fn label(self, t: &super::i18n::Texts) -> &'static str {
        match self {
            Act::Accept => t.act_accept,
            Act::Reject => t.act_reject,
            Act::Dispatch => t.act_dispatch,
            Act::DispatchDepartment => t.act_dispatch_department,
            Act::Escalate => t.act_escalate,
            Act::SendBack => t.act_send_back,
            Act::Verify => t.act_verify,
            Act::Return => t.act_return,
            Act::Close => t.act_close,
            Act::Note => t.act_note,
            Act::DepartmentSign => t.act_department_sign,
            Act::DepartmentHandle => t.act_department_handle,
            Act::DepartmentReturn => t.act_department_return,
        }
    }

    fn done(self, t: &super::i18n::Texts) -> &'static str {
        match self {
            Act::Accept => t.done_accepted,
            Act::Reject => t.done_rejected,
            Act::Dispatch => t.done_dispatched,
            Act::DispatchDepartment => t.done_dispatched_department,
            Act::Escalate => t.done_escalated,
            Act::SendBack => t.done_sent_back,
            Act::Verify => t.done_verified,
            Act::Return => t.done_returned,
            Act::Close => t.done_closed,
            Act::Note => t.done_noted,
            Act::DepartmentSign => t.done_department_signed,
            Act::DepartmentHandle => t.done_department_handled,
            Act::DepartmentReturn => t.done_department_returned,
        }
    }
}

/// What an account may do to an event as it is held now: its standing, where an
/// escalation would go, where a 退回 would go, the departments it may go to.
pub(super) struct Acting {
    pub(super) standing: Standing,
    pub(super) escalate_to: Option<String>,
    pub(super) send_back_to: Option<String>,
    pub(super) departments: Vec<(Department, bool)>,
}

/// [`Acting`] for `who` and the event `row` with its hops.
pub(super) fn acting(
    hub: &Hub,
    who: &Principal,
    row: &Row,
    holding: &Holding,
) -> Result<Acting, HubError> {
    let standing = holding.standing(who);
    if standing != Standing::Dispatcher {
        return Ok(Acting {
            standing,
            escalate_to: None,
            send_back_to: None,
            departments: vec![],
        });
    }
    let tree = hub.org()?;
    Ok(Acting {
        standing,
        escalate_to: hub.escalation_target(who, row, holding)?.map(|n| n.name),
        send_back_to: holding
            .sent_up_from()
            .and_then(|n| tree.node(n))
            .map(|n| n.name.clone()),
        departments: hub.departments_for_event(who, row)?,
    })
}

pub(super) fn actions(ctx: &Ctx, ev: &Loaded) -> Markup {
    let t = ctx.t();
    let current =
        EventStatus::parse(text(&ev.row.fields, "status")).unwrap_or(EventStatus::Reported);
    let acts: Vec<Act> = Act::ALL
        .into_iter()
        .filter(|a| a.allowed(current, &ev.acting))
        .collect();
    let version = event_version(&ev.row);
    let id = &ev.row.row_id;
    // Empty hours: the catalog's deadline, which the field shows.
    let catalog = match ev.catalog_deadline {
        Some(d) => format!("{} {}", d.amount, t.unit(d.unit)),
        None => t.act_no_catalog_deadline.to_string(),
    };
    let hours = html! {
        label.short { (t.act_deadline_hours) input type="number" name="hours" min="1" max="8784" placeholder=(catalog); }
    };
    let reason = |label: &str| {
        html! { label { (label) textarea name="note" required maxlength="2000" rows="2" {} } }
    };
    let optional =
        html! { label { (t.act_optional_note) input type="text" name="note" maxlength="2000"; } };
    html! {
        @if ev.acting.standing == Standing::Onlooker {
            p.hint #held-elsewhere { (t.ev_held_elsewhere) }
        } @else if acts.iter().all(|a| *a == Act::Note) {
            p.hint { (t.ev_no_actions) }
        }
        @for a in acts {
            form.act method="post" action={"/events/" (id) "/act"} data-act=(a.code()) {
                input type="hidden" name="csrf" value=(ctx.csrf);
                input type="hidden" name="version" value=(version);
                input type="hidden" name="action" value=(a.code());
                @match a {
                    Act::Reject => (reason(t.act_reject_reason)),
                    Act::Return => { (reason(t.act_return_reason)) (hours) },
                    Act::Note => (reason(t.act_note_text)),
                    Act::Dispatch => { (hours) (optional) },
                    Act::DispatchDepartment => {
                        label { (t.act_department)
                            select name="department" required {
                                @for (d, routed) in &ev.acting.departments {
                                    option value=(d.id) selected[*routed] {
                                        (d.name) @if *routed { " · " (t.act_routed) }
                                    }
                                }
                            }
                        }
                        (hours) (optional)
                    },
                    Act::Escalate => {
                        p.hint { (t.act_escalate_to) " " strong #escalate-to { (ev.acting.escalate_to.as_deref().unwrap_or_default()) } }
                        (reason(t.act_escalate_reason))
                    },
                    Act::SendBack => {
                        p.hint { (t.act_send_back_to) " " strong #send-back-to { (ev.acting.send_back_to.as_deref().unwrap_or_default()) } }
                        (reason(t.act_send_back_reason))
                    },
                    Act::DepartmentHandle => (reason(t.act_department_feedback)),
                    Act::DepartmentReturn => (reason(t.act_department_return_reason)),
                    Act::DepartmentSign => {},
                    _ => (optional),
                }
                button type="submit"
                    class=(if matches!(a, Act::Reject | Act::DepartmentReturn) { "danger" } else if a == Act::Note { "" } else { "primary" })
                    id={"act-" (a.code())} { (a.label(t)) }
            }
        }
    }
}

#[derive(serde::Deserialize)]
pub struct ActForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    hours: Option<String>,
    #[serde(default)]
    department: String,
}

pub async fn act(
    State(c): St,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<ActForm>,
) -> Result<Response, Failure> {
    let who = ctx.signed()?.clone();
    ctx.check_csrf(&form.csrf)?;
    let t = ctx.t();
    let a = Act::parse(&form.action).ok_or(ctx.failure(Kind::BadInput))?;
    let note = form.note.trim().to_string();
    let refuse = |m: &'static str, s: StatusCode| (Some((false, m)), s);
    let check = if note.chars().count() > 2_000 {
        Some(refuse(t.err_too_long, StatusCode::BAD_REQUEST))
    } else if note.is_empty() && a == Act::Note {
        Some(refuse(t.err_note_needed, StatusCode::BAD_REQUEST))
    } else if note.is_empty() && a.needs_text() {
        Some(refuse(t.err_reason_needed, StatusCode::BAD_REQUEST))
    } else {
        None
    };
    let hours = match form
        .hours
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty())
    {
        None => None,
        Some(h) => match h.parse::<u32>() {
            Ok(h) if (1..=24 * 366).contains(&h) => Some(Deadline::hours(h)),
            _ => {
                return render(
                    c,
                    ctx,
                    id,
                    Some((false, t.err_bad_hours)),
                    StatusCode::BAD_REQUEST,
                )
                .await
            }
        },
    };
    if let Some((m, s)) = check {
        return render(c, ctx, id, m, s).await;
    }
    let hub = c.hub.clone();
    let (id2, version, department) = (id.clone(), form.version.clone(), form.department);
    let r = blocking(move || {
        let current = hub.event_for(&who, &id2)?;
        let status =
            EventStatus::parse(text(&current.fields, "status")).unwrap_or(EventStatus::Reported);
        if event_version(&current) != version {
            return Err(HubError::Conflict("stale".into()));
        }
        let ev = acting(&hub, &who, &current, &hub.holding(&id2)?)?;
        if !a.allowed(status, &ev) {
            return Err(match ev.standing {
                Standing::Onlooker => HubError::Forbidden("held elsewhere".into()),
                _ => HubError::BadRequest("not allowed".into()),
            });
        }
        let v = Some(version.as_str());
        match a {
            Act::Note => hub.note_event(&who, &id2, &note),
            Act::Dispatch => {
                let n = if note.is_empty() {
                    "派遣至网格处置"
                } else {
                    note.as_str()
                };
                hub.dispatch_event_at(&who, &id2, hours, n, v).map(|_| ())
            }
            Act::Return => hub
                .dispatch_event_at(&who, &id2, hours, &note, v)
                .map(|_| ()),
            Act::DispatchDepartment => hub
                .dispatch_to_department(&who, &id2, &department, hours, &note, v)
                .map(|_| ()),
            Act::Escalate => hub.escalate_event(&who, &id2, &note, v).map(|_| ()),
            Act::SendBack => hub.send_back_event(&who, &id2, &note, v).map(|_| ()),
            Act::DepartmentSign => hub.department_sign(&who, &id2, v),
            Act::DepartmentHandle => hub.department_handle(&who, &id2, &note, v),
            Act::DepartmentReturn => hub.department_return(&who, &id2, &note, v),
            a => {
                let next = a.next().expect("a step");
                hub.transition_event_at(&who, &id2, next, &note, v)
            }
        }
    })
    .await;
    match r {
        Ok(()) => {
            c.flash(&ctx.key, a.done(t));
            Ok(Redirect::to(&format!("/events/{id}")).into_response())
        }
        Err(HubError::Conflict(_)) => {
            render(c, ctx, id, Some((false, t.err_stale)), StatusCode::CONFLICT).await
        }
        Err(HubError::Forbidden(m)) if m.starts_with("held") || m.contains("held by") => {
            render(
                c,
                ctx,
                id,
                Some((false, t.err_held_elsewhere)),
                StatusCode::FORBIDDEN,
            )
            .await
        }
        Err(HubError::BadRequest(m)) => {
            let m = if m.starts_with("no deadline") {
                t.err_no_deadline
            } else if m.contains("calendar has no year") {
                t.err_no_calendar
            } else if m.starts_with("no level above") {
                t.err_no_level_above
            } else {
                t.err_not_allowed
            };
            render(c, ctx, id, Some((false, m)), StatusCode::CONFLICT).await
        }
        Err(e) => Err(ctx.fail(e)),
    }
}

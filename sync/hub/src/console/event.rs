//! The event page: what was reported (description, the category's fields, reporter and
//! device, position, times), its photos with completeness and the seal verdict, its
//! timeline, and the actions the role allows in the event's state — 受理/立案, 不予受理,
//! 派遣, 核查, 结案, 退回, notes — through the hub's own centre transitions. Each form
//! carries the event's version: a stale form, a second click or another dispatcher's
//! step in between is refused with a message and changes nothing.

use super::queue::{catalog, category_name, deadline, text};
use super::{local_time, page as frame, Console, Ctx, Failure, Kind, St};
use crate::authz::Action;
use crate::centre::event_version;
use crate::http::extract::blocking;
use crate::hub::HubError;
use crate::seals_and_photo_access::EventEvidence;
use crate::timeline::Step;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gridhub_store::{with_tx, DeviceRecord, Row};
use gridpad_domain::codes::EventStatus;
use gridpad_domain::worktime::Deadline;
use maud::{html, Markup};
use serde_json::Value;
use std::sync::Arc;

/// What a centre account can do to an event, and the step it makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    Accept,
    Reject,
    Dispatch,
    Verify,
    Return,
    Close,
    Note,
}

impl Act {
    const ALL: [Act; 7] = [
        Act::Accept,
        Act::Reject,
        Act::Dispatch,
        Act::Verify,
        Act::Return,
        Act::Close,
        Act::Note,
    ];

    fn code(self) -> &'static str {
        match self {
            Act::Accept => "accept",
            Act::Reject => "reject",
            Act::Dispatch => "dispatch",
            Act::Verify => "verify",
            Act::Return => "return",
            Act::Close => "close",
            Act::Note => "note",
        }
    }

    fn parse(s: &str) -> Option<Act> {
        Act::ALL.into_iter().find(|a| a.code() == s)
    }

    /// The status the step moves to (none for a note).
    fn next(self) -> Option<EventStatus> {
        Some(match self {
            Act::Accept => EventStatus::Accepted,
            Act::Reject => EventStatus::Rejected,
            Act::Dispatch | Act::Return => EventStatus::Dispatched,
            Act::Verify => EventStatus::Verified,
            Act::Close => EventStatus::Closed,
            Act::Note => return None,
        })
    }

    /// Whether the event's state allows it (a return needs a handled event).
    fn allowed_from(self, current: EventStatus) -> bool {
        match self {
            Act::Note => true,
            Act::Return => current == EventStatus::Handled,
            Act::Dispatch => {
                current != EventStatus::Handled && current.can_become(EventStatus::Dispatched)
            }
            a => a.next().is_some_and(|n| current.can_become(n)),
        }
    }

    fn label(self, t: &super::i18n::Texts) -> &'static str {
        match self {
            Act::Accept => t.act_accept,
            Act::Reject => t.act_reject,
            Act::Dispatch => t.act_dispatch,
            Act::Verify => t.act_verify,
            Act::Return => t.act_return,
            Act::Close => t.act_close,
            Act::Note => t.act_note,
        }
    }

    fn done(self, t: &super::i18n::Texts) -> &'static str {
        match self {
            Act::Accept => t.done_accepted,
            Act::Reject => t.done_rejected,
            Act::Dispatch => t.done_dispatched,
            Act::Verify => t.done_verified,
            Act::Return => t.done_returned,
            Act::Close => t.done_closed,
            Act::Note => t.done_noted,
        }
    }
}

/// What the page shows of one event.
struct Loaded {
    row: Row,
    evidence: EventEvidence,
    steps: Vec<Step>,
    device: Option<DeviceRecord>,
    category: String,
    fields: Vec<(String, String)>,
    grid: String,
    deadline: Option<(String, &'static str)>,
    /// The catalog's deadline for its 小类 (what a dispatch without hours gives).
    catalog_deadline: Option<Deadline>,
    /// Per photo: whether the hub holds it.
    held: Vec<bool>,
}

fn load(c: &Console, who: &crate::authz::Principal, id: &str) -> Result<Loaded, HubError> {
    let hub = &c.hub;
    let row = hub.event_for(who, id)?;
    let evidence = hub.event_evidence(&row)?;
    let steps = hub.event_timeline(&row)?;
    let device = match &row.origin {
        Some(d) => with_tx(hub.store(), |tx| tx.device(d))?,
        None => None,
    };
    let cat = catalog(hub)?;
    let code = text(&row.fields, "category_code");
    let values = row.fields.get("fields").cloned().unwrap_or(Value::Null);
    let values = match values {
        Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::Null),
        v => v,
    };
    let fields = cat
        .get(code)
        .map(|c| {
            c.fields
                .iter()
                .map(|f| {
                    let v = match values.get(&f.key) {
                        Some(Value::String(s)) => s.clone(),
                        Some(Value::Null) | None => String::new(),
                        Some(v) => v.to_string(),
                    };
                    (f.label.clone(), v)
                })
                .collect()
        })
        .unwrap_or_default();
    let tree = hub.org()?;
    let grid = tree
        .node(text(&row.fields, "grid_id"))
        .map(|n| n.name.clone())
        .unwrap_or_default();
    let deadline = deadline(&row, &cat, &hub.calendar()?, chrono::Utc::now())
        .map(|(due, colour)| (local_time(&due.to_rfc3339()), colour.as_str()));
    let held = evidence
        .photos
        .iter()
        .map(|h| {
            hub.blobs()
                .is_some_and(|b| matches!(b.blob_len(h), Ok(Some(_))))
        })
        .collect();
    let catalog_deadline = cat.get(code).and_then(|c| {
        Some(Deadline {
            amount: u32::try_from(c.hours?).ok()?,
            unit: c.unit,
        })
    });
    Ok(Loaded {
        held,
        category: category_name(&cat, code),
        row,
        evidence,
        steps,
        device,
        fields,
        grid,
        deadline,
        catalog_deadline,
    })
}

pub async fn page(State(c): St, ctx: Ctx, Path(id): Path<String>) -> Result<Response, Failure> {
    let flash = c.take_flash(&ctx.key).map(|m| (true, m));
    render(c, ctx, id, flash, StatusCode::OK).await
}

async fn render(
    c: Arc<Console>,
    ctx: Ctx,
    id: String,
    message: Option<(bool, &'static str)>,
    status: StatusCode,
) -> Result<Response, Failure> {
    let who = ctx.signed()?.clone();
    if id.len() > 64 {
        return Err(ctx.failure(Kind::NotFound));
    }
    let c2 = c.clone();
    let ev = blocking(move || load(&c2, &who, &id))
        .await
        .map_err(|e| ctx.fail(e))?;
    let t = ctx.t();
    let body = view(&ctx, &ev, message);
    let mut r = frame(
        &ctx,
        &format!("{} · {}", t.ev_description, ev.category),
        body,
    );
    *r.status_mut() = status;
    Ok(r)
}

fn position(ctx: &Ctx, f: &gridpad_proto::Fields) -> String {
    let t = ctx.t();
    let p = match f.get("position") {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
        Some(v) => v.clone(),
        None => Value::Null,
    };
    match (
        p.get("lat").and_then(Value::as_f64),
        p.get("lon").and_then(Value::as_f64),
    ) {
        (Some(lat), Some(lon)) => {
            let acc = p
                .get("accuracy_m")
                .and_then(Value::as_f64)
                .map(|a| format!(" ({} ±{a:.0} m)", t.ev_accuracy))
                .unwrap_or_default();
            format!("{lat:.6}, {lon:.6}{acc}")
        }
        _ => t.ev_no_position.to_string(),
    }
}

fn seal_words(ctx: &Ctx, e: &EventEvidence) -> (&'static str, &'static str) {
    let t = ctx.t();
    if e.sealed_ok {
        return ("ok", t.seal_ok);
    }
    let has = |f: &str| e.seal_flags.iter().any(|x| x == f);
    if has("altered") {
        ("bad", t.seal_altered)
    } else if has("unsealed") {
        ("wait", t.seal_unsealed)
    } else if has("gap") {
        ("bad", t.seal_gap)
    } else {
        ("bad", t.seal_other)
    }
}

fn view(ctx: &Ctx, ev: &Loaded, message: Option<(bool, &'static str)>) -> Markup {
    let t = ctx.t();
    let l = ctx.lang;
    let f = &ev.row.fields;
    let id = &ev.row.row_id;
    let status = text(f, "status");
    let e = &ev.evidence;
    let (seal_class, seal_text) = seal_words(ctx, e);
    html! {
        p { a href="/" { (t.back_to_queue) } }
        @if let Some((ok, m)) = message {
            p class={"message " (if ok { "ok" } else { "error" })} role="alert" id="message" { (m) }
        }
        div.event-head {
            h1 { (ev.category) }
            span class={"badge big st-" (status)} id="event-status" data-status=(status) { (l.status(status)) }
            @if let Some((due, colour)) = &ev.deadline {
                span class={"dl dl-" (colour)} { (t.ev_deadline) " " (due) " · " (l.colour(colour)) }
            }
        }
        div.columns {
            div.col {
                section.card {
                    h2 { (t.ev_description) }
                    p.description { (text(f, "description")) }
                    dl.facts {
                        @if !text(f, "address_text").is_empty() {
                            dt { (t.ev_address) } dd { (text(f, "address_text")) }
                        }
                        dt { (t.col_grid) } dd { (ev.grid) }
                        dt { (t.ev_reporter) } dd { (text(f, "reporter")) }
                        dt { (t.ev_device) } dd {
                            @match &ev.device {
                                Some(d) => { (d.label) " · " (d.user) " · " (d.app_version) },
                                None => { (t.none) },
                            }
                        }
                        dt { (t.ev_position) } dd { (position(ctx, f)) }
                        dt { (t.ev_device_time) } dd { (local_time(text(f, "device_time"))) }
                        @if !text(f, "reported_at").is_empty() {
                            dt { (t.ev_reported_at) } dd { (local_time(text(f, "reported_at"))) }
                        }
                    }
                    @if !ev.fields.is_empty() {
                        h3 { (t.ev_fields) }
                        dl.facts {
                            @for (k, v) in &ev.fields { dt { (k) } dd { (v) } }
                        }
                    }
                }
                section.card {
                    h2 { (t.ev_photos) }
                    p {
                        (t.ev_photos_received) " " span #photo-count { (e.photos_received) "/" (e.photos_expected) } " · "
                        @if e.complete { span.ok { (t.ev_photos_complete) } } @else { span.warn { (t.ev_photos_incomplete) } }
                    }
                    @if e.photos.is_empty() { p.hint { (t.ev_no_photos) } }
                    div.photos {
                        @for (i, sha) in e.photos.iter().enumerate() {
                            @let url = format!("/events/{id}/photos/{sha}");
                            @if ev.held.get(i).copied().unwrap_or(false) {
                                a href=(url) target="_blank" rel="noopener" {
                                    img.thumb src=(url) alt={(t.ev_photos) " " (i + 1)} loading="lazy";
                                }
                            } @else {
                                span.thumb.missing { (t.ev_photo_missing) }
                            }
                        }
                    }
                    p { (t.ev_seal) ": " span class={"seal seal-" (seal_class)} #seal { (seal_text) } }
                }
            }
            div.col {
                section.card {
                    h2 { (t.ev_actions) }
                    (actions(ctx, ev))
                }
                section.card {
                    h2 { (t.ev_timeline) }
                    ol.timeline #timeline {
                        @for s in &ev.steps {
                            li {
                                span.time { (local_time(&s.at)) }
                                " "
                                @match &s.status {
                                    Some(st) => span class={"badge st-" (st)} { (l.status(st)) },
                                    None => span.badge { (t.tl_note) },
                                }
                                " " span.actor { (s.actor) }
                                @if !s.note.is_empty() { div.note { (s.note) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn actions(ctx: &Ctx, ev: &Loaded) -> Markup {
    let t = ctx.t();
    let Some(who) = &ctx.who else { return html! {} };
    let current =
        EventStatus::parse(text(&ev.row.fields, "status")).unwrap_or(EventStatus::Reported);
    let acts: Vec<Act> = if who.may(Action::EventsHandle) {
        Act::ALL
            .into_iter()
            .filter(|a| a.allowed_from(current))
            .collect()
    } else {
        vec![]
    };
    let version = event_version(&ev.row);
    let id = &ev.row.row_id;
    // Empty hours: the catalog's deadline, which the field shows.
    let catalog = match ev.catalog_deadline {
        Some(d) => format!("{} {}", d.amount, t.unit(d.unit)),
        None => t.act_no_catalog_deadline.to_string(),
    };
    html! {
        @if acts.iter().all(|a| *a == Act::Note) { p.hint { (t.ev_no_actions) } }
        @for a in acts {
            form.act method="post" action={"/events/" (id) "/act"} data-act=(a.code()) {
                input type="hidden" name="csrf" value=(ctx.csrf);
                input type="hidden" name="version" value=(version);
                input type="hidden" name="action" value=(a.code());
                @match a {
                    Act::Reject => label { (t.act_reject_reason) textarea name="note" required maxlength="2000" rows="2" {} },
                    Act::Return => {
                        label { (t.act_return_reason) textarea name="note" required maxlength="2000" rows="2" {} }
                        label.short { (t.act_deadline_hours) input type="number" name="hours" min="1" max="8784" placeholder=(catalog); }
                    },
                    Act::Note => label { (t.act_note_text) textarea name="note" required maxlength="2000" rows="2" {} },
                    Act::Dispatch => {
                        label.short { (t.act_deadline_hours) input type="number" name="hours" min="1" max="8784" placeholder=(catalog); }
                        label { (t.act_optional_note) input type="text" name="note" maxlength="2000"; }
                    },
                    _ => label { (t.act_optional_note) input type="text" name="note" maxlength="2000"; },
                }
                button type="submit" class=(if matches!(a, Act::Reject) { "danger" } else if a == Act::Note { "" } else { "primary" })
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
    } else if note.is_empty() && matches!(a, Act::Reject | Act::Return) {
        Some(refuse(t.err_reason_needed, StatusCode::BAD_REQUEST))
    } else if note.is_empty() && a == Act::Note {
        Some(refuse(t.err_note_needed, StatusCode::BAD_REQUEST))
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
    let (id2, version) = (id.clone(), form.version.clone());
    let r = blocking(move || {
        let current = hub.event_for(&who, &id2)?;
        let status =
            EventStatus::parse(text(&current.fields, "status")).unwrap_or(EventStatus::Reported);
        if event_version(&current) != version {
            return Err(HubError::Conflict("stale".into()));
        }
        if !a.allowed_from(status) {
            return Err(HubError::BadRequest("not allowed".into()));
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
        Err(HubError::BadRequest(m)) => {
            let m = if m.starts_with("no deadline") {
                t.err_no_deadline
            } else if m.contains("calendar has no year") {
                t.err_no_calendar
            } else {
                t.err_not_allowed
            };
            render(c, ctx, id, Some((false, m)), StatusCode::CONFLICT).await
        }
        Err(e) => Err(ctx.fail(e)),
    }
}

/// A photo of an event the account may read, from the evidence store.
pub async fn photo(
    State(c): St,
    ctx: Ctx,
    Path((id, sha)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let who = ctx.signed()?.clone();
    if !gridpad_evidence::seal::is_sha256_hex(&sha) || id.len() > 64 {
        return Err(ctx.failure(Kind::NotFound));
    }
    let hub = c.hub.clone();
    let bytes = blocking(move || hub.event_photo(&who, &id, &sha))
        .await
        .map_err(|e| ctx.fail(e))?;
    let kind = if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        "image/jpeg"
    } else if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else {
        "application/octet-stream"
    };
    Ok(([(header::CONTENT_TYPE, kind)], bytes).into_response())
}

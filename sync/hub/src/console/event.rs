//! The event page: what was reported (description, the category's fields, reporter and
//! device, position, times), its photos with completeness and the seal verdict, its
//! timeline, who holds it now, and the actions (in [`super::event_acts`]).

use super::event_acts::{acting, Acting};
use super::queue::{catalog, category_name, deadline, text};
use super::{local_time, page as frame, Console, Ctx, Failure, Kind, St};
use crate::authz::Principal;
use crate::http::extract::blocking;
use crate::hub::{Hub, HubError};
use crate::seals_and_photo_access::EventEvidence;
use crate::timeline::Step;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use gridhub_store::{with_tx, DeviceRecord, Row};
use gridpad_domain::worktime::Deadline;
use maud::{html, Markup};
use serde_json::Value;
use std::sync::Arc;

/// What the page shows of one event.
pub(super) struct Loaded {
    pub(super) row: Row,
    evidence: EventEvidence,
    steps: Vec<Step>,
    device: Option<DeviceRecord>,
    category: String,
    fields: Vec<(String, String)>,
    grid: String,
    deadline: Option<(String, &'static str)>,
    /// The catalog's deadline for its 小类 (what a dispatch without hours gives).
    pub(super) catalog_deadline: Option<Deadline>,
    /// Per photo: whether the hub holds it.
    held: Vec<bool>,
    /// The result photos of its tasks: (task, SHA-256, whether the hub holds it).
    results: Vec<(String, String, bool)>,
    /// What the account may do to the event as it is held now.
    pub(super) acting: Acting,
    /// Who holds it: the level, the department and its deadline (none: its area).
    holder: Option<String>,
}

pub(super) fn load(hub: &Hub, who: &Principal, id: &str) -> Result<Loaded, HubError> {
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
    let held = evidence.photos.iter().map(|h| hub.holds_photo(h)).collect();
    // The result photos of the tasks it became (when the account may read tasks).
    let results = if who.may(crate::authz::Action::TasksRead) {
        hub.tasks(who, 10_000)?
            .into_iter()
            .filter(|t| text(&t.fields, "source_event_id") == id)
            .flat_map(|t| {
                crate::centre::task_result_photos(&t)
                    .into_iter()
                    .map(move |sha| (t.row_id.clone(), sha))
            })
            .map(|(task, sha)| {
                let held = hub.holds_photo(&sha);
                (task, sha, held)
            })
            .collect()
    } else {
        vec![]
    };
    let catalog_deadline = cat.get(code).and_then(|c| {
        Some(Deadline {
            amount: u32::try_from(c.hours?).ok()?,
            unit: c.unit,
        })
    });
    let holding = hub.holding(id)?;
    let holder = holding.last().map(|h| {
        let mut s = tree
            .node(&h.node_id)
            .map(|n| n.name.clone())
            .unwrap_or_default();
        if let Some(d) = &h.department_id {
            let name = with_tx(hub.store(), |tx| tx.department(d))
                .ok()
                .flatten()
                .map(|d| d.name)
                .unwrap_or_default();
            s = format!("{s} · {name}");
        }
        if let Some(due) = &h.deadline_at {
            s = format!("{s} · {}", local_time(due));
        }
        s
    });
    let acting = acting(hub, who, &row, &holding)?;
    Ok(Loaded {
        results,
        acting,
        holder,
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

pub(super) async fn render(
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
    let ev = blocking(move || load(&c2.hub, &who, &id))
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
                @if !ev.results.is_empty() {
                    section.card #result-photos {
                        h2 { (t.ev_result_photos) }
                        div.photos {
                            @for (i, (task, sha, held)) in ev.results.iter().enumerate() {
                                @let url = format!("/tasks/{task}/photos/{sha}");
                                @if *held {
                                    a href=(url) target="_blank" rel="noopener" {
                                        img.thumb.result src=(url) alt={(t.ev_result_photos) " " (i + 1)} loading="lazy";
                                    }
                                } @else {
                                    span.thumb.missing { (t.ev_photo_missing) }
                                }
                            }
                        }
                    }
                }
            }
            div.col {
                section.card {
                    h2 { (t.ev_actions) }
                    @if let Some(h) = &ev.holder {
                        p #holder { (t.ev_holder) ": " strong { (h) } }
                    }
                    (super::event_acts::actions(ctx, ev))
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

/// A photo of an event the account may read, from the evidence store.
pub async fn photo(
    State(c): St,
    ctx: Ctx,
    Path((id, sha)): Path<(String, String)>,
) -> Result<Response, Failure> {
    serve_photo(c, ctx, id, sha, Hub::event_photo).await
}

/// How a record's photo is read for an account: [`Hub::event_photo`], [`Hub::task_photo`].
pub(super) type PhotoRead = fn(&Hub, &Principal, &str, &str) -> Result<Vec<u8>, HubError>;

/// A photo of record `id` (an event, a task) that `read` gives the account, if any.
pub(super) async fn serve_photo(
    c: Arc<Console>,
    ctx: Ctx,
    id: String,
    sha: String,
    read: PhotoRead,
) -> Result<Response, Failure> {
    let who = ctx.signed()?.clone();
    if !gridpad_evidence::seal::is_sha256_hex(&sha) || id.len() > 64 {
        return Err(ctx.failure(Kind::NotFound));
    }
    let hub = c.hub.clone();
    let bytes = blocking(move || read(&hub, &who, &id, &sha))
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(photo_response(bytes))
}

/// A photo's bytes with their type (JPEG or PNG as the devices send them).
pub(super) fn photo_response(bytes: Vec<u8>) -> Response {
    let kind = if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        "image/jpeg"
    } else if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else {
        "application/octet-stream"
    };
    ([(header::CONTENT_TYPE, kind)], bytes).into_response()
}

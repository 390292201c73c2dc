//! 任务 — the tasks of the account's area: status, grid, deadline with its colour (三色预警,
//! overdue), the handler's feedback as the devices report it; filtered by status and area
//! node (kept in the session), newest first with keyset paging. A dispatcher creates a
//! task for a grid (title, description, deadline) through [`crate::Hub::create_task`]
//! (role, area and audit are the hub's); the form carries a one-time token, so a second
//! click creates nothing twice. A task's page shows its progress step by step
//! (下发 → 接收 → 处置中 → 完成, or 退回) and the result the device sent.

use super::queue::{area_grids, area_nodes, clip, text};
use super::{
    clean_text, local_time, page as frame, valid_once, Console, Ctx, Failure, Kind, Once, St,
};
use crate::authz::{Action, Principal};
use crate::centre::NewTask;
use crate::deadlines::task_colour;
use crate::http::extract::blocking;
use crate::hub::{Hub, HubError};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{DateTime, Utc};
use gridhub_store::with_tx;
use gridhub_store::Row;
use gridpad_domain::codes::{DeadlineColour, TaskStatus};
use gridpad_domain::worktime::{Deadline, WorkCalendar};
use gridpad_proto::Entity;
use maud::{html, Markup};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Tasks on one page.
pub const PAGE: usize = 50;

/// The tasks page's filter (each empty = any).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub node: String,
}

fn time(r: &Row, k: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text(&r.fields, k))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// What a task's colour is measured with, as 督办 measures it ([`task_colour`]): the hub's
/// time, its working-time calendar, and the catalog (the 小类's unit and thresholds).
struct Clock {
    now: DateTime<Utc>,
    calendar: WorkCalendar,
    categories: HashMap<String, Row>,
}

fn clock(hub: &Hub) -> Result<Clock, HubError> {
    let categories = with_tx(hub.store(), |tx| tx.rows(Entity::CatalogCategory, 10_000))?
        .into_iter()
        .filter(|r| !r.deleted)
        .map(|r| (r.row_id.clone(), r))
        .collect();
    Ok(Clock {
        now: DateTime::from_timestamp_millis(hub.now_ms() as i64).unwrap_or_else(Utc::now),
        calendar: hub.calendar()?,
        categories,
    })
}

/// A task's deadline colour now (open tasks with a deadline only).
fn colour(r: &Row, k: &Clock) -> Option<DeadlineColour> {
    let status = TaskStatus::parse(text(&r.fields, "status"))?;
    if !status.is_open() {
        return None;
    }
    let category = k.categories.get(text(&r.fields, "category_code"));
    task_colour(&k.calendar, r, category, k.now)
}

struct Listing {
    rows: Vec<Row>,
    counts: BTreeMap<String, usize>,
    matching: usize,
    next: Option<String>,
    grids: HashMap<String, String>,
    nodes: Vec<(usize, String, String)>,
    area_grids: Vec<(String, String)>,
    /// The colours are of this moment.
    clock: Clock,
}

fn key(r: &Row) -> (i64, String) {
    (
        time(r, "created_at").map_or(0, |t| t.timestamp_millis()),
        r.row_id.clone(),
    )
}

fn listing(
    c: &Console,
    who: &Principal,
    f: &Filter,
    after: Option<&str>,
) -> Result<Listing, HubError> {
    let hub = &c.hub;
    let tree = hub.org()?;
    let mut rows: Vec<Row> = hub
        .tasks(who, 10_000)?
        .into_iter()
        .filter(|r| f.node.is_empty() || tree.within(&f.node, text(&r.fields, "grid_id")))
        .collect();
    let mut counts = BTreeMap::new();
    for r in &rows {
        *counts
            .entry(text(&r.fields, "status").to_string())
            .or_insert(0) += 1;
    }
    rows.retain(|r| f.status.is_empty() || text(&r.fields, "status") == f.status);
    let matching = rows.len();
    rows.sort_by_key(|r| std::cmp::Reverse(key(r)));
    if let Some((ms, id)) = after.and_then(|a| a.split_once('_')) {
        let cursor = (ms.parse().unwrap_or(i64::MAX), id.to_string());
        rows.retain(|r| key(r) < cursor);
    }
    let next = (rows.len() > PAGE).then(|| {
        let (ms, id) = key(&rows[PAGE - 1]);
        format!("{ms}_{id}")
    });
    rows.truncate(PAGE);
    let grids = rows
        .iter()
        .filter_map(|r| {
            let g = text(&r.fields, "grid_id");
            tree.node(g).map(|n| (g.to_string(), n.name.clone()))
        })
        .collect();
    let area_grids = if who.may(Action::TasksWrite) {
        area_grids(who, &tree)
    } else {
        vec![]
    };
    Ok(Listing {
        rows,
        counts,
        matching,
        next,
        grids,
        nodes: area_nodes(who, &tree),
        area_grids,
        clock: clock(hub)?,
    })
}

#[derive(serde::Deserialize)]
pub struct Cursor {
    #[serde(default)]
    after: Option<String>,
}

fn valid_cursor(a: &Option<String>) -> Option<&str> {
    a.as_deref().filter(|a| {
        a.len() <= 120
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })
}

/// What a new task form held, shown again when it is refused.
#[derive(Clone, Debug, Default)]
struct Draft {
    grid: String,
    title: String,
    body: String,
    hours: String,
}

pub async fn page(State(c): St, ctx: Ctx, Query(q): Query<Cursor>) -> Result<Response, Failure> {
    let after = valid_cursor(&q.after).map(str::to_string);
    render(c, ctx, after, None, Draft::default(), StatusCode::OK).await
}

async fn render(
    c: Arc<Console>,
    ctx: Ctx,
    after: Option<String>,
    message: Option<&'static str>,
    draft: Draft,
    status: StatusCode,
) -> Result<Response, Failure> {
    let who = ctx.signed()?.clone();
    if !who.may(Action::TasksRead) {
        return Err(ctx.failure(Kind::Forbidden));
    }
    let f = c
        .task_filters
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&ctx.key)
        .cloned()
        .unwrap_or_default();
    let (c2, f2, a2) = (c.clone(), f.clone(), after.clone());
    let list = blocking(move || listing(&c2, &who, &f2, a2.as_deref()))
        .await
        .map_err(|e| ctx.fail(e))?;
    let t = ctx.t();
    let once = hex::encode(c.hub.random(16));
    let body = html! {
        h1 { (t.task_title) }
        @if let Some(m) = message { p.message.error role="alert" id="message" { (m) } }
        @if ctx.who.as_ref().is_some_and(|w| w.may(Action::TasksWrite)) {
            (create_form(&ctx, &list, &draft, &once))
        }
        (filter_form(&ctx, &f, &list))
        (table(&ctx, &list, after.is_some()))
    };
    let mut r = frame(&ctx, t.task_title, body);
    *r.status_mut() = status;
    Ok(r)
}

fn create_form(ctx: &Ctx, list: &Listing, d: &Draft, once: &str) -> Markup {
    let t = ctx.t();
    let hours = if d.hours.is_empty() { "24" } else { &d.hours };
    html! {
        details.card.new-task #new-task open[!d.title.is_empty() || list.rows.is_empty()] {
            summary { (t.task_new) }
            form.act.task-form method="post" action="/tasks" id="task-form" {
                input type="hidden" name="csrf" value=(ctx.csrf);
                input type="hidden" name="once" value=(once);
                label { (t.col_grid)
                    select name="grid" id="t-grid" required {
                        option value="" { "—" }
                        @for (id, name) in &list.area_grids {
                            option value=(id) selected[*id == d.grid] { (name) }
                        }
                    }
                }
                label.grow { (t.task_name) input type="text" name="title" id="t-title" value=(d.title) required maxlength="200"; }
                label.short { (t.task_deadline_hours) input type="number" name="hours" id="t-hours" value=(hours) min="1" max="8784"; }
                label.wide { (t.task_body) textarea name="body" id="t-body" maxlength="8000" rows="3" { (d.body) } }
                span.buttons { button.primary type="submit" id="task-create" { (t.task_create) } }
            }
        }
    }
}

fn filter_form(ctx: &Ctx, f: &Filter, list: &Listing) -> Markup {
    let t = ctx.t();
    let l = ctx.lang;
    html! {
        form.filters method="post" action="/tasks/filter" id="task-filter" {
            input type="hidden" name="csrf" value=(ctx.csrf);
            label { (t.f_status)
                select name="status" id="tf-status" {
                    option value="" { (t.all) }
                    @for s in TaskStatus::CODES {
                        option value=(s) selected[*s == f.status] { (l.task_status(s)) }
                    }
                }
            }
            label { (t.f_node)
                select name="node" id="tf-node" {
                    option value="" { (t.all) }
                    @for (depth, id, name) in &list.nodes {
                        option value=(id) selected[*id == f.node] { (("\u{3000}").repeat(*depth)) (name) }
                    }
                }
            }
            span.buttons {
                button.primary type="submit" name="do" value="apply" { (t.filter_apply) }
                button type="submit" name="do" value="clear" { (t.filter_clear) }
            }
        }
    }
}

fn table(ctx: &Ctx, list: &Listing, paged: bool) -> Markup {
    let t = ctx.t();
    let l = ctx.lang;
    let clock = &list.clock;
    html! {
        (super::counts(t, &list.counts, list.matching, "badge ts-", |s| l.task_status(s)))
        @if list.rows.is_empty() {
            p.empty { (t.task_empty) }
        } @else {
            table.tasks #tasks {
                thead { tr {
                    th { (t.task_created) } th { (t.task_name) } th { (t.col_grid) }
                    th { (t.col_status) } th { (t.col_deadline) } th { (t.task_feedback) }
                } }
                tbody {
                    @for r in &list.rows {
                        @let f = &r.fields;
                        @let status = text(f, "status");
                        tr data-task=(r.row_id) data-status=(status) {
                            td.time { (local_time(text(f, "created_at"))) }
                            td.desc { a href={"/tasks/" (r.row_id)} { (clip(text(f, "title"), 60)) } }
                            td { (list.grids.get(text(f, "grid_id")).map_or(t.unknown, String::as_str)) }
                            td { span class={"badge ts-" (status)} { (l.task_status(status)) } }
                            td { (deadline(ctx, r, clock)) }
                            td.feedback { (clip(result_text(f), 60)) }
                        }
                    }
                }
            }
        }
        nav.pager {
            @if paged { a href="/tasks" { (t.first_page) } }
            @if let Some(n) = &list.next { a href={"/tasks?after=" (n)} id="next-page" { (t.next_page) } }
        }
    }
}

/// The handler's answer: the feedback, or the reason for sending it back.
fn result_text(f: &gridpad_proto::Fields) -> &str {
    match text(f, "feedback") {
        "" => text(f, "reject_reason"),
        s => s,
    }
}

fn deadline(ctx: &Ctx, r: &Row, clock: &Clock) -> Markup {
    let due = text(&r.fields, "deadline_at");
    html! {
        @if due.is_empty() { span.dl { (ctx.t().none) } } @else {
            span.time { (local_time(due)) } " "
            @if let Some(c) = colour(r, clock) {
                span class={"dl dl-" (c.as_str())} { (ctx.lang.colour(c.as_str())) }
            }
        }
    }
}

/// One task: what was asked, its progress, what the device reported.
pub async fn detail(State(c): St, ctx: Ctx, Path(id): Path<String>) -> Result<Response, Failure> {
    let who = ctx.signed()?.clone();
    if id.len() > 64 {
        return Err(ctx.failure(Kind::NotFound));
    }
    let flash = c.take_flash(&ctx.key);
    let hub = c.hub.clone();
    let (row, grid, clock, results) = blocking(move || {
        let row = hub.task_for(&who, &id)?;
        let grid = hub
            .org()?
            .node(text(&row.fields, "grid_id"))
            .map(|n| n.name.clone())
            .unwrap_or_default();
        let results: Vec<(String, bool)> = crate::centre::task_result_photos(&row)
            .into_iter()
            .map(|sha| {
                let held = hub.holds_photo(&sha);
                (sha, held)
            })
            .collect();
        Ok((row, grid, clock(&hub)?, results))
    })
    .await
    .map_err(|e| ctx.fail(e))?;
    let t = ctx.t();
    let l = ctx.lang;
    let f = &row.fields;
    let status = text(f, "status");
    let events = ctx.who.as_ref().is_some_and(|w| w.may(Action::EventsRead));
    let body = html! {
        p { a href="/tasks" { (t.back_to_tasks) } }
        @if let Some(m) = flash { p.message.ok role="alert" id="message" { (m) } }
        div.event-head {
            h1 { (text(f, "title")) }
            span class={"badge big ts-" (status)} id="task-status" data-status=(status) { (l.task_status(status)) }
            span.hint { (t.ev_deadline) } (deadline(&ctx, &row, &clock))
        }
        div.columns {
            div.col {
                section.card {
                    h2 { (t.task_body) }
                    @if text(f, "body").is_empty() { p.hint { (t.none) } } @else { p.description { (text(f, "body")) } }
                    dl.facts {
                        dt { (t.col_grid) } dd { (grid) }
                        @if !text(f, "assignee").is_empty() { dt { (t.task_assignee) } dd { (text(f, "assignee")) } }
                        dt { (t.task_created) } dd { (local_time(text(f, "created_at"))) }
                        @if !text(f, "source_event_id").is_empty() {
                            dt { (t.task_source) } dd {
                                @if events { a href={"/events/" (text(f, "source_event_id"))} { (t.task_open_event) } }
                                @else { (t.task_from_event) }
                            }
                        }
                    }
                }
            }
            div.col {
                section.card #task-progress {
                    h2 { (t.task_progress) }
                    (progress(&ctx, status))
                    @if !text(f, "updated_at").is_empty() {
                        p.hint { (t.task_updated) " " (local_time(text(f, "updated_at"))) }
                    }
                    @if !text(f, "feedback").is_empty() {
                        h3 { (t.task_feedback) } p.description #task-feedback { (text(f, "feedback")) }
                    }
                    @if !results.is_empty() {
                        h3 { (t.ev_result_photos) }
                        div.photos #task-result-photos {
                            @for (i, (sha, held)) in results.iter().enumerate() {
                                @let url = format!("/tasks/{}/photos/{sha}", row.row_id);
                                @if *held {
                                    a href=(url) target="_blank" rel="noopener" {
                                        img.thumb src=(url) alt={(t.ev_result_photos) " " (i + 1)} loading="lazy";
                                    }
                                } @else {
                                    span.thumb.missing { (t.ev_photo_missing) }
                                }
                            }
                        }
                    }
                    @if !text(f, "reject_reason").is_empty() {
                        h3 { (t.task_reject_reason) } p.description #task-reject { (text(f, "reject_reason")) }
                    }
                    @if status == "assigned" { p.hint { (t.task_waiting) } }
                }
            }
        }
    };
    Ok(frame(&ctx, t.task_title, body))
}

/// The steps a task goes through, the ones done marked.
fn progress(ctx: &Ctx, status: &str) -> Markup {
    let l = ctx.lang;
    let steps = ["assigned", "accepted", "in_progress", "completed"];
    let reached = steps.iter().position(|s| *s == status);
    let off_path = reached.is_none();
    html! {
        ol.steps {
            @for (i, s) in steps.iter().enumerate() {
                @let class = match reached {
                    Some(r) if i < r => "done",
                    Some(r) if i == r => "now",
                    _ => "",
                };
                li class=(class) { (l.task_status(s)) }
            }
            @if off_path { li.now.off { (l.task_status(status)) } }
        }
    }
}

#[derive(serde::Deserialize)]
pub struct FilterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    r#do: String,
    #[serde(flatten)]
    filter: Filter,
}

pub async fn set_filter(
    State(c): St,
    ctx: Ctx,
    Form(form): Form<FilterForm>,
) -> Result<Response, Failure> {
    ctx.signed()?;
    ctx.check_csrf(&form.csrf)?;
    let kept = if form.r#do == "clear" {
        Filter::default()
    } else {
        Filter {
            status: TaskStatus::parse(&form.filter.status)
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            node: form
                .filter
                .node
                .chars()
                .filter(|c| !c.is_control())
                .take(64)
                .collect(),
        }
    };
    c.task_filters
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(ctx.key.clone(), kept);
    Ok(Redirect::to("/tasks").into_response())
}

#[derive(serde::Deserialize)]
pub struct NewTaskForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    once: String,
    #[serde(default)]
    grid: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    hours: String,
}

/// Create a task for a grid; then its page. The same form twice creates it once.
pub async fn create(
    State(c): St,
    ctx: Ctx,
    Form(form): Form<NewTaskForm>,
) -> Result<Response, Failure> {
    let who = ctx.signed()?.clone();
    ctx.check_csrf(&form.csrf)?;
    let t = ctx.t();
    let draft = Draft {
        grid: form.grid.trim().chars().take(64).collect(),
        title: clean_text(&form.title).chars().take(200).collect(),
        body: clean_text(&form.body).chars().take(8_000).collect(),
        hours: form.hours.trim().chars().take(6).collect(),
    };
    let hours = match draft.hours.as_str() {
        "" => Some(24),
        h => h.parse::<u64>().ok().filter(|h| (1..=24 * 366).contains(h)),
    };
    let problem = if draft.grid.is_empty() {
        Some(t.task_need_grid)
    } else if draft.title.is_empty() {
        Some(t.task_need_title)
    } else if form.title.chars().count() > 200 || form.body.chars().count() > 8_000 {
        Some(t.err_too_long)
    } else if hours.is_none() {
        Some(t.err_bad_hours)
    } else if !valid_once(&form.once) {
        Some(t.err_csrf)
    } else {
        None
    };
    if let Some(m) = problem {
        return render(c, ctx, None, Some(m), draft, StatusCode::BAD_REQUEST).await;
    }
    // Reserve the form's token first: a second submission of the same form (a double
    // click, a reload) finds it and creates nothing.
    match c.once_begin(&ctx.key, &form.once) {
        Once::Pending => {
            return render(
                c,
                ctx,
                None,
                Some(t.task_twice),
                Draft::default(),
                StatusCode::CONFLICT,
            )
            .await
        }
        Once::Done(id) => {
            c.flash(&ctx.key, t.task_twice);
            return Ok(Redirect::to(&format!("/tasks/{id}")).into_response());
        }
        Once::First => {}
    }
    let hub = c.hub.clone();
    let d = draft.clone();
    let r = blocking(move || {
        hub.create_task(
            &who,
            &NewTask {
                grid: &d.grid,
                title: &d.title,
                body: &d.body,
                deadline: hours.map(|h| Deadline::hours(u32::try_from(h).unwrap_or(u32::MAX))),
                source_event: None,
                assignee: None,
            },
        )
    })
    .await;
    c.once_end(&ctx.key, &form.once, r.as_ref().ok().map(String::as_str));
    match r {
        Ok(id) => {
            c.flash(&ctx.key, t.task_created_done);
            Ok(Redirect::to(&format!("/tasks/{id}")).into_response())
        }
        Err(HubError::BadRequest(_)) | Err(HubError::NotFound(_)) => {
            render(
                c,
                ctx,
                None,
                Some(t.task_refused),
                draft,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => Err(ctx.fail(e)),
    }
}

/// A result photo of a task the account may read, from the evidence store.
pub async fn photo(
    State(c): St,
    ctx: Ctx,
    Path((id, sha)): Path<(String, String)>,
) -> Result<Response, Failure> {
    super::event::serve_photo(c, ctx, id, sha, crate::hub::Hub::task_photo).await
}

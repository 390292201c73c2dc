//! 事件 — the queue: the events of the account's area (and, for a department handler, of
//! its department's 小类), filtered by status, 大类/小类, area node, deadline colour
//! (三色预警, overdue), date range and text; newest first with keyset paging; counts per
//! status. The filter is posted and kept in the session (never in a URL: the text may
//! name a person); the page cursor (a time and an event id) is the only query parameter.
//! `GET /queue/live` answers the list alone; the page's script asks for it every second,
//! so new reports appear without a reload.

use super::{page as frame, Console, Ctx, Failure, St};
use crate::authz::{Area, Principal};
use crate::hub::Hub;
use crate::org::OrgTree;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{DateTime, Utc};
use gridhub_store::{with_tx, Row};
use gridpad_domain::catalog::CategoryField;
use gridpad_domain::codes::{DeadlineColour, EventStatus};
use gridpad_domain::worktime::{Deadline, DeadlineUnit, WorkCalendar};
use gridpad_proto::Entity;
use maud::{html, Markup};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Events on one page.
pub const PAGE: usize = 50;

/// The queue's filter (each empty = any).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub node: String,
    #[serde(default)]
    pub colour: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub text: String,
}

/// A 小类 or 大类 of the catalog, as the console shows it.
#[derive(Clone, Debug, Default)]
pub struct Category {
    pub name: String,
    pub parent: Option<String>,
    pub level: i64,
    pub hours: Option<i64>,
    /// The unit of `hours` (clock hours, working hours, working days).
    pub unit: DeadlineUnit,
    pub yellow: u32,
    pub red: u32,
    pub fields: Vec<CategoryField>,
}

/// The catalog by code.
pub fn catalog(hub: &Hub) -> Result<BTreeMap<String, Category>, crate::HubError> {
    let rows = with_tx(hub.store(), |tx| tx.rows(Entity::CatalogCategory, 10_000))?;
    Ok(rows
        .into_iter()
        .filter(|r| !r.deleted)
        .map(|r| {
            let f = &r.fields;
            let int = |k: &str| f.get(k).and_then(Value::as_i64);
            let fields = match f.get("fields") {
                Some(Value::String(s)) => serde_json::from_str(s).unwrap_or_default(),
                Some(v) => serde_json::from_value(v.clone()).unwrap_or_default(),
                None => vec![],
            };
            (
                r.row_id.clone(),
                Category {
                    name: text(f, "name").to_string(),
                    parent: f
                        .get("parent_code")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    level: int("level").unwrap_or(2),
                    hours: int("deadline_hours"),
                    unit: crate::deadlines::catalog_unit(&r),
                    yellow: int("yellow_pct").unwrap_or(50).clamp(1, 100) as u32,
                    red: int("red_pct").unwrap_or(80).clamp(1, 100) as u32,
                    fields,
                },
            )
        })
        .collect())
}

/// A text field of a record, or "".
pub fn text<'a>(f: &'a gridpad_proto::Fields, k: &str) -> &'a str {
    f.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// "大类 / 小类" for a code.
pub fn category_name(cat: &BTreeMap<String, Category>, code: &str) -> String {
    match cat.get(code) {
        Some(c) => match c.parent.as_ref().and_then(|p| cat.get(p)) {
            Some(p) => format!("{} / {}", p.name, c.name),
            None => c.name.clone(),
        },
        None => code.to_string(),
    }
}

/// When an event was reported (the hub's receipt time if known, else the device's).
pub fn reported_at(r: &Row) -> Option<DateTime<Utc>> {
    ["reported_at", "corrected_time", "device_time"]
        .iter()
        .find_map(|k| DateTime::parse_from_rfc3339(text(&r.fields, k)).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// The event's deadline and its colour now (open events only), measured as its 小类's
/// deadline is (working time or the clock: the device's function, `WorkCalendar::colour`).
pub fn deadline(
    r: &Row,
    cat: &BTreeMap<String, Category>,
    cal: &WorkCalendar,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DeadlineColour)> {
    let status = EventStatus::parse(text(&r.fields, "status"))?;
    if !status.is_open() || status == EventStatus::HandledOnSpot {
        return None;
    }
    let start = reported_at(r)?;
    let c = cat.get(text(&r.fields, "category_code"));
    let due = DateTime::parse_from_rfc3339(text(&r.fields, "deadline_at"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            let c = c?;
            let amount = u32::try_from(c.hours?).ok()?;
            cal.due(
                start,
                Deadline {
                    amount,
                    unit: c.unit,
                },
            )
            .ok()
        })?;
    let (y, red) = c.map_or((50, 80), |c| (c.yellow, c.red));
    let unit = c.map(|c| c.unit).unwrap_or_default();
    Some((due, cal.colour_or_clock(unit, start, due, now, y, red).0))
}

/// The nodes of the area, in tree order, with their depth below the account's node.
pub fn area_nodes(who: &Principal, tree: &OrgTree) -> Vec<(usize, String, String)> {
    let mut roots: Vec<String> = match &who.area {
        Area::Everywhere => tree.roots().into_iter().map(|n| n.id.clone()).collect(),
        Area::Subtree { .. } => vec![who.actor.node_id.clone()],
    };
    roots.sort();
    let mut out = vec![];
    let mut stack: Vec<(usize, String)> = roots.into_iter().rev().map(|r| (0, r)).collect();
    while let Some((depth, id)) = stack.pop() {
        let Some(n) = tree.node(&id) else { continue };
        out.push((depth, n.id.clone(), n.name.clone()));
        let mut kids: Vec<&String> = tree.children(&id).iter().collect();
        kids.sort_by_key(|k| tree.node(k).map(|n| n.code.clone()).unwrap_or_default());
        for k in kids.into_iter().rev() {
            stack.push((depth + 1, k.clone()));
        }
        if out.len() > 5_000 {
            break;
        }
    }
    out
}

/// The grids of the area (id, name), in tree order.
pub fn area_grids(who: &Principal, tree: &OrgTree) -> Vec<(String, String)> {
    area_nodes(who, tree)
        .into_iter()
        .filter(|(_, id, _)| {
            tree.node(id)
                .is_some_and(|n| n.level == gridpad_domain::codes::GridLevel::Grid)
        })
        .map(|(_, id, name)| (id, name))
        .collect()
}

/// One line of the queue.
struct Line {
    row: Row,
    at: Option<DateTime<Utc>>,
    colour: Option<DeadlineColour>,
}

fn local_date(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
        .format("%Y-%m-%d")
        .to_string()
}

/// What the queue shows: the page, the counts per status, whether there is more.
struct Listing {
    lines: Vec<Line>,
    counts: BTreeMap<String, usize>,
    matching: usize,
    next: Option<String>,
    /// The names of the page's grids.
    grids: HashMap<String, String>,
}

fn listing(
    hub: &Hub,
    who: &Principal,
    f: &Filter,
    after: Option<&str>,
    cat: &BTreeMap<String, Category>,
) -> Result<Listing, crate::HubError> {
    let rows = hub.events(who, 10_000)?;
    let tree = hub.org()?;
    let now = Utc::now();
    let cal = hub.calendar()?;
    let needle = f.text.trim().to_lowercase();
    let mut lines: Vec<Line> = rows
        .into_iter()
        .map(|row| Line {
            at: reported_at(&row),
            colour: deadline(&row, cat, &cal, now).map(|d| d.1),
            row,
        })
        .filter(|l| {
            let fl = &l.row.fields;
            let code = text(fl, "category_code");
            (f.category.is_empty()
                || code == f.category
                || cat.get(code).and_then(|c| c.parent.as_deref()) == Some(&f.category))
                && (f.node.is_empty() || tree.within(&f.node, text(fl, "grid_id")))
                && (f.colour.is_empty() || l.colour.map(|c| c.as_str()) == Some(f.colour.as_str()))
                && (f.from.is_empty() || l.at.is_some_and(|t| local_date(t) >= f.from))
                && (f.to.is_empty() || l.at.is_some_and(|t| local_date(t) <= f.to))
                && (needle.is_empty()
                    || ["description", "address_text", "reporter"]
                        .iter()
                        .any(|k| text(fl, k).to_lowercase().contains(&needle))
                    || l.row.row_id == needle)
        })
        .collect();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for l in &lines {
        *counts
            .entry(text(&l.row.fields, "status").to_string())
            .or_default() += 1;
    }
    lines.retain(|l| f.status.is_empty() || text(&l.row.fields, "status") == f.status);
    let matching = lines.len();
    let key = |l: &Line| {
        (
            l.at.map_or(0, |t| t.timestamp_millis()),
            l.row.row_id.clone(),
        )
    };
    lines.sort_by_key(|l| std::cmp::Reverse(key(l)));
    if let Some((ms, id)) = after.and_then(|a| a.split_once('_')) {
        let ms: i64 = ms.parse().unwrap_or(i64::MAX);
        let cursor = (ms, id.to_string());
        lines.retain(|l| key(l) < cursor);
    }
    let next = (lines.len() > PAGE).then(|| {
        let (ms, id) = key(&lines[PAGE - 1]);
        format!("{ms}_{id}")
    });
    lines.truncate(PAGE);
    let grids = lines
        .iter()
        .filter_map(|l| {
            let g = text(&l.row.fields, "grid_id");
            tree.node(g).map(|n| (g.to_string(), n.name.clone()))
        })
        .collect();
    Ok(Listing {
        lines,
        counts,
        matching,
        next,
        grids,
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
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
    })
}

impl Console {
    fn filter_of(&self, key: &str) -> Filter {
        self.filters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
            .unwrap_or_default()
    }
}

pub async fn page(State(c): St, ctx: Ctx, Query(q): Query<Cursor>) -> Result<Response, Failure> {
    let who = ctx.signed()?.clone();
    if !who.may(crate::authz::Action::EventsRead) {
        if who.may(crate::authz::Action::AuditRead) {
            return Ok(Redirect::to("/audit").into_response());
        }
        if who.may(crate::authz::Action::DevicesRead) {
            return Ok(Redirect::to("/devices").into_response());
        }
        return Err(ctx.failure(super::Kind::Forbidden));
    }
    let f = c.filter_of(&ctx.key);
    let after = valid_cursor(&q.after).map(str::to_string);
    let hub = c.hub.clone();
    let (who2, f2, after2) = (who.clone(), f.clone(), after.clone());
    let (list, cat, nodes) = crate::http::extract::blocking(move || {
        let cat = catalog(&hub)?;
        let list = listing(&hub, &who2, &f2, after2.as_deref(), &cat)?;
        let tree = hub.org()?;
        let nodes = area_nodes(&who2, &tree);
        Ok((list, cat, nodes))
    })
    .await
    .map_err(|e| ctx.fail(e))?;
    let t = ctx.t();
    let live_url = match &after {
        Some(a) => format!("/queue/live?after={a}"),
        None => "/queue/live".into(),
    };
    let body = html! {
        h1 { (t.queue_title) }
        (filter_form(&ctx, &f, &cat, &nodes))
        p.hint { (t.live_note) }
        div #live data-live=(live_url) { (live_list(&ctx, &list, &cat, after.is_some())) }
    };
    Ok(frame(&ctx, t.queue_title, body))
}

/// The list alone (counts, table, pager), for the page's script.
pub async fn live(State(c): St, ctx: Ctx, Query(q): Query<Cursor>) -> Result<Response, Failure> {
    let who = ctx.signed()?.clone();
    let f = c.filter_of(&ctx.key);
    let after = valid_cursor(&q.after).map(str::to_string);
    let hub = c.hub.clone();
    let a2 = after.clone();
    let (list, cat) = crate::http::extract::blocking(move || {
        let cat = catalog(&hub)?;
        Ok((listing(&hub, &who, &f, a2.as_deref(), &cat)?, cat))
    })
    .await
    .map_err(|e| ctx.fail(e))?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        live_list(&ctx, &list, &cat, after.is_some()).into_string(),
    )
        .into_response())
}

fn filter_form(
    ctx: &Ctx,
    f: &Filter,
    cat: &BTreeMap<String, Category>,
    nodes: &[(usize, String, String)],
) -> Markup {
    let t = ctx.t();
    let l = ctx.lang;
    let sel = |a: &str, b: &str| a == b;
    html! {
        form.filters method="post" action="/queue" id="filter-form" {
            input type="hidden" name="csrf" value=(ctx.csrf);
            label { (t.f_status)
                select name="status" id="f-status" {
                    option value="" { (t.all) }
                    @for s in EventStatus::CODES.iter().filter(|s| **s != "draft") {
                        option value=(s) selected[sel(s, &f.status)] { (l.status(s)) }
                    }
                }
            }
            label { (t.f_category)
                select name="category" id="f-category" {
                    option value="" { (t.all) }
                    @for (code, c) in cat.iter() {
                        option value=(code) selected[sel(code, &f.category)] {
                            @if c.level > 1 { "\u{3000}" } (c.name)
                        }
                    }
                }
            }
            label { (t.f_node)
                select name="node" id="f-node" {
                    option value="" { (t.all) }
                    @for (depth, id, name) in nodes {
                        option value=(id) selected[sel(id, &f.node)] {
                            (("\u{3000}").repeat(*depth)) (name)
                        }
                    }
                }
            }
            label { (t.f_colour)
                select name="colour" id="f-colour" {
                    option value="" { (t.all) }
                    @for c in ["green", "yellow", "red", "overdue"] {
                        option value=(c) selected[sel(c, &f.colour)] { (l.colour(c)) }
                    }
                }
            }
            label { (t.f_from) input type="date" name="from" value=(f.from); }
            label { (t.f_to) input type="date" name="to" value=(f.to); }
            label.grow { (t.f_text) input type="search" name="text" id="f-text" value=(f.text) maxlength="100"; }
            span.buttons {
                button.primary type="submit" name="do" value="apply" id="filter-apply" { (t.filter_apply) }
                button type="submit" name="do" value="clear" { (t.filter_clear) }
            }
        }
    }
}

fn live_list(ctx: &Ctx, list: &Listing, cat: &BTreeMap<String, Category>, paged: bool) -> Markup {
    let t = ctx.t();
    let l = ctx.lang;
    html! {
        (super::counts(t, &list.counts, list.matching, "badge st-", |s| l.status(s)))
        @if list.lines.is_empty() {
            p.empty { (t.queue_empty) }
        } @else {
            table.queue #queue {
                thead { tr {
                    th { (t.col_reported) } th { (t.col_category) } th { (t.col_description) }
                    th { (t.col_grid) } th { (t.col_status) } th { (t.col_deadline) }
                } }
                tbody {
                    @for line in &list.lines {
                        @let f = &line.row.fields;
                        @let status = text(f, "status");
                        tr data-event=(line.row.row_id) {
                            td.time { (line.at.map(|t| super::local_time(&t.to_rfc3339())).unwrap_or_default()) }
                            td { (category_name(cat, text(f, "category_code"))) }
                            td.desc { a href={"/events/" (line.row.row_id)} { (clip(text(f, "description"), 60)) } }
                            td { (list.grids.get(text(f, "grid_id")).map_or(t.unknown, String::as_str)) }
                            td { span class={"badge st-" (status)} { (l.status(status)) } }
                            td { @match line.colour {
                                Some(c) => span class={"dl dl-" (c.as_str())} { (l.colour(c.as_str())) },
                                None => span.dl { (t.none) },
                            } }
                        }
                    }
                }
            }
        }
        nav.pager {
            @if paged { a href="/" { (t.first_page) } }
            @if let Some(n) = &list.next { a href={"/?after=" (n)} id="next-page" { (t.next_page) } }
        }
    }
}

pub fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).chain(['…']).collect()
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

fn clean(s: &str, n: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(n).collect()
}

/// Keep the posted filter in the session, then show the first page.
pub async fn set_filter(
    State(c): State<Arc<Console>>,
    ctx: Ctx,
    Form(form): Form<FilterForm>,
) -> Result<Response, Failure> {
    ctx.signed()?;
    ctx.check_csrf(&form.csrf)?;
    let f = form.filter;
    let date = |s: &str| {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(|d| d.to_string())
            .unwrap_or_default()
    };
    let kept = if form.r#do == "clear" {
        Filter::default()
    } else {
        Filter {
            status: clean(&f.status, 20),
            category: clean(&f.category, 20),
            node: clean(&f.node, 64),
            colour: clean(&f.colour, 10),
            from: date(&f.from),
            to: date(&f.to),
            text: clean(&f.text, 100),
        }
    };
    c.filters
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(ctx.key.clone(), kept);
    Ok(Redirect::to("/").into_response())
}

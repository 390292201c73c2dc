//! 终端 — the devices of the account's area as a fleet manager or dispatcher needs them:
//! holder, grids, app version, last sync (in words and in Beijing time), the outbox the
//! device reported (length, oldest waiting item, dead letters), clock offset and status;
//! filtered by status and "no sync for more than N hours", sorted by last sync, keyset
//! paged. Lock, unlock and wipe (wipe only after a confirmation page saying what it does)
//! go through [`crate::Hub::set_device_status`], which checks the role and area and writes
//! the audit log. Enrollment codes ([`crate::Hub::enrollment_code`]) are shown once, in the
//! answer to the form that asked for one — as text and as a QR image drawn here as inline
//! SVG — and never travel in a URL or a log line.

use super::queue::{area_grids, clip};
use super::{local_ms, page as frame, Console, Ctx, Failure, Kind, St};
use crate::accounts::AccountView;
use crate::authz::{Action, Principal};
use crate::devices::{DeviceHealth, Holder, IssuedCode};
use crate::http::extract::blocking;
use crate::hub::HubError;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gridhub_store::{DeviceStatus, Role};
use maud::{html, Markup};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

/// Devices on one page.
pub const PAGE: usize = 100;

/// The devices page's filter (kept in the session, like the queue's).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct Filter {
    /// active, locked, wiped, or empty for any.
    #[serde(default)]
    pub status: String,
    /// Only devices whose last sync is older than this many hours (or that never synced).
    #[serde(default)]
    pub stale_hours: String,
    /// "newest" first, or (the default) the longest silent first.
    #[serde(default)]
    pub sort: String,
}

impl Filter {
    fn stale_ms(&self) -> Option<u64> {
        self.stale_hours
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|h| (1..=24 * 366).contains(h))
            .map(|h| h * 3_600_000)
    }
    fn newest_first(&self) -> bool {
        self.sort == "newest"
    }
}

/// What the page shows.
struct Listing {
    devices: Vec<DeviceHealth>,
    counts: BTreeMap<&'static str, usize>,
    matching: usize,
    next: Option<String>,
    grids: HashMap<String, String>,
    /// The area's grids (for the enrollment form) and its field staff.
    area_grids: Vec<(String, String)>,
    staff: Vec<AccountView>,
    now: u64,
}

fn listing(
    c: &Console,
    who: &Principal,
    f: &Filter,
    after: Option<&str>,
) -> Result<Listing, HubError> {
    let hub = &c.hub;
    let now = hub.now_ms();
    let mut devices = hub.device_health(who)?;
    let mut counts = BTreeMap::new();
    for d in &devices {
        *counts.entry(d.status.as_str()).or_insert(0) += 1;
    }
    let stale = f.stale_ms();
    devices.retain(|d| {
        (f.status.is_empty() || d.status.as_str() == f.status)
            && stale.is_none_or(|s| d.last_seen_ms == 0 || now.saturating_sub(d.last_seen_ms) > s)
    });
    let matching = devices.len();
    let key = |d: &DeviceHealth| (d.last_seen_ms, d.device_id.clone());
    devices.sort_by_key(key);
    if f.newest_first() {
        devices.reverse();
    }
    if let Some((ms, id)) = after.and_then(|a| a.split_once('_')) {
        if let Ok(ms) = ms.parse::<u64>() {
            let cursor = (ms, id.to_string());
            devices.retain(|d| {
                if f.newest_first() {
                    key(d) < cursor
                } else {
                    key(d) > cursor
                }
            });
        }
    }
    let next = (devices.len() > PAGE).then(|| {
        let (ms, id) = key(&devices[PAGE - 1]);
        format!("{ms}_{id}")
    });
    devices.truncate(PAGE);
    let tree = hub.org()?;
    let grids = devices
        .iter()
        .flat_map(|d| d.grids.iter())
        .filter_map(|g| tree.node(g).map(|n| (g.clone(), n.name.clone())))
        .collect();
    let area_grids = if who.may(Action::CodesIssue) {
        area_grids(who, &tree)
    } else {
        vec![]
    };
    let staff = if who.may(Action::CodesIssue) && who.may(Action::AccountsRead) {
        let mut s: Vec<AccountView> = hub
            .accounts(who)?
            .into_iter()
            .filter(|a| a.role == Role::FieldStaff && !a.disabled)
            .collect();
        s.sort_by(|a, b| a.username.cmp(&b.username));
        s
    } else {
        vec![]
    };
    Ok(Listing {
        devices,
        counts,
        matching,
        next,
        grids,
        area_grids,
        staff,
        now,
    })
}

/// "3 hours ago" in the page's language.
pub fn ago(ctx: &Ctx, now: u64, then: u64) -> String {
    let t = ctx.t();
    if then == 0 {
        return t.dev_never.to_string();
    }
    let s = now.saturating_sub(then) / 1000;
    let (n, unit) = match s {
        0..60 => return t.rel_just_now.to_string(),
        60..3_600 => (s / 60, t.rel_minutes),
        3_600..172_800 => (s / 3_600, t.rel_hours),
        _ => (s / 86_400, t.rel_days),
    };
    unit.replace("{}", &n.to_string())
}

/// A clock offset, signed, in the unit that reads best.
fn offset(ctx: &Ctx, ms: i64) -> String {
    let t = ctx.t();
    let a = ms.unsigned_abs();
    let sign = match (ms < 0, a < 100) {
        (_, true) => "",
        (true, _) => "−",
        (false, _) => "+",
    };
    match a {
        0..100 => format!("0 {}", t.unit_s),
        100..60_000 => format!("{sign}{:.1} {}", a as f64 / 1000.0, t.unit_s),
        60_000..3_600_000 => format!("{sign}{} {}", a / 60_000, t.unit_min),
        _ => format!("{sign}{:.1} {}", a as f64 / 3_600_000.0, t.unit_h),
    }
}

fn status_word(ctx: &Ctx, s: DeviceStatus) -> &'static str {
    let t = ctx.t();
    match s {
        DeviceStatus::Active => t.dev_active,
        DeviceStatus::Locked => t.dev_locked,
        DeviceStatus::Wiped => t.dev_wiped,
    }
}

/// A device id as the page accepts it (a UUID; anything else is "not found").
fn valid_id(id: &str) -> bool {
    id.len() <= 64 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

fn valid_cursor(a: &Option<String>) -> Option<&str> {
    a.as_deref().filter(|a| {
        a.len() <= 120
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })
}

#[derive(serde::Deserialize)]
pub struct Cursor {
    #[serde(default)]
    after: Option<String>,
}

impl Console {
    fn device_filter(&self, key: &str) -> Filter {
        self.device_filters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
            .unwrap_or_default()
    }
}

pub async fn page(State(c): St, ctx: Ctx, Query(q): Query<Cursor>) -> Result<Response, Failure> {
    let flash = c.take_flash(&ctx.key).map(|m| (true, m));
    let after = valid_cursor(&q.after).map(str::to_string);
    render(c, ctx, after, flash, None, StatusCode::OK).await
}

async fn render(
    c: Arc<Console>,
    ctx: Ctx,
    after: Option<String>,
    message: Option<(bool, &'static str)>,
    issued: Option<IssuedCode>,
    status: StatusCode,
) -> Result<Response, Failure> {
    let who = ctx.signed()?.clone();
    if !who.may(Action::DevicesRead) {
        return Err(ctx.failure(Kind::Forbidden));
    }
    let f = c.device_filter(&ctx.key);
    let (c2, f2, a2) = (c.clone(), f.clone(), after.clone());
    let list = blocking(move || listing(&c2, &who, &f2, a2.as_deref()))
        .await
        .map_err(|e| ctx.fail(e))?;
    let t = ctx.t();
    let body = html! {
        h1 { (t.dev_title) }
        @if let Some((ok, m)) = message {
            p class={"message " (if ok { "ok" } else { "error" })} role="alert" id="message" { (m) }
        }
        @if let Some(code) = &issued { (code_card(&ctx, code, &list)) }
        (filter_form(&ctx, &f))
        (table(&ctx, &list, after.is_some()))
        @if ctx.who.as_ref().is_some_and(|w| w.may(Action::CodesIssue)) {
            (enroll_form(&ctx, &list))
        }
    };
    let mut r = frame(&ctx, t.dev_title, body);
    *r.status_mut() = status;
    Ok(r)
}

fn filter_form(ctx: &Ctx, f: &Filter) -> Markup {
    let t = ctx.t();
    html! {
        form.filters method="post" action="/devices" id="device-filter" {
            input type="hidden" name="csrf" value=(ctx.csrf);
            label { (t.f_status)
                select name="status" id="d-status" {
                    option value="" { (t.all) }
                    @for s in [DeviceStatus::Active, DeviceStatus::Locked, DeviceStatus::Wiped] {
                        option value=(s.as_str()) selected[f.status == s.as_str()] { (status_word(ctx, s)) }
                    }
                }
            }
            label { (t.dev_stale)
                input type="number" name="stale_hours" id="d-stale" min="1" max="8784" value=(f.stale_hours);
            }
            label { (t.dev_sort)
                select name="sort" id="d-sort" {
                    option value="oldest" selected[!f.newest_first()] { (t.dev_sort_oldest) }
                    option value="newest" selected[f.newest_first()] { (t.dev_sort_newest) }
                }
            }
            span.buttons {
                button.primary type="submit" name="do" value="apply" id="device-filter-apply" { (t.filter_apply) }
                button type="submit" name="do" value="clear" { (t.filter_clear) }
            }
        }
    }
}

fn table(ctx: &Ctx, list: &Listing, paged: bool) -> Markup {
    let t = ctx.t();
    let manage = ctx
        .who
        .as_ref()
        .is_some_and(|w| w.may(Action::DevicesManage));
    html! {
        (super::counts(t, &list.counts, list.matching, "badge dev-", |s| {
            DeviceStatus::parse(s).map_or(t.unknown, |s| status_word(ctx, s))
        }))
        @if list.devices.is_empty() {
            p.empty { (t.dev_empty) }
        } @else {
            table.devices #devices {
                thead { tr {
                    th { (t.dev_device) } th { (t.dev_holder) } th { (t.col_grid) } th { (t.dev_version) }
                    th { (t.dev_last_sync) } th { (t.dev_outbox) } th { (t.dev_clock) } th { (t.col_status) }
                    @if manage { th { (t.ev_actions) } }
                } }
                tbody {
                    @for d in &list.devices {
                        @let stale = d.last_seen_ms == 0 || list.now.saturating_sub(d.last_seen_ms) > 24 * 3_600_000;
                        tr data-device=(d.device_id) data-status=(d.status.as_str()) {
                            td { (d.label) div.sub.code { (clip(&d.device_id, 13)) } }
                            td { (d.user) }
                            td { @for (i, g) in d.grids.iter().enumerate() {
                                @if i > 0 { "、" } (list.grids.get(g).map_or(t.unknown, String::as_str))
                            } }
                            td.code { (d.app_version) }
                            td.time {
                                span class=(if stale { "warn" } else { "" }) { (ago(ctx, list.now, d.last_seen_ms)) }
                                @if d.last_seen_ms > 0 { div.sub { (local_ms(d.last_seen_ms)) } }
                            }
                            td.num {
                                span title=(t.dev_queue) { (d.queue_len) }
                                @if d.queue_len > 0 && d.oldest_pending_s > 0 {
                                    div.sub { (t.dev_oldest) " " (ago(ctx, d.oldest_pending_s * 1000, 1)) }
                                }
                                @if d.dead_letters > 0 { div.sub.bad { (t.dev_dead) " " (d.dead_letters) } }
                                @if d.quarantined > 0 { div.sub.bad { (t.dev_quarantined) " " (d.quarantined) } }
                            }
                            td.num { span class=(if d.clock_offset_ms.abs() > 60_000 { "warn" } else { "" }) { (offset(ctx, d.clock_offset_ms)) } }
                            td { span class={"badge dev-" (d.status.as_str())} { (status_word(ctx, d.status)) } }
                            @if manage { td.actions { (row_actions(ctx, d)) } }
                        }
                    }
                }
            }
        }
        nav.pager {
            @if paged { a href="/devices" { (t.first_page) } }
            @if let Some(n) = &list.next { a href={"/devices?after=" (n)} id="next-page" { (t.next_page) } }
        }
    }
}

fn act_form(ctx: &Ctx, id: &str, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form.act.inline method="post" action={"/devices/" (id) "/act"} data-act=(action) {
            input type="hidden" name="csrf" value=(ctx.csrf);
            input type="hidden" name="action" value=(action);
            button type="submit" class=(class) { (label) }
        }
    }
}

fn row_actions(ctx: &Ctx, d: &DeviceHealth) -> Markup {
    let t = ctx.t();
    html! {
        @match d.status {
            DeviceStatus::Active => {
                (act_form(ctx, &d.device_id, "lock", t.dev_lock, ""))
                (act_form(ctx, &d.device_id, "wipe", t.dev_wipe, "danger"))
            },
            DeviceStatus::Locked => {
                (act_form(ctx, &d.device_id, "unlock", t.dev_unlock, ""))
                (act_form(ctx, &d.device_id, "wipe", t.dev_wipe, "danger"))
            },
            DeviceStatus::Wiped => span.hint { (t.dev_wiped_hint) },
        }
    }
}

fn enroll_form(ctx: &Ctx, list: &Listing) -> Markup {
    let t = ctx.t();
    html! {
        section.card #enroll {
            h2 { (t.enr_title) }
            p.hint { (t.enr_hint) }
            form.enroll.act method="post" action="/devices/enroll" id="enroll-form" {
                input type="hidden" name="csrf" value=(ctx.csrf);
                label { (t.dev_holder) input type="text" name="holder" id="e-holder" maxlength="64"; }
                label { (t.col_grid)
                    select name="grid" id="e-grid" {
                        option value="" { "—" }
                        @for (id, name) in &list.area_grids { option value=(id) { (name) } }
                    }
                }
                @if !list.staff.is_empty() {
                    label { (t.enr_account)
                        select name="account" id="e-account" {
                            option value="" { "—" }
                            @for a in &list.staff {
                                option value=(a.username) { (a.display_name) " (" (a.username) ")" }
                            }
                        }
                    }
                }
                label { (t.enr_label) input type="text" name="label" id="e-label" maxlength="64"; }
                label.short { (t.enr_days) input type="number" name="days" id="e-days" value="7" min="1" max="90"; }
                span.buttons { button.primary type="submit" id="enroll-submit" { (t.enr_issue) } }
            }
        }
    }
}

/// The code just issued: QR image, text, holder, grids, expiry; printable.
fn code_card(ctx: &Ctx, code: &IssuedCode, list: &Listing) -> Markup {
    let t = ctx.t();
    let tree_name = |g: &String| {
        list.area_grids
            .iter()
            .find(|(id, _)| id == g)
            .map_or(g.as_str(), |(_, n)| n.as_str())
            .to_string()
    };
    html! {
        section.card.code-card #enrollment-code {
            div.qr-box { (qr_svg(&code.code, t.enr_qr_label)) }
            div {
                h2 { (t.enr_done) }
                p.code-text #code-text { (code.code) }
                dl.facts {
                    dt { (t.dev_holder) } dd { (code.user) }
                    dt { (t.col_grid) } dd { @for (i, g) in code.grids.iter().enumerate() { @if i > 0 { "、" } (tree_name(g)) } }
                    dt { (t.enr_expires) } dd #code-expires { (local_ms(code.expires_ms)) }
                }
                p.hint { (t.enr_once) }
                button type="button" data-print="1" id="print-code" { (t.enr_print) }
            }
        }
    }
}

/// `text` as a QR code: an inline SVG of the dark modules (one path, a 4-module quiet
/// zone), nothing loaded and no script or style attribute (the page's policy holds).
pub fn qr_svg(text: &str, label: &str) -> Markup {
    let Ok(code) = qrcode::QrCode::new(text.as_bytes()) else {
        return html! {};
    };
    let w = code.width();
    let quiet = 4;
    let size = w + 2 * quiet;
    let mut d = String::new();
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let _ = write!(d, "M{} {}h1v1h-1z", i % w + quiet, i / w + quiet);
        }
    }
    html! {
        svg.qr viewBox={"0 0 " (size) " " (size)} role="img" aria-label=(label) shape-rendering="crispEdges" {
            rect width=(size) height=(size) fill="#fff" {}
            path d=(d) fill="#000" {}
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

/// Keep the posted filter in the session, then show the first page.
pub async fn set_filter(
    State(c): St,
    ctx: Ctx,
    Form(form): Form<FilterForm>,
) -> Result<Response, Failure> {
    ctx.signed()?;
    ctx.check_csrf(&form.csrf)?;
    let f = form.filter;
    let kept = if form.r#do == "clear" {
        Filter::default()
    } else {
        Filter {
            status: DeviceStatus::parse(&f.status)
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            stale_hours: f
                .stale_ms()
                .map(|ms| (ms / 3_600_000).to_string())
                .unwrap_or_default(),
            sort: if f.newest_first() {
                "newest".into()
            } else {
                String::new()
            },
        }
    };
    c.device_filters
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(ctx.key.clone(), kept);
    Ok(Redirect::to("/devices").into_response())
}

#[derive(serde::Deserialize)]
pub struct ActForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    confirm: String,
}

/// Lock, unlock or wipe one device. A wipe without `confirm=yes` answers the page that
/// says what a wipe does, with the form that confirms it; nothing changes before.
pub async fn act(
    State(c): St,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<ActForm>,
) -> Result<Response, Failure> {
    let who = ctx.signed()?.clone();
    ctx.check_csrf(&form.csrf)?;
    if !valid_id(&id) {
        return Err(ctx.failure(Kind::NotFound));
    }
    let t = ctx.t();
    let (target, done) = match form.action.as_str() {
        "lock" => (DeviceStatus::Locked, t.dev_done_locked),
        "unlock" => (DeviceStatus::Active, t.dev_done_unlocked),
        "wipe" => (DeviceStatus::Wiped, t.dev_done_wiped),
        _ => return Err(ctx.failure(Kind::BadInput)),
    };
    let hub = c.hub.clone();
    let (who2, id2) = (who.clone(), id.clone());
    let device = blocking(move || {
        hub.device_health(&who2)?
            .into_iter()
            .find(|d| d.device_id == id2)
            .ok_or_else(|| HubError::NotFound("device".into()))
    })
    .await
    .map_err(|e| ctx.fail(e))?;
    if !who.may(Action::DevicesManage) {
        return Err(ctx.failure(Kind::Forbidden));
    }
    if device.status == target {
        return render(
            c,
            ctx,
            None,
            Some((false, t.dev_already)),
            None,
            StatusCode::CONFLICT,
        )
        .await;
    }
    if target == DeviceStatus::Wiped && form.confirm != "yes" {
        return Ok(confirm_wipe(&ctx, &device));
    }
    let hub = c.hub.clone();
    let r = blocking(move || hub.set_device_status(&who, &id, target.as_str())).await;
    match r {
        Ok(()) => {
            c.flash(&ctx.key, done);
            Ok(Redirect::to("/devices").into_response())
        }
        Err(HubError::BadRequest(_)) => {
            render(
                c,
                ctx,
                None,
                Some((false, t.dev_wiped_hint)),
                None,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => Err(ctx.fail(e)),
    }
}

fn confirm_wipe(ctx: &Ctx, d: &DeviceHealth) -> Response {
    let t = ctx.t();
    let body = html! {
        section.card.confirm #confirm-wipe {
            h1 { (t.wipe_title) }
            dl.facts {
                dt { (t.dev_device) } dd { (d.label) " · " span.code { (d.device_id) } }
                dt { (t.dev_holder) } dd { (d.user) }
                dt { (t.dev_outbox) } dd { (d.queue_len) }
            }
            ul.what {
                li { (t.wipe_what_key) }
                li { (t.wipe_what_lost.replace("{}", &d.queue_len.to_string())) }
                li { (t.wipe_what_final) }
                li { (t.wipe_what_when) }
            }
            form.act method="post" action={"/devices/" (d.device_id) "/act"} data-act="wipe-confirm" {
                input type="hidden" name="csrf" value=(ctx.csrf);
                input type="hidden" name="action" value="wipe";
                input type="hidden" name="confirm" value="yes";
                button.danger type="submit" id="wipe-confirm" { (t.wipe_confirm) }
                " "
                a href="/devices" id="wipe-cancel" { (t.wipe_cancel) }
            }
        }
    };
    frame(ctx, t.wipe_title, body)
}

#[derive(serde::Deserialize)]
pub struct EnrollForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    holder: String,
    #[serde(default)]
    grid: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    days: String,
}

/// Issue an enrollment code and answer the devices page with it (shown this once).
pub async fn enroll(
    State(c): St,
    ctx: Ctx,
    Form(form): Form<EnrollForm>,
) -> Result<Response, Failure> {
    let who = ctx.signed()?.clone();
    ctx.check_csrf(&form.csrf)?;
    if !who.may(Action::CodesIssue) {
        return Err(ctx.failure(Kind::Forbidden));
    }
    let t = ctx.t();
    let refuse = |m| (Some((false, m)), StatusCode::BAD_REQUEST);
    let days = match form.days.trim() {
        "" => Ok(7),
        d => d
            .parse::<u64>()
            .ok()
            .filter(|d| (1..=90).contains(d))
            .ok_or(t.enr_bad_days),
    };
    let (holder, grid, account, label) = (
        form.holder.trim().to_string(),
        form.grid.trim().to_string(),
        form.account.trim().to_string(),
        form.label.trim().to_string(),
    );
    let problem = match &days {
        Err(m) => Some(*m),
        Ok(_) if account.is_empty() && (holder.is_empty() || grid.is_empty()) => Some(t.enr_need),
        Ok(_) if holder.chars().count() > 64 || label.chars().count() > 64 => Some(t.enr_too_long),
        Ok(_) => None,
    };
    if let Some(m) = problem {
        let (msg, status) = refuse(m);
        return render(c, ctx, None, msg, None, status).await;
    }
    let days = days.unwrap_or(7);
    let hub = c.hub.clone();
    let r = blocking(move || {
        let grids = [grid];
        let h = if account.is_empty() {
            Holder::Named {
                user: &holder,
                grids: &grids,
            }
        } else {
            Holder::Account(&account)
        };
        hub.enrollment_code(&who, h, &label, days)
    })
    .await;
    match r {
        Ok(code) => render(c, ctx, None, None, Some(code), StatusCode::OK).await,
        Err(HubError::BadRequest(_)) | Err(HubError::NotFound(_)) => {
            let (msg, status) = refuse(t.enr_refused);
            render(c, ctx, None, msg, None, status).await
        }
        Err(e) => Err(ctx.fail(e)),
    }
}

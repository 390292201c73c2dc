//! 通知公告 — the notices that reach into the account's area, newest first, each with how
//! many of the area's devices it is for have read it ("read by N of M devices"); a form
//! publishes one (title, text, a node of the area — the whole area by default — and
//! optionally field staff's devices only) through [`crate::Hub::publish_notice`], which
//! checks the role and the area and writes the audit log; its one-time token makes a
//! second click publish nothing twice. A notice's page names the devices that have read
//! it (device, holder, grid, when, in Beijing time) and those that have not.

use super::queue::{area_nodes, clip};
use super::{
    clean_text, local_time, page as frame, valid_once, Console, Ctx, Failure, Kind, Once, St,
};
use crate::authz::{Action, Area, Principal};
use crate::http::extract::blocking;
use crate::hub::HubError;
use crate::notices::{NewNotice, NoticeView, Recipient};
use crate::org::OrgTree;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gridhub_store::Role;
use maud::{html, Markup};
use std::sync::Arc;

/// The longest title and text a notice takes (its specification's).
const TITLE_MAX: usize = 200;
const BODY_MAX: usize = 20_000;

/// What a notice form held, shown again when it is refused.
#[derive(Clone, Debug, Default)]
struct Draft {
    title: String,
    body: String,
    node: String,
    role: String,
}

/// The name of where a notice goes: a node's name (with its role), or every device.
fn audience(ctx: &Ctx, tree: &OrgTree, v: &NoticeView) -> String {
    let t = ctx.t();
    let place = match &v.node {
        Some(n) => tree
            .node(n)
            .map_or(t.unknown.to_string(), |n| n.name.clone()),
        None => t.notice_everyone.to_string(),
    };
    match v.role {
        Some(r) => format!("{place} · {}", ctx.lang.role(r.as_str())),
        None => place,
    }
}

/// "read by N of M devices".
fn read_by(ctx: &Ctx, v: &NoticeView) -> String {
    ctx.t()
        .notice_read_by
        .replace("{n}", &v.read.to_string())
        .replace("{m}", &v.recipients.to_string())
}

fn may_publish(ctx: &Ctx) -> Result<Principal, Failure> {
    let who = ctx.signed()?.clone();
    if !who.may(Action::NoticesWrite) {
        return Err(ctx.failure(Kind::Forbidden));
    }
    Ok(who)
}

pub async fn page(State(c): St, ctx: Ctx) -> Result<Response, Failure> {
    let flash = c.take_flash(&ctx.key);
    render(c, ctx, flash, None, Draft::default(), StatusCode::OK).await
}

async fn render(
    c: Arc<Console>,
    ctx: Ctx,
    done: Option<&'static str>,
    problem: Option<&'static str>,
    draft: Draft,
    status: StatusCode,
) -> Result<Response, Failure> {
    let who = may_publish(&ctx)?;
    let hub = c.hub.clone();
    let w = who.clone();
    let (notices, tree) = blocking(move || Ok((hub.notices(&w)?, hub.org()?)))
        .await
        .map_err(|e| ctx.fail(e))?;
    let t = ctx.t();
    let once = hex::encode(c.hub.random(16));
    let body = html! {
        h1 { (t.notice_title) }
        @if let Some(m) = done { p.message.ok role="alert" id="message" { (m) } }
        @if let Some(m) = problem { p.message.error role="alert" id="message" { (m) } }
        (compose(&ctx, &who, &tree, &draft, &once, notices.is_empty()))
        @if notices.is_empty() {
            p.empty { (t.notice_empty) }
        } @else {
            table.notices #notices {
                thead { tr {
                    th { (t.notice_published) } th { (t.notice_name) } th { (t.notice_target) } th { (t.notice_read) }
                } }
                tbody {
                    @for v in &notices {
                        tr data-notice=(v.id) data-read=(v.read) data-recipients=(v.recipients) {
                            td.time { (local_time(&v.published_at)) }
                            td.desc { a href={"/notices/" (v.id)} { (clip(&v.title, 60)) } }
                            td { (audience(&ctx, &tree, v)) }
                            td.num { (read_by(&ctx, v)) }
                        }
                    }
                }
            }
        }
    };
    let mut r = frame(&ctx, t.notice_title, body);
    *r.status_mut() = status;
    Ok(r)
}

fn compose(
    ctx: &Ctx,
    who: &Principal,
    tree: &OrgTree,
    d: &Draft,
    once: &str,
    open: bool,
) -> Markup {
    let t = ctx.t();
    let everywhere = matches!(who.area, Area::Everywhere);
    html! {
        details.card.new-task #new-notice open[open || !d.title.is_empty()] {
            summary { (t.notice_new) }
            form.act.task-form method="post" action="/notices" id="notice-form" {
                input type="hidden" name="csrf" value=(ctx.csrf);
                input type="hidden" name="once" value=(once);
                label.grow { (t.notice_name) input type="text" name="title" id="n-title" value=(d.title) required maxlength=(TITLE_MAX); }
                label { (t.notice_target)
                    select name="node" id="n-node" {
                        @if everywhere { option value="" { (t.notice_everyone) } }
                        @for (depth, id, name) in area_nodes(who, tree) {
                            option value=(id) selected[id == d.node] { (("\u{3000}").repeat(depth)) (name) }
                        }
                    }
                }
                label { (t.notice_role)
                    select name="role" id="n-role" {
                        option value="" { (t.notice_role_all) }
                        option value=(Role::FieldStaff.as_str()) selected[d.role == Role::FieldStaff.as_str()] { (t.notice_role_staff) }
                    }
                }
                label.wide { (t.notice_body) textarea name="body" id="n-body" maxlength=(BODY_MAX) rows="4" { (d.body) } }
                p.hint.wide { (t.notice_role_hint) }
                span.buttons { button.primary type="submit" id="notice-publish" { (t.notice_publish) } }
            }
        }
    }
}

#[derive(serde::Deserialize)]
pub struct NoticeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    once: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    node: String,
    #[serde(default)]
    role: String,
}

/// Publish a notice; then the list with a word of what happened. The same form twice
/// publishes it once.
pub async fn publish(
    State(c): St,
    ctx: Ctx,
    Form(form): Form<NoticeForm>,
) -> Result<Response, Failure> {
    let who = may_publish(&ctx)?;
    ctx.check_csrf(&form.csrf)?;
    let t = ctx.t();
    let draft = Draft {
        title: clean_text(&form.title).chars().take(TITLE_MAX).collect(),
        body: clean_text(&form.body).chars().take(BODY_MAX).collect(),
        node: form.node.trim().chars().take(64).collect(),
        role: form.role.trim().chars().take(32).collect(),
    };
    let role = match draft.role.as_str() {
        "" => Ok(None),
        r => Role::parse(r)
            .filter(|r| *r == Role::FieldStaff)
            .map(Some)
            .ok_or(()),
    };
    let problem = if draft.title.is_empty() {
        Some(t.notice_need_title)
    } else if draft.body.is_empty() {
        Some(t.notice_need_body)
    } else if form.title.chars().count() > TITLE_MAX || form.body.chars().count() > BODY_MAX {
        Some(t.notice_too_long)
    } else if draft.node.is_empty() && !matches!(who.area, Area::Everywhere) {
        Some(t.notice_need_node)
    } else if role.is_err() {
        Some(t.notice_bad_role)
    } else if !valid_once(&form.once) {
        Some(t.err_csrf)
    } else {
        None
    };
    if let Some(m) = problem {
        return render(c, ctx, None, Some(m), draft, StatusCode::BAD_REQUEST).await;
    }
    match c.once_begin(&ctx.key, &form.once) {
        Once::First => {}
        Once::Pending | Once::Done(_) => {
            return render(
                c,
                ctx,
                None,
                Some(t.notice_twice),
                Draft::default(),
                StatusCode::CONFLICT,
            )
            .await
        }
    }
    let hub = c.hub.clone();
    let d = draft.clone();
    let r = blocking(move || {
        hub.publish_notice(
            &who,
            &NewNotice {
                title: &d.title,
                body: &d.body,
                node: (!d.node.is_empty()).then_some(d.node.as_str()),
                role: role.ok().flatten(),
            },
        )
    })
    .await;
    c.once_end(&ctx.key, &form.once, r.as_ref().ok().map(String::as_str));
    match r {
        Ok(_) => {
            c.flash(&ctx.key, t.notice_done);
            Ok(Redirect::to("/notices").into_response())
        }
        Err(HubError::BadRequest(_)) | Err(HubError::NotFound(_)) => {
            render(
                c,
                ctx,
                None,
                Some(t.notice_refused),
                draft,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => Err(ctx.fail(e)),
    }
}

/// One notice: what it says, where it went, who has read it and who has not.
pub async fn detail(State(c): St, ctx: Ctx, Path(id): Path<String>) -> Result<Response, Failure> {
    let who = may_publish(&ctx)?;
    if id.len() > 64 {
        return Err(ctx.failure(Kind::NotFound));
    }
    let hub = c.hub.clone();
    let (report, tree) = blocking(move || Ok((hub.notice_report(&who, &id)?, hub.org()?)))
        .await
        .map_err(|e| ctx.fail(e))?;
    let t = ctx.t();
    let n = &report.notice;
    let body = html! {
        p { a href="/notices" { (t.back_to_notices) } }
        div.event-head {
            h1 { (n.title) }
            span.badge.big #notice-read data-read=(n.read) data-recipients=(n.recipients) { (read_by(&ctx, n)) }
        }
        section.card {
            p.description #notice-body { (n.body) }
            dl.facts {
                dt { (t.notice_published) } dd { (local_time(&n.published_at)) }
                dt { (t.notice_target) } dd #notice-target { (audience(&ctx, &tree, n)) }
            }
        }
        div.columns {
            section.card #readers {
                h2 { (t.notice_readers) " (" (report.read.len()) ")" }
                (devices(&ctx, &tree, &report.read, true))
            }
            section.card #unread {
                h2 { (t.notice_unread) " (" (report.unread.len()) ")" }
                (devices(&ctx, &tree, &report.unread, false))
            }
        }
    };
    Ok(frame(&ctx, t.notice_title, body))
}

fn devices(ctx: &Ctx, tree: &OrgTree, list: &[Recipient], read: bool) -> Markup {
    let t = ctx.t();
    let grids = |r: &Recipient| {
        r.grids
            .iter()
            .map(|g| tree.node(g).map_or(g.as_str(), |n| n.name.as_str()))
            .collect::<Vec<_>>()
            .join("、")
    };
    html! {
        @if list.is_empty() {
            p.hint { (if read { t.notice_nobody_read } else { t.notice_all_read }) }
        } @else {
            table {
                thead { tr {
                    th { (t.dev_device) } th { (t.dev_holder) } th { (t.col_grid) }
                    @if read { th { (t.notice_read_at) } }
                } }
                tbody {
                    @for r in list {
                        tr data-device=(r.device_id) {
                            td { (if r.label.is_empty() { clip(&r.device_id, 13) } else { r.label.clone() }) }
                            td { (r.user) }
                            td { (grids(r)) }
                            @if read { td.time { (r.read_at.as_deref().map(local_time).unwrap_or_default()) } }
                        }
                    }
                }
            }
        }
    }
}

//! 审计日志 — the audit log for auditors: newest first, 50 lines a page (keyset paging by
//! line number), searched by who, action (prefix), target and dates; the filter is posted
//! and kept in the session. The page says whether the hash chain is intact
//! ([`crate::Hub::verify_audit`]).

use super::{local_ms, page as frame, Console, Ctx, Failure, Kind, St};
use crate::audit::AuditQuery;
use crate::authz::Action;
use crate::http::extract::blocking;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gridhub_store::AuditEntry;
use maud::html;
use std::sync::Arc;

const PAGE: usize = 50;

#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

#[derive(serde::Deserialize)]
pub struct Before {
    #[serde(default)]
    before: Option<u64>,
}

/// Milliseconds of a Beijing date's start.
fn day_ms(d: &str, plus_days: i64) -> Option<u64> {
    let d = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?;
    let t =
        d.and_hms_opt(0, 0, 0)? - chrono::Duration::hours(8) + chrono::Duration::days(plus_days);
    u64::try_from(t.and_utc().timestamp_millis()).ok()
}

pub async fn page(State(c): St, ctx: Ctx, Query(q): Query<Before>) -> Result<Response, Failure> {
    let who = ctx.signed()?.clone();
    if !who.may(Action::AuditRead) {
        return Err(ctx.failure(Kind::Forbidden));
    }
    let f = c
        .audit_filters
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&ctx.key)
        .cloned()
        .unwrap_or_default();
    let hub = c.hub.clone();
    let f2 = f.clone();
    let (lines, chain) = blocking(move || {
        let nonempty = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        let all: Vec<AuditEntry> = hub.audit_log(&AuditQuery {
            since_ms: day_ms(&f2.from, 0),
            until_ms: day_ms(&f2.to, 1),
            actor: nonempty(&f2.actor),
            action: nonempty(&f2.action),
            target: nonempty(&f2.target),
            limit: 100_000,
        })?;
        let chain = hub.verify_audit()?;
        Ok((all, chain))
    })
    .await
    .map_err(|e| ctx.fail(e))?;
    let mut lines: Vec<AuditEntry> = lines
        .into_iter()
        .rev()
        .filter(|e| q.before.is_none_or(|b| e.seq < b))
        .take(PAGE + 1)
        .collect();
    let more = lines.len() > PAGE;
    lines.truncate(PAGE);
    let t = ctx.t();
    let body = html! {
        h1 { (t.audit_title) }
        @match &chain {
            Ok(n) => p.message.ok #chain { (t.audit_chain_ok.replace("{}", &n.to_string())) },
            Err(b) => p.message.error #chain { (t.audit_chain_broken.replace("{}", &b.seq.to_string())) },
        }
        form.filters method="post" action="/audit" id="audit-form" {
            input type="hidden" name="csrf" value=(ctx.csrf);
            label { (t.audit_actor) input type="text" name="actor" value=(f.actor) maxlength="64"; }
            label { (t.audit_action) input type="text" name="action" id="a-action" value=(f.action) maxlength="64"; }
            label { (t.audit_target) input type="text" name="target" id="a-target" value=(f.target) maxlength="120"; }
            label { (t.f_from) input type="date" name="from" value=(f.from); }
            label { (t.f_to) input type="date" name="to" value=(f.to); }
            span.buttons { button.primary type="submit" id="audit-search" { (t.audit_search) } }
        }
        @if lines.is_empty() {
            p.empty { (t.audit_empty) }
        } @else {
            table.audit #audit {
                thead { tr {
                    th { (t.audit_seq) } th { (t.audit_at) } th { (t.audit_actor) } th { (t.audit_role) }
                    th { (t.audit_action) } th { (t.audit_target) } th { (t.audit_detail) } th { (t.audit_address) }
                } }
                tbody {
                    @for e in &lines {
                        tr {
                            td.num { (e.seq) }
                            td.time { (local_ms(e.at_ms)) }
                            td { (e.actor_name) }
                            td { (ctx.lang.role(&e.role)) }
                            td.code { (e.action) }
                            td.code { (e.target) }
                            td.detail { (detail(e)) }
                            td.code { (e.address) }
                        }
                    }
                }
            }
        }
        nav.pager {
            @if q.before.is_some() { a href="/audit" { (t.newest) } }
            @if more { @if let Some(last) = lines.last() { a href={"/audit?before=" (last.seq)} id="older" { (t.older) } } }
        }
    };
    Ok(frame(&ctx, t.audit_title, body))
}

/// The line's change, short.
fn detail(e: &AuditEntry) -> String {
    let s = if e.after.is_null() {
        String::new()
    } else {
        e.after.to_string()
    };
    super::queue::clip(&s, 120)
}

#[derive(serde::Deserialize)]
pub struct FilterForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    filter: Filter,
}

pub async fn set_filter(
    State(c): State<Arc<Console>>,
    ctx: Ctx,
    Form(form): Form<FilterForm>,
) -> Result<Response, Failure> {
    let who = ctx.signed()?;
    if !who.may(Action::AuditRead) {
        return Err(ctx.failure(Kind::Forbidden));
    }
    ctx.check_csrf(&form.csrf)?;
    let f = form.filter;
    let clean =
        |s: &str, n: usize| -> String { s.chars().filter(|c| !c.is_control()).take(n).collect() };
    let date = |s: &str| day_ms(s, 0).map(|_| s.to_string()).unwrap_or_default();
    c.audit_filters
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(
            ctx.key.clone(),
            Filter {
                actor: clean(&f.actor, 64),
                action: clean(&f.action, 64),
                target: clean(&f.target, 120),
                from: date(&f.from),
                to: date(&f.to),
            },
        );
    Ok(Redirect::to("/audit").into_response())
}

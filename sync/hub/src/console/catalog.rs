//! 事项清单 — the event catalog for the system administrator: every 大类 with its 小类,
//! each with its department, deadline (hours, working hours or working days), colour
//! thresholds, photo policy, the fields a report asks for and its routing to departments;
//! a 小类's page edits it and publishes the change through [`crate::Hub::edit_category`]
//! (role, checks, audit and the version check are the hub's; devices take the change at
//! their next sync). A refused value is named in the user's language and nothing is
//! written; a form made from an older version of the entry is refused.

use super::{clean_text, page as frame, Ctx, Failure, Kind, St};
use crate::authz::Action;
use crate::catalog::{check, CatalogEntry, CategoryEdit, PhotoPolicy, Problem, FIELD_KINDS};
use crate::http::extract::blocking;
use crate::hub::HubError;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gridhub_store::Department;
use gridpad_domain::catalog::CategoryField;
use gridpad_domain::codes::GridLevel;
use gridpad_domain::worktime::{Deadline, DeadlineUnit};
use maud::html;
use std::collections::HashMap;

/// Empty field rows a form offers for new fields.
const NEW_FIELD_ROWS: usize = 2;
/// The levels a 小类 is routed at.
const ROUTED_LEVELS: &[GridLevel] = &[GridLevel::District, GridLevel::Street, GridLevel::Community];

fn may_edit(ctx: &Ctx) -> Result<(), Failure> {
    if ctx.signed()?.may(Action::CatalogWrite) {
        Ok(())
    } else {
        Err(ctx.failure(Kind::Forbidden))
    }
}

async fn load(ctx: &Ctx, c: &St) -> Result<(Vec<CatalogEntry>, Vec<Department>), Failure> {
    let who = ctx.signed()?.clone();
    let hub = c.0.hub.clone();
    blocking(move || hub.catalog(&who))
        .await
        .map_err(|e| ctx.fail(e))
}

/// "3 个工作日", "24 小时", or none.
fn deadline(ctx: &Ctx, d: Option<Deadline>) -> String {
    match d {
        Some(d) => format!("{} {}", d.amount, ctx.t().unit(d.unit)),
        None => ctx.t().cat_no_deadline.to_string(),
    }
}

fn kind_name(ctx: &Ctx, kind: &str) -> &'static str {
    let t = ctx.t();
    match kind {
        "text" => t.cat_kind_text,
        "int" => t.cat_kind_int,
        "choice" => t.cat_kind_choice,
        "bool" => t.cat_kind_bool,
        _ => t.unknown,
    }
}

fn level_name(ctx: &Ctx, level: &str) -> &'static str {
    let t = ctx.t();
    match GridLevel::parse(level) {
        Some(GridLevel::District) => t.lvl_district,
        Some(GridLevel::Street) => t.lvl_street,
        Some(GridLevel::Community) => t.lvl_community,
        Some(GridLevel::City) => t.lvl_city,
        Some(GridLevel::Grid) | Some(GridLevel::MicroGrid) => t.col_grid,
        None => t.unknown,
    }
}

fn photo_text(ctx: &Ctx, p: &PhotoPolicy) -> String {
    ctx.t()
        .cat_photo_summary
        .replace("{n}", &p.min_photos.to_string())
        .replace("{mp}", &format!("{:.1}", p.max_pixels as f64 / 1e6))
        .replace("{q}", &p.quality.to_string())
        .replace("{kb}", &(p.max_bytes / 1000).to_string())
}

pub async fn page(c: St, ctx: Ctx) -> Result<Response, Failure> {
    may_edit(&ctx)?;
    let flash = c.0.take_flash(&ctx.key);
    let (entries, departments) = load(&ctx, &c).await?;
    let t = ctx.t();
    let names: HashMap<&str, &str> = departments
        .iter()
        .map(|d| (d.code.as_str(), d.name.as_str()))
        .collect();
    let body = html! {
        h1 { (t.cat_title) }
        @if let Some(m) = flash { p.message.ok role="alert" id="message" { (m) } }
        p.hint { (t.cat_hint) }
        table.catalog #catalog {
            thead { tr {
                th { (t.cat_code) } th { (t.cat_name) } th { (t.cat_department) } th { (t.ev_deadline) }
                th { (t.cat_thresholds) } th { (t.ev_photos) } th { (t.cat_fields) } th { (t.cat_routing) }
            } }
            tbody {
                @for e in &entries {
                    @if e.level == 1 {
                        tr.group data-category=(e.code) { td.code { (e.code) } td colspan="7" { strong { (e.edit.name) } } }
                    } @else {
                        tr data-category=(e.code) {
                            td.code { a href={"/catalog/" (e.code)} { (e.code) } }
                            td { a href={"/catalog/" (e.code)} { (e.edit.name) } }
                            td { (e.edit.department) }
                            td { (deadline(&ctx, e.edit.deadline)) }
                            td.num { (e.edit.yellow_pct) "% / " (e.edit.red_pct) "%" }
                            td.sub { (photo_text(&ctx, &e.edit.photo)) }
                            td.sub {
                                @for f in &e.edit.fields {
                                    span.field { (f.label) " (" (kind_name(&ctx, &f.kind)) @if f.required { ", " (t.cat_required) } ")" } " "
                                }
                            }
                            td.sub {
                                @for (level, dep) in &e.edit.routing {
                                    span.field { (level_name(&ctx, level)) " → " (names.get(dep.as_str()).copied().unwrap_or(dep)) } " "
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(frame(&ctx, t.cat_title, body))
}

pub async fn edit_page(c: St, ctx: Ctx, Path(code): Path<String>) -> Result<Response, Failure> {
    may_edit(&ctx)?;
    let (entries, departments) = load(&ctx, &c).await?;
    let e = entries
        .into_iter()
        .find(|e| e.code == code && e.level == 2)
        .ok_or(ctx.failure(Kind::NotFound))?;
    let version = e.version.clone();
    Ok(form_page(
        &ctx,
        &e,
        &e.edit,
        &version,
        &departments,
        &[],
        None,
        StatusCode::OK,
    ))
}

#[allow(clippy::too_many_arguments)]
fn form_page(
    ctx: &Ctx,
    e: &CatalogEntry,
    edit: &CategoryEdit,
    version: &str,
    departments: &[Department],
    problems: &[Problem],
    stale: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let t = ctx.t();
    let amount = edit
        .deadline
        .map(|d| d.amount.to_string())
        .unwrap_or_default();
    let unit = edit.deadline.map(|d| d.unit).unwrap_or_default();
    let rows = edit.fields.len() + NEW_FIELD_ROWS;
    let body = html! {
        p { a href="/catalog" { (t.back_to_catalog) } }
        h1 { (t.cat_edit) " " span.code { (e.code) } " " (e.edit.name) }
        @if let Some(m) = stale { p.message.error role="alert" id="message" { (m) } }
        @if !problems.is_empty() {
            div.message.error role="alert" id="message" {
                p { (t.cat_refused) }
                ul #problems { @for p in problems { li data-problem=(p.code()) { (ctx.lang.catalog_problem(*p)) } } }
            }
        }
        form.card.catalog-form method="post" action={"/catalog/" (e.code)} id="catalog-form" {
            input type="hidden" name="csrf" value=(ctx.csrf);
            input type="hidden" name="version" value=(version);
            fieldset {
                legend { (t.cat_basics) }
                label { (t.cat_name) input type="text" name="name" id="c-name" value=(edit.name) required maxlength="64"; }
                label { (t.cat_department) input type="text" name="department" id="c-department" value=(edit.department) maxlength="64"; }
            }
            fieldset {
                legend { (t.ev_deadline) }
                label.short { (t.cat_amount) input type="number" name="deadline" id="c-deadline" value=(amount) min="1" max="8784"; }
                label { (t.cat_unit)
                    select name="unit" id="c-unit" {
                        @for u in DeadlineUnit::CODES {
                            option value=(u) selected[*u == unit.as_str()] { (t.unit(DeadlineUnit::parse(u).unwrap_or_default())) }
                        }
                    }
                }
                label.short { (t.cat_yellow) input type="number" name="yellow" id="c-yellow" value=(edit.yellow_pct) min="1" max="100"; }
                label.short { (t.cat_red) input type="number" name="red" id="c-red" value=(edit.red_pct) min="1" max="100"; }
                p.hint { (t.cat_deadline_hint) }
            }
            fieldset {
                legend { (t.ev_photos) }
                label.short { (t.cat_min_photos) input type="number" name="min_photos" id="c-min-photos" value=(edit.photo.min_photos) min="0" max="9"; }
                label { (t.cat_max_pixels) input type="number" name="max_pixels" value=(edit.photo.max_pixels) min="100000" max="50000000"; }
                label.short { (t.cat_quality) input type="number" name="quality" value=(edit.photo.quality) min="30" max="95"; }
                label { (t.cat_max_bytes) input type="number" name="max_bytes" value=(edit.photo.max_bytes) min="50000" max="10000000"; }
            }
            fieldset {
                legend { (t.cat_fields) }
                table.fields {
                    thead { tr { th { (t.cat_field_key) } th { (t.cat_field_label) } th { (t.cat_field_kind) } th { (t.cat_required) } th { (t.cat_field_choices) } } }
                    tbody {
                        @for i in 0..rows {
                            @let f = edit.fields.get(i);
                            tr {
                                td { input type="text" name={"fk" (i)} value=(f.map_or("", |f| f.key.as_str())) maxlength="32" size="14"; }
                                td { input type="text" name={"fl" (i)} value=(f.map_or("", |f| f.label.as_str())) maxlength="32" size="14"; }
                                td { select name={"ft" (i)} {
                                    @for k in FIELD_KINDS {
                                        option value=(k) selected[f.is_some_and(|f| f.kind == *k)] { (kind_name(ctx, k)) }
                                    }
                                } }
                                td { input type="checkbox" name={"fr" (i)} value="1" checked[f.is_some_and(|f| f.required)]; }
                                td { input type="text" name={"fc" (i)} value=(f.map_or(String::new(), |f| f.choices.join("、"))) size="28"; }
                            }
                        }
                    }
                }
                p.hint { (t.cat_fields_hint) }
            }
            fieldset {
                legend { (t.cat_routing) }
                @for level in ROUTED_LEVELS {
                    @let chosen = edit.routing.iter().find(|(l, _)| l == level.as_str()).map(|(_, d)| d.as_str());
                    label { (level_name(ctx, level.as_str()))
                        select name={"rt_" (level.as_str())} {
                            option value="" { (t.none) }
                            @for d in departments {
                                option value=(d.code) selected[chosen == Some(d.code.as_str())] { (d.name) " (" (d.code) ")" }
                            }
                        }
                    }
                }
            }
            p.buttons { button.primary type="submit" id="catalog-publish" { (t.cat_publish) } }
            p.hint { (t.cat_publish_hint) }
        }
    };
    let mut r = frame(ctx, t.cat_title, body);
    *r.status_mut() = status;
    r
}

/// A number as a form gives it; anything else is out of every range (0).
fn num<T: std::str::FromStr + Default>(v: Option<&String>) -> T {
    v.and_then(|s| s.trim().parse().ok()).unwrap_or_default()
}

/// The edit a form describes (nothing checked yet: [`check`] does). `bad_unit` when the
/// unit is none of the three.
fn parse_form(pairs: &[(String, String)]) -> (CategoryEdit, bool) {
    let get: HashMap<&str, &String> = pairs.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let text = |k: &str| get.get(k).map(|s| clean_text(s)).unwrap_or_default();
    let unit = DeadlineUnit::parse(&text("unit"));
    let amount = text("deadline");
    let deadline = (!amount.is_empty()).then(|| Deadline {
        amount: amount.parse().unwrap_or(0),
        unit: unit.unwrap_or_default(),
    });
    // Every row the form sent (so too many is said, not cut), in its order.
    let rows: std::collections::BTreeSet<usize> = pairs
        .iter()
        .filter_map(|(k, _)| k.strip_prefix("fk").or_else(|| k.strip_prefix("fl")))
        .filter_map(|i| i.parse().ok())
        .collect();
    let mut fields = vec![];
    for i in rows {
        let key = text(&format!("fk{i}"));
        let label = text(&format!("fl{i}"));
        if key.is_empty() && label.is_empty() {
            continue;
        }
        let choices = text(&format!("fc{i}"));
        fields.push(CategoryField {
            key,
            label,
            kind: text(&format!("ft{i}")),
            required: get.contains_key(format!("fr{i}").as_str()),
            choices: choices
                .split(['、', ',', '，'])
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect(),
        });
    }
    let routing = pairs
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("rt_")?.to_string(), v.trim().to_string())))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let edit = CategoryEdit {
        name: text("name"),
        department: text("department"),
        deadline,
        yellow_pct: num(get.get("yellow").copied()),
        red_pct: num(get.get("red").copied()),
        photo: PhotoPolicy {
            min_photos: num(get.get("min_photos").copied()),
            max_pixels: num(get.get("max_pixels").copied()),
            quality: num(get.get("quality").copied()),
            max_bytes: num(get.get("max_bytes").copied()),
        },
        fields,
        routing,
    };
    (edit, unit.is_none() && !amount.is_empty())
}

/// Publish an edit of a 小类; then the catalog with a word of what happened.
pub async fn save(
    c: St,
    ctx: Ctx,
    Path(code): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    may_edit(&ctx)?;
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    ctx.check_csrf(csrf)?;
    if pairs.len() > 400 {
        return Err(ctx.failure(Kind::BadInput));
    }
    let version = pairs
        .iter()
        .find(|(k, _)| k == "version")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let (entries, departments) = load(&ctx, &c).await?;
    let e = entries
        .into_iter()
        .find(|e| e.code == code && e.level == 2)
        .ok_or(ctx.failure(Kind::NotFound))?;
    let (edit, bad_unit) = parse_form(&pairs);
    let known: Vec<String> = departments.iter().map(|d| d.code.clone()).collect();
    let mut problems = check(&edit, &known);
    if bad_unit {
        problems.insert(0, Problem::DeadlineUnit);
    }
    let t = ctx.t();
    if !problems.is_empty() {
        return Ok(form_page(
            &ctx,
            &e,
            &edit,
            &version,
            &departments,
            &problems,
            None,
            StatusCode::BAD_REQUEST,
        ));
    }
    let who = ctx.signed()?.clone();
    let hub = c.0.hub.clone();
    let (e2, v2) = (edit.clone(), version.clone());
    let code2 = code.clone();
    match blocking(move || hub.edit_category(&who, &code2, &e2, &v2)).await {
        Ok(changed) => {
            c.0.flash(&ctx.key, if changed { t.cat_done } else { t.cat_unchanged });
            Ok(Redirect::to("/catalog").into_response())
        }
        Err(HubError::Conflict(_)) => Ok(form_page(
            &ctx,
            &e,
            &e.edit,
            &e.version,
            &departments,
            &[],
            Some(t.cat_stale),
            StatusCode::CONFLICT,
        )),
        Err(e) => Err(ctx.fail(e)),
    }
}

//! 督办, automatic: every open task whose deadline colour has crossed a threshold (yellow,
//! red, overdue — measured as the device measures it, `WorkCalendar::colour`) gets a
//! reminder, once per threshold, to the accounts responsible for it and their
//! supervisor; so does every event a department holds (派遣至部门, due at its hop's
//! deadline), to the department's handlers and the supervisors above the dispatching
//! level. `gridhub serve` runs [`Hub::supervise`] every [`EVERY`] on the instance
//! holding the job's lease; `gridhub admin supervise` runs it once.
//!
//! Who is reminded: the task's assignee when it names an account, otherwise the field
//! staff accounts of its grid; and the supervisors nearest above the grid (the grid's
//! own node first, then up the tree). Each reminder is a record per account
//! ([`gridhub_store::Reminder`], [`Hub::reminders`]), an audit line (`event.supervise` on
//! the event the task handles, so the event's timeline shows it; `task.supervise` for a
//! task without one). The thresholds' marks, the reminders and the audit line are one
//! transaction: a crash leaves either all of them or none, and a threshold marked is
//! never reminded again.

use crate::audit::Actor;
use crate::authz::Principal;
use crate::deadlines::task_colour;
use crate::hub::{in_tx, Hub, HubResult};
use chrono::{DateTime, Utc};
use gridhub_store::{with_tx, Account, Reminder, Role, Row};
use gridpad_domain::codes::{DeadlineColour, EventStatus, TaskStatus};
use gridpad_proto::Entity;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

/// The job's lease name.
pub const JOB: &str = "supervise";
/// How often a serving hub looks.
pub const EVERY: Duration = Duration::from_secs(60);
/// Open tasks looked at per run, at most.
const MAX_TASKS: usize = 100_000;

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Supervised {
    /// Tasks reminded of a threshold newly crossed.
    pub tasks: usize,
    /// Events held by departments reminded of a threshold newly crossed.
    pub department_events: usize,
    /// Reminders written (one per account).
    pub reminders: usize,
}

fn threshold_name(c: DeadlineColour) -> &'static str {
    c.as_str()
}

fn threshold_words(c: DeadlineColour) -> &'static str {
    match c {
        DeadlineColour::Green => "",
        DeadlineColour::Yellow => "黄灯预警",
        DeadlineColour::Red => "红灯预警",
        DeadlineColour::Overdue => "已超期",
    }
}

/// The job's actor in the audit log.
fn actor() -> Actor {
    Actor {
        id: "system:supervise".into(),
        name: "自动督办".into(),
        role: "system".into(),
        node_id: String::new(),
        address: "hub".into(),
    }
}

/// A deadline watched: what its marks are kept under, who is reminded, what the reminder
/// and the audit line say.
struct Watched<'a> {
    /// The marks' entity and id: `task` and its id; `hop` and `<event>#<seq>`.
    mark: (&'static str, String),
    /// The reminder's record: `task` and its id, or `event` and its id.
    record: (&'static str, String),
    event: Option<String>,
    deadline_at: String,
    /// What is due ("处置: …", "城管中队：…").
    what: String,
    crossed: Vec<DeadlineColour>,
    to: Vec<(&'a Account, &'static str)>,
    /// The audit line's action, target and the record it names.
    audit: (&'static str, String, (&'static str, String)),
}

/// The thresholds `colour` has crossed.
fn crossed(colour: DeadlineColour) -> Vec<DeadlineColour> {
    [
        DeadlineColour::Yellow,
        DeadlineColour::Red,
        DeadlineColour::Overdue,
    ]
    .into_iter()
    .filter(|t| *t <= colour)
    .collect()
}

impl Hub {
    /// Remind, once per threshold crossed, of every open task's deadline and of every
    /// deadline a department holds an event under.
    pub fn supervise(&self) -> HubResult<Supervised> {
        let cal = self.calendar()?;
        let now_ms = self.now_ms();
        let now = DateTime::<Utc>::from_timestamp_millis(now_ms as i64).unwrap_or_default();
        let (tasks, categories, accounts, holds) = with_tx(self.store(), |tx| {
            Ok((
                tx.rows(Entity::Task, MAX_TASKS)?,
                tx.rows(Entity::CatalogCategory, 10_000)?,
                tx.accounts()?,
                tx.department_holds(MAX_TASKS)?,
            ))
        })?;
        let categories: HashMap<String, Row> = categories
            .into_iter()
            .filter(|r| !r.deleted)
            .map(|r| (r.row_id.clone(), r))
            .collect();
        let tree = self.org()?;
        let mut watched = vec![];
        for task in tasks.iter().filter(|t| !t.deleted) {
            let f = &task.fields;
            let s = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or_default();
            if !TaskStatus::parse(s("status")).is_some_and(TaskStatus::is_open) {
                continue;
            }
            let category = categories.get(s("category_code"));
            let Some(colour) = task_colour(&cal, task, category, now) else {
                continue;
            };
            // Who: the responsible accounts, then the nearest supervisors.
            let grid = s("grid_id");
            let assignee = s("assignee");
            let mut to: Vec<(&Account, &str)> = accounts
                .iter()
                .filter(|a| !a.disabled && !assignee.is_empty() && a.username == assignee)
                .map(|a| (a, "responsible"))
                .collect();
            if to.is_empty() {
                to.extend(
                    nearest(&accounts, &tree, grid, Role::FieldStaff, true)
                        .into_iter()
                        .map(|a| (a, "responsible")),
                );
            }
            to.extend(
                nearest(&accounts, &tree, grid, Role::Supervisor, false)
                    .into_iter()
                    .map(|a| (a, "supervisor")),
            );
            let event = f
                .get("source_event_id")
                .and_then(Value::as_str)
                .map(str::to_string);
            let audit = match &event {
                Some(e) => ("event.supervise", format!("event:{e}")),
                None => ("task.supervise", format!("task:{}", task.row_id)),
            };
            watched.push(Watched {
                mark: ("task", task.row_id.clone()),
                record: ("task", task.row_id.clone()),
                event,
                deadline_at: s("deadline_at").into(),
                what: s("title").into(),
                crossed: crossed(colour),
                to,
                audit: (audit.0, audit.1, ("task", task.row_id.clone())),
            });
        }
        // The events departments hold (派遣至部门), due at their hop's deadline.
        for hop in &holds {
            let Some(due) = hop
                .deadline_at
                .as_deref()
                .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
                .map(|d| d.with_timezone(&Utc))
            else {
                continue;
            };
            let Some(ev) = self
                .row(Entity::Event, &hop.event_id)?
                .filter(|r| !r.deleted)
            else {
                continue;
            };
            let s = |k: &str| ev.fields.get(k).and_then(Value::as_str).unwrap_or_default();
            if EventStatus::parse(s("status")) != Some(EventStatus::Dispatched) {
                continue;
            }
            let category = categories.get(s("category_code"));
            let unit = category
                .map(crate::deadlines::catalog_unit)
                .unwrap_or_default();
            let (yellow, red) = crate::deadlines::catalog_thresholds(category);
            let start =
                DateTime::<Utc>::from_timestamp_millis(hop.at_ms as i64).unwrap_or_default();
            let colour = cal.colour_or_clock(unit, start, due, now, yellow, red).0;
            let department = hop.department_id.as_deref().unwrap_or_default();
            let mut to: Vec<(&Account, &str)> = accounts
                .iter()
                .filter(|a| {
                    !a.disabled
                        && a.role == Role::DepartmentHandler
                        && a.department_id.as_deref() == Some(department)
                })
                .map(|a| (a, "responsible"))
                .collect();
            to.extend(
                nearest(&accounts, &tree, &hop.node_id, Role::Supervisor, false)
                    .into_iter()
                    .map(|a| (a, "supervisor")),
            );
            let name = with_tx(self.store(), |tx| tx.department(department))?
                .map(|d| d.name)
                .unwrap_or_default();
            watched.push(Watched {
                mark: ("hop", format!("{}#{}", hop.event_id, hop.seq)),
                record: ("event", hop.event_id.clone()),
                event: Some(hop.event_id.clone()),
                deadline_at: hop.deadline_at.clone().unwrap_or_default(),
                what: format!("{name}：{}", s("description")),
                crossed: crossed(colour),
                to,
                audit: (
                    "event.supervise",
                    format!("event:{}", hop.event_id),
                    ("department", department.to_string()),
                ),
            });
        }
        let mut done = Supervised::default();
        for w in watched.iter().filter(|w| !w.crossed.is_empty()) {
            if let Some(n) = self.remind(w, now_ms)? {
                match w.mark.0 {
                    "task" => done.tasks += 1,
                    _ => done.department_events += 1,
                }
                done.reminders += n;
            }
        }
        Ok(done)
    }

    /// Mark the thresholds newly crossed and remind of the worst: the marks, the reminders
    /// and the audit line in one transaction (none if every threshold was marked before).
    fn remind(&self, w: &Watched<'_>, now_ms: u64) -> HubResult<Option<usize>> {
        in_tx(self.store(), |tx| {
            let mut new = vec![];
            for t in &w.crossed {
                if tx.mark_threshold(w.mark.0, &w.mark.1, threshold_name(*t), now_ms)? {
                    new.push(*t);
                }
            }
            let Some(top) = new.last().copied() else {
                return Ok(None);
            };
            crate::crash::point("supervise.after_mark");
            let title = format!("{}：{}", threshold_words(top), w.what)
                .chars()
                .take(200)
                .collect::<String>();
            for (a, reason) in &w.to {
                tx.put_reminder(&Reminder {
                    id: uuid::Uuid::now_v7().to_string(),
                    account_id: a.id.clone(),
                    entity: w.record.0.into(),
                    record_id: w.record.1.clone(),
                    event_id: w.event.clone(),
                    threshold: threshold_name(top).into(),
                    reason: reason.to_string(),
                    at_ms: now_ms,
                    deadline_at: w.deadline_at.clone(),
                    title: title.clone(),
                })?;
            }
            let names: Vec<&str> = w.to.iter().map(|(a, _)| a.display_name.as_str()).collect();
            let (action, target, (kind, id)) = &w.audit;
            let mut after = json!({
                    "threshold": threshold_name(top),
                    "thresholds": new.iter().map(|t| threshold_name(*t)).collect::<Vec<_>>(),
                    "deadline_at": w.deadline_at, "to": names,
                    "note": format!("督办（{}）：处置时限 {}，已提醒 {}", threshold_words(top),
                                    w.deadline_at, if names.is_empty() { "—".to_string() } else { names.join("、") }),
            });
            after[*kind] = json!(id);
            self.audit(tx, &actor(), action, target, Value::Null, after)?;
            Ok(Some(w.to.len()))
        })
    }

    /// The reminders addressed to the account `who` signed in as, newest first.
    pub fn reminders(&self, who: &Principal, limit: usize) -> HubResult<Vec<Reminder>> {
        let id = who.actor.id.clone();
        Ok(with_tx(self.store(), |tx| tx.reminders_for(&id, limit))?)
    }
}

/// The enabled accounts of `role` at the node nearest to `grid` going up the tree (the grid
/// itself first) that has any; with `here_only`, at the grid's node alone.
fn nearest<'a>(
    accounts: &'a [Account],
    tree: &crate::org::OrgTree,
    grid: &str,
    role: Role,
    here_only: bool,
) -> Vec<&'a Account> {
    let mut path: Vec<String> = tree.path(grid).into_iter().map(|n| n.id.clone()).collect();
    if path.is_empty() {
        path.push(grid.to_string());
    }
    // `path` runs from the root down; look from the grid up.
    for (i, node) in path.iter().rev().enumerate() {
        if here_only && i > 0 {
            break;
        }
        let found: Vec<&Account> = accounts
            .iter()
            .filter(|a| !a.disabled && a.role == role && &a.node_id == node)
            .collect();
        if !found.is_empty() {
            return found;
        }
    }
    vec![]
}

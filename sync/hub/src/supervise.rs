//! 督办, automatic: every open task whose deadline colour has crossed a threshold (yellow,
//! red, overdue — measured as the device measures it, `WorkCalendar::colour`) gets a
//! reminder, once per threshold, to the accounts responsible for it and their
//! supervisor. `gridhub serve` runs [`Hub::supervise`] every [`EVERY`] on the instance
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
use gridpad_domain::codes::{DeadlineColour, TaskStatus};
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

impl Hub {
    /// Remind, once per threshold crossed, of every open task's deadline.
    pub fn supervise(&self) -> HubResult<Supervised> {
        let cal = self.calendar()?;
        let now_ms = self.now_ms();
        let now = DateTime::<Utc>::from_timestamp_millis(now_ms as i64).unwrap_or_default();
        let (tasks, categories, accounts) = with_tx(self.store(), |tx| {
            Ok((
                tx.rows(Entity::Task, MAX_TASKS)?,
                tx.rows(Entity::CatalogCategory, 10_000)?,
                tx.accounts()?,
            ))
        })?;
        let categories: HashMap<String, Row> = categories
            .into_iter()
            .filter(|r| !r.deleted)
            .map(|r| (r.row_id.clone(), r))
            .collect();
        let tree = self.org()?;
        let mut done = Supervised::default();
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
            let crossed: Vec<DeadlineColour> = [
                DeadlineColour::Yellow,
                DeadlineColour::Red,
                DeadlineColour::Overdue,
            ]
            .into_iter()
            .filter(|t| *t <= colour)
            .collect();
            if crossed.is_empty() {
                continue;
            }
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
            let n = in_tx(self.store(), |tx| {
                let mut new = vec![];
                for t in &crossed {
                    if tx.mark_threshold("task", &task.row_id, threshold_name(*t), now_ms)? {
                        new.push(*t);
                    }
                }
                let Some(top) = new.last().copied() else {
                    return Ok(None);
                };
                crate::crash::point("supervise.after_mark");
                let title = format!("{}：{}", threshold_words(top), s("title"))
                    .chars()
                    .take(200)
                    .collect::<String>();
                for (a, reason) in &to {
                    tx.put_reminder(&Reminder {
                        id: uuid::Uuid::now_v7().to_string(),
                        account_id: a.id.clone(),
                        entity: "task".into(),
                        record_id: task.row_id.clone(),
                        event_id: event.clone(),
                        threshold: threshold_name(top).into(),
                        reason: reason.to_string(),
                        at_ms: now_ms,
                        deadline_at: s("deadline_at").into(),
                        title: title.clone(),
                    })?;
                }
                let (action, target) = match &event {
                    Some(e) => ("event.supervise", format!("event:{e}")),
                    None => ("task.supervise", format!("task:{}", task.row_id)),
                };
                let names: Vec<&str> = to.iter().map(|(a, _)| a.display_name.as_str()).collect();
                self.audit(
                    tx,
                    &actor(),
                    action,
                    &target,
                    Value::Null,
                    json!({
                        "task": task.row_id, "threshold": threshold_name(top),
                        "thresholds": new.iter().map(|t| threshold_name(*t)).collect::<Vec<_>>(),
                        "deadline_at": s("deadline_at"), "to": names,
                        "note": format!("督办（{}）：处置时限 {}，已提醒 {}", threshold_words(top),
                                        s("deadline_at"), if names.is_empty() { "—".to_string() } else { names.join("、") }),
                    }),
                )?;
                Ok(Some(to.len()))
            })?;
            if let Some(n) = n {
                done.tasks += 1;
                done.reminders += n;
            }
        }
        Ok(done)
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

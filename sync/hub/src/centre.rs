//! The command centre's actions: importing base data, editing records, the event lifecycle
//! (受理, 派遣, 核查, 结案 …), tasks (notices: `notices.rs`). Every write is
//! checked against the entity's specification (gridpad-domain), as a device's is, so what
//! the centre publishes every device can apply.

use crate::authz::{Action, Principal};
use crate::hub::{fields_of, in_tx, rfc3339_ms, Hub, HubError, HubResult};
use crate::merge::merge;
use crate::scopes::scope_of;
use gridhub_store::*;
use gridpad_demo::{self as demo, DemoSpec, DemoSummary};
use gridpad_domain::codes::EventStatus;
use gridpad_domain::spec::{self, spec, Change, Kind, ScopeRule, Side};
use gridpad_domain::worktime::Deadline;
use gridpad_proto::wire::OpKind;
use gridpad_proto::{Entity, Fields, Hlc, Op, RemoteChange};
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub use crate::devices::DeviceHealth;

/// The hub-only field of a task that lists its handler's result photos (SHA-256).
pub const RESULT_PHOTOS: &str = "result_photos";

/// A task's result photos, as its handler's device sent them.
pub fn task_result_photos(row: &Row) -> Vec<String> {
    row.fields
        .get(RESULT_PHOTOS)
        .and_then(spec::photo_list)
        .unwrap_or_default()
}

/// A task checked and made, not yet written.
struct PreparedTask {
    id: String,
    hlc: Hlc,
    fields: Fields,
    photos: Vec<String>,
}

/// A task to create.
#[derive(Clone, Copy, Debug)]
pub struct NewTask<'a> {
    /// Grid id or code.
    pub grid: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    /// The time allowed; none: the catalog's for the source event's 小类 (refused when
    /// there is neither).
    pub deadline: Option<Deadline>,
    /// The event it handles (its photos become the task's reference photos).
    pub source_event: Option<&'a str>,
    pub assignee: Option<&'a str>,
}

/// The version of an event as a form shows it: a digest of its fields' clocks. Any write
/// to the event (a step by another dispatcher, the device's completion of its task) gives
/// a field a new clock, so a new version — even when a device's clock runs ahead of the
/// hub's and the newest clock stays the device's.
pub fn event_version(row: &Row) -> String {
    let clocks: String = row
        .field_hlc
        .iter()
        .map(|(k, h)| format!("{k}={h};"))
        .collect();
    crate::hub::sha256_hex(clocks.as_bytes())[..20].to_string()
}

/// Refuse when the event is no longer at the version the caller saw.
pub(crate) fn check_version(row: Option<&Row>, expected: Option<&str>) -> HubResult<()> {
    match (row, expected) {
        (Some(r), Some(v)) if event_version(r) != v => Err(HubError::Conflict(
            "the event changed since the form was loaded".into(),
        )),
        _ => Ok(()),
    }
}

/// Refuse a dispatcher's step on an event another level or a department holds (see
/// [`crate::handling`]).
fn require_dispatcher(tx: &mut dyn HubTx, who: &Principal, id: &str) -> HubResult<()> {
    let holding = crate::handling::Holding { hops: tx.hops(id)? };
    if holding.standing(who) == crate::handling::Standing::Dispatcher {
        Ok(())
    } else {
        Err(HubError::Forbidden(
            "the event is held by another level or department".into(),
        ))
    }
}

/// Every record a write references must exist at the hub, and a grid's record may only
/// reference records of the same grid (a device holds its grid only: a reference into
/// another grid could never be applied there).
pub(crate) fn check_refs(tx: &mut dyn HubTx, entity: Entity, fields: &Fields) -> HubResult<()> {
    let sp = spec(entity);
    let grid = fields.get("grid_id").and_then(Value::as_str);
    for f in sp.fields {
        let (Kind::Ref(target), Some(Value::String(id))) = (f.kind, fields.get(f.name)) else {
            continue;
        };
        if f.name == "grid_id" {
            let g = tx.row(Entity::Grid, id)?.filter(|r| !r.deleted);
            if g.is_none_or(|g| g.fields.get("level").and_then(Value::as_str) != Some("grid")) {
                return Err(HubError::BadRequest(format!(
                    "{entity}.grid_id: no grid {id}"
                )));
            }
            continue;
        }
        let Some(r) = tx.row(target, id)?.filter(|r| !r.deleted) else {
            return Err(HubError::BadRequest(format!(
                "{entity}.{}: no {target} {id}",
                f.name
            )));
        };
        if spec(target).scope == ScopeRule::GridField && sp.scope == ScopeRule::GridField {
            let theirs = r.fields.get("grid_id").and_then(Value::as_str);
            if theirs != grid {
                return Err(HubError::BadRequest(format!(
                    "{entity}.{}: {target} {id} is in another grid",
                    f.name
                )));
            }
        }
    }
    Ok(())
}

impl Hub {
    /// Import base data (the demo generator's output, or a city's export) as central
    /// records, honouring each record's operation: `insert` creates (or merges into an
    /// existing record), `update` changes an existing one, `delete` removes it. Each is
    /// checked as a device's write is; one bad record refuses the whole batch, naming it.
    pub fn import(&self, who: &Principal, changes: &[RemoteChange]) -> HubResult<()> {
        if who.role.is_some() {
            return Err(HubError::Forbidden(
                "imports are the administrator's".into(),
            ));
        }
        let r = in_tx(self.store(), |tx| {
            for (i, c) in changes.iter().enumerate() {
                self.import_one(tx, c).map_err(|e| {
                    HubError::BadRequest(format!(
                        "record {} ({} {}): {e}",
                        i + 1,
                        c.entity,
                        c.row_id
                    ))
                })?;
            }
            let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
            for c in changes {
                *counts
                    .entry(format!("{}.{}", c.entity, c.op.to_text()))
                    .or_default() += 1;
            }
            crate::crash::point("import.before_commit");
            self.audit(
                tx,
                &who.actor,
                "data.import",
                "base-data",
                Value::Null,
                json!(counts),
            )
        });
        if changes.iter().any(|c| c.entity == Entity::Grid) {
            self.org_changed();
        }
        r
    }

    fn import_one(&self, tx: &mut dyn HubTx, c: &RemoteChange) -> HubResult<()> {
        if !spec::is_record_id(&c.row_id) {
            return Err(HubError::BadRequest(
                "a record id is 1–64 letters, digits, - _ . :".into(),
            ));
        }
        let existing = tx.row(c.entity, &c.row_id)?.filter(|r| !r.deleted);
        match &c.op {
            Op::Insert | Op::Update => {
                if c.op == Op::Update && existing.is_none() {
                    return Err(HubError::NotFound("no such record to update".into()));
                }
                self.central_write(tx, c.entity, &c.row_id, c.fields.clone(), &c.hlc, None)
            }
            Op::Delete => {
                let Some(mut row) = existing else {
                    return Err(HubError::NotFound("no such record to delete".into()));
                };
                row.deleted = true;
                tx.put_row(&row)?;
                if row.scope.is_pulled() {
                    tx.append_op(
                        &row.scope,
                        c.entity,
                        &c.row_id,
                        &OpKind::Remove,
                        &Fields::new(),
                        &c.hlc,
                    )?;
                }
                Ok(())
            }
            Op::Command(_) => Err(HubError::BadRequest("an import has no commands".into())),
        }
    }

    /// Generate and import a demo town; returns what was generated.
    pub fn seed_demo(&self, who: &Principal, spec: DemoSpec) -> HubResult<DemoSummary> {
        demo::generate(spec, 5_000, |batch| self.import(who, &batch))
    }

    /// A central edit or creation of a record: checked against its specification and its
    /// references, merged per field (newest clock wins), logged in its scope. A record that
    /// moves scope is removed from the old one and sent whole to the new one.
    pub(crate) fn central_write(
        &self,
        tx: &mut dyn HubTx,
        entity: Entity,
        row_id: &str,
        fields: Fields,
        hlc: &Hlc,
        origin_device: Option<&str>,
    ) -> HubResult<()> {
        let existing = tx.row(entity, row_id)?;
        let change = match &existing {
            Some(r) if !r.deleted => Change::Update,
            _ => Change::Insert,
        };
        spec::check(entity, Side::Centre, change, &fields)
            .map_err(|p| HubError::BadRequest(p.to_string()))?;
        let mut row = existing.unwrap_or_else(|| Row::new(entity, row_id, Scope::Catalog));
        let old_scope = (change == Change::Update).then(|| row.scope.clone());
        row.deleted = false;
        let won = merge(&mut row, &fields, hlc).won;
        check_refs(tx, entity, &row.fields)?;
        row.scope = scope_of(entity, row_id, &row.fields, origin_device)
            .ok_or_else(|| HubError::BadRequest(format!("{entity} {row_id} has no scope")))?;
        tx.put_row(&row)?;
        if let Some(photos) = won.get(spec::PHOTOS) {
            tx.set_photo_refs(
                entity,
                row_id,
                &spec::photo_list(photos).unwrap_or_default(),
            )?;
        }
        match old_scope {
            Some(old) if old != row.scope => {
                if old.is_pulled() {
                    tx.append_op(&old, entity, row_id, &OpKind::Remove, &Fields::new(), hlc)?;
                }
                if row.scope.is_pulled() {
                    tx.append_op(&row.scope, entity, row_id, &OpKind::Put, &row.fields, hlc)?;
                }
            }
            _ if !won.is_empty() && row.scope.is_pulled() => {
                tx.append_op(&row.scope, entity, row_id, &OpKind::Put, &won, hlc)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Edit a record centrally (the centre corrects base data).
    pub fn central_edit(
        &self,
        who: &Principal,
        entity: Entity,
        row_id: &str,
        fields: Fields,
    ) -> HubResult<()> {
        let hlc = self.tick();
        in_tx(self.store(), |tx| {
            let Some(before) = tx.row(entity, row_id)?.filter(|r| !r.deleted) else {
                return Err(HubError::NotFound(format!("{entity} {row_id}")));
            };
            who.require_grid(
                before
                    .fields
                    .get("grid_id")
                    .and_then(Value::as_str)
                    .or(before.scope.grid()),
                &format!("{entity} {row_id}"),
            )?;
            self.central_write(tx, entity, row_id, fields.clone(), &hlc, None)?;
            let old: Fields = fields
                .keys()
                .filter_map(|k| before.fields.get(k).map(|v| (k.clone(), v.clone())))
                .collect();
            self.audit(
                tx,
                &who.actor,
                "data.edit",
                &format!("{entity}:{row_id}"),
                json!(old),
                json!(fields),
            )
        })
    }

    /// Resolve a grid given by id or code.
    pub fn grid_id(&self, grid: &str) -> HubResult<String> {
        let rows = with_tx(self.store(), |tx| tx.rows(Entity::Grid, 100_000))?;
        rows.into_iter()
            .find(|r| {
                !r.deleted
                    && (r.row_id == grid
                        || r.fields.get("code").and_then(Value::as_str) == Some(grid))
            })
            .map(|r| r.row_id)
            .ok_or_else(|| HubError::NotFound(format!("grid {grid}")))
    }

    pub fn events(&self, who: &Principal, limit: usize) -> HubResult<Vec<Row>> {
        who.require(Action::EventsRead)?;
        self.visible_rows(who, Entity::Event, limit)
    }

    /// The newest tasks `who` may see, at most `limit`.
    pub fn tasks(&self, who: &Principal, limit: usize) -> HubResult<Vec<Row>> {
        who.require(Action::TasksRead)?;
        self.visible_rows(who, Entity::Task, limit)
    }

    /// One task `who` may see (one of another area is as if it did not exist).
    pub fn task_for(&self, who: &Principal, id: &str) -> HubResult<Row> {
        who.require(Action::TasksRead)?;
        self.row(Entity::Task, id)?
            .filter(|r| !r.deleted)
            .filter(|r| {
                r.fields
                    .get("grid_id")
                    .and_then(Value::as_str)
                    .is_some_and(|g| who.sees_grid(g))
            })
            .ok_or_else(|| HubError::NotFound(format!("task {id:.40}")))
    }

    fn visible_rows(&self, who: &Principal, entity: Entity, limit: usize) -> HubResult<Vec<Row>> {
        let (rows, routed, held) = with_tx(self.store(), |tx| {
            let rows = tx.rows(entity, 100_000)?;
            // A department handler sees the events of the 小类 routed to its department, and
            // those dispatched to it.
            let held: BTreeSet<String> = match &who.department_id {
                Some(dep) if entity == Entity::Event => {
                    tx.held_by_department(dep)?.into_iter().collect()
                }
                _ => BTreeSet::new(),
            };
            let routed: Option<BTreeSet<String>> = match &who.department_id {
                Some(dep) if entity == Entity::Event => {
                    let code = tx
                        .departments()?
                        .into_iter()
                        .find(|d| &d.id == dep)
                        .map(|d| d.code);
                    Some(
                        tx.routing()?
                            .into_iter()
                            .filter(|r| Some(&r.department_code) == code.as_ref())
                            .map(|r| r.category_code)
                            .collect(),
                    )
                }
                _ => None,
            };
            Ok((rows, routed, held))
        })?;
        Ok(rows
            .into_iter()
            .filter(|r| !r.deleted)
            .filter(|r| {
                r.fields
                    .get("grid_id")
                    .and_then(Value::as_str)
                    .is_some_and(|g| who.sees_grid(g))
            })
            .filter(|r| {
                held.contains(&r.row_id)
                    || routed.as_ref().is_none_or(|cats| {
                        r.fields
                            .get("category_code")
                            .and_then(Value::as_str)
                            .is_some_and(|c| cats.contains(c))
                    })
            })
            .take(limit.min(10_000))
            .collect())
    }

    pub fn row(&self, entity: Entity, id: &str) -> HubResult<Option<Row>> {
        Ok(with_tx(self.store(), |tx| tx.row(entity, id))?)
    }

    /// Move an event along its lifecycle (受理, 派遣, 核查, 结案 …); the reporting device
    /// receives the step through its device scope.
    pub fn transition_event(
        &self,
        who: &Principal,
        id: &str,
        next: EventStatus,
        note: &str,
    ) -> HubResult<()> {
        self.transition_event_at(who, id, next, note, None)
    }

    /// [`Hub::transition_event`], only if the event is still at `expected` (its
    /// [`event_version`] when the form was made): a stale form, a second click or another
    /// dispatcher's step in between gets [`HubError::Conflict`] and changes nothing.
    pub fn transition_event_at(
        &self,
        who: &Principal,
        id: &str,
        next: EventStatus,
        note: &str,
        expected: Option<&str>,
    ) -> HubResult<()> {
        who.require(Action::EventsHandle)?;
        let hlc = self.tick();
        let now = self.now_ms();
        in_tx(self.store(), |tx| {
            let ev = tx.row(Entity::Event, id)?.filter(|r| !r.deleted);
            let grid = ev
                .as_ref()
                .and_then(|r| r.fields.get("grid_id"))
                .and_then(Value::as_str);
            who.require_grid(grid, &format!("event {id:.40}"))?;
            require_dispatcher(tx, who, id)?;
            check_version(ev.as_ref(), expected)?;
            let before = ev
                .as_ref()
                .and_then(|r| r.fields.get("status"))
                .cloned()
                .unwrap_or(Value::Null);
            self.transition_in(tx, id, next, &who.actor.name, note, &hlc, now)?;
            self.audit(
                tx,
                &who.actor,
                &format!("event.{next}"),
                &format!("event:{id}"),
                json!({"status": before}),
                json!({"status": next.as_str(), "note": note}),
            )
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn transition_in(
        &self,
        tx: &mut dyn HubTx,
        id: &str,
        next: EventStatus,
        actor: &str,
        note: &str,
        hlc: &Hlc,
        now: u64,
    ) -> HubResult<()> {
        if actor.chars().count() > 64 || note.chars().count() > 2_000 {
            return Err(HubError::BadRequest(
                "an actor of at most 64 characters and a note of at most 2,000".into(),
            ));
        }
        let mut row = tx
            .row(Entity::Event, id)?
            .filter(|r| !r.deleted)
            .ok_or_else(|| HubError::NotFound(format!("event {id}")))?;
        let current = row
            .fields
            .get("status")
            .and_then(Value::as_str)
            .and_then(EventStatus::parse)
            .unwrap_or(EventStatus::Reported);
        if !current.can_become(next) {
            return Err(HubError::BadRequest(format!(
                "an event that is {current} cannot become {next}"
            )));
        }
        row.fields.insert("status".into(), json!(next.as_str()));
        row.field_hlc.insert("status".into(), hlc.clone());
        tx.put_row(&row)?;
        let args = fields_of(
            json!({"status": next.as_str(), "actor": actor, "note": note, "at": rfc3339_ms(now)}),
        );
        tx.append_op(
            &row.scope,
            Entity::Event,
            id,
            &OpKind::Command("transition".into()),
            &args,
            hlc,
        )?;
        Ok(())
    }

    /// Create a task for a grid (or a person in it), optionally from an event.
    pub fn create_task(&self, who: &Principal, t: &NewTask<'_>) -> HubResult<String> {
        let p = self.prepare_task(who, t)?;
        in_tx(self.store(), |tx| self.write_task(tx, who, &p))?;
        Ok(p.id)
    }

    /// A task's checks and record, before its transaction.
    fn prepare_task(&self, who: &Principal, t: &NewTask<'_>) -> HubResult<PreparedTask> {
        let NewTask {
            grid,
            title,
            body,
            deadline,
            source_event,
            assignee,
        } = *t;
        who.require(Action::TasksWrite)?;
        let grid_id = self.grid_id(grid)?;
        who.require_grid(Some(&grid_id), &format!("grid {grid:.40}"))?;
        let id = uuid::Uuid::now_v7().to_string();
        let hlc = self.tick();
        let now = self.now_ms();
        let source = match source_event {
            Some(e) => Some(
                self.row(Entity::Event, e)?
                    .ok_or_else(|| HubError::NotFound(format!("event {e}")))?,
            ),
            None => None,
        };
        let category = source
            .as_ref()
            .and_then(|r| r.fields.get("category_code").cloned());
        let (_, due) = self.step_due(category.as_ref().and_then(Value::as_str), deadline, now)?;
        let fields = fields_of(json!({
            "grid_id": grid_id, "assignee": assignee, "title": title, "body": body,
            "source_event_id": source_event, "category_code": category, "status": "assigned", "priority": 0,
            "created_at": rfc3339_ms(now), "deadline_at": due,
        }));
        // The report's photos are the task's reference photos: the grid's devices may fetch
        // them (the index only; devices of this protocol take no `photos` on a task).
        let photos = source
            .as_ref()
            .and_then(|r| r.fields.get(spec::PHOTOS))
            .and_then(spec::photo_list)
            .unwrap_or_default();
        Ok(PreparedTask {
            id,
            hlc,
            fields,
            photos,
        })
    }

    /// Write a prepared task (in the caller's transaction).
    fn write_task(&self, tx: &mut dyn HubTx, who: &Principal, p: &PreparedTask) -> HubResult<()> {
        self.central_write(tx, Entity::Task, &p.id, p.fields.clone(), &p.hlc, None)?;
        if !p.photos.is_empty() {
            tx.set_photo_refs(Entity::Task, &p.id, &p.photos)?;
        }
        self.audit(
            tx,
            &who.actor,
            "task.create",
            &format!("task:{}", p.id),
            Value::Null,
            json!(p.fields),
        )
    }

    /// 派遣: dispatch an accepted event back to its grid as a task, due after `deadline`
    /// or, when none is given, after the catalog's deadline for the event's 小类 (counted
    /// on the working-time calendar when the catalog says working hours or days).
    pub fn dispatch_event(
        &self,
        who: &Principal,
        event_id: &str,
        deadline: Option<Deadline>,
    ) -> HubResult<String> {
        self.dispatch_event_at(who, event_id, deadline, "派遣至网格处置", None)
    }

    /// [`Hub::dispatch_event`] with the step's note, only if the event is still at
    /// `expected` (see [`Hub::transition_event_at`]). Also 退回: a handled event whose
    /// verification failed goes back to its grid as a new task.
    pub fn dispatch_event_at(
        &self,
        who: &Principal,
        event_id: &str,
        deadline: Option<Deadline>,
        note: &str,
        expected: Option<&str>,
    ) -> HubResult<String> {
        who.require(Action::EventsHandle)?;
        let ev = self
            .row(Entity::Event, event_id)?
            .filter(|r| !r.deleted)
            .ok_or_else(|| HubError::NotFound(format!("event {event_id:.40}")))?;
        who.require_grid(
            ev.fields.get("grid_id").and_then(Value::as_str),
            &format!("event {event_id:.40}"),
        )?;
        let text = |k: &str| {
            ev.fields
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (grid, desc) = (text("grid_id"), text("description"));
        let title: String = format!("处置: {desc}").chars().take(200).collect();
        let task = self.prepare_task(
            who,
            &NewTask {
                grid: &grid,
                title: &title,
                body: &desc,
                deadline,
                source_event: Some(event_id),
                assignee: None,
            },
        )?;
        // The event's step and its task in one transaction: all or nothing.
        let hlc = self.tick();
        let now = self.now_ms();
        in_tx(self.store(), |tx| {
            let current = tx.row(Entity::Event, event_id)?.filter(|r| !r.deleted);
            require_dispatcher(tx, who, event_id)?;
            check_version(current.as_ref(), expected)?;
            let before = current
                .and_then(|r| r.fields.get("status").cloned())
                .unwrap_or(Value::Null);
            let next = EventStatus::Dispatched;
            self.transition_in(tx, event_id, next, &who.actor.name, note, &hlc, now)?;
            self.audit(
                tx,
                &who.actor,
                &format!("event.{next}"),
                &format!("event:{event_id}"),
                json!({"status": before}),
                json!({"status": next.as_str(), "note": note}),
            )?;
            crate::crash::point("dispatch.after_transition");
            self.write_task(tx, who, &task)
        })?;
        Ok(task.id)
    }
}

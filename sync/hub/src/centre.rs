//! The command centre's actions: importing base data, editing records, the event lifecycle
//! (受理, 派遣, 核查, 结案 …), tasks, notices, enrollment codes, devices. Every write is
//! checked against the entity's specification (gridpad-domain), as a device's is, so what
//! the centre publishes every device can apply.

use crate::hub::{fields_of, in_tx, rfc3339_ms, sha256_hex, Hub, HubError, HubResult};
use crate::merge::merge;
use crate::scopes::scope_of;
use gridhub_store::*;
use gridpad_demo::{self as demo, DemoSpec, DemoSummary};
use gridpad_domain::codes::EventStatus;
use gridpad_domain::spec::{self, spec, Change, Kind, ScopeRule, Side};
use gridpad_proto::wire::OpKind;
use gridpad_proto::{Entity, Fields, Hlc, Op, RemoteChange};
use serde::Serialize;
use serde_json::{json, Value};

/// A device's row in the health list.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceHealth {
    pub device_id: String,
    pub label: String,
    pub user: String,
    pub grids: Vec<String>,
    pub status: DeviceStatus,
    pub last_seen_ms: u64,
    pub app_version: String,
    pub queue_len: u64,
    pub oldest_pending_s: u64,
    pub dead_letters: u64,
    pub clock_offset_ms: i64,
    pub last_seq: u64,
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
    pub fn import(&self, changes: &[RemoteChange]) -> HubResult<()> {
        in_tx(self.store(), |tx| {
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
            Ok(())
        })
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
    pub fn seed_demo(&self, spec: DemoSpec) -> HubResult<DemoSummary> {
        demo::generate(spec, 5_000, |batch| self.import(&batch))
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
    pub fn central_edit(&self, entity: Entity, row_id: &str, fields: Fields) -> HubResult<()> {
        let hlc = self.tick();
        in_tx(self.store(), |tx| {
            if tx.row(entity, row_id)?.is_none_or(|r| r.deleted) {
                return Err(HubError::NotFound(format!("{entity} {row_id}")));
            }
            self.central_write(tx, entity, row_id, fields.clone(), &hlc, None)
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

    /// Issue a one-time enrollment code for a device of `user` working `grids`.
    pub fn issue_code(
        &self,
        user: &str,
        label: &str,
        grids: &[String],
        ttl_days: u64,
    ) -> HubResult<String> {
        if user.trim().is_empty() || user.chars().count() > 64 || label.chars().count() > 64 {
            return Err(HubError::BadRequest(
                "a user name (1–64 characters) and a label of at most 64".into(),
            ));
        }
        if grids.is_empty() || grids.len() > 64 {
            return Err(HubError::BadRequest(
                "an enrollment code needs 1–64 grids".into(),
            ));
        }
        let grids = grids
            .iter()
            .map(|g| self.grid_id(g))
            .collect::<HubResult<Vec<_>>>()?;
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let raw: String = self
            .random(12)
            .iter()
            .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
            .collect();
        let code = format!("{}-{}-{}", &raw[..4], &raw[4..8], &raw[8..]);
        let rec = EnrollmentCode {
            code_hash: sha256_hex(crate::auth::normalise_code(&code).as_bytes()),
            user: user.to_string(),
            label: label.to_string(),
            grids,
            expires_ms: self.now_ms() + ttl_days.clamp(1, 90) * 86_400_000,
            used_by: None,
        };
        with_tx(self.store(), |tx| tx.put_code(&rec))?;
        Ok(code)
    }

    pub fn events(&self, limit: usize) -> HubResult<Vec<Row>> {
        Ok(with_tx(self.store(), |tx| {
            tx.rows(Entity::Event, limit.min(10_000))
        })?)
    }

    pub fn tasks(&self, limit: usize) -> HubResult<Vec<Row>> {
        Ok(with_tx(self.store(), |tx| {
            tx.rows(Entity::Task, limit.min(10_000))
        })?)
    }

    pub fn row(&self, entity: Entity, id: &str) -> HubResult<Option<Row>> {
        Ok(with_tx(self.store(), |tx| tx.row(entity, id))?)
    }

    /// Move an event along its lifecycle (受理, 派遣, 核查, 结案 …); the reporting device
    /// receives the step through its device scope.
    pub fn transition_event(
        &self,
        id: &str,
        next: EventStatus,
        actor: &str,
        note: &str,
    ) -> HubResult<()> {
        let hlc = self.tick();
        let now = self.now_ms();
        in_tx(self.store(), |tx| {
            self.transition_in(tx, id, next, actor, note, &hlc, now)
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
    pub fn create_task(
        &self,
        grid: &str,
        title: &str,
        body: &str,
        deadline_hours: u64,
        source_event: Option<&str>,
        assignee: Option<&str>,
    ) -> HubResult<String> {
        let grid_id = self.grid_id(grid)?;
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
        let hours = deadline_hours.clamp(1, 24 * 366);
        let fields = fields_of(json!({
            "grid_id": grid_id, "assignee": assignee, "title": title, "body": body,
            "source_event_id": source_event, "category_code": category, "status": "assigned", "priority": 0,
            "created_at": rfc3339_ms(now), "deadline_at": rfc3339_ms(now + hours * 3_600_000),
        }));
        // The report's photos are the task's reference photos: the grid's devices may fetch
        // them (the index only; devices of this protocol take no `photos` on a task).
        let photos = source
            .as_ref()
            .and_then(|r| r.fields.get(spec::PHOTOS))
            .and_then(spec::photo_list)
            .unwrap_or_default();
        in_tx(self.store(), |tx| {
            self.central_write(tx, Entity::Task, &id, fields.clone(), &hlc, None)?;
            if !photos.is_empty() {
                tx.set_photo_refs(Entity::Task, &id, &photos)?;
            }
            Ok(())
        })?;
        Ok(id)
    }

    /// 派遣: dispatch an accepted event back to its grid as a task.
    pub fn dispatch_event(
        &self,
        event_id: &str,
        actor: &str,
        deadline_hours: u64,
    ) -> HubResult<String> {
        let ev = self
            .row(Entity::Event, event_id)?
            .ok_or_else(|| HubError::NotFound(format!("event {event_id}")))?;
        let text = |k: &str| {
            ev.fields
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (grid, desc) = (text("grid_id"), text("description"));
        self.transition_event(event_id, EventStatus::Dispatched, actor, "派遣至网格处置")?;
        let title: String = format!("处置: {desc}").chars().take(200).collect();
        self.create_task(&grid, &title, &desc, deadline_hours, Some(event_id), None)
    }

    pub fn create_notice(&self, title: &str, body: &str) -> HubResult<String> {
        let id = uuid::Uuid::now_v7().to_string();
        let hlc = self.tick();
        let fields = fields_of(
            json!({"title": title, "body": body, "published_at": rfc3339_ms(self.now_ms()), "area": ""}),
        );
        in_tx(self.store(), |tx| {
            self.central_write(tx, Entity::Notice, &id, fields.clone(), &hlc, None)
        })?;
        Ok(id)
    }

    pub fn device_health(&self) -> HubResult<Vec<DeviceHealth>> {
        let devices = with_tx(self.store(), |tx| tx.devices())?;
        Ok(devices
            .into_iter()
            .map(|d| DeviceHealth {
                device_id: d.device_id,
                label: d.label,
                user: d.user,
                grids: d.grids,
                status: d.status,
                last_seen_ms: d.last_seen_ms,
                app_version: d.app_version,
                queue_len: d.health.queue_len,
                oldest_pending_s: d.health.oldest_pending_s,
                dead_letters: d.health.dead_letters,
                clock_offset_ms: d.clock_offset_ms,
                last_seq: d.last_seq,
            })
            .collect())
    }

    /// Lock or wipe a lost device (it obeys on its next contact), or make it active again.
    pub fn set_device_status(&self, device_id: &str, status: &str) -> HubResult<()> {
        let status = DeviceStatus::parse(status)
            .ok_or_else(|| HubError::BadRequest(format!("unknown device status {status:.20}")))?;
        in_tx(self.store(), |tx| match tx.device(device_id)? {
            Some(mut d) => {
                if d.status == DeviceStatus::Wiped && status != DeviceStatus::Wiped {
                    return Err(HubError::BadRequest(
                        "a wiped device stays wiped; enroll the device again with a new code"
                            .into(),
                    ));
                }
                d.status = status;
                tx.put_device(&d)?;
                Ok(())
            }
            None => Err(HubError::NotFound(format!("device {device_id:.40}"))),
        })
    }
}

//! Pushed mutations and their verdicts. In one transaction per exchange: a mutation the hub
//! has seen (same sequence number *and* mutation id) gets its stored verdict again; the next
//! one is checked — against its entity's specification, the device's grids, the records it
//! references, who owns the record — and applied by its entity's flow; a gap or a reused
//! sequence number is a 409 with the sequence number the hub expects.

use crate::centre::check_refs;
use crate::hub::{Hub, HubError, HubResult, MAX_DRIFT_MS};
use crate::merge::merge;
use crate::org::OrgTree;
use crate::scopes::{in_grids, scopes_of};
use gridhub_store::*;
use gridpad_domain::codes::{EventStatus, TaskCommand, TaskStatus};
use gridpad_domain::spec::{self, spec, Change, Flow, Side};
use gridpad_domain::specs::NEW_REPORT_STATUSES;
use gridpad_proto::wire::*;
use gridpad_proto::{Entity, Fields, Mutation, Op};
use serde_json::{json, Value};

/// The op that tells a device another device's later edit replaced its value (the device
/// store keeps it as a conflict notice).
const SUPERSEDED: &str = "superseded";

/// The longest mutation id the hub keeps (a UUID has 36 characters).
const MAX_MUTATION_ID: usize = 64;

/// The longest `last_error` a device may report (characters).
const MAX_ERROR_TEXT: usize = 500;

fn verdict(seq: u64, status: Status, hlc: Option<gridpad_proto::Hlc>) -> Verdict {
    Verdict {
        seq,
        status,
        reason: None,
        hlc,
        conflicts: vec![],
        canonical: Fields::new(),
    }
}

fn reject(seq: u64, reason: impl Into<String>) -> Verdict {
    Verdict {
        reason: Some(reason.into()),
        ..verdict(seq, Status::Rejected, None)
    }
}

/// A string a device said about itself, as the centre may show it: control characters
/// (terminal escapes, bells, line breaks) dropped, at most `max` characters.
pub(crate) fn printable(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

fn text<'a>(f: &'a Fields, k: &str) -> Option<&'a str> {
    f.get(k).and_then(Value::as_str)
}

/// The hub's current values of the base-data fields `m` touched, if the device may read
/// the record.
fn canonical(tx: &mut dyn HubTx, dev: &DeviceRecord, m: &Mutation) -> StoreResult<Fields> {
    if spec(m.entity).flow != Flow::BaseData {
        return Ok(Fields::new());
    }
    let Some(row) = tx.row(m.entity, &m.row_id)? else {
        return Ok(Fields::new());
    };
    if row.deleted || !in_grids(dev, text(&row.fields, "grid_id")) {
        return Ok(Fields::new());
    }
    Ok(m.fields
        .keys()
        .filter_map(|k| row.fields.get(k).map(|v| (k.clone(), v.clone())))
        .collect())
}

impl Hub {
    /// Verdicts for the pushed mutations; the device record as it stands afterwards.
    pub(super) fn push(
        &self,
        device_id: &str,
        req: &SyncRequest,
        now: u64,
    ) -> HubResult<(DeviceRecord, Vec<Verdict>)> {
        let mut verdicts = vec![];
        let mut gap = None;
        // Mutations taken in for the first time (not re-sent ones), for the metrics.
        let mut fresh: Vec<Status> = vec![];
        // Read before the transaction (a notice's read receipt asks where the device is).
        let tree = self.org()?;
        let device = crate::hub::in_tx(self.store(), |tx| {
            verdicts.clear();
            fresh.clear();
            gap = None;
            let mut dev = tx
                .device(device_id)?
                .ok_or_else(|| HubError::Unauthorized("unknown device".into()))?;
            if dev.status == DeviceStatus::Active {
                self.resume_after_restore(tx, &mut dev, req)?;
                for m in &req.push {
                    if m.seq <= dev.last_seq {
                        // Re-sent (the answer was lost): the same verdict again, with today's
                        // values — but only for the very same mutation. A reused sequence
                        // number with another mutation id (a device whose storage went back)
                        // is never acknowledged: the device must number it anew.
                        match tx.stored_verdict(device_id, m.seq)? {
                            Some((id, json)) if id == m.mutation_id => {
                                let mut v: Verdict = serde_json::from_str(&json)
                                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                                v.canonical = canonical(tx, &dev, m)?;
                                verdicts.push(v);
                                continue;
                            }
                            Some(_) => {
                                gap = Some((dev.last_seq + 1, m.seq));
                                break;
                            }
                            // Before the hub kept verdicts, or skipped as lost (see below).
                            None => {
                                let mut v = verdict(m.seq, Status::Duplicate, None);
                                v.canonical = canonical(tx, &dev, m)?;
                                verdicts.push(v);
                                continue;
                            }
                        }
                    }
                    if m.seq != dev.last_seq + 1 {
                        if verdicts.is_empty() && m.seq > dev.last_seq + 1 {
                            self.note_ahead(tx, &mut dev, m.seq, now)?;
                        }
                        gap = Some((dev.last_seq + 1, m.seq));
                        break;
                    }
                    dev.ahead = None;
                    if m.mutation_id.is_empty() || m.mutation_id.len() > MAX_MUTATION_ID {
                        // Not an idempotency key the hub keeps: refused, not recorded.
                        dev.last_seq = m.seq;
                        verdicts.push(reject(
                            m.seq,
                            format!("a mutation id has 1 to {MAX_MUTATION_ID} bytes"),
                        ));
                        continue;
                    }
                    let v = if tx.mutation_seen(&m.mutation_id)? {
                        let mut v = verdict(m.seq, Status::Duplicate, None);
                        v.canonical = canonical(tx, &dev, m)?;
                        v
                    } else {
                        let mut v = self.apply_mutation(tx, &dev, &tree, m, now)?;
                        fresh.push(v.status);
                        let json = serde_json::to_string(&v).expect("verdict serialises");
                        tx.record_mutation(&m.mutation_id, device_id, m.seq, &json)?;
                        v.canonical = canonical(tx, &dev, m)?;
                        v
                    };
                    dev.last_seq = m.seq;
                    verdicts.push(v);
                }
            }
            crate::crash::point("push.after_verdicts");
            dev.last_seen_ms = now;
            dev.app_version = printable(&req.app_version, 64);
            dev.health = req.health.clone();
            dev.health.last_error = dev
                .health
                .last_error
                .take()
                .map(|e| printable(&e, MAX_ERROR_TEXT));
            dev.clock_offset_ms =
                (req.device_time_ms.min(i64::MAX as u64) as i64).saturating_sub(now as i64);
            tx.put_device(&dev)?;
            Ok(dev)
        })?;
        crate::crash::point("push.after_commit");
        for s in &fresh {
            self.metrics.mutation(match s {
                Status::Applied => "applied",
                Status::Merged => "merged",
                Status::Duplicate => "duplicate",
                Status::Rejected => "rejected",
            });
        }
        if let Some((expected, offered)) = gap {
            if verdicts.is_empty() {
                return Err(HubError::SeqGap {
                    expected,
                    offered: Some(offered),
                });
            }
        }
        Ok((device, verdicts))
    }

    /// The device offered `offered`, beyond what the hub expects: the hub has forgotten
    /// mutations it acknowledged (restored from a backup). Kept on the device record (the
    /// centre's device health shows it) and written to the audit log once per episode.
    fn note_ahead(
        &self,
        tx: &mut dyn HubTx,
        dev: &mut DeviceRecord,
        offered: u64,
        now: u64,
    ) -> HubResult<()> {
        let expected = dev.last_seq + 1;
        let episode = match &mut dev.ahead {
            // The same episode (asked again, or offering another number): one audit line
            // per episode, so a device cannot flood the log.
            Some(a) if a.expected_seq == expected => {
                a.offered_seq = offered;
                return Ok(());
            }
            _ => AheadOfHub {
                expected_seq: expected,
                offered_seq: offered,
                since_ms: now,
            },
        };
        dev.ahead = Some(episode);
        self.audit(
            tx,
            &crate::audit::Actor::device(dev),
            "device.ahead_of_hub",
            &format!("device:{}", dev.device_id),
            Value::Null,
            json!({"expected_seq": expected, "offered_seq": offered,
                   "meaning": "the hub forgot acknowledged mutations (restored from a backup?)"}),
        )
    }

    /// `resume_from`: a device ahead of a restored hub that no longer holds the mutations
    /// the hub expects asks it to go on from its oldest one. Taken only when it is beyond
    /// what the hub expects (never back), within bounds, and the push starts with it; the
    /// skipped numbers are recorded as lost.
    fn resume_after_restore(
        &self,
        tx: &mut dyn HubTx,
        dev: &mut DeviceRecord,
        req: &SyncRequest,
    ) -> HubResult<()> {
        let Some(from) = req.resume_from else {
            return Ok(());
        };
        let expected = dev.last_seq + 1;
        if from <= expected || from > MAX_SEQ || req.push.first().map(|m| m.seq) != Some(from) {
            return Ok(());
        }
        let lost = (expected, from - 1);
        dev.lost_seqs.push(lost);
        let over = dev.lost_seqs.len().saturating_sub(MAX_LOST_RANGES);
        dev.lost_seqs.drain(..over);
        dev.last_seq = from - 1;
        dev.ahead = None;
        self.audit(
            tx,
            &crate::audit::Actor::device(dev),
            "device.resumed_after_restore",
            &format!("device:{}", dev.device_id),
            Value::Null,
            json!({"lost_from": lost.0, "lost_to": lost.1,
                   "meaning": "mutations the hub had acknowledged before its restore and the device no longer holds"}),
        )
    }

    /// Check and apply one new mutation; a refusal is a verdict, not an error.
    fn apply_mutation(
        &self,
        tx: &mut dyn HubTx,
        dev: &DeviceRecord,
        tree: &OrgTree,
        m: &Mutation,
        now: u64,
    ) -> HubResult<Verdict> {
        let sp = spec(m.entity);
        let change = match &m.op {
            Op::Insert => Change::Insert,
            Op::Update => Change::Update,
            Op::Delete => Change::Update,
            Op::Command(c) => Change::Command(c),
        };
        if !spec::is_record_id(&m.row_id) {
            return Ok(reject(
                m.seq,
                "a record id is 1–64 letters, digits, - _ . :",
            ));
        }
        if m.op != Op::Delete {
            if let Err(p) = spec::check(m.entity, Side::Device, change, &m.fields) {
                return Ok(reject(m.seq, p.to_string()));
            }
        }
        // The device's clock, clamped to the hub's + 5 min, and always under the device's
        // own name: a clock naming the centre or another device is not believed.
        let mut hlc = m.hlc.clamped(now, MAX_DRIFT_MS);
        hlc.node = dev.device_id.clone();
        let existing = tx.row(m.entity, &m.row_id)?;
        let refs = |tx: &mut dyn HubTx, f: &Fields| -> HubResult<Option<Verdict>> {
            match check_refs(tx, m.entity, f) {
                Ok(()) => Ok(None),
                Err(HubError::BadRequest(why)) => Ok(Some(reject(m.seq, why))),
                Err(e) => Err(e),
            }
        };
        match (sp.flow, &m.op) {
            (Flow::BaseData, Op::Insert | Op::Update) => {
                let old_grid = existing
                    .as_ref()
                    .filter(|r| !r.deleted)
                    .and_then(|r| text(&r.fields, "grid_id").map(str::to_string));
                let new_grid = text(&m.fields, "grid_id")
                    .map(str::to_string)
                    .or(old_grid.clone());
                if m.op == Op::Update && existing.as_ref().is_none_or(|r| r.deleted) {
                    return Ok(reject(
                        m.seq,
                        format!("{} {} does not exist at the centre", m.entity, m.row_id),
                    ));
                }
                if !in_grids(dev, new_grid.as_deref())
                    || (old_grid.is_some() && !in_grids(dev, old_grid.as_deref()))
                {
                    return Ok(reject(m.seq, "outside this device's grids"));
                }
                let new_scope = Scope::Grid(new_grid.unwrap_or_default());
                let (mut row, old_scope) = match existing {
                    Some(r) if !r.deleted => {
                        let old = r.scope.clone();
                        (r, Some(old))
                    }
                    // A new record (or one deleted and made again) needs all it requires,
                    // and starts afresh.
                    _ => {
                        if let Err(p) =
                            spec::check(m.entity, Side::Device, Change::Insert, &m.fields)
                        {
                            return Ok(reject(m.seq, p.to_string()));
                        }
                        (Row::new(m.entity, &m.row_id, new_scope.clone()), None)
                    }
                };
                let merged = merge(&mut row, &m.fields, &hlc);
                if let Some(v) = refs(tx, &row.fields)? {
                    return Ok(v);
                }
                row.scope = new_scope;
                row.deleted = false;
                tx.put_row(&row)?;
                if let Some(old_scope) = old_scope.filter(|s| *s != row.scope) {
                    tx.append_op(
                        &old_scope,
                        m.entity,
                        &m.row_id,
                        &OpKind::Remove,
                        &Fields::new(),
                        &hlc,
                    )?;
                    tx.append_op(
                        &row.scope,
                        m.entity,
                        &m.row_id,
                        &OpKind::Put,
                        &row.fields,
                        &hlc,
                    )?;
                } else if !merged.won.is_empty() {
                    tx.append_op(
                        &row.scope,
                        m.entity,
                        &m.row_id,
                        &OpKind::Put,
                        &merged.won,
                        &hlc,
                    )?;
                }
                // A device whose value this edit replaced hears of it, whichever synced first.
                for (field, old, old_hlc) in &merged.replaced {
                    if old_hlc.node == dev.device_id || crate::service::is_hub_node(&old_hlc.node) {
                        continue;
                    }
                    let Some(loser) = tx.device(&old_hlc.node)? else {
                        continue;
                    };
                    let notice = crate::hub::fields_of(json!({
                        "field": field, "device_lost": true, "other_value": m.fields.get(field),
                        "other_hlc": hlc, "other_by": dev.user, "your_value": old,
                    }));
                    tx.append_op(
                        &crate::scopes::reports_scope(&loser),
                        m.entity,
                        &m.row_id,
                        &OpKind::Command(SUPERSEDED.into()),
                        &notice,
                        &hlc,
                    )?;
                }
                Ok(Verdict {
                    seq: m.seq,
                    status: if merged.lost.is_empty() {
                        Status::Applied
                    } else {
                        Status::Merged
                    },
                    reason: None,
                    hlc: Some(hlc),
                    conflicts: merged.lost,
                    canonical: Fields::new(),
                })
            }
            (Flow::BaseData, Op::Delete) => {
                let Some(mut row) = existing.filter(|r| !r.deleted) else {
                    return Ok(reject(m.seq, "no such record"));
                };
                if !in_grids(dev, text(&row.fields, "grid_id")) {
                    return Ok(reject(m.seq, "outside this device's grids"));
                }
                row.deleted = true;
                tx.put_row(&row)?;
                tx.append_op(
                    &row.scope,
                    m.entity,
                    &m.row_id,
                    &OpKind::Remove,
                    &Fields::new(),
                    &hlc,
                )?;
                Ok(verdict(m.seq, Status::Applied, Some(hlc)))
            }
            (Flow::Report, Op::Insert) => {
                if let Some(e) = &existing {
                    // Its own report again (sent twice): nothing to do. Another device's:
                    // that id is taken, and the report is not this device's to touch.
                    if e.origin.as_deref() == Some(dev.device_id.as_str()) {
                        return Ok(verdict(m.seq, Status::Duplicate, None));
                    }
                    return Ok(reject(
                        m.seq,
                        "this record id belongs to another device's record",
                    ));
                }
                if !in_grids(dev, text(&m.fields, "grid_id")) {
                    return Ok(reject(m.seq, "outside this device's grids"));
                }
                let status = text(&m.fields, "status").unwrap_or_default();
                if !NEW_REPORT_STATUSES.contains(&status) {
                    return Ok(reject(m.seq, format!("a new report cannot be {status}")));
                }
                if let Some(v) = refs(tx, &m.fields)? {
                    return Ok(v);
                }
                let photos = m
                    .fields
                    .get(spec::PHOTOS)
                    .and_then(spec::photo_list)
                    .unwrap_or_default();
                tx.set_photo_refs(m.entity, &m.row_id, &photos)?;
                let row = Row {
                    entity: m.entity,
                    row_id: m.row_id.clone(),
                    scope: crate::scopes::reports_scope(dev),
                    field_hlc: m.fields.keys().map(|k| (k.clone(), hlc.clone())).collect(),
                    fields: m.fields.clone(),
                    deleted: false,
                    origin: Some(dev.device_id.clone()),
                };
                tx.put_row(&row)?;
                // A person's reports reach their other devices (a replacement device sees
                // what was reported before it): the report itself, without its photos
                // (a device holds the photos it took).
                if let Scope::Account(_) = &row.scope {
                    let mut f = row.fields.clone();
                    f.remove(spec::PHOTOS);
                    tx.append_op(&row.scope, m.entity, &m.row_id, &OpKind::Put, &f, &hlc)?;
                }
                Ok(verdict(m.seq, Status::Applied, Some(hlc)))
            }
            (Flow::Central, Op::Command(name)) if m.entity == Entity::Task => {
                self.task_command(tx, dev, m, name, existing, hlc, now)
            }
            (Flow::Central, Op::Update) if m.entity == Entity::Notice => {
                // A read receipt: kept per device, not applied to the notice itself — and
                // only for a notice the device was sent (its audience covers the device).
                let reads = |r: &Row| scopes_of(dev, tree).contains(&r.scope);
                if existing.is_none_or(|r| r.deleted || !reads(&r)) {
                    return Ok(reject(m.seq, "no such notice"));
                }
                let mut row = Row::new(
                    Entity::Notice,
                    &format!("{}#read#{}", m.row_id, dev.device_id),
                    Scope::Up(dev.device_id.clone()),
                );
                merge(&mut row, &m.fields, &hlc);
                tx.put_row(&row)?;
                Ok(verdict(m.seq, Status::Applied, Some(hlc)))
            }
            (Flow::Upward, Op::Insert | Op::Update) => {
                let mine = Scope::Up(dev.device_id.clone());
                // Visits, diary, patrols, check-ins, tracks: only the device that made one
                // may change it.
                if existing.as_ref().is_some_and(|r| r.scope != mine) {
                    return Ok(reject(
                        m.seq,
                        format!("{} {} belongs to another device", m.entity, m.row_id),
                    ));
                }
                if m.op == Op::Update && existing.is_none() {
                    return Ok(reject(
                        m.seq,
                        format!("{} {} does not exist at the centre", m.entity, m.row_id),
                    ));
                }
                if m.entity == Entity::Photo
                    && !(m.row_id.len() == 64 && spec::photo_list(&json!([m.row_id])).is_some())
                {
                    return Ok(reject(
                        m.seq,
                        "a photo's id is its SHA-256 in lower-case hex",
                    ));
                }
                let mut row = existing.unwrap_or_else(|| Row {
                    origin: Some(dev.device_id.clone()),
                    ..Row::new(m.entity, &m.row_id, mine.clone())
                });
                let mut f = m.fields.clone();
                f.remove(spec::PHOTOS);
                merge(&mut row, &f, &hlc);
                if let Some(g) = text(&row.fields, "grid_id") {
                    if !in_grids(dev, Some(g)) {
                        return Ok(reject(m.seq, "outside this device's grids"));
                    }
                }
                if let Some(v) = self.own_refs(tx, dev, m.entity, &row.fields)? {
                    return Ok(reject(m.seq, v));
                }
                tx.put_row(&row)?;
                if let Some(photos) = m.fields.get(spec::PHOTOS).and_then(spec::photo_list) {
                    tx.set_photo_refs(m.entity, &m.row_id, &photos)?;
                }
                Ok(verdict(m.seq, Status::Applied, Some(hlc)))
            }
            (flow, op) => Ok(reject(
                m.seq,
                format!(
                    "a device may not {} a {} ({flow:?} records)",
                    op.to_text(),
                    m.entity
                ),
            )),
        }
    }

    /// References of a device's own upward record: base data of its grids, or its own
    /// upward records (a check-in's patrol, a track's patrol).
    fn own_refs(
        &self,
        tx: &mut dyn HubTx,
        dev: &DeviceRecord,
        entity: Entity,
        fields: &Fields,
    ) -> HubResult<Option<String>> {
        for f in spec(entity).fields {
            let (spec::Kind::Ref(target), Some(Value::String(id))) = (f.kind, fields.get(f.name))
            else {
                continue;
            };
            let row = tx.row(target, id)?.filter(|r| !r.deleted);
            let ok = match (spec(target).flow, &row) {
                (_, None) => false,
                (Flow::Upward, Some(r)) => r.scope == Scope::Up(dev.device_id.clone()),
                (_, Some(r)) => match &r.scope {
                    Scope::Grid(g) => in_grids(dev, Some(g)),
                    _ => true,
                },
            };
            if !ok {
                return Ok(Some(format!(
                    "{entity}.{}: no {target} {id} of this device's grids",
                    f.name
                )));
            }
        }
        Ok(None)
    }

    #[allow(clippy::too_many_arguments)]
    fn task_command(
        &self,
        tx: &mut dyn HubTx,
        dev: &DeviceRecord,
        m: &Mutation,
        name: &str,
        existing: Option<Row>,
        hlc: gridpad_proto::Hlc,
        now: u64,
    ) -> HubResult<Verdict> {
        let Some(cmd) = TaskCommand::parse(name) else {
            return Ok(reject(m.seq, format!("unknown task command {name:.20}")));
        };
        let Some(mut row) = existing.filter(|r| !r.deleted) else {
            return Ok(reject(m.seq, "no such task"));
        };
        if !in_grids(dev, text(&row.fields, "grid_id")) {
            return Ok(reject(m.seq, "task of another grid"));
        }
        let current = text(&row.fields, "status")
            .and_then(TaskStatus::parse)
            .unwrap_or(TaskStatus::Assigned);
        let Some(next) = current.after(cmd) else {
            return Ok(reject(
                m.seq,
                format!("cannot {cmd} a task that is {current}"),
            ));
        };
        let mut changed = crate::hub::fields_of(
            json!({"status": next.as_str(), "updated_at": m.fields.get("at").cloned().unwrap_or(Value::Null)}),
        );
        if let Some(f) = m.fields.get("feedback") {
            changed.insert("feedback".into(), f.clone());
        }
        if let Some(r) = m.fields.get("reason") {
            changed.insert("reject_reason".into(), r.clone());
        }
        if let Some(p) = m.fields.get("position").filter(|p| !p.is_null()) {
            changed.insert("position".into(), Value::String(p.to_string()));
        }
        for (k, v) in &changed {
            row.fields.insert(k.clone(), v.clone());
            row.field_hlc.insert(k.clone(), hlc.clone());
        }
        // The handler's result photos: kept at the hub (the console shows them; no device
        // of the grid needs them, so they are not in the task's op) and named, so the
        // upload that follows is kept, not swept as an unnamed photo.
        if let Some(p) = m.fields.get(spec::PHOTOS).filter(|p| !p.is_null()) {
            let Some(result) = spec::photo_list(p) else {
                return Ok(reject(m.seq, "photos: a list of SHA-256 in lower-case hex"));
            };
            let mut all = crate::centre::task_result_photos(&row);
            for h in result {
                if !all.contains(&h) {
                    all.push(h);
                }
            }
            all.truncate(spec::MAX_PHOTOS);
            let mut named = match text(&row.fields, "source_event_id") {
                Some(ev) => tx
                    .row(Entity::Event, ev)?
                    .and_then(|r| r.fields.get(spec::PHOTOS).and_then(spec::photo_list))
                    .unwrap_or_default(),
                None => vec![],
            };
            named.extend(all.iter().cloned());
            row.fields
                .insert(crate::centre::RESULT_PHOTOS.into(), json!(all));
            tx.set_photo_refs(Entity::Task, &m.row_id, &named)?;
        }
        tx.put_row(&row)?;
        tx.append_op(
            &row.scope,
            Entity::Task,
            &m.row_id,
            &OpKind::Put,
            &changed,
            &hlc,
        )?;
        // A completed task handles the event it came from (处置 → awaiting 核查).
        if next == TaskStatus::Completed {
            if let Some(ev) = text(&row.fields, "source_event_id") {
                let note = text(&m.fields, "feedback").unwrap_or_default();
                let note: String = note.chars().take(2_000).collect();
                match self.transition_in(tx, ev, EventStatus::Handled, &dev.user, &note, &hlc, now)
                {
                    Ok(()) | Err(HubError::BadRequest(_)) | Err(HubError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(verdict(m.seq, Status::Applied, Some(hlc)))
    }
}

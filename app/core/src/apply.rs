//! The one place where domain tables change.
//!
//! Every change is described as a mutation (entity, row id, operation, fields) and applied
//! here — both the changes the user makes on the device (whose outbox row the caller
//! writes in the same transaction, see `store::Writer::record`) and the changes that
//! arrive from the centre. A domain row is therefore always the image of a mutation, and
//! the search index and status history are maintained in the same transaction.

use crate::error::{Error, Result};
use crate::model::{EventStatus, TaskCommand, TaskStatus};
use crate::search;
use gridpad_domain::spec::{Change, EntitySpec, Side, PHOTOS};
use gridpad_proto::{Entity, Fields, Hlc, Op};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde_json::Value;

/// Who made a change: the user of this device, or the centre (arriving through sync).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Device,
    Hub,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Device => "device",
            Origin::Hub => "hub",
        }
    }
}

/// The device table of an entity: its specification (gridpad-domain), whose fields are
/// the table's columns.
pub fn table(entity: Entity) -> &'static EntitySpec {
    gridpad_domain::spec(entity)
}

fn sql_value(v: &Value) -> SqlValue {
    match v {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(*b as i64),
        Value::Number(n) => match n.as_i64() {
            Some(i) => SqlValue::Integer(i),
            None => SqlValue::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => SqlValue::Text(s.clone()),
        // Track points travel as hex inside JSON and are stored as a BLOB.
        Value::Array(_) | Value::Object(_) => SqlValue::Text(v.to_string()),
    }
}

fn column_value(entity: Entity, column: &str, v: &Value) -> Result<SqlValue> {
    if entity == Entity::TrackSegment && column == "points" {
        let hex = v
            .as_str()
            .ok_or_else(|| Error::Invalid("track points must be hex".into()))?;
        return hex::decode(hex)
            .map(SqlValue::Blob)
            .map_err(|_| Error::Invalid("track points must be hex".into()));
    }
    Ok(sql_value(v))
}

/// Check a write against the entity's specification: the device's own writes as a device
/// may make them, the centre's as they arrive (kinds, nulls and known fields; who may write
/// what is the hub's to decide).
fn check_fields(entity: Entity, change: Change<'_>, fields: &Fields, origin: Origin) -> Result<()> {
    let side = match origin {
        Origin::Device => Side::Device,
        Origin::Hub => Side::Received,
    };
    gridpad_domain::check(entity, side, change, fields).map_err(|p| Error::Invalid(p.to_string()))
}

/// Apply one mutation to the domain tables.
pub fn apply(
    conn: &Connection,
    entity: Entity,
    row_id: &str,
    op: &Op,
    fields: &Fields,
    hlc: &Hlc,
    origin: Origin,
) -> Result<()> {
    let t = table(entity);
    match op {
        Op::Insert => insert_row(conn, entity, t, row_id, fields, hlc, origin)?,
        Op::Update => {
            if origin == Origin::Device && entity == Entity::Event && fields.contains_key("status")
            {
                return Err(Error::Invalid(
                    "event status changes go through the transition command".into(),
                ));
            }
            if !update_row(conn, entity, t, row_id, fields, hlc, origin)? {
                return Err(Error::NotFound(format!("{entity} {row_id}")));
            }
        }
        Op::Delete => {
            before_delete(conn, entity, row_id)?;
            let n = conn.execute(
                &format!("DELETE FROM {} WHERE {} = ?", t.table, t.key),
                [row_id],
            )?;
            if n == 0 {
                return Err(Error::NotFound(format!("{entity} {row_id}")));
            }
        }
        Op::Command(name) => command(conn, entity, row_id, name, fields, hlc, origin)?,
    }
    Ok(())
}

fn insert_row(
    conn: &Connection,
    entity: Entity,
    t: &EntitySpec,
    row_id: &str,
    fields: &Fields,
    hlc: &Hlc,
    origin: Origin,
) -> Result<()> {
    check_fields(entity, Change::Insert, fields, origin)?;
    let cols: Vec<&String> = fields.keys().filter(|k| *k != PHOTOS).collect();
    let mut names = vec![t.key.to_string()];
    let mut values = vec![SqlValue::Text(row_id.to_string())];
    for c in &cols {
        names.push((*c).clone());
        values.push(column_value(entity, c, &fields[*c])?);
    }
    names.push("updated_hlc".into());
    values.push(SqlValue::Text(hlc.to_string()));
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        t.table,
        names.join(", "),
        vec!["?"; names.len()].join(", ")
    );
    conn.prepare_cached(&sql)?
        .execute(params_from_iter(values))?;
    after_write(conn, entity, row_id, fields, origin, true)
}

/// Update the given fields; `false` when there is no such row.
fn update_row(
    conn: &Connection,
    entity: Entity,
    t: &EntitySpec,
    row_id: &str,
    fields: &Fields,
    hlc: &Hlc,
    origin: Origin,
) -> Result<bool> {
    check_fields(entity, Change::Update, fields, origin)?;
    let cols: Vec<&String> = fields.keys().filter(|k| *k != PHOTOS).collect();
    let mut sets: Vec<String> = cols.iter().map(|c| format!("{c} = ?")).collect();
    let mut values = Vec::with_capacity(cols.len() + 2);
    for c in &cols {
        values.push(column_value(entity, c, &fields[*c])?);
    }
    sets.push("updated_hlc = ?".into());
    values.push(SqlValue::Text(hlc.to_string()));
    values.push(SqlValue::Text(row_id.to_string()));
    let sql = format!(
        "UPDATE {} SET {} WHERE {} = ?",
        t.table,
        sets.join(", "),
        t.key
    );
    let n = conn
        .prepare_cached(&sql)?
        .execute(params_from_iter(values))?;
    if n == 0 {
        return Ok(false);
    }
    after_write(conn, entity, row_id, fields, origin, false)?;
    Ok(true)
}

/// Apply one op of the centre's change log: `Put` creates or updates the row, `Remove`
/// deletes it if present, commands run their state machine. Idempotent.
pub fn apply_op(
    conn: &Connection,
    entity: Entity,
    row_id: &str,
    kind: &gridpad_proto::wire::OpKind,
    fields: &Fields,
    hlc: &Hlc,
) -> Result<()> {
    use gridpad_proto::wire::OpKind;
    let t = table(entity);
    match kind {
        OpKind::Put => {
            if fields.is_empty() {
                return Ok(());
            }
            if !update_row(conn, entity, t, row_id, fields, hlc, Origin::Hub)? {
                insert_row(conn, entity, t, row_id, fields, hlc, Origin::Hub)?;
            }
            Ok(())
        }
        OpKind::Remove => {
            let exists = conn
                .query_row(
                    &format!("SELECT 1 FROM {} WHERE {} = ?", t.table, t.key),
                    [row_id],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if exists {
                before_delete(conn, entity, row_id)?;
                conn.execute(
                    &format!("DELETE FROM {} WHERE {} = ?", t.table, t.key),
                    [row_id],
                )?;
            }
            Ok(())
        }
        OpKind::Command(name) => command(conn, entity, row_id, name, fields, hlc, Origin::Hub),
    }
}

fn str_field<'a>(fields: &'a Fields, key: &str) -> Option<&'a str> {
    fields.get(key).and_then(Value::as_str)
}

fn set_photos(conn: &Connection, owner: Entity, owner_id: &str, photos: &Value) -> Result<()> {
    let list = photos
        .as_array()
        .ok_or_else(|| Error::Invalid("photos must be a list of SHA-256 hashes".into()))?;
    conn.execute(
        "DELETE FROM photo_ref WHERE owner_entity = ? AND owner_id = ?",
        params![owner.as_str(), owner_id],
    )?;
    for (ord, sha) in list.iter().enumerate() {
        let sha = sha
            .as_str()
            .ok_or_else(|| Error::Invalid("photo hash must be text".into()))?;
        conn.execute(
            "INSERT INTO photo_ref (owner_entity, owner_id, sha256, ord) VALUES (?, ?, ?, ?)",
            params![owner.as_str(), owner_id, sha, ord as i64],
        )
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::ConstraintViolation) => {
                Error::Invalid(format!("photo {sha} is not in the store"))
            }
            _ => e.into(),
        })?;
    }
    Ok(())
}

fn after_write(
    conn: &Connection,
    entity: Entity,
    row_id: &str,
    fields: &Fields,
    origin: Origin,
    inserted: bool,
) -> Result<()> {
    if let Some(photos) = fields.get(PHOTOS) {
        set_photos(conn, entity, row_id, photos)?;
    }
    let reindex = inserted || table(entity).search.iter().any(|f| fields.contains_key(*f));
    match entity {
        Entity::Person => {
            if fields.contains_key("id_number") || fields.contains_key("phone") {
                let (id_number, phone): (Option<String>, Option<String>) = conn
                    .prepare_cached("SELECT id_number, phone FROM person WHERE id = ?")?
                    .query_row([row_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
                let rev = |s: Option<String>| {
                    s.map(|s| s.to_uppercase().chars().rev().collect::<String>())
                };
                conn.prepare_cached("UPDATE person SET id_rev = ?, phone_rev = ? WHERE id = ?")?
                    .execute(params![rev(id_number), rev(phone), row_id])?;
            }
            if reindex {
                search::index_person(conn, row_id, inserted)?;
            }
        }
        Entity::House if reindex => search::index_house(conn, row_id, inserted)?,
        Entity::Organisation if reindex => search::index_organisation(conn, row_id, inserted)?,
        Entity::Event if inserted => {
            let status = str_field(fields, "status").unwrap_or("reported");
            let at = str_field(fields, "corrected_time")
                .or_else(|| str_field(fields, "device_time"))
                .unwrap_or_default();
            let actor = str_field(fields, "reporter").unwrap_or_default();
            conn.prepare_cached(
                "INSERT INTO event_status (event_id, status, at, actor, note, origin) VALUES (?, ?, ?, ?, '', ?)",
            )?
            .execute(params![row_id, status, at, actor, origin.as_str()])?;
        }
        _ => {}
    }
    Ok(())
}

fn before_delete(conn: &Connection, entity: Entity, row_id: &str) -> Result<()> {
    match entity {
        Entity::Person => search::unindex(conn, "person", row_id)?,
        Entity::House => search::unindex(conn, "house", row_id)?,
        Entity::Organisation => search::unindex(conn, "organisation", row_id)?,
        Entity::Event => {
            conn.execute("DELETE FROM event_status WHERE event_id = ?", [row_id])?;
        }
        _ => {}
    }
    if matches!(
        entity,
        Entity::Event | Entity::Visit | Entity::Diary | Entity::Checkin | Entity::Task
    ) {
        conn.execute(
            "DELETE FROM photo_ref WHERE owner_entity = ? AND owner_id = ?",
            params![entity.as_str(), row_id],
        )?;
    }
    Ok(())
}

fn command(
    conn: &Connection,
    entity: Entity,
    row_id: &str,
    name: &str,
    fields: &Fields,
    hlc: &Hlc,
    origin: Origin,
) -> Result<()> {
    match entity {
        Entity::Task => {
            if origin == Origin::Device {
                check_fields(entity, Change::Command(name), fields, origin)?;
            }
            let cmd = TaskCommand::parse(name)
                .ok_or_else(|| Error::Invalid(format!("unknown task command {name:?}")))?;
            let current: Option<String> = conn
                .query_row("SELECT status FROM task WHERE id = ?", [row_id], |r| {
                    r.get(0)
                })
                .optional()?;
            let current = current.ok_or_else(|| Error::NotFound(format!("task {row_id}")))?;
            let current = TaskStatus::parse(&current)
                .ok_or_else(|| Error::Invalid(format!("task has unknown status {current:?}")))?;
            let next = current.after(cmd).ok_or_else(|| {
                Error::NotAllowed(format!("cannot {cmd} a task that is {current}"))
            })?;
            let at = str_field(fields, "at").unwrap_or_default();
            conn.execute(
                "UPDATE task SET status = ?, updated_at = ?, updated_hlc = ?,
                        feedback = coalesce(?, feedback), reject_reason = coalesce(?, reject_reason),
                        position = coalesce(?, position)
                 WHERE id = ?",
                params![
                    next.as_str(),
                    at,
                    hlc.to_string(),
                    str_field(fields, "feedback"),
                    str_field(fields, "reason"),
                    fields.get("position").map(|p| p.to_string()),
                    row_id
                ],
            )?;
            if let Some(photos) = fields.get(PHOTOS) {
                set_photos(conn, Entity::Task, row_id, photos)?;
            }
            Ok(())
        }
        Entity::Event if name == "transition" => {
            let next = str_field(fields, "status")
                .and_then(EventStatus::parse)
                .ok_or_else(|| Error::Invalid("transition needs a known status".into()))?;
            let current: Option<String> = conn
                .query_row("SELECT status FROM event WHERE id = ?", [row_id], |r| {
                    r.get(0)
                })
                .optional()?;
            let current = current.ok_or_else(|| Error::NotFound(format!("event {row_id}")))?;
            let current = EventStatus::parse(&current).unwrap_or(EventStatus::Reported);
            // The centre is authoritative: its transitions are recorded as they come.
            if origin == Origin::Device && !current.can_become(next) {
                return Err(Error::NotAllowed(format!(
                    "an event that is {current} cannot become {next}"
                )));
            }
            conn.execute(
                "UPDATE event SET status = ?, updated_hlc = ? WHERE id = ?",
                params![next.as_str(), hlc.to_string(), row_id],
            )?;
            conn.execute(
                "INSERT INTO event_status (event_id, status, at, actor, note, origin) VALUES (?, ?, ?, ?, ?, ?)",
                params![
                    row_id,
                    next.as_str(),
                    str_field(fields, "at").unwrap_or_default(),
                    str_field(fields, "actor").unwrap_or_default(),
                    str_field(fields, "note").unwrap_or_default(),
                    origin.as_str()
                ],
            )?;
            Ok(())
        }
        _ => Err(Error::Invalid(format!("{entity} has no command {name:?}"))),
    }
}

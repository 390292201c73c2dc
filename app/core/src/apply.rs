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

/// Table layout of an entity: its key column and the columns a mutation may set.
pub struct Table {
    pub name: &'static str,
    pub key: &'static str,
    pub columns: &'static [&'static str],
}

pub fn table(entity: Entity) -> Table {
    let t = |name, key, columns| Table { name, key, columns };
    match entity {
        Entity::Grid => t(
            "grid",
            "id",
            &["code", "name", "level", "parent_id", "boundary"],
        ),
        Entity::Address => t(
            "address",
            "id",
            &[
                "grid_id",
                "code",
                "district",
                "street",
                "community",
                "road",
                "number",
                "full_text",
                "lat",
                "lon",
            ],
        ),
        Entity::Building => t(
            "building",
            "id",
            &[
                "grid_id",
                "address_id",
                "name",
                "floors",
                "kind",
                "lat",
                "lon",
            ],
        ),
        Entity::House => t(
            "house",
            "id",
            &[
                "building_id",
                "grid_id",
                "unit_no",
                "room",
                "floor",
                "use",
                "tenure",
                "area_m2",
                "full_address",
            ],
        ),
        Entity::Person => t(
            "person",
            "id",
            &[
                "grid_id",
                "house_id",
                "name",
                "id_number",
                "phone",
                "sex",
                "birth_date",
                "relation",
                "residence_type",
                "tags",
                "note",
            ],
        ),
        Entity::Organisation => t(
            "organisation",
            "id",
            &[
                "grid_id",
                "address_id",
                "name",
                "kind",
                "licence_no",
                "contact_name",
                "contact_phone",
                "address_text",
                "risk_tags",
            ],
        ),
        Entity::Facility => t(
            "facility",
            "id",
            &["grid_id", "kind", "code", "lat", "lon", "state", "note"],
        ),
        Entity::CatalogCategory => t(
            "catalog_category",
            "code",
            &[
                "parent_code",
                "level",
                "name",
                "department",
                "deadline_hours",
                "yellow_pct",
                "red_pct",
                "fields",
                "photo_policy",
                "sort",
            ],
        ),
        Entity::Event => t(
            "event",
            "id",
            &[
                "grid_id",
                "category_code",
                "description",
                "address_text",
                "fields",
                "status",
                "handled_on_spot",
                "reporter",
                "position",
                "device_time",
                "corrected_time",
                "reported_at",
                "deadline_at",
            ],
        ),
        Entity::Task => t(
            "task",
            "id",
            &[
                "grid_id",
                "assignee",
                "title",
                "body",
                "source_event_id",
                "category_code",
                "status",
                "priority",
                "created_at",
                "deadline_at",
                "feedback",
                "reject_reason",
                "position",
                "updated_at",
            ],
        ),
        Entity::Visit => t(
            "visit",
            "id",
            &[
                "grid_id",
                "house_id",
                "person_id",
                "kind",
                "topic",
                "note",
                "position",
                "device_time",
                "corrected_time",
            ],
        ),
        Entity::Diary => t(
            "diary",
            "id",
            &[
                "grid_id",
                "day",
                "content",
                "position",
                "device_time",
                "corrected_time",
            ],
        ),
        Entity::Patrol => t(
            "patrol",
            "id",
            &[
                "grid_id",
                "started_at",
                "ended_at",
                "distance_m",
                "inside_grid_s",
                "state",
            ],
        ),
        Entity::Checkin => t(
            "checkin",
            "id",
            &[
                "patrol_id",
                "grid_id",
                "place",
                "inside_grid",
                "position",
                "device_time",
                "corrected_time",
            ],
        ),
        Entity::TrackSegment => t(
            "track_segment",
            "id",
            &[
                "patrol_id",
                "seq",
                "start_time",
                "end_time",
                "n_points",
                "gap_before",
                "points",
            ],
        ),
        Entity::Notice => t(
            "notice",
            "id",
            &["title", "body", "published_at", "area", "read_at"],
        ),
        Entity::Photo => t(
            "photo",
            "sha256",
            &["bytes", "mime", "width", "height", "taken_at", "state"],
        ),
    }
}

/// Fields that are not columns but drive related rows.
const PHOTOS: &str = "photos";

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

fn check_columns(entity: Entity, t: &Table, fields: &Fields) -> Result<()> {
    for k in fields.keys() {
        let allowed = t.columns.contains(&k.as_str())
            || (k == PHOTOS
                && matches!(
                    entity,
                    Entity::Event | Entity::Visit | Entity::Diary | Entity::Checkin
                ));
        if !allowed {
            return Err(Error::Invalid(format!("{entity} has no field {k:?}")));
        }
    }
    Ok(())
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
        Op::Insert => insert_row(conn, entity, &t, row_id, fields, hlc, origin)?,
        Op::Update => {
            if origin == Origin::Device && entity == Entity::Event && fields.contains_key("status")
            {
                return Err(Error::Invalid(
                    "event status changes go through the transition command".into(),
                ));
            }
            if !update_row(conn, entity, &t, row_id, fields, hlc, origin)? {
                return Err(Error::NotFound(format!("{entity} {row_id}")));
            }
        }
        Op::Delete => {
            before_delete(conn, entity, row_id)?;
            let n = conn.execute(
                &format!("DELETE FROM {} WHERE {} = ?", t.name, t.key),
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
    t: &Table,
    row_id: &str,
    fields: &Fields,
    hlc: &Hlc,
    origin: Origin,
) -> Result<()> {
    check_columns(entity, t, fields)?;
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
        t.name,
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
    t: &Table,
    row_id: &str,
    fields: &Fields,
    hlc: &Hlc,
    origin: Origin,
) -> Result<bool> {
    check_columns(entity, t, fields)?;
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
        t.name,
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
            if !update_row(conn, entity, &t, row_id, fields, hlc, Origin::Hub)? {
                insert_row(conn, entity, &t, row_id, fields, hlc, Origin::Hub)?;
            }
            Ok(())
        }
        OpKind::Remove => {
            let exists = conn
                .query_row(
                    &format!("SELECT 1 FROM {} WHERE {} = ?", t.name, t.key),
                    [row_id],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if exists {
                before_delete(conn, entity, row_id)?;
                conn.execute(
                    &format!("DELETE FROM {} WHERE {} = ?", t.name, t.key),
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
            if inserted || fields.contains_key("name") || fields.contains_key("house_id") {
                search::index_person(conn, row_id, inserted)?;
            }
        }
        Entity::House if inserted || fields.contains_key("full_address") => {
            search::index_house(conn, row_id, inserted)?;
        }
        Entity::Organisation
            if inserted || fields.contains_key("name") || fields.contains_key("address_text") =>
        {
            search::index_organisation(conn, row_id, inserted)?;
        }
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

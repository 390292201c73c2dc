//! What one synced record is: its fields and their kinds, which side may write each, how it
//! flows between device and hub, which scope its readers are in, its search fields — and
//! the one check of a write against all that, used by the device store before it writes
//! and by the hub before it accepts (a row the hub takes is a row every device can apply).
//!
//! The specifications themselves are in [`crate::specs`]; [`spec`] is an exhaustive match,
//! so a new [`Entity`] without a specification does not compile.

use crate::checks::{id_number, phone};
use crate::codes::Position;
use crate::{Entity, Fields};
use serde_json::Value;
use std::fmt;

/// The kind of value a field holds, with its bounds. Values travel as JSON.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// Text of at most this many characters (empty allowed).
    Text(usize),
    /// Non-blank text of at most this many characters.
    Name(usize),
    /// One code of a fixed list.
    Code(&'static [&'static str]),
    /// A whole number in `min..=max`.
    Int(i64, i64),
    /// A finite number in `min..=max`.
    Real(f64, f64),
    /// true/false (0/1 accepted: the device stores flags as integers).
    Flag,
    /// A calendar day, `YYYY-MM-DD`.
    Date,
    /// An instant, RFC 3339.
    Time,
    /// The id (or code) of another record of this kind.
    Ref(Entity),
    /// A resident identity number with its check character (GB 11643).
    IdNumber,
    /// A phone number (`checks::phone`).
    Phone,
    /// A list of short codes, from the given list when there is one (JSON array, or its
    /// JSON text).
    Tags(Option<&'static [&'static str]>),
    /// A JSON object (or its JSON text) of at most this many bytes.
    Object(usize),
    /// A JSON array (or its JSON text) of at most this many bytes.
    List(usize),
    /// A [`Position`] (object or JSON text), checked by [`Position::validate`].
    Position,
    /// A polygon `[[[lon, lat], …], holes…]` in WGS-84 (array or JSON text).
    Boundary,
    /// Binary data as hex text, at most this many bytes.
    Hex(usize),
}

/// Who may write a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    /// Only the device (e.g. a report's own fields, a notice's read receipt).
    Device,
    /// Only the centre (e.g. an event's status, everything of a task).
    Centre,
    /// Both: merged per field, last writer wins.
    Both,
}

/// Which side is writing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Device,
    Centre,
    /// A device applying what the hub sent: the hub decided who wrote what; the values
    /// must still be of their kinds.
    Received,
}

impl Writer {
    pub fn allows(self, side: Side) -> bool {
        matches!(
            (self, side),
            (Writer::Both, _)
                | (_, Side::Received)
                | (Writer::Device, Side::Device)
                | (Writer::Centre, Side::Centre)
        )
    }
}

/// One field of a record.
#[derive(Clone, Copy, Debug)]
pub struct FieldSpec {
    pub name: &'static str,
    pub kind: Kind,
    /// Must be given when the record is created.
    pub required: bool,
    /// May be null (an absent value). Fields with a default are not nullable.
    pub nullable: bool,
    pub writer: Writer,
}

impl FieldSpec {
    /// Given on creation, never null.
    pub const fn req(name: &'static str, kind: Kind) -> FieldSpec {
        FieldSpec {
            name,
            kind,
            required: true,
            nullable: false,
            writer: Writer::Both,
        }
    }
    /// Optional and may be null.
    pub const fn opt(name: &'static str, kind: Kind) -> FieldSpec {
        FieldSpec {
            name,
            kind,
            required: false,
            nullable: true,
            writer: Writer::Both,
        }
    }
    /// Optional, with a default when absent; never null.
    pub const fn def(name: &'static str, kind: Kind) -> FieldSpec {
        FieldSpec {
            name,
            kind,
            required: false,
            nullable: false,
            writer: Writer::Both,
        }
    }
    pub const fn by(self, writer: Writer) -> FieldSpec {
        FieldSpec { writer, ..self }
    }
}

/// How records of a kind move between device and hub.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// 人 地 物 组织: created and edited on both sides, merged per field (last writer by
    /// hybrid logical clock wins), deleted by either.
    BaseData,
    /// Published by the centre; a device reads it and may only send the commands and
    /// device-written fields its specification lists.
    Central,
    /// A device's report: created once by the device, then moved along its lifecycle by
    /// the centre; the reporting device receives every step.
    Report,
    /// Records a device makes for the centre (visits, diary, patrols …): created and
    /// updated only by the device that made them, never sent back down.
    Upward,
}

/// Which scope a record's readers are in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeRule {
    /// The grid in the record's `grid_id` field.
    GridField,
    /// A grid node: its own grid scope when it is a grid (level `grid`), the catalog scope
    /// for the levels above (the devices' organisation tree).
    GridNode,
    /// The event catalog's scope.
    Catalog,
    /// Every device.
    Notices,
    /// The reporting device's scope.
    ReporterDevice,
    /// Kept for the centre: the making device's upward scope.
    Uploader,
}

/// A command a device may send about a record (e.g. a task's `complete`), with its
/// arguments.
#[derive(Clone, Copy, Debug)]
pub struct CommandSpec {
    pub name: &'static str,
    pub args: &'static [FieldSpec],
    /// Whether the command may carry photos (e.g. the result of a completed task).
    pub photos: bool,
}

/// Everything about one kind of synced record.
#[derive(Debug)]
pub struct EntitySpec {
    pub entity: Entity,
    /// The device's table and its key column.
    pub table: &'static str,
    pub key: &'static str,
    pub flow: Flow,
    pub scope: ScopeRule,
    pub fields: &'static [FieldSpec],
    /// Whether records carry a `photos` list (SHA-256 hashes of evidence photos).
    pub photos: bool,
    /// Commands a device may send.
    pub commands: &'static [CommandSpec],
    /// Fields the device's Chinese search index is built from: a change to one re-indexes
    /// the record.
    pub search: &'static [&'static str],
}

/// The name of the pseudo-field carrying a record's evidence photos.
pub const PHOTOS: &str = "photos";
/// At most this many photos on one record.
pub const MAX_PHOTOS: usize = 100;

/// The specification of `entity`.
pub fn spec(entity: Entity) -> &'static EntitySpec {
    use crate::specs::*;
    match entity {
        Entity::Grid => &GRID,
        Entity::Address => &ADDRESS,
        Entity::Building => &BUILDING,
        Entity::House => &HOUSE,
        Entity::Person => &PERSON,
        Entity::Organisation => &ORGANISATION,
        Entity::Facility => &FACILITY,
        Entity::CatalogCategory => &CATALOG_CATEGORY,
        Entity::Event => &EVENT,
        Entity::Task => &TASK,
        Entity::Visit => &VISIT,
        Entity::Diary => &DIARY,
        Entity::Patrol => &PATROL,
        Entity::Checkin => &CHECKIN,
        Entity::TrackSegment => &TRACK_SEGMENT,
        Entity::Notice => &NOTICE,
        Entity::Photo => &PHOTO,
    }
}

/// What a write does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change<'a> {
    /// Creates the record: required fields must be there.
    Insert,
    /// Changes the given fields of an existing record.
    Update,
    /// A device command with its arguments.
    Command(&'a str),
}

/// What is wrong with one field, in a form a screen can translate (`code`) and a log or
/// a dead letter can show (`Display`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub code: &'static str,
    pub detail: String,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.detail)
    }
}

/// Every problem of one write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problems {
    pub entity: Entity,
    pub list: Vec<FieldProblem>,
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.entity)?;
        for (i, p) in self.list.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// A value from outside, shortened for a message (hostile text stays short).
fn shown(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    let mut out: String = s.chars().take(24).filter(|c| !c.is_control()).collect();
    if s.chars().count() > 24 {
        out.push('…');
    }
    format!("{out:?}")
}

fn problem(field: &str, code: &'static str, detail: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field: field.to_string(),
        code,
        detail: detail.into(),
    }
}

/// A JSON value given as itself or as its JSON text.
fn json_of(v: &Value) -> Option<Value> {
    match v {
        Value::String(s) => serde_json::from_str(s).ok(),
        v => Some(v.clone()),
    }
}

/// Record ids and codes: 1–64 characters, no spaces or control characters.
pub fn is_record_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

impl Kind {
    /// Why `v` (not null) is not a value of this kind.
    pub fn check(&self, field: &str, v: &Value) -> Result<(), FieldProblem> {
        let bad = |code, detail: String| Err(problem(field, code, detail));
        match *self {
            Kind::Text(max) | Kind::Name(max) => {
                let Some(s) = v.as_str() else {
                    return bad("bad-format", format!("must be text, not {}", shown(v)));
                };
                if s.chars().count() > max {
                    return bad("too-long", format!("at most {max} characters"));
                }
                if s.contains(|c: char| c.is_control() && c != '\n' && c != '\t') {
                    return bad("bad-format", "control characters are not text".into());
                }
                if matches!(self, Kind::Name(_)) && s.trim().is_empty() {
                    return bad("blank", "must not be blank".into());
                }
                Ok(())
            }
            Kind::Code(list) => match v.as_str() {
                Some(s) if list.contains(&s) => Ok(()),
                _ => bad(
                    "not-in-list",
                    format!("{} is not one of {}", shown(v), list.join(", ")),
                ),
            },
            Kind::Int(min, max) => match v.as_i64() {
                Some(i) if (min..=max).contains(&i) => Ok(()),
                Some(_) => bad("out-of-range", format!("must be {min}..={max}")),
                None => bad(
                    "bad-format",
                    format!("must be a whole number, not {}", shown(v)),
                ),
            },
            Kind::Real(min, max) => match v.as_f64() {
                Some(x) if x.is_finite() && (min..=max).contains(&x) => Ok(()),
                Some(_) => bad("out-of-range", format!("must be {min}..={max}")),
                None => bad("bad-format", format!("must be a number, not {}", shown(v))),
            },
            Kind::Flag => match v {
                Value::Bool(_) => Ok(()),
                Value::Number(n) if n.as_i64().is_some_and(|i| i == 0 || i == 1) => Ok(()),
                _ => bad(
                    "bad-format",
                    format!("must be true or false, not {}", shown(v)),
                ),
            },
            Kind::Date => match v.as_str() {
                Some(s)
                    if s.len() == 10
                        && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() =>
                {
                    Ok(())
                }
                _ => bad(
                    "bad-format",
                    format!("must be a date YYYY-MM-DD, not {}", shown(v)),
                ),
            },
            Kind::Time => match v.as_str() {
                Some(s) if s.len() <= 40 && chrono::DateTime::parse_from_rfc3339(s).is_ok() => {
                    Ok(())
                }
                _ => bad(
                    "bad-format",
                    format!("must be an RFC 3339 time, not {}", shown(v)),
                ),
            },
            Kind::Ref(to) => match v.as_str() {
                Some(s) if is_record_id(s) => Ok(()),
                _ => bad(
                    "bad-format",
                    format!("must be the id of a {to}, not {}", shown(v)),
                ),
            },
            Kind::IdNumber => match v.as_str() {
                Some(s) if id_number::is_valid(s) => Ok(()),
                _ => bad("bad-check", "not a valid identity number".into()),
            },
            Kind::Phone => match v.as_str() {
                Some(s) if phone::is_valid(s) => Ok(()),
                _ => bad("bad-format", format!("not a phone number: {}", shown(v))),
            },
            Kind::Tags(list) => {
                let Some(Value::Array(items)) = json_of(v) else {
                    return bad("bad-format", "must be a list".into());
                };
                if items.len() > 32 {
                    return bad("too-long", "at most 32 tags".into());
                }
                for t in &items {
                    match t.as_str() {
                        Some(s) if s.chars().count() <= 32 && !s.trim().is_empty() => {
                            if list.is_some_and(|l| !l.contains(&s)) {
                                return bad(
                                    "not-in-list",
                                    format!(
                                        "{} is not one of {}",
                                        shown(t),
                                        list.unwrap_or_default().join(", ")
                                    ),
                                );
                            }
                        }
                        _ => return bad("bad-format", format!("bad tag {}", shown(t))),
                    }
                }
                Ok(())
            }
            Kind::Object(max) | Kind::List(max) => {
                let parsed = json_of(v);
                let fits = matches!(
                    (self, &parsed),
                    (Kind::Object(_), Some(Value::Object(_)))
                        | (Kind::List(_), Some(Value::Array(_)))
                );
                if !fits {
                    let what = if matches!(self, Kind::Object(_)) {
                        "an object"
                    } else {
                        "a list"
                    };
                    return bad("bad-format", format!("must be {what}"));
                }
                if parsed.map(|p| p.to_string().len()).unwrap_or(0) > max {
                    return bad("too-long", format!("at most {max} bytes"));
                }
                Ok(())
            }
            Kind::Position => {
                let p: Option<Position> = json_of(v).and_then(|j| serde_json::from_value(j).ok());
                match p {
                    Some(p) => p.validate().map_err(|e| problem(field, "bad-position", e)),
                    None => bad("bad-format", "must be a position".into()),
                }
            }
            Kind::Boundary => {
                let rings: Option<Vec<Vec<[f64; 2]>>> =
                    json_of(v).and_then(|j| serde_json::from_value(j).ok());
                let Some(rings) = rings else {
                    return bad("bad-format", "must be [[[lon, lat], …], …]".into());
                };
                let points: usize = rings.iter().map(Vec::len).sum();
                if rings.is_empty() || rings.len() > 64 || points > 20_000 {
                    return bad("out-of-range", "1–64 rings of at most 20,000 points".into());
                }
                for ring in &rings {
                    if ring.len() < 4 {
                        return bad("bad-format", "a ring has at least 4 points".into());
                    }
                    if ring.iter().any(|[lon, lat]| {
                        !(lon.is_finite()
                            && lat.is_finite()
                            && (-180.0..=180.0).contains(lon)
                            && (-90.0..=90.0).contains(lat))
                    }) {
                        return bad("out-of-range", "coordinates out of range".into());
                    }
                }
                Ok(())
            }
            Kind::Hex(max) => match v.as_str() {
                Some(s) if s.len() % 2 == 0 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    if s.len() / 2 > max {
                        bad("too-long", format!("at most {max} bytes"))
                    } else {
                        Ok(())
                    }
                }
                _ => bad("bad-format", "must be hex".into()),
            },
        }
    }
}

/// The photo list of a record: SHA-256 hashes in lower-case hex, at most [`MAX_PHOTOS`].
pub fn photo_list(v: &Value) -> Option<Vec<String>> {
    let a = v.as_array()?;
    if a.len() > MAX_PHOTOS {
        return None;
    }
    a.iter()
        .map(|h| {
            h.as_str()
                .filter(|h| {
                    h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                })
                .map(str::to_string)
        })
        .collect()
}

impl EntitySpec {
    pub fn field(&self, name: &str) -> Option<&'static FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn command(&self, name: &str) -> Option<&'static CommandSpec> {
        self.commands.iter().find(|c| c.name == name)
    }

    /// The device's column names, in specification order.
    pub fn columns(&self) -> impl Iterator<Item = &'static str> {
        self.fields.iter().map(|f| f.name)
    }

    /// Check one write by `side`: every field known, writable by that side, of its kind;
    /// on creation every required field present. Returns every problem, not the first.
    pub fn check(&self, side: Side, change: Change<'_>, fields: &Fields) -> Result<(), Problems> {
        let mut list = vec![];
        let (specs, photos): (&[FieldSpec], bool) = match change {
            Change::Command(name) => match self.command(name) {
                Some(c) => (c.args, c.photos),
                None => {
                    return Err(Problems {
                        entity: self.entity,
                        list: vec![problem(
                            "",
                            "unknown-command",
                            format!(
                                "{} has no command {}",
                                self.entity,
                                shown(&Value::from(name))
                            ),
                        )],
                    })
                }
            },
            _ => (self.fields, self.photos),
        };
        for (k, v) in fields {
            if k == PHOTOS && photos {
                if photo_list(v).is_none() {
                    list.push(problem(
                        k,
                        "bad-format",
                        format!("at most {MAX_PHOTOS} SHA-256 hashes in lower-case hex"),
                    ));
                }
                continue;
            }
            let Some(f) = specs.iter().find(|f| f.name == k) else {
                list.push(problem(
                    &k.chars().take(40).collect::<String>(),
                    "unknown-field",
                    format!(
                        "{} has no field {}",
                        self.entity,
                        shown(&Value::from(k.as_str()))
                    ),
                ));
                continue;
            };
            if !matches!(change, Change::Command(_)) && !f.writer.allows(side) {
                let who = match side {
                    Side::Device => "a device",
                    _ => "the centre",
                };
                list.push(problem(k, "not-writable", format!("{who} may not set it")));
                continue;
            }
            if v.is_null() {
                if !f.nullable {
                    list.push(problem(k, "required", "must have a value"));
                }
                continue;
            }
            if let Err(p) = f.kind.check(k, v) {
                list.push(p);
            }
        }
        if change == Change::Insert {
            for f in self
                .fields
                .iter()
                .filter(|f| f.required && f.writer.allows(side))
            {
                if !fields.contains_key(f.name) {
                    list.push(problem(f.name, "required", "must be given"));
                }
            }
        }
        if list.is_empty() {
            Ok(())
        } else {
            Err(Problems {
                entity: self.entity,
                list,
            })
        }
    }
}

/// Check a write of `entity` (see [`EntitySpec::check`]).
pub fn check(
    entity: Entity,
    side: Side,
    change: Change<'_>,
    fields: &Fields,
) -> Result<(), Problems> {
    spec(entity).check(side, change, fields)
}

#[cfg(test)]
mod tests;

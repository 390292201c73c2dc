//! 事项清单 — the event catalog as the centre edits it: one 小类 at a time (its name,
//! department, deadline in hours, working hours or working days, colour thresholds, photo
//! policy, the fields a report asks for) and its routing to departments. Every value is
//! checked ([`check`]: a [`Problem`] per field, which the console says in its user's
//! language); the entry is written centrally into the catalog's scope, so every device
//! takes it at its next sync, with its routing and an audit line in one transaction; a
//! form made from an older version of the entry changes nothing ([`catalog_version`]).

use crate::authz::{Action, Principal};
use crate::centre::event_version;
use crate::hub::{in_tx, sha256_hex, Hub, HubError, HubResult};
use gridhub_store::{with_tx, Department, RoutingRule, Row, StoreError};
use gridpad_domain::catalog::CategoryField;
use gridpad_domain::codes::GridLevel;
use gridpad_domain::worktime::{Deadline, DeadlineUnit};
use gridpad_proto::{Entity, Fields};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The kinds of value a report's field may ask for.
pub const FIELD_KINDS: &[&str] = &["text", "int", "choice", "bool"];
/// Most fields a 小类 asks for, and choices a field offers.
pub const MAX_FIELDS: usize = 20;
pub const MAX_CHOICES: usize = 20;

/// A 小类's photo policy: how many photos a report needs and how the device shrinks them
/// (the device clamps what it reads to the same bounds, `gridpad_photo::PhotoPolicy`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoPolicy {
    #[serde(default)]
    pub min_photos: u32,
    #[serde(default = "default_pixels")]
    pub max_pixels: u64,
    #[serde(default = "default_quality")]
    pub quality: u32,
    #[serde(default = "default_bytes")]
    pub max_bytes: u64,
}

fn default_pixels() -> u64 {
    2_000_000
}
fn default_quality() -> u32 {
    80
}
fn default_bytes() -> u64 {
    600_000
}

impl Default for PhotoPolicy {
    fn default() -> Self {
        PhotoPolicy {
            min_photos: 0,
            max_pixels: default_pixels(),
            quality: default_quality(),
            max_bytes: default_bytes(),
        }
    }
}

/// One catalog entry as the centre sees and edits it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoryEdit {
    pub name: String,
    pub department: String,
    /// None: the catalog gives no deadline (a dispatcher must give one).
    pub deadline: Option<Deadline>,
    pub yellow_pct: u32,
    pub red_pct: u32,
    pub photo: PhotoPolicy,
    pub fields: Vec<CategoryField>,
    /// Level → department code.
    pub routing: Vec<(String, String)>,
}

/// A catalog entry with what the editor needs beside it.
#[derive(Clone, Debug)]
pub struct CatalogEntry {
    pub code: String,
    pub parent_code: Option<String>,
    pub level: u8,
    pub sort: i64,
    pub edit: CategoryEdit,
    /// What a form sends back to say which version it was made from.
    pub version: String,
}

/// What is wrong with one value of an edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    NameMissing,
    NameTooLong,
    DepartmentTooLong,
    DeadlineRange,
    DeadlineUnit,
    ThresholdRange,
    ThresholdOrder,
    MinPhotos,
    Pixels,
    Quality,
    Bytes,
    TooManyFields,
    FieldKey,
    FieldKeyTwice,
    FieldLabel,
    FieldKind,
    FieldChoices,
    RoutingLevel,
    RoutingDepartment,
    RoutingTwice,
}

impl Problem {
    pub fn code(self) -> &'static str {
        match self {
            Problem::NameMissing => "name_missing",
            Problem::NameTooLong => "name_too_long",
            Problem::DepartmentTooLong => "department_too_long",
            Problem::DeadlineRange => "deadline_range",
            Problem::DeadlineUnit => "deadline_unit",
            Problem::ThresholdRange => "threshold_range",
            Problem::ThresholdOrder => "threshold_order",
            Problem::MinPhotos => "min_photos",
            Problem::Pixels => "pixels",
            Problem::Quality => "quality",
            Problem::Bytes => "bytes",
            Problem::TooManyFields => "too_many_fields",
            Problem::FieldKey => "field_key",
            Problem::FieldKeyTwice => "field_key_twice",
            Problem::FieldLabel => "field_label",
            Problem::FieldKind => "field_kind",
            Problem::FieldChoices => "field_choices",
            Problem::RoutingLevel => "routing_level",
            Problem::RoutingDepartment => "routing_department",
            Problem::RoutingTwice => "routing_twice",
        }
    }
}

fn plain(s: &str, max: usize) -> bool {
    s.chars().count() <= max && !s.chars().any(char::is_control)
}

/// Every problem of an edit (none: it may be written). `departments`: the codes routing
/// may name.
pub fn check(e: &CategoryEdit, departments: &[String]) -> Vec<Problem> {
    let mut p = vec![];
    let name = e.name.trim();
    if name.is_empty() {
        p.push(Problem::NameMissing);
    } else if !plain(name, 64) {
        p.push(Problem::NameTooLong);
    }
    if !plain(&e.department, 64) {
        p.push(Problem::DepartmentTooLong);
    }
    if let Some(d) = e.deadline {
        let max = match d.unit {
            DeadlineUnit::WorkingDays => 366,
            _ => 24 * 366,
        };
        if !(1..=max).contains(&d.amount) {
            p.push(Problem::DeadlineRange);
        }
    }
    if !(1..=100).contains(&e.yellow_pct) || !(1..=100).contains(&e.red_pct) {
        p.push(Problem::ThresholdRange);
    } else if e.yellow_pct >= e.red_pct {
        p.push(Problem::ThresholdOrder);
    }
    let ph = &e.photo;
    if ph.min_photos > 9 {
        p.push(Problem::MinPhotos);
    }
    if !(100_000..=50_000_000).contains(&ph.max_pixels) {
        p.push(Problem::Pixels);
    }
    if !(30..=95).contains(&ph.quality) {
        p.push(Problem::Quality);
    }
    if !(50_000..=10_000_000).contains(&ph.max_bytes) {
        p.push(Problem::Bytes);
    }
    if e.fields.len() > MAX_FIELDS {
        p.push(Problem::TooManyFields);
    }
    let mut keys = BTreeSet::new();
    for f in &e.fields {
        let key_ok = (1..=32).contains(&f.key.len())
            && f.key.starts_with(|c: char| c.is_ascii_lowercase())
            && f.key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !key_ok {
            p.push(Problem::FieldKey);
        } else if !keys.insert(f.key.as_str()) {
            p.push(Problem::FieldKeyTwice);
        }
        if f.label.trim().is_empty() || !plain(&f.label, 32) {
            p.push(Problem::FieldLabel);
        }
        if !FIELD_KINDS.contains(&f.kind.as_str()) {
            p.push(Problem::FieldKind);
        }
        let distinct: BTreeSet<&String> = f.choices.iter().collect();
        let choices_ok = if f.kind == "choice" {
            (1..=MAX_CHOICES).contains(&f.choices.len())
                && distinct.len() == f.choices.len()
                && f.choices
                    .iter()
                    .all(|c| !c.trim().is_empty() && plain(c, 32))
        } else {
            f.choices.is_empty()
        };
        if !choices_ok {
            p.push(Problem::FieldChoices);
        }
    }
    let mut levels = BTreeSet::new();
    for (level, dep) in &e.routing {
        if GridLevel::parse(level).is_none() {
            p.push(Problem::RoutingLevel);
        } else if !levels.insert(level.as_str()) {
            p.push(Problem::RoutingTwice);
        }
        if !departments.contains(dep) {
            p.push(Problem::RoutingDepartment);
        }
    }
    p.dedup();
    p
}

fn text(r: &Row, k: &str) -> String {
    r.fields
        .get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A JSON value that may be stored as its text (the device keeps lists as text).
fn json_of<T: serde::de::DeserializeOwned + Default>(v: Option<&Value>) -> T {
    match v {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or_default(),
        Some(v) => serde_json::from_value(v.clone()).unwrap_or_default(),
        None => T::default(),
    }
}

/// The version a form carries: the entry's fields' clocks and its routing.
pub fn catalog_version(row: &Row, routing: &[RoutingRule]) -> String {
    let mut rules: Vec<String> = routing
        .iter()
        .filter(|r| r.category_code == row.row_id)
        .map(|r| format!("{}={}", r.level, r.department_code))
        .collect();
    rules.sort();
    sha256_hex(format!("{}|{}", event_version(row), rules.join(";")).as_bytes())[..20].to_string()
}

fn entry(row: &Row, routing: &[RoutingRule]) -> CatalogEntry {
    let f = &row.fields;
    let int = |k: &str, d: u64| f.get(k).and_then(Value::as_u64).unwrap_or(d);
    let (yellow, red) = crate::deadlines::catalog_thresholds(Some(row));
    let mut rules: Vec<(String, String)> = routing
        .iter()
        .filter(|r| r.category_code == row.row_id)
        .map(|r| (r.level.clone(), r.department_code.clone()))
        .collect();
    rules.sort();
    CatalogEntry {
        code: row.row_id.clone(),
        parent_code: f
            .get("parent_code")
            .and_then(Value::as_str)
            .map(str::to_string),
        level: int("level", 2).min(2) as u8,
        sort: f.get("sort").and_then(Value::as_i64).unwrap_or_default(),
        edit: CategoryEdit {
            name: text(row, "name"),
            department: text(row, "department"),
            deadline: crate::deadlines::catalog_deadline(row),
            yellow_pct: yellow,
            red_pct: red,
            photo: json_of(f.get("photo_policy")),
            fields: json_of(f.get("fields")),
            routing: rules,
        },
        version: catalog_version(row, routing),
    }
}

/// The changed fields of a catalog row (as the row keeps them: lists as JSON text).
fn changed(before: &CategoryEdit, after: &CategoryEdit) -> Fields {
    let mut out = Fields::new();
    let mut put = |k: &str, old: Value, new: Value| {
        if old != new {
            out.insert(k.to_string(), new);
        }
    };
    put("name", json!(before.name), json!(after.name.trim()));
    put(
        "department",
        json!(before.department),
        json!(after.department.trim()),
    );
    put(
        "deadline_hours",
        json!(before.deadline.map(|d| d.amount)),
        json!(after.deadline.map(|d| d.amount)),
    );
    put(
        "deadline_unit",
        json!(before.deadline.map(|d| d.unit.as_str())),
        json!(after.deadline.map(|d| d.unit.as_str())),
    );
    put(
        "yellow_pct",
        json!(before.yellow_pct),
        json!(after.yellow_pct),
    );
    put("red_pct", json!(before.red_pct), json!(after.red_pct));
    if before.photo != after.photo {
        out.insert(
            "photo_policy".into(),
            json!(serde_json::to_string(&after.photo).expect("policy")),
        );
    }
    if before.fields != after.fields {
        out.insert(
            "fields".into(),
            json!(serde_json::to_string(&after.fields).expect("fields")),
        );
    }
    out
}

impl Hub {
    /// The catalog (each 大类, then its 小类, in their order) and the departments routing
    /// may name.
    pub fn catalog(&self, who: &Principal) -> HubResult<(Vec<CatalogEntry>, Vec<Department>)> {
        who.require(Action::CatalogWrite)?;
        let (rows, routing, departments) = with_tx(self.store(), |tx| {
            Ok((
                tx.rows(Entity::CatalogCategory, 10_000)?,
                tx.routing()?,
                tx.departments()?,
            ))
        })?;
        let mut out: Vec<CatalogEntry> = rows
            .iter()
            .filter(|r| !r.deleted)
            .map(|r| entry(r, &routing))
            .collect();
        // Each 大类, then its 小类.
        let sorts: std::collections::HashMap<String, i64> =
            out.iter().map(|e| (e.code.clone(), e.sort)).collect();
        let key = |e: &CatalogEntry| {
            let group = e.parent_code.clone().unwrap_or_else(|| e.code.clone());
            (
                sorts.get(&group).copied().unwrap_or(e.sort),
                group,
                e.level,
                e.sort,
                e.code.clone(),
            )
        };
        out.sort_by_key(key);
        Ok((out, departments))
    }

    /// Change a 小类 as `edit` says, if it is still at `version`: one transaction writes
    /// the changed fields into the catalog's scope (devices take them at their next sync),
    /// the routing, and the audit line. Returns whether anything changed.
    pub fn edit_category(
        &self,
        who: &Principal,
        code: &str,
        edit: &CategoryEdit,
        version: &str,
    ) -> HubResult<bool> {
        who.require(Action::CatalogWrite)?;
        let hlc = self.tick();
        in_tx(self.store(), |tx| {
            let row = tx
                .row(Entity::CatalogCategory, code)?
                .filter(|r| !r.deleted)
                .ok_or_else(|| HubError::NotFound(format!("category {code:.32}")))?;
            let routing = tx.routing()?;
            let before = entry(&row, &routing);
            if before.level != 2 {
                return Err(HubError::BadRequest(format!("{code:.32} is not a 小类")));
            }
            if before.version != version {
                return Err(HubError::Conflict(
                    "the catalog entry changed since the form was loaded".into(),
                ));
            }
            let known: Vec<String> = tx.departments()?.into_iter().map(|d| d.code).collect();
            let problems = check(edit, &known);
            if !problems.is_empty() {
                let codes: Vec<&str> = problems.iter().map(|p| p.code()).collect();
                return Err(HubError::BadRequest(codes.join(", ")));
            }
            let fields = changed(&before.edit, edit);
            let mut rules: Vec<(String, String)> = edit.routing.clone();
            rules.sort();
            if fields.is_empty() && rules == before.edit.routing {
                return Ok(false);
            }
            if !fields.is_empty() {
                self.central_write(
                    tx,
                    Entity::CatalogCategory,
                    code,
                    fields.clone(),
                    &hlc,
                    None,
                )?;
            }
            if rules != before.edit.routing {
                let out: Vec<RoutingRule> = rules
                    .iter()
                    .map(|(level, dep)| RoutingRule {
                        category_code: code.to_string(),
                        level: level.clone(),
                        department_code: dep.clone(),
                    })
                    .collect();
                tx.put_routing(code, &out).map_err(|e| match e {
                    StoreError::Conflict(_) => {
                        HubError::BadRequest("one department per level".into())
                    }
                    e => e.into(),
                })?;
            }
            let old: Fields = fields
                .keys()
                .filter_map(|k| row.fields.get(k).map(|v| (k.clone(), v.clone())))
                .collect();
            self.audit(
                tx,
                &who.actor,
                "catalog.edit",
                &format!("category:{code}"),
                json!({"fields": old, "routing": before.edit.routing}),
                json!({"fields": fields, "routing": rules}),
            )?;
            Ok(true)
        })
    }
}

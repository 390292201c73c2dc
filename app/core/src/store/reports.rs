//! Reports of events (上报) and the device's commands on tasks from the centre.

use super::{new_id, rfc3339, text, Store, MAX_TEXT};
use crate::error::{Error, Result};
use crate::model::*;
use chrono::{DateTime, Utc};
use gridpad_domain::worktime::WorkCalendar;
use gridpad_proto::{Entity, Fields, Op};
use serde_json::{json, Value};

/// A report of an event, as the user fills it in.
#[derive(Clone, Debug, Default)]
pub struct NewReport {
    /// Defaults to the device's own grid.
    pub grid_id: Option<String>,
    pub category_code: String,
    pub description: String,
    pub address_text: String,
    pub fields: serde_json::Map<String, Value>,
    pub photos: Vec<String>,
    pub position: Option<Position>,
    /// GNSS-corrected time of the report, when the clock offset is known.
    pub corrected_time: Option<DateTime<Utc>>,
    /// 自行处置: handled on the spot and reported as such.
    pub handled_on_spot: bool,
    pub reporter: String,
}

impl Store {
    /// Report an event (上报), offline. Validated against its catalog category; its
    /// deadline comes from the category; its position and both clocks are recorded.
    pub fn report_event(&mut self, r: NewReport) -> Result<String> {
        let cat = self
            .category(&r.category_code)?
            .ok_or_else(|| Error::Invalid(format!("no catalog category {:?}", r.category_code)))?;
        if cat.level != 2 {
            return Err(Error::Invalid(format!(
                "{} ({}) is a main category: choose one of its subcategories",
                cat.name, cat.code
            )));
        }
        text("description", &r.description, true)?;
        text("address", &r.address_text, false)?;
        text("reporter", &r.reporter, true)?;
        for field in &cat.fields {
            match r.fields.get(&field.key) {
                None | Some(Value::Null) if field.required => {
                    return Err(Error::Invalid(format!(
                        "{} ({}) is required for {}",
                        field.label, field.key, cat.name
                    )))
                }
                Some(v) if !v.is_null() => {
                    let ok = match field.kind.as_str() {
                        "int" => v.is_i64(),
                        "bool" => v.is_boolean(),
                        "choice" => v
                            .as_str()
                            .is_some_and(|s| field.choices.iter().any(|c| c == s)),
                        _ => v.as_str().is_some_and(|s| s.chars().count() <= MAX_TEXT),
                    };
                    if !ok {
                        return Err(Error::Invalid(format!(
                            "{} ({}) has a wrong value",
                            field.label, field.key
                        )));
                    }
                }
                _ => {}
            }
        }
        if let Some(k) = r
            .fields
            .keys()
            .find(|k| !cat.fields.iter().any(|f| &f.key == *k))
        {
            return Err(Error::Invalid(format!("{} has no field {k:?}", cat.name)));
        }
        if let Some(p) = &r.position {
            p.validate().map_err(Error::Invalid)?;
        }
        if r.photos
            .iter()
            .any(|h| h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(Error::Invalid(
                "photo references must be SHA-256 hex".into(),
            ));
        }
        let grid_id = self.grid_or_home(r.grid_id.as_deref())?;
        let device_time = self.now();
        let basis = r.corrected_time.unwrap_or(device_time);
        let (status, deadline) = if r.handled_on_spot {
            (EventStatus::HandledOnSpot, None)
        } else {
            // Counted on the calendar this build ships; a working-time deadline in a
            // year it does not hold is left to the centre (no guess).
            (
                EventStatus::Reported,
                cat.deadline()
                    .and_then(|d| WorkCalendar::shipped_ref().due(basis, d).ok()),
            )
        };
        let id = new_id();
        let mut f = Fields::new();
        f.insert("grid_id".into(), json!(grid_id));
        f.insert("category_code".into(), json!(cat.code));
        f.insert("description".into(), json!(r.description.trim()));
        f.insert("address_text".into(), json!(r.address_text.trim()));
        f.insert("fields".into(), Value::Object(r.fields));
        f.insert("status".into(), json!(status.as_str()));
        f.insert("handled_on_spot".into(), json!(r.handled_on_spot));
        f.insert("reporter".into(), json!(r.reporter));
        f.insert(
            "position".into(),
            json!(r.position.unwrap_or_else(Position::none)),
        );
        f.insert("device_time".into(), json!(rfc3339(device_time)));
        f.insert(
            "corrected_time".into(),
            json!(r.corrected_time.map(rfc3339)),
        );
        f.insert("reported_at".into(), json!(rfc3339(basis)));
        f.insert("deadline_at".into(), json!(deadline.map(rfc3339)));
        if !r.photos.is_empty() {
            f.insert("photos".into(), json!(r.photos));
        }
        self.write(|w| w.record(Entity::Event, &id, Op::Insert, f))?;
        Ok(id)
    }

    /// Accept, start, complete (with feedback) or reject (with a reason) a task.
    /// The centre validates the command again when it arrives.
    pub fn task_command(
        &mut self,
        id: &str,
        cmd: TaskCommand,
        note: &str,
        photos: &[String],
        position: Option<Position>,
    ) -> Result<()> {
        text(
            "note",
            note,
            matches!(cmd, TaskCommand::Reject | TaskCommand::Complete),
        )?;
        let mut f = Fields::new();
        f.insert("at".into(), json!(rfc3339(self.now())));
        match cmd {
            TaskCommand::Complete => {
                f.insert("feedback".into(), json!(note));
            }
            TaskCommand::Reject => {
                f.insert("reason".into(), json!(note));
            }
            _ => {}
        }
        if !photos.is_empty() {
            f.insert("photos".into(), json!(photos));
        }
        if let Some(p) = position {
            p.validate().map_err(Error::Invalid)?;
            f.insert("position".into(), json!(p));
        }
        self.write(|w| w.record(Entity::Task, id, Op::Command(cmd.as_str().into()), f))?;
        Ok(())
    }
}

//! Residents: registering one and changing some of their fields, each one outbox row.

use super::{new_id, text, Store};
use crate::error::{Error, Result};
use crate::model::*;
use gridpad_proto::{Entity, Fields, Op};
use serde_json::{json, Value};

/// A new resident registered on the device.
#[derive(Clone, Debug)]
pub struct NewPerson {
    pub grid_id: Option<String>,
    pub house_id: Option<String>,
    pub name: String,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub sex: Sex,
    pub birth_date: Option<String>,
    pub relation: Relation,
    pub residence_type: ResidenceType,
    pub tags: Vec<PersonTag>,
    pub note: String,
}

impl Store {
    /// Register a resident. The ID number's check digit and the phone are validated.
    pub fn add_person(&mut self, p: NewPerson) -> Result<String> {
        text("name", &p.name, true)?;
        if p.name.chars().count() > 40 {
            return Err(Error::Invalid("name is longer than 40 characters".into()));
        }
        if let Some(idn) = &p.id_number {
            if !id_number::is_valid(idn) {
                return Err(Error::Invalid(format!(
                    "ID number {} is not valid (length, birth date or check digit)",
                    id_number::masked(idn)
                )));
            }
        }
        if let Some(phone) = &p.phone {
            if !crate::model::phone::is_valid(phone) {
                return Err(Error::Invalid(format!(
                    "phone number {phone:?} is not valid"
                )));
            }
        }
        if let Some(b) = &p.birth_date {
            chrono::NaiveDate::parse_from_str(b, "%Y-%m-%d")
                .map_err(|_| Error::Invalid(format!("birth date {b:?} is not YYYY-MM-DD")))?;
        }
        let grid_id = self.grid_or_home(p.grid_id.as_deref())?;
        let id = new_id();
        let mut f = Fields::new();
        f.insert("grid_id".into(), json!(grid_id));
        f.insert("house_id".into(), json!(p.house_id));
        f.insert("name".into(), json!(p.name.trim()));
        f.insert(
            "id_number".into(),
            json!(p.id_number.map(|s| s.to_uppercase())),
        );
        f.insert("phone".into(), json!(p.phone));
        f.insert("sex".into(), json!(p.sex.as_str()));
        f.insert("birth_date".into(), json!(p.birth_date));
        f.insert("relation".into(), json!(p.relation.as_str()));
        f.insert("residence_type".into(), json!(p.residence_type.as_str()));
        f.insert(
            "tags".into(),
            json!(p.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>()),
        );
        f.insert("note".into(), json!(p.note));
        self.write(|w| w.record(Entity::Person, &id, Op::Insert, f))?;
        Ok(id)
    }

    /// Change some fields of a resident (only the fields given travel to the centre).
    pub fn update_person(&mut self, id: &str, fields: Fields) -> Result<()> {
        if let Some(Value::String(idn)) = fields.get("id_number") {
            if !id_number::is_valid(idn) {
                return Err(Error::Invalid("ID number is not valid".into()));
            }
        }
        if let Some(Value::String(name)) = fields.get("name") {
            text("name", name, true)?;
        }
        if let Some(Value::String(phone)) = fields.get("phone") {
            if !crate::model::phone::is_valid(phone) {
                return Err(Error::Invalid(format!(
                    "phone number {phone:?} is not valid"
                )));
            }
        }
        self.write(|w| w.record(Entity::Person, id, Op::Update, fields))?;
        Ok(())
    }
}

//! Adding and editing a house (房屋) and an organisation (单位/实有单位) on the device.
//!
//! The checks of the two forms live here once: the UI runs [`HouseDraft::problems`] /
//! [`OrganisationDraft::problems`] to show each problem next to its field, and the store runs them
//! again on save together with what only the database knows (the building exists, the
//! floor is in the building, the room or the credit code is not taken already). A form
//! with any problem writes nothing.
//!
//! Both are base data that the hub merges field by field (last writer wins per field), so
//! an edit records only the fields whose value changed; saving an unchanged form records
//! nothing at all.

use crate::error::{Error, Result};
use crate::model::{credit_code, phone, House, HouseUse, OrgKind, Organisation, Tenure};
use crate::store::Store;
use gridpad_proto::{Entity, Fields, Op};
use rusqlite::{params, OptionalExtension};
use serde_json::{json, Value};
use std::fmt;

/// Longest house number (室) and stairwell (单元) the form accepts.
pub const MAX_ROOM: usize = 10;
/// Floors: five below ground to the tallest residential towers.
pub const FLOORS: std::ops::RangeInclusive<i64> = -5..=200;
/// Floor area in m² (a parking space to a large shop floor).
pub const MAX_AREA_M2: f64 = 10_000.0;
pub const MAX_ADDRESS: usize = 200;
pub const MAX_ORGANISATION_NAME: usize = 60;
pub const MAX_PERSON_NAME: usize = 40;

/// One problem of a form: which field, and a code the UI turns into words next to it.
///
/// Codes: `required`, `too-long`, `bad-chars`, `bad-number`, `range`, `above-building`
/// (a floor higher than the building), `duplicate` (room or credit code already taken),
/// `unknown` (no such building), `bad-length` / `bad-check` (credit code), `bad` (phone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FormProblem {
    pub field: &'static str,
    pub code: &'static str,
}

impl fmt::Display for FormProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.code)
    }
}

fn problem(field: &'static str, code: &'static str) -> FormProblem {
    FormProblem { field, code }
}

fn too_long(s: &str, max: usize) -> bool {
    s.chars().count() > max
}

/// A house number or stairwell (单元): letters (also 商铺, 东), digits and dashes.
fn number_like(s: &str) -> bool {
    s.chars().all(|c| c.is_alphanumeric() || c == '-')
}

/// A floor as typed: empty (not known) or a whole number in [`FLOORS`].
pub fn parse_floor(text: &str) -> Result<Option<i64>, FormProblem> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let digits = t.strip_prefix('-').unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 4 {
        return Err(problem("floor", "bad-number"));
    }
    let n: i64 = t.parse().map_err(|_| problem("floor", "bad-number"))?;
    Ok(Some(n))
}

/// A floor area as typed: empty (not known) or a decimal number of m² (`88`, `88.5`).
pub fn parse_area(text: &str) -> Result<Option<f64>, FormProblem> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let ok = t.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && t.bytes().filter(|&b| b == b'.').count() <= 1
        && t.bytes().any(|b| b.is_ascii_digit())
        && t.len() <= 10;
    if !ok {
        return Err(problem("area_m2", "bad-number"));
    }
    t.parse::<f64>()
        .map(Some)
        .map_err(|_| problem("area_m2", "bad-number"))
}

/// A house as the add/edit form fills it in.
#[derive(Clone, Debug, PartialEq)]
pub struct HouseDraft {
    /// The building (楼栋) it is in; `None` for a house on its own (a shop front, a
    /// courtyard house). Fixed once the house exists.
    pub building_id: Option<String>,
    /// 单元, e.g. `2单元`; may be empty.
    pub stairwell: String,
    /// 室 — the house number, e.g. `502`.
    pub room: String,
    pub floor: Option<i64>,
    /// 房屋用途 / 居住状态.
    pub use_: HouseUse,
    /// 产权性质.
    pub tenure: Option<Tenure>,
    pub area_m2: Option<f64>,
    /// Empty: made from the building's address, the stairwell and the room.
    pub full_address: String,
}

impl HouseDraft {
    /// A draft for a new house in `building_id`.
    pub fn new(building_id: Option<String>) -> HouseDraft {
        HouseDraft {
            building_id,
            stairwell: String::new(),
            room: String::new(),
            floor: None,
            use_: HouseUse::SelfOccupied,
            tenure: None,
            area_m2: None,
            full_address: String::new(),
        }
    }

    /// The draft an edit starts from.
    pub fn of(h: &House) -> HouseDraft {
        HouseDraft {
            building_id: h.building_id.clone(),
            stairwell: h.stairwell.clone(),
            room: h.room.clone(),
            floor: h.floor,
            use_: h.use_,
            tenure: h.tenure,
            area_m2: h.area_m2,
            full_address: h.full_address.clone(),
        }
    }

    /// What is wrong with the form by itself (the store adds what the database knows).
    pub fn problems(&self) -> Vec<FormProblem> {
        let mut out = vec![];
        let room = self.room.trim();
        if room.is_empty() {
            out.push(problem("room", "required"));
        } else if too_long(room, MAX_ROOM) {
            out.push(problem("room", "too-long"));
        } else if !number_like(room) {
            out.push(problem("room", "bad-chars"));
        }
        let stairwell = self.stairwell.trim();
        if too_long(stairwell, MAX_ROOM) {
            out.push(problem("unit_no", "too-long"));
        } else if !number_like(stairwell) {
            out.push(problem("unit_no", "bad-chars"));
        }
        if self.floor.is_some_and(|f| !FLOORS.contains(&f)) {
            out.push(problem("floor", "range"));
        }
        if self
            .area_m2
            .is_some_and(|a| !(a.is_finite() && a > 0.0 && a <= MAX_AREA_M2))
        {
            out.push(problem("area_m2", "range"));
        }
        let addr = self.full_address.trim();
        if too_long(addr, MAX_ADDRESS) {
            out.push(problem("full_address", "too-long"));
        } else if addr.is_empty() && self.building_id.is_none() {
            out.push(problem("full_address", "required"));
        }
        out
    }
}

/// An organisation (单位) as the add/edit form fills it in.
#[derive(Clone, Debug, PartialEq)]
pub struct OrganisationDraft {
    /// 单位名称.
    pub name: String,
    /// 单位类型.
    pub kind: OrgKind,
    /// 统一社会信用代码; empty when the organisation has none (an unregistered stall).
    pub credit_code: String,
    /// 法人/负责人.
    pub contact_name: String,
    /// 联系电话.
    pub contact_phone: String,
    pub address_text: String,
}

impl OrganisationDraft {
    pub fn new() -> OrganisationDraft {
        OrganisationDraft {
            name: String::new(),
            kind: OrgKind::Shop,
            credit_code: String::new(),
            contact_name: String::new(),
            contact_phone: String::new(),
            address_text: String::new(),
        }
    }

    pub fn of(o: &Organisation) -> OrganisationDraft {
        OrganisationDraft {
            name: o.name.clone(),
            kind: o.kind,
            credit_code: o.licence_no.clone().unwrap_or_default(),
            contact_name: o.contact_name.clone().unwrap_or_default(),
            contact_phone: o.contact_phone.clone().unwrap_or_default(),
            address_text: o.address_text.clone(),
        }
    }

    pub fn problems(&self) -> Vec<FormProblem> {
        let mut out = vec![];
        let name = self.name.trim();
        if name.is_empty() {
            out.push(problem("name", "required"));
        } else if too_long(name, MAX_ORGANISATION_NAME) {
            out.push(problem("name", "too-long"));
        }
        let code = self.credit_code.trim();
        if !code.is_empty() {
            if let Err(p) = credit_code::check(code) {
                out.push(problem("licence_no", p.code()));
            }
        }
        if too_long(self.contact_name.trim(), MAX_PERSON_NAME) {
            out.push(problem("contact_name", "too-long"));
        }
        let phone = self.contact_phone.trim();
        if !phone.is_empty() && !phone::is_valid(phone) {
            out.push(problem("contact_phone", "bad"));
        }
        if too_long(self.address_text.trim(), MAX_ADDRESS) {
            out.push(problem("address_text", "too-long"));
        }
        out
    }
}

impl Default for OrganisationDraft {
    fn default() -> Self {
        OrganisationDraft::new()
    }
}

/// What a house form needs to know of its building.
struct BuildingFacts {
    grid_id: String,
    floors: Option<i64>,
    /// The building's address heading: `幸福社区城河路18号3栋`.
    heading: String,
}

fn fail_on(problems: Vec<FormProblem>) -> Result<()> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Form(problems))
    }
}

fn opt_text(s: &str) -> Value {
    let t = s.trim();
    if t.is_empty() {
        Value::Null
    } else {
        json!(t)
    }
}

/// The fields of `new` that differ from `old` (both complete sets of the same keys).
fn changed(old: &Fields, new: Fields) -> Fields {
    new.into_iter()
        .filter(|(k, v)| old.get(k) != Some(v))
        .collect()
}

impl Store {
    pub fn house(&self, id: &str) -> Result<Option<House>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, grid_id, building_id, unit_no, room, floor, use, tenure, area_m2, full_address
                 FROM house WHERE id = ?",
                [id],
                |r| {
                    let use_: String = r.get(6)?;
                    let tenure: Option<String> = r.get(7)?;
                    Ok(House {
                        id: r.get(0)?,
                        grid_id: r.get(1)?,
                        building_id: r.get(2)?,
                        stairwell: r.get(3)?,
                        room: r.get(4)?,
                        floor: r.get(5)?,
                        use_: HouseUse::parse(&use_).unwrap_or(HouseUse::Other),
                        tenure: tenure.as_deref().and_then(Tenure::parse),
                        area_m2: r.get(8)?,
                        full_address: r.get(9)?,
                    })
                },
            )
            .optional()?)
    }

    fn building_facts(&self, building_id: &str) -> Result<Option<BuildingFacts>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT b.grid_id, b.floors, coalesce(a.full_text, '') || b.name
                 FROM building b LEFT JOIN address a ON a.id = b.address_id WHERE b.id = ?",
                [building_id],
                |r| {
                    Ok(BuildingFacts {
                        grid_id: r.get(0)?,
                        floors: r.get(1)?,
                        heading: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Checks that need the database.
    fn house_checks(
        &self,
        d: &HouseDraft,
        own_id: Option<&str>,
    ) -> Result<(Option<BuildingFacts>, Vec<FormProblem>)> {
        let mut out = d.problems();
        let facts = match &d.building_id {
            Some(b) => {
                let f = self.building_facts(b)?;
                if f.is_none() {
                    out.push(problem("building", "unknown"));
                }
                f
            }
            None => None,
        };
        if let (
            Some(BuildingFacts {
                floors: Some(floors),
                ..
            }),
            Some(floor),
        ) = (&facts, d.floor)
        {
            if floor > *floors && !out.iter().any(|p| p.field == "floor") {
                out.push(problem("floor", "above-building"));
            }
        }
        if let Some(b) = &d.building_id {
            let taken: bool = self.conn().query_row(
                "SELECT count(*) FROM house
                     WHERE building_id = ? AND unit_no = ? AND room = ? AND id != ?",
                params![b, d.stairwell.trim(), d.room.trim(), own_id.unwrap_or("")],
                |r| r.get::<_, i64>(0),
            )? > 0;
            if taken && !out.iter().any(|p| p.field == "room") {
                out.push(problem("room", "duplicate"));
            }
        }
        Ok((facts, out))
    }

    fn made_address(heading: &str, stairwell: &str, room: &str) -> String {
        let room = room.trim();
        let suffix = if room.ends_with('室') { "" } else { "室" };
        format!("{heading}{}{room}{suffix}", stairwell.trim())
    }

    fn house_fields(d: &HouseDraft, full_address: String) -> Fields {
        let mut f = Fields::new();
        f.insert("unit_no".into(), json!(d.stairwell.trim()));
        f.insert("room".into(), json!(d.room.trim()));
        f.insert("floor".into(), json!(d.floor));
        f.insert("use".into(), json!(d.use_.as_str()));
        f.insert("tenure".into(), json!(d.tenure.map(|t| t.as_str())));
        f.insert("area_m2".into(), json!(d.area_m2));
        f.insert("full_address".into(), json!(full_address));
        f
    }

    /// Register a house, in its building (or, without one, in this device's grid). Its
    /// address is made from the building's when the form leaves it empty.
    pub fn add_house(&mut self, d: &HouseDraft) -> Result<String> {
        let (facts, problems) = self.house_checks(d, None)?;
        fail_on(problems)?;
        let grid_id = match &facts {
            Some(b) => b.grid_id.clone(),
            None => self.grid_or_home(None)?,
        };
        let addr = match (d.full_address.trim(), &facts) {
            ("", Some(b)) => Self::made_address(&b.heading, &d.stairwell, &d.room),
            (a, _) => a.to_string(),
        };
        let mut f = Self::house_fields(d, addr);
        f.insert("grid_id".into(), json!(grid_id));
        f.insert("building_id".into(), json!(d.building_id));
        let id = uuid::Uuid::now_v7().to_string();
        self.write(|w| w.record(Entity::House, &id, Op::Insert, f))?;
        Ok(id)
    }

    /// Save an edited house: only the fields that changed are recorded (and travel to the
    /// centre); returns their names, empty when nothing changed. An address that was made
    /// from the building keeps following the stairwell and the room.
    pub fn update_house(&mut self, id: &str, d: &HouseDraft) -> Result<Vec<String>> {
        let cur = self
            .house(id)?
            .ok_or_else(|| Error::NotFound(format!("house {id}")))?;
        let d = HouseDraft {
            building_id: cur.building_id.clone(),
            ..d.clone()
        };
        let (facts, problems) = self.house_checks(&d, Some(id))?;
        fail_on(problems)?;
        let typed = d.full_address.trim();
        let addr = match &facts {
            Some(b)
                if typed.is_empty()
                    || (typed == cur.full_address
                        && cur.full_address
                            == Self::made_address(&b.heading, &cur.stairwell, &cur.room)) =>
            {
                Self::made_address(&b.heading, &d.stairwell, &d.room)
            }
            _ if typed.is_empty() => cur.full_address.clone(),
            _ => typed.to_string(),
        };
        let old = Self::house_fields(&HouseDraft::of(&cur), cur.full_address.clone());
        let f = changed(&old, Self::house_fields(&d, addr));
        let names: Vec<String> = f.keys().cloned().collect();
        if !f.is_empty() {
            self.write(|w| w.record(Entity::House, id, Op::Update, f))?;
        }
        Ok(names)
    }

    pub fn organisation(&self, id: &str) -> Result<Option<Organisation>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, grid_id, name, kind, licence_no, contact_name, contact_phone, address_text, risk_tags
                 FROM organisation WHERE id = ?",
                [id],
                |r| {
                    let kind: String = r.get(3)?;
                    let tags: String = r.get(8)?;
                    Ok(Organisation {
                        id: r.get(0)?,
                        grid_id: r.get(1)?,
                        name: r.get(2)?,
                        kind: OrgKind::parse(&kind).unwrap_or(OrgKind::Other),
                        licence_no: r.get(4)?,
                        contact_name: r.get(5)?,
                        contact_phone: r.get(6)?,
                        address_text: r.get(7)?,
                        risk_tags: serde_json::from_str(&tags).unwrap_or_default(),
                    })
                },
            )
            .optional()?)
    }

    fn organisation_checks(
        &self,
        d: &OrganisationDraft,
        own_id: Option<&str>,
    ) -> Result<Vec<FormProblem>> {
        let mut out = d.problems();
        let code = d.credit_code.trim().to_uppercase();
        if !code.is_empty() && !out.iter().any(|p| p.field == "licence_no") {
            let taken: i64 = self.conn().query_row(
                "SELECT count(*) FROM organisation WHERE upper(licence_no) = ? AND id != ?",
                params![code, own_id.unwrap_or("")],
                |r| r.get(0),
            )?;
            if taken > 0 {
                out.push(problem("licence_no", "duplicate"));
            }
        }
        Ok(out)
    }

    fn organisation_fields(d: &OrganisationDraft) -> Fields {
        let mut f = Fields::new();
        f.insert("name".into(), json!(d.name.trim()));
        f.insert("kind".into(), json!(d.kind.as_str()));
        f.insert(
            "licence_no".into(),
            opt_text(&d.credit_code.trim().to_uppercase()),
        );
        f.insert("contact_name".into(), opt_text(&d.contact_name));
        f.insert("contact_phone".into(), opt_text(&d.contact_phone));
        f.insert("address_text".into(), json!(d.address_text.trim()));
        f
    }

    /// Register an organisation in `grid_id` (default: this device's grid).
    pub fn add_organisation(
        &mut self,
        grid_id: Option<&str>,
        d: &OrganisationDraft,
    ) -> Result<String> {
        fail_on(self.organisation_checks(d, None)?)?;
        let grid_id = self.grid_or_home(grid_id)?;
        let mut f = Self::organisation_fields(d);
        f.insert("grid_id".into(), json!(grid_id));
        f.insert("risk_tags".into(), json!("[]"));
        let id = uuid::Uuid::now_v7().to_string();
        self.write(|w| w.record(Entity::Organisation, &id, Op::Insert, f))?;
        Ok(id)
    }

    /// Save an edited organisation: only changed fields are recorded; returns their names.
    pub fn update_organisation(&mut self, id: &str, d: &OrganisationDraft) -> Result<Vec<String>> {
        let cur = self
            .organisation(id)?
            .ok_or_else(|| Error::NotFound(format!("unit {id}")))?;
        fail_on(self.organisation_checks(d, Some(id))?)?;
        let f = changed(
            &Self::organisation_fields(&OrganisationDraft::of(&cur)),
            Self::organisation_fields(d),
        );
        let names: Vec<String> = f.keys().cloned().collect();
        if !f.is_empty() {
            self.write(|w| w.record(Entity::Organisation, id, Op::Update, f))?;
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn house() -> HouseDraft {
        HouseDraft {
            room: "502".into(),
            stairwell: "2单元".into(),
            floor: Some(5),
            area_m2: Some(88.5),
            ..HouseDraft::new(Some("b".into()))
        }
    }

    fn codes(p: Vec<FormProblem>) -> Vec<String> {
        p.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn a_house_needs_a_number_and_sane_floor_and_area() {
        assert!(house().problems().is_empty());
        let d = HouseDraft {
            room: " ".into(),
            floor: Some(201),
            area_m2: Some(0.0),
            ..house()
        };
        assert_eq!(
            codes(d.problems()),
            ["room: required", "floor: range", "area_m2: range"]
        );
        let d = HouseDraft {
            room: "5/02".into(),
            stairwell: "一二三四五六七八九十一".into(),
            floor: Some(-6),
            area_m2: Some(f64::NAN),
            ..house()
        };
        assert_eq!(
            codes(d.problems()),
            [
                "room: bad-chars",
                "unit_no: too-long",
                "floor: range",
                "area_m2: range"
            ]
        );
        let d = HouseDraft {
            area_m2: Some(10_000.5),
            floor: Some(-5),
            room: "商铺1".into(),
            ..house()
        };
        assert_eq!(codes(d.problems()), ["area_m2: range"]);
        // Without a building the address must be given.
        let d = HouseDraft {
            building_id: None,
            ..house()
        };
        assert_eq!(codes(d.problems()), ["full_address: required"]);
    }

    #[test]
    fn floors_and_areas_are_parsed_as_typed() {
        assert_eq!(parse_floor(""), Ok(None));
        assert_eq!(parse_floor(" 12 "), Ok(Some(12)));
        assert_eq!(parse_floor("-2"), Ok(Some(-2)));
        for bad in ["二", "1.5", "-", "12a", "99999", "+3"] {
            assert_eq!(
                parse_floor(bad),
                Err(problem("floor", "bad-number")),
                "{bad}"
            );
        }
        assert_eq!(parse_area(""), Ok(None));
        assert_eq!(parse_area("88.5"), Ok(Some(88.5)));
        assert_eq!(parse_area("90"), Ok(Some(90.0)));
        for bad in ["inf", "NaN", "1e3", "8..5", ".", "-3", "88㎡", "1,000"] {
            assert_eq!(
                parse_area(bad),
                Err(problem("area_m2", "bad-number")),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_organisation_needs_a_name_and_valid_code_and_phone() {
        let ok = OrganisationDraft {
            name: "城河路便利店".into(),
            credit_code: "91440300708461136t".into(),
            contact_phone: "0574-86001234".into(),
            ..OrganisationDraft::new()
        };
        assert!(ok.problems().is_empty());
        let bad = OrganisationDraft {
            name: "".into(),
            credit_code: "91440300708461136X".into(),
            contact_phone: "12345".into(),
            contact_name: "名".repeat(41),
            ..ok.clone()
        };
        assert_eq!(
            codes(bad.problems()),
            [
                "name: required",
                "licence_no: bad-check",
                "contact_name: too-long",
                "contact_phone: bad"
            ]
        );
        let short = OrganisationDraft {
            credit_code: "9144030070846113".into(),
            ..ok
        };
        assert_eq!(codes(short.problems()), ["licence_no: bad-length"]);
    }
}

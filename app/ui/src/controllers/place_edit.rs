//! Add or edit a house (from a building's house list / the household) and an organisation
//! (from the organisations list / the organisation's detail). The forms' checks are the store's own
//! (`gridpad_core::base_data`): run here to mark each field before anything is written,
//! and again by the store on save. After a save the list or detail shows the record
//! as the store now holds it.
use super::Ctx;
use crate::{AppWindow, HouseEditAdapter, OrganisationEditAdapter, Screen};
use gridpad_core::base_data::{parse_area, parse_floor, FormProblem};
use gridpad_core::model::{credit_code, HouseUse, OrgKind, Tenure};
use gridpad_core::{Error, HouseDraft, OrganisationDraft};
use slint::ComponentHandle;
use std::rc::Rc;

/// "" while the code is empty or still being typed (fewer than 18 characters of the
/// code's alphabet), then ok / bad-length / bad-chars / bad-check.
pub fn credit_state(code: &str) -> &'static str {
    let code = code.trim();
    match credit_code::check(code) {
        Ok(()) => "ok",
        Err(_) if code.is_empty() => "",
        Err(credit_code::CreditCodeProblem::Length) if code.chars().count() < 18 => {
            match credit_code::check(&format!("{code:0<18}")) {
                Err(credit_code::CreditCodeProblem::Characters) => "bad-chars",
                _ => "",
            }
        }
        Err(p) => p.code(),
    }
}

/// An area as forms and details show it: `88.5`, `90`.
pub fn area_text(a: Option<f64>) -> String {
    a.map(|a| {
        let s = format!("{a:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    })
    .unwrap_or_default()
}

fn code_of<'a>(problems: &'a [FormProblem], field: &str) -> &'a str {
    problems
        .iter()
        .find(|p| p.field == field)
        .map(|p| p.code)
        .unwrap_or("")
}

// ---- house ------------------------------------------------------------------------------

fn show_house_problems(a: &HouseEditAdapter, problems: &[FormProblem]) {
    a.set_stairwell_error(code_of(problems, "unit_no").into());
    a.set_room_error(code_of(problems, "room").into());
    a.set_floor_error(code_of(problems, "floor").into());
    a.set_area_error(code_of(problems, "area_m2").into());
    a.set_address_error(code_of(problems, "full_address").into());
    let other = problems.iter().find(|p| {
        !matches!(
            p.field,
            "unit_no" | "room" | "floor" | "area_m2" | "full_address"
        )
    });
    match (problems.is_empty(), other) {
        (true, _) => a.set_message_kind("".into()),
        (false, Some(p)) => {
            a.set_message_kind("other".into());
            a.set_message_text(p.to_string().into());
        }
        (false, None) => a.set_message_kind("problems".into()),
    }
}

fn fill_house(a: &HouseEditAdapter, d: &HouseDraft) {
    a.set_building_id(d.building_id.clone().unwrap_or_default().into());
    a.set_stairwell(d.stairwell.as_str().into());
    a.set_room(d.room.as_str().into());
    a.set_floor(d.floor.map(|f| f.to_string()).unwrap_or_default().into());
    a.set_area(area_text(d.area_m2).into());
    a.set_house_use(d.use_.as_str().into());
    a.set_tenure(d.tenure.map(|t| t.as_str()).unwrap_or("").into());
    a.set_address(d.full_address.as_str().into());
    show_house_problems(a, &[]);
}

/// Add a house to the building `building_id` (`where_`: its address, as a heading).
pub fn new_house(ctx: &Rc<Ctx>, building_id: &str, where_: &str) {
    let Some(ui) = ctx.ui() else { return };
    let a = ui.global::<HouseEditAdapter>();
    fill_house(&a, &HouseDraft::new(Some(building_id.to_string())));
    a.set_is_new(true);
    a.set_id("".into());
    a.set_where(where_.into());
    ctx.go(Screen::HouseEdit);
}

pub fn edit_house(ctx: &Rc<Ctx>, id: &str, where_: &str) {
    let Some(ui) = ctx.ui() else { return };
    let weak = ui.as_weak();
    let (id, where_) = (id.to_string(), where_.to_string());
    let c = ctx.clone();
    ctx.exec.run(
        move |s| s.house(&id)?.ok_or_else(|| Error::NotFound(id.clone())),
        move |r| {
            let (Some(ui), Ok(h)) = (weak.upgrade(), r) else {
                return;
            };
            let a = ui.global::<HouseEditAdapter>();
            fill_house(&a, &HouseDraft::of(&h));
            a.set_is_new(false);
            a.set_id(h.id.as_str().into());
            a.set_where(where_.into());
            c.go(Screen::HouseEdit);
        },
    );
}

/// The draft the form holds, or the problems of what was typed.
fn house_draft(a: &HouseEditAdapter) -> Result<HouseDraft, Vec<FormProblem>> {
    let mut problems = vec![];
    let floor = parse_floor(&a.get_floor()).unwrap_or_else(|p| {
        problems.push(p);
        None
    });
    let area = parse_area(&a.get_area()).unwrap_or_else(|p| {
        problems.push(p);
        None
    });
    let building = a.get_building_id().to_string();
    let d = HouseDraft {
        building_id: (!building.is_empty()).then_some(building),
        stairwell: a.get_stairwell().trim().to_string(),
        room: a.get_room().trim().to_string(),
        floor,
        use_: HouseUse::parse(&a.get_house_use()).unwrap_or(HouseUse::Other),
        tenure: Tenure::parse(&a.get_tenure()),
        area_m2: area,
        full_address: a.get_address().trim().to_string(),
    };
    problems.extend(d.problems());
    if problems.is_empty() {
        Ok(d)
    } else {
        Err(problems)
    }
}

fn save_house(c: &Rc<Ctx>) {
    let Some(ui) = c.ui() else { return };
    let a = ui.global::<HouseEditAdapter>();
    let d = match house_draft(&a) {
        Ok(d) => d,
        Err(p) => {
            show_house_problems(&a, &p);
            return;
        }
    };
    let (is_new, id) = (a.get_is_new(), a.get_id().to_string());
    let weak = ui.as_weak();
    let c2 = c.clone();
    c.exec.run(
        move |s| {
            if is_new {
                s.add_house(&d).map(|id| vec![id])
            } else {
                s.update_house(&id, &d)
            }
        },
        move |r| {
            let Some(ui) = weak.upgrade() else { return };
            let a = ui.global::<HouseEditAdapter>();
            match saved(&c2, r) {
                Ok(problems) => show_house_problems(&a, &problems),
                Err(message) => {
                    a.set_message_kind("other".into());
                    a.set_message_text(message.into());
                }
            }
        },
    );
}

/// What a form's save came to. Saved: sync soon if anything changed, leave the form, no
/// problems to show. Refused: the problems by their fields. Failed: the store's message.
fn saved(c: &Rc<Ctx>, r: Result<Vec<String>, Error>) -> Result<Vec<FormProblem>, String> {
    match r {
        Ok(changed) => {
            if !changed.is_empty() {
                c.wrote();
            }
            c.back();
            Ok(vec![])
        }
        Err(Error::Form(p)) => Ok(p),
        Err(e) => Err(e.to_string()),
    }
}

// ---- organisation -----------------------------------------------------------------------

fn show_organisation_problems(a: &OrganisationEditAdapter, problems: &[FormProblem]) {
    a.set_name_error(code_of(problems, "name").into());
    a.set_credit_error(code_of(problems, "licence_no").into());
    a.set_contact_error(code_of(problems, "contact_name").into());
    a.set_phone_error(code_of(problems, "contact_phone").into());
    a.set_address_error(code_of(problems, "address_text").into());
    a.set_message_kind(if problems.is_empty() { "" } else { "problems" }.into());
}

fn fill_organisation(a: &OrganisationEditAdapter, d: &OrganisationDraft) {
    a.set_name(d.name.as_str().into());
    a.set_kind(d.kind.as_str().into());
    a.set_credit_code(d.credit_code.as_str().into());
    a.set_credit_state(credit_state(&d.credit_code).into());
    a.set_contact_name(d.contact_name.as_str().into());
    a.set_contact_phone(d.contact_phone.as_str().into());
    a.set_address(d.address_text.as_str().into());
    show_organisation_problems(a, &[]);
}

pub fn new_organisation(ctx: &Rc<Ctx>) {
    let Some(ui) = ctx.ui() else { return };
    let a = ui.global::<OrganisationEditAdapter>();
    fill_organisation(&a, &OrganisationDraft::new());
    a.set_is_new(true);
    a.set_id("".into());
    ctx.go(Screen::OrganisationEdit);
}

pub fn edit_organisation(ctx: &Rc<Ctx>, id: &str) {
    let Some(ui) = ctx.ui() else { return };
    let weak = ui.as_weak();
    let id = id.to_string();
    let c = ctx.clone();
    ctx.exec.run(
        move |s| {
            s.organisation(&id)?
                .ok_or_else(|| Error::NotFound(id.clone()))
        },
        move |r| {
            let (Some(ui), Ok(o)) = (weak.upgrade(), r) else {
                return;
            };
            let a = ui.global::<OrganisationEditAdapter>();
            fill_organisation(&a, &OrganisationDraft::of(&o));
            a.set_is_new(false);
            a.set_id(o.id.as_str().into());
            c.go(Screen::OrganisationEdit);
        },
    );
}

fn organisation_draft(a: &OrganisationEditAdapter) -> OrganisationDraft {
    OrganisationDraft {
        name: a.get_name().trim().to_string(),
        kind: OrgKind::parse(&a.get_kind()).unwrap_or(OrgKind::Other),
        credit_code: a.get_credit_code().trim().to_uppercase(),
        contact_name: a.get_contact_name().trim().to_string(),
        contact_phone: a.get_contact_phone().trim().to_string(),
        address_text: a.get_address().trim().to_string(),
    }
}

fn save_organisation(c: &Rc<Ctx>) {
    let Some(ui) = c.ui() else { return };
    let a = ui.global::<OrganisationEditAdapter>();
    let d = organisation_draft(&a);
    let problems = d.problems();
    if !problems.is_empty() {
        show_organisation_problems(&a, &problems);
        return;
    }
    let (is_new, id) = (a.get_is_new(), a.get_id().to_string());
    let weak = ui.as_weak();
    let c2 = c.clone();
    c.exec.run(
        move |s| {
            if is_new {
                s.add_organisation(None, &d).map(|id| vec![id])
            } else {
                s.update_organisation(&id, &d)
            }
        },
        move |r| {
            let Some(ui) = weak.upgrade() else { return };
            let a = ui.global::<OrganisationEditAdapter>();
            match saved(&c2, r) {
                Ok(problems) => show_organisation_problems(&a, &problems),
                Err(message) => {
                    a.set_message_kind("other".into());
                    a.set_message_text(message.into());
                }
            }
        },
    );
}

pub fn setup(ui: &AppWindow, ctx: &Rc<Ctx>) {
    let h = ui.global::<HouseEditAdapter>();
    let c = ctx.clone();
    h.on_save(move || save_house(&c));
    let c = ctx.clone();
    h.on_cancel(move || c.back());
    let u = ui.global::<OrganisationEditAdapter>();
    let c = ctx.clone();
    u.on_save(move || save_organisation(&c));
    let c = ctx.clone();
    u.on_cancel(move || c.back());
    let c = ctx.clone();
    u.on_credit_edited(move |t| {
        if let Some(ui) = c.ui() {
            let a = ui.global::<OrganisationEditAdapter>();
            a.set_credit_state(credit_state(&t).into());
            // A new attempt: the old verdict under the field goes.
            a.set_credit_error("".into());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::{area_text, credit_state};

    #[test]
    fn credit_codes_are_judged_as_typed() {
        assert_eq!(credit_state(""), "");
        assert_eq!(credit_state("9144030019"), "", "still typing");
        assert_eq!(credit_state("9144O3"), "bad-chars", "O is never in a code");
        assert_eq!(credit_state("914403001922038216"), "ok");
        assert_eq!(credit_state("914403001922038217"), "bad-check");
        assert_eq!(credit_state("9144030019220382161"), "bad-length");
    }

    #[test]
    fn areas_show_without_trailing_zeros() {
        assert_eq!(area_text(Some(88.5)), "88.5");
        assert_eq!(area_text(Some(90.0)), "90");
        assert_eq!(area_text(Some(76.25)), "76.25");
        assert_eq!(area_text(None), "");
    }
}

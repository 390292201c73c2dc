//! Add or edit a resident, the ID number checked (length, birth date, check digit) as
//! it is typed; the store validates again on save.
use super::Ctx;
use crate::{AppWindow, PersonEditAdapter, Screen};
use gridpad_core::model::{id_number, ResidenceType, Sex};
use gridpad_core::{Error, NewPerson};
use serde_json::json;
use slint::ComponentHandle;
use std::rc::Rc;

/// "" (nothing typed), ok, bad-length, bad-check, bad-date.
pub fn id_state(id: &str) -> &'static str {
    let id = id.trim();
    if id.is_empty() {
        return "";
    }
    if id.len() != 18 || !id.is_ascii() {
        return "bad-length";
    }
    if id_number::is_valid(id) {
        return "ok";
    }
    let check_ok = id_number::check_char(&id[..17])
        .is_some_and(|c| c.eq_ignore_ascii_case(&id.chars().nth(17).unwrap_or(' ')));
    if check_ok {
        "bad-date"
    } else {
        "bad-check"
    }
}

/// Empty, or a number the store accepts (one check: `gridpad_core::model::phone`).
fn phone_ok(phone: &str) -> bool {
    phone.is_empty() || gridpad_core::model::phone::is_valid(phone)
}

fn clear(a: &PersonEditAdapter) {
    a.set_name("".into());
    a.set_id_number("".into());
    a.set_phone("".into());
    a.set_birth("".into());
    a.set_note("".into());
    a.set_id("".into());
    a.set_house("".into());
    a.set_id_state("".into());
    a.set_message_kind("".into());
    a.set_sex("male".into());
    a.set_residence("registered".into());
}

pub fn new_person(ctx: &Rc<Ctx>) {
    let Some(ui) = ctx.ui() else { return };
    let a = ui.global::<PersonEditAdapter>();
    clear(&a);
    a.set_is_new(true);
    ctx.go(Screen::PersonEdit);
}

pub fn edit_person(ctx: &Rc<Ctx>, id: &str) {
    let Some(ui) = ctx.ui() else { return };
    let weak = ui.as_weak();
    let id = id.to_string();
    let c = ctx.clone();
    ctx.exec.run(
        move |s| {
            let p = s.person(&id)?.ok_or_else(|| Error::NotFound(id.clone()))?;
            let house = match &p.house_id {
                Some(h) => s.queries().house_address(h)?.unwrap_or_default(),
                None => String::new(),
            };
            Ok((p, house))
        },
        move |r| {
            let (Some(ui), Ok((p, house))) = (weak.upgrade(), r) else {
                return;
            };
            let a = ui.global::<PersonEditAdapter>();
            clear(&a);
            a.set_is_new(false);
            a.set_id(p.id.as_str().into());
            a.set_house(house.into());
            a.set_name(p.name.as_str().into());
            let idn = p.id_number.clone().unwrap_or_default();
            a.set_id_state(id_state(&idn).into());
            a.set_id_number(idn.into());
            a.set_phone(p.phone.clone().unwrap_or_default().into());
            a.set_birth(p.birth_date.clone().unwrap_or_default().into());
            a.set_sex(p.sex.as_str().into());
            a.set_residence(p.residence_type.as_str().into());
            a.set_note(p.note.as_str().into());
            c.go(Screen::PersonEdit);
        },
    );
}

pub fn setup(ui: &AppWindow, ctx: &Rc<Ctx>) {
    let a = ui.global::<PersonEditAdapter>();
    a.on_id_edited({
        let c = ctx.clone();
        move |t| {
            if let Some(ui) = c.ui() {
                ui.global::<PersonEditAdapter>()
                    .set_id_state(id_state(&t).into());
            }
        }
    });
    let c = ctx.clone();
    a.on_save(move || {
        let Some(ui) = c.ui() else { return };
        let a = ui.global::<PersonEditAdapter>();
        let name = a.get_name().trim().to_string();
        let idn = a.get_id_number().trim().to_uppercase();
        let phone = a.get_phone().trim().to_string();
        let birth = a.get_birth().trim().to_string();
        let kind = if name.is_empty() {
            "no-name"
        } else if !idn.is_empty() && id_state(&idn) != "ok" {
            "bad-id"
        } else if !phone_ok(&phone) {
            "bad-phone"
        } else if !birth.is_empty()
            && chrono::NaiveDate::parse_from_str(&birth, "%Y-%m-%d").is_err()
        {
            "bad-birth"
        } else {
            ""
        };
        a.set_message_kind(kind.into());
        if !kind.is_empty() {
            return;
        }
        let opt = |s: String| if s.is_empty() { None } else { Some(s) };
        let sex = Sex::parse(&a.get_sex()).unwrap_or(Sex::Unknown);
        let res = ResidenceType::parse(&a.get_residence()).unwrap_or(ResidenceType::Other);
        let note = a.get_note().to_string();
        let id = a.get_id().to_string();
        let is_new = a.get_is_new();
        let weak = ui.as_weak();
        let c2 = c.clone();
        c.exec.run(
            move |s| {
                if is_new {
                    s.add_person(NewPerson {
                        grid_id: None,
                        house_id: None,
                        name,
                        id_number: opt(idn),
                        phone: opt(phone),
                        sex,
                        birth_date: opt(birth),
                        relation: gridpad_core::model::Relation::Other,
                        residence_type: res,
                        tags: vec![],
                        note,
                    })
                } else {
                    let mut f = gridpad_proto::Fields::new();
                    f.insert("name".into(), json!(name));
                    f.insert("id_number".into(), json!(opt(idn)));
                    f.insert("phone".into(), json!(opt(phone)));
                    f.insert("birth_date".into(), json!(opt(birth)));
                    f.insert("sex".into(), json!(sex.as_str()));
                    f.insert("residence_type".into(), json!(res.as_str()));
                    f.insert("note".into(), json!(note));
                    s.update_person(&id, f)?;
                    Ok(id)
                }
            },
            move |r| {
                let Some(ui) = weak.upgrade() else { return };
                let a = ui.global::<PersonEditAdapter>();
                match r {
                    Ok(id) => {
                        c2.wrote();
                        a.set_id(id.into());
                        a.set_is_new(false);
                        a.set_message_kind("saved".into());
                    }
                    Err(e) => {
                        a.set_message_kind("other".into());
                        a.set_message_text(e.to_string().into());
                    }
                }
            },
        );
    });
}

#[cfg(test)]
mod tests {
    use super::id_state;

    #[test]
    fn id_numbers_are_judged_as_typed() {
        assert_eq!(id_state(""), "");
        assert_eq!(id_state("1101051949"), "bad-length");
        assert_eq!(id_state("11010519491231002X"), "ok");
        assert_eq!(id_state("11010519491231002x"), "ok");
        assert_eq!(id_state("110105194912310021"), "bad-check");
    }
}

//! Base data: buildings → houses → residents, organisations (单位) → an organisation,
//! facilities. Lists come from the store's read-only queries a page at a time; a resident
//! opens the resident screen. A building's houses and the organisations list add; the
//! household and an organisation's detail edit (`place_edit`).
use super::Ctx;
use crate::{AppWindow, HouseInfo, OrganisationInfo, PlaceRow, PlacesAdapter, Screen};
use gridpad_core::model::masked_phone;
use gridpad_core::queries::PlaceItem;
use slint::{ComponentHandle, ModelRc, VecModel};
use std::cell::RefCell;
use std::rc::Rc;

/// Rows per page of the top-level lists.
pub const PAGE: usize = 50;

#[derive(Clone, Debug, PartialEq)]
enum Level {
    Buildings,
    /// A building's houses: (building id, heading).
    Houses(String, String),
    /// A house's residents: (house id, heading).
    Residents(String, String),
    /// Organisations (单位); the level's name is "units".
    Organisations,
    /// An organisation's detail: (organisation id, name); level "unit".
    Organisation(String, String),
    Facilities,
}

impl Level {
    fn code(&self) -> &'static str {
        match self {
            Level::Buildings => "buildings",
            Level::Houses(..) => "houses",
            Level::Residents(..) => "residents",
            Level::Organisations => "units",
            Level::Organisation(..) => "unit",
            Level::Facilities => "facilities",
        }
    }
}

struct State {
    /// Where we are; the last is shown.
    path: Vec<Level>,
    /// Rows shown at this level (their titles head the next level).
    rows: Vec<PlaceRow>,
    shown: usize,
}

fn row(p: PlaceItem) -> PlaceRow {
    PlaceRow {
        id: p.id.into(),
        title: p.title.into(),
        subtitle: p.subtitle.into(),
        count: p.count as i32,
        kind: p.kind.into(),
        state: p.state.into(),
    }
}

fn load(ui: &AppWindow, ctx: &Rc<Ctx>, st: &Rc<RefCell<State>>, limit: usize) {
    let level = st.borrow().path.last().cloned().unwrap_or(Level::Buildings);
    let weak = ui.as_weak();
    let st2 = st.clone();
    let lvl = level.clone();
    ctx.exec.run(
        move |s| {
            let house = match &lvl {
                Level::Residents(id, _) => s.house(id)?,
                _ => None,
            };
            let organisation = match &lvl {
                Level::Organisation(id, _) => s.organisation(id)?,
                _ => None,
            };
            let q = s.queries();
            let lists = match &lvl {
                Level::Organisation(..) => (vec![], 0),
                Level::Buildings => (q.buildings(0, limit)?, q.building_count()?),
                Level::Organisations => (q.organisations(0, limit)?, q.organisation_count()?),
                Level::Facilities => (q.facilities(0, limit)?, q.facility_count()?),
                Level::Houses(id, _) => {
                    let v = q.houses_in(id)?;
                    let n = v.len() as i64;
                    (v, n)
                }
                Level::Residents(id, _) => {
                    let v: Vec<PlaceItem> = q
                        .residents_in(id)?
                        .into_iter()
                        .map(|p| PlaceItem {
                            id: p.id,
                            title: p.name,
                            subtitle: [
                                p.birth_date.unwrap_or_default(),
                                p.id_number.unwrap_or_default(),
                            ]
                            .into_iter()
                            .filter(|s| !s.is_empty())
                            .collect::<Vec<_>>()
                            .join(" · "),
                            count: 0,
                            kind: p.sex,
                            state: String::new(),
                        })
                        .collect();
                    let n = v.len() as i64;
                    (v, n)
                }
            };
            Ok((lists, house, organisation))
        },
        move |r| {
            let (Some(ui), Ok(((items, total), house, organisation))) = (weak.upgrade(), r) else {
                return;
            };
            let rows: Vec<PlaceRow> = items.into_iter().map(row).collect();
            let a = ui.global::<PlacesAdapter>();
            let mut heading = match &level {
                Level::Houses(_, h) | Level::Residents(_, h) | Level::Organisation(_, h) => {
                    h.clone()
                }
                _ => String::new(),
            };
            if let Some(h) = house {
                // The house as the store has it now (an edit may have changed its address).
                heading = h.full_address.clone();
                a.set_house(HouseInfo {
                    id: h.id.into(),
                    house_use: h.use_.as_str().into(),
                    tenure: h.tenure.map(|t| t.as_str()).unwrap_or("").into(),
                    floor: h.floor.map(|f| f.to_string()).unwrap_or_default().into(),
                    area: super::place_edit::area_text(h.area_m2).into(),
                });
            }
            if let Some(u) = organisation {
                heading = u.name.clone();
                a.set_organisation(OrganisationInfo {
                    id: u.id.into(),
                    name: u.name.into(),
                    kind: u.kind.as_str().into(),
                    credit_code: u.licence_no.unwrap_or_default().into(),
                    contact: u.contact_name.unwrap_or_default().into(),
                    phone: u
                        .contact_phone
                        .as_deref()
                        .map(masked_phone)
                        .unwrap_or_default()
                        .into(),
                    address: u.address_text.into(),
                });
            }
            a.set_level(level.code().into());
            a.set_where(heading.into());
            a.set_total(total as i32);
            a.set_more((rows.len() as i64) < total);
            a.set_rows(ModelRc::new(VecModel::from(rows.clone())));
            let mut s = st2.borrow_mut();
            s.shown = rows.len();
            s.rows = rows;
        },
    );
}

pub fn setup(ui: &AppWindow, ctx: &Rc<Ctx>) {
    let st = Rc::new(RefCell::new(State {
        path: vec![Level::Buildings],
        rows: vec![],
        shown: 0,
    }));
    let a = ui.global::<PlacesAdapter>();
    ctx.when_shown(Screen::Places, {
        let (c, st) = (ctx.clone(), st.clone());
        move |ui| {
            let n = st.borrow().shown.max(PAGE);
            load(ui, &c, &st, n)
        }
    });
    let (c, s2) = (ctx.clone(), st.clone());
    a.on_show(move |top| {
        let level = match top.as_str() {
            "units" => Level::Organisations,
            "facilities" => Level::Facilities,
            _ => Level::Buildings,
        };
        s2.borrow_mut().path = vec![level];
        if let Some(ui) = c.ui() {
            load(&ui, &c, &s2, PAGE);
        }
    });
    let (c, s2) = (ctx.clone(), st.clone());
    a.on_open(move |id| {
        let (current, picked) = {
            let s = s2.borrow();
            let picked = s.rows.iter().find(|r| r.id == id).cloned();
            (s.path.last().cloned(), picked)
        };
        let Some(picked) = picked else { return };
        let next = match current {
            Some(Level::Buildings) => Level::Houses(
                id.to_string(),
                format!("{} {}", picked.subtitle, picked.title)
                    .trim()
                    .to_string(),
            ),
            Some(Level::Houses(..)) => {
                Level::Residents(id.to_string(), picked.subtitle.to_string())
            }
            Some(Level::Residents(..)) => {
                super::residents::open(&c, &id);
                return;
            }
            Some(Level::Organisations) => {
                Level::Organisation(id.to_string(), picked.title.to_string())
            }
            _ => return, // facilities have no level below (yet)
        };
        c.touch();
        s2.borrow_mut().path.push(next);
        if let Some(ui) = c.ui() {
            load(&ui, &c, &s2, PAGE);
        }
    });
    let (c, s2) = (ctx.clone(), st.clone());
    a.on_up(move || {
        let top = s2.borrow().path.len() <= 1;
        if top {
            c.back();
            return;
        }
        s2.borrow_mut().path.pop();
        if let Some(ui) = c.ui() {
            load(&ui, &c, &s2, PAGE);
        }
    });
    let (c, s2) = (ctx.clone(), st.clone());
    a.on_add(move || {
        let current = s2.borrow().path.last().cloned();
        match current {
            Some(Level::Houses(building, heading)) => {
                super::place_edit::new_house(&c, &building, &heading)
            }
            Some(Level::Organisations) => super::place_edit::new_organisation(&c),
            _ => {}
        }
    });
    let (c, s2) = (ctx.clone(), st.clone());
    a.on_edit(move || {
        let (current, building) = {
            let s = s2.borrow();
            let building = s.path.iter().rev().find_map(|l| match l {
                Level::Houses(_, heading) => Some(heading.clone()),
                _ => None,
            });
            (s.path.last().cloned(), building)
        };
        match current {
            Some(Level::Residents(house, _)) => {
                super::place_edit::edit_house(&c, &house, building.as_deref().unwrap_or_default())
            }
            Some(Level::Organisation(id, _)) => super::place_edit::edit_organisation(&c, &id),
            _ => {}
        }
    });
    let (c, s2) = (ctx.clone(), st);
    a.on_load_more(move || {
        let n = s2.borrow().shown + PAGE;
        if let Some(ui) = c.ui() {
            load(&ui, &c, &s2, n);
        }
    });
}

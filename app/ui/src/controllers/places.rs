//! Base data: buildings → houses → residents, units, facilities. Lists come from the
//! store's read-only queries a page at a time; a resident opens the resident screen.
use super::Ctx;
use crate::{AppWindow, PlaceRow, PlacesAdapter, Screen};
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
    Units,
    Facilities,
}

impl Level {
    fn code(&self) -> &'static str {
        match self {
            Level::Buildings => "buildings",
            Level::Houses(..) => "houses",
            Level::Residents(..) => "residents",
            Level::Units => "units",
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
            let q = s.queries();
            Ok(match &lvl {
                Level::Buildings => (q.buildings(0, limit)?, q.building_count()?),
                Level::Units => (q.units(0, limit)?, q.unit_count()?),
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
            })
        },
        move |r| {
            let (Some(ui), Ok((items, total))) = (weak.upgrade(), r) else {
                return;
            };
            let rows: Vec<PlaceRow> = items.into_iter().map(row).collect();
            let a = ui.global::<PlacesAdapter>();
            a.set_level(level.code().into());
            a.set_where(
                match &level {
                    Level::Houses(_, h) | Level::Residents(_, h) => h.as_str(),
                    _ => "",
                }
                .into(),
            );
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
            "units" => Level::Units,
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
            _ => return, // units and facilities have no level below (yet)
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
    let (c, s2) = (ctx.clone(), st);
    a.on_load_more(move || {
        let n = s2.borrow().shown + PAGE;
        if let Some(ui) = c.ui() {
            load(&ui, &c, &s2, n);
        }
    });
}

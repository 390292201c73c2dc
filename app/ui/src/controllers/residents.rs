//! Residents: search (or browse) over the paged model; a resident's detail.
use super::Ctx;
use crate::paged::PeopleModel;
use crate::{AppWindow, ResidentAdapter, ResidentsAdapter, Screen};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use std::rc::Rc;

fn listener(ui: &AppWindow) -> crate::paged::Listener {
    let weak = ui.as_weak();
    Box::new(move |count, loading, more| {
        if let Some(ui) = weak.upgrade() {
            let a = ui.global::<ResidentsAdapter>();
            a.set_total(count as i32);
            a.set_searching(loading && count == 0);
            a.set_more(more);
        }
    })
}

/// Show the residents matching `query` (all when empty).
pub fn search(ui: &AppWindow, ctx: &Rc<Ctx>, query: &str) {
    let q = query.trim();
    let model = if q.is_empty() {
        PeopleModel::all(ctx.exec.clone(), listener(ui))
    } else {
        PeopleModel::search(ctx.exec.clone(), q, listener(ui))
    };
    ui.global::<ResidentsAdapter>()
        .set_rows(ModelRc::from(model));
}

/// Load a resident into the detail screen and show it.
pub fn open(ctx: &Rc<Ctx>, id: &str) {
    let Some(ui) = ctx.ui() else { return };
    let weak = ui.as_weak();
    let id = id.to_string();
    let c = ctx.clone();
    ctx.exec.run(
        move |s| {
            let p = s
                .person(&id)?
                .ok_or_else(|| gridpad_core::Error::NotFound(id.clone()))?;
            let addr = match &p.house_id {
                Some(h) => s.queries().house_address(h)?.unwrap_or_default(),
                None => String::new(),
            };
            Ok((p, addr))
        },
        move |r| {
            let (Some(ui), Ok((p, addr))) = (weak.upgrade(), r) else {
                return;
            };
            let a = ui.global::<ResidentAdapter>();
            a.set_id(p.id.as_str().into());
            a.set_name(p.name.as_str().into());
            a.set_sex(p.sex.as_str().into());
            a.set_birth(p.birth_date.clone().unwrap_or_default().into());
            a.set_id_masked(
                p.id_number
                    .as_deref()
                    .map(gridpad_core::model::id_number::masked)
                    .unwrap_or_default()
                    .into(),
            );
            a.set_phone(
                p.phone
                    .as_deref()
                    .map(gridpad_core::model::masked_phone)
                    .unwrap_or_default()
                    .into(),
            );
            a.set_address(addr.into());
            a.set_residence(p.residence_type.as_str().into());
            a.set_relation(p.relation.as_str().into());
            a.set_tags(ModelRc::new(VecModel::from(
                p.tags
                    .iter()
                    .map(|t| SharedString::from(t.as_str()))
                    .collect::<Vec<_>>(),
            )));
            a.set_note(p.note.as_str().into());
            c.go(Screen::ResidentDetail);
        },
    );
}

pub fn setup(ui: &AppWindow, ctx: &Rc<Ctx>) {
    let a = ui.global::<ResidentsAdapter>();
    let c = ctx.clone();
    a.on_search(move |q| {
        if let Some(ui) = c.ui() {
            search(&ui, &c, &q);
        }
    });
    let c = ctx.clone();
    a.on_open(move |id| open(&c, &id));
    let c = ctx.clone();
    a.on_add(move || super::person_edit::new_person(&c));
    ctx.when_shown(Screen::Residents, {
        let c = ctx.clone();
        move |ui| {
            let q = ui.global::<ResidentsAdapter>().get_query();
            search(ui, &c, &q);
        }
    });
    let r = ui.global::<ResidentAdapter>();
    let c = ctx.clone();
    r.on_edit(move |id| super::person_edit::edit_person(&c, &id));
    let c = ctx.clone();
    r.on_visit(move |id| {
        if let Some(ui) = c.ui() {
            let name = ui.global::<ResidentAdapter>().get_name();
            super::visits::for_person(&c, &id, &name);
        }
    });
}

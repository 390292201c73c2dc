//! Household visits and the people's diary.
use super::Ctx;
use crate::format::beijing_str;
use crate::{AppWindow, KeyValue, Screen, VisitsAdapter};
use gridpad_core::model::VisitKind;
use gridpad_core::NewVisit;
use slint::{ComponentHandle, ModelRc, VecModel};
use std::rc::Rc;

/// Open the visit form for one resident.
pub fn for_person(ctx: &Rc<Ctx>, id: &str, name: &str) {
    let Some(ui) = ctx.ui() else { return };
    let a = ui.global::<VisitsAdapter>();
    a.set_person_id(id.into());
    a.set_person_name(name.into());
    ctx.go(Screen::Visits);
}

fn load(ui: &AppWindow, ctx: &Rc<Ctx>) {
    let weak = ui.as_weak();
    ctx.exec.run(
        |s| s.queries().journal(20),
        move |r| {
            let (Some(ui), Ok(items)) = (weak.upgrade(), r) else {
                return;
            };
            let kv: Vec<KeyValue> = items
                .into_iter()
                .map(|j| KeyValue {
                    key: beijing_str(&j.at).into(),
                    value: format!(
                        "{} {}",
                        if j.kind == "visit" {
                            "走访"
                        } else {
                            "日记"
                        },
                        j.text
                    )
                    .into(),
                })
                .collect();
            ui.global::<VisitsAdapter>()
                .set_recent(ModelRc::new(VecModel::from(kv)));
        },
    );
}

pub fn setup(ui: &AppWindow, ctx: &Rc<Ctx>) {
    let a = ui.global::<VisitsAdapter>();
    ctx.when_shown(Screen::Visits, {
        let c = ctx.clone();
        move |ui| {
            ui.global::<VisitsAdapter>().set_message("".into());
            load(ui, &c)
        }
    });
    let c = ctx.clone();
    a.on_save_visit(move |kind, topic, note| {
        let Some(ui) = c.ui() else { return };
        let a = ui.global::<VisitsAdapter>();
        if topic.trim().is_empty() && note.trim().is_empty() {
            a.set_message("empty".into());
            return;
        }
        let pid = a.get_person_id().to_string();
        let v = NewVisit {
            house_id: None,
            person_id: if pid.is_empty() { None } else { Some(pid) },
            kind: VisitKind::parse(&kind).unwrap_or(VisitKind::InHome),
            topic: topic.to_string(),
            note: note.to_string(),
            position: Some(c.services.gnss.status().position()),
            corrected_time: None,
        };
        let c2 = c.clone();
        c.exec.run(
            move |s| s.add_visit(v),
            move |r| {
                let Some(ui) = c2.ui() else { return };
                let a = ui.global::<VisitsAdapter>();
                match r {
                    Ok(_) => {
                        c2.wrote();
                        a.set_topic("".into());
                        a.set_note("".into());
                        a.set_message("visit-saved".into());
                        load(&ui, &c2);
                    }
                    Err(e) => a.set_message(e.to_string().into()),
                }
            },
        );
    });
    let c = ctx.clone();
    a.on_save_diary(move |text| {
        let Some(ui) = c.ui() else { return };
        if text.trim().is_empty() {
            ui.global::<VisitsAdapter>().set_message("empty".into());
            return;
        }
        let position = c.services.gnss.status().position();
        let text = text.to_string();
        let c2 = c.clone();
        c.exec.run(
            move |s| s.add_diary(&text, Some(position)),
            move |r| {
                let Some(ui) = c2.ui() else { return };
                let a = ui.global::<VisitsAdapter>();
                match r {
                    Ok(_) => {
                        c2.wrote();
                        a.set_diary("".into());
                        a.set_message("diary-saved".into());
                        load(&ui, &c2);
                    }
                    Err(e) => a.set_message(e.to_string().into()),
                }
            },
        );
    });
}

//! My events: the list and one event with its lifecycle timeline.
use super::home::{event_item, items};
use super::Ctx;
use crate::format::{beijing, position};
use crate::{AppWindow, EventAdapter, EventsAdapter, KeyValue, Screen, TimelineStep};
use gridpad_core::model::{DeadlineColour, PositionSource};
use gridpad_core::Error;
use serde_json::Value;
use slint::{ComponentHandle, ModelRc, VecModel};
use std::rc::Rc;

pub fn open(ctx: &Rc<Ctx>, id: &str) {
    let Some(ui) = ctx.ui() else { return };
    let weak = ui.as_weak();
    let id = id.to_string();
    let c = ctx.clone();
    ctx.exec.run(
        move |s| {
            let e = s.event(&id)?.ok_or_else(|| Error::NotFound(id.clone()))?;
            let history = s.event_history(&id)?;
            let cat = s.category(&e.category_code)?;
            let main = match cat.as_ref().and_then(|c| c.parent_code.clone()) {
                Some(p) => s.category(&p)?,
                None => None,
            };
            // Colour as the lists show it.
            let colour = s
                .events(500)?
                .into_iter()
                .find(|x| x.id == e.id)
                .and_then(|x| x.colour);
            Ok((e, history, cat, main, colour))
        },
        move |r| {
            let (Some(ui), Ok((e, history, cat, main, colour))) = (weak.upgrade(), r) else {
                return;
            };
            let a = ui.global::<EventAdapter>();
            a.set_id(e.id.as_str().into());
            let name = |c: &Option<gridpad_core::model::Category>| {
                c.as_ref().map(|c| c.name.clone()).unwrap_or_default()
            };
            let mut category = name(&main);
            if !category.is_empty() {
                category.push_str(" › ");
            }
            category.push_str(&name(&cat));
            a.set_category(category.into());
            a.set_status(e.status.as_str().into());
            a.set_colour(colour.map(DeadlineColour::as_str).unwrap_or("").into());
            a.set_deadline(
                if e.status.is_open() {
                    e.deadline_at.map(beijing).unwrap_or_default()
                } else {
                    String::new()
                }
                .into(),
            );
            a.set_description(e.description.as_str().into());
            a.set_address(e.address_text.as_str().into());
            let (pos, src) = match &e.position {
                Some(p) => (position(p), p.source),
                None => (String::new(), PositionSource::None),
            };
            a.set_position(pos.into());
            a.set_position_source(src.as_str().into());
            a.set_photo_count(e.photos.len() as i32);
            a.set_reported_at(beijing(e.device_time).into());
            let labels: Vec<KeyValue> = cat
                .map(|c| c.fields)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|f| {
                    let v = e.fields.get(&f.key)?;
                    let value = match v {
                        Value::String(s) => s.clone(),
                        Value::Bool(true) => "✓".into(),
                        Value::Bool(false) => "✗".into(),
                        other => other.to_string(),
                    };
                    Some(KeyValue {
                        key: f.label.into(),
                        value: value.into(),
                    })
                })
                .collect();
            a.set_fields(ModelRc::new(VecModel::from(labels)));
            let steps: Vec<TimelineStep> = history
                .iter()
                .map(|h| TimelineStep {
                    status: h.status.as_str().into(),
                    at: beijing(h.at).into(),
                    actor: h.actor.as_str().into(),
                    note: h.note.as_str().into(),
                    origin: h.origin.as_str().into(),
                })
                .collect();
            a.set_timeline(ModelRc::new(VecModel::from(steps)));
            c.go(Screen::EventDetail);
        },
    );
}

pub fn setup(ui: &AppWindow, ctx: &Rc<Ctx>) {
    let a = ui.global::<EventsAdapter>();
    let c = ctx.clone();
    a.on_open(move |id| open(&c, &id));
    ctx.when_shown(Screen::Events, {
        let c = ctx.clone();
        move |ui| {
            let weak = ui.as_weak();
            c.exec.run(
                |s| s.events(500),
                move |r| {
                    if let (Some(ui), Ok(ev)) = (weak.upgrade(), r) {
                        ui.global::<EventsAdapter>()
                            .set_events(items(ev.iter().map(event_item).collect()));
                    }
                },
            );
        }
    });
}

//! Report an event: catalog → subcategory → its fields, description, photos, position,
//! handled on the spot. The draft is kept in the store's settings table as you type, so
//! a crash or a lock never loses it; submitting is one transaction with its outbox row.
use super::home::gnss_info;
use super::Ctx;
use crate::photos::PhotoForm;
use crate::{AppWindow, Choice, FormField, ReportAdapter, Screen};
use gridpad_core::model::Category;
use gridpad_core::{Error, NewReport};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use std::cell::RefCell;
use std::rc::Rc;

pub const DRAFT_KEY: &str = "ui.draft.report";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Draft {
    pub main: String,
    pub sub: String,
    pub fields: serde_json::Map<String, Value>,
    pub description: String,
    pub address: String,
    pub handled_on_spot: bool,
    pub photos: Vec<String>,
}

#[derive(Default)]
struct State {
    catalog: Vec<Category>,
    photos: PhotoForm,
    draft: Draft,
    last_saved: Option<String>,
}

type Shared = Rc<RefCell<State>>;

fn cat<'a>(st: &'a State, code: &str) -> Option<&'a Category> {
    st.catalog.iter().find(|c| c.code == code)
}

fn render(ui: &AppWindow, st: &State) {
    let a = ui.global::<ReportAdapter>();
    let d = &st.draft;
    let choices = |parent: Option<&str>| -> ModelRc<Choice> {
        ModelRc::new(VecModel::from(
            st.catalog
                .iter()
                .filter(|c| {
                    c.parent_code.as_deref() == parent && (parent.is_some() || c.level == 1)
                })
                .map(|c| Choice {
                    code: c.code.as_str().into(),
                    name: c.name.as_str().into(),
                })
                .collect::<Vec<_>>(),
        ))
    };
    a.set_main_categories(choices(None));
    a.set_main_code(d.main.as_str().into());
    a.set_main_name(
        cat(st, &d.main)
            .map(|c| c.name.as_str())
            .unwrap_or("")
            .into(),
    );
    a.set_sub_categories(if d.main.is_empty() {
        ModelRc::default()
    } else {
        choices(Some(&d.main))
    });
    a.set_sub_code(d.sub.as_str().into());
    let sub = cat(st, &d.sub);
    a.set_sub_name(sub.map(|c| c.name.as_str()).unwrap_or("").into());
    a.set_sub_detail(sub.map(|c| c.department.as_str()).unwrap_or("").into());
    // The amount and its unit's code; the screen says it in the user's language.
    let deadline = sub.and_then(|c| c.deadline());
    a.set_sub_deadline(deadline.map_or(0, |d| d.amount.min(i32::MAX as u32) as i32));
    a.set_sub_deadline_unit(deadline.map_or("", |d| d.unit.as_str()).into());
    render_fields(ui, st);
    a.set_description(d.description.as_str().into());
    a.set_address(d.address.as_str().into());
    a.set_handled_on_spot(d.handled_on_spot);
    render_photos(ui, st);
}

fn render_fields(ui: &AppWindow, st: &State) {
    let fields: Vec<FormField> = cat(st, &st.draft.sub)
        .map(|c| {
            c.fields
                .iter()
                .map(|f| {
                    let v = st.draft.fields.get(&f.key);
                    FormField {
                        key: f.key.as_str().into(),
                        label: f.label.as_str().into(),
                        kind: f.kind.as_str().into(),
                        required: f.required,
                        choices: ModelRc::new(VecModel::from(
                            f.choices
                                .iter()
                                .map(|s| SharedString::from(s.as_str()))
                                .collect::<Vec<_>>(),
                        )),
                        value: match v {
                            Some(Value::String(s)) => s.as_str().into(),
                            Some(Value::Number(n)) => n.to_string().into(),
                            _ => "".into(),
                        },
                        checked: v.and_then(Value::as_bool).unwrap_or(false),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    ui.global::<ReportAdapter>()
        .set_fields(ModelRc::new(VecModel::from(fields)));
}

fn render_photos(ui: &AppWindow, st: &State) {
    ui.global::<ReportAdapter>()
        .set_photos(st.photos.items(&st.draft.photos));
}

fn save_draft(ctx: &Ctx, st: &State) {
    let json = serde_json::to_string(&st.draft).unwrap_or_default();
    ctx.exec.run(move |s| s.set_kv(DRAFT_KEY, &json), |_| {});
}

/// Take the free-text inputs from the screen into the draft.
fn pull_text(ui: &AppWindow, st: &mut State) {
    let a = ui.global::<ReportAdapter>();
    st.draft.description = a.get_description().to_string();
    st.draft.address = a.get_address().to_string();
    st.draft.handled_on_spot = a.get_handled_on_spot();
}

fn load(ui: &AppWindow, ctx: &Rc<Ctx>, state: &Shared) {
    let a = ui.global::<ReportAdapter>();
    a.set_message_kind("".into());
    a.set_gnss(gnss_info(ctx.services.gnss.as_ref()));
    a.set_camera_available(ctx.services.camera.is_some());
    a.set_photo_busy(false);
    a.set_photo_error("".into());
    a.set_photo_error_kind("".into());
    let weak = ui.as_weak();
    let state = state.clone();
    let have = state.borrow().photos.have();
    ctx.exec.run(
        move |s| {
            let draft: Draft = s
                .kv(DRAFT_KEY)?
                .and_then(|j| serde_json::from_str(&j).ok())
                .unwrap_or_default();
            let photos = crate::photos::load(s, &draft.photos, &have)?;
            Ok((s.catalog()?, photos, draft))
        },
        move |r| {
            let (Some(ui), Ok((catalog, photos, draft))) = (weak.upgrade(), r) else {
                return;
            };
            let mut st = state.borrow_mut();
            st.catalog = catalog;
            st.draft = draft;
            st.photos.absorb(photos);
            render(&ui, &st);
        },
    );
}

/// Take a photo with the device's camera and attach it to the draft.
fn take_photo(c: &Rc<Ctx>, st: &Shared) {
    let Some(camera) = c.services.camera.clone() else {
        return;
    };
    let Some(ui) = c.ui() else { return };
    let a = ui.global::<ReportAdapter>();
    if a.get_photo_busy() {
        return;
    }
    let (category, attached, have) = {
        let mut s = st.borrow_mut();
        pull_text(&ui, &mut s);
        (s.draft.sub.clone(), s.draft.photos.clone(), s.photos.have())
    };
    a.set_photo_busy(true);
    a.set_photo_error("".into());
    a.set_photo_error_kind("".into());
    let (c2, st2) = (c.clone(), st.clone());
    crate::photos::take(c, camera, category, attached, have, move |taken, photos| {
        let Some(ui) = c2.ui() else { return };
        let a = ui.global::<ReportAdapter>();
        a.set_photo_busy(false);
        let mut s = st2.borrow_mut();
        match taken {
            Ok(sha) => {
                if !s.draft.photos.contains(&sha) {
                    s.draft.photos.push(sha);
                }
                save_draft(&c2, &s);
            }
            Err(e) => {
                a.set_photo_error_kind(e.kind.into());
                a.set_photo_error(e.detail.into());
            }
        }
        if let Some(p) = photos {
            s.photos.absorb(p);
        }
        render_photos(&ui, &s);
    });
}

pub fn setup(ui: &AppWindow, ctx: &Rc<Ctx>) {
    let state: Shared = Rc::new(RefCell::new(State::default()));
    let a = ui.global::<ReportAdapter>();

    ctx.when_shown(Screen::Report, {
        let (c, st) = (ctx.clone(), state.clone());
        move |ui| load(ui, &c, &st)
    });

    let (c, st) = (ctx.clone(), state.clone());
    a.on_select_main(move |code| {
        let Some(ui) = c.ui() else { return };
        let mut s = st.borrow_mut();
        pull_text(&ui, &mut s);
        if s.draft.main != code.as_str() {
            s.draft.sub.clear();
            s.draft.fields.clear();
        }
        s.draft.main = code.to_string();
        if code.is_empty() {
            s.draft.sub.clear();
        }
        render(&ui, &s);
        save_draft(&c, &s);
    });
    let (c, st) = (ctx.clone(), state.clone());
    a.on_select_sub(move |code| {
        let Some(ui) = c.ui() else { return };
        let mut s = st.borrow_mut();
        pull_text(&ui, &mut s);
        if s.draft.sub != code.as_str() {
            s.draft.fields.clear();
        }
        s.draft.sub = code.to_string();
        render(&ui, &s);
        save_draft(&c, &s);
    });
    let (c, st) = (ctx.clone(), state.clone());
    a.on_set_field(move |key, value, checked| {
        c.touch();
        let Some(ui) = c.ui() else { return };
        let mut s = st.borrow_mut();
        let kind = cat(&s, &s.draft.sub)
            .and_then(|cat| cat.fields.iter().find(|f| f.key == key.as_str()))
            .map(|f| f.kind.clone())
            .unwrap_or_default();
        let key = key.to_string();
        let v = value.trim();
        match kind.as_str() {
            "bool" => {
                s.draft.fields.insert(key, Value::Bool(checked));
            }
            "int" => match v.parse::<i64>() {
                Ok(n) => {
                    s.draft.fields.insert(key, Value::from(n));
                }
                Err(_) => {
                    s.draft.fields.remove(&key);
                }
            },
            _ if v.is_empty() => {
                s.draft.fields.remove(&key);
            }
            _ => {
                s.draft.fields.insert(key, Value::String(value.to_string()));
            }
        }
        if kind == "choice" {
            render_fields(&ui, &s);
        }
        save_draft(&c, &s);
    });
    let (c, st) = (ctx.clone(), state.clone());
    a.on_edited(move || {
        c.touch();
        let Some(ui) = c.ui() else { return };
        let mut s = st.borrow_mut();
        pull_text(&ui, &mut s);
        save_draft(&c, &s);
    });
    let (c, st) = (ctx.clone(), state.clone());
    a.on_toggle_photo(move |sha| {
        let Some(ui) = c.ui() else { return };
        let mut s = st.borrow_mut();
        pull_text(&ui, &mut s);
        crate::photos::toggle(&mut s.draft.photos, &sha);
        render_photos(&ui, &s);
        save_draft(&c, &s);
    });
    let (c, st) = (ctx.clone(), state.clone());
    a.on_take_photo(move || take_photo(&c, &st));
    let (c, st) = (ctx.clone(), state.clone());
    a.on_reset(move || {
        let Some(ui) = c.ui() else { return };
        let mut s = st.borrow_mut();
        s.draft = Draft::default();
        ui.global::<ReportAdapter>().set_message_kind("".into());
        render(&ui, &s);
        save_draft(&c, &s);
    });
    let (c, st) = (ctx.clone(), state.clone());
    a.on_submit(move || submit(&c, &st));
}

fn submit(c: &Rc<Ctx>, st: &Shared) {
    let Some(ui) = c.ui() else { return };
    let a = ui.global::<ReportAdapter>();
    let report = {
        let mut s = st.borrow_mut();
        pull_text(&ui, &mut s);
        let Some(category) = cat(&s, &s.draft.sub).cloned() else {
            a.set_message_kind("no-category".into());
            return;
        };
        if let Some(f) = category
            .fields
            .iter()
            .find(|f| f.required && s.draft.fields.get(&f.key).is_none_or(Value::is_null))
        {
            a.set_message_kind("required".into());
            a.set_message_text(f.label.as_str().into());
            return;
        }
        if s.draft.description.trim().is_empty() {
            a.set_message_kind("no-description".into());
            return;
        }
        NewReport {
            category_code: category.code.clone(),
            description: s.draft.description.clone(),
            address_text: s.draft.address.clone(),
            fields: s.draft.fields.clone(),
            photos: s.draft.photos.clone(),
            position: Some(c.services.gnss.status().position()),
            handled_on_spot: s.draft.handled_on_spot,
            reporter: c.reporter(),
            ..Default::default()
        }
    };
    a.set_busy(true);
    let (c2, st2) = (c.clone(), st.clone());
    c.exec.run(
        move |s| {
            let id = s.report_event(report)?;
            s.set_kv(DRAFT_KEY, "{}")?;
            // Sealed into the device's hash chain (fields, photo hashes, fix, times),
            // signed with the device key, as `gridpad report` does. The report stands
            // if sealing fails; the centre then sees it unsealed.
            if let Err(e) = gridpad_photo::seal_event(s, &id) {
                eprintln!("gridpad-ui: report {id} saved but not sealed: {e}");
            }
            Ok(id)
        },
        move |r| {
            let Some(ui) = c2.ui() else { return };
            let a = ui.global::<ReportAdapter>();
            a.set_busy(false);
            match r {
                Ok(id) => {
                    c2.wrote();
                    let mut s = st2.borrow_mut();
                    s.last_saved = Some(id);
                    s.draft = Draft::default();
                    a.set_message_kind("saved".into());
                }
                Err(Error::Invalid(m)) => {
                    a.set_message_kind("invalid".into());
                    a.set_message_text(m.into());
                }
                Err(e) => {
                    a.set_message_kind("other".into());
                    a.set_message_text(e.to_string().into());
                }
            }
        },
    );
}

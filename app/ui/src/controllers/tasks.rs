//! Tasks: inbox, detail, accept / start / complete with feedback / return with a reason.
use super::home::{items, task_item};
use super::Ctx;
use crate::format::{beijing, colour};
use crate::photos::PhotoForm;
use crate::{AppWindow, Screen, TaskAdapter, TasksAdapter};
use gridpad_core::model::{DeadlineColour, TaskCommand};
use gridpad_core::Error;
use slint::ComponentHandle;
use std::cell::RefCell;
use std::rc::Rc;

/// The feedback photos of the task on screen.
#[derive(Default)]
struct Photos {
    task: String,
    /// The task's category: its photo policy (resolution, quality) applies.
    category: String,
    attached: Vec<String>,
    form: PhotoForm,
}

type SharedPhotos = Rc<RefCell<Photos>>;

fn render_photos(ui: &AppWindow, p: &Photos) {
    ui.global::<TaskAdapter>()
        .set_photos(p.form.items(&p.attached));
}

/// Offer the photos for the task's feedback (those attached so far, unused ones).
fn load_photos(ctx: &Rc<Ctx>, photos: &SharedPhotos) {
    let (attached, have) = {
        let p = photos.borrow();
        (p.attached.clone(), p.form.have())
    };
    let weak = ctx.ui().map(|u| u.as_weak());
    let photos = photos.clone();
    ctx.exec.run(
        move |s| crate::photos::load(s, &attached, &have),
        move |r| {
            let (Some(ui), Ok(l)) = (weak.and_then(|w| w.upgrade()), r) else {
                return;
            };
            let mut p = photos.borrow_mut();
            p.form.absorb(l);
            render_photos(&ui, &p);
        },
    );
}

fn show(ui: &AppWindow, t: &gridpad_core::model::Task, cat: String, c: Option<DeadlineColour>) {
    let a = ui.global::<TaskAdapter>();
    a.set_id(t.id.as_str().into());
    a.set_title(t.title.as_str().into());
    a.set_body(t.body.as_str().into());
    a.set_status(t.status.as_str().into());
    a.set_colour(colour(c).into());
    a.set_deadline(
        if t.status.is_open() {
            t.deadline_at.map(beijing).unwrap_or_default()
        } else {
            String::new()
        }
        .into(),
    );
    a.set_category(cat.into());
    a.set_created(beijing(t.created_at).into());
    a.set_feedback(t.feedback.as_str().into());
    a.set_reject_reason(t.reject_reason.as_str().into());
}

type Loaded = (gridpad_core::model::Task, String, Option<DeadlineColour>);

fn load(s: &gridpad_core::Store, id: &str) -> Result<Loaded, Error> {
    let t = s
        .queries()
        .task(id)?
        .ok_or_else(|| Error::NotFound(id.to_string()))?;
    let cat = match &t.category_code {
        Some(c) => s.category(c)?.map(|c| c.name).unwrap_or_default(),
        None => String::new(),
    };
    let colour = s
        .tasks()?
        .into_iter()
        .find(|x| x.id == t.id)
        .and_then(|x| x.colour);
    Ok((t, cat, colour))
}

thread_local! {
    static PHOTOS: SharedPhotos = SharedPhotos::default();
}

pub fn open(ctx: &Rc<Ctx>, id: &str) {
    let Some(ui) = ctx.ui() else { return };
    let photos = PHOTOS.with(Rc::clone);
    {
        let mut p = photos.borrow_mut();
        if p.task != id {
            p.task = id.to_string();
            p.attached.clear();
        }
    }
    let a = ui.global::<TaskAdapter>();
    a.set_camera_available(ctx.services.camera.is_some());
    a.set_photo_busy(false);
    a.set_photo_error("".into());
    a.set_photo_error_kind("".into());
    load_photos(ctx, &photos);
    let weak = ui.as_weak();
    let id = id.to_string();
    let c = ctx.clone();
    ctx.exec.run(
        move |s| load(s, &id),
        move |r| {
            let (Some(ui), Ok((t, cat, col))) = (weak.upgrade(), r) else {
                return;
            };
            PHOTOS.with(|p| p.borrow_mut().category = t.category_code.clone().unwrap_or_default());
            show(&ui, &t, cat, col);
            let a = ui.global::<TaskAdapter>();
            a.set_note("".into());
            a.set_message_kind("".into());
            c.go(Screen::TaskDetail);
        },
    );
}

pub fn setup(ui: &AppWindow, ctx: &Rc<Ctx>) {
    let a = ui.global::<TasksAdapter>();
    let c = ctx.clone();
    a.on_open(move |id| open(&c, &id));
    ctx.when_shown(Screen::Tasks, {
        let c = ctx.clone();
        move |ui| {
            let weak = ui.as_weak();
            c.exec.run(
                |s| s.tasks(),
                move |r| {
                    let (Some(ui), Ok(tasks)) = (weak.upgrade(), r) else {
                        return;
                    };
                    let (open, done): (Vec<_>, Vec<_>) =
                        tasks.iter().partition(|t| t.status.is_open());
                    let a = ui.global::<TasksAdapter>();
                    a.set_open_tasks(items(open.into_iter().map(task_item).collect()));
                    a.set_done_tasks(items(done.into_iter().map(task_item).collect()));
                },
            );
        }
    });

    let t = ui.global::<TaskAdapter>();
    let c = ctx.clone();
    t.on_toggle_photo(move |sha| {
        let Some(ui) = c.ui() else { return };
        PHOTOS.with(|p| {
            let mut p = p.borrow_mut();
            crate::photos::toggle(&mut p.attached, &sha);
            render_photos(&ui, &p);
        });
    });
    let c = ctx.clone();
    t.on_take_photo(move || take_photo(&c));
    let c = ctx.clone();
    t.on_command(move |id, cmd, note| {
        let Some(ui) = c.ui() else { return };
        let a = ui.global::<TaskAdapter>();
        let Some(cmd) = TaskCommand::parse(&cmd) else {
            return;
        };
        let note = note.trim().to_string();
        if matches!(cmd, TaskCommand::Complete | TaskCommand::Reject) && note.is_empty() {
            a.set_message_kind("need-note".into());
            return;
        }
        a.set_busy(true);
        let position = c.services.gnss.status().position();
        let weak = ui.as_weak();
        let id = id.to_string();
        let c2 = c.clone();
        // Feedback photos go with "complete" only.
        let photos: Vec<String> = match cmd {
            TaskCommand::Complete => PHOTOS.with(|p| {
                let p = p.borrow();
                if p.task == id {
                    p.attached.clone()
                } else {
                    vec![]
                }
            }),
            _ => vec![],
        };
        c.exec.run(
            move |s| {
                s.task_command(&id, cmd, &note, &photos, Some(position))?;
                load(s, &id)
            },
            move |r| {
                let Some(ui) = weak.upgrade() else { return };
                let a = ui.global::<TaskAdapter>();
                a.set_busy(false);
                match r {
                    Ok((t, cat, col)) => {
                        c2.wrote();
                        if !t.status.is_open() {
                            PHOTOS.with(|p| p.borrow_mut().attached.clear());
                        }
                        show(&ui, &t, cat, col);
                        a.set_note("".into());
                        a.set_message_kind("done".into());
                    }
                    Err(Error::NotAllowed(_)) => a.set_message_kind("not-allowed".into()),
                    Err(e) => {
                        a.set_message_kind("other".into());
                        a.set_message_text(e.to_string().into());
                    }
                }
            },
        );
    });
}

/// Take a photo of the result with the device's camera and attach it to the feedback.
fn take_photo(c: &Rc<Ctx>) {
    let Some(camera) = c.services.camera.clone() else {
        return;
    };
    let Some(ui) = c.ui() else { return };
    let a = ui.global::<TaskAdapter>();
    if a.get_photo_busy() {
        return;
    }
    let task = a.get_id().to_string();
    let (category, attached, have) = PHOTOS.with(|p| {
        let p = p.borrow();
        (p.category.clone(), p.attached.clone(), p.form.have())
    });
    a.set_photo_busy(true);
    a.set_photo_error("".into());
    a.set_photo_error_kind("".into());
    let c2 = c.clone();
    crate::photos::take(c, camera, category, attached, have, move |taken, loaded| {
        let Some(ui) = c2.ui() else { return };
        let a = ui.global::<TaskAdapter>();
        a.set_photo_busy(false);
        PHOTOS.with(|p| {
            let mut p = p.borrow_mut();
            match taken {
                Ok(sha) if p.task == task => {
                    if !p.attached.contains(&sha) {
                        p.attached.push(sha);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    a.set_photo_error_kind(e.kind.into());
                    a.set_photo_error(e.detail.into());
                }
            }
            if let Some(l) = loaded {
                p.form.absorb(l);
            }
            render_photos(&ui, &p);
        });
    });
}

//! Notices from the centre; tapping one marks it read.
use super::Ctx;
use crate::format::beijing_str;
use crate::{AppWindow, NoticeRow, NoticesAdapter, Screen};
use slint::{ComponentHandle, ModelRc, VecModel};
use std::rc::Rc;

fn load(ui: &AppWindow, ctx: &Rc<Ctx>) {
    let weak = ui.as_weak();
    ctx.exec.run(
        |s| s.queries().notices(100),
        move |r| {
            let (Some(ui), Ok(n)) = (weak.upgrade(), r) else {
                return;
            };
            let rows: Vec<NoticeRow> = n
                .into_iter()
                .map(|n| NoticeRow {
                    id: n.id.into(),
                    title: n.title.into(),
                    body: n.body.into(),
                    at: beijing_str(&n.published_at).into(),
                    unread: !n.read,
                })
                .collect();
            ui.global::<NoticesAdapter>()
                .set_notices(ModelRc::new(VecModel::from(rows)));
        },
    );
}

pub fn setup(ui: &AppWindow, ctx: &Rc<Ctx>) {
    ctx.when_shown(Screen::Notices, {
        let c = ctx.clone();
        move |ui| load(ui, &c)
    });
    let c = ctx.clone();
    ui.global::<NoticesAdapter>().on_mark_read(move |id| {
        let id = id.to_string();
        let c2 = c.clone();
        c.exec.run(
            move |s| s.mark_notice_read(&id),
            move |_| {
                c2.wrote();
                if let Some(ui) = c2.ui() {
                    load(&ui, &c2);
                }
            },
        );
    });
}

//! Navigation: the back stack, physical-key focus moves.
use super::Ctx;
use crate::{AppWindow, Nav};
use slint::platform::{Key, WindowEvent};
use slint::ComponentHandle;
use std::rc::Rc;

pub fn setup(ui: &AppWindow, ctx: &Rc<Ctx>) {
    let nav = ui.global::<Nav>();
    let c = ctx.clone();
    nav.on_go(move |s| c.go(s));
    let c = ctx.clone();
    nav.on_back(move || c.back());
    let c = ctx.clone();
    nav.on_home(move || c.reset_to(crate::Screen::Home));
    let weak = ui.as_weak();
    nav.on_move_focus(move |forward| {
        // Arrow keys move the focus like Tab / Shift+Tab. Dispatched after the current
        // key event has been handled.
        let weak = weak.clone();
        slint::Timer::single_shot(std::time::Duration::ZERO, move || {
            if let Some(ui) = weak.upgrade() {
                let key: slint::SharedString = if forward {
                    Key::Tab.into()
                } else {
                    Key::Backtab.into()
                };
                ui.window()
                    .dispatch_event(WindowEvent::KeyPressed { text: key.clone() });
                ui.window()
                    .dispatch_event(WindowEvent::KeyReleased { text: key });
            }
        });
    });
    let c = ctx.clone();
    nav.on_activity(move || c.touch());
}

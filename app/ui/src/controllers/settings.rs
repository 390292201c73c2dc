//! Settings: language, text size, high contrast, connections, about, lock.
use super::Ctx;
use crate::{AppWindow, Nav, Screen, SettingsAdapter, Theme};
use slint::ComponentHandle;
use std::rc::Rc;

/// Apply the saved look and language to the window.
pub fn apply(ui: &AppWindow, ctx: &Ctx) {
    let s = ctx.settings.borrow();
    let theme = ui.global::<Theme>();
    theme.set_text_scale(s.text_scale);
    theme.set_high_contrast(s.high_contrast);
    let _ = slint::select_bundled_translation(if s.language == "en" { "" } else { &s.language });
    let a = ui.global::<SettingsAdapter>();
    a.set_language(s.language.as_str().into());
    a.set_text_scale(s.text_scale);
    a.set_high_contrast(s.high_contrast);
    a.set_gnss_source(ctx.gnss_setting().as_str().into());
    a.set_hub(s.hub.as_str().into());
}

pub fn setup(ui: &AppWindow, ctx: &Rc<Ctx>) -> Vec<slint::Timer> {
    apply(ui, ctx);
    let a = ui.global::<SettingsAdapter>();
    a.set_app_version(env!("CARGO_PKG_VERSION").into());
    a.set_slint_version(crate::SLINT_VERSION.into());
    a.set_data_dir(ctx.data_dir.display().to_string().into());
    a.set_schema(0);

    let c = ctx.clone();
    a.on_set_language(move |lang| {
        c.settings.borrow_mut().language = lang.to_string();
        c.save_settings();
        if let Some(ui) = c.ui() {
            apply(&ui, &c);
        }
    });
    let c = ctx.clone();
    a.on_set_text_scale(move |scale| {
        c.settings.borrow_mut().text_scale = scale;
        c.save_settings();
        if let Some(ui) = c.ui() {
            apply(&ui, &c);
        }
    });
    let c = ctx.clone();
    a.on_set_high_contrast(move |on| {
        c.settings.borrow_mut().high_contrast = on;
        c.save_settings();
        if let Some(ui) = c.ui() {
            apply(&ui, &c);
        }
    });
    let c = ctx.clone();
    a.on_save_connection(move |gnss, hub| {
        {
            let mut s = c.settings.borrow_mut();
            // The configured receiver again is no choice of this device's.
            let configured = crate::gnss::GnssSource::from_config(&c.device.gnss).setting();
            s.gnss_override = Some(gnss.trim().to_string()).filter(|g| *g != configured);
            s.hub = hub.to_string();
        }
        c.save_settings();
        if let Some(ui) = c.ui() {
            ui.global::<SettingsAdapter>().set_message("saved".into());
        }
    });
    let c = ctx.clone();
    a.on_lock(move || lock(&c));

    ctx.when_shown(Screen::Settings, {
        let c = ctx.clone();
        move |ui| {
            ui.global::<SettingsAdapter>().set_message("".into());
            let weak = ui.as_weak();
            c.exec.run(
                |s| {
                    let schema = gridpad_core::db::user_version(s.conn())?;
                    Ok((s.device_id().to_string(), schema))
                },
                move |r| {
                    if let (Some(ui), Ok((id, schema))) = (weak.upgrade(), r) {
                        let a = ui.global::<SettingsAdapter>();
                        a.set_device_id(id.into());
                        a.set_schema(schema as i32);
                    }
                },
            );
        }
    });
    vec![auto_lock(ctx)]
}

/// Lock after the configured minutes without input (keys, navigation).
fn auto_lock(ctx: &Rc<Ctx>) -> slint::Timer {
    let timer = slint::Timer::default();
    let c = ctx.clone();
    timer.start(
        slint::TimerMode::Repeated,
        std::time::Duration::from_secs(15),
        move || {
            let minutes = c.settings.borrow().auto_lock_min;
            let Some(ui) = c.ui() else { return };
            if minutes > 0
                && ui.global::<Nav>().get_unlocked()
                && c.idle_for() >= std::time::Duration::from_secs(60 * minutes as u64)
            {
                lock(&c);
            }
        },
    );
    timer
}

/// Close the store (its key leaves memory) and show the login screen.
pub fn lock(c: &Rc<Ctx>) {
    c.services.sync.stop();
    c.exec.run_slot(|slot| *slot = None, |_| {});
    if let Some(ui) = c.ui() {
        ui.global::<Nav>().set_unlocked(false);
    }
    c.reset_to(Screen::Login);
}

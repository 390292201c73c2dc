//! First run: create the encrypted store under a new PIN and remember the hub address
//! and the enrollment code for the sync service to complete enrollment.
use super::Ctx;
use crate::{AppWindow, EnrollAdapter, Nav, Screen};
use gridpad_core::{Error, InitOptions, Store};
use slint::ComponentHandle;
use std::rc::Rc;

pub fn setup(ui: &AppWindow, ctx: &Rc<Ctx>) {
    let a = ui.global::<EnrollAdapter>();
    let c = ctx.clone();
    a.on_enroll(move |hub, code, pin, pin2| {
        let Some(ui) = c.ui() else { return };
        let a = ui.global::<EnrollAdapter>();
        let pin = pin.to_string();
        let kind = if code.trim().is_empty() {
            "no-code"
        } else if !(6..=12).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
            "weak"
        } else if pin != pin2.as_str() {
            "mismatch"
        } else {
            ""
        };
        a.set_error_kind(kind.into());
        if !kind.is_empty() {
            return;
        }
        a.set_busy(true);
        let dir = c.data_dir.clone();
        let iterations = c.kdf_iterations;
        let clock = c.services.clock.clone();
        let (hub, code) = (hub.to_string(), code.to_string());
        {
            let mut s = c.settings.borrow_mut();
            s.hub = hub.clone();
        }
        c.save_settings();
        let c2 = c.clone();
        c.exec.run_slot(
            move |slot| -> Result<(), Error> {
                let mut opts = InitOptions::default();
                if let Some(n) = iterations {
                    opts.kdf_iterations = n;
                }
                let mut store = Store::init(&dir, &pin, opts)?;
                store.set_clock(move || clock.now());
                store.set_kv("hub_url", &hub)?;
                store.set_kv("enrollment_code", &code)?;
                store.set_kv("enrollment_state", "pending")?;
                *slot = Some(store);
                Ok(())
            },
            move |r| {
                let Some(ui) = c2.ui() else { return };
                let a = ui.global::<EnrollAdapter>();
                a.set_busy(false);
                a.set_pin("".into());
                a.set_pin2("".into());
                match r {
                    Ok(()) => {
                        ui.global::<Nav>().set_unlocked(true);
                        c2.reset_to(Screen::Home);
                    }
                    Err(Error::WeakPin) => a.set_error_kind("weak".into()),
                    Err(e) => {
                        a.set_error_kind("other".into());
                        a.set_error_text(e.to_string().into());
                    }
                }
            },
        );
    });
}

//! First run: create the encrypted store under a new PIN and enroll it with the hub using
//! the one-time code. A provisioned device (`provision.toml` in the data directory, from
//! `gridctl provision`) shows its hub and code already filled in: the user only chooses the
//! PIN, and the enrollment marks the file's code used (`gridpad_sync::provision`). Without
//! a file the hub field starts with the configuration's `hub_url`. If the hub refuses (or
//! cannot be reached) the new store is removed again, so the user can correct the address
//! or the code and try once more.
use super::Ctx;
use crate::{AppWindow, EnrollAdapter, Nav, Screen};
use gridpad_core::{Error, InitOptions, Store};
use slint::ComponentHandle;
use std::rc::Rc;

pub fn setup(ui: &AppWindow, ctx: &Rc<Ctx>) {
    let a = ui.global::<EnrollAdapter>();
    match gridpad_sync::provision::pending(&ctx.data_dir) {
        Ok(Some(p)) => {
            a.set_hub(p.hub_url.as_str().into());
            a.set_code(p.code().unwrap_or_default().into());
        }
        Ok(None) => {
            let hub = match ctx.device.hub() {
                Some(h) => h.to_string(),
                None => ctx.settings.borrow().hub.clone(),
            };
            if !hub.is_empty() {
                a.set_hub(hub.as_str().into());
            }
        }
        Err(e) => {
            a.set_error_kind("enroll".into());
            a.set_error_text(e.to_string().into());
        }
    }
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
        let sync = c.services.sync.clone();
        let (hub, code) = (hub.to_string(), code.to_string());
        // The provisioning file's hub and code, unchanged: enroll with the file.
        let provisioned = gridpad_sync::provision::pending(&dir)
            .ok()
            .flatten()
            .filter(|p| p.hub_url == hub.trim() && p.code() == Some(code.trim()));
        let device = c.device.clone();
        {
            let mut s = c.settings.borrow_mut();
            s.hub = hub.clone();
        }
        c.save_settings();
        let c2 = c.clone();
        c.exec.run_slot(
            move |slot| -> Result<Option<String>, Enroll> {
                let mut opts = InitOptions::default();
                if let Some(n) = iterations {
                    opts.kdf_iterations = n;
                }
                let mut store = Store::init(&dir, &pin, opts).map_err(Enroll::Store)?;
                let c3 = clock.clone();
                store.set_clock(move || c3.now());
                let enrolled = match provisioned {
                    Some(_) => sync.enroll_provisioned(&mut store, &device),
                    None => sync.enroll(&mut store, &hub, &code),
                };
                if let Err(e) = enrolled {
                    drop(store);
                    remove_new_store(&dir);
                    return Err(Enroll::Refused(e));
                }
                let _ = store.set_kv("enrollment_state", "done");
                if let Ok(mut other) = store.open_again() {
                    other.set_clock(move || clock.now());
                    sync.start(other);
                }
                let user = store
                    .kv(gridpad_sync::device::HUB_USER)
                    .map_err(Enroll::Store)?;
                *slot = Some(store);
                Ok(user)
            },
            move |r| {
                let Some(ui) = c2.ui() else { return };
                let a = ui.global::<EnrollAdapter>();
                a.set_busy(false);
                a.set_pin("".into());
                a.set_pin2("".into());
                match r {
                    Ok(user) => {
                        c2.set_user(user);
                        ui.global::<Nav>().set_unlocked(true);
                        c2.reset_to(Screen::Home);
                    }
                    Err(Enroll::Store(Error::WeakPin)) => a.set_error_kind("weak".into()),
                    Err(Enroll::Refused(e)) => {
                        a.set_error_kind("enroll".into());
                        a.set_error_text(e.into());
                    }
                    Err(Enroll::Store(e)) => {
                        a.set_error_kind("other".into());
                        a.set_error_text(e.to_string().into());
                    }
                }
            },
        );
    });
}

enum Enroll {
    Store(Error),
    Refused(String),
}

/// Remove what `Store::init` just created (the key file, the database and its WAL); the
/// directory held nothing before, or `init` would have refused.
fn remove_new_store(dir: &std::path::Path) {
    let db = gridpad_core::db::DB_FILE;
    for name in [
        gridpad_core::keyring::KEY_FILE.to_string(),
        db.to_string(),
        format!("{db}-wal"),
        format!("{db}-shm"),
    ] {
        let _ = std::fs::remove_file(dir.join(name));
    }
}

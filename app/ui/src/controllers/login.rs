//! Login: the PIN unlocks the store on the worker thread (key derivation takes a while
//! on purpose); wrong PINs and lockouts are shown as the store reports them.
use super::Ctx;
use crate::{AppWindow, LoginAdapter, Nav, Screen};
use gridpad_core::access::Access;
use gridpad_core::{Error, Store};
use slint::ComponentHandle;
use std::rc::Rc;

pub fn setup(ui: &AppWindow, ctx: &Rc<Ctx>) {
    let a = ui.global::<LoginAdapter>();
    a.set_user_name("".into());
    a.set_grid_name(ctx.settings.borrow().grid_name.as_str().into());
    a.set_device_id(
        gridpad_core::keyring::device_id(&ctx.data_dir)
            .map(|id| id.chars().take(13).collect::<String>())
            .unwrap_or_default()
            .into(),
    );
    let c = ctx.clone();
    a.on_submit(move |pin| {
        let Some(ui) = c.ui() else { return };
        let a = ui.global::<LoginAdapter>();
        a.set_busy(true);
        let dir = c.data_dir.clone();
        let clock = c.services.clock.clone();
        let sync = c.services.sync.clone();
        let pin = pin.to_string();
        let limit = c.device.lock_after_days_offline;
        let c2 = c.clone();
        c.exec.run_slot(
            move |slot| -> Result<Result<(String, Option<String>), Access>, Error> {
                let mut store = Store::open(&dir, &pin)?;
                let c3 = clock.clone();
                store.set_clock(move || c3.now());
                let grid = store.home_grid()?.map(|g| g.name).unwrap_or_default();
                // Sync gets a connection of its own (no second key derivation).
                match store.open_again() {
                    Ok(mut other) => {
                        let clock = clock.clone();
                        other.set_clock(move || clock.now());
                        sync.start(other);
                    }
                    Err(e) => eprintln!("gridpad-ui: sync cannot open the store: {e}"),
                }
                // A device the centre locked, or one offline past `lock_after_days_offline`,
                // stops here: the store stays closed to the user, while sync (started above)
                // may still reach the hub, which alone can lift the lock.
                let access = store.access(limit)?;
                if !access.is_open() {
                    return Ok(Err(access));
                }
                let user = store.kv(gridpad_sync::device::HUB_USER)?;
                *slot = Some(store);
                Ok(Ok((grid, user)))
            },
            move |r| {
                let Some(ui) = c2.ui() else { return };
                let a = ui.global::<LoginAdapter>();
                a.set_busy(false);
                a.set_pin("".into());
                a.set_digits(0);
                match r {
                    Ok(Err(Access::OfflineTooLong { days_offline, .. })) => {
                        a.set_error_kind("offline-locked".into());
                        a.set_error_n(days_offline.min(i32::MAX as u64) as i32);
                    }
                    Ok(Err(_)) => a.set_error_kind("centre-locked".into()),
                    Ok(Ok((grid, user))) => {
                        c2.set_user(user);
                        a.set_error_kind("".into());
                        a.set_grid_name(grid.as_str().into());
                        if c2.settings.borrow().grid_name != grid {
                            c2.settings.borrow_mut().grid_name = grid;
                            c2.save_settings();
                        }
                        ui.global::<Nav>().set_unlocked(true);
                        c2.reset_to(Screen::Home);
                    }
                    Err(Error::WrongPin { remaining }) => {
                        a.set_error_kind("wrong-pin".into());
                        a.set_error_n(remaining as i32);
                    }
                    Err(Error::LockedOut { seconds }) => {
                        a.set_error_kind("locked".into());
                        a.set_error_n(seconds as i32);
                    }
                    Err(Error::NotInitialised(_)) => a.set_error_kind("not-initialised".into()),
                    Err(Error::AttemptNotCounted { .. }) => {
                        a.set_error_kind("pin-not-counted".into())
                    }
                    Err(e) => {
                        a.set_error_kind("other".into());
                        a.set_error_text(e.to_string().into());
                    }
                }
            },
        );
    });
}

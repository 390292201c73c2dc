//! Controllers: one per concern, each touching only its own adapter global. They share a
//! [`Ctx`]: the store worker, the services, the settings and navigation.

pub mod enroll;
pub mod events;
pub mod home;
pub mod keyboard;
pub mod login;
pub mod nav;
pub mod notices;
pub mod patrol;
pub mod person_edit;
pub mod place_edit;
pub mod places;
pub mod report;
pub mod residents;
pub mod settings;
pub mod stats;
pub mod sync;
pub mod tasks;
pub mod visits;

use crate::exec::{Exec, Mode};
use crate::services::Services;
use crate::settings::Settings;
use crate::{AppWindow, Nav, Screen};
use slint::ComponentHandle;
use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

type Hook = Box<dyn Fn(&AppWindow)>;

/// What every controller can reach.
pub struct Ctx {
    pub exec: Rc<Exec>,
    pub services: Services,
    pub data_dir: PathBuf,
    /// `/etc/gridpad/gridpad.toml`, read at start.
    pub device: gridpad_config::DeviceConfig,
    pub settings: RefCell<Settings>,
    /// Key derivation cost for a new store (tests make it cheap).
    pub kdf_iterations: Option<u32>,
    stack: RefCell<Vec<Screen>>,
    last_activity: Cell<Instant>,
    on_enter: RefCell<Vec<(Screen, Hook)>>,
    weak: slint::Weak<AppWindow>,
    /// The user this device was enrolled for (the hub's name for them), once known.
    user: RefCell<Option<String>>,
}

impl Ctx {
    pub fn ui(&self) -> Option<AppWindow> {
        self.weak.upgrade()
    }

    /// Run `f` every time `screen` is shown (controllers load their data there).
    pub fn when_shown(&self, screen: Screen, f: impl Fn(&AppWindow) + 'static) {
        self.on_enter.borrow_mut().push((screen, Box::new(f)));
    }

    /// The user did something (restarts the auto-lock countdown).
    pub fn touch(&self) {
        self.last_activity.set(Instant::now());
    }

    pub fn idle_for(&self) -> std::time::Duration {
        self.last_activity.get().elapsed()
    }

    fn show(&self, ui: &AppWindow, screen: Screen) {
        self.touch();
        ui.global::<Nav>().set_current(screen);
        let hooks = self.on_enter.borrow();
        for (s, f) in hooks.iter() {
            if *s == screen {
                f(ui);
            }
        }
    }

    /// Go to `screen`, remembering where we came from.
    pub fn go(&self, screen: Screen) {
        let Some(ui) = self.ui() else { return };
        let current = ui.global::<Nav>().get_current();
        if current != screen {
            self.stack.borrow_mut().push(current);
        }
        self.show(&ui, screen);
    }

    /// Back to the previous screen (never back past home or the login).
    pub fn back(&self) {
        let Some(ui) = self.ui() else { return };
        let current = ui.global::<Nav>().get_current();
        if matches!(current, Screen::Login | Screen::FirstRun | Screen::Home) {
            return;
        }
        let prev = self.stack.borrow_mut().pop().unwrap_or(Screen::Home);
        self.show(&ui, prev);
    }

    /// Start over at `screen` (after login, lock).
    pub fn reset_to(&self, screen: Screen) {
        let Some(ui) = self.ui() else { return };
        self.stack.borrow_mut().clear();
        self.show(&ui, screen);
    }

    /// Refresh the screen that is shown (after a change made elsewhere).
    pub fn refresh(&self) {
        let Some(ui) = self.ui() else { return };
        let current = ui.global::<Nav>().get_current();
        self.show(&ui, current);
    }

    pub fn save_settings(&self) {
        let _ = self.settings.borrow().save(&self.data_dir);
    }

    /// Something was written to the store: sync soon (the scheduler debounces).
    pub fn wrote(&self) {
        self.services.sync.local_write();
    }

    /// The name recorded as reporter/actor on this device: the user it was enrolled for,
    /// or the role when the device was set up without a hub (demo data).
    pub fn reporter(&self) -> String {
        self.user
            .borrow()
            .clone()
            .unwrap_or_else(|| "网格员".to_string())
    }

    /// The GNSS source as the settings screen shows it: this device's choice, else the
    /// configuration's.
    pub fn gnss_setting(&self) -> String {
        self.settings
            .borrow()
            .gnss_override
            .clone()
            .unwrap_or_else(|| crate::gnss::GnssSource::from_config(&self.device.gnss).setting())
    }

    /// Who uses the device, as read from the store when it is opened.
    pub fn set_user(&self, user: Option<String>) {
        *self.user.borrow_mut() = user.filter(|u| !u.trim().is_empty());
    }
}

/// Sync finished an exchange: reload the screen that shows its results (without counting
/// it as user activity); carry out a fleet command.
pub fn sync_finished(c: &Rc<Ctx>, ui: &AppWindow, st: &crate::services::SyncStatus) {
    match st.command.as_deref() {
        Some("wiped") => {
            c.exec.run_slot(|slot| *slot = None, |_| {});
            ui.global::<Nav>().set_unlocked(false);
            c.reset_to(Screen::FirstRun);
            return;
        }
        Some(_) if ui.global::<Nav>().get_unlocked() => {
            settings::lock(c);
            return;
        }
        _ => {}
    }
    if !ui.global::<Nav>().get_unlocked() {
        return;
    }
    match ui.global::<Nav>().get_current() {
        Screen::Home => home::load(ui, c),
        Screen::Sync => sync::load(ui, c),
        _ => {}
    }
}

/// How to start the app.
pub struct AppConfig {
    pub data_dir: PathBuf,
    /// The device configuration (`gridpad_config::DeviceConfig::load`; tests: defaults).
    pub device: gridpad_config::DeviceConfig,
    pub services: Services,
    pub mode: Mode,
    /// Override the saved language ("zh_CN" / "en").
    pub language: Option<String>,
    pub kdf_iterations: Option<u32>,
}

/// The running app: the window and the controllers' shared context.
pub struct App {
    pub ui: AppWindow,
    pub ctx: Rc<Ctx>,
    _timers: Vec<slint::Timer>,
}

impl App {
    pub fn new(cfg: AppConfig) -> Result<App, slint::PlatformError> {
        let ui = AppWindow::new()?;
        let mut settings = Settings::load(&cfg.data_dir);
        if let Some(l) = cfg.language {
            settings.language = l;
        }
        let ctx = Rc::new(Ctx {
            exec: Rc::new(Exec::new(cfg.mode)),
            services: cfg.services,
            data_dir: cfg.data_dir,
            device: cfg.device,
            settings: RefCell::new(settings),
            kdf_iterations: cfg.kdf_iterations,
            stack: RefCell::new(vec![]),
            last_activity: Cell::new(Instant::now()),
            on_enter: RefCell::new(vec![]),
            weak: ui.as_weak(),
            user: RefCell::new(None),
        });
        let mut timers = vec![];
        nav::setup(&ui, &ctx);
        timers.extend(settings::setup(&ui, &ctx));
        enroll::setup(&ui, &ctx);
        login::setup(&ui, &ctx);
        timers.extend(home::setup(&ui, &ctx));
        report::setup(&ui, &ctx);
        residents::setup(&ui, &ctx);
        person_edit::setup(&ui, &ctx);
        events::setup(&ui, &ctx);
        tasks::setup(&ui, &ctx);
        sync::setup(&ui, &ctx);
        timers.extend(patrol::setup(&ui, &ctx));
        visits::setup(&ui, &ctx);
        notices::setup(&ui, &ctx);
        stats::setup(&ui, &ctx);
        keyboard::setup(&ui, &ctx);
        places::setup(&ui, &ctx);
        place_edit::setup(&ui, &ctx);
        let first = if ctx.data_dir.join(gridpad_core::db::DB_FILE).exists() {
            Screen::Login
        } else {
            Screen::FirstRun
        };
        ctx.reset_to(first);
        Ok(App {
            ui,
            ctx,
            _timers: timers,
        })
    }

    /// Run `f` with the open store (tests: look at what the store holds).
    pub fn with_store<R>(&self, f: impl FnOnce(&mut gridpad_core::Store) -> R) -> Option<R> {
        let mut guard = self
            .ctx
            .exec
            .slot()
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        guard.as_mut().map(f)
    }
}

//! Home: my grid, GNSS and sync status, due tasks and open events with deadline colours.
use super::Ctx;
use crate::format::{beijing_opt, colour};
use crate::services::GnssService;
use crate::{AppWindow, GnssInfo, HomeAdapter, Screen, WorkItem};
use gridpad_core::store::{EventSummary, TaskSummary};
use slint::{ComponentHandle, ModelRc, VecModel};
use std::rc::Rc;
use std::time::Duration;

pub fn gnss_info(g: &dyn GnssService) -> GnssInfo {
    let s = g.status();
    GnssInfo {
        state: s.state.as_str().into(),
        sats: s.sats as i32,
        accuracy_m: s.accuracy_m.map(|a| a.round() as i32).unwrap_or(0),
        age_s: s.age_s.map(|a| a.round() as i32).unwrap_or(0),
        in_grid: s.inside.map(|i| i.as_str()).unwrap_or("").into(),
    }
}

pub fn task_item(t: &TaskSummary) -> WorkItem {
    WorkItem {
        id: t.id.as_str().into(),
        title: t.title.as_str().into(),
        subtitle: "".into(),
        status: t.status.as_str().into(),
        colour: colour(t.colour).into(),
        deadline: beijing_opt(t.deadline_at.as_deref()).into(),
    }
}

pub fn event_item(e: &EventSummary) -> WorkItem {
    let mut title: String = e.description.chars().take(20).collect();
    if e.description.chars().count() > 20 {
        title.push('…');
    }
    WorkItem {
        id: e.id.as_str().into(),
        title: e.category.as_str().into(),
        subtitle: title.into(),
        status: e.status.as_str().into(),
        colour: colour(e.colour).into(),
        deadline: if e.status.is_open() {
            beijing_opt(e.deadline_at.as_deref()).into()
        } else {
            "".into()
        },
    }
}

pub fn items(v: Vec<WorkItem>) -> ModelRc<WorkItem> {
    ModelRc::new(VecModel::from(v))
}

struct HomeData {
    grid: String,
    /// The home grid's boundary: where the GNSS status's in-grid comes from.
    fence: Option<gridpad_gnss::geofence::GridPolygon>,
    tasks: Vec<TaskSummary>,
    events: Vec<EventSummary>,
    health: gridpad_core::queries::SyncHealth,
    unread: i64,
}

pub fn load(ui: &AppWindow, ctx: &Rc<Ctx>) {
    let a = ui.global::<HomeAdapter>();
    a.set_gnss(gnss_info(ctx.services.gnss.as_ref()));
    let now = ctx.services.clock.now();
    a.set_today(crate::format::beijing(now).into());
    let weak = ui.as_weak();
    let sync = ctx.services.sync.status();
    let c = ctx.clone();
    ctx.exec.run(
        |s| {
            let home = s.home_grid()?;
            let fence = home.as_ref().and_then(crate::gnss::grid_polygon);
            let grid = home.map(|g| g.name).unwrap_or_default();
            let tasks = s
                .tasks()?
                .into_iter()
                .filter(|t| t.status.is_open())
                .collect();
            let events = s
                .events(200)?
                .into_iter()
                .filter(|e| e.status.is_open())
                .take(20)
                .collect();
            let q = s.queries();
            Ok(HomeData {
                grid,
                fence,
                tasks,
                events,
                health: q.sync_health()?,
                unread: q.unread_notices()?,
            })
        },
        move |r| {
            let (Some(ui), Ok(d)) = (weak.upgrade(), r) else {
                return;
            };
            c.services.gnss.set_grid(d.fence);
            let a = ui.global::<HomeAdapter>();
            a.set_grid_name(d.grid.into());
            a.set_tasks(items(d.tasks.iter().map(task_item).collect()));
            a.set_events(items(d.events.iter().map(event_item).collect()));
            a.set_unread_notices(d.unread as i32);
            a.set_sync(super::sync::info(&d.health, &sync));
        },
    );
}

pub fn setup(ui: &AppWindow, ctx: &Rc<Ctx>) -> Vec<slint::Timer> {
    let a = ui.global::<HomeAdapter>();
    a.set_user_name("".into());
    let c = ctx.clone();
    a.on_open_task(move |id| super::tasks::open(&c, &id));
    let c = ctx.clone();
    a.on_open_event(move |id| super::events::open(&c, &id));
    ctx.when_shown(Screen::Home, {
        let c = ctx.clone();
        move |ui| load(ui, &c)
    });
    // GNSS status is cheap (no store): refresh it every second. When sync finished an
    // exchange, the screen that shows its results reloads; a fleet command locks.
    let timer = slint::Timer::default();
    let c = ctx.clone();
    let seen_rounds = std::cell::Cell::new(0u64);
    timer.start(
        slint::TimerMode::Repeated,
        Duration::from_secs(1),
        move || {
            if let Some(ui) = c.ui() {
                ui.global::<HomeAdapter>()
                    .set_gnss(gnss_info(c.services.gnss.as_ref()));
                let st = c.services.sync.status();
                if st.rounds != seen_rounds.replace(st.rounds) {
                    super::sync_finished(&c, &ui, &st);
                }
            }
        },
    );
    vec![timer]
}

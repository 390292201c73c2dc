//! Renders every screen at 480×800 in Chinese and English with the software renderer
//! (headless, mock time, fixed clock, bundled font) into `docs/screenshots/`.
//! Set `GRIDPAD_SKIP_SCREENSHOTS=1` to skip writing the files.

mod common;
use common::*;
use gridpad_ui::controllers::{events, residents, tasks};
use gridpad_ui::{App, Nav, ReportAdapter, ResidentsAdapter, Screen, Theme};
use slint::{ComponentHandle, Model};
use std::path::{Path, PathBuf};

fn out_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots")
}

fn shot(app: &App, name: &str, lang: &str) {
    let snap = app.ui.window().take_snapshot().expect("snapshot");
    assert_eq!((snap.width(), snap.height()), (480, 800));
    // Not blank: the screen has more than a couple of colours.
    let px = snap.as_bytes();
    let first = &px[..4];
    assert!(px.chunks(4).any(|p| p != first), "{name}-{lang} is blank");
    if std::env::var_os("GRIDPAD_SKIP_SCREENSHOTS").is_some() {
        return;
    }
    let dir = out_dir();
    std::fs::create_dir_all(&dir).unwrap();
    image::save_buffer(
        dir.join(format!("{name}-{lang}.png")),
        px,
        snap.width(),
        snap.height(),
        image::ColorType::Rgba8,
    )
    .unwrap();
}

/// The lower half of a screen twice as tall (what the user scrolls down to), 480×800.
fn shot_scrolled(app: &App, name: &str, lang: &str) {
    app.ui
        .window()
        .set_size(slint::PhysicalSize::new(480, 1600));
    let snap = app.ui.window().take_snapshot().expect("snapshot");
    app.ui.window().set_size(slint::PhysicalSize::new(480, 800));
    assert_eq!((snap.width(), snap.height()), (480, 1600));
    if std::env::var_os("GRIDPAD_SKIP_SCREENSHOTS").is_some() {
        return;
    }
    let lower = &snap.as_bytes()[480 * 800 * 4..];
    image::save_buffer(
        out_dir().join(format!("{name}-{lang}.png")),
        lower,
        480,
        800,
        image::ColorType::Rgba8,
    )
    .unwrap();
}

fn all_screens(lang: &str, file_lang: &str, unlock: &str) {
    let first = tempfile::tempdir().unwrap();
    let app = open_app(&first.path().join("new"), lang);
    shot(&app, "first-run", file_lang);
    drop(app);

    let dir = tempfile::tempdir().unwrap();
    living_grid(dir.path(), 1_500);
    let app = open_app(dir.path(), lang);
    shot(&app, "login", file_lang);
    log_in(&app, "000000", unlock);
    shot(&app, "login-wrong-pin", file_lang);
    log_in(&app, PIN, unlock);
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Home);
    shot(&app, "home", file_lang);

    app.ctx.go(Screen::Report);
    let r = app.ui.global::<ReportAdapter>();
    r.invoke_select_main("02".into());
    shot(&app, "report-category", file_lang);
    r.invoke_select_sub("0201".into());
    r.invoke_set_field("blocked_by".into(), "杂物".into(), false);
    r.set_description("3栋一楼楼道堆放杂物，堵塞消防通道".into());
    r.invoke_edited();
    r.invoke_take_photo();
    assert_eq!(r.get_photos().row_count(), 1, "a photo from the camera");
    shot(&app, "report", file_lang);
    shot_scrolled(&app, "report-photos", file_lang);
    app.ctx.reset_to(Screen::Home);

    app.ctx.go(Screen::Residents);
    shot(&app, "residents", file_lang);
    app.ui.global::<ResidentsAdapter>().set_query("喆".into());
    app.ui
        .global::<ResidentsAdapter>()
        .invoke_search("喆".into());
    shot(&app, "residents-search", file_lang);
    let rare = app
        .with_store(|s| s.search_people("喆", 1, None).unwrap().hits[0].id.clone())
        .unwrap();
    residents::open(&app.ctx, &rare);
    shot(&app, "resident-detail", file_lang);
    gridpad_ui::controllers::person_edit::edit_person(&app.ctx, &rare);
    shot(&app, "person-edit", file_lang);
    app.ctx.reset_to(Screen::Home);

    app.ctx.go(Screen::Events);
    shot(&app, "events", file_lang);
    let e1 = app
        .with_store(|s| {
            s.events(10)
                .unwrap()
                .into_iter()
                .find(|e| e.status.as_str() == "dispatched")
                .unwrap()
                .id
        })
        .unwrap();
    events::open(&app.ctx, &e1);
    shot(&app, "event-detail", file_lang);
    app.ctx.reset_to(Screen::Home);

    app.ctx.go(Screen::Tasks);
    shot(&app, "tasks", file_lang);
    tasks::open(&app.ctx, "t1");
    shot(&app, "task-detail", file_lang);
    app.ctx.reset_to(Screen::Home);

    // Base data: buildings → a building's houses → a house's residents; organisations; facilities.
    app.ctx.go(Screen::Places);
    let p = app.ui.global::<gridpad_ui::PlacesAdapter>();
    p.invoke_show("buildings".into());
    shot(&app, "places-buildings", file_lang);
    let first = |p: &gridpad_ui::PlacesAdapter| p.get_rows().row_data(0).unwrap().id;
    p.invoke_open(first(&p));
    shot(&app, "places-houses", file_lang);
    let lived_in = p.get_rows().iter().find(|r| r.count > 1).unwrap().id;
    p.invoke_open(lived_in);
    shot(&app, "places-household", file_lang);
    // Editing that house; adding one to the building, with its mistakes marked.
    p.invoke_edit();
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::HouseEdit);
    shot(&app, "house-edit", file_lang);
    app.ctx.back();
    p.invoke_up();
    p.invoke_add();
    let h = app.ui.global::<gridpad_ui::HouseEditAdapter>();
    h.set_stairwell("2单元".into());
    h.set_floor("40".into());
    h.set_area("0".into());
    h.invoke_save();
    shot(&app, "house-new-problems", file_lang);
    app.ctx.back();
    p.invoke_show("units".into());
    shot(&app, "places-units", file_lang);
    // An organisation's detail, its form, and a credit code with a typo.
    p.invoke_open(first(&p));
    shot(&app, "unit-detail", file_lang);
    p.invoke_edit();
    assert_eq!(
        app.ui.global::<Nav>().get_current(),
        Screen::OrganisationEdit
    );
    shot(&app, "unit-edit", file_lang);
    let u = app.ui.global::<gridpad_ui::OrganisationEditAdapter>();
    u.set_credit_code("914403001922038217".into());
    u.invoke_credit_edited("914403001922038217".into());
    u.invoke_save();
    shot(&app, "unit-edit-bad-code", file_lang);
    app.ctx.back();
    p.invoke_show("facilities".into());
    shot(&app, "places-facilities", file_lang);
    app.ctx.reset_to(Screen::Home);

    for (screen, name) in [
        (Screen::Sync, "sync"),
        (Screen::Settings, "settings"),
        (Screen::Visits, "visits"),
        (Screen::Notices, "notices"),
        (Screen::Stats, "stats"),
    ] {
        app.ctx.reset_to(Screen::Home);
        app.ctx.go(screen);
        shot(&app, name, file_lang);
    }
    // A patrol under way (the fixed clock and the fake receiver stand still, so the live
    // figures are set as a walk would have made them; tests/gnss.rs drives them for real).
    app.ctx.reset_to(Screen::Home);
    app.ctx.go(Screen::Patrol);
    let p = app.ui.global::<gridpad_ui::PatrolAdapter>();
    p.set_duration("00:47:12".into());
    p.set_distance("2.35 km".into());
    p.set_in_grid_time("00:41:05".into());
    p.set_near_boundary_time("00:01:40".into());
    shot(&app, "patrol", file_lang);
    // A first download under way: the sync screen follows it (pulled + what the hub says
    // is left, across exchanges).
    app.ctx.reset_to(Screen::Home);
    app.ctx.go(Screen::Sync);
    let s = app.ui.global::<gridpad_ui::SyncAdapter>();
    let mut info = s.get_info();
    info.running = true;
    info.enrolled = true;
    info.download_done = 7_200;
    info.download_total = 20_126;
    info.photos_waiting = 2;
    info.photo_mb_waiting = 6.3;
    info.photo_index = 1;
    info.photo_count = 2;
    info.photo_kb_done = 1_920;
    info.photo_kb_total = 3_410;
    s.set_info(info);
    shot(&app, "sync-first-download", file_lang);
    // The sunlight theme with large text.
    app.ctx.reset_to(Screen::Home);
    app.ui.global::<Theme>().set_high_contrast(true);
    app.ui.global::<Theme>().set_text_scale(1.2);
    shot(&app, "home-high-contrast", file_lang);
}

#[test]
fn every_screen_in_chinese_and_english() {
    init_backend();
    all_screens("zh_CN", "zh-CN", "解锁");
    all_screens("en", "en", "Unlock");
}

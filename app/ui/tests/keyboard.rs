//! The on-screen keyboard on Slint's testing backend: keys tapped on the screen, text in
//! the focused field, learned choices in the encrypted store.

mod common;
use common::*;
use gridpad_ui::controllers::keyboard::USER_MODEL_KEY;
use gridpad_ui::{App, KeyboardAdapter, PersonEditAdapter, ReportAdapter, Screen};
use i_slint_backend_testing::ElementHandle;
use slint::platform::{PointerEventButton, WindowEvent};
use slint::{ComponentHandle, Model};

/// Tap the middle of the element labelled `label` (focuses a text field, as a finger would).
fn press(app: &App, label: &str) {
    let e = by_label(app, label);
    let p = e.absolute_position();
    let s = e.size();
    let position = slint::LogicalPosition::new(p.x + s.width / 2.0, p.y + s.height / 2.0);
    let w = app.ui.window();
    w.dispatch_event(WindowEvent::PointerMoved { position });
    w.dispatch_event(WindowEvent::PointerPressed {
        position,
        button: PointerEventButton::Left,
    });
    // A text area sits in a scroll view, which holds a press back briefly (drag or tap?).
    i_slint_backend_testing::mock_elapsed_time(std::time::Duration::from_millis(300));
    slint::platform::update_timers_and_animations();
    w.dispatch_event(WindowEvent::PointerReleased {
        position,
        button: PointerEventButton::Left,
    });
}

/// Write what the window shows to `path` (PNG).
fn save(app: &App, path: &str) {
    let snap = app.ui.window().take_snapshot().expect("snapshot");
    image::save_buffer(
        path,
        snap.as_bytes(),
        snap.width(),
        snap.height(),
        image::ColorType::Rgba8,
    )
    .unwrap();
}

fn keys(app: &App, letters: &str) {
    for c in letters.chars() {
        tap(app, &c.to_string());
    }
}

fn candidates(app: &App) -> Vec<String> {
    let m = app.ui.global::<KeyboardAdapter>().get_candidates();
    (0..m.row_count())
        .filter_map(|i| m.row_data(i))
        .map(|s| s.to_string())
        .collect()
}

fn keyboard_shown(app: &App) -> bool {
    ElementHandle::find_by_accessible_label(&app.ui, "Space")
        .next()
        .is_some()
}

/// Logged in, on the report screen, the keyboard on, the description focused.
fn report_description(dir: &std::path::Path) -> App {
    let app = open_app_sized(dir, "en", 1400);
    log_in(&app, PIN, "Unlock");
    app.ui.global::<KeyboardAdapter>().set_enabled(true);
    app.ctx.go(Screen::Report);
    let r = app.ui.global::<ReportAdapter>();
    r.invoke_select_main("02".into());
    r.invoke_select_sub("0201".into());
    assert!(!keyboard_shown(&app), "no keyboard without a focused field");
    press(&app, "What is the problem? *");
    assert!(keyboard_shown(&app), "the keyboard comes with the focus");
    assert_eq!(app.ui.global::<KeyboardAdapter>().get_mode(), "pinyin");
    app
}

fn description(app: &App) -> String {
    app.ui
        .global::<ReportAdapter>()
        .get_description()
        .to_string()
}

/// Logged in, editing a resident, the keyboard on, the name field focused.
fn name_field(dir: &std::path::Path) -> App {
    let app = open_app_sized(dir, "en", 1400);
    log_in(&app, PIN, "Unlock");
    app.ui.global::<KeyboardAdapter>().set_enabled(true);
    app.ctx.go(Screen::PersonEdit);
    app.ui.global::<PersonEditAdapter>().set_name("".into());
    assert!(!keyboard_shown(&app), "no keyboard without a focused field");
    press(&app, "Name *");
    assert!(keyboard_shown(&app), "the keyboard comes with the focus");
    assert_eq!(app.ui.global::<KeyboardAdapter>().get_mode(), "pinyin");
    app
}

fn name(app: &App) -> String {
    app.ui.global::<PersonEditAdapter>().get_name().to_string()
}

/// Tap candidate `text`, paging forward until it shows.
fn choose(app: &App, text: &str) {
    for _ in 0..50 {
        if candidates(app).iter().any(|c| c == text) {
            tap(app, text);
            return;
        }
        tap(app, "Next candidates");
    }
    panic!("{text} never offered");
}

#[test]
fn wangge_becomes_the_domain_word() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 100);
    let app = report_description(dir.path());
    keys(&app, "wangge");
    let kb = app.ui.global::<KeyboardAdapter>();
    assert_eq!(kb.get_preedit(), "wang'ge");
    assert_eq!(candidates(&app)[0], "网格");
    assert!(shows(&app, "wang'ge"), "the composition is on screen");
    assert_eq!(
        description(&app),
        "",
        "nothing in the field while composing"
    );
    tap(&app, "Space");
    assert_eq!(description(&app), "网格");
    assert_eq!(kb.get_preedit(), "");
    // Punctuation, then initials for a phrase, then a tapped candidate.
    tap(&app, "，");
    keys(&app, "xftd");
    assert_eq!(candidates(&app)[0], "消防通道");
    tap(&app, "消防通道");
    keys(&app, "chuzuwu");
    choose(&app, "出租屋");
    assert_eq!(description(&app), "网格，消防通道出租屋");
}

#[test]
fn a_name_with_a_rare_character_is_built_and_learned() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 100);
    let app = name_field(dir.path());
    keys(&app, "zhangzhe");
    assert!(!candidates(&app).contains(&"张喆".to_string()));
    // Paging: the first page is gone from the bar on the next.
    let first = candidates(&app);
    tap(&app, "Next candidates");
    let second = candidates(&app);
    assert!(second.iter().all(|c| !first.contains(c)));
    tap(&app, "Previous candidates");
    assert_eq!(candidates(&app), first);
    choose(&app, "张");
    assert_eq!(app.ui.global::<KeyboardAdapter>().get_preedit(), "张zhe");
    choose(&app, "喆");
    assert_eq!(name(&app), "张喆");
    // Learned: next time 张喆 is the first candidate, also for the initials.
    keys(&app, "zhangzhe");
    assert_eq!(candidates(&app)[0], "张喆");
    tap(&app, "Backspace");
    tap(&app, "Backspace");
    assert_eq!(app.ui.global::<KeyboardAdapter>().get_preedit(), "zhang'z");
    assert_eq!(candidates(&app)[0], "张喆");
    tap(&app, "Space");
    assert_eq!(name(&app), "张喆张喆");
    // The learned order is in the encrypted store.
    let stored = app
        .with_store(|s| s.kv(USER_MODEL_KEY).unwrap())
        .flatten()
        .expect("user model saved");
    assert!(stored.contains("张喆") && stored.contains("zhang zhe"));
    drop(app);
    let app = name_field(dir.path());
    keys(&app, "zz");
    assert_eq!(candidates(&app)[0], "张喆", "remembered across a restart");
}

#[test]
fn deletion_edits_the_composition_then_the_field() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 100);
    let app = report_description(dir.path());
    keys(&app, "wanggee");
    tap(&app, "Backspace");
    assert_eq!(app.ui.global::<KeyboardAdapter>().get_preedit(), "wang'ge");
    tap(&app, "Space");
    keys(&app, "ab");
    tap(&app, "Backspace");
    tap(&app, "Backspace");
    assert_eq!(description(&app), "网格", "composition gone, field intact");
    tap(&app, "Backspace");
    assert_eq!(description(&app), "网");
    // English letters and Enter without conversion.
    keys(&app, "gps");
    tap(&app, "Enter");
    assert_eq!(description(&app), "网gps");
    tap(&app, "Chinese (pinyin)");
    assert_eq!(app.ui.global::<KeyboardAdapter>().get_mode(), "english");
    tap(&app, "Shift");
    keys(&app, "A");
    keys(&app, "b");
    assert_eq!(description(&app), "网gpsAb");
}

#[test]
fn physical_letters_feed_the_composition() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 100);
    let app = report_description(dir.path());
    let w = app.ui.window();
    for c in "wangge ".chars() {
        let t: slint::SharedString = c.to_string().into();
        w.dispatch_event(WindowEvent::KeyPressed { text: t.clone() });
        w.dispatch_event(WindowEvent::KeyReleased { text: t });
    }
    assert_eq!(description(&app), "网格");
}

#[test]
fn id_numbers_get_the_numeric_pad_with_x() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 100);
    let app = open_app_sized(dir.path(), "en", 1400);
    log_in(&app, PIN, "Unlock");
    app.ui.global::<KeyboardAdapter>().set_enabled(true);
    app.ctx.go(Screen::PersonEdit);
    let p = app.ui.global::<PersonEditAdapter>();
    p.set_id_number("".into());
    p.set_phone("".into());
    p.set_name("".into());
    press(&app, "ID number (18 characters)");
    let kb = app.ui.global::<KeyboardAdapter>();
    assert_eq!(kb.get_mode(), "id");
    assert!(ElementHandle::find_by_accessible_label(&app.ui, "q")
        .next()
        .is_none());
    keys(&app, "1");
    assert_eq!(app.ui.global::<PersonEditAdapter>().get_id_number(), "1");
    keys(&app, "1010519491231002X");
    assert_eq!(
        app.ui.global::<PersonEditAdapter>().get_id_number(),
        "11010519491231002X"
    );
    press(&app, "Phone");
    assert_eq!(kb.get_mode(), "digits");
    keys(&app, "13800138000");
    assert_eq!(
        app.ui.global::<PersonEditAdapter>().get_phone(),
        "13800138000"
    );
    // Back to a name: pinyin again.
    press(&app, "Name *");
    assert_eq!(kb.get_mode(), "pinyin");
    keys(&app, "kun");
    choose(&app, "堃");
    assert_eq!(app.ui.global::<PersonEditAdapter>().get_name(), "堃");
}

fn shot(app: &App, name: &str) {
    if std::env::var_os("GRIDPAD_SKIP_SCREENSHOTS").is_some() {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    save(app, dir.join(name).to_str().unwrap());
}

/// `docs/screenshots/keyboard-*.png`: pinyin with candidates in a report's description,
/// the ID-number pad in the resident form (480×800, Chinese).
#[test]
fn keyboard_screenshots() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 100);
    let app = open_app(dir.path(), "zh_CN");
    log_in(&app, PIN, "解锁");
    app.ui.global::<KeyboardAdapter>().set_enabled(true);
    app.ctx.go(Screen::Report);
    let r = app.ui.global::<ReportAdapter>();
    r.invoke_select_main("02".into());
    r.invoke_select_sub("0201".into());
    r.invoke_set_field("blocked_by".into(), "杂物".into(), false);
    press(&app, "问题描述 *");
    assert!(keyboard_shown(&app));
    tap(&app, "Digits and symbols");
    keys(&app, "3");
    tap(&app, "Letters");
    keys(&app, "dong");
    choose(&app, "栋");
    keys(&app, "wangge");
    assert_eq!(candidates(&app)[0], "网格");
    assert_eq!(r.get_description(), "3栋");
    shot(&app, "keyboard-pinyin-zh-CN.png");

    app.ctx.go(Screen::PersonEdit);
    let p = app.ui.global::<PersonEditAdapter>();
    p.set_id_number("".into());
    press(&app, "身份证号（18位）");
    keys(&app, "11010519491231002");
    assert_eq!(app.ui.global::<KeyboardAdapter>().get_mode(), "id");
    shot(&app, "keyboard-numeric-id-zh-CN.png");
}

//! The real screens, driven through Slint's testing backend: what a grid worker does,
//! checked on the screen and in the encrypted store.

mod common;
use common::*;
use gridpad_core::model::{EventStatus, TaskStatus};
use gridpad_ui::{
    EnrollAdapter, HomeAdapter, LoginAdapter, Nav, ReportAdapter, ResidentAdapter,
    ResidentsAdapter, Screen, TaskAdapter,
};
use slint::{ComponentHandle, Model};

#[test]
fn log_in_with_a_wrong_then_the_right_pin() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 300);
    let app = open_app_sized(dir.path(), "en", 2400);
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Login);

    log_in(&app, "111111", "Unlock");
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Login);
    assert_eq!(
        app.ui.global::<LoginAdapter>().get_error_kind(),
        "wrong-pin"
    );
    assert!(
        shows(&app, "Wrong PIN. 4 attempts left"),
        "the wrong PIN is explained"
    );

    log_in(&app, PIN, "Unlock");
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Home);
    let grid = app
        .with_store(|s| s.home_grid().unwrap().unwrap().name)
        .expect("store open after login");
    assert_eq!(
        app.ui.global::<HomeAdapter>().get_grid_name(),
        grid.as_str()
    );
    assert!(shows(&app, &grid), "home shows my grid");
    assert!(shows(&app, "GNSS fix · accuracy 4 m · 14 satellites"));
}

#[test]
fn a_device_the_centre_locked_stops_at_the_login() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 100);
    {
        // The hub's lock arrived with the last sync.
        let mut s = gridpad_core::Store::open(dir.path(), PIN).unwrap();
        s.record_hub_contact(Some(gridpad_proto::wire::DeviceCommand::Lock))
            .unwrap();
    }
    let app = open_app_sized(dir.path(), "en", 2400);
    log_in(&app, PIN, "Unlock");
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Login);
    assert!(!app.ui.global::<Nav>().get_unlocked());
    assert!(
        shows(&app, "The command centre locked this device."),
        "the reason is on the screen"
    );
    assert!(
        app.with_store(|_| ()).is_none(),
        "nothing past the login: the store is not open to the screens"
    );
}

#[test]
fn the_login_screen_is_chinese_by_default() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 100);
    let app = open_app_sized(dir.path(), "zh_CN", 2400);
    log_in(&app, PIN, "解锁");
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Home);
    assert!(shows(&app, "上报事件"));
}

#[test]
fn the_report_form_says_a_deadline_in_working_days_or_hours_on_the_clock() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 100);
    for (lang, unlock, working, clock) in [
        ("zh_CN", "解锁", "5个工作日", "12小时"),
        ("en", "Unlock", "5 working days", "12 h"),
    ] {
        let app = open_app_sized(dir.path(), lang, 2400);
        log_in(&app, PIN, unlock);
        app.ctx.go(Screen::Report);
        let r = app.ui.global::<ReportAdapter>();
        r.invoke_select_main("10".into());
        r.invoke_select_sub("1002".into()); // 意见建议
        assert!(shows(&app, &format!("综治中心 · {working}")), "{lang}");
        r.invoke_select_main("04".into());
        r.invoke_select_sub("0402".into()); // 占道经营
        assert!(shows(&app, &format!(" · {clock}")), "{lang}");
    }
}

#[test]
fn report_an_event_with_a_photo() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 300);
    let app = open_app_sized(dir.path(), "en", 2400);
    log_in(&app, PIN, "Unlock");
    tap(&app, "Report event");
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Report);
    tap(&app, "消防安全");
    tap(&app, "消防通道堵塞");
    // The subcategory's own field, from the catalog data.
    assert!(shows(&app, "堵塞物 *"));
    tap(&app, "Submit report");
    assert!(
        shows(&app, "Fill in “堵塞物”."),
        "a missing required field is named"
    );
    tap(&app, "杂物");
    by_label(&app, "What is the problem? *")
        .set_accessible_value("3栋一楼楼道堆放杂物，堵塞消防通道");
    // The camera (a test-pattern camera: real JPEGs) through the evidence intake.
    tap(&app, "Take photo");
    let photos = app.ui.global::<ReportAdapter>().get_photos();
    assert_eq!(photos.row_count(), 1, "the photo just taken is offered");
    let row = photos.row_data(0).unwrap();
    assert!(row.attached, "and attached to the report");
    assert!(row.waiting, "not at the centre yet");
    let thumb = row.thumb.size();
    assert!(
        thumb.width >= 100 && thumb.height >= 75,
        "its thumbnail comes from the vault: {thumb:?}"
    );
    assert!(shows(&app, "attached"));
    let sha = row.sha.to_string();
    assert!(shows(&app, "GNSS fix · accuracy 4 m"));
    tap(&app, "Submit report");
    assert!(shows(
        &app,
        "Saved on this device. It will be sent when there is signal."
    ));

    let (event, outbox) = app
        .with_store(|s| {
            let id = s.events(10).unwrap()[0].id.clone();
            (s.event(&id).unwrap().unwrap(), s.outbox(10).unwrap())
        })
        .unwrap();
    assert_eq!(event.category_code, "0201");
    assert_eq!(event.description, "3栋一楼楼道堆放杂物，堵塞消防通道");
    assert_eq!(event.fields["blocked_by"], "杂物");
    assert_eq!(
        event.photos,
        vec![sha.clone()],
        "the photo reference is stored"
    );
    assert_eq!(event.status, EventStatus::Reported);
    // The photo itself: encrypted in the vault, named by its SHA-256, a JPEG within the
    // category's policy, stamped; the report is sealed with its photo hash.
    let (jpeg, seal) = app
        .with_store(|s| {
            let vault = gridpad_photo::Vault::open(s.dir(), s.photo_key()).unwrap();
            let seal = s.seals_after(0, 10).unwrap();
            (vault.read(&sha).unwrap(), seal)
        })
        .unwrap();
    assert_eq!(gridpad_photo::vault::sha256_hex(&jpeg), sha);
    let img = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).unwrap();
    assert_eq!((img.width(), img.height()), (800, 600));
    // On disk: sealed files only, none of them a readable JPEG.
    let mut gph = vec![];
    for shard in std::fs::read_dir(dir.path().join("photos"))
        .unwrap()
        .flatten()
    {
        if shard.path().is_dir() {
            for f in std::fs::read_dir(shard.path()).unwrap().flatten() {
                if f.path().extension().is_some_and(|x| x == "gph") {
                    gph.push(std::fs::read(f.path()).unwrap());
                }
            }
        }
    }
    assert!(gph.len() >= 2, "photo and thumbnail are in the vault");
    assert!(
        gph.iter().all(|b| !b.starts_with(&[0xff, 0xd8])),
        "no plain JPEG on disk"
    );
    assert_eq!(seal.len(), 1, "one seal");
    assert_eq!(seal[0].record_id, event.id);
    assert!(seal[0].body.contains(&sha), "the seal names the photo");
    let pos = event.position.unwrap();
    assert_eq!(pos.accuracy_m, Some(4.0));
    assert!(
        outbox.iter().any(|o| o.mutation.row_id == event.id),
        "queued for sync"
    );
}

#[test]
fn a_camera_that_fails_says_why_and_nothing_is_attached() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 100);
    // The device's camera saves into a folder; nothing new is there.
    let dcim = tempfile::tempdir().unwrap();
    let mut services = gridpad_ui::services::Services::fake(now());
    services.camera = Some(std::sync::Arc::new(gridpad_photo::camera::DirCamera::new(
        dcim.path(),
        std::time::SystemTime::now(),
    )));
    let app = open_app_with(dir.path(), "en", 2400, services);
    log_in(&app, PIN, "Unlock");
    tap(&app, "Report event");
    tap(&app, "消防安全");
    tap(&app, "消防通道堵塞");
    tap(&app, "Take photo");
    assert!(
        shows(&app, "No new picture: take one with the camera first"),
        "the reason is on the screen"
    );
    assert_eq!(app.ui.global::<ReportAdapter>().get_photos().row_count(), 0);
    // A corrupt file from the camera: refused clearly, nothing registered.
    std::fs::write(dcim.path().join("IMG_0001.JPG"), b"\xff\xd8\xff\xe0 broken").unwrap();
    tap(&app, "Take photo");
    assert!(
        shows(&app, "The camera's picture is damaged or not a photo"),
        "a corrupt picture is refused"
    );
    assert_eq!(app.ui.global::<ReportAdapter>().get_photos().row_count(), 0);
    let n = app
        .with_store(|s| s.queries().draft_photos(&[], 10).unwrap().len())
        .unwrap();
    assert_eq!(n, 0, "nothing registered");
}

#[test]
fn find_a_resident_by_a_two_character_name() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 1_500);
    let app = open_app_sized(dir.path(), "en", 2400);
    log_in(&app, PIN, "Unlock");
    // A resident with a two-character name, and how many share it.
    let (name, expected) = app
        .with_store(|s| {
            let people = s.queries().people_from(0, 500).unwrap();
            let p = people
                .iter()
                .find(|p| p.name.chars().count() == 2)
                .unwrap()
                .clone();
            let page = s.search_people(&p.name, 50, None).unwrap();
            (p.name, page.hits)
        })
        .unwrap();

    tap(&app, "Residents");
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Residents);
    assert_eq!(app.ui.global::<ResidentsAdapter>().get_total(), 1_500);
    let field = by_label(&app, "Name, address, ID or phone tail");
    field.set_accessible_value(name.as_str());
    let rows = app.ui.global::<ResidentsAdapter>().get_rows();
    assert!(rows.row_count() >= 1);
    assert_eq!(rows.row_data(0).unwrap().name, expected[0].name.as_str());
    assert!(shows(&app, "found"));

    tap(&app, &expected[0].name);
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::ResidentDetail);
    let person = app
        .with_store(|s| s.person(&expected[0].id).unwrap().unwrap())
        .unwrap();
    assert_eq!(
        app.ui.global::<ResidentAdapter>().get_name(),
        person.name.as_str()
    );
    if let Some(idn) = &person.id_number {
        let masked = gridpad_core::model::id_number::masked(idn);
        assert!(shows(&app, &masked), "the ID number is shown masked");
        assert!(!shows(&app, idn), "never in full");
    }
}

#[test]
fn complete_a_task_from_the_centre() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 300);
    {
        let mut s = gridpad_core::Store::open(dir.path(), PIN).unwrap();
        remote_task(
            &mut s,
            "t1",
            "核查3栋消防通道",
            "2026-11-19T08:00:00.000Z",
            "2026-11-20T04:00:00.000Z",
        );
    }
    let app = open_app_sized(dir.path(), "en", 2400);
    log_in(&app, PIN, "Unlock");
    assert!(
        shows(&app, "核查3栋消防通道"),
        "the task is due on the home screen"
    );
    // 18 of 20 hours used: red.
    assert!(shows(&app, "Urgent"));
    tap(&app, "核查3栋消防通道");
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::TaskDetail);
    tap(&app, "Accept");
    assert_eq!(app.ui.global::<TaskAdapter>().get_status(), "accepted");
    tap(&app, "Start");
    tap(&app, "Complete");
    assert!(shows(&app, "Write the feedback or the reason first."));
    by_label(&app, "Feedback (needed to complete; a reason to return)")
        .set_accessible_value("杂物已清理，通道畅通");
    tap(&app, "Photo of the result");
    let photos = app.ui.global::<TaskAdapter>().get_photos();
    assert_eq!(photos.row_count(), 1);
    let shot = photos.row_data(0).unwrap();
    assert!(
        shot.attached,
        "the photo of the result goes with the feedback"
    );
    tap(&app, "Complete");
    assert!(shows(
        &app,
        "Saved. The centre will see it after the next sync."
    ));
    assert_eq!(app.ui.global::<TaskAdapter>().get_status(), "completed");

    let (task, ops) = app
        .with_store(|s| {
            let t = s.queries().task("t1").unwrap().unwrap();
            let ops: Vec<String> = s
                .outbox(10)
                .unwrap()
                .into_iter()
                .map(|o| o.mutation.op.to_text())
                .collect();
            (t, ops)
        })
        .unwrap();
    assert_eq!(task.status, TaskStatus::Completed);
    assert_eq!(task.feedback, "杂物已清理，通道畅通");
    let waiting = app.with_store(|s| s.photos_to_upload(10).unwrap()).unwrap();
    assert_eq!(
        waiting
            .iter()
            .map(|p| p.sha256.as_str())
            .collect::<Vec<_>>(),
        vec![shot.sha.as_str()],
        "the feedback photo waits for upload with the task"
    );
    assert_eq!(
        ops,
        vec![
            "command:accept",
            "command:start",
            "insert", // the photo's record (size, time), before the feedback naming it
            "command:complete"
        ]
    );
}

#[test]
fn see_a_rejected_item_and_why() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 300);
    {
        let mut s = gridpad_core::Store::open(dir.path(), PIN).unwrap();
        let n = now();
        s.set_clock(move || n);
        s.add_person(gridpad_core::NewPerson {
            grid_id: None,
            house_id: None,
            name: "王堃".into(),
            id_number: None,
            phone: None,
            sex: gridpad_core::model::Sex::Male,
            birth_date: None,
            relation: gridpad_core::model::Relation::Other,
            residence_type: gridpad_core::model::ResidenceType::Registered,
            tags: vec![],
            note: String::new(),
        })
        .unwrap();
        let seq = s.outbox(1).unwrap()[0].mutation.seq as i64;
        s.queries()
            .reject_outbox_row_for_tests(seq, "invalid", "户籍地址与标准地址不一致")
            .unwrap();
    }
    let app = open_app_sized(dir.path(), "en", 2400);
    log_in(&app, PIN, "Unlock");
    assert!(shows(&app, "Rejected: 1"), "home shows the rejected count");
    tap(&app, "Sync status");
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Sync);
    assert!(shows(&app, "Resident · 王堃"));
    assert!(shows(&app, "Rejected: The centre found the data invalid"));
    assert!(shows(&app, "户籍地址与标准地址不一致"));
    assert!(shows(
        &app,
        "Open the record, correct it and save it again."
    ));
    let health = app
        .with_store(|s| s.queries().sync_health().unwrap())
        .unwrap();
    assert_eq!((health.rejected, health.pending), (1, 0));
}

#[test]
fn first_run_enrolls_and_creates_the_pin() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let app = open_app_sized(&data, "en", 2400);
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::FirstRun);
    let a = app.ui.global::<EnrollAdapter>();
    a.set_code("ZH-7731".into());
    a.set_pin("123456".into());
    a.set_pin2("123455".into());
    tap(&app, "Enroll and create PIN");
    assert!(shows(&app, "The two PINs differ."));
    a.set_pin2("123456".into());
    tap(&app, "Enroll and create PIN");
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Home);
    assert_eq!(
        app.with_store(|s| s.kv("enrollment_code").unwrap())
            .unwrap()
            .as_deref(),
        Some("ZH-7731")
    );
    drop(app);
    assert!(
        gridpad_core::Store::open(&data, "123456").is_ok(),
        "the new PIN opens the store"
    );
}

#[test]
fn escape_goes_back_and_f_keys_jump() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 100);
    let app = open_app_sized(dir.path(), "en", 2400);
    log_in(&app, PIN, "Unlock");
    let key = |k: slint::platform::Key| {
        let t: slint::SharedString = k.into();
        app.ui
            .window()
            .dispatch_event(slint::platform::WindowEvent::KeyPressed { text: t.clone() });
        app.ui
            .window()
            .dispatch_event(slint::platform::WindowEvent::KeyReleased { text: t });
    };
    key(slint::platform::Key::F4);
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Tasks);
    key(slint::platform::Key::F3);
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Residents);
    key(slint::platform::Key::Escape);
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Tasks);
    key(slint::platform::Key::Escape);
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Home);
}

#[test]
fn browse_from_a_building_to_its_houses_and_residents() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 300);
    let app = open_app_sized(dir.path(), "en", 2400);
    log_in(&app, PIN, "Unlock");
    tap(&app, "Base data");
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Places);
    let p = app.ui.global::<gridpad_ui::PlacesAdapter>();
    // Buildings as the store has them.
    let buildings = app
        .with_store(|s| s.queries().buildings(0, 1000).unwrap())
        .unwrap();
    assert!(!buildings.is_empty());
    assert_eq!(p.get_total() as usize, buildings.len());
    let b = &buildings[0];
    assert!(shows(&app, &b.title));
    // A building → its houses, each with its resident count from the store.
    by_label(&app, &b.title).invoke_accessible_default_action();
    assert_eq!(p.get_level(), "houses");
    let houses = app
        .with_store(|s| s.queries().houses_in(&b.id).unwrap())
        .unwrap();
    assert_eq!(p.get_rows().row_count(), houses.len());
    assert_eq!(houses.len() as i64, b.count);
    let h = houses
        .iter()
        .find(|h| h.count > 0)
        .expect("a lived-in house");
    by_label(&app, &h.title).invoke_accessible_default_action();
    assert_eq!(p.get_level(), "residents");
    assert!(
        shows(&app, &h.subtitle),
        "the house's address heads the list"
    );
    let people = app
        .with_store(|s| s.queries().residents_in(&h.id).unwrap())
        .unwrap();
    assert_eq!(people.len() as i64, h.count);
    // Lists never show a full ID number.
    for person in &people {
        let full = app
            .with_store(|s| s.person(&person.id).unwrap().unwrap().id_number)
            .unwrap();
        if let Some(full) = full {
            assert!(!shows(&app, &full), "full ID number on screen");
        }
    }
    // A resident opens the resident screen; back returns to the household.
    by_label(&app, &people[0].name).invoke_accessible_default_action();
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::ResidentDetail);
    app.ctx.back();
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Places);
    assert_eq!(p.get_level(), "residents");
    // Up twice: the houses, then the buildings; organisations and facilities from the store.
    p.invoke_up();
    assert_eq!(p.get_level(), "houses");
    p.invoke_up();
    assert_eq!(p.get_level(), "buildings");
    tap(&app, "Facilities");
    let n = app
        .with_store(|s| s.queries().facility_count().unwrap())
        .unwrap();
    assert_eq!(p.get_total() as i64, n);
    assert!(n > 0);
    tap(&app, "Units");
    let n = app
        .with_store(|s| s.queries().organisation_count().unwrap())
        .unwrap();
    assert_eq!(p.get_total() as i64, n);
}

//! The app against a real gridhub on loopback (real HTTP, real SQLite files on both sides):
//! first-run enrollment with a one-time code, the grid downloaded by the sync thread,
//! a report sent by "Sync now", and a wrong code that leaves nothing behind; a report
//! with a photo taken in the app arrives at the centre complete and sealed.

mod common;

use common::*;
use gridpad_core::demo::DemoSpec;
use gridpad_core::NewReport;
use gridpad_testkit::loopback::LoopbackHub;
use gridpad_ui::exec::Mode;
use gridpad_ui::hubsync::HubSync;
use gridpad_ui::services::Services;
use gridpad_ui::{App, AppConfig, EnrollAdapter, Nav, Screen, SyncAdapter};
use slint::ComponentHandle;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct TestHub {
    hub: Arc<gridhub::Hub>,
    url: String,
    home_grid: String,
    loopback: LoopbackHub,
    _dir: tempfile::TempDir,
}

/// The kit's gridhub on loopback, with a demo town of 300 residents.
fn start_hub() -> TestHub {
    let dir = tempfile::tempdir().unwrap();
    let loopback = LoopbackHub::start(
        dir.path(),
        DemoSpec {
            persons: 300,
            seed: 7,
        },
    );
    TestHub {
        hub: loopback.hub.clone(),
        url: loopback.url(),
        home_grid: loopback.grid.clone(),
        loopback,
        _dir: dir,
    }
}

fn app_with_hub_sync(dir: &std::path::Path) -> App {
    let mut services = Services::fake(now());
    services.clock = Arc::new(gridpad_ui::services::SystemClock);
    services.sync = Arc::new(HubSync::spawn(gridpad_sync::Config::default(), None));
    let app = App::new(AppConfig {
        data_dir: dir.to_path_buf(),
        device: Default::default(),
        services,
        mode: Mode::Inline,
        language: Some("en".into()),
        kdf_iterations: Some(FAST_KDF),
    })
    .unwrap();
    app.ui
        .window()
        .set_size(slint::PhysicalSize::new(480, 2400));
    app.ui.show().unwrap();
    app
}

/// Enroll on the first-run screen with a code the centre issued for 张网格员.
fn enroll(app: &App, hub: &TestHub) {
    let code = hub.loopback.issue_code("张网格员", "测试终端");
    let a = app.ui.global::<EnrollAdapter>();
    a.set_hub(hub.url.clone().into());
    a.set_code(code.into());
    a.set_pin("135790".into());
    a.set_pin2("135790".into());
    tap(app, "Enroll and create PIN");
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Home);
}

/// Wait (bounded) until `f` holds, letting the app's timers run.
fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(1_000));
    }
}

#[test]
fn first_run_enrolls_with_the_hub_and_the_grid_arrives() {
    init_backend();
    let hub = start_hub();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let app = app_with_hub_sync(&data);
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::FirstRun);
    let a = app.ui.global::<EnrollAdapter>();
    a.set_hub(hub.url.clone().into());
    a.set_pin("135790".into());
    a.set_pin2("135790".into());

    // A code the hub never issued: refused, and no store is left behind.
    a.set_code("AAAA-BBBB-CCCC".into());
    tap(&app, "Enroll and create PIN");
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::FirstRun);
    assert_eq!(a.get_error_kind(), "enroll");
    assert!(shows(&app, "Enrollment failed, nothing was kept"));
    assert!(!data.join(gridpad_core::db::DB_FILE).exists());
    assert!(!data.join(gridpad_core::keyring::KEY_FILE).exists());
    assert!(hub
        .hub
        .device_health(&gridhub::authz::Principal::cli())
        .unwrap()
        .is_empty());

    // The code from the centre: enrolled, and the sync thread downloads the grid.
    enroll(&app, &hub);
    let devices = hub
        .hub
        .device_health(&gridhub::authz::Principal::cli())
        .unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].user, "张网格员");
    wait_for("the grid to arrive", || {
        app.with_store(|s| s.counts().unwrap().persons).unwrap_or(0) >= 300
            && app.ctx.services.sync.status().error.is_none()
            && !app.ctx.services.sync.status().running
    });
    assert_eq!(
        app.with_store(|s| s.home_grid().unwrap().map(|g| g.id))
            .unwrap()
            .as_deref(),
        Some(hub.home_grid.as_str())
    );

    // A report made on the device reaches the centre with "Sync now".
    let id = app
        .with_store(|s| {
            s.report_event(NewReport {
                category_code: "0401".into(),
                description: "楼道堆放杂物，堵塞消防通道".into(),
                reporter: "张网格员".into(),
                ..Default::default()
            })
        })
        .unwrap()
        .unwrap();
    tap(&app, "Sync status"); // the home screen's sync card
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Sync);
    assert_eq!(app.ui.global::<SyncAdapter>().get_info().pending, 1);
    tap(&app, "Sync now");
    wait_for("the report to reach the hub", || {
        hub.hub
            .row(gridpad_proto::Entity::Event, &id)
            .unwrap()
            .is_some()
    });
    wait_for("the sync screen to show nothing waiting", || {
        let info = app.ui.global::<SyncAdapter>().get_info();
        info.pending == 0 && !info.last_sync.is_empty()
    });
    assert!(shows(&app, "Last sync:"));
    assert!(shows(&app, "Hub reachable"));
}

#[test]
fn a_photo_taken_in_the_app_reaches_the_centre_with_its_sealed_report() {
    init_backend();
    let hub = start_hub();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let app = app_with_hub_sync(&data);
    enroll(&app, &hub);
    wait_for("the grid to arrive", || {
        app.with_store(|s| s.counts().unwrap().persons).unwrap_or(0) >= 300
            && !app.ctx.services.sync.status().running
    });

    // Report with a photo from the camera, on the screens.
    tap(&app, "Report event");
    tap(&app, "市容环境");
    let sub = app
        .ui
        .global::<gridpad_ui::ReportAdapter>()
        .get_sub_categories();
    let first = slint::Model::row_data(&sub, 0).unwrap();
    tap(&app, first.name.as_str());
    by_label(&app, "What is the problem? *").set_accessible_value("垃圾桶满溢，周边脏乱");
    tap(&app, "Take photo");
    let photos = app.ui.global::<gridpad_ui::ReportAdapter>().get_photos();
    let sha = slint::Model::row_data(&photos, 0).unwrap().sha.to_string();
    // Required fields of the subcategory, if any, get a value.
    for f in slint::Model::iter(&app.ui.global::<gridpad_ui::ReportAdapter>().get_fields()) {
        if f.required {
            let v = match f.kind.as_str() {
                "choice" => slint::Model::row_data(&f.choices, 0).unwrap().to_string(),
                "int" => "1".into(),
                _ => "现场".into(),
            };
            app.ui
                .global::<gridpad_ui::ReportAdapter>()
                .invoke_set_field(f.key.clone(), v.into(), true);
        }
    }
    tap(&app, "Submit report");
    assert!(shows(&app, "Saved on this device."), "saved");
    let id = app
        .with_store(|s| s.events(1).unwrap()[0].id.clone())
        .unwrap();

    // The sync thread sends the report, its seal, then the photo.
    app.ctx.services.sync.sync_now();
    let evidence = || {
        hub.hub
            .row(gridpad_proto::Entity::Event, &id)
            .unwrap()
            .map(|row| hub.hub.event_evidence(&row).unwrap())
    };
    wait_for("the photo to reach the hub", || {
        evidence().is_some_and(|ev| ev.complete)
    });
    wait_for("the evidence step to end", || {
        !app.ctx.services.sync.status().running
            && app
                .with_store(|s| s.photos_to_upload(10).unwrap().is_empty())
                .unwrap_or(false)
    });
    let ev = evidence().expect("the report is at the hub");
    let row = hub
        .hub
        .row(gridpad_proto::Entity::Event, &id)
        .unwrap()
        .unwrap();
    assert_eq!(
        row.fields["reporter"], "张网格员",
        "reported in the name of the user the device was enrolled for"
    );
    assert_eq!(ev.photos_expected, 1, "{ev:?}");
    assert_eq!(ev.photos, vec![sha.clone()], "{ev:?}");
    assert_eq!(ev.photos_received, 1, "{ev:?}");
    assert!(ev.complete, "{ev:?}");
    assert!(ev.sealed_ok, "{ev:?}");
    tap(&app, "Back");
    tap(&app, "Sync status");
    assert_eq!(app.ui.global::<SyncAdapter>().get_info().photos_waiting, 0);
}

/// A provisioned handheld's first run: the card's hub and code are filled in, the user
/// only chooses the PIN, the app enrolls with the card and its code is used up.
#[test]
fn a_provisioned_first_run_enrolls_with_the_card() {
    use gridpad_config::provision::{Provision, FORMAT};
    init_backend();
    let hub = start_hub();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let code = hub.loopback.issue_code("李网格员", "dc-007");
    Provision {
        format: FORMAT,
        device_label: "dc-007".into(),
        hub_url: hub.url.clone(),
        enrollment_code: Some(code.clone()),
        holder: "李网格员".into(),
        grid_code: "1".into(),
        ..Default::default()
    }
    .write(&data)
    .unwrap();
    let app = app_with_hub_sync(&data);
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::FirstRun);
    let a = app.ui.global::<EnrollAdapter>();
    assert_eq!(a.get_hub().as_str(), hub.url);
    assert_eq!(a.get_code().as_str(), code);
    a.set_pin("135790".into());
    a.set_pin2("135790".into());
    tap(&app, "Enroll and create PIN");
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Home);
    let devices = hub
        .hub
        .device_health(&gridhub::authz::Principal::cli())
        .unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].user, "李网格员");
    assert_eq!(devices[0].label, "dc-007");
    let card = Provision::read(&data).unwrap().unwrap();
    assert_eq!(card.code(), None, "the code is used up");
    assert!(!std::fs::read_to_string(data.join("provision.toml"))
        .unwrap()
        .contains(&code));
}

#![allow(dead_code)]
//! Shared set-up for the UI tests: a demo store on disk, the real app on Slint's testing
//! backend (software renderer, mock time), inline store jobs, fake services.

use chrono::{DateTime, TimeZone, Utc};
use gridpad_core::{RemoteChange, Store};
use gridpad_proto::{Entity, Fields, Hlc, Op};
use gridpad_testkit::store as kit;
use gridpad_ui::exec::Mode;
use gridpad_ui::services::Services;
use gridpad_ui::{App, AppConfig};
use i_slint_backend_testing::{ElementHandle, ElementQuery, TestingBackend, TestingBackendOptions};
use slint::ComponentHandle;
use std::path::Path;

#[allow(unused_imports)] // not every test file needs the device id
pub use kit::{DEVICE, FAST_KDF, PIN};

/// 2026-11-20 10:00 Beijing time.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap()
}

/// The testing backend for this test thread, rendering with the software renderer.
pub fn init_backend() {
    slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: false,
        renderer_name: Some("software".into()),
    })))
    .expect("platform already set on this thread");
}

/// The kit's device store with the demo town (seed 42) loaded at [`now`].
pub fn demo_store(dir: &Path, persons: usize) {
    let mut s = kit::new_store(dir);
    let n = now();
    s.set_clock(move || n);
    kit::load_demo(&mut s, persons, 42);
}

pub fn fields(v: serde_json::Value) -> Fields {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A task from the centre, as sync would apply it.
pub fn remote_task(s: &mut Store, id: &str, title: &str, created: &str, deadline: &str) {
    let grid = s.home_grid().unwrap().unwrap();
    s.apply_remote(&[RemoteChange {
        entity: Entity::Task,
        row_id: id.into(),
        op: Op::Insert,
        fields: fields(serde_json::json!({
            "grid_id": grid.id, "title": title, "status": "assigned",
            "body": "群众反映楼道堆放杂物，请核实并督促清理。",
            "created_at": created, "deadline_at": deadline, "category_code": "0201"
        })),
        hlc: Hlc::new(1, 0, "hub"),
    }])
    .unwrap();
}

/// The app in a 480×800 window (what the screenshots show).
pub fn open_app(dir: &Path, lang: &str) -> App {
    open_app_sized(dir, lang, 800)
}

/// The app in a 480-wide window of `height` (UI tests use a tall one: the testing backend
/// finds only elements inside the visible area, and tests should not depend on scrolling).
pub fn open_app_sized(dir: &Path, lang: &str, height: u32) -> App {
    open_app_with(dir, lang, height, Services::fake(now()))
}

/// [`open_app_sized`] with these services (another camera, GNSS …).
pub fn open_app_with(dir: &Path, lang: &str, height: u32, services: Services) -> App {
    let app = App::new(AppConfig {
        data_dir: dir.to_path_buf(),
        device: Default::default(),
        services,
        mode: Mode::Inline,
        language: Some(lang.into()),
        kdf_iterations: Some(FAST_KDF),
    })
    .unwrap();
    app.ui
        .window()
        .set_size(slint::PhysicalSize::new(480, height));
    app.ui.show().unwrap();
    app
}

/// The first element whose accessible label is exactly `label`.
pub fn by_label(app: &App, label: &str) -> ElementHandle {
    let found: Vec<_> = ElementHandle::find_by_accessible_label(&app.ui, label).collect();
    // Prefer the control over the text inside it.
    let control = found.iter().find(|e| {
        e.accessible_role()
            .is_some_and(|r| r != i_slint_backend_testing::AccessibleRole::Text)
    });
    control
        .cloned()
        .or_else(|| found.into_iter().next())
        .unwrap_or_else(|| panic!("nothing labelled {label:?} on screen"))
}

/// Whether some element's accessible label contains `part`.
pub fn shows(app: &App, part: &str) -> bool {
    let part = part.to_string();
    ElementQuery::from_root(&app.ui)
        .match_descendants()
        .match_predicate(move |e| {
            e.accessible_label()
                .is_some_and(|l| l.contains(part.as_str()))
                || e.accessible_value()
                    .is_some_and(|v| v.contains(part.as_str()))
        })
        .find_first()
        .is_some()
}

pub fn tap(app: &App, label: &str) {
    by_label(app, label).invoke_accessible_default_action();
}

/// Type a PIN on the login pad and unlock.
pub fn log_in(app: &App, pin: &str, unlock_label: &str) {
    for d in pin.chars() {
        tap(app, &d.to_string());
    }
    tap(app, unlock_label);
}

/// A grid with a bit of everything: due tasks in every colour, events with their
/// lifecycle, notices, a rejected change, a conflict, a patrol, visits.
pub fn living_grid(dir: &Path, persons: usize) {
    demo_store(dir, persons);
    let mut s = Store::open(dir, PIN).unwrap();
    let n = now();
    s.set_clock(move || n);
    remote_task(
        &mut s,
        "t1",
        "核查3栋消防通道",
        "2026-11-19T08:00:00.000Z",
        "2026-11-20T08:00:00.000Z",
    );
    remote_task(
        &mut s,
        "t2",
        "走访独居老人，了解取暖情况",
        "2026-11-20T00:00:00.000Z",
        "2026-11-23T00:00:00.000Z",
    );
    remote_task(
        &mut s,
        "t3",
        "排查沿街商铺燃气安全",
        "2026-11-18T00:00:00.000Z",
        "2026-11-19T12:00:00.000Z",
    );
    remote_task(
        &mut s,
        "t4",
        "核实新增出租屋信息",
        "2026-11-19T00:00:00.000Z",
        "2026-11-21T00:00:00.000Z",
    );
    let grid = s.home_grid().unwrap().unwrap();
    s.apply_remote(&[
        RemoteChange {
            entity: Entity::Notice,
            row_id: "n1".into(),
            op: Op::Insert,
            fields: fields(serde_json::json!({
                "title": "关于开展冬季消防安全排查的通知",
                "body": "请各网格于11月30日前完成辖区出租屋、沿街商铺消防安全排查，发现隐患及时上报。",
                "published_at": "2026-11-19T01:00:00.000Z"
            })),
            hlc: Hlc::new(2, 0, "hub"),
        },
        RemoteChange {
            entity: Entity::Notice,
            row_id: "n2".into(),
            op: Op::Insert,
            fields: fields(serde_json::json!({
                "title": "寒潮预警",
                "body": "本周末有强冷空气，请重点关注独居老人、困难群众。",
                "published_at": "2026-11-18T01:00:00.000Z"
            })),
            hlc: Hlc::new(3, 0, "hub"),
        },
    ])
    .unwrap();
    let _ = grid;
    let sha = "c3".repeat(32);
    s.register_photo(&sha, 204_800, "image/jpeg", Some(1600), Some(1200))
        .unwrap();
    let mut report = gridpad_core::NewReport {
        category_code: "0201".into(),
        description: "3栋一楼楼道堆放杂物，堵塞消防通道".into(),
        address_text: "城河路18号3栋".into(),
        fields: serde_json::json!({"blocked_by": "杂物"})
            .as_object()
            .unwrap()
            .clone(),
        photos: vec![sha],
        position: Some(gridpad_core::model::Position::manual(
            29.9493,
            121.7131,
            Some(4.0),
        )),
        reporter: "网格员".into(),
        ..Default::default()
    };
    let e1 = s.report_event(report.clone()).unwrap();
    report.category_code = "0301".into();
    report.description = "路灯不亮，夜间行人不便".into();
    report.fields = Default::default();
    report.photos = vec![];
    let cat = s.category("0301").unwrap();
    if let Some(c) = cat {
        for f in c.fields.iter().filter(|f| f.required) {
            let v = match f.kind.as_str() {
                "int" => serde_json::json!(1),
                "bool" => serde_json::json!(true),
                "choice" => serde_json::json!(f.choices[0]),
                _ => serde_json::json!("路灯"),
            };
            report.fields.insert(f.key.clone(), v);
        }
    }
    let _e2 = s.report_event(report).unwrap();
    let step = |status: &str, at: &str, note: &str, n: u16| RemoteChange {
        entity: Entity::Event,
        row_id: e1.clone(),
        op: Op::Command("transition".into()),
        fields: fields(
            serde_json::json!({"status": status, "actor": "镇海区综治中心", "note": note, "at": at}),
        ),
        hlc: Hlc::new(9_999_999_999_999, n, "hub"),
    };
    s.apply_remote(&[
        step("accepted", "2026-11-20T01:45:00.000Z", "", 1),
        step(
            "dispatched",
            "2026-11-20T01:50:00.000Z",
            "派遣至消防救援站",
            2,
        ),
    ])
    .unwrap();
    let pid = s
        .add_person(gridpad_core::NewPerson {
            grid_id: None,
            house_id: None,
            name: "李昇".into(),
            id_number: None,
            phone: Some("13800000000".into()),
            sex: gridpad_core::model::Sex::Female,
            birth_date: None,
            relation: gridpad_core::model::Relation::Other,
            residence_type: gridpad_core::model::ResidenceType::Floating,
            tags: vec![],
            note: String::new(),
        })
        .unwrap();
    let seq = s
        .outbox(100)
        .unwrap()
        .into_iter()
        .find(|o| o.mutation.row_id == pid)
        .unwrap()
        .mutation
        .seq as i64;
    s.queries()
        .reject_outbox_row_for_tests(seq, "invalid", "户籍地址与标准地址不一致")
        .unwrap();
    let some_person = s.search_people("王", 1, None).unwrap().hits[0].id.clone();
    s.queries()
        .add_conflict_for_tests(
            "person",
            &some_person,
            "phone",
            "13800000000",
            "139****2222",
            "镇海区综治中心",
        )
        .unwrap();
    let patrol = s.start_patrol().unwrap();
    s.checkin(
        Some(&patrol),
        "幸福社区服务站",
        gridpad_core::model::Inside::Inside,
        gridpad_core::model::Position::manual(29.9493, 121.7131, Some(5.0)),
    )
    .unwrap();
    s.add_visit(gridpad_core::NewVisit {
        house_id: None,
        person_id: Some(some_person),
        kind: gridpad_core::model::VisitKind::InHome,
        topic: "冬季取暖".into(),
        note: "身体状况良好".into(),
        position: None,
        corrected_time: None,
    })
    .unwrap();
    s.add_diary("城河路积水已排净，居民反映良好。", None)
        .unwrap();
}

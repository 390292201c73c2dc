//! Adding and editing houses and organisations through the real screens (Slint testing backend,
//! software renderer), checked on the screen and in the encrypted store.

mod common;
use common::*;
use gridpad_core::model::{HouseUse, Tenure};
use gridpad_proto::{Entity, Op};
use gridpad_ui::{HouseEditAdapter, Nav, OrganisationEditAdapter, PlacesAdapter, Screen};
use i_slint_backend_testing::{AccessibleRole, ElementQuery};
use slint::platform::{Key, PointerEventButton, WindowEvent};
use slint::{ComponentHandle, Model};

fn key(app: &gridpad_ui::App, k: Key) {
    let t: slint::SharedString = k.into();
    let w = app.ui.window();
    w.dispatch_event(WindowEvent::KeyPressed { text: t.clone() });
    w.dispatch_event(WindowEvent::KeyReleased { text: t });
}

/// Tap the middle of the element labelled `label`, as a finger would (focuses a field).
fn press(app: &gridpad_ui::App, label: &str) {
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
    i_slint_backend_testing::mock_elapsed_time(std::time::Duration::from_millis(300));
    slint::platform::update_timers_and_animations();
    w.dispatch_event(WindowEvent::PointerReleased {
        position,
        button: PointerEventButton::Left,
    });
}

fn type_into(app: &gridpad_ui::App, label: &str, text: &str) {
    by_label(app, label).set_accessible_value(text);
}

/// Every button and choice on screen is at least 48 px high (gloves).
fn targets_are_big(app: &gridpad_ui::App) {
    let small: Vec<String> = ElementQuery::from_root(&app.ui)
        .match_descendants()
        .match_predicate(|e| {
            matches!(
                e.accessible_role(),
                Some(AccessibleRole::Button | AccessibleRole::ListItem)
            ) && e.size().height < 48.0
        })
        .find_all()
        .into_iter()
        .map(|e| e.accessible_label().unwrap_or_default().to_string())
        .collect();
    assert!(small.is_empty(), "touch targets under 48 px: {small:?}");
}

fn outbox_len(app: &gridpad_ui::App) -> i64 {
    app.with_store(|s| s.outbox_len().unwrap()).unwrap()
}

#[test]
fn add_a_house_to_a_building_then_edit_it_from_the_household() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 300);
    let app = open_app_sized(dir.path(), "en", 2400);
    log_in(&app, PIN, "Unlock");
    tap(&app, "Base data");
    let p = app.ui.global::<PlacesAdapter>();
    let b = app
        .with_store(|s| s.queries().buildings(0, 1).unwrap().remove(0))
        .unwrap();
    let floors: i64 = app
        .with_store(|s| {
            s.conn()
                .query_row("SELECT floors FROM building WHERE id = ?", [&b.id], |r| {
                    r.get(0)
                })
                .unwrap()
        })
        .unwrap();
    tap(&app, &b.title);
    assert_eq!(p.get_level(), "houses");
    let houses_before = p.get_rows().row_count();

    tap(&app, "Add house");
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::HouseEdit);
    assert!(shows(&app, "Building: "), "the building heads the form");
    assert!(shows(&app, &b.title));
    targets_are_big(&app);
    let before = outbox_len(&app);

    // Mistakes first: no house number, an area of 0, a floor the building does not have.
    type_into(&app, "Area (m²)", "0");
    type_into(&app, "Floor", &(floors + 1).to_string());
    tap(&app, "Save");
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::HouseEdit);
    assert!(shows(&app, "Enter the house number."));
    assert!(shows(&app, "An area above 0 and at most 10,000 m²."));
    assert!(shows(&app, "Not saved: correct the marked fields."));
    assert_eq!(outbox_len(&app), before, "nothing written");
    // The floor needs the store (the building's height): it answers after the rest is right.
    type_into(&app, "House number *", "9901");
    type_into(&app, "Area (m²)", "76.5");
    tap(&app, "Save");
    assert!(shows(&app, "The building has fewer floors."));
    assert!(!shows(&app, "Enter the house number."));
    assert_eq!(outbox_len(&app), before, "nothing written");

    // Put right; saved with Enter in a field, as on a keypad.
    type_into(&app, "Entrance (单元)", "3单元");
    type_into(&app, "Floor", &floors.to_string());
    tap(&app, "Rented");
    tap(&app, "Private");
    press(&app, "Area (m²)");
    key(&app, Key::Return);

    // Back at the building's houses, the new one among them, as the store has it.
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Places);
    assert_eq!(p.get_level(), "houses");
    assert_eq!(p.get_rows().row_count(), houses_before + 1);
    assert!(shows(&app, "3单元 9901"));
    let (house, m) = app
        .with_store(|s| {
            let id = s
                .queries()
                .houses_in(&b.id)
                .unwrap()
                .into_iter()
                .find(|h| h.title == "3单元 9901")
                .unwrap()
                .id;
            (
                s.house(&id).unwrap().unwrap(),
                s.outbox(10_000).unwrap().pop().unwrap().mutation,
            )
        })
        .unwrap();
    assert_eq!(house.building_id.as_deref(), Some(b.id.as_str()));
    assert_eq!(
        (house.floor, house.area_m2, house.use_, house.tenure),
        (
            Some(floors),
            Some(76.5),
            HouseUse::Rented,
            Some(Tenure::Private)
        )
    );
    assert!(house.full_address.ends_with("3单元9901室"));
    assert_eq!((m.entity, m.op), (Entity::House, Op::Insert));
    assert_eq!(m.row_id, house.id);
    assert_eq!(outbox_len(&app), before + 1);

    // The household shows the house; Edit changes the area alone.
    tap(&app, "3单元 9901");
    assert_eq!(p.get_level(), "residents");
    assert!(shows(&app, &house.full_address));
    assert!(shows(&app, "76.5 m²"));
    assert!(shows(&app, "Private"));
    tap(&app, "Edit house");
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::HouseEdit);
    let h = app.ui.global::<HouseEditAdapter>();
    assert_eq!(h.get_room(), "9901");
    assert_eq!(h.get_area(), "76.5");
    assert_eq!(h.get_tenure(), "private");
    type_into(&app, "Area (m²)", "80");
    tap(&app, "Save");
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Places);
    assert_eq!(p.get_level(), "residents");
    assert!(shows(&app, "80 m²"));
    let m = app
        .with_store(|s| s.outbox(10_000).unwrap().pop().unwrap().mutation)
        .unwrap();
    assert_eq!((m.entity, m.op), (Entity::House, Op::Update));
    assert_eq!(
        serde_json::to_value(&m.fields).unwrap(),
        serde_json::json!({"area_m2": 80.0}),
        "only the changed field travels"
    );

    // Escape leaves the form without saving.
    tap(&app, "Edit house");
    type_into(&app, "Area (m²)", "99");
    key(&app, Key::Escape);
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Places);
    assert_eq!(outbox_len(&app), before + 2);
    assert_eq!(
        app.with_store(|s| s.house(&house.id).unwrap().unwrap().area_m2)
            .unwrap(),
        Some(80.0)
    );
}

/// Logged in, on the detail of the first organisation in the list.
fn open_an_organisation(app: &gridpad_ui::App) -> gridpad_core::model::Organisation {
    log_in(app, PIN, "Unlock");
    tap(app, "Base data");
    tap(app, "Units");
    let p = app.ui.global::<PlacesAdapter>();
    assert_eq!(p.get_level(), "units");
    let first = p.get_rows().row_data(0).unwrap();
    let organisation = app
        .with_store(|s| s.organisation(&first.id).unwrap().unwrap())
        .unwrap();
    tap(app, &first.title);
    assert_eq!(p.get_level(), "unit");
    organisation
}

#[test]
fn rename_an_organisation_from_its_detail() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 300);
    let app = open_app_sized(dir.path(), "en", 2400);
    let organisation = open_an_organisation(&app);
    // The detail: the credit code in full, the contact's phone masked.
    assert!(shows(&app, organisation.licence_no.as_deref().unwrap()));
    let phone = organisation.contact_phone.clone().unwrap();
    assert!(shows(&app, &gridpad_core::model::masked_phone(&phone)));
    assert!(!shows(&app, &phone));
    let before = outbox_len(&app);

    tap(&app, "Edit unit");
    assert_eq!(
        app.ui.global::<Nav>().get_current(),
        Screen::OrganisationEdit
    );
    targets_are_big(&app);
    let u = app.ui.global::<OrganisationEditAdapter>();
    assert_eq!(u.get_name(), organisation.name.as_str());
    assert!(shows(&app, "✓ Check character correct"));
    type_into(&app, "Unit name *", "城河路喆诚汽修");
    tap(&app, "Save");

    // Back on the detail, under the new name.
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Places);
    assert_eq!(app.ui.global::<PlacesAdapter>().get_level(), "unit");
    assert!(shows(&app, "城河路喆诚汽修"));
    let (now, m, by_new, by_old) = app
        .with_store(|s| {
            (
                s.organisation(&organisation.id).unwrap().unwrap(),
                s.outbox(10_000).unwrap().pop().unwrap().mutation,
                s.search_organisations("喆诚汽修", 10, None).unwrap().hits,
                s.search_organisations(&organisation.name, 10, None)
                    .unwrap()
                    .hits,
            )
        })
        .unwrap();
    assert_eq!(now.name, "城河路喆诚汽修");
    assert_eq!(now.licence_no, organisation.licence_no);
    assert_eq!(outbox_len(&app), before + 1);
    assert_eq!((m.entity, m.op), (Entity::Organisation, Op::Update));
    assert_eq!(
        serde_json::to_value(&m.fields).unwrap(),
        serde_json::json!({"name": "城河路喆诚汽修"})
    );
    assert!(
        by_new.iter().any(|h| h.id == organisation.id),
        "found by the new name"
    );
    assert!(
        !by_old.iter().any(|h| h.id == organisation.id),
        "not found by the old name"
    );
    // Up (the header's back arrow): the list shows the new name too.
    app.ui.global::<PlacesAdapter>().invoke_up();
    assert_eq!(app.ui.global::<PlacesAdapter>().get_level(), "units");
    assert!(shows(&app, "城河路喆诚汽修"));
}

#[test]
fn an_invalid_credit_code_is_marked_and_nothing_is_written() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 300);
    let app = open_app_sized(dir.path(), "en", 2400);
    let organisation = open_an_organisation(&app);
    let before = outbox_len(&app);
    tap(&app, "Edit unit");
    let code = organisation.licence_no.clone().unwrap();
    // The last character changed: a typo the check character catches as it is typed.
    let last = code.chars().last().unwrap();
    let typo = format!("{}{}", &code[..17], if last == '0' { '1' } else { '0' });
    type_into(&app, "Unit name *", "改名后的单位");
    type_into(&app, "Unified social credit code (18 characters)", &typo);
    assert!(shows(&app, "✗ Check character wrong — a typo?"));
    tap(&app, "Save");
    assert_eq!(
        app.ui.global::<Nav>().get_current(),
        Screen::OrganisationEdit
    );
    assert_eq!(
        app.ui
            .global::<OrganisationEditAdapter>()
            .get_credit_error(),
        "bad-check"
    );
    assert!(shows(&app, "Not saved: correct the marked fields."));
    assert_eq!(outbox_len(&app), before, "nothing written");
    assert_eq!(
        app.with_store(|s| s.organisation(&organisation.id).unwrap().unwrap())
            .unwrap(),
        organisation,
        "the unit is as it was"
    );
    // Letters a credit code never has.
    type_into(
        &app,
        "Unified social credit code (18 characters)",
        "91330211MA2IO0000S",
    );
    tap(&app, "Save");
    assert!(shows(
        &app,
        "Letters I, O, S, V, Z and signs are not used in a credit code."
    ));
    assert_eq!(outbox_len(&app), before);
    // Cancel leaves the organisation unchanged.
    tap(&app, "Cancel");
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Places);
    assert!(shows(&app, &organisation.name));
    assert_eq!(outbox_len(&app), before);
}

#[test]
fn add_an_organisation_from_the_organisations_list() {
    init_backend();
    let dir = tempfile::tempdir().unwrap();
    demo_store(dir.path(), 300);
    let app = open_app_sized(dir.path(), "zh_CN", 2400);
    log_in(&app, PIN, "解锁");
    tap(&app, "基础数据");
    tap(&app, "单位");
    let p = app.ui.global::<PlacesAdapter>();
    let total = p.get_total();
    tap(&app, "新增单位");
    assert_eq!(
        app.ui.global::<Nav>().get_current(),
        Screen::OrganisationEdit
    );
    tap(&app, "保存");
    assert!(
        shows(&app, "请输入单位名称。"),
        "the empty name is marked in Chinese"
    );
    type_into(&app, "单位名称 *", "幸福社区老年食堂");
    tap(&app, "社会组织");
    type_into(&app, "统一社会信用代码（18位）", "91440300708461136T");
    type_into(&app, "法人/负责人", "李昇");
    type_into(&app, "电话", "0574-86001234");
    tap(&app, "保存");
    assert_eq!(app.ui.global::<Nav>().get_current(), Screen::Places);
    assert_eq!(p.get_total(), total + 1);
    let hit = app
        .with_store(|s| s.search_organisations("老年食堂", 5, None).unwrap().hits)
        .unwrap();
    assert_eq!(hit.len(), 1);
    let o = app
        .with_store(|s| s.organisation(&hit[0].id).unwrap().unwrap())
        .unwrap();
    assert_eq!(o.kind, gridpad_core::model::OrgKind::SocialOrg);
    assert_eq!(o.contact_phone.as_deref(), Some("0574-86001234"));
    assert_eq!(o.contact_name.as_deref(), Some("李昇"));
}

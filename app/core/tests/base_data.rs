//! Adding and editing houses and organisations on a real encrypted store: the forms' checks, what
//! the outbox records (only changed fields), and the search index following each edit.

use gridpad_core::model::{HouseUse, OrgKind, Tenure};
use gridpad_core::{Error, FormProblem, HouseDraft, OrganisationDraft, Store};
use gridpad_proto::{Entity, Op};
use gridpad_testkit::store::*;
use serde_json::json;

/// A building of the demo grid: (id, floors, grid id, heading "…号3栋").
fn a_building(s: &Store) -> (String, i64, String, String) {
    s.conn()
        .query_row(
            "SELECT b.id, b.floors, b.grid_id, coalesce(a.full_text, '') || b.name
             FROM building b LEFT JOIN address a ON a.id = b.address_id ORDER BY b.rowid LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap()
}

fn problems(e: Error) -> Vec<String> {
    match e {
        Error::Form(p) => p.iter().map(FormProblem::to_string).collect(),
        other => panic!("expected a form error, got {other}"),
    }
}

fn last_outbox(s: &Store) -> gridpad_proto::Mutation {
    s.outbox(10_000).unwrap().pop().unwrap().mutation
}

#[test]
fn a_new_house_joins_its_building_with_an_address_made_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 300);
    let (b, floors, grid, heading) = a_building(&s);
    let before = s.counts().unwrap();
    let id = s
        .add_house(&HouseDraft {
            stairwell: "3单元".into(),
            room: "9901".into(),
            floor: Some(floors),
            use_: HouseUse::Rented,
            tenure: Some(Tenure::Private),
            area_m2: Some(76.5),
            ..HouseDraft::new(Some(b.clone()))
        })
        .unwrap();
    let h = s.house(&id).unwrap().unwrap();
    assert_eq!(h.full_address, format!("{heading}3单元9901室"));
    assert_eq!(h.building_id.as_deref(), Some(b.as_str()));
    assert_eq!(h.grid_id, grid);
    assert_eq!(
        (h.floor, h.use_, h.tenure, h.area_m2),
        (
            Some(floors),
            HouseUse::Rented,
            Some(Tenure::Private),
            Some(76.5)
        )
    );
    assert_eq!(s.counts().unwrap().houses, before.houses + 1);
    let m = last_outbox(&s);
    assert_eq!(
        (m.entity, m.op, m.row_id.as_str()),
        (Entity::House, Op::Insert, id.as_str())
    );
    assert_eq!(m.fields["tenure"], json!("private"));
    assert_eq!(m.fields["floor"], json!(floors));
    // In the building's list and found by its address at once.
    let rows = s.queries().houses_in(&b).unwrap();
    assert!(rows.iter().any(|r| r.id == id && r.title == "3单元 9901"));
    let hits = s.search_houses("3单元9901", 10, None).unwrap().hits;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, id);
}

#[test]
fn a_bad_house_is_refused_field_by_field_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 300);
    let (b, floors, _, _) = a_building(&s);
    let taken = s.queries().houses_in(&b).unwrap()[0].id.clone();
    let taken = s.house(&taken).unwrap().unwrap();
    let outbox = s.outbox_len().unwrap();
    let houses = s.counts().unwrap().houses;
    let cases: Vec<(HouseDraft, Vec<&str>)> = vec![
        (
            HouseDraft {
                room: "".into(),
                area_m2: Some(-3.0),
                ..HouseDraft::new(Some(b.clone()))
            },
            vec!["room: required", "area_m2: range"],
        ),
        (
            HouseDraft {
                room: "8801".into(),
                floor: Some(floors + 1),
                ..HouseDraft::new(Some(b.clone()))
            },
            vec!["floor: above-building"],
        ),
        (
            HouseDraft {
                room: "8801".into(),
                floor: Some(300),
                ..HouseDraft::new(Some(b.clone()))
            },
            vec!["floor: range"],
        ),
        (
            HouseDraft {
                stairwell: taken.stairwell.clone(),
                room: taken.room.clone(),
                ..HouseDraft::new(Some(b.clone()))
            },
            vec!["room: duplicate"],
        ),
        (
            HouseDraft {
                room: "101".into(),
                ..HouseDraft::new(Some("no-such-building".into()))
            },
            vec!["building: unknown"],
        ),
        (
            HouseDraft {
                room: "101".into(),
                ..HouseDraft::new(None)
            },
            vec!["full_address: required"],
        ),
    ];
    for (d, want) in cases {
        let got = problems(s.add_house(&d).unwrap_err());
        assert_eq!(got, want, "{d:?}");
    }
    assert_eq!(s.outbox_len().unwrap(), outbox, "nothing recorded");
    assert_eq!(s.counts().unwrap().houses, houses, "no house written");
    // An edit that would make a duplicate is refused too, and the house stays as it was.
    let other = s
        .queries()
        .houses_in(&b)
        .unwrap()
        .into_iter()
        .find(|h| h.id != taken.id)
        .unwrap();
    let mut d = HouseDraft::of(&s.house(&other.id).unwrap().unwrap());
    let was = d.clone();
    d.stairwell = taken.stairwell.clone();
    d.room = taken.room.clone();
    assert_eq!(
        problems(s.update_house(&other.id, &d).unwrap_err()),
        ["room: duplicate"]
    );
    assert_eq!(HouseDraft::of(&s.house(&other.id).unwrap().unwrap()), was);
    assert_eq!(s.outbox_len().unwrap(), outbox);
}

#[test]
fn a_house_edit_records_only_what_changed_and_the_search_follows() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 300);
    // A lived-in house, so its residents' addresses move with it.
    let (hid, pid): (String, String) = s
        .conn()
        .query_row(
            "SELECT house_id, id FROM person WHERE house_id IS NOT NULL LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let cur = s.house(&hid).unwrap().unwrap();
    // Saving the form unchanged records nothing.
    let n = s.outbox_len().unwrap();
    assert!(s
        .update_house(&hid, &HouseDraft::of(&cur))
        .unwrap()
        .is_empty());
    assert_eq!(s.outbox_len().unwrap(), n);
    // Use and area changed: exactly those two travel.
    let mut d = HouseDraft::of(&cur);
    d.use_ = HouseUse::Vacant;
    d.area_m2 = Some(123.4);
    assert_eq!(s.update_house(&hid, &d).unwrap(), ["area_m2", "use"]);
    let m = last_outbox(&s);
    assert_eq!((m.entity, m.op), (Entity::House, Op::Update));
    assert_eq!(
        serde_json::to_value(&m.fields).unwrap(),
        json!({"area_m2": 123.4, "use": "vacant"})
    );
    // A new room number: the made-up address follows, and search finds the house and its
    // resident by the new address, no longer by the old one.
    let old_addr = cur.full_address.clone();
    let mut d = HouseDraft::of(&s.house(&hid).unwrap().unwrap());
    d.room = "7707".into();
    let changed = s.update_house(&hid, &d).unwrap();
    assert_eq!(changed, ["full_address", "room"]);
    let now = s.house(&hid).unwrap().unwrap();
    assert!(now.full_address.ends_with("7707室"), "{}", now.full_address);
    assert_ne!(now.full_address, old_addr);
    let new_tail: String = now
        .full_address
        .chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let old_tail: String = old_addr
        .chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let found = |s: &Store, q: &str| {
        s.search_houses(q, 50, None)
            .unwrap()
            .hits
            .iter()
            .any(|h| h.id == hid)
    };
    assert!(found(&s, &new_tail), "found by {new_tail}");
    assert!(!found(&s, &old_tail), "still found by {old_tail}");
    let people = |s: &Store, q: &str| {
        s.search_people(q, 50, None)
            .unwrap()
            .hits
            .iter()
            .any(|p| p.id == pid)
    };
    assert!(people(&s, &new_tail), "resident found by the new address");
    assert!(
        !people(&s, &old_tail),
        "resident still found by the old address"
    );
    // An address typed by hand is kept as typed.
    let mut d = HouseDraft::of(&now);
    d.full_address = "幸福社区城河路18号沿街商铺".into();
    d.use_ = HouseUse::Commercial;
    s.update_house(&hid, &d).unwrap();
    assert!(found(&s, "沿街商铺"));
}

#[test]
fn a_renamed_organisation_is_found_by_its_new_name_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 300);
    let id = s
        .add_organisation(
            None,
            &OrganisationDraft {
                name: "城河路老张修车铺".into(),
                kind: OrgKind::Shop,
                credit_code: "91440300708461136t".into(),
                contact_name: "张建国".into(),
                contact_phone: "13812345678".into(),
                address_text: "幸福社区城河路21号".into(),
            },
        )
        .unwrap();
    let o = s.organisation(&id).unwrap().unwrap();
    assert_eq!(
        o.licence_no.as_deref(),
        Some("91440300708461136T"),
        "stored upper-cased"
    );
    assert_eq!(Some(o.grid_id), s.home_grid().unwrap().map(|g| g.id));
    let hit = |s: &Store, q: &str| {
        s.search_organisations(q, 50, None)
            .unwrap()
            .hits
            .iter()
            .any(|h| h.id == id)
    };
    assert!(hit(&s, "老张"));
    let mut d = OrganisationDraft::of(&s.organisation(&id).unwrap().unwrap());
    d.name = "城河路喆诚汽修".into();
    assert_eq!(s.update_organisation(&id, &d).unwrap(), ["name"]);
    let m = last_outbox(&s);
    assert_eq!((m.entity, m.op), (Entity::Organisation, Op::Update));
    assert_eq!(
        serde_json::to_value(&m.fields).unwrap(),
        json!({"name": "城河路喆诚汽修"})
    );
    assert!(hit(&s, "喆诚"), "found by the new name");
    assert!(!hit(&s, "老张"), "no longer found by the old name");
    assert!(!hit(&s, "修车铺"));
    // Still found by its address, which did not change.
    assert!(hit(&s, "城河路21号"));
}

#[test]
fn a_bad_organisation_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 300);
    let existing: (String, String) = s
        .conn()
        .query_row(
            "SELECT id, licence_no FROM organisation ORDER BY rid LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let n = s.outbox_len().unwrap();
    let organisations = s.counts().unwrap().organisations;
    let good = OrganisationDraft {
        name: "新开奶茶店".into(),
        credit_code: "914403001922038216".into(),
        ..OrganisationDraft::new()
    };
    let bad = |f: &dyn Fn(&mut OrganisationDraft)| {
        let mut d = good.clone();
        f(&mut d);
        d
    };
    for (d, want) in [
        (
            bad(&|d| d.credit_code = "914403001922038217".into()),
            "licence_no: bad-check",
        ),
        (
            bad(&|d| d.credit_code = "9144030019220382".into()),
            "licence_no: bad-length",
        ),
        (
            bad(&|d| d.credit_code = "9144030019220382IO".into()),
            "licence_no: bad-chars",
        ),
        (
            bad(&|d| d.credit_code = existing.1.clone()),
            "licence_no: duplicate",
        ),
        (
            bad(&|d| d.contact_phone = "1380013x".into()),
            "contact_phone: bad",
        ),
        (bad(&|d| d.name = "  ".into()), "name: required"),
    ] {
        assert_eq!(problems(s.add_organisation(None, &d).unwrap_err()), [want]);
    }
    // Editing an organisation into a bad code: refused, the organisation unchanged.
    let before = s.organisation(&existing.0).unwrap().unwrap();
    let mut d = OrganisationDraft::of(&before);
    d.name = "改了名字".into();
    d.credit_code = "91440300708461136X".into();
    assert_eq!(
        problems(s.update_organisation(&existing.0, &d).unwrap_err()),
        ["licence_no: bad-check"]
    );
    assert_eq!(s.organisation(&existing.0).unwrap().unwrap(), before);
    assert_eq!(s.outbox_len().unwrap(), n);
    assert_eq!(s.counts().unwrap().organisations, organisations);
    // The same code on the same organisation is no duplicate of itself.
    let d = OrganisationDraft::of(&before);
    assert!(s.update_organisation(&existing.0, &d).unwrap().is_empty());
}

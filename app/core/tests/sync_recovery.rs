//! A pulled page with a row the device cannot take: the row is set aside (quarantined) and
//! reported, everything else of the page is applied and the cursor moves on — one bad row
//! no longer stops a grid's sync for good. A row set aside because what it refers to had not
//! arrived yet is applied when it has.

use gridpad_testkit::store as kit;

use gridpad_proto::wire::{LogOp, OpKind, Page};
use gridpad_proto::{Entity, Fields, Hlc};
use serde_json::json;

fn fields(v: serde_json::Value) -> Fields {
    v.as_object().unwrap().clone().into_iter().collect()
}

fn op(id: u64, entity: Entity, row: &str, f: Fields) -> LogOp {
    let hlc = Hlc::new(1_800_000_000_000 + id, 0, "hub");
    let kind = OpKind::Put;
    LogOp {
        hash: LogOp::content_hash("grid:x", entity, row, &kind, &f, &hlc),
        op_id: id,
        entity,
        row_id: row.into(),
        kind,
        fields: f,
        hlc,
    }
}

#[test]
fn a_row_the_device_cannot_take_is_set_aside_and_the_rest_of_the_page_applies() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = kit::demo_store(dir.path(), 300);
    let grid = s.kv("grid_id").unwrap().unwrap();
    let scope = format!("grid:{grid}");
    s.set_scopes(std::slice::from_ref(&scope)).unwrap();
    let person = |name: &str, sex: &str, house: Option<&str>| {
        fields(
            json!({"grid_id": grid, "name": name, "sex": sex, "residence_type": "registered", "house_id": house}),
        )
    };
    let ops = vec![
        op(
            1,
            Entity::Person,
            "p-good-1",
            person("王芳", "female", None),
        ),
        // A sex the schema does not know: refused by the device's checks.
        op(2, Entity::Person, "p-bad", person("李明", "男", None)),
        // A house that has not arrived yet.
        op(
            3,
            Entity::Person,
            "p-early",
            person("张宇", "male", Some("h-later")),
        ),
        op(4, Entity::Person, "p-good-2", person("赵六", "male", None)),
    ];
    let sum: u32 = ops.iter().fold(0u32, |a, o| a.wrapping_add(o.hash));
    let page = Page {
        scope: scope.clone(),
        next_after_op: 4,
        checksum: sum,
        count: 4,
        complete: true,
        remaining: 0,
        ops,
    };
    let r = s.apply_page(&page).unwrap();
    assert_eq!(r.quarantined, 2);
    assert!(!r.diverged, "the scope's checksum still agrees");
    assert!(s.person("p-good-1").unwrap().is_some());
    assert!(
        s.person("p-good-2").unwrap().is_some(),
        "the page went on past the bad row"
    );
    assert!(s.person("p-bad").unwrap().is_none());
    assert_eq!(
        s.scope_state(&scope).unwrap().unwrap().0,
        4,
        "the cursor moved on"
    );
    assert_eq!(
        s.sync_health(0, None).unwrap().quarantined,
        2,
        "reported to the centre"
    );

    // The house arrives: the person that waited for it is applied and leaves quarantine.
    let house = op(
        5,
        Entity::House,
        "h-later",
        fields(
            json!({"grid_id": grid, "room": "301", "use": "rented", "full_address": "城河路18号3栋301室"}),
        ),
    );
    let page2 = Page {
        scope: scope.clone(),
        next_after_op: 5,
        checksum: sum.wrapping_add(house.hash),
        count: 5,
        complete: true,
        remaining: 0,
        ops: vec![house],
    };
    s.apply_page(&page2).unwrap();
    assert!(s.person("p-early").unwrap().is_some());
    assert_eq!(
        s.sync_health(0, None).unwrap().quarantined,
        1,
        "only the bad row is left"
    );
}

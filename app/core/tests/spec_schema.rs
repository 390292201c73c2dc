//! The device schema and the domain's entity specifications are one definition: every
//! specified field is a column of the entity's table, and a row the specification accepts
//! is a row the store can apply (so what the hub lets through, every device can take).

use gridpad_testkit::store as kit;

use gridpad_core::demo::{self, DemoSpec};
use gridpad_domain::spec::{spec, FieldSpec, Kind};
use gridpad_domain::Entity;
use gridpad_proto::{Fields, Hlc, Op, RemoteChange};
use serde_json::{json, Value};

fn columns(s: &gridpad_core::Store, table: &str) -> Vec<String> {
    let mut stmt = s
        .conn()
        .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn every_specified_field_is_a_column_of_its_table() {
    let dir = tempfile::tempdir().unwrap();
    let s = kit::new_store(dir.path());
    for e in Entity::ALL {
        let sp = spec(e);
        let cols = columns(&s, sp.table);
        assert!(cols.contains(&sp.key.to_string()), "{e}: key {}", sp.key);
        for f in sp.fields {
            assert!(
                cols.contains(&f.name.to_string()),
                "{e}.{} is not a column",
                f.name
            );
        }
    }
}

/// The largest value of a field's kind the specification accepts.
fn extreme(f: &FieldSpec, demo: &Fields) -> Value {
    if let Some(v) = demo.get(f.name) {
        if matches!(f.kind, Kind::Ref(_)) {
            return v.clone();
        }
    }
    match f.kind {
        Kind::Text(n) | Kind::Name(n) => json!("长".repeat(n)),
        Kind::Code(list) => json!(list[list.len() - 1]),
        Kind::Int(_, max) => json!(max),
        Kind::Real(_, max) => json!(max),
        Kind::Flag => json!(true),
        Kind::Date => json!("2026-02-28"),
        Kind::Time => json!("2026-02-28T23:59:59.999+08:00"),
        Kind::Tags(Some(list)) => json!(list),
        Kind::Tags(None) => json!(["fire_safety"]),
        Kind::Phone => json!("0574-86001234"),
        Kind::IdNumber => json!("11010519491231002X"),
        _ => demo.get(f.name).cloned().unwrap_or(Value::Null),
    }
}

#[test]
fn rows_the_specification_accepts_apply_on_the_device_at_their_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = kit::new_store(dir.path());
    let mut firsts: Vec<RemoteChange> = vec![];
    demo::generate(
        DemoSpec {
            persons: 300,
            seed: 9,
        },
        10_000,
        |b| {
            for c in b {
                if !firsts.iter().any(|f| f.entity == c.entity) || c.entity == Entity::Grid {
                    firsts.push(c);
                }
            }
            s.apply_remote(&firsts)
        },
    )
    .unwrap();
    // Each base-data kind once more, every field at the edge of what the spec allows.
    let mut n = 0;
    for c in firsts.iter().filter(|c| c.entity.is_base_data()) {
        let sp = spec(c.entity);
        let fields: Fields = sp
            .fields
            .iter()
            .map(|f| (f.name.to_string(), extreme(f, &c.fields)))
            .collect();
        gridpad_domain::check(
            c.entity,
            gridpad_domain::Side::Centre,
            gridpad_domain::Change::Insert,
            &fields,
        )
        .unwrap_or_else(|p| panic!("the test's own row is invalid: {p}"));
        n += 1;
        s.apply_remote(&[RemoteChange {
            entity: c.entity,
            row_id: format!("edge-{n}"),
            op: Op::Insert,
            fields,
            hlc: Hlc::new(1_800_000_000_000, n, "hub"),
        }])
        .unwrap_or_else(|e| panic!("{}: the device refused a valid row: {e}", c.entity));
    }
    assert_eq!(
        n, 6,
        "address, building, house, person, organisation, facility"
    );
}

#[test]
fn a_row_the_specification_refuses_is_refused_by_the_store_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = kit::demo_store(dir.path(), 300);
    let grid = s.kv("grid_id").unwrap().unwrap();
    let bad = RemoteChange {
        entity: Entity::Person,
        row_id: "p-bad".into(),
        op: Op::Insert,
        fields:
            json!({"grid_id": grid, "name": "王芳", "sex": "男", "residence_type": "registered"})
                .as_object()
                .unwrap()
                .clone()
                .into_iter()
                .collect(),
        hlc: Hlc::new(1_800_000_000_000, 1, "hub"),
    };
    let err = s.apply_remote(&[bad]).unwrap_err().to_string();
    assert!(err.contains("sex"), "{err}");
}

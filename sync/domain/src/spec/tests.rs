use super::*;
use serde_json::json;

fn fields(v: Value) -> Fields {
    v.as_object().unwrap().clone().into_iter().collect()
}

fn person() -> Fields {
    fields(json!({
        "grid_id": "g1", "name": "王芳", "sex": "female", "residence_type": "registered",
        "id_number": "11010519491231002X", "phone": "13812345678", "tags": "[\"elderly_alone\"]",
    }))
}

fn codes(r: Result<(), Problems>) -> Vec<(String, &'static str)> {
    r.err()
        .map(|p| p.list.into_iter().map(|p| (p.field, p.code)).collect())
        .unwrap_or_default()
}

#[test]
fn a_complete_person_passes_and_every_broken_field_is_named() {
    assert_eq!(
        check(Entity::Person, Side::Centre, Change::Insert, &person()),
        Ok(())
    );
    let mut p = person();
    p.remove("sex");
    p.insert("photos".into(), json!([]));
    p.insert("residence_type".into(), json!("男"));
    p.insert("phone".into(), json!("1381234x"));
    p.insert("tags".into(), json!(["elderly_alone", "vip"]));
    let mut got = codes(check(Entity::Person, Side::Centre, Change::Insert, &p));
    got.sort();
    assert_eq!(
        got,
        vec![
            ("phone".to_string(), "bad-format"),
            ("photos".to_string(), "unknown-field"),
            ("residence_type".to_string(), "not-in-list"),
            ("sex".to_string(), "required"),
            ("tags".to_string(), "not-in-list"),
        ]
    );
}

#[test]
fn an_update_needs_no_required_field_but_may_not_null_one() {
    let up = fields(json!({"note": "搬走了"}));
    assert_eq!(
        check(Entity::Person, Side::Device, Change::Update, &up),
        Ok(())
    );
    let null_name = fields(json!({"name": null}));
    assert_eq!(
        codes(check(
            Entity::Person,
            Side::Device,
            Change::Update,
            &null_name
        )),
        vec![("name".to_string(), "required")]
    );
    let null_note = fields(json!({"note": null}));
    assert_eq!(
        codes(check(
            Entity::Person,
            Side::Device,
            Change::Update,
            &null_note
        )),
        vec![("note".to_string(), "required")],
        "a field with a default is never null (the device column is NOT NULL)"
    );
}

#[test]
fn who_writes_what() {
    let t = fields(json!({"title": "x", "status": "closed"}));
    assert_eq!(
        codes(check(Entity::Task, Side::Device, Change::Update, &t)).len(),
        2,
        "a device writes no task field"
    );
    let read = fields(json!({"read_at": "2026-12-01T08:00:00Z"}));
    assert_eq!(
        check(Entity::Notice, Side::Device, Change::Update, &read),
        Ok(())
    );
    assert_eq!(
        codes(check(Entity::Notice, Side::Centre, Change::Update, &read)),
        vec![("read_at".to_string(), "not-writable")]
    );
}

#[test]
fn commands_carry_their_own_arguments() {
    let ok = fields(json!({"at": "2026-12-01T08:00:00Z", "feedback": "已修复",
        "photos": ["a".repeat(64)]}));
    assert_eq!(
        check(Entity::Task, Side::Device, Change::Command("complete"), &ok),
        Ok(())
    );
    assert_eq!(
        codes(check(
            Entity::Task,
            Side::Device,
            Change::Command("accept"),
            &ok
        )),
        vec![
            ("feedback".to_string(), "unknown-field"),
            ("photos".to_string(), "unknown-field")
        ]
    );
    assert_eq!(
        codes(check(
            Entity::Task,
            Side::Device,
            Change::Command("explode"),
            &ok
        )),
        vec![("".to_string(), "unknown-command")]
    );
    let bad_photo = fields(json!({"at": "2026-12-01T08:00:00Z", "photos": ["ABC"]}));
    assert_eq!(
        codes(check(
            Entity::Task,
            Side::Device,
            Change::Command("complete"),
            &bad_photo
        )),
        vec![("photos".to_string(), "bad-format")]
    );
}

#[test]
fn hostile_values_are_refused_with_short_messages() {
    let long = "长".repeat(100_000);
    let f = fields(
        json!({"name": long, "birth_date": "1990-02-30", "house_id": "a b",
        "id_number": "110105194912310021"}),
    );
    let err = check(Entity::Person, Side::Device, Change::Update, &f).unwrap_err();
    assert_eq!(err.list.len(), 4);
    assert!(err.to_string().len() < 600, "{err}");
    let pos = fields(json!({"position": {"source": "gnss", "lat": 0.0, "lon": 0.0}}));
    assert_eq!(
        codes(check(Entity::Visit, Side::Device, Change::Update, &pos)),
        vec![("position".to_string(), "bad-position")]
    );
    let grid = fields(
        json!({"boundary": "[[[121.7, 29.9], [121.8, 29.9], [121.8, 95.0], [121.7, 29.9]]]"}),
    );
    assert_eq!(
        codes(check(Entity::Grid, Side::Centre, Change::Update, &grid)),
        vec![("boundary".to_string(), "out-of-range")]
    );
    let big = fields(json!({"points": "ab".repeat((4 << 20) + 1)}));
    assert_eq!(
        codes(check(
            Entity::TrackSegment,
            Side::Device,
            Change::Update,
            &big
        )),
        vec![("points".to_string(), "too-long")]
    );
}

#[test]
fn every_entity_has_a_consistent_specification() {
    for e in Entity::ALL {
        let s = spec(e);
        assert_eq!(s.entity, e);
        assert_eq!(s.table, e.as_str());
        for f in s.fields {
            assert!(!(f.required && f.nullable), "{e}.{}", f.name);
            assert!(f.name != PHOTOS && f.name != s.key, "{e}.{}", f.name);
        }
        for name in s.search {
            assert!(s.field(name).is_some(), "{e} searches unknown {name}");
        }
        let scoped_by_grid = s.scope == ScopeRule::GridField;
        assert!(
            !scoped_by_grid || s.field("grid_id").is_some_and(|f| f.required),
            "{e}"
        );
    }
}

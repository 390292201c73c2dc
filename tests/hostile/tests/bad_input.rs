//! Bad input: broken bodies, bombs, malformed rows, hostile numbers and strings. Every one
//! gets a clear refusal (a 4xx with a problem document, or a rejected verdict with a
//! reason), changes nothing at the hub, and never reaches a device: after each, the honest
//! device of the grid syncs completely and its store applies everything.

use gridpad_hostile::*;
use gridpad_proto::wire::{self, Cursor, SeqGap, SyncRequest, SyncResponse};
use gridpad_proto::{Entity, Op};
use serde_json::{json, Value};

fn now() -> String {
    wire_now()
}

fn wire_now() -> String {
    gridpad_hostile::wire::rfc3339_now()
}

fn zstd(b: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(b, 3).unwrap()
}

fn cbor<T: serde::Serialize>(v: &T) -> Vec<u8> {
    let mut out = vec![];
    ciborium::into_writer(v, &mut out).unwrap();
    out
}

/// Bytes no compressor can shrink (xorshift), so a body stays as large on the wire.
fn noise(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn person(grid: &str) -> Value {
    json!({"grid_id": grid, "name": "赵敏", "sex": "female", "residence_type": "registered"})
}

fn with(mut base: Value, k: &str, v: Value) -> Value {
    base[k] = v;
    base
}

fn without(mut base: Value, k: &str) -> Value {
    base.as_object_mut().unwrap().remove(k);
    base
}

/// After a hostile case: nothing changed at the hub, the hub still serves, and the honest
/// device takes its whole grid.
fn settle(town: &Town, honest: &mut Honest, before: &Snapshot, what: &str) {
    let after = town.state();
    after.assert_data_unchanged(before, what);
    honest.sync_complete();
    honest.assert_holds_grid(&after);
}

#[test]
fn broken_bodies_get_a_problem_document_on_every_device_route() {
    let town = Town::new();
    let dev = town.device(&town.small);
    let mut honest = town.honest(&town.small);
    let valid = wire::encode(&dev.request(vec![]));
    let mut deep = vec![0x81u8; 100_000];
    deep.push(0x00);
    // A map whose first key claims to be a text of 2^64 - 1 bytes.
    let liar = [0xa1u8, 0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("an empty body", vec![]),
        ("bytes that are not zstd", b"hello, hub".to_vec()),
        (
            "zstd of bytes that are not CBOR",
            zstd(b"\xff\xfe\xfd not cbor"),
        ),
        ("zstd of a CBOR integer", zstd(&cbor(&42))),
        ("zstd of an empty CBOR map", zstd(&cbor(&json!({})))),
        ("a truncated zstd frame", valid[..valid.len() / 2].to_vec()),
        ("a zstd bomb (100 MB of zeros)", zstd(&vec![0u8; 100 << 20])),
        ("CBOR nested 100,000 deep", zstd(&deep)),
        ("CBOR claiming a text of 2^64 bytes", zstd(&liar)),
        ("a body past the size limit (17 MB)", noise(17 << 20)),
    ];
    let before = town.state();
    for path in [
        "/v1/enroll",
        "/v1/auth/challenge",
        "/v1/auth/token",
        "/v1/sync",
    ] {
        let token = (path == "/v1/sync").then(|| dev.token());
        for (what, body) in &bodies {
            let a = town.http.post_raw(path, token, body.clone());
            let p = a.refused(&[400, 413]);
            eprintln!(
                "{path}, {what}: {} {}",
                a.status,
                p.detail.unwrap_or_default()
            );
        }
        let h = town.http.send("get", "/v1/health", None, None, vec![]);
        assert_eq!(h.status, 200, "the hub still serves after {path}'s cases");
    }
    settle(&town, &mut honest, &before, "broken bodies");
}

#[test]
fn malformed_rows_are_rejected_with_a_reason_and_never_reach_a_device() {
    let town = Town::new();
    let mut a = town.device(&town.small);
    let mut honest = town.honest(&town.small);
    let (house_big, _) = town.record_in(Entity::House, &town.big);
    let (house_small, _) = town.record_in(Entity::House, &town.small);
    let (building_big, _) = town.record_in(Entity::Building, &town.big);
    let (person_small, _) = town.record_in(Entity::Person, &town.small);
    let g = town.small.clone();
    let long = "长".repeat(100_000);
    let new = || uuid::Uuid::now_v7().to_string();
    let p = person(&g);
    let house =
        json!({"grid_id": g, "room": "101", "use": "rented", "full_address": "镇海路1号101"});
    let event = json!({"grid_id": g, "category_code": "0401", "description": "井盖缺失",
                       "status": "reported", "reporter": "网格员", "device_time": now()});
    let cases: Vec<(&str, Entity, String, Op, Value)> = vec![
        (
            "a person without sex",
            Entity::Person,
            new(),
            Op::Insert,
            without(p.clone(), "sex"),
        ),
        (
            "sex \"男\"",
            Entity::Person,
            new(),
            Op::Insert,
            with(p.clone(), "sex", json!("男")),
        ),
        (
            "a stray photos key on a person",
            Entity::Person,
            new(),
            Op::Insert,
            with(p.clone(), "photos", json!(["ab".repeat(32)])),
        ),
        (
            "a person without a grid",
            Entity::Person,
            new(),
            Op::Insert,
            without(p.clone(), "grid_id"),
        ),
        (
            "sex \"男\" on an existing person",
            Entity::Person,
            person_small.clone(),
            Op::Update,
            json!({"sex": "男"}),
        ),
        (
            "sex null on an existing person",
            Entity::Person,
            person_small.clone(),
            Op::Update,
            json!({"sex": null}),
        ),
        (
            "a 100,000-character name",
            Entity::Person,
            new(),
            Op::Insert,
            with(p.clone(), "name", json!(long)),
        ),
        (
            "a 100,000-character field name",
            Entity::Person,
            person_small.clone(),
            Op::Update,
            json!({ long.clone(): "x" }),
        ),
        (
            "a NUL in a name",
            Entity::Person,
            new(),
            Op::Insert,
            with(p.clone(), "name", json!("王\u{0}芳")),
        ),
        (
            "terminal escapes in a note",
            Entity::Person,
            person_small.clone(),
            Op::Update,
            json!({"note": "\u{1b}[2J\u{1b}]0;pwned\u{7}"}),
        ),
        (
            "a blank name",
            Entity::Person,
            new(),
            Op::Insert,
            with(p.clone(), "name", json!("   ")),
        ),
        (
            "a name that is a number",
            Entity::Person,
            new(),
            Op::Insert,
            with(p.clone(), "name", json!(42)),
        ),
        (
            "an ID number with a wrong check digit",
            Entity::Person,
            new(),
            Op::Insert,
            with(p.clone(), "id_number", json!("110105194912310021")),
        ),
        (
            "a birth date that does not exist",
            Entity::Person,
            new(),
            Op::Insert,
            with(p.clone(), "birth_date", json!("1990-02-30")),
        ),
        (
            "a phone that is not one",
            Entity::Person,
            new(),
            Op::Insert,
            with(p.clone(), "phone", json!("1381234x")),
        ),
        (
            "10,000 tags",
            Entity::Person,
            new(),
            Op::Insert,
            with(p.clone(), "tags", json!(vec!["elderly_alone"; 10_000])),
        ),
        (
            "a tag not in the list",
            Entity::Person,
            new(),
            Op::Insert,
            with(p.clone(), "tags", json!(["vip"])),
        ),
        (
            "a person in a house of another grid",
            Entity::Person,
            new(),
            Op::Insert,
            with(p.clone(), "house_id", json!(house_big)),
        ),
        (
            "a person in a house that does not exist",
            Entity::Person,
            new(),
            Op::Insert,
            with(p.clone(), "house_id", json!("no-such-house")),
        ),
        (
            "a house in a building of another grid",
            Entity::House,
            new(),
            Op::Insert,
            with(house.clone(), "building_id", json!(building_big)),
        ),
        (
            "a house on floor u64::MAX",
            Entity::House,
            new(),
            Op::Insert,
            with(house.clone(), "floor", json!(u64::MAX)),
        ),
        (
            "a house on floor i64::MIN",
            Entity::House,
            new(),
            Op::Insert,
            with(house.clone(), "floor", json!(i64::MIN)),
        ),
        (
            "a house on floor 1e308",
            Entity::House,
            new(),
            Op::Insert,
            with(house.clone(), "floor", json!(1e308)),
        ),
        (
            "a house of -1 m²",
            Entity::House,
            new(),
            Op::Insert,
            with(house.clone(), "area_m2", json!(-1.0)),
        ),
        (
            "a house of 1e308 m²",
            Entity::House,
            house_small.clone(),
            Op::Update,
            json!({"area_m2": 1e308}),
        ),
        (
            "an address at latitude 91",
            Entity::Address,
            new(),
            Op::Insert,
            json!({"grid_id": g, "full_text": "x", "lat": 91.0}),
        ),
        (
            "a record id of 100,000 characters",
            Entity::Person,
            "p".repeat(100_000),
            Op::Insert,
            p.clone(),
        ),
        (
            "a record id with a slash and a newline",
            Entity::Person,
            "../p\n1".into(),
            Op::Insert,
            p.clone(),
        ),
        (
            "a report with a 100,000-character description",
            Entity::Event,
            new(),
            Op::Insert,
            with(event.clone(), "description", json!(long)),
        ),
        (
            "a report whose form is 100,000 characters",
            Entity::Event,
            new(),
            Op::Insert,
            with(event.clone(), "fields", json!({"x": long})),
        ),
        (
            "a report in a category that does not exist",
            Entity::Event,
            new(),
            Op::Insert,
            with(event.clone(), "category_code", json!("9999")),
        ),
        (
            "a report with 101 photos",
            Entity::Event,
            new(),
            Op::Insert,
            with(event.clone(), "photos", json!(vec!["ab".repeat(32); 101])),
        ),
        (
            "a report with a photo that is not a hash",
            Entity::Event,
            new(),
            Op::Insert,
            with(event.clone(), "photos", json!(["../../etc/passwd"])),
        ),
        (
            "a report with a position at 0,0 from GNSS",
            Entity::Event,
            new(),
            Op::Insert,
            with(
                event.clone(),
                "position",
                json!({"source": "gnss", "lat": 0.0, "lon": 0.0}),
            ),
        ),
        (
            "a report at a time that is not one",
            Entity::Event,
            new(),
            Op::Insert,
            with(event.clone(), "device_time", json!("yesterday")),
        ),
        (
            "a track of more than 4 MB",
            Entity::TrackSegment,
            new(),
            Op::Insert,
            json!({"patrol_id": "p", "seq": 0, "start_time": now(), "end_time": now(), "n_points": 1, "points": "ab".repeat((4 << 20) + 1)}),
        ),
        (
            "an entity command on a person",
            Entity::Person,
            person_small.clone(),
            Op::Command("merge".into()),
            json!({}),
        ),
    ];
    for (what, entity, id, op, f) in cases {
        let before = town.state();
        let v = a.push_one(entity, &id, op, f);
        let reason = assert_rejected(&v, what);
        eprintln!("{what}: {reason}");
        settle(&town, &mut honest, &before, what);
    }
}

/// Replace every float `from` in a request's CBOR by `to` (JSON has no NaN; CBOR has).
fn with_floats(req: &SyncRequest, swaps: &[(f64, f64)]) -> Vec<u8> {
    fn walk(v: &mut ciborium::Value, swaps: &[(f64, f64)]) {
        match v {
            ciborium::Value::Float(f) => {
                if let Some((_, to)) = swaps.iter().find(|(from, _)| from == f) {
                    *f = *to;
                }
            }
            ciborium::Value::Array(a) => a.iter_mut().for_each(|x| walk(x, swaps)),
            ciborium::Value::Map(m) => m.iter_mut().for_each(|(_, x)| walk(x, swaps)),
            ciborium::Value::Tag(_, x) => walk(x, swaps),
            _ => {}
        }
    }
    let mut v = ciborium::Value::serialized(req).unwrap();
    walk(&mut v, swaps);
    zstd(&cbor(&v))
}

#[test]
fn not_a_number_and_infinite_coordinates_never_reach_a_device() {
    let town = Town::new();
    let mut a = town.device(&town.small);
    let mut honest = town.honest(&town.small);
    let (nan_at, inf_at, neg_at) = (12_345.125, 23_456.25, 34_567.5);
    let g = &town.small;
    let records: Vec<(Entity, Value)> = vec![
        (
            Entity::Facility,
            json!({"grid_id": g, "kind": "消防栓", "lat": nan_at, "lon": inf_at}),
        ),
        (
            Entity::Address,
            json!({"grid_id": g, "full_text": "镇海路2号", "lat": inf_at, "lon": neg_at}),
        ),
        (
            Entity::Patrol,
            json!({"grid_id": g, "started_at": now(), "state": "active", "distance_m": inf_at}),
        ),
        (
            Entity::Visit,
            json!({"grid_id": g, "kind": "in_home", "device_time": now(),
            "position": {"source": "gnss", "lat": nan_at, "lon": 121.5, "accuracy_m": inf_at}}),
        ),
        (
            Entity::House,
            json!({"grid_id": g, "room": "9", "use": "vacant", "full_address": "x", "area_m2": nan_at}),
        ),
    ];
    for (entity, f) in records {
        let before = town.state();
        let id = uuid::Uuid::now_v7().to_string();
        let m = a.m(entity, &id, Op::Insert, f);
        let body = with_floats(
            &a.request(vec![m]),
            &[
                (nan_at, f64::NAN),
                (inf_at, f64::INFINITY),
                (neg_at, f64::NEG_INFINITY),
            ],
        );
        let ans = a.sync_raw(body);
        let what = format!("a {entity} with NaN/infinite numbers");
        match ans.status {
            200 => {
                let r: SyncResponse = ans.cbor();
                let v = &r.verdicts[0];
                if v.status == wire::Status::Rejected {
                    assert_rejected(v, &what);
                    settle(&town, &mut honest, &before, &what);
                } else {
                    // Taken only as an absent value: nothing at the hub is not a number.
                    let s = town.state();
                    let row = s.fields(entity, &id).expect("stored");
                    let text = row.to_string();
                    assert!(
                        !text.contains("NaN") && !text.contains("inf"),
                        "{what}: {text}"
                    );
                    honest.sync_complete();
                    honest.assert_holds_grid(&s);
                }
            }
            _ => {
                ans.problem();
                settle(&town, &mut honest, &before, &what);
            }
        }
    }
}

#[test]
fn huge_numbers_in_the_exchange_are_bounded() {
    let town = Town::new();
    let mut a = town.device(&town.small);
    let mut honest = town.honest(&town.small);
    let before = town.state();

    // A sequence number from far in the future: a 409 that says which one is expected.
    let mut m = a.m(
        Entity::Diary,
        &uuid::Uuid::now_v7().to_string(),
        Op::Insert,
        json!({"grid_id": town.small, "day": "2026-12-01", "content": "x", "device_time": now()}),
    );
    m.seq = u64::MAX;
    let ans = a.sync(&a.request(vec![m.clone()]));
    assert_eq!(ans.status, 409, "{}", ans.text());
    let gap: SeqGap = serde_json::from_slice(&ans.body).expect("the expected sequence number");
    assert_eq!(gap.expected_seq, 1);
    settle(&town, &mut honest, &before, "seq u64::MAX");

    // Cursors past the end, a device clock at the end of time, page budgets of 0 and
    // u32::MAX, health figures at their limits: answered, bounded, nothing changed.
    let mut req = a.request(vec![]);
    req.device_time_ms = u64::MAX;
    req.cursors = vec![
        Cursor {
            scope: format!("grid:{}", town.small),
            after_op: u64::MAX,
        },
        Cursor {
            scope: "catalog".into(),
            after_op: i64::MAX as u64 + 1,
        },
    ];
    req.health.queue_len = u64::MAX;
    req.health.clock_offset_ms = i64::MIN;
    req.health.last_error = Some("\u{1b}[2J".repeat(50_000));
    req.app_version = "\u{1b}]0;pwned\u{7}".repeat(1_000);
    for max_bytes in [0, u32::MAX] {
        req.max_bytes = max_bytes;
        let r: SyncResponse = a.sync(&req).cbor();
        let ops: usize = r.pages.iter().map(|p| p.ops.len()).sum();
        assert_eq!(ops, 0, "nothing after the end of a log");
    }
    req.cursors = vec![Cursor {
        scope: format!("grid:{}", town.small),
        after_op: 0,
    }];
    req.max_bytes = u32::MAX;
    let r: SyncResponse = a.sync(&req).cbor();
    let size: usize = wire::encode(&r).len();
    assert!(
        size < 8 << 20,
        "a page is bounded whatever the device asks: {size} bytes"
    );
    let s = town.state();
    s.assert_data_unchanged(&before, "huge numbers in the exchange");
    // What the device said about itself is kept bounded and without control characters
    // (an administrator's terminal shows it).
    let list = process::run(town.hub.admin().arg("devices"));
    assert!(
        !list.contains('\u{1b}') && !list.contains('\u{7}'),
        "{list:.300}"
    );
    let devices = process::run_json(town.hub.admin().args(["devices", "--json"]));
    let mine = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device_id"] == a.id.as_str())
        .unwrap();
    assert!(mine["app_version"].as_str().unwrap().chars().count() <= 64);
    honest.sync_complete();

    // A clock from the end of time wins a field for minutes, not forever.
    let (p, _) = town.record_in(Entity::Person, &town.small);
    let mut m = a.m(Entity::Person, &p, Op::Update, json!({"note": "来自未来"}));
    m.hlc.millis = u64::MAX;
    m.hlc.counter = u16::MAX;
    let r = a.push(vec![m]);
    assert_applied(&r.verdicts[0], "an edit with a clock from the future");
    let hlc = r.verdicts[0].hlc.clone().unwrap();
    assert!(
        hlc.millis <= wire_ms() + 6 * 60 * 1000,
        "clamped to the hub's clock + 5 min: {hlc}"
    );
    honest.sync_complete();
    honest.assert_holds_grid(&town.state());
}

fn wire_ms() -> u64 {
    gridpad_hostile::wire::now_ms()
}

#[test]
fn a_clock_naming_someone_else_or_a_huge_mutation_id_is_not_kept() {
    let town = Town::new();
    let mut a = town.device(&town.small);
    let mut honest = town.honest(&town.small);
    let (p, _) = town.record_in(Entity::Person, &town.small);
    // A clock that claims to be the centre's, or 100,000 characters long: the hub records
    // the edit under the device that sent it.
    for node in ["hub".to_string(), "n".repeat(100_000), "x\u{1b}[2J".into()] {
        let mut m = a.m(Entity::Person, &p, Op::Update, json!({"note": "换个名字"}));
        m.hlc.node = node.clone();
        let ans = a.sync(&a.request(vec![m]));
        if ans.status == 200 {
            let r: SyncResponse = ans.cbor();
            let v = &r.verdicts[0];
            if v.status != wire::Status::Rejected {
                let hlc = v.hlc.clone().unwrap();
                assert_eq!(hlc.node, a.id, "recorded as the device's own edit");
            }
        } else {
            ans.problem();
        }
        let s = town.state();
        let row = s.row(Entity::Person, &p).unwrap();
        // (The other fields keep the centre's clocks from the seed.)
        let text = row["field_hlc"]["note"].to_string();
        assert!(
            text.len() < 2_000 && !text.contains("-hub\""),
            "{text:.200}"
        );
    }
    // A mutation id of 100,000 characters is not an idempotency key the hub keeps.
    let before = town.state();
    let mut m = a.m(
        Entity::Diary,
        &uuid::Uuid::now_v7().to_string(),
        Op::Insert,
        json!({"grid_id": town.small, "day": "2026-12-01", "content": "x", "device_time": now()}),
    );
    m.mutation_id = "m".repeat(100_000);
    let ans = a.sync(&a.request(vec![m]));
    match ans.status {
        200 => {
            let r: SyncResponse = ans.cbor();
            assert_rejected(&r.verdicts[0], "a 100,000-character mutation id");
        }
        _ => {
            ans.refused(&[400]);
        }
    }
    settle(
        &town,
        &mut honest,
        &before,
        "a 100,000-character mutation id",
    );
}

#[test]
fn a_central_import_with_a_bad_record_imports_nothing() {
    let town = Town::new();
    let mut honest = town.honest(&town.small);
    let (house_big, _) = town.record_in(Entity::House, &town.big);
    let g = &town.small;
    let hlc = format!("{:016x}-0000-hub", wire_ms());
    let line = |id: &str, f: Value| {
        json!({"entity": "person", "row_id": id, "op": {"op": "insert"}, "fields": f, "hlc": hlc})
            .to_string()
    };
    let good = person(g);
    let bad: Vec<(&str, Value)> = vec![
        ("a person without sex", without(good.clone(), "sex")),
        ("sex \"男\"", with(good.clone(), "sex", json!("男"))),
        (
            "a stray photos key",
            with(good.clone(), "photos", json!([])),
        ),
        (
            "a house of another grid",
            with(good.clone(), "house_id", json!(house_big)),
        ),
        (
            "a 100,000-character name",
            with(good.clone(), "name", json!("长".repeat(100_000))),
        ),
    ];
    for (what, f) in bad {
        let before = town.state();
        let file = town.dir.path().join("import.jsonl");
        let lines = [
            line(&uuid::Uuid::now_v7().to_string(), good.clone()),
            line(&uuid::Uuid::now_v7().to_string(), f),
            line(&uuid::Uuid::now_v7().to_string(), good.clone()),
        ];
        std::fs::write(&file, lines.join("\n")).unwrap();
        let out = town.hub.admin().arg("import").arg(&file).output().unwrap();
        assert!(!out.status.success(), "{what}: the import is refused");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("record 2"), "{what}: names the record: {err}");
        assert!(
            err.len() < 2_000,
            "{what}: a short message: {} bytes",
            err.len()
        );
        settle(&town, &mut honest, &before, what);
    }
}

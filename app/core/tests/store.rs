//! The device store, end to end on real encrypted SQLite files.

use gridpad_core::model::{
    DeadlineColour, EventStatus, PersonTag, Position, Relation, ResidenceType, Sex, TaskCommand,
    TaskStatus,
};
use gridpad_core::{db, keyring, Error, NewPerson, RemoteChange, Store};
use gridpad_proto::{Entity, Fields, Hlc, Op};
use gridpad_testkit::store::*;
use serde_json::json;

fn fields(v: serde_json::Value) -> Fields {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[test]
fn a_report_is_stored_with_exactly_one_outbox_row_and_dense_sequence_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 300);
    assert_eq!(
        s.outbox_len().unwrap(),
        0,
        "base data from the centre is not a local change"
    );
    let mut ids = vec![];
    for i in 0..5 {
        ids.push(
            s.report_event(report(&format!("楼道堆放杂物 {i}")))
                .unwrap(),
        );
    }
    let out = s.outbox(100).unwrap();
    assert_eq!(out.len(), 5);
    for (i, (entry, id)) in out.iter().zip(&ids).enumerate() {
        assert_eq!(entry.mutation.seq, i as u64 + 1);
        assert_eq!(entry.mutation.entity, Entity::Event);
        assert_eq!(&entry.mutation.row_id, id);
        assert_eq!(entry.mutation.op, Op::Insert);
        assert_eq!(entry.mutation.fields["status"], json!("reported"));
        assert!(
            uuid::Uuid::parse_str(&entry.mutation.mutation_id)
                .unwrap()
                .get_version_num()
                == 7
        );
    }
    // HLCs strictly increase in sequence order.
    for w in out.windows(2) {
        assert!(w[0].mutation.hlc < w[1].mutation.hlc);
    }
    let ev = s.event(&ids[0]).unwrap().unwrap();
    assert_eq!(ev.status, EventStatus::Reported);
    assert_eq!(ev.description, "楼道堆放杂物 0");
    // 消防通道堵塞 has a 4 h deadline.
    assert_eq!(
        (ev.deadline_at.unwrap() - ev.device_time).num_hours(),
        4,
        "deadline from the catalog"
    );
}

#[test]
fn a_refused_change_leaves_neither_row_nor_outbox_entry() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 300);
    let before = s.counts().unwrap();
    // Missing required category field.
    let mut r = report("缺少字段");
    r.fields.clear();
    assert!(matches!(s.report_event(r), Err(Error::Invalid(_))));
    // A main category instead of a subcategory.
    let mut r = report("大类");
    r.category_code = "02".into();
    assert!(matches!(s.report_event(r), Err(Error::Invalid(_))));
    // A photo the store does not hold: fails inside the transaction, after the outbox
    // row was written — both must roll back.
    let mut r = report("照片不存在");
    r.photos = vec!["a".repeat(64)];
    assert!(matches!(s.report_event(r), Err(Error::Invalid(_))));
    // Bad ID number.
    let p = NewPerson {
        grid_id: None,
        house_id: None,
        name: "赵四".into(),
        id_number: Some("330211199001011234".into()),
        phone: None,
        sex: Sex::Male,
        birth_date: None,
        relation: Relation::Other,
        residence_type: ResidenceType::Registered,
        tags: vec![],
        note: String::new(),
    };
    assert!(matches!(s.add_person(p), Err(Error::Invalid(_))));
    assert_eq!(s.counts().unwrap(), before);
    // The next good change still gets sequence number 1.
    s.report_event(report("正常上报")).unwrap();
    assert_eq!(s.outbox(10).unwrap()[0].mutation.seq, 1);
}

#[test]
fn residents_are_found_by_one_two_and_three_character_fragments() {
    let dir = tempfile::tempdir().unwrap();
    let s = demo_store(dir.path(), 1_500);
    // The demo grid always holds 张喆, 王堃, 李昇.
    let hits = s.search_people("张喆", 20, None).unwrap().hits;
    assert_eq!(hits[0].name, "张喆");
    assert_eq!(hits[0].matched, "name");
    let hits = s.search_people("喆", 50, None).unwrap().hits;
    assert!(hits.iter().any(|h| h.name == "张喆"));
    assert!(hits.iter().all(|h| h.name.contains('喆')));
    let hits = s.search_people("张", 30, None).unwrap().hits;
    assert!(!hits.is_empty());
    // Relevance: names starting with 张 come before names merely containing it.
    let first_part = hits.iter().position(|h| h.matched == "name_part");
    if let Some(i) = first_part {
        assert!(hits[..i].iter().all(|h| h.name.starts_with('张')));
    }
    // A three-character name, found whole and by its last two characters.
    let three: String = s
        .conn()
        .query_row(
            "SELECT name FROM person WHERE length(name) = 3 LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let hits = s.search_people(&three, 10, None).unwrap().hits;
    assert_eq!(hits[0].name, three);
    let tail: String = three.chars().skip(1).collect();
    assert!(s
        .search_people(&tail, 500, None)
        .unwrap()
        .hits
        .iter()
        .any(|h| h.name == three));
}

#[test]
fn search_pages_through_every_match_once_in_rank_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = demo_store(dir.path(), 1_500);
    for q in ["王", "王芳", "幸福", "城河路"] {
        let expected: i64 = s
            .conn()
            .query_row(
                "SELECT count(*) FROM person p LEFT JOIN house h ON h.id = p.house_id
                 WHERE instr(p.name, ?1) > 0 OR instr(coalesce(h.full_address, ''), ?1) > 0",
                [q],
                |r| r.get(0),
            )
            .unwrap();
        let mut seen = std::collections::HashSet::new();
        let mut cursor: Option<String> = None;
        let mut tiers = vec![];
        loop {
            let page = s.search_people(q, 7, cursor.as_deref()).unwrap();
            for h in &page.hits {
                assert!(seen.insert(h.id.clone()), "{q}: {} twice", h.name);
                tiers.push(h.matched.clone());
            }
            match page.next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen.len() as i64, expected, "query {q}");
        let rank = |m: &str| {
            ["name", "name_prefix", "name_part", "address"]
                .iter()
                .position(|x| *x == m)
                .unwrap()
        };
        assert!(
            tiers.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])),
            "{q}: tiers out of order"
        );
    }
}

#[test]
fn residents_are_found_by_id_number_tail_and_phone() {
    let dir = tempfile::tempdir().unwrap();
    let s = demo_store(dir.path(), 1_500);
    let (id, idn, phone): (String, String, String) = s
        .conn()
        .query_row(
            "SELECT id, id_number, phone FROM person WHERE id_number IS NOT NULL AND phone IS NOT NULL LIMIT 1 OFFSET 100",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let tail6 = &idn[12..];
    let hits = s.search_people(tail6, 50, None).unwrap().hits;
    let hit = hits.iter().find(|h| h.id == id).expect("found by ID tail");
    assert_eq!(hit.matched, "id_tail");
    assert!(
        hit.id_number.as_ref().unwrap().contains("********"),
        "masked in lists"
    );
    let hits = s.search_people(&idn, 5, None).unwrap().hits;
    assert_eq!(hits[0].id, id);
    let hits = s.search_people(&phone[7..], 50, None).unwrap().hits;
    assert!(hits.iter().any(|h| h.id == id));
    let hits = s.search_people(&phone, 5, None).unwrap().hits;
    assert_eq!(hits[0].id, id);
}

#[test]
fn houses_by_address_and_organisations_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let s = demo_store(dir.path(), 1_500);
    let addr: String = s
        .conn()
        .query_row(
            "SELECT full_address FROM house LIMIT 1 OFFSET 42",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let room_part: String = addr
        .chars()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let hits = s.search_houses(&room_part, 200, None).unwrap().hits;
    assert!(hits.iter().any(|h| h.full_address == addr), "{room_part}");
    assert!(hits.iter().all(|h| h.full_address.contains(&room_part)));
    let name: String = s
        .conn()
        .query_row("SELECT name FROM organisation LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let hits = s.search_organisations(&name, 10, None).unwrap().hits;
    assert_eq!(hits[0].name, name);
    let two: String = name.chars().take(2).collect();
    assert!(s
        .search_organisations(&two, 200, None)
        .unwrap()
        .hits
        .iter()
        .any(|h| h.name == name));
}

#[test]
fn the_raw_database_and_wal_reveal_no_resident_or_report_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 1_500);
    let (name, idn, phone): (String, String, String) = s
        .conn()
        .query_row(
            "SELECT name, id_number, phone FROM person WHERE id_number IS NOT NULL AND phone IS NOT NULL LIMIT 1 OFFSET 7",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let secret_report = "三号楼二单元楼道电动车违规充电隐患";
    s.report_event(report(secret_report)).unwrap();
    // Leave the WAL populated: do not checkpoint.
    let mut raw = std::fs::read(dir.path().join(db::DB_FILE)).unwrap();
    let wal = dir.path().join(format!("{}-wal", db::DB_FILE));
    assert!(wal.exists(), "WAL mode");
    raw.extend(std::fs::read(&wal).unwrap());
    assert!(raw.len() > 100_000);
    for needle in [
        name.as_str(),
        idn.as_str(),
        phone.as_str(),
        secret_report,
        "张喆",
        "SQLite format 3",
    ] {
        assert!(
            !raw.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle:?} found in the raw files"
        );
    }
    drop(s);
    // The key file holds no secret either.
    let key = std::fs::read_to_string(keyring::key_path(dir.path())).unwrap();
    assert!(!key.contains(PIN));
}

#[test]
fn wrong_pin_is_refused_and_changing_the_pin_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 200);
    let id = s.report_event(report("保留的数据")).unwrap();
    drop(s);
    assert!(matches!(
        Store::open(dir.path(), "135790"),
        Err(Error::WrongPin { .. })
    ));
    let db_before = std::fs::read(dir.path().join(db::DB_FILE)).unwrap();
    keyring::change_pin(dir.path(), PIN, "97531246").unwrap();
    assert_eq!(
        std::fs::read(dir.path().join(db::DB_FILE)).unwrap(),
        db_before,
        "a PIN change does not rewrite the database"
    );
    assert!(matches!(
        Store::open(dir.path(), PIN),
        Err(Error::WrongPin { .. })
    ));
    let s = Store::open(dir.path(), "97531246").unwrap();
    assert_eq!(s.event(&id).unwrap().unwrap().description, "保留的数据");
}

#[test]
fn a_wiped_device_cannot_be_opened_even_with_the_pin() {
    let dir = tempfile::tempdir().unwrap();
    drop(demo_store(dir.path(), 200));
    keyring::destroy(dir.path()).unwrap();
    assert!(matches!(
        Store::open(dir.path(), PIN),
        Err(Error::NotInitialised(_))
    ));
}

#[test]
fn databases_from_every_earlier_schema_version_upgrade_cleanly() {
    for version in 0..db::SCHEMA_VERSION {
        let dir = tempfile::tempdir().unwrap();
        let key = keyring::create_with_iterations(dir.path(), PIN, "dev-old", FAST_KDF).unwrap();
        {
            let mut conn = db::open(&dir.path().join(db::DB_FILE), &key).unwrap();
            db::migrate_to(&mut conn, version).unwrap();
            assert_eq!(db::user_version(&conn).unwrap(), version);
            if version >= 1 {
                conn.execute_batch(
                    "INSERT INTO grid (id, code, name, level) VALUES ('g1', '001', '老网格', 'grid');
                     INSERT INTO kv (key, value) VALUES ('grid_id', 'g1'), ('next_seq', '1');
                     INSERT INTO house (id, grid_id, room, use, full_address) VALUES ('h1', 'g1', '101', 'rented', '旧城区和平路7号101室');
                     INSERT INTO person (id, grid_id, house_id, name, sex, residence_type) VALUES ('p1', 'g1', 'h1', '欧阳堃', 'male', 'registered');
                     INSERT INTO catalog_category (code, level, name) VALUES ('99', 1, '其他');
                     INSERT INTO catalog_category (code, parent_code, level, name, deadline_hours) VALUES ('9901', '99', 2, '其他', 24);",
                )
                .unwrap();
            }
            if version >= 3 {
                // Gridpad at version 3 indexed rows as it wrote them.
                gridpad_core::search::rebuild_all(&conn).unwrap();
            }
            if version >= 2 {
                conn.execute_batch(
                    "INSERT INTO event (id, grid_id, category_code, description, status, reporter, device_time)
                     VALUES ('e1', 'g1', '9901', '旧版本上报', 'reported', '网格员', '2026-01-01T00:00:00Z');",
                )
                .unwrap();
            }
        }
        let s = Store::open(dir.path(), PIN).unwrap();
        assert_eq!(db::user_version(s.conn()).unwrap(), db::SCHEMA_VERSION);
        s.integrity_check().unwrap();
        if version >= 1 {
            let hits = s.search_people("阳堃", 5, None).unwrap().hits;
            assert_eq!(
                hits.len(),
                1,
                "from version {version}: search index backfilled"
            );
            assert_eq!(s.search_houses("和平", 5, None).unwrap().hits.len(), 1);
            // Houses from before version 5 have no floor or tenure yet.
            let h = s.house("h1").unwrap().unwrap();
            assert_eq!((h.room.as_str(), h.floor, h.tenure), ("101", None, None));
        }
        if version >= 2 {
            assert_eq!(s.event("e1").unwrap().unwrap().description, "旧版本上报");
        }
    }
}

#[test]
fn a_full_disk_fails_the_write_cleanly_and_the_store_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 300);
    s.checkpoint().unwrap();
    let pages: i64 = s
        .conn()
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    s.set_max_pages(pages as u64 + 3).unwrap();
    let long = "堆".repeat(2_000);
    let mut saved = 0;
    let err = loop {
        match s.report_event(report(&long)) {
            Ok(_) => saved += 1,
            Err(e) => break e,
        }
        assert!(saved < 1_000, "the quota never filled");
    };
    assert!(matches!(err, Error::StorageFull), "got {err:?}");
    assert!(err.to_string().contains("storage is full"));
    s.integrity_check().unwrap();
    assert_eq!(s.counts().unwrap().events, saved);
    assert_eq!(s.outbox_len().unwrap(), saved);
    // Space comes back: writing works again, numbering continues densely.
    s.set_max_pages(1 << 30).unwrap();
    s.report_event(report("空间释放后")).unwrap();
    let out = s.outbox(10_000).unwrap();
    assert_eq!(out.last().unwrap().mutation.seq, saved as u64 + 1);
}

#[test]
fn deadline_colours_change_as_time_passes() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 200);
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-11-20T08:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    s.set_clock(move || t0);
    s.report_event(report("消防通道")).unwrap(); // 4 h limit, yellow at 50 %, red at 80 %
    for (minutes, colour) in [
        (0, DeadlineColour::Green),
        (121, DeadlineColour::Yellow),
        (200, DeadlineColour::Red),
        (241, DeadlineColour::Overdue),
    ] {
        s.set_clock(move || t0 + chrono::Duration::minutes(minutes));
        assert_eq!(
            s.events(10).unwrap()[0].colour,
            Some(colour),
            "after {minutes} min"
        );
    }
}

#[test]
fn a_deadline_in_working_days_skips_the_weekend_and_colours_by_working_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 200);
    let at = |rfc: &str| {
        chrono::DateTime::parse_from_rfc3339(rfc)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    // Friday 20 Nov 2026, 16:00 in Beijing: 意见建议 allows 5 working days.
    let t0 = at("2026-11-20T16:00:00+08:00");
    s.set_clock(move || t0);
    s.report_event(gridpad_core::NewReport {
        category_code: "1002".into(),
        fields: Default::default(),
        ..report("小区道路照明不足的建议")
    })
    .unwrap();
    let due = s.events(10).unwrap()[0].deadline_at.clone().unwrap();
    // Mon–Fri of the next week; the day it came in is not counted.
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(&due).unwrap(),
        at("2026-11-27T17:30:00+08:00")
    );
    for (now, colour) in [
        // 8 of 36.5 working hours used (60 % of the clock's time): still green.
        ("2026-11-23T17:00:00+08:00", DeadlineColour::Green),
        // 29 of 36.5 (90 % of the clock's): yellow, not red.
        ("2026-11-26T17:00:00+08:00", DeadlineColour::Yellow),
        ("2026-11-27T15:00:00+08:00", DeadlineColour::Red),
        ("2026-11-27T17:30:00+08:00", DeadlineColour::Overdue),
    ] {
        let t = at(now);
        s.set_clock(move || t);
        assert_eq!(s.events(10).unwrap()[0].colour, Some(colour), "at {now}");
    }
}

#[test]
fn tasks_follow_their_state_machine_and_each_command_is_queued() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 200);
    let grid = s.home_grid().unwrap().unwrap();
    s.apply_remote(&[RemoteChange {
        entity: Entity::Task,
        row_id: "t1".into(),
        op: Op::Insert,
        fields: fields(json!({
            "grid_id": grid.id, "title": "核查3栋消防通道", "status": "assigned",
            "created_at": "2026-11-20T08:00:00.000Z", "deadline_at": "2026-11-21T08:00:00.000Z",
            "category_code": "0201"
        })),
        hlc: Hlc::new(1, 0, "hub"),
    }])
    .unwrap();
    assert_eq!(s.outbox_len().unwrap(), 0);
    let err = s
        .task_command("t1", TaskCommand::Complete, "已清理", &[], None)
        .unwrap_err();
    assert!(matches!(err, Error::NotAllowed(_)), "{err}");
    assert_eq!(s.outbox_len().unwrap(), 0);
    s.task_command("t1", TaskCommand::Accept, "", &[], None)
        .unwrap();
    s.task_command("t1", TaskCommand::Start, "", &[], None)
        .unwrap();
    assert!(matches!(
        s.task_command("t1", TaskCommand::Complete, "", &[], None),
        Err(Error::Invalid(_))
    ));
    s.task_command(
        "t1",
        TaskCommand::Complete,
        "杂物已清理，通道畅通",
        &[],
        Some(Position::manual(29.95, 121.71, Some(8.0))),
    )
    .unwrap();
    let t = &s.tasks().unwrap()[0];
    assert_eq!(t.status, TaskStatus::Completed);
    assert_eq!(t.colour, None, "finished work has no deadline colour");
    let ops: Vec<Op> = s
        .outbox(10)
        .unwrap()
        .into_iter()
        .map(|e| e.mutation.op)
        .collect();
    assert_eq!(
        ops,
        vec![
            Op::Command("accept".into()),
            Op::Command("start".into()),
            Op::Command("complete".into())
        ]
    );
}

#[test]
fn lifecycle_changes_from_the_centre_show_in_the_event_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 200);
    let id = s.report_event(report("占用消防通道")).unwrap();
    let step = |status: &str, n: u16| RemoteChange {
        entity: Entity::Event,
        row_id: id.clone(),
        op: Op::Command("transition".into()),
        fields: fields(
            json!({"status": status, "actor": "镇海区综治中心", "note": "", "at": "2026-11-20T09:00:00Z"}),
        ),
        hlc: Hlc::new(9_999_999_999_999, n, "hub"),
    };
    s.apply_remote(&[
        step("accepted", 1),
        step("dispatched", 2),
        step("handled", 3),
        step("verified", 4),
        step("closed", 5),
    ])
    .unwrap();
    let history: Vec<EventStatus> = s
        .event_history(&id)
        .unwrap()
        .into_iter()
        .map(|h| h.status)
        .collect();
    use EventStatus::*;
    assert_eq!(
        history,
        vec![Reported, Accepted, Dispatched, Handled, Verified, Closed]
    );
    assert_eq!(s.event(&id).unwrap().unwrap().status, Closed);
    assert_eq!(
        s.outbox_len().unwrap(),
        1,
        "only the report itself is a local change"
    );
}

#[test]
fn a_registered_resident_is_searchable_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 200);
    let id = s
        .add_person(NewPerson {
            grid_id: None,
            house_id: None,
            name: "司马昇".into(),
            id_number: Some("11010519491231002X".into()),
            phone: Some("13912345678".into()),
            sex: Sex::Male,
            birth_date: Some("1949-12-31".into()),
            relation: Relation::Householder,
            residence_type: ResidenceType::Floating,
            tags: vec![PersonTag::ElderlyAlone],
            note: String::new(),
        })
        .unwrap();
    assert_eq!(s.search_people("马昇", 5, None).unwrap().hits[0].id, id);
    assert_eq!(s.search_people("002X", 5, None).unwrap().hits[0].id, id);
    s.update_person(&id, fields(json!({"name": "司马堃"})))
        .unwrap();
    assert!(s.search_people("马昇", 5, None).unwrap().hits.is_empty());
    assert_eq!(
        s.search_people("堃", 50, None)
            .unwrap()
            .hits
            .iter()
            .filter(|h| h.id == id)
            .count(),
        1
    );
    let p = s.person(&id).unwrap().unwrap();
    assert_eq!(p.tags, vec![PersonTag::ElderlyAlone]);
    let out = s.outbox(10).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].mutation.op, Op::Update);
    assert_eq!(
        out[1].mutation.fields.keys().collect::<Vec<_>>(),
        vec!["name"],
        "only the changed field travels"
    );
}

#[test]
fn a_report_references_its_photos_by_hash() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 200);
    let sha = "ab".repeat(32);
    s.register_photo(&sha, 180_000, "image/jpeg", Some(1600), Some(1200))
        .unwrap();
    s.register_photo(&sha, 180_000, "image/jpeg", Some(1600), Some(1200))
        .unwrap(); // same photo: one row
    let mut r = report("楼道堆物，附照片");
    r.photos = vec![sha.clone()];
    let id = s.report_event(r).unwrap();
    assert_eq!(s.event(&id).unwrap().unwrap().photos, vec![sha]);
    let photo_rows = s
        .outbox(10)
        .unwrap()
        .iter()
        .filter(|e| e.mutation.entity == Entity::Photo)
        .count();
    assert_eq!(photo_rows, 1);
}

#[test]
fn two_connections_write_at_once_without_failures_gaps_or_clock_inversions() {
    // The app's screens and its sync thread each hold a connection to the same file.
    let dir = tempfile::tempdir().unwrap();
    let mut ui = demo_store(dir.path(), 300);
    let mut other = ui.open_again().unwrap();
    assert_eq!(other.device_id(), ui.device_id());
    // The second connection's clock runs ahead (it merged a timestamp from the hub).
    let ahead = chrono::Utc::now().timestamp_millis() as u64 + 86_400_000;
    other
        .apply_remote(&[RemoteChange {
            entity: Entity::Notice,
            row_id: "n-ahead".into(),
            op: Op::Insert,
            fields: fields(
                json!({"title": "通知", "body": "正文", "published_at": "2026-11-20T01:00:00Z"}),
            ),
            hlc: Hlc::new(ahead, 0, "hub"),
        }])
        .unwrap();
    let writer = std::thread::spawn(move || {
        for i in 0..40 {
            other
                .report_event(report(&format!("同步线程 {i}")))
                .unwrap();
        }
        other
    });
    for i in 0..40 {
        ui.report_event(report(&format!("界面 {i}"))).unwrap();
    }
    writer.join().unwrap();
    let out = ui.outbox(1000).unwrap();
    assert_eq!(out.len(), 80, "every write committed");
    for (i, e) in out.iter().enumerate() {
        assert_eq!(e.mutation.seq, i as u64 + 1, "dense sequence");
    }
    for w in out.windows(2) {
        assert!(
            w[0].mutation.hlc < w[1].mutation.hlc,
            "HLCs follow the sequence"
        );
    }
    assert!(
        out.iter().all(|e| e.mutation.hlc.millis >= ahead),
        "writes on either connection order after what the other one saw"
    );
    ui.integrity_check().unwrap();
}

#[test]
fn the_stored_clock_never_goes_back_when_the_other_connection_applies_older_changes() {
    // The screens tick the clock far ahead (a device clock set a day fast, since put
    // right); the sync thread then applies the centre's changes stamped earlier. The clock
    // a restarted app resumes from must still be the screens' one.
    let dir = tempfile::tempdir().unwrap();
    let mut ui = demo_store(dir.path(), 100);
    let mut sync = ui.open_again().unwrap();
    let ahead = chrono::Utc::now() + chrono::Duration::days(1);
    ui.set_clock(move || ahead);
    let id = ui.report_event(report("时钟超前时的上报")).unwrap();
    let ticked = ui.outbox(10).unwrap().last().unwrap().mutation.hlc.clone();
    assert!(ticked.millis >= ahead.timestamp_millis() as u64);
    let earlier = Hlc::new(ticked.millis - 3_600_000, 0, "hub");
    sync.apply_remote(&[RemoteChange {
        entity: Entity::Notice,
        row_id: "n-1".into(),
        op: Op::Insert,
        fields: fields(
            json!({"title": "通知", "body": "正文", "published_at": "2026-11-20T01:00:00Z"}),
        ),
        hlc: earlier,
    }])
    .unwrap();
    drop((ui, sync));
    // The app restarts with the clock put right: its next write still orders after.
    let mut again = Store::open(dir.path(), PIN).unwrap();
    again.report_event(report("重启后的上报")).unwrap();
    let out = again.outbox(10).unwrap();
    let last = &out.last().unwrap().mutation;
    assert_ne!(last.row_id, id);
    assert!(
        last.hlc > ticked,
        "{} must order after {} (the stored clock went back)",
        last.hlc,
        ticked
    );
}

//! Rights between devices and grids: a device reads its own grid and its own reports only,
//! writes only base data of its grid and records it made itself, commands only its grid's
//! tasks. Every refusal is a rejected verdict with a reason, and changes nothing.

use gridpad_hostile::*;
use gridpad_proto::{Entity, Op};
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn now() -> String {
    wire::rfc3339_now()
}

fn person(grid: &str) -> Value {
    json!({"grid_id": grid, "name": "李四", "sex": "male", "residence_type": "floating"})
}

fn report(grid: &str, status: &str) -> Value {
    json!({"grid_id": grid, "category_code": "0401", "description": "占道经营",
           "status": status, "reporter": "网格员", "device_time": now()})
}

/// The five kinds of records a device makes for the centre, in `grid`, around `patrol`.
fn upward(grid: &str, patrol: &str) -> Vec<(Entity, Value)> {
    vec![
        (
            Entity::Patrol,
            json!({"grid_id": grid, "started_at": now(), "state": "active"}),
        ),
        (
            Entity::Visit,
            json!({"grid_id": grid, "kind": "in_home", "topic": "走访独居老人", "device_time": now()}),
        ),
        (
            Entity::Diary,
            json!({"grid_id": grid, "day": "2026-12-01", "content": "民情日记", "device_time": now()}),
        ),
        (
            Entity::Checkin,
            json!({"grid_id": grid, "patrol_id": patrol, "place": "东门", "device_time": now()}),
        ),
        (
            Entity::TrackSegment,
            json!({"patrol_id": patrol, "seq": 0, "start_time": now(), "end_time": now(),
                   "n_points": 1, "points": "00ff00ff"}),
        ),
    ]
}

/// `dev` makes the five upward records; their ids by entity.
fn make_upward(dev: &mut Device, grid: &str) -> Vec<(Entity, String)> {
    let patrol = uuid::Uuid::now_v7().to_string();
    upward(grid, &patrol)
        .into_iter()
        .map(|(e, f)| {
            let id = if e == Entity::Patrol {
                patrol.clone()
            } else {
                uuid::Uuid::now_v7().to_string()
            };
            assert_applied(&dev.push_one(e, &id, Op::Insert, f), &format!("own {e}"));
            (e, id)
        })
        .collect()
}

#[test]
fn a_device_reads_only_its_grid_and_its_own_reports() {
    let town = Town::new();
    let mut a = town.device(&town.small);
    let mut b = town.device(&town.big);
    let b_report = uuid::Uuid::now_v7().to_string();
    assert_applied(
        &b.push_one(
            Entity::Event,
            &b_report,
            Op::Insert,
            report(&town.big, "reported"),
        ),
        "b's report",
    );
    make_upward(&mut b, &town.big);
    let asked = vec![
        format!("grid:{}", town.big),
        format!("device:{}", b.id),
        format!("up:{}", b.id),
        format!("up:{}", a.id),
        "grid:".into(),
        "grid:../../etc".into(),
        "people".into(),
    ];
    let (ops, scopes) = a.pull_all(&asked);
    let mut mine: BTreeSet<String> = [
        format!("device:{}", a.id),
        "catalog".into(),
        "notices".into(),
        format!("grid:{}", town.small),
    ]
    .into();
    // The notices addressed to its grid and to every node above it.
    let tree = town.state();
    let mut node = Some(town.small.clone());
    while let Some(n) = node
        .take()
        .filter(|n| tree.fields(Entity::Grid, n).is_some())
    {
        node = tree.fields(Entity::Grid, &n).unwrap()["parent_id"]
            .as_str()
            .map(str::to_string);
        mine.insert(format!("notices:{n}"));
    }
    assert_eq!(scopes.into_iter().collect::<BTreeSet<_>>(), mine);
    assert!(
        ops.iter().all(|(s, _)| mine.contains(s)),
        "pages of own scopes only"
    );
    assert!(ops.len() > 10, "the device did get its own grid");
    let s = town.state();
    let foreign: BTreeSet<&str> = [Entity::Person, Entity::House, Entity::Building]
        .into_iter()
        .flat_map(|e| s.live(e))
        .filter(|(_, r)| r["scope"] == format!("grid:{}", town.big).as_str())
        .map(|(id, _)| id)
        .collect();
    assert!(foreign.len() > 1_000);
    for (_, op) in &ops {
        assert!(!foreign.contains(op.row_id.as_str()), "{op:?}");
        assert_ne!(op.fields.get("grid_id"), Some(&json!(town.big)), "{op:?}");
        assert_ne!(op.row_id, b_report);
    }
}

#[test]
fn a_device_writes_only_its_grid_and_what_the_centre_lets_it() {
    let town = Town::new();
    let mut a = town.device(&town.small);
    let mut b = town.device(&town.big);
    let mut honest = town.honest(&town.small);
    let (p_big, _) = town.record_in(Entity::Person, &town.big);
    let (p_small, _) = town.record_in(Entity::Person, &town.small);
    let b_report = uuid::Uuid::now_v7().to_string();
    assert_applied(
        &b.push_one(
            Entity::Event,
            &b_report,
            Op::Insert,
            report(&town.big, "reported"),
        ),
        "b's report",
    );
    let notice = town
        .admin_api(
            "post",
            "/v1/admin/notices",
            &json!({"title": "防汛通知", "body": "今晚有暴雨"}),
        )
        .json()["notice_id"]
        .as_str()
        .unwrap()
        .to_string();
    let task = |grid: &str| {
        town.admin_api(
            "post",
            "/v1/admin/tasks",
            &json!({"grid": grid, "title": "核查出租屋"}),
        )
        .json()["task_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (task_big, task_small) = (task(&town.big), task(&town.small));
    honest.sync_complete();
    let before = town.state();

    let new = || uuid::Uuid::now_v7().to_string();
    let cases: Vec<(&str, Entity, String, Op, Value)> = vec![
        (
            "edit a person of another grid",
            Entity::Person,
            p_big.clone(),
            Op::Update,
            json!({"note": "已搬走"}),
        ),
        (
            "delete a person of another grid",
            Entity::Person,
            p_big.clone(),
            Op::Delete,
            json!({}),
        ),
        (
            "insert over a person of another grid",
            Entity::Person,
            p_big.clone(),
            Op::Insert,
            person(&town.small),
        ),
        (
            "create a person in another grid",
            Entity::Person,
            new(),
            Op::Insert,
            person(&town.big),
        ),
        (
            "move a person of its grid into another",
            Entity::Person,
            p_small.clone(),
            Op::Update,
            json!({"grid_id": town.big}),
        ),
        (
            "pull a person of another grid into its own",
            Entity::Person,
            p_big.clone(),
            Op::Update,
            json!({"grid_id": town.small}),
        ),
        (
            "report into another grid",
            Entity::Event,
            new(),
            Op::Insert,
            report(&town.big, "reported"),
        ),
        (
            "report as already closed",
            Entity::Event,
            new(),
            Op::Insert,
            report(&town.small, "closed"),
        ),
        (
            "close another device's report",
            Entity::Event,
            b_report.clone(),
            Op::Update,
            json!({"status": "closed"}),
        ),
        (
            "overwrite another device's report",
            Entity::Event,
            b_report.clone(),
            Op::Insert,
            report(&town.small, "reported"),
        ),
        (
            "edit the catalog",
            Entity::CatalogCategory,
            "0401".into(),
            Op::Update,
            json!({"name": "改名"}),
        ),
        (
            "edit its grid",
            Entity::Grid,
            town.small.clone(),
            Op::Update,
            json!({"name": "改名"}),
        ),
        (
            "edit a notice",
            Entity::Notice,
            notice.clone(),
            Op::Update,
            json!({"title": "假通知"}),
        ),
        (
            "a receipt for a notice that does not exist",
            Entity::Notice,
            "no-such-notice".into(),
            Op::Update,
            json!({"read_at": now()}),
        ),
        (
            "accept a task of another grid",
            Entity::Task,
            task_big.clone(),
            Op::Command("accept".into()),
            json!({"at": now()}),
        ),
        (
            "complete a task of another grid",
            Entity::Task,
            task_big.clone(),
            Op::Command("complete".into()),
            json!({"at": now(), "feedback": "已处理"}),
        ),
        (
            "set a task's status",
            Entity::Task,
            task_small.clone(),
            Op::Update,
            json!({"status": "completed"}),
        ),
        (
            "a task command that does not exist",
            Entity::Task,
            task_small.clone(),
            Op::Command("close".into()),
            json!({"at": now()}),
        ),
        (
            "complete a task not yet accepted",
            Entity::Task,
            task_small.clone(),
            Op::Command("complete".into()),
            json!({"at": now()}),
        ),
        (
            "create a task",
            Entity::Task,
            new(),
            Op::Insert,
            json!({"grid_id": town.small, "title": "x", "status": "assigned", "created_at": now()}),
        ),
        (
            "a visit in another grid",
            Entity::Visit,
            new(),
            Op::Insert,
            upward(&town.big, "p")[1].1.clone(),
        ),
        (
            "a visit to a person of another grid",
            Entity::Visit,
            new(),
            Op::Insert,
            {
                let mut v = upward(&town.small, "p")[1].1.clone();
                v["person_id"] = json!(p_big);
                v
            },
        ),
        (
            "a check-in on another device's patrol",
            Entity::Checkin,
            new(),
            Op::Insert,
            upward(&town.small, "nobodys-patrol")[3].1.clone(),
        ),
    ];
    for (what, entity, id, op, f) in cases {
        let v = a.push_one(entity, &id, op, f);
        let reason = assert_rejected(&v, what);
        eprintln!("{what}: {reason}");
        town.state().assert_data_unchanged(&before, what);
    }
    let s = town.state();
    assert_eq!(
        s.fields(Entity::Task, &task_big).unwrap()["status"],
        "assigned"
    );
    honest.sync_complete();
    honest.assert_holds_grid(&s);
}

#[test]
fn visits_diaries_patrols_checkins_and_tracks_change_only_by_their_maker() {
    let town = Town::new();
    let mut a = town.device(&town.small);
    let mut neighbour = town.device(&town.small);
    let mut far = town.device(&town.big);
    let mut honest = town.honest(&town.small);
    let theirs: Vec<(Entity, String)> = make_upward(&mut neighbour, &town.small)
        .into_iter()
        .chain(make_upward(&mut far, &town.big))
        .collect();
    let before = town.state();
    let own_patrol = uuid::Uuid::now_v7().to_string();
    for (entity, id) in &theirs {
        let grid = &town.small;
        let whole = upward(grid, &own_patrol)
            .into_iter()
            .find(|(e, _)| e == entity)
            .unwrap()
            .1;
        let edit = match entity {
            Entity::Patrol => json!({"state": "finished", "ended_at": now()}),
            Entity::TrackSegment => json!({"points": "ffff"}),
            Entity::Diary => json!({"content": "篡改"}),
            _ => json!({"device_time": now()}),
        };
        for (op, f) in [(Op::Insert, whole), (Op::Update, edit)] {
            let what = format!("{} another device's {entity} {id}", op.to_text());
            let v = a.push_one(*entity, id, op, f);
            assert_rejected(&v, &what);
            town.state().assert_data_unchanged(&before, &what);
        }
    }
    // The maker still may.
    let (e, id) = &theirs[0];
    assert_eq!(*e, Entity::Patrol);
    assert_applied(
        &neighbour.push_one(
            Entity::Patrol,
            id,
            Op::Update,
            json!({"state": "finished", "ended_at": now()}),
        ),
        "the maker finishes its patrol",
    );
    honest.sync_complete();
}

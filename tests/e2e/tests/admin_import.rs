//! `gridhub admin import FILE` through the real binary honours each line's `op`: an
//! `update` line changes the record, a `delete` line removes it, an `insert` line adds
//! one — and a device's next sync shows it. `op` is written as the README says (`"op":
//! "delete"`), or in the tagged form older files use (`"op": {"op": "delete"}`).

use gridpad_core::Store;
use gridpad_testkit::process::*;
use serde_json::json;

/// A clock reading later than anything the demo town was stamped with.
fn hlc() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    format!("{ms:016x}-0000-centre")
}

/// The device's residents: id → name.
fn people(dev: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    let store = Store::open(dev, DEVICE_PIN).unwrap();
    let rows = store
        .conn()
        .prepare("SELECT id, name FROM person")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows
}

#[test]
fn an_import_updates_deletes_and_inserts_as_each_line_says() {
    let tmp = tempfile::tempdir().unwrap();
    let hub_dir = tmp.path().join("hub");
    let dev = tmp.path().join("device");
    let seeded = seed_demo(&hub_dir, 300);
    let grid = seeded["home_grid_code"].as_str().unwrap().to_string();
    let code = issue_code(&hub_dir, "王网格员", &grid);
    let hub = HubProcess::start(&hub_dir);
    init_and_enroll(&dev, &hub.url, &code);
    run(gridpad(&dev).args(["sync", "--once"]));
    let before = people(&dev);
    let ids: Vec<&String> = before.keys().take(4).collect();
    let (renamed, removed, renamed_tagged, removed_tagged) = (ids[0], ids[1], ids[2], ids[3]);

    // A new resident, a copy of one in the grid under another id and name.
    let store = Store::open(&dev, DEVICE_PIN).unwrap();
    let template: serde_json::Map<String, serde_json::Value> = store
        .conn()
        .query_row(
            "SELECT json_object('grid_id', grid_id, 'house_id', house_id, 'sex', sex, 'relation', relation, \
             'residence_type', residence_type) FROM person WHERE id = ?",
            [renamed],
            |r| r.get::<_, String>(0),
        )
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    drop(store);
    let mut newcomer = template.clone();
    newcomer.insert("name".into(), json!("新住户甲"));
    newcomer.retain(|_, v| !v.is_null());

    let file = tmp.path().join("changes.jsonl");
    let t = hlc();
    let lines = [
        json!({"entity": "person", "row_id": renamed, "op": "update",
               "fields": {"name": "改名乙"}, "hlc": t}),
        json!({"entity": "person", "row_id": removed, "op": "delete", "fields": {}, "hlc": t}),
        json!({"entity": "person", "row_id": renamed_tagged, "op": {"op": "update"},
               "fields": {"name": "改名丙"}, "hlc": t}),
        json!({"entity": "person", "row_id": removed_tagged, "op": {"op": "delete"},
               "fields": {}, "hlc": t}),
        json!({"entity": "person", "row_id": "import-newcomer-1", "op": "insert",
               "fields": newcomer, "hlc": t}),
    ];
    std::fs::write(
        &file,
        lines
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let out = run(hub.admin().arg("import").arg(&file));
    assert!(out.contains("imported 5 records"), "{out}");

    run(gridpad(&dev).args(["sync", "--once"]));
    let after = people(&dev);
    assert_eq!(
        after.get(renamed).map(String::as_str),
        Some("改名乙"),
        "update"
    );
    assert_eq!(
        after.get(renamed_tagged).map(String::as_str),
        Some("改名丙"),
        "update (tagged op)"
    );
    assert!(!after.contains_key(removed), "delete: the resident is gone");
    assert!(
        !after.contains_key(removed_tagged),
        "delete (tagged op): the resident is gone"
    );
    assert_eq!(
        after.get("import-newcomer-1").map(String::as_str),
        Some("新住户甲"),
        "insert"
    );
    assert_eq!(after.len(), before.len() - 2 + 1, "nothing else changed");

    // An update of a resident the hub no longer has changes nothing and says which line.
    std::fs::write(
        &file,
        json!({"entity": "person", "row_id": removed, "op": "update",
               "fields": {"name": "不存在"}, "hlc": hlc()})
        .to_string(),
    )
    .unwrap();
    let refused = hub.admin().arg("import").arg(&file).output().unwrap();
    assert!(
        !refused.status.success(),
        "an update of a deleted record is refused"
    );
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("no such record to update"), "{err}");
    // An op the import does not know is refused before anything is written.
    std::fs::write(
        &file,
        json!({"entity": "person", "row_id": renamed, "op": "upsert",
               "fields": {"name": "不该"}, "hlc": hlc()})
        .to_string(),
    )
    .unwrap();
    let refused = hub.admin().arg("import").arg(&file).output().unwrap();
    assert!(!refused.status.success(), "an unknown op is refused");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("line 1"), "names the line: {err}");
    run(gridpad(&dev).args(["sync", "--once"]));
    assert_eq!(people(&dev), after, "the refused imports changed nothing");
}

//! Evidence: seals and photos. Every number a device sends in its seals is bounded and its
//! gaps are ranges; a device seals only its own records; a photo is read only through a
//! record that really carries it from its owner; photos no record names are held only up
//! to a quota and swept.

use gridpad_evidence::seal::{self, SealInput, SealedRecord, GENESIS, MAX_SEAL_SEQ};
use gridpad_hostile::photo::*;
use gridpad_hostile::*;
use serde_json::{json, Value};

/// A seal of record `record_id` made by `dev` (its own key), numbered after `prev`.
fn seal_of(
    dev: &Device,
    prev: Option<(u64, &str)>,
    record_id: &str,
    photos: &[String],
) -> SealedRecord {
    seal::seal(
        dev.key(),
        &dev.id,
        prev,
        &SealInput {
            entity: "event".into(),
            record_id: record_id.into(),
            record: json!({"grid_id": dev.grids[0], "category_code": "0401",
                           "description": "占道经营", "reporter": "网格员"}),
            photos: photos.to_vec(),
            position: None,
            device_time: wire::rfc3339_now(),
            corrected_time: None,
        },
        &wire::rfc3339_now(),
    )
    .expect("seal")
}

fn send_seals(dev: &Device, last_seq: u64, seals: &[SealedRecord]) -> Answer {
    dev.http.json(
        "post",
        "/v1/seals",
        Some(dev.token()),
        &json!({"last_seq": last_seq, "seals": seals}),
    )
}

/// The centre's view of one event.
fn event(town: &Town, id: &str) -> Value {
    let a = town.admin_api("get", "/v1/admin/events?limit=1000", &Value::Null);
    assert_eq!(a.status, 200, "{}", a.text());
    a.json()
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("event {id} not listed"))
}

#[test]
fn a_seals_request_claiming_an_enormous_last_seq_allocates_nothing_and_lists_stay_small() {
    let town = Town::new();
    let mut d = town.device(&town.small);
    let ev = report(&mut d, &[]);
    // 40 bytes that used to make the hub materialise 2⁶² missing numbers.
    let a = send_seals(&d, 1 << 62, &[]);
    let p = a.refused(&[400]);
    assert!(p.detail.unwrap().contains("last_seq"));
    // At the bound: accepted, and answered as one range.
    let a = send_seals(&d, MAX_SEAL_SEQ, &[]);
    assert_eq!(a.status, 200, "{}", a.text());
    let r = a.json();
    assert_eq!(r["missing_count"], MAX_SEAL_SEQ);
    assert_eq!(
        r["missing_ranges"],
        json!([{"from": 1, "to": MAX_SEAL_SEQ}])
    );
    assert!(
        r["missing"].as_array().unwrap().len() <= 100,
        "{}",
        a.text().len()
    );
    // A sealed record signed with a number near the bound: one more range, no loop.
    let far = seal::seal(
        d.key(),
        &d.id,
        Some((MAX_SEAL_SEQ - 1, GENESIS)),
        &SealInput {
            entity: "event".into(),
            record_id: ev.clone(),
            record: json!({}),
            photos: vec![],
            position: None,
            device_time: wire::rfc3339_now(),
            corrected_time: None,
        },
        &wire::rfc3339_now(),
    )
    .unwrap();
    let a = send_seals(&d, MAX_SEAL_SEQ, &[far]);
    assert_eq!(a.status, 200, "{}", a.text());
    assert!(
        a.body.len() < 20_000,
        "the answer stays small: {} bytes",
        a.body.len()
    );
    // The centre's listing stays small too, and the hub still serves.
    let e = event(&town, &ev);
    let chain = &e["device_chain"];
    assert_eq!(chain["claimed_last_seq"], MAX_SEAL_SEQ);
    assert!(chain["missing"].as_array().unwrap().len() <= 100, "{chain}");
    assert_eq!(chain["missing_count"], MAX_SEAL_SEQ - 1);
    assert!(town.hub.log().len() < 100_000);
}

#[test]
fn a_device_cannot_taint_another_devices_evidence() {
    let town = Town::new();
    let mut a = town.device(&town.small);
    let mut b = town.device(&town.small);
    let ev = report(&mut a, &[]);
    let s1 = seal_of(&a, None, &ev, &[]);
    let r = send_seals(&a, 1, &[s1]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["verdicts"][0]["verdict"]["verdict"], "ok");
    let before = event(&town, &ev);
    assert_eq!(before["sealed_ok"], true, "{before}");

    // B seals A's report with its own key: refused by name, not kept.
    let forged = seal_of(&b, None, &ev, &[]);
    let r = send_seals(&b, 1, &[forged]);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = &r.json()["verdicts"][0]["verdict"];
    assert_eq!(v["verdict"], "altered", "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("another device"),
        "{v}"
    );
    let after = event(&town, &ev);
    assert_eq!(after["sealed_ok"], true, "{after}");
    assert_eq!(after["seal_flags"], json!([]), "{after}");
    assert_eq!(after["seal"], before["seal"]);
    // And B's own report is B's to seal.
    let own = report(&mut b, &[]);
    let r = send_seals(&b, 1, &[seal_of(&b, None, &own, &[])]);
    assert_eq!(
        r.json()["verdicts"][0]["verdict"]["verdict"],
        "ok",
        "{}",
        r.text()
    );
}

#[test]
fn a_photo_is_read_only_through_a_record_that_really_carries_it() {
    let town = Town::new();
    let mut owner = town.device(&town.small);
    let mut neighbour = town.device(&town.small);
    let mut far = town.device(&town.big);
    let bytes = photo_bytes("井盖缺失", 50_000);
    let sha = seal::sha256_hex(&bytes);
    report(&mut owner, &[&sha]);
    assert_eq!(upload(&owner, &bytes), 204);
    let got = download(&owner, &sha);
    assert_eq!(got.status, 200);
    assert_eq!(got.body, bytes);

    // A device of another grid names the hash in a report of its own: its report is
    // taken (it is its record), but it never had the photo, so it reads nothing.
    report(&mut far, &[&sha]);
    download(&far, &sha).refused(&[404]);
    // Knowing the hash alone: nothing either, in the same grid too.
    download(&neighbour, &sha).refused(&[404]);
    // A neighbour that names it in its own report gets nothing more.
    report(&mut neighbour, &[&sha]);
    download(&neighbour, &sha).refused(&[404]);
    // The owner still reads it.
    assert_eq!(download(&owner, &sha).status, 200);
}

#[test]
fn photos_no_record_names_are_held_only_up_to_a_quota_and_swept() {
    let town = Town::new();
    let mut honest = town.device(&town.small);
    let named = photo_bytes("named", 10_000);
    let named_sha = seal::sha256_hex(&named);
    report(&mut honest, &[&named_sha]);
    assert_eq!(upload(&honest, &named), 204);

    let hoarder = town.device(&town.small);
    let max = gridhub::photos::MAX_UNREFERENCED_PHOTOS;
    for i in 0..max {
        assert_eq!(
            upload(&hoarder, &photo_bytes(&format!("junk {i}"), 1_000)),
            204,
            "{i}"
        );
    }
    // One more photo that no record names: refused, with a reason.
    let extra = photo_bytes("one too many", 1_000);
    let a = hoarder.http.json(
        "post",
        "/v1/uploads",
        Some(hoarder.token()),
        &json!({"sha256": seal::sha256_hex(&extra), "length": extra.len()}),
    );
    let p = a.refused(&[413]);
    assert!(p.detail.unwrap().contains("names"));
    // The sweep forgets what no record names, and nothing a record names.
    let out = process::run_json(town.hub.admin().args([
        "sweep-photos",
        "--unreferenced-grace-hours",
        "0",
        "--json",
    ]));
    assert_eq!(out["photos_removed"], max as u64, "{out}");
    assert_eq!(download(&honest, &named_sha).status, 200);
    // Room again.
    assert_eq!(upload(&hoarder, &extra), 204);
}

//! The per-device hash chain: removed, reordered, altered, forged or forked records are
//! caught; an intact chain verifies in any arrival order.

use gridpad_evidence::seal::MAX_SEAL_SEQ;
use gridpad_evidence::seal::{self, canonical_json, ChainVerdict, GENESIS};
use gridpad_evidence::{verify_chain, ChainVerifier, SealInput, SealedRecord, SeqRange};
use ring::rand::SystemRandom;
use ring::signature::Ed25519KeyPair;
use serde_json::json;

fn key() -> Ed25519KeyPair {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap()
}

fn input(i: u32) -> SealInput {
    SealInput {
        entity: "event".into(),
        record_id: format!("ev-{i}"),
        record: json!({"category_code": "0101", "description": format!("井盖缺失 {i}"), "reporter": "王芳"}),
        photos: vec![seal::sha256_hex(format!("photo {i}").as_bytes())],
        position: Some(
            json!({"source": "gnss", "lat": 31.2304, "lon": 121.4737, "accuracy_m": 4.5}),
        ),
        device_time: format!("2026-05-01T08:{:02}:00.000Z", i % 60),
        corrected_time: Some(format!("2026-05-01T08:{:02}:02.000Z", i % 60)),
    }
}

fn chain(key: &Ed25519KeyPair, n: u32) -> Vec<SealedRecord> {
    let mut out: Vec<SealedRecord> = Vec::new();
    for i in 1..=n {
        let prev = out.last().map(|r| (r.seq, r.hash.as_str()));
        let r = seal::seal(key, "dev-1", prev, &input(i), "2026-05-01T09:00:00.000Z").unwrap();
        out.push(r);
    }
    out
}

#[test]
fn intact_chain_verifies() {
    let k = key();
    let recs = chain(&k, 5);
    assert_eq!(recs[0].prev, GENESIS);
    assert_eq!(recs[1].prev, recs[0].hash);
    let (v, missing) = verify_chain("dev-1", &seal::public_key(&k), &recs);
    assert!(v.iter().all(|v| *v == ChainVerdict::Ok), "{v:?}");
    assert!(missing.is_empty());
}

#[test]
fn removed_record_is_a_gap() {
    let k = key();
    let mut recs = chain(&k, 5);
    recs.remove(2); // seq 3
    let (v, missing) = verify_chain("dev-1", &seal::public_key(&k), &recs);
    assert_eq!(v[0], ChainVerdict::Ok);
    assert_eq!(v[1], ChainVerdict::Ok);
    assert_eq!(v[2], ChainVerdict::Gap { from: 3, to: 3 });
    assert_eq!(v[3], ChainVerdict::Ok);
    assert_eq!(missing, vec![SeqRange { from: 3, to: 3 }]);
}

#[test]
fn reordered_records_are_flagged_and_links_still_checked() {
    let k = key();
    let recs = chain(&k, 5);
    let order = [0, 1, 3, 2, 4];
    let shuffled: Vec<_> = order.iter().map(|&i| recs[i].clone()).collect();
    let (v, missing) = verify_chain("dev-1", &seal::public_key(&k), &shuffled);
    assert_eq!(
        v,
        vec![
            ChainVerdict::Ok,
            ChainVerdict::Ok,
            ChainVerdict::Gap { from: 3, to: 3 },
            ChainVerdict::Reorder,
            ChainVerdict::Ok
        ]
    );
    assert!(missing.is_empty());
}

#[test]
fn altered_body_or_envelope_is_caught() {
    let k = key();
    let pk = seal::public_key(&k);
    let recs = chain(&k, 3);

    // The description changed after sealing.
    let mut bad = recs.clone();
    bad[1].body = bad[1].body.replace("井盖缺失 2", "井盖缺失 9");
    let (v, _) = verify_chain("dev-1", &pk, &bad);
    assert!(matches!(v[1], ChainVerdict::Altered { .. }), "{v:?}");

    // A photo swapped: body altered and re-hashed, but the signature is over the old hash.
    let mut bad = recs.clone();
    bad[1].body = bad[1]
        .body
        .replace(&recs[1].parse_body().unwrap().photos[0], &"ab".repeat(32));
    bad[1].hash = seal::sha256_hex(bad[1].body.as_bytes());
    let (v, _) = verify_chain("dev-1", &pk, &bad);
    assert_eq!(v[1], ChainVerdict::BadSignature);

    // The envelope claims another record than the signed body.
    let mut bad = recs.clone();
    bad[2].record_id = "ev-other".into();
    let (v, _) = verify_chain("dev-1", &pk, &bad);
    assert!(matches!(v[2], ChainVerdict::Altered { .. }), "{v:?}");

    // Another device's key.
    let (v, _) = verify_chain("dev-1", &seal::public_key(&key()), &recs);
    assert!(v.iter().all(|v| *v == ChainVerdict::BadSignature));
}

#[test]
fn broken_link_fork_and_duplicate() {
    let k = key();
    let pk = seal::public_key(&k);
    let recs = chain(&k, 3);
    // A validly signed record 3 whose prev is not record 2 (made after a restored backup).
    let stray = seal::seal(&k, "dev-1", Some((2, &"cd".repeat(32))), &input(7), "t").unwrap();
    let (v, _) = verify_chain(
        "dev-1",
        &pk,
        &[recs[0].clone(), recs[1].clone(), stray.clone()],
    );
    assert!(matches!(v[2], ChainVerdict::BrokenLink { .. }), "{v:?}");

    // Late predecessor whose successor does not point at it.
    let (v, _) = verify_chain(
        "dev-1",
        &pk,
        &[recs[0].clone(), stray.clone(), recs[1].clone()],
    );
    assert_eq!(v[1], ChainVerdict::Gap { from: 2, to: 2 });
    assert!(matches!(v[2], ChainVerdict::BrokenLink { .. }), "{v:?}");

    let (v, _) = verify_chain(
        "dev-1",
        &pk,
        &[
            recs[0].clone(),
            recs[1].clone(),
            recs[2].clone(),
            stray,
            recs[2].clone(),
        ],
    );
    assert_eq!(v[3], ChainVerdict::Fork);
    assert_eq!(v[4], ChainVerdict::Duplicate);
}

#[test]
fn verifier_state_carries_over_between_batches() {
    let k = key();
    let pk = seal::public_key(&k);
    let recs = chain(&k, 4);
    let mut v = ChainVerifier::new("dev-1", &pk, Default::default());
    assert_eq!(v.check(&recs[0]), ChainVerdict::Ok);
    assert_eq!(v.check(&recs[1]), ChainVerdict::Ok);
    let state = serde_json::to_string(v.state()).unwrap();
    let mut v = ChainVerifier::new("dev-1", &pk, serde_json::from_str(&state).unwrap());
    assert_eq!(v.check(&recs[2]), ChainVerdict::Ok);
    assert_eq!(v.check(&recs[3]), ChainVerdict::Ok);
}

#[test]
fn canonical_json_is_order_independent() {
    let a: serde_json::Value =
        serde_json::from_str(r#"{"b":1,"a":{"y":[1,2.5,"x"],"x":null},"c":"王"}"#).unwrap();
    let b: serde_json::Value =
        serde_json::from_str(r#"{"c":"王","a":{"x":null,"y":[1,2.5,"x"]},"b":1}"#).unwrap();
    let ca = canonical_json(&a).unwrap();
    assert_eq!(ca, canonical_json(&b).unwrap());
    assert_eq!(ca, r#"{"a":{"x":null,"y":[1,2.5,"x"]},"b":1,"c":"王"}"#);
}

#[test]
fn bad_inputs_are_refused() {
    let k = key();
    let mut i = input(1);
    i.photos.push("not-a-hash".into());
    assert!(seal::seal(&k, "dev-1", None, &i, "t").is_err());
    let mut i = input(1);
    i.record = json!([1, 2]);
    assert!(seal::seal(&k, "dev-1", None, &i, "t").is_err());
}

#[test]
fn a_seal_numbered_near_the_bound_is_one_range_and_beyond_it_is_refused() {
    // A device may sign any sequence number. Its holes are ranges: the verifier's work and
    // answer follow the records it holds, not the number (this used to loop 2⁵³ times).
    let k = key();
    let far = seal::seal(
        &k,
        "dev-1",
        Some((MAX_SEAL_SEQ - 1, GENESIS)),
        &input(1),
        "2026-05-01T09:00:00.000Z",
    )
    .unwrap();
    assert_eq!(far.seq, MAX_SEAL_SEQ);
    let first = chain(&k, 1);
    let (v, missing) = verify_chain("dev-1", &seal::public_key(&k), &[first[0].clone(), far]);
    assert_eq!(v[0], ChainVerdict::Ok);
    assert_eq!(
        v[1],
        ChainVerdict::Gap {
            from: 2,
            to: MAX_SEAL_SEQ - 1
        }
    );
    assert_eq!(
        missing,
        vec![SeqRange {
            from: 2,
            to: MAX_SEAL_SEQ - 1
        }]
    );
    assert_eq!(missing[0].len(), MAX_SEAL_SEQ - 2);

    let beyond = seal::seal(
        &k,
        "dev-1",
        Some((MAX_SEAL_SEQ, GENESIS)),
        &input(2),
        "2026-05-01T09:00:00.000Z",
    )
    .unwrap();
    let (v, missing) = verify_chain("dev-1", &seal::public_key(&k), &[beyond]);
    assert!(matches!(v[0], ChainVerdict::Altered { .. }), "{v:?}");
    assert!(missing.is_empty());
}

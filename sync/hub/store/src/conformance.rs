//! The storage contract as tests: every backend runs [`run`] against a fresh store of its
//! own in its test suite (`gridhub-sqlite`'s `tests/conformance.rs`), so the hub's logic can
//! rely on the same behaviour whichever backend a deployment chose.
//!
//! Each check panics with the broken promise.

use crate::*;
use gridpad_proto::wire::OpKind;
use gridpad_proto::{Entity, Fields, Hlc};
use serde_json::json;

fn fields(v: serde_json::Value) -> Fields {
    v.as_object().unwrap().clone().into_iter().collect()
}

fn device(id: &str) -> DeviceRecord {
    DeviceRecord {
        device_id: id.into(),
        public_key: vec![7; 32],
        user: "张网格员".into(),
        label: "pad-1".into(),
        grids: vec!["g1".into()],
        enrolled_ms: 1,
        last_seen_ms: 1,
        app_version: "0.1.0".into(),
        last_seq: 0,
        health: Default::default(),
        status: DeviceStatus::Active,
        clock_offset_ms: 0,
    }
}

/// Run every check; `fresh` makes a new, empty store.
pub fn run(fresh: &dyn Fn() -> Box<dyn HubStore>) {
    devices_and_codes(&*fresh());
    nonces_are_taken_once(&*fresh());
    tokens_keep_their_kind(&*fresh());
    rows_round_trip(&*fresh());
    ops_are_ordered_and_summed_per_scope(&*fresh());
    verdicts_are_kept_by_device_and_seq(&*fresh());
    a_failed_transaction_leaves_nothing(&*fresh());
    evidence_records(&*fresh());
}

pub fn devices_and_codes(s: &dyn HubStore) {
    with_tx(s, |tx| {
        assert_eq!(tx.device("d1")?, None);
        let mut d = device("d1");
        tx.put_device(&d)?;
        d.status = DeviceStatus::Locked;
        d.last_seq = 9;
        tx.put_device(&d)?;
        assert_eq!(tx.device("d1")?, Some(d.clone()), "put_device replaces");
        tx.put_device(&device("d0"))?;
        let all: Vec<_> = tx.devices()?.into_iter().map(|d| d.device_id).collect();
        assert_eq!(all, vec!["d0", "d1"], "devices in id order");
        let c = EnrollmentCode {
            code_hash: "h".into(),
            user: "u".into(),
            label: "".into(),
            grids: vec!["g1".into()],
            expires_ms: 10,
            used_by: None,
        };
        tx.put_code(&c)?;
        assert_eq!(tx.code("h")?, Some(c));
        assert_eq!(tx.code("x")?, None);
        Ok(())
    })
    .unwrap();
}

pub fn nonces_are_taken_once(s: &dyn HubStore) {
    with_tx(s, |tx| {
        tx.put_nonce("n1", "d1", 100)?;
        assert_eq!(tx.take_nonce("n1")?, Some(("d1".to_string(), 100)));
        assert_eq!(tx.take_nonce("n1")?, None, "a challenge works once");
        tx.put_nonce("n2", "d1", 5)?;
        tx.purge_expired(50)?;
        assert_eq!(tx.take_nonce("n2")?, None, "expired challenges are purged");
        Ok(())
    })
    .unwrap();
}

pub fn tokens_keep_their_kind(s: &dyn HubStore) {
    with_tx(s, |tx| {
        tx.put_token("t1", &TokenOwner::Device("admin".into()), 100)?;
        tx.put_token("t2", &TokenOwner::Admin("ops".into()), 100)?;
        assert_eq!(
            tx.token("t1")?,
            Some((TokenOwner::Device("admin".into()), 100)),
            "a device named admin stays a device"
        );
        assert_eq!(
            tx.token("t2")?,
            Some((TokenOwner::Admin("ops".into()), 100))
        );
        tx.purge_expired(101)?;
        assert_eq!(tx.token("t1")?, None);
        Ok(())
    })
    .unwrap();
}

pub fn rows_round_trip(s: &dyn HubStore) {
    with_tx(s, |tx| {
        let mut r = Row::new(Entity::Person, "p1", Scope::Grid("g1".into()));
        r.fields = fields(json!({"name": "王芳", "tags": ["minor"]}));
        r.field_hlc.insert("name".into(), Hlc::new(5, 0, "d1"));
        tx.put_row(&r)?;
        assert_eq!(tx.row(Entity::Person, "p1")?, Some(r.clone()));
        assert_eq!(tx.row(Entity::House, "p1")?, None, "rows are per entity");
        r.deleted = true;
        r.scope = Scope::Grid("g2".into());
        tx.put_row(&r)?;
        tx.put_row(&Row::new(Entity::Person, "p2", Scope::Grid("g1".into())))?;
        let ids: Vec<_> = tx
            .rows(Entity::Person, 10)?
            .into_iter()
            .map(|r| r.row_id)
            .collect();
        assert_eq!(ids, vec!["p2", "p1"], "newest first");
        assert_eq!(tx.rows(Entity::Person, 1)?.len(), 1);
        assert_eq!(tx.row(Entity::Person, "p1")?, Some(r.clone()));
        Ok(())
    })
    .unwrap();
}

pub fn ops_are_ordered_and_summed_per_scope(s: &dyn HubStore) {
    let g1 = Scope::Grid("g1".into());
    let g2 = Scope::Grid("g2".into());
    let mut expected_sum: u32 = 0;
    with_tx(s, |tx| {
        expected_sum = 0;
        let mut last = 0;
        for i in 0..5u16 {
            let f = fields(json!({"n": i}));
            let op = tx.append_op(
                &g1,
                Entity::Person,
                "p",
                &OpKind::Put,
                &f,
                &Hlc::new(1, i, "hub"),
            )?;
            assert!(op.op_id > last, "op ids grow");
            last = op.op_id;
            expected_sum = expected_sum.wrapping_add(op.hash);
            tx.append_op(
                &g2,
                Entity::House,
                "h",
                &OpKind::Remove,
                &Fields::new(),
                &Hlc::new(1, i, "hub"),
            )?;
        }
        Ok(())
    })
    .unwrap();
    with_tx(s, |tx| {
        let last = tx.last_op(&g1)?;
        assert_eq!(tx.scope_summary(&g1, last)?, (expected_sum, 5));
        let all = tx.ops_after(&g1, 0, 1 << 20)?;
        assert_eq!(all.len(), 5);
        assert!(all.windows(2).all(|w| w[0].op_id < w[1].op_id));
        assert!(all.iter().all(|o| o.entity == Entity::Person));
        let one = tx.ops_after(&g1, 0, 1)?;
        assert_eq!(one.len(), 1, "at least one op, even past the byte budget");
        assert_eq!(tx.ops_after_count(&g1, all[1].op_id)?, 3);
        assert_eq!(tx.ops_after(&g1, last, 1 << 20)?.len(), 0);
        assert_eq!(tx.last_op(&Scope::Notices)?, 0);
        assert_eq!(tx.scope_summary(&Scope::Notices, 0)?, (0, 0));
        Ok(())
    })
    .unwrap();
}

pub fn verdicts_are_kept_by_device_and_seq(s: &dyn HubStore) {
    with_tx(s, |tx| {
        assert!(!tx.mutation_seen("m1")?);
        tx.record_mutation("m1", "d1", 1, "{\"v\":1}")?;
        tx.record_mutation("m2", "d1", 2, "{\"v\":2}")?;
        tx.record_mutation("m3", "d2", 1, "{\"v\":3}")?;
        assert!(tx.mutation_seen("m1")?);
        assert_eq!(
            tx.stored_verdict("d1", 2)?,
            Some(("m2".to_string(), "{\"v\":2}".to_string()))
        );
        assert_eq!(tx.stored_verdict("d2", 2)?, None);
        assert_eq!(tx.mutation_count(Some("d1"))?, 2);
        assert_eq!(tx.mutation_count(None)?, 3);
        Ok(())
    })
    .unwrap();
}

pub fn a_failed_transaction_leaves_nothing(s: &dyn HubStore) {
    let r = s.transaction(&mut |tx| {
        tx.put_device(&device("dx"))?;
        tx.append_op(
            &Scope::Catalog,
            Entity::CatalogCategory,
            "01",
            &OpKind::Put,
            &Fields::new(),
            &Hlc::new(1, 0, "hub"),
        )?;
        Err(StoreError::Backend("the closure failed".into()))
    });
    assert!(r.is_err());
    with_tx(s, |tx| {
        assert_eq!(tx.device("dx")?, None, "rolled back");
        assert_eq!(tx.last_op(&Scope::Catalog)?, 0, "rolled back");
        Ok(())
    })
    .unwrap();
}

pub fn evidence_records(s: &dyn HubStore) {
    let sha = "ab".repeat(32);
    with_tx(s, |tx| {
        tx.set_photo_refs(Entity::Event, "e1", std::slice::from_ref(&sha))?;
        tx.set_photo_refs(Entity::Task, "t1", std::slice::from_ref(&sha))?;
        let mut refs = tx.photo_refs(&sha)?;
        refs.sort();
        assert_eq!(
            refs,
            vec![
                (Entity::Event, "e1".to_string()),
                (Entity::Task, "t1".to_string())
            ]
        );
        tx.set_photo_refs(Entity::Task, "t1", &[])?;
        assert_eq!(tx.photo_refs(&sha)?.len(), 1, "a record's list is replaced");
        let seal = StoredSeal {
            device_id: "d1".into(),
            seq: 1,
            entity: "event".into(),
            record_id: "e1".into(),
            hash: "h1".into(),
            verdict: "\"ok\"".into(),
            body: "{}".into(),
            received_ms: 5,
        };
        tx.put_seal(&seal)?;
        tx.put_seal(&seal)?;
        assert_eq!(tx.seals_of("event", "e1")?, vec![seal], "kept once");
        assert_eq!(tx.chain_state("d1")?, None);
        tx.put_chain_state("d1", "{\"a\":1}")?;
        tx.put_chain_state("d1", "{\"a\":2}")?;
        assert_eq!(tx.chain_state("d1")?, Some("{\"a\":2}".into()));
        Ok(())
    })
    .unwrap();
}

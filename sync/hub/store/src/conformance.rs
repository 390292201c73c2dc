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
        account_id: None,
        ahead: None,
        lost_seqs: vec![],
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
    centre_records(&*fresh());
    concurrent_appends_are_never_skipped(&*fresh(), 8, 4, 50, 5);
    clock_floor_only_rises(&*fresh());
    a_lease_has_one_holder(&*fresh());
    deadline_records(&*fresh());
    handling_hops(&*fresh());
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
            account_id: Some("a1".into()),
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
        r.origin = Some("d1".into());
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

fn account(id: &str, username: &str) -> Account {
    Account {
        id: id.into(),
        username: username.into(),
        display_name: "李调度".into(),
        role: Role::Dispatcher,
        node_id: "n1".into(),
        department_id: None,
        password_hash: "$argon2id$…".into(),
        totp_secret: None,
        failed_logins: 0,
        locked_until_ms: 0,
        disabled: false,
        created_ms: 1,
        password_changed_ms: 1,
    }
}

fn audit_line(seq: u64) -> AuditEntry {
    AuditEntry {
        seq,
        at_ms: seq,
        actor: "a1".into(),
        actor_name: "li".into(),
        role: "dispatcher".into(),
        node_id: "n1".into(),
        action: "event.accept".into(),
        target: format!("event:e{seq}"),
        before: json!({"status": "reported"}),
        after: json!({"status": "accepted"}),
        address: "127.0.0.1".into(),
        prev_hash: "0".repeat(64),
        hash: format!("{seq:064}"),
    }
}

pub fn centre_records(s: &dyn HubStore) {
    with_tx(s, |tx| {
        tx.put_account(&account("a1", "li"))?;
        let mut a = account("a1", "li.new");
        a.failed_logins = 3;
        tx.put_account(&a)?;
        assert_eq!(tx.account("a1")?, Some(a.clone()), "put_account replaces");
        assert_eq!(tx.account_by_username("li.new")?, Some(a));
        assert_eq!(tx.account_by_username("li")?, None, "the old name is free");
        Ok(())
    })
    .unwrap();
    let clash = with_tx(s, |tx| tx.put_account(&account("a2", "li.new")));
    assert!(
        matches!(clash, Err(StoreError::Conflict(_))),
        "usernames are unique: {clash:?}"
    );
    with_tx(s, |tx| {
        assert_eq!(tx.accounts()?.len(), 1, "the clash left nothing");
        let d = Department {
            id: "d1".into(),
            code: "cg".into(),
            name: "城管".into(),
            node_id: "n1".into(),
        };
        tx.put_department(&d)?;
        assert_eq!(tx.department("d1")?, Some(d));
        let r = |level: &str, dep: &str| RoutingRule {
            category_code: "0201".into(),
            level: level.into(),
            department_code: dep.into(),
        };
        tx.put_routing("0201", &[r("street", "cg"), r("district", "xf")])?;
        tx.put_routing("0201", &[r("street", "xf")])?;
        assert_eq!(
            tx.routing()?,
            vec![r("street", "xf")],
            "a category's rules are replaced"
        );
        let sess = Session {
            account_id: "a1".into(),
            csrf: "c".into(),
            created_ms: 1,
            last_seen_ms: 1,
            expires_ms: 50,
            address: "127.0.0.1".into(),
        };
        tx.put_session("s1", &sess)?;
        tx.put_session(
            "s2",
            &Session {
                expires_ms: 500,
                ..sess.clone()
            },
        )?;
        assert_eq!(tx.session("s1")?, Some(sess.clone()));
        tx.purge_expired(100)?;
        assert_eq!(tx.session("s1")?, None, "expired sessions are purged");
        tx.delete_sessions_of("a1")?;
        assert_eq!(tx.session("s2")?, None);
        let t = ApiToken {
            id: "t1".into(),
            account_id: "a1".into(),
            label: "报表".into(),
            scopes: vec!["events.read".into()],
            created_ms: 1,
            expires_ms: 9,
            revoked: false,
        };
        tx.put_api_token(&t)?;
        assert_eq!(tx.api_tokens_of("a1")?, vec![t.clone()]);
        assert_eq!(tx.api_token("t1")?, Some(t));
        assert_eq!(tx.audit_tail()?, None);
        for seq in 1..=3 {
            tx.append_audit(&audit_line(seq))?;
        }
        assert_eq!(tx.audit_tail()?.map(|e| e.seq), Some(3));
        let after: Vec<u64> = tx.audit_after(1, 10)?.iter().map(|e| e.seq).collect();
        assert_eq!(after, vec![2, 3]);
        Ok(())
    })
    .unwrap();
    let again = with_tx(s, |tx| tx.append_audit(&audit_line(3)));
    assert!(again.is_err(), "an audit line is written once");
}

/// Many writers append to one scope while readers poll it as devices do (`ops_after` their
/// cursor, then move the cursor to the last op seen): every reader sees every op once, in
/// increasing order — a transaction that took its op id early and committed late is never
/// skipped. `writers × ops_per_writer` ops in all, `batch` per transaction.
pub fn concurrent_appends_are_never_skipped(
    s: &dyn HubStore,
    writers: usize,
    readers: usize,
    ops_per_writer: usize,
    batch: usize,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let scope = Scope::Grid("busy".into());
    let total = writers * ops_per_writer;
    let writing = AtomicUsize::new(writers);
    let seen: Vec<Vec<u64>> = std::thread::scope(|t| {
        for w in 0..writers {
            let (scope, writing) = (&scope, &writing);
            t.spawn(move || {
                // Readers stop when every writer is done, also one that failed.
                struct Done<'a>(&'a AtomicUsize);
                impl Drop for Done<'_> {
                    fn drop(&mut self) {
                        self.0.fetch_sub(1, Ordering::SeqCst);
                    }
                }
                let _done = Done(writing);
                let mut i = 0;
                while i < ops_per_writer {
                    let n = batch.min(ops_per_writer - i);
                    with_tx(s, |tx| {
                        for k in i..i + n {
                            let f = fields(json!({"w": w, "i": k}));
                            let hlc = Hlc::new(1 + k as u64, w as u16, "hub");
                            tx.append_op(
                                scope,
                                Entity::Person,
                                &format!("p{w}"),
                                &OpKind::Put,
                                &f,
                                &hlc,
                            )?;
                        }
                        Ok(())
                    })
                    .expect("append");
                    i += n;
                }
            });
        }
        let polls: Vec<_> = (0..readers)
            .map(|_| {
                let (scope, writing) = (&scope, &writing);
                t.spawn(move || {
                    let mut cursor = 0u64;
                    let mut ids = vec![];
                    loop {
                        let done = writing.load(Ordering::SeqCst) == 0;
                        let page = with_read_tx(s, |tx| tx.ops_after(scope, cursor, 64 << 10))
                            .expect("poll");
                        for op in &page {
                            assert!(op.op_id > cursor, "ops come in increasing order");
                            cursor = op.op_id;
                            ids.push(op.op_id);
                        }
                        if page.is_empty() && done {
                            return ids;
                        }
                        if page.is_empty() {
                            // A device polls now and then, not in a spin.
                            std::thread::sleep(std::time::Duration::from_millis(2));
                        }
                    }
                })
            })
            .collect();
        polls.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let all: Vec<u64> = with_tx(s, |tx| {
        Ok(tx
            .ops_after(&scope, 0, usize::MAX)?
            .iter()
            .map(|o| o.op_id)
            .collect())
    })
    .unwrap();
    // ops_after pages at most 5,000 ops: read the whole log page by page.
    let mut log = all;
    while log.len() < total {
        let from = *log.last().unwrap_or(&0);
        let more: Vec<u64> = with_tx(s, |tx| {
            Ok(tx
                .ops_after(&scope, from, usize::MAX)?
                .iter()
                .map(|o| o.op_id)
                .collect())
        })
        .unwrap();
        assert!(
            !more.is_empty(),
            "the log holds {} of {total} ops",
            log.len()
        );
        log.extend(more);
    }
    assert_eq!(log.len(), total, "every append is in the log once");
    for (r, ids) in seen.iter().enumerate() {
        assert_eq!(
            ids.len(),
            total,
            "reader {r} saw {} of {total} ops",
            ids.len()
        );
        assert_eq!(ids, &log, "reader {r} saw the log as it is");
    }
}

pub fn clock_floor_only_rises(s: &dyn HubStore) {
    with_tx(s, |tx| {
        assert_eq!(tx.clock_floor()?, 0, "no floor yet");
        tx.raise_clock_floor(1_800_000_000_500)?;
        tx.raise_clock_floor(1_800_000_000_100)?;
        assert_eq!(
            tx.clock_floor()?,
            1_800_000_000_500,
            "a lower mark never lowers it"
        );
        tx.raise_clock_floor(1_800_000_000_900)?;
        Ok(())
    })
    .unwrap();
    let floor = with_tx(s, |tx| tx.clock_floor()).unwrap();
    assert_eq!(floor, 1_800_000_000_900, "the floor is kept");
}

pub fn a_lease_has_one_holder(s: &dyn HubStore) {
    let take = |holder: &str, now: u64| {
        with_tx(s, |tx| tx.take_lease("sweep", holder, now, 1_000)).unwrap()
    };
    assert!(take("a", 10_000), "a free lease is taken");
    assert!(!take("b", 10_500), "not while a's lease runs");
    assert!(take("a", 10_900), "the holder renews");
    assert!(!take("b", 11_800), "renewed until 11900");
    assert!(take("b", 11_900), "taken over once it ran out");
    with_tx(s, |tx| tx.release_lease("sweep", "a")).unwrap();
    assert!(!take("c", 12_000), "only the holder gives it back");
    with_tx(s, |tx| tx.release_lease("sweep", "b")).unwrap();
    assert!(take("c", 12_000), "a lease given back is free");
    assert!(
        with_tx(s, |tx| tx.take_lease("other-job", "a", 12_000, 1_000)).unwrap(),
        "leases are per job"
    );
    // Instances asking at the same moment: exactly one holds it.
    let won = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|t| {
        for i in 0..8 {
            let won = &won;
            t.spawn(move || {
                let me = format!("instance-{i}");
                if with_tx(s, |tx| tx.take_lease("race", &me, 50_000, 60_000)).unwrap() {
                    won.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
    });
    assert_eq!(won.into_inner(), 1, "one instance wins a lease race");
}

pub fn deadline_records(s: &dyn HubStore) {
    let year = |y: i32, text: &str| CalendarYear {
        year: y,
        text: text.into(),
        imported_ms: 5,
    };
    let reminder = |id: &str, account: &str, at_ms: u64| Reminder {
        id: id.into(),
        account_id: account.into(),
        entity: "task".into(),
        record_id: "t1".into(),
        event_id: Some("e1".into()),
        threshold: "yellow".into(),
        reason: "responsible".into(),
        at_ms,
        deadline_at: "2026-11-23T03:00:00.000Z".into(),
        title: "处置: 楼道堆物".into(),
    };
    with_tx(s, |tx| {
        assert_eq!(tx.calendar_years()?, vec![]);
        tx.put_calendar_year(&year(2027, "year 2027"))?;
        tx.put_calendar_year(&year(2026, "year 2026"))?;
        tx.put_calendar_year(&year(2027, "year 2027\noff 2027-01-01"))?;
        assert_eq!(
            tx.calendar_years()?,
            vec![
                year(2026, "year 2026"),
                year(2027, "year 2027\noff 2027-01-01")
            ],
            "a year imported again replaces it; years in order"
        );
        assert!(tx.mark_threshold("task", "t1", "yellow", 10)?, "first mark");
        assert!(
            !tx.mark_threshold("task", "t1", "yellow", 11)?,
            "marked once"
        );
        assert!(tx.mark_threshold("task", "t1", "red", 12)?);
        assert!(
            tx.mark_threshold("event", "t1", "yellow", 12)?,
            "per entity"
        );
        let mut marked = tx.marked_thresholds("task", "t1")?;
        marked.sort();
        assert_eq!(marked, vec!["red".to_string(), "yellow".to_string()]);
        tx.put_reminder(&reminder("r1", "a1", 10))?;
        tx.put_reminder(&reminder("r2", "a1", 20))?;
        tx.put_reminder(&reminder("r3", "a2", 15))?;
        assert_eq!(
            tx.reminders_for("a1", 10)?,
            vec![reminder("r2", "a1", 20), reminder("r1", "a1", 10)],
            "an account's own, newest first"
        );
        assert_eq!(tx.reminders_for("a1", 1)?.len(), 1, "limited");
        Ok(())
    })
    .unwrap();
    // A mark rolled back with its transaction is not a mark.
    let r = with_tx(s, |tx| {
        assert!(tx.mark_threshold("task", "t2", "overdue", 30)?);
        tx.put_reminder(&Reminder {
            record_id: "t2".into(),
            ..reminder("r4", "a1", 30)
        })?;
        Err::<(), _>(StoreError::Backend("crash".into()))
    });
    assert!(r.is_err());
    with_tx(s, |tx| {
        assert_eq!(tx.marked_thresholds("task", "t2")?, Vec::<String>::new());
        assert_eq!(tx.reminders_for("a1", 10)?.len(), 2, "nor its reminder");
        Ok(())
    })
    .unwrap();
}

pub fn handling_hops(s: &dyn HubStore) {
    let hop = |event: &str, seq: u32, node: &str, dep: Option<&str>| Hop {
        event_id: event.into(),
        seq,
        node_id: node.into(),
        department_id: dep.map(Into::into),
        from_node_id: "community".into(),
        kind: "escalate".into(),
        reason: "超出社区处置能力".into(),
        deadline_at: dep.map(|_| "2026-11-23T03:00:00.000Z".into()),
        actor: "zhaobao".into(),
        at_ms: u64::from(seq) * 10,
    };
    with_tx(s, |tx| {
        assert_eq!(tx.hops("e1")?, vec![], "no hop: held by its area");
        tx.add_hop(&hop("e1", 1, "street", None))?;
        tx.add_hop(&hop("e1", 2, "street", Some("d-cg")))?;
        tx.add_hop(&hop("e2", 1, "street", Some("d-cg")))?;
        tx.add_hop(&hop("e2", 2, "street", None))?;
        tx.add_hop(&hop("e3", 1, "street", Some("d-cg")))?;
        Ok(())
    })
    .unwrap();
    with_tx(s, |tx| {
        assert_eq!(
            tx.hops("e1")?,
            vec![
                hop("e1", 1, "street", None),
                hop("e1", 2, "street", Some("d-cg"))
            ],
            "oldest first"
        );
        assert_eq!(
            tx.held_by_department("d-cg")?,
            vec!["e1".to_string(), "e3".to_string()],
            "only where the department holds the last hop"
        );
        let holds: Vec<(String, u32)> = tx
            .department_holds(10)?
            .into_iter()
            .map(|h| (h.event_id, h.seq))
            .collect();
        assert_eq!(
            holds,
            vec![("e1".to_string(), 2), ("e3".to_string(), 1)],
            "the departments' last hops, by event"
        );
        assert_eq!(tx.department_holds(1)?.len(), 1, "limited");
        for (seq, why) in [(2, "a seq taken"), (4, "a seq skipped")] {
            assert!(
                matches!(
                    tx.add_hop(&hop("e1", seq, "district", None)),
                    Err(StoreError::Conflict(_))
                ),
                "{why} is a conflict"
            );
        }
        assert_eq!(tx.hops("e1")?.len(), 2, "the refused hops left nothing");
        Ok(())
    })
    .unwrap();
}

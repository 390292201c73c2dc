//! A hub restored from a backup has forgotten mutations it acknowledged. The device kept
//! them: asked for an older sequence number than its outbox holds, it puts them back,
//! unchanged, so every report made after the backup reaches the restored hub. What it no
//! longer keeps it says, instead of pretending.

use gridpad_testkit::store as kit;

use gridpad_core::resend::Resend;
use gridpad_proto::wire::{Status, Verdict};

fn ok(seq: u64) -> Verdict {
    Verdict {
        seq,
        status: Status::Applied,
        reason: None,
        hlc: None,
        conflicts: vec![],
        canonical: Default::default(),
    }
}

fn acknowledge(s: &mut gridpad_core::Store) -> u64 {
    let pending = s.pending_mutations(1 << 20).unwrap();
    let last = pending.last().unwrap().seq;
    let verdicts: Vec<_> = pending.iter().map(|m| ok(m.seq)).collect();
    s.apply_verdicts(last, &verdicts).unwrap();
    last
}

#[test]
fn acknowledged_reports_are_sent_again_to_a_hub_that_lost_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = kit::demo_store(dir.path(), 20);
    for i in 0..3 {
        s.report_event(kit::report(&format!("楼道堆物 {i}")))
            .unwrap();
    }
    let before: Vec<_> = s.pending_mutations(1 << 20).unwrap();
    assert_eq!(before.len(), 3);
    let last = acknowledge(&mut s);
    assert!(s.pending_mutations(1 << 20).unwrap().is_empty());
    assert_eq!(s.kept_for_resend().unwrap(), 3);

    // A report made after the hub's backup was taken, not yet sent.
    s.report_event(kit::report("备份后的上报")).unwrap();
    // A hub that is not behind changes nothing.
    assert_eq!(s.resend_from(last + 1).unwrap(), Resend::NotBehind);

    // The hub was restored to a backup that holds only the first mutation.
    let expected = before[1].seq;
    assert_eq!(s.resend_from(expected).unwrap(), Resend::Requeued(2));
    let again = s.pending_mutations(1 << 20).unwrap();
    assert_eq!(
        again.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![before[1].seq, before[2].seq, last + 1],
        "contiguous from what the hub expects"
    );
    // Same ids: the hub's idempotency key, should the restored hub know one of them.
    assert_eq!(again[0].mutation_id, before[1].mutation_id);
    assert_eq!(again[1].mutation_id, before[2].mutation_id);
    assert_eq!(again[0].fields, before[1].fields);
    // Asked twice (the answer to the first resend was lost): nothing twice.
    assert_eq!(s.resend_from(expected).unwrap(), Resend::NotBehind);
    assert_eq!(s.pending_mutations(1 << 20).unwrap().len(), 3);

    // Acknowledged again, they are kept again.
    acknowledge(&mut s);
    assert_eq!(s.kept_for_resend().unwrap(), 4);
}

#[test]
fn what_the_device_no_longer_keeps_is_named_and_the_rest_goes_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = kit::demo_store(dir.path(), 20);
    let start = chrono::Utc::now();
    s.set_clock(move || start);
    s.report_event(kit::report("很久以前")).unwrap();
    let first = acknowledge(&mut s);
    // Forty days later the first one has been pruned when the next is acknowledged.
    let later = start + chrono::Duration::days(40);
    s.set_clock(move || later);
    s.report_event(kit::report("四十天后")).unwrap();
    let second = acknowledge(&mut s);
    assert_eq!(s.kept_for_resend().unwrap(), 1);
    assert_eq!(
        s.resend_from(first).unwrap(),
        Resend::Missing {
            from: first,
            kept_from: second,
            requeued: 1
        }
    );
    // What is kept goes again; what is not is not invented.
    let again = s.pending_mutations(1 << 20).unwrap();
    assert_eq!(
        again.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![second]
    );
}

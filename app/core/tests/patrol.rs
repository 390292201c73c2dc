//! Stopping a patrol is one transaction: its track segments and its totals are written
//! together or not at all, on real encrypted SQLite files.

use chrono::{DateTime, TimeZone, Utc};
use gridpad_core::{Error, NewTrackSegment, Store};
use gridpad_proto::{Entity, Op};
use gridpad_testkit::store::*;

fn t(s: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap() + chrono::Duration::seconds(s)
}

/// Bytes that do not compress (a full disk must really fill).
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn segment(
    start_s: i64,
    end_s: i64,
    n_points: i64,
    gap_before: bool,
    bytes: usize,
) -> NewTrackSegment {
    NewTrackSegment {
        start: t(start_s),
        end: t(end_s),
        n_points,
        gap_before,
        points: noise(bytes, start_s as u64 + 7),
    }
}

struct Written {
    outbox: i64,
    segments: i64,
    state: String,
    distance_m: f64,
    inside_grid_s: f64,
}

fn written(s: &Store, patrol: &str) -> Written {
    let (state, distance_m, inside_grid_s) = s
        .conn()
        .query_row(
            "SELECT state, distance_m, inside_grid_s FROM patrol WHERE id = ?",
            [patrol],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    Written {
        outbox: s.outbox_len().unwrap(),
        segments: s
            .conn()
            .query_row(
                "SELECT count(*) FROM track_segment WHERE patrol_id = ?",
                [patrol],
                |r| r.get(0),
            )
            .unwrap(),
        state,
        distance_m,
        inside_grid_s,
    }
}

/// Nothing of a failed stop is in the store, and the patrol is still the running one.
fn nothing_written(s: &Store, patrol: &str, outbox_before: i64) {
    let w = written(s, patrol);
    assert_eq!(w.outbox, outbox_before, "no outbox row of the failed stop");
    assert_eq!(w.segments, 0, "no track segment of the failed stop");
    assert_eq!(w.state, "active");
    assert_eq!((w.distance_m, w.inside_grid_s), (0.0, 0.0));
    let active = s.queries().active_patrol().unwrap().expect("still running");
    assert_eq!(active.id, patrol);
    s.integrity_check().unwrap();
}

#[test]
fn stopping_writes_the_segments_and_the_totals_together() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 50);
    let id = s.start_patrol().unwrap();
    let before = s.outbox_len().unwrap();
    let segs = [
        segment(0, 600, 120, false, 900),
        segment(900, 1500, 80, true, 700),
    ];
    s.stop_patrol(&id, &segs, 1234.5, 842.25).unwrap();

    let w = written(&s, &id);
    assert_eq!(w.state, "finished");
    assert_eq!((w.distance_m, w.inside_grid_s), (1234.5, 842.25));
    assert!(s.queries().active_patrol().unwrap().is_none());
    let rows: Vec<(i64, i64, bool, Vec<u8>)> = s
        .conn()
        .prepare("SELECT seq, n_points, gap_before, points FROM track_segment WHERE patrol_id = ? ORDER BY seq")
        .unwrap()
        .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 2);
    for (i, (row, seg)) in rows.iter().zip(&segs).enumerate() {
        assert_eq!(row.0, i as i64);
        assert_eq!(row.1, seg.n_points);
        assert_eq!(row.2, seg.gap_before);
        assert_eq!(row.3, seg.points, "the encoded points as given");
    }
    // Three outbox rows, in order, with dense sequence numbers: the segments, then the
    // patrol's totals.
    let out = s.outbox(10_000).unwrap();
    assert_eq!(out.len() as i64, before + 3);
    let last: Vec<_> = out[out.len() - 3..].iter().map(|e| &e.mutation).collect();
    assert_eq!(last[0].entity, Entity::TrackSegment);
    assert_eq!(last[1].entity, Entity::TrackSegment);
    assert_eq!(last[2].entity, Entity::Patrol);
    assert_eq!(last[2].op, Op::Update);
    assert_eq!(last[2].fields["inside_grid_s"], serde_json::json!(842.25));
    assert_eq!(last[1].seq, last[0].seq + 1);
    assert_eq!(last[2].seq, last[1].seq + 1);

    // A patrol that has ended cannot be stopped again.
    let err = s.stop_patrol(&id, &segs, 1.0, 1.0).unwrap_err();
    assert!(matches!(err, Error::NotAllowed(_)), "{err:?}");
    assert_eq!(s.outbox_len().unwrap(), before + 3);
    let err = s.stop_patrol("no-such-patrol", &[], 1.0, 1.0).unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

#[test]
fn an_invalid_segment_leaves_nothing_written_and_the_patrol_running() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 50);
    let id = s.start_patrol().unwrap();
    let before = s.outbox_len().unwrap();
    let good = segment(0, 600, 120, false, 900);

    // The second segment ends before it starts.
    let err = s
        .stop_patrol(
            &id,
            &[good.clone(), segment(900, 800, 10, true, 80)],
            500.0,
            60.0,
        )
        .unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err:?}");
    assert!(err.to_string().contains("track segment 2"), "{err}");
    nothing_written(&s, &id, before);

    for bad in [
        segment(900, 950, 0, true, 80), // no points
        segment(900, 950, 10, true, 0), // empty encoding
    ] {
        let err = s
            .stop_patrol(&id, &[good.clone(), bad], 500.0, 60.0)
            .unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{err:?}");
        nothing_written(&s, &id, before);
    }
    for (distance, inside) in [
        (-1.0, 60.0),
        (f64::NAN, 60.0),
        (500.0, -3.0),
        (500.0, f64::INFINITY),
    ] {
        let err = s
            .stop_patrol(&id, std::slice::from_ref(&good), distance, inside)
            .unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{err:?}");
        nothing_written(&s, &id, before);
    }

    // The user stops again with good data: everything is there once.
    s.stop_patrol(&id, &[good], 500.0, 60.0).unwrap();
    let w = written(&s, &id);
    assert_eq!(
        (w.outbox, w.segments, w.state.as_str()),
        (before + 2, 1, "finished")
    );
    assert_eq!((w.distance_m, w.inside_grid_s), (500.0, 60.0));
}

#[test]
fn a_full_disk_while_stopping_leaves_nothing_written_and_the_user_can_stop_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 50);
    let id = s.start_patrol().unwrap();
    let before = s.outbox_len().unwrap();
    s.checkpoint().unwrap();
    let pages: i64 = s
        .conn()
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    // Room for the first segment, not for all three (each ~3 × 24 KB with its outbox row).
    s.set_max_pages(pages as u64 + 24).unwrap();
    let segs: Vec<_> = (0..3)
        .map(|i| segment(i * 1000, i * 1000 + 600, 3000, i > 0, 24_000))
        .collect();
    let err = s.stop_patrol(&id, &segs, 3200.0, 1500.0).unwrap_err();
    assert!(matches!(err, Error::StorageFull), "{err:?}");
    nothing_written(&s, &id, before);

    // Space comes back: the same stop goes through, whole.
    s.set_max_pages(1 << 30).unwrap();
    s.stop_patrol(&id, &segs, 3200.0, 1500.0).unwrap();
    let w = written(&s, &id);
    assert_eq!(
        (w.outbox, w.segments, w.state.as_str()),
        (before + 4, 3, "finished")
    );
    assert_eq!((w.distance_m, w.inside_grid_s), (3200.0, 1500.0));
    let out = s.outbox(10_000).unwrap();
    let seqs: Vec<u64> = out.iter().map(|e| e.mutation.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "dense sequence numbers"
    );
}

#[test]
fn segments_of_an_earlier_attempt_are_continued_not_overwritten() {
    // A segment stored on its own (an older app) keeps its number; the stop numbers after it.
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 50);
    let id = s.start_patrol().unwrap();
    s.add_track_segment(&id, 0, t(0), t(60), 12, false, &noise(90, 1))
        .unwrap();
    s.stop_patrol(&id, &[segment(120, 180, 12, true, 90)], 100.0, 50.0)
        .unwrap();
    let seqs: Vec<i64> = s
        .conn()
        .prepare("SELECT seq FROM track_segment WHERE patrol_id = ? ORDER BY seq")
        .unwrap()
        .query_map([&id], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(seqs, vec![0, 1]);
}

//! One set of read types (issue 13): a change the hub refused, a conflict and a photo
//! read the same whichever way they are reached — the CLI's `dead-letters` and
//! `conflicts` show what the sync screen shows (with the record's title and the hub's
//! detail), and the uploader and the photo picker see the same photo.

use gridpad_core::queries::{ConflictItem, PhotoItem, RejectedItem};
use gridpad_testkit::store::*;

#[test]
fn the_cli_and_the_sync_screen_read_refusals_and_conflicts_as_one_type() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 40);
    let id = s.report_event(report("楼道堆放杂物")).unwrap();
    let person: String = s
        .conn()
        .query_row("SELECT id FROM person ORDER BY rid LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    let name: String = s
        .conn()
        .query_row("SELECT name FROM person WHERE id = ?", [&person], |r| {
            r.get(0)
        })
        .unwrap();
    let seq: i64 = s
        .conn()
        .query_row("SELECT seq FROM outbox WHERE row_id = ?", [&id], |r| {
            r.get(0)
        })
        .unwrap();
    let q = s.queries();
    q.reject_outbox_row_for_tests(seq, "invalid", "事项分类已停用")
        .unwrap();
    q.add_conflict_for_tests(
        "person",
        &person,
        "phone",
        "13900000001",
        "13800000002",
        "centre",
    )
    .unwrap();

    let cli: Vec<RejectedItem> = s.dead_letters().unwrap();
    let screen: Vec<RejectedItem> = s.queries().rejected(10).unwrap();
    assert_eq!(cli, screen);
    assert_eq!(cli[0].title, "楼道堆放杂物");
    assert_eq!(cli[0].detail, "事项分类已停用");

    let cli: Vec<ConflictItem> = s.conflict_notices().unwrap();
    let screen: Vec<ConflictItem> = s.queries().conflicts(10).unwrap();
    assert_eq!(cli, screen);
    assert_eq!(cli[0].title, name);
    assert_eq!(cli[0].winning_value.as_deref(), Some("13800000002"));
}

#[test]
fn the_uploader_and_the_photo_picker_read_one_photo_type() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_store(dir.path(), 10);
    let sha = "ab".repeat(32);
    s.register_photo(&sha, 1234, "image/jpeg", Some(640), Some(480))
        .unwrap();
    let picked: Vec<PhotoItem> = s.queries().draft_photos(&[], 10).unwrap();
    let upload: Option<PhotoItem> = s.photo_upload(&sha).unwrap();
    assert_eq!(picked.first(), upload.as_ref());
    s.set_photo_upload(&sha, "u-1", 512).unwrap();
    let up = s.photo_upload(&sha).unwrap().unwrap();
    assert_eq!(
        (up.upload_id.as_deref(), up.upload_offset),
        (Some("u-1"), 512)
    );
    assert_eq!((up.width, up.height), (Some(640), Some(480)));
}

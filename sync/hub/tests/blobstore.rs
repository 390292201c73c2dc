//! The hub's file-system blob store: idempotent uploads, offset checks, SHA-256
//! verification, possession per device.

use gridhub::blobstore::{BlobError, BlobStore, FsBlobStore};
use gridpad_evidence::seal::sha256_hex;

#[test]
fn upload_verify_and_possession() {
    let dir = tempfile::tempdir().unwrap();
    let s = FsBlobStore::open(dir.path()).unwrap();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7) as u8).collect();
    let sha = sha256_hex(&data);

    let u = s.create_upload("dev-a", &sha, data.len() as u64).unwrap();
    assert_eq!(u.offset, 0);
    assert_eq!(s.append(&u.id, 0, &data[..1000]).unwrap(), 1000);
    // Same device and hash: the same upload, at its offset.
    let again = s.create_upload("dev-a", &sha, data.len() as u64).unwrap();
    assert_eq!((again.id.as_str(), again.offset), (u.id.as_str(), 1000));
    // Another device gets its own upload.
    assert_ne!(
        s.create_upload("dev-b", &sha, data.len() as u64)
            .unwrap()
            .id,
        u.id
    );
    // Wrong offset and overlong appends are refused.
    assert!(matches!(
        s.append(&u.id, 0, &data[..10]),
        Err(BlobError::Conflict(1000))
    ));
    assert!(matches!(
        s.append(&u.id, 1000, &vec![0; data.len()]),
        Err(BlobError::TooLong)
    ));
    s.append(&u.id, 1000, &data[1000..]).unwrap();
    s.sync(&u.id).unwrap();
    s.complete(&u.id).unwrap();
    assert!(s.delivered("dev-a", &sha).unwrap());
    // The blob exists, but dev-b has not shown it has the bytes.
    assert!(!s.delivered("dev-b", &sha).unwrap());
    assert_eq!(s.blob_len(&sha).unwrap(), Some(data.len() as u64));
    assert_eq!(s.read_blob(&sha, 10, 20).unwrap(), &data[10..20]);
    assert!(s.upload(&u.id).unwrap().is_none());
}

#[test]
fn bytes_that_do_not_hash_to_the_claim_are_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let s = FsBlobStore::open(dir.path()).unwrap();
    let claimed = sha256_hex(b"the real photo");
    let u = s.create_upload("dev-a", &claimed, 14).unwrap();
    s.append(&u.id, 0, b"a forged photo").unwrap();
    assert!(matches!(s.complete(&u.id), Err(BlobError::DigestMismatch)));
    assert_eq!(s.blob_len(&claimed).unwrap(), None);
    assert!(!s.delivered("dev-a", &claimed).unwrap());
    assert!(s.upload(&u.id).unwrap().is_none());
    // Ids that are not ours are unknown, not paths.
    assert!(s.upload("../../etc/passwd").unwrap().is_none());
}

/// A completion cut after the photo was renamed into the store (the `.part` is gone, the
/// delivery not marked, the upload still open): the upload counts every byte in, and
/// completing it again — or `recover` at start — finishes it. It used to answer an I/O
/// error for ever (the append found no `.part`).
#[test]
fn a_completion_cut_after_the_rename_is_finished_again() {
    let dir = tempfile::tempdir().unwrap();
    let s = FsBlobStore::open(dir.path()).unwrap();
    let data: Vec<u8> = (0..50_000u32).map(|i| (i * 13) as u8).collect();
    let sha = sha256_hex(&data);
    let u = s.create_upload("dev-a", &sha, data.len() as u64).unwrap();
    s.append(&u.id, 0, &data).unwrap();
    s.sync(&u.id).unwrap();
    // What the rename step did, and nothing after it.
    let part = dir.path().join("uploads").join(format!("{}.part", u.id));
    std::fs::create_dir_all(s.blob_path(&sha).parent().unwrap()).unwrap();
    std::fs::rename(&part, s.blob_path(&sha)).unwrap();

    let cut = s.upload(&u.id).unwrap().expect("still open");
    assert_eq!(cut.offset, data.len() as u64, "every byte is in");
    assert!(!s.delivered("dev-a", &sha).unwrap());
    s.sync(&u.id).unwrap();
    assert_eq!(s.recover().unwrap(), 1);
    assert!(s.delivered("dev-a", &sha).unwrap());
    assert!(s.upload(&u.id).unwrap().is_none(), "closed");
    assert_eq!(s.read_blob(&sha, 0, data.len() as u64).unwrap(), data);
    // Nothing left to recover; asking again is harmless.
    assert_eq!(s.recover().unwrap(), 0);
}

/// All bytes in, completion never begun (the hub stopped): `recover` verifies and
/// completes it; a finished upload that does not hash right is discarded, not kept.
#[test]
fn recover_completes_full_uploads_and_discards_wrong_ones() {
    let dir = tempfile::tempdir().unwrap();
    let s = FsBlobStore::open(dir.path()).unwrap();
    let good = vec![7u8; 10_000];
    let bad = vec![9u8; 10_000];
    let g = s
        .create_upload("dev-a", &sha256_hex(&good), 10_000)
        .unwrap();
    s.append(&g.id, 0, &good).unwrap();
    let b = s
        .create_upload("dev-a", &sha256_hex(&[1u8; 10_000]), 10_000)
        .unwrap();
    s.append(&b.id, 0, &bad).unwrap();
    let half = s
        .create_upload("dev-b", &sha256_hex(&good), 10_000)
        .unwrap();
    s.append(&half.id, 0, &good[..5_000]).unwrap();
    drop(s);
    let s = FsBlobStore::open(dir.path()).unwrap();
    assert_eq!(s.recover().unwrap(), 2);
    assert!(s.delivered("dev-a", &sha256_hex(&good)).unwrap());
    assert!(s.upload(&b.id).unwrap().is_none());
    assert!(s.blob_len(&sha256_hex(&[1u8; 10_000])).unwrap().is_none());
    // An upload still missing bytes is left for its device to resume.
    assert_eq!(s.upload(&half.id).unwrap().unwrap().offset, 5_000);
}

/// Two gridhub instances sharing one photo directory (two stores opened on it, as two
/// processes would): devices' chunks racing through both at the same offsets never
/// interleave, and the upload completes with the right bytes on either instance.
#[test]
fn two_instances_share_one_photo_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        FsBlobStore::open(dir.path()).unwrap(),
        FsBlobStore::open(dir.path()).unwrap(),
    );
    let data: Vec<u8> = (0..400_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let sha = sha256_hex(&data);
    let id = a
        .create_upload("dev-a", &sha, data.len() as u64)
        .unwrap()
        .id;
    // Begun on one instance, found at its offset on the other.
    a.append(&id, 0, &data[..1000]).unwrap();
    assert_eq!(
        b.create_upload("dev-a", &sha, data.len() as u64)
            .unwrap()
            .offset,
        1000
    );
    std::thread::scope(|t| {
        for k in 0..8 {
            let (s, data, id) = (if k % 2 == 0 { &a } else { &b }, &data, &id);
            t.spawn(move || loop {
                let Some(u) = s.upload(id).unwrap() else {
                    return;
                };
                let at = u.offset as usize;
                if at >= data.len() {
                    return;
                }
                let end = (at + 997).min(data.len());
                match s.append(id, u.offset, &data[at..end]) {
                    Ok(_) | Err(BlobError::Conflict(_)) => {}
                    Err(e) => panic!("append: {e}"),
                }
            });
        }
    });
    b.sync(&id).unwrap();
    b.complete(&id)
        .expect("the bytes arrived once each, in order");
    assert!(a.delivered("dev-a", &sha).unwrap());
    assert_eq!(a.read_blob(&sha, 0, data.len() as u64).unwrap(), data);
}

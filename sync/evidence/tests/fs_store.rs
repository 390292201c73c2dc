//! The hub's file-system blob store: idempotent uploads, offset checks, SHA-256
//! verification, possession per device.

use gridpad_evidence::fs_store::FsBlobStore;
use gridpad_evidence::hub::{BlobError, BlobStore};
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

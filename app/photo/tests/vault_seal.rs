//! The vault (encrypted, content-addressed, atomic, deduplicated, space-checked) and the
//! seal chain kept in the store.

mod common;

use common::*;
use gridpad_evidence::seal::{public_key, ChainVerdict};
use gridpad_evidence::verify_chain;
use gridpad_photo::vault::{self, Vault, VaultError, SEGMENT};

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn vault_round_trip_ranges_dedup_and_no_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let key = [7u8; 32];
    let v = Vault::open(dir.path(), &key).unwrap();
    let data = bytes(3 * SEGMENT + 1234, 1);
    let sha = v.put(&data).unwrap();
    assert_eq!(sha, vault::sha256_hex(&data));
    assert_eq!(v.len(&sha).unwrap(), data.len() as u64);
    assert_eq!(v.read(&sha).unwrap(), data);
    for (a, n) in [
        (0u64, 10u64),
        (SEGMENT as u64 - 5, 10),
        (100, 2 * SEGMENT as u64 + 7),
        (data.len() as u64 - 3, 100),
    ] {
        let got = v.read_range(&sha, a, n).unwrap();
        let end = (a + n).min(data.len() as u64) as usize;
        assert_eq!(got, &data[a as usize..end]);
    }
    // Named by HMAC, not by the hash; the file holds no plaintext.
    let path = v.path_of(&sha);
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    assert!(!name.contains(&sha[..16]));
    let raw = std::fs::read(&path).unwrap();
    assert_eq!(raw.len() as u64, vault::encrypted_len(data.len() as u64));
    assert!(!raw.windows(64).any(|w| w == &data[1000..1064]));
    // Dedup: the same bytes again are the same file, untouched.
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    assert_eq!(v.put(&data).unwrap(), sha);
    assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), mtime);
    assert_eq!(v.usage().unwrap().files, 1);
    // Another key cannot read it.
    let other = Vault::open(dir.path(), &[8u8; 32]).unwrap();
    assert!(matches!(other.read(&sha), Err(VaultError::NotFound(_))));
}

#[test]
fn tampered_or_truncated_files_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let v = Vault::open(dir.path(), &[1u8; 32]).unwrap();
    let data = bytes(2 * SEGMENT + 10, 2);
    let sha = v.put(&data).unwrap();
    let path = v.path_of(&sha);
    let orig = std::fs::read(&path).unwrap();

    let mut flipped = orig.clone();
    flipped[100] ^= 1;
    std::fs::write(&path, &flipped).unwrap();
    assert!(matches!(v.read(&sha), Err(VaultError::Damaged(_))));

    // Drop the last segment: the one before it was sealed as "not last".
    std::fs::write(&path, &orig[..orig.len() - 26]).unwrap();
    assert!(v.read(&sha).is_err());
    std::fs::write(&path, &orig).unwrap();
    assert_eq!(v.read(&sha).unwrap(), data);
}

#[test]
fn short_storage_is_refused_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = Vault::open(dir.path(), &[1u8; 32]).unwrap();
    let u = v.usage().unwrap();
    assert!(u.free > 0);
    v.reserve = u.free + 1; // pretend the disk is as good as full
    let err = v.put(&bytes(50_000, 3)).unwrap_err();
    assert!(matches!(err, VaultError::StorageFull { .. }), "{err}");
    assert!(err.to_string().starts_with("storage is full"));
    assert_eq!(v.usage().unwrap().files, 0);
    assert_eq!(std::fs::read_dir(v.dir().join("tmp")).unwrap().count(), 0);
}

#[test]
fn interrupted_write_leftovers_are_cleaned_and_never_referenced() {
    let dir = tempfile::tempdir().unwrap();
    let v = Vault::open(dir.path(), &[1u8; 32]).unwrap();
    std::fs::write(v.dir().join("tmp").join("dead.tmp"), b"half a photo").unwrap();
    drop(v);
    let v = Vault::open(dir.path(), &[1u8; 32]).unwrap();
    assert_eq!(std::fs::read_dir(v.dir().join("tmp")).unwrap().count(), 0);
    assert_eq!(v.usage().unwrap().files, 0);
}

#[test]
fn reports_are_sealed_into_a_verifiable_chain() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = demo_store(dir.path());
    let vault = Vault::open(dir.path(), store.photo_key()).unwrap();
    let wm = gridpad_photo::Watermarker::bundled().unwrap();
    let stamp = gridpad_photo::Stamp {
        time: store.now(),
        time_corrected: false,
        position: None,
        accuracy_m: None,
        grid: "测试网格".into(),
        reporter: "网格员测试".into(),
    };
    let mut ids = Vec::new();
    for i in 0..3 {
        let src = jpeg(&picture(640, 480, 10 + i), 90);
        let c = gridpad_photo::capture(&mut store, &vault, &wm, &src, &Default::default(), &stamp)
            .unwrap();
        let id = store
            .report_event(report(&format!("消防通道堵塞 {i}"), vec![c.sha256.clone()]))
            .unwrap();
        gridpad_photo::seal_event(&mut store, &id).unwrap();
        ids.push((id, c.sha256));
    }
    // Sealing the same record twice is refused.
    assert!(gridpad_photo::seal_event(&mut store, &ids[0].0).is_err());

    let recs = gridpad_photo::seals_after(&store, 0, 100).unwrap();
    assert_eq!(recs.len(), 3);
    let body = recs[1].parse_body().unwrap();
    assert_eq!(body.photos, vec![ids[1].1.clone()]);
    assert_eq!(body.record_id, ids[1].0);
    let pk = public_key(&store.device_keypair().unwrap());
    let (v, missing) = verify_chain(store.device_id(), &pk, &recs);
    assert!(v.iter().all(|v| *v == ChainVerdict::Ok), "{v:?}");
    assert!(missing.is_empty());

    // The seal survives a reopen, and the next one links to it.
    drop(store);
    let mut store = gridpad_core::Store::open(dir.path(), PIN).unwrap();
    let id = store.report_event(report("第四条", vec![])).unwrap();
    let r4 = gridpad_photo::seal_event(&mut store, &id).unwrap();
    assert_eq!(r4.seq, 4);
    assert_eq!(r4.prev, recs[2].hash);
    let (progress_total, progress_done) = store.record_photo_progress("event", &ids[0].0).unwrap();
    assert_eq!((progress_total, progress_done), (1, 0));
}

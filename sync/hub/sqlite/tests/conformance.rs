//! The storage contract (`gridhub_store::conformance`) on SQLite files, and this backend's
//! own promises: migrations bring an older database forward and refuse a newer one.

use gridhub_sqlite::SqliteStore;
use gridhub_store::{conformance, with_tx, HubStore, TokenOwner};

#[test]
fn sqlite_keeps_the_storage_contract() {
    let dirs = std::cell::RefCell::new(vec![]);
    conformance::run(&|| {
        let d = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(d.path()).unwrap();
        dirs.borrow_mut().push(d);
        Box::new(s) as Box<dyn HubStore>
    });
}

#[test]
fn a_hub_database_from_before_versioned_migrations_is_brought_forward() {
    let d = tempfile::tempdir().unwrap();
    {
        // The schema gridhub created before migrations were versioned (version 0), with an
        // administrator token and a device that had enrolled itself as "admin".
        let c = rusqlite::Connection::open(d.path().join("gridhub.db")).unwrap();
        c.execute_batch(include_str!("../src/migrations/0001_init.sql"))
            .unwrap();
        c.execute_batch(
            "INSERT INTO token VALUES ('adm', 'admin', 99);
             INSERT INTO token VALUES ('dev', 'd-1', 99);",
        )
        .unwrap();
    }
    let s = SqliteStore::open(d.path()).unwrap();
    with_tx(&s, |tx| {
        assert_eq!(
            tx.token("adm")?,
            Some((TokenOwner::Admin("admin".into()), 99))
        );
        assert_eq!(
            tx.token("dev")?,
            Some((TokenOwner::Device("d-1".into()), 99))
        );
        Ok(())
    })
    .unwrap();
    drop(s);
    SqliteStore::open(d.path()).expect("opening again is idempotent");
}

#[test]
fn a_database_from_a_newer_gridhub_is_refused_with_a_clear_message() {
    let d = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(d.path()).unwrap());
    rusqlite::Connection::open(d.path().join("gridhub.db"))
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = SqliteStore::open(d.path()).err().unwrap().to_string();
    assert!(err.contains("newer"), "{err}");
}

//! Opening the encrypted database and bringing its schema up to date.

use crate::error::{Error, Result};
use crate::keyring::DataKey;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

pub const DB_FILE: &str = "gridpad.db";

/// The schema migrations, in order. `user_version` holds how many have been applied.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_base_data",
        include_str!("migrations/0001_base_data.sql"),
    ),
    ("0002_work", include_str!("migrations/0002_work.sql")),
    ("0003_search", include_str!("migrations/0003_search.sql")),
    (
        "0004_sync_and_evidence",
        include_str!("migrations/0004_sync_and_evidence.sql"),
    ),
    (
        "0005_house_details",
        include_str!("migrations/0005_house_details.sql"),
    ),
    (
        "0006_sync_recovery",
        include_str!("migrations/0006_sync_recovery.sql"),
    ),
    (
        "0007_deadline_unit",
        include_str!("migrations/0007_deadline_unit.sql"),
    ),
];

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Open (or create) the database at `path` with the data key and the durability settings:
///
/// - `journal_mode=WAL`: readers never block the writer (UI reads during sync apply);
/// - `synchronous=FULL`: every commit is fsynced to the WAL before it returns, so a
///   report the user saw saved survives a pulled battery (NORMAL could lose the last
///   commits on power loss; the cost is one fsync per commit, fine at human write rates,
///   and bulk sync apply batches rows per transaction);
/// - `foreign_keys=ON`; `temp_store=MEMORY` so sort spills never reach disk unencrypted.
pub fn open(path: &Path, key: &DataKey) -> Result<Connection> {
    // SQLite would create the file with the process's umask (readable by all) and give
    // its -wal, -shm and -journal files the same mode: create it private first.
    if !path.exists() {
        crate::private::create_file(path).map_err(|e| Error::io(path, e))?;
    }
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // Must be the first statement on the connection.
    conn.execute_batch(&format!("PRAGMA key = {};", &*key.sqlcipher_literal()))?;
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => {}
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
            return Err(Error::BadKeyFile {
                path: path.to_path_buf(),
                reason: "the data key does not open this database (wrong key file, or the database is damaged)".into(),
            })
        }
        Err(e) => return Err(e.into()),
    }
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA busy_timeout = 5000;",
    )?;
    // Transactions take the write lock when they begin: with a second connection (the
    // app's sync thread) a deferred transaction that read first could not upgrade and
    // would fail at once instead of waiting out `busy_timeout`.
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
    Ok(conn)
}

pub fn user_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Apply every migration the database has not seen yet, each in its own transaction.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, SCHEMA_VERSION)
}

/// Bring the schema to exactly `target` (≤ the newest). Used by `migrate`, and by tests
/// that build databases as earlier versions of Gridpad left them.
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<()> {
    let current = user_version(conn)?;
    if current > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    for version in current + 1..=target.min(SCHEMA_VERSION) {
        let (_, sql) = MIGRATIONS[(version - 1) as usize];
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        after_migration(&tx, version)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

/// Data steps of a migration that need Rust.
fn after_migration(tx: &rusqlite::Transaction<'_>, version: i64) -> Result<()> {
    if version == 3 {
        crate::search::rebuild_all(tx)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order() {
        for (i, (name, _)) in MIGRATIONS.iter().enumerate() {
            assert!(name.starts_with(&format!("{:04}_", i + 1)), "{name}");
        }
    }
}

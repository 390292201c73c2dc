//! The device store: an encrypted SQLite database holding the grid's base data and all
//! pending work, with the outbox contract for sync.
//!
//! One concern per file:
//!
//! - here: opening (a new data directory, the PIN, a second connection), the device's
//!   identity and clock, device settings (`kv`);
//! - [`outbox`]: transactions and the outbox contract — every local change goes through
//!   [`Store::write`] → [`Writer::record`], which in one transaction appends the outbox
//!   row (dense sequence number, UUIDv7 mutation id, HLC) and applies the very same
//!   mutation to the domain tables; the centre's changes arrive as pages of the scopes'
//!   logs (`Store::apply_page`, `crate::sync_state`) and apply through the same code;
//! - the writes, one file per kind of record: [`people`] (residents), [`reports`] (events
//!   and task commands), [`field_work`] (visits, diary, patrols, photos, notices);
//!   houses and organisations are `crate::base_data` (their forms' checks and field-level diffs);
//! - every read is in [`crate::queries`], with the one set of read types.

mod field_work;
mod outbox;
mod people;
mod reports;

use crate::db;
use crate::error::{Error, Result};
use crate::keyring::{self, DataKey};
use chrono::{DateTime, SecondsFormat, Utc};
pub use gridpad_proto::RemoteChange;
use gridpad_proto::{Hlc, HlcClock};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};

pub use crate::queries::{Counts, EventSummary, TaskSummary};
pub use field_work::{NewTrackSegment, NewVisit};
pub use outbox::{OutboxEntry, Writer};
pub use people::NewPerson;
pub use reports::NewReport;

/// Longest free text we accept in one field (a report description, a diary entry).
pub const MAX_TEXT: usize = 4_000;

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

type Now = Box<dyn Fn() -> DateTime<Utc> + Send>;

pub struct Store {
    conn: Connection,
    dir: PathBuf,
    device_id: String,
    clock: HlcClock,
    now: Now,
    /// Key for photo files, derived from the data key (HKDF-SHA256, "gridpad-photo-v1").
    photo_key: zeroize::Zeroizing<[u8; 32]>,
    /// The data key, kept to open a second connection ([`Store::open_again`]).
    key: DataKey,
}

/// Options for a new data directory.
#[derive(Clone, Debug)]
pub struct InitOptions {
    pub device_id: Option<String>,
    pub kdf_iterations: u32,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            device_id: None,
            kdf_iterations: keyring::DEFAULT_ITERATIONS,
        }
    }
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub(crate) fn text(field: &str, s: &str, required: bool) -> Result<()> {
    if required && s.trim().is_empty() {
        return Err(Error::Invalid(format!("{field} is empty")));
    }
    if s.chars().count() > MAX_TEXT {
        return Err(Error::Invalid(format!(
            "{field} is longer than {MAX_TEXT} characters"
        )));
    }
    Ok(())
}

impl Store {
    /// Create a new data directory: key file (data key wrapped under `pin`) and database.
    pub fn init(dir: &Path, pin: &str, opts: InitOptions) -> Result<Store> {
        // Private from the start: 0700 directory, 0600 files (see `private`).
        crate::private::create_dir(dir).map_err(|e| Error::io(dir, e))?;
        let db_path = dir.join(db::DB_FILE);
        if db_path.exists() || keyring::key_path(dir).exists() {
            return Err(Error::AlreadyInitialised(dir.to_path_buf()));
        }
        let device_id = opts.device_id.clone().unwrap_or_else(new_id);
        let key = keyring::create_with_iterations(dir, pin, &device_id, opts.kdf_iterations)?;
        let mut store = Store::open_with_key(dir, &key, device_id)?;
        store.set_kv("device_id", &store.device_id.clone())?;
        Ok(store)
    }

    /// Open an existing data directory with the user's PIN.
    pub fn open(dir: &Path, pin: &str) -> Result<Store> {
        if !dir.join(db::DB_FILE).exists() {
            return Err(Error::NotInitialised(dir.to_path_buf()));
        }
        let device_id = keyring::device_id(dir)?;
        let key = keyring::unlock(dir, pin)?;
        // A data directory an older build left readable by all is made private.
        crate::private::tighten_if_open(dir);
        Store::open_with_key(dir, &key, device_id)
    }

    fn open_with_key(dir: &Path, key: &DataKey, device_id: String) -> Result<Store> {
        let mut conn = db::open(&dir.join(db::DB_FILE), key)?;
        db::migrate(&mut conn)?;
        let last: Option<String> = conn
            .query_row("SELECT value FROM kv WHERE key = 'hlc'", [], |r| r.get(0))
            .optional()?;
        let last = last.and_then(|s| s.parse::<Hlc>().ok());
        Ok(Store {
            conn,
            dir: dir.to_path_buf(),
            clock: HlcClock::new(device_id.clone(), last),
            device_id,
            now: Box::new(Utc::now),
            photo_key: key.derive(b"gridpad-photo-v1"),
            key: key.duplicate(),
        })
    }

    /// A second connection to the same encrypted database, without the PIN (the app's
    /// sync thread has its own, so a slow hub never holds up the screens). Writes through
    /// either are safe: transactions take the write lock up front and every local write
    /// first merges the clock the other connection may have advanced.
    pub fn open_again(&self) -> Result<Store> {
        let mut other = Store::open_with_key(&self.dir, &self.key, self.device_id.clone())?;
        if self.clock.last() > other.clock.last() {
            other.clock.observe(self.clock.last(), 0);
        }
        Ok(other)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// The key photo files are encrypted with (derived from the data key, so a wipe of
    /// the key file makes them unreadable too).
    pub fn photo_key(&self) -> &[u8; 32] {
        &self.photo_key
    }

    /// The device's Ed25519 identity (PKCS#8), created on first use and kept in the
    /// encrypted database. It signs sealed records and authenticates the device to the hub.
    pub fn device_key_pkcs8(&mut self) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        if let Some(hexed) = self.kv("device_key")? {
            return hex::decode(hexed)
                .map(zeroize::Zeroizing::new)
                .map_err(|_| Error::Crypto("stored device key is damaged".into()));
        }
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| Error::Crypto("generating the device key".into()))?;
        let bytes = zeroize::Zeroizing::new(pkcs8.as_ref().to_vec());
        self.set_kv("device_key", &hex::encode(&*bytes))?;
        Ok(bytes)
    }

    /// The device's Ed25519 key pair (see [`Store::device_key_pkcs8`]).
    pub fn device_keypair(&mut self) -> Result<ring::signature::Ed25519KeyPair> {
        let pkcs8 = self.device_key_pkcs8()?;
        ring::signature::Ed25519KeyPair::from_pkcs8(&pkcs8)
            .map_err(|_| Error::Crypto("stored device key is not Ed25519 PKCS#8".into()))
    }

    /// Replace the wall clock (tests, simulations).
    pub fn set_clock(&mut self, now: impl Fn() -> DateTime<Utc> + Send + 'static) {
        self.now = Box::new(now);
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.now)()
    }

    /// Read-only access for queries that have no typed API yet (diagnostics, tests).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Limit the database to `pages` pages (quota; also used to test a full disk).
    pub fn set_max_pages(&self, pages: u64) -> Result<i64> {
        Ok(self
            .conn
            .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                r.get(0)
            })?)
    }

    pub fn kv(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM kv WHERE key = ?", [key], |r| r.get(0))
            .optional()?)
    }

    /// Device settings that are not domain data (not synced, no outbox row).
    pub fn set_kv(&mut self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    pub fn delete_kv(&mut self, key: &str) -> Result<()> {
        self.conn.execute("DELETE FROM kv WHERE key = ?", [key])?;
        Ok(())
    }

    // ---- base data -------------------------------------------------------------------

    // ---- catalog ---------------------------------------------------------------------

    // ---- events ----------------------------------------------------------------------

    // ---- tasks -----------------------------------------------------------------------

    // ---- visits, diary, patrols, photos, notices ------------------------------------------

    // ---- outbox and health -----------------------------------------------------------
}

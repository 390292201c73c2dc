//! The device store: an encrypted SQLite database holding the grid's base data and all
//! pending work, with the outbox contract for sync.
//!
//! Every local change goes through [`Store::write`] → [`Writer::record`], which in one
//! transaction appends the outbox row (dense sequence number, UUIDv7 mutation id, HLC) and
//! applies the very same mutation to the domain tables. Nothing changes the domain
//! without its outbox row, and no outbox row exists without its change.

use crate::apply::{self, Origin};
use crate::db;
use crate::error::{Error, Result};
use crate::keyring::{self, DataKey};
use crate::model::*;
use crate::search::{self, HouseHit, OrganisationHit, Page, PersonHit};
use chrono::{DateTime, SecondsFormat, Utc};
pub use gridpad_proto::RemoteChange;
use gridpad_proto::{Entity, Fields, Hlc, HlcClock, Mutation, Op};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Longest free text we accept in one field (a report description, a diary entry).
pub const MAX_TEXT: usize = 4_000;

/// This connection's clock merged with the one stored in the database: the other
/// connection (the app's sync thread, or the screens) may have moved it on. Inside the
/// write transaction, so no one moves it in between.
fn merged_clock(tx: &rusqlite::Transaction<'_>, mine: &HlcClock, now_ms: u64) -> Result<HlcClock> {
    let mut clock = mine.clone();
    let stored: Option<String> = tx
        .query_row("SELECT value FROM kv WHERE key = 'hlc'", [], |r| r.get(0))
        .optional()?;
    if let Some(stored) = stored.and_then(|s| s.parse::<Hlc>().ok()) {
        if &stored > clock.last() {
            clock.observe(&stored, now_ms);
        }
    }
    Ok(clock)
}

/// Persist the clock (never lower than what is stored: it was merged first).
fn store_clock(tx: &rusqlite::Transaction<'_>, clock: &HlcClock) -> Result<()> {
    tx.execute(
        "INSERT INTO kv (key, value) VALUES ('hlc', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [clock.last().to_string()],
    )?;
    Ok(())
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
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

/// One outbox row, as sync will push it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    #[serde(flatten)]
    pub mutation: Mutation,
    pub created_at: String,
    pub state: String,
    pub attempts: i64,
}

/// A report of an event, as the user fills it in.
#[derive(Clone, Debug, Default)]
pub struct NewReport {
    /// Defaults to the device's own grid.
    pub grid_id: Option<String>,
    pub category_code: String,
    pub description: String,
    pub address_text: String,
    pub fields: serde_json::Map<String, Value>,
    pub photos: Vec<String>,
    pub position: Option<Position>,
    /// GNSS-corrected time of the report, when the clock offset is known.
    pub corrected_time: Option<DateTime<Utc>>,
    /// 自行处置: handled on the spot and reported as such.
    pub handled_on_spot: bool,
    pub reporter: String,
}

/// A new resident registered on the device.
#[derive(Clone, Debug)]
pub struct NewPerson {
    pub grid_id: Option<String>,
    pub house_id: Option<String>,
    pub name: String,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub sex: Sex,
    pub birth_date: Option<String>,
    pub relation: Relation,
    pub residence_type: ResidenceType,
    pub tags: Vec<PersonTag>,
    pub note: String,
}

/// A household visit (走访) as the user records it.
#[derive(Clone, Debug)]
pub struct NewVisit {
    pub house_id: Option<String>,
    pub person_id: Option<String>,
    pub kind: VisitKind,
    pub topic: String,
    pub note: String,
    pub position: Option<Position>,
    pub corrected_time: Option<DateTime<Utc>>,
}

/// One segment of a patrol's track as the app hands it to [`Store::stop_patrol`]: the
/// points already compactly encoded (`gridpad_gnss::track::encode_segment`).
#[derive(Clone, Debug, PartialEq)]
pub struct NewTrackSegment {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub n_points: i64,
    /// A gap in reception precedes this segment.
    pub gap_before: bool,
    pub points: Vec<u8>,
}

impl NewTrackSegment {
    fn check(&self, i: usize) -> Result<()> {
        let bad = |why: &str| Err(Error::Invalid(format!("track segment {}: {why}", i + 1)));
        if self.n_points < 1 {
            return bad("it has no points");
        }
        if self.points.is_empty() {
            return bad("its points are empty");
        }
        if self.end < self.start {
            return bad("it ends before it starts");
        }
        Ok(())
    }

    fn fields(&self, patrol_id: &str, seq: i64) -> Fields {
        let mut f = Fields::new();
        f.insert("patrol_id".into(), json!(patrol_id));
        f.insert("seq".into(), json!(seq));
        f.insert("start_time".into(), json!(rfc3339(self.start)));
        f.insert("end_time".into(), json!(rfc3339(self.end)));
        f.insert("n_points".into(), json!(self.n_points));
        f.insert("gap_before".into(), json!(self.gap_before));
        f.insert("points".into(), json!(hex::encode(&self.points)));
        f
    }
}

/// An event as lists show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventSummary {
    pub id: String,
    pub category: String,
    pub description: String,
    pub status: EventStatus,
    pub colour: Option<DeadlineColour>,
    pub deadline_at: Option<String>,
    pub device_time: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskSummary {
    pub id: String,
    pub title: String,
    pub status: TaskStatus,
    pub colour: Option<DeadlineColour>,
    pub deadline_at: Option<String>,
}

/// Counts of what the store holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub grids: i64,
    pub buildings: i64,
    pub houses: i64,
    pub persons: i64,
    pub organisations: i64,
    pub facilities: i64,
    pub categories: i64,
    pub events: i64,
    pub tasks: i64,
    pub outbox: i64,
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn text(field: &str, s: &str, required: bool) -> Result<()> {
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

    /// Run `f` in one transaction. Everything it records is committed together, or —
    /// on any error, including a full disk — nothing is.
    pub fn write<T>(&mut self, f: impl FnOnce(&mut Writer<'_>) -> Result<T>) -> Result<T> {
        let now = (self.now)();
        let tx = self.conn.transaction()?;
        let clock = merged_clock(&tx, &self.clock, now.timestamp_millis().max(0) as u64)?;
        let mut w = Writer { tx, clock, now };
        let out = f(&mut w)?;
        let Writer { tx, clock, .. } = w;
        store_clock(&tx, &clock)?;
        tx.commit()?;
        self.clock = clock;
        Ok(out)
    }

    /// Apply a batch of the centre's changes in one transaction (sync pull, demo data).
    pub fn apply_remote(&mut self, changes: &[RemoteChange]) -> Result<()> {
        let now_ms = (self.now)().timestamp_millis().max(0) as u64;
        let tx = self.conn.transaction()?;
        let mut clock = merged_clock(&tx, &self.clock, now_ms)?;
        for c in changes {
            apply::apply(
                &tx,
                c.entity,
                &c.row_id,
                &c.op,
                &c.fields,
                &c.hlc,
                Origin::Hub,
            )?;
            clock.observe(&c.hlc, now_ms);
        }
        store_clock(&tx, &clock)?;
        tx.commit()?;
        self.clock = clock;
        Ok(())
    }

    /// Merge a timestamp seen from the hub into the device's clock, so that a later local
    /// edit orders after what the user has seen, however slow the device clock is.
    pub(crate) fn observe_hlc(&mut self, seen: &Hlc) -> Result<()> {
        if seen <= self.clock.last() {
            return Ok(());
        }
        let now_ms = (self.now)().timestamp_millis().max(0) as u64;
        let tx = self.conn.transaction()?;
        let mut clock = merged_clock(&tx, &self.clock, now_ms)?;
        if seen > clock.last() {
            clock.observe(seen, now_ms);
        }
        store_clock(&tx, &clock)?;
        tx.commit()?;
        self.clock = clock;
        Ok(())
    }

    /// Merge the search index after a bulk load.
    pub fn optimize_search(&self) -> Result<()> {
        search::optimize(&self.conn)
    }

    // ---- base data -------------------------------------------------------------------

    /// The grid this device works in (set by provisioning, enrollment or demo data).
    pub fn home_grid(&self) -> Result<Option<Grid>> {
        match self.kv("grid_id")? {
            Some(id) => self.grid(&id),
            None => Ok(None),
        }
    }

    pub fn grid(&self, id: &str) -> Result<Option<Grid>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, code, name, level, parent_id, boundary FROM grid WHERE id = ? OR code = ?",
                [id, id],
                |r| {
                    let level: String = r.get(3)?;
                    let boundary: Option<String> = r.get(5)?;
                    Ok(Grid {
                        id: r.get(0)?,
                        code: r.get(1)?,
                        name: r.get(2)?,
                        level: GridLevel::parse(&level).unwrap_or(GridLevel::Grid),
                        parent_id: r.get(4)?,
                        boundary: boundary.and_then(|b| serde_json::from_str(&b).ok()),
                    })
                },
            )
            .optional()?)
    }

    pub(crate) fn grid_or_home(&self, grid_id: Option<&str>) -> Result<String> {
        match grid_id {
            Some(g) => self
                .grid(g)?
                .map(|g| g.id)
                .ok_or_else(|| Error::NotFound(format!("grid {g}"))),
            None => self.kv("grid_id")?.ok_or_else(|| {
                Error::Invalid("this device has no grid yet: give one, or load base data".into())
            }),
        }
    }

    /// Register a resident. The ID number's check digit and the phone are validated.
    pub fn add_person(&mut self, p: NewPerson) -> Result<String> {
        text("name", &p.name, true)?;
        if p.name.chars().count() > 40 {
            return Err(Error::Invalid("name is longer than 40 characters".into()));
        }
        if let Some(idn) = &p.id_number {
            if !id_number::is_valid(idn) {
                return Err(Error::Invalid(format!(
                    "ID number {} is not valid (length, birth date or check digit)",
                    id_number::masked(idn)
                )));
            }
        }
        if let Some(phone) = &p.phone {
            if !crate::model::phone::is_valid(phone) {
                return Err(Error::Invalid(format!(
                    "phone number {phone:?} is not valid"
                )));
            }
        }
        if let Some(b) = &p.birth_date {
            chrono::NaiveDate::parse_from_str(b, "%Y-%m-%d")
                .map_err(|_| Error::Invalid(format!("birth date {b:?} is not YYYY-MM-DD")))?;
        }
        let grid_id = self.grid_or_home(p.grid_id.as_deref())?;
        let id = new_id();
        let mut f = Fields::new();
        f.insert("grid_id".into(), json!(grid_id));
        f.insert("house_id".into(), json!(p.house_id));
        f.insert("name".into(), json!(p.name.trim()));
        f.insert(
            "id_number".into(),
            json!(p.id_number.map(|s| s.to_uppercase())),
        );
        f.insert("phone".into(), json!(p.phone));
        f.insert("sex".into(), json!(p.sex.as_str()));
        f.insert("birth_date".into(), json!(p.birth_date));
        f.insert("relation".into(), json!(p.relation.as_str()));
        f.insert("residence_type".into(), json!(p.residence_type.as_str()));
        f.insert(
            "tags".into(),
            json!(p.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>()),
        );
        f.insert("note".into(), json!(p.note));
        self.write(|w| w.record(Entity::Person, &id, Op::Insert, f))?;
        Ok(id)
    }

    /// Change some fields of a resident (only the fields given travel to the centre).
    pub fn update_person(&mut self, id: &str, fields: Fields) -> Result<()> {
        if let Some(Value::String(idn)) = fields.get("id_number") {
            if !id_number::is_valid(idn) {
                return Err(Error::Invalid("ID number is not valid".into()));
            }
        }
        if let Some(Value::String(name)) = fields.get("name") {
            text("name", name, true)?;
        }
        if let Some(Value::String(phone)) = fields.get("phone") {
            if !crate::model::phone::is_valid(phone) {
                return Err(Error::Invalid(format!(
                    "phone number {phone:?} is not valid"
                )));
            }
        }
        self.write(|w| w.record(Entity::Person, id, Op::Update, fields))?;
        Ok(())
    }

    pub fn person(&self, id: &str) -> Result<Option<Person>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, grid_id, house_id, name, id_number, phone, sex, birth_date, relation, residence_type, tags, note
                 FROM person WHERE id = ?",
                [id],
                |r| {
                    let sex: String = r.get(6)?;
                    let rel: String = r.get(8)?;
                    let res: String = r.get(9)?;
                    let tags: String = r.get(10)?;
                    Ok(Person {
                        id: r.get(0)?,
                        grid_id: r.get(1)?,
                        house_id: r.get(2)?,
                        name: r.get(3)?,
                        id_number: r.get(4)?,
                        phone: r.get(5)?,
                        sex: Sex::parse(&sex).unwrap_or(Sex::Unknown),
                        birth_date: r.get(7)?,
                        relation: Relation::parse(&rel).unwrap_or(Relation::Other),
                        residence_type: ResidenceType::parse(&res).unwrap_or(ResidenceType::Other),
                        tags: serde_json::from_str::<Vec<String>>(&tags)
                            .unwrap_or_default()
                            .iter()
                            .filter_map(|t| PersonTag::parse(t))
                            .collect(),
                        note: r.get(11)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn search_people(
        &self,
        q: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<PersonHit>> {
        search::people(&self.conn, q, limit, cursor)
    }

    pub fn search_houses(
        &self,
        q: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<HouseHit>> {
        search::houses(&self.conn, q, limit, cursor)
    }

    pub fn search_organisations(
        &self,
        q: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<OrganisationHit>> {
        search::organisations(&self.conn, q, limit, cursor)
    }

    // ---- catalog ---------------------------------------------------------------------

    pub fn catalog(&self) -> Result<Vec<Category>> {
        let mut stmt = self.conn.prepare(
            "SELECT code, parent_code, level, name, department, deadline_hours, yellow_pct, red_pct, fields, sort
             FROM catalog_category ORDER BY level, sort, code",
        )?;
        let rows = stmt.query_map([], |r| {
            let fields: String = r.get(8)?;
            Ok(Category {
                code: r.get(0)?,
                parent_code: r.get(1)?,
                level: r.get(2)?,
                name: r.get(3)?,
                department: r.get(4)?,
                deadline_hours: r.get(5)?,
                yellow_pct: r.get(6)?,
                red_pct: r.get(7)?,
                fields: serde_json::from_str(&fields).unwrap_or_default(),
                sort: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn category(&self, code: &str) -> Result<Option<Category>> {
        Ok(self.catalog()?.into_iter().find(|c| c.code == code))
    }

    // ---- events ----------------------------------------------------------------------

    /// Report an event (上报), offline. Validated against its catalog category; its
    /// deadline comes from the category; its position and both clocks are recorded.
    pub fn report_event(&mut self, r: NewReport) -> Result<String> {
        let cat = self
            .category(&r.category_code)?
            .ok_or_else(|| Error::Invalid(format!("no catalog category {:?}", r.category_code)))?;
        if cat.level != 2 {
            return Err(Error::Invalid(format!(
                "{} ({}) is a main category: choose one of its subcategories",
                cat.name, cat.code
            )));
        }
        text("description", &r.description, true)?;
        text("address", &r.address_text, false)?;
        text("reporter", &r.reporter, true)?;
        for field in &cat.fields {
            match r.fields.get(&field.key) {
                None | Some(Value::Null) if field.required => {
                    return Err(Error::Invalid(format!(
                        "{} ({}) is required for {}",
                        field.label, field.key, cat.name
                    )))
                }
                Some(v) if !v.is_null() => {
                    let ok = match field.kind.as_str() {
                        "int" => v.is_i64(),
                        "bool" => v.is_boolean(),
                        "choice" => v
                            .as_str()
                            .is_some_and(|s| field.choices.iter().any(|c| c == s)),
                        _ => v.as_str().is_some_and(|s| s.chars().count() <= MAX_TEXT),
                    };
                    if !ok {
                        return Err(Error::Invalid(format!(
                            "{} ({}) has a wrong value",
                            field.label, field.key
                        )));
                    }
                }
                _ => {}
            }
        }
        if let Some(k) = r
            .fields
            .keys()
            .find(|k| !cat.fields.iter().any(|f| &f.key == *k))
        {
            return Err(Error::Invalid(format!("{} has no field {k:?}", cat.name)));
        }
        if let Some(p) = &r.position {
            p.validate().map_err(Error::Invalid)?;
        }
        if r.photos
            .iter()
            .any(|h| h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(Error::Invalid(
                "photo references must be SHA-256 hex".into(),
            ));
        }
        let grid_id = self.grid_or_home(r.grid_id.as_deref())?;
        let device_time = self.now();
        let basis = r.corrected_time.unwrap_or(device_time);
        let (status, deadline) = if r.handled_on_spot {
            (EventStatus::HandledOnSpot, None)
        } else {
            (
                EventStatus::Reported,
                cat.deadline_hours
                    .map(|h| basis + chrono::Duration::hours(h as i64)),
            )
        };
        let id = new_id();
        let mut f = Fields::new();
        f.insert("grid_id".into(), json!(grid_id));
        f.insert("category_code".into(), json!(cat.code));
        f.insert("description".into(), json!(r.description.trim()));
        f.insert("address_text".into(), json!(r.address_text.trim()));
        f.insert("fields".into(), Value::Object(r.fields));
        f.insert("status".into(), json!(status.as_str()));
        f.insert("handled_on_spot".into(), json!(r.handled_on_spot));
        f.insert("reporter".into(), json!(r.reporter));
        f.insert(
            "position".into(),
            json!(r.position.unwrap_or_else(Position::none)),
        );
        f.insert("device_time".into(), json!(rfc3339(device_time)));
        f.insert(
            "corrected_time".into(),
            json!(r.corrected_time.map(rfc3339)),
        );
        f.insert("reported_at".into(), json!(rfc3339(basis)));
        f.insert("deadline_at".into(), json!(deadline.map(rfc3339)));
        if !r.photos.is_empty() {
            f.insert("photos".into(), json!(r.photos));
        }
        self.write(|w| w.record(Entity::Event, &id, Op::Insert, f))?;
        Ok(id)
    }

    pub fn event(&self, id: &str) -> Result<Option<Event>> {
        let ev = self
            .conn
            .query_row(
                "SELECT id, grid_id, category_code, description, address_text, fields, status, handled_on_spot,
                        reporter, position, device_time, corrected_time, deadline_at
                 FROM event WHERE id = ?",
                [id],
                |r| {
                    let fields: String = r.get(5)?;
                    let status: String = r.get(6)?;
                    let pos: Option<String> = r.get(9)?;
                    let dt: String = r.get(10)?;
                    let ct: Option<String> = r.get(11)?;
                    let dl: Option<String> = r.get(12)?;
                    Ok(Event {
                        id: r.get(0)?,
                        grid_id: r.get(1)?,
                        category_code: r.get(2)?,
                        description: r.get(3)?,
                        address_text: r.get(4)?,
                        fields: serde_json::from_str(&fields).unwrap_or_default(),
                        status: EventStatus::parse(&status).unwrap_or(EventStatus::Reported),
                        handled_on_spot: r.get(7)?,
                        reporter: r.get(8)?,
                        position: pos.and_then(|p| serde_json::from_str(&p).ok()),
                        device_time: parse_time(&dt).unwrap_or_default(),
                        corrected_time: ct.as_deref().and_then(parse_time),
                        deadline_at: dl.as_deref().and_then(parse_time),
                        photos: vec![],
                    })
                },
            )
            .optional()?;
        let Some(mut ev) = ev else { return Ok(None) };
        ev.photos = self.photo_refs(Entity::Event, id)?;
        Ok(Some(ev))
    }

    fn photo_refs(&self, owner: Entity, id: &str) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT sha256 FROM photo_ref WHERE owner_entity = ? AND owner_id = ? ORDER BY ord",
        )?;
        let rows = stmt.query_map(params![owner.as_str(), id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The lifecycle timeline of an event, oldest first.
    pub fn event_history(&self, id: &str) -> Result<Vec<StatusChange>> {
        let mut stmt = self.conn.prepare(
            "SELECT status, at, actor, note, origin FROM event_status WHERE event_id = ? ORDER BY id",
        )?;
        let rows = stmt.query_map([id], |r| {
            let status: String = r.get(0)?;
            let at: String = r.get(1)?;
            Ok(StatusChange {
                status: EventStatus::parse(&status).unwrap_or(EventStatus::Reported),
                at: parse_time(&at).unwrap_or_default(),
                actor: r.get(2)?,
                note: r.get(3)?,
                origin: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Events, newest first, with their deadline colour at `now`.
    pub fn events(&self, limit: usize) -> Result<Vec<EventSummary>> {
        let now = self.now();
        let mut stmt = self.conn.prepare(
            "SELECT e.id, coalesce(c.name, e.category_code), e.description, e.status, e.deadline_at,
                    e.device_time, coalesce(e.corrected_time, e.device_time), coalesce(c.yellow_pct, 50), coalesce(c.red_pct, 80)
             FROM event e LEFT JOIN catalog_category c ON c.code = e.category_code
             ORDER BY e.device_time DESC LIMIT ?",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            let status: String = r.get(3)?;
            let deadline: Option<String> = r.get(4)?;
            let start: String = r.get(6)?;
            let status = EventStatus::parse(&status).unwrap_or(EventStatus::Reported);
            let colour = match (
                status.is_open(),
                deadline.as_deref().and_then(parse_time),
                parse_time(&start),
            ) {
                (true, Some(d), Some(s)) => {
                    Some(DeadlineColour::at(s, d, now, r.get(7)?, r.get(8)?))
                }
                _ => None,
            };
            Ok(EventSummary {
                id: r.get(0)?,
                category: r.get(1)?,
                description: r.get(2)?,
                status,
                colour,
                deadline_at: deadline,
                device_time: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // ---- tasks -----------------------------------------------------------------------

    /// Accept, start, complete (with feedback) or reject (with a reason) a task.
    /// The centre validates the command again when it arrives.
    pub fn task_command(
        &mut self,
        id: &str,
        cmd: TaskCommand,
        note: &str,
        photos: &[String],
        position: Option<Position>,
    ) -> Result<()> {
        text(
            "note",
            note,
            matches!(cmd, TaskCommand::Reject | TaskCommand::Complete),
        )?;
        let mut f = Fields::new();
        f.insert("at".into(), json!(rfc3339(self.now())));
        match cmd {
            TaskCommand::Complete => {
                f.insert("feedback".into(), json!(note));
            }
            TaskCommand::Reject => {
                f.insert("reason".into(), json!(note));
            }
            _ => {}
        }
        if !photos.is_empty() {
            f.insert("photos".into(), json!(photos));
        }
        if let Some(p) = position {
            p.validate().map_err(Error::Invalid)?;
            f.insert("position".into(), json!(p));
        }
        self.write(|w| w.record(Entity::Task, id, Op::Command(cmd.as_str().into()), f))?;
        Ok(())
    }

    pub fn tasks(&self) -> Result<Vec<TaskSummary>> {
        let now = self.now();
        let mut stmt = self.conn.prepare(
            "SELECT t.id, t.title, t.status, t.deadline_at, t.created_at, coalesce(c.yellow_pct, 50), coalesce(c.red_pct, 80)
             FROM task t LEFT JOIN catalog_category c ON c.code = t.category_code
             ORDER BY t.deadline_at IS NULL, t.deadline_at, t.created_at",
        )?;
        let rows = stmt.query_map([], |r| {
            let status: String = r.get(2)?;
            let status = TaskStatus::parse(&status).unwrap_or(TaskStatus::Assigned);
            let deadline: Option<String> = r.get(3)?;
            let created: String = r.get(4)?;
            let colour = match (
                status.is_open(),
                deadline.as_deref().and_then(parse_time),
                parse_time(&created),
            ) {
                (true, Some(d), Some(s)) => {
                    Some(DeadlineColour::at(s, d, now, r.get(5)?, r.get(6)?))
                }
                _ => None,
            };
            Ok(TaskSummary {
                id: r.get(0)?,
                title: r.get(1)?,
                status,
                colour,
                deadline_at: deadline,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // ---- visits, diary, patrols, photos, notices ------------------------------------------

    /// Record a household visit (走访).
    pub fn add_visit(&mut self, v: NewVisit) -> Result<String> {
        text("note", &v.note, false)?;
        text("topic", &v.topic, false)?;
        if let Some(p) = &v.position {
            p.validate().map_err(Error::Invalid)?;
        }
        let grid_id = self.grid_or_home(None)?;
        let id = new_id();
        let mut f = Fields::new();
        f.insert("grid_id".into(), json!(grid_id));
        f.insert("house_id".into(), json!(v.house_id));
        f.insert("person_id".into(), json!(v.person_id));
        f.insert("kind".into(), json!(v.kind.as_str()));
        f.insert("topic".into(), json!(v.topic));
        f.insert("note".into(), json!(v.note));
        f.insert(
            "position".into(),
            json!(v.position.unwrap_or_else(Position::none)),
        );
        f.insert("device_time".into(), json!(rfc3339(self.now())));
        f.insert(
            "corrected_time".into(),
            json!(v.corrected_time.map(rfc3339)),
        );
        self.write(|w| w.record(Entity::Visit, &id, Op::Insert, f))?;
        Ok(id)
    }

    pub fn add_diary(&mut self, content: &str, position: Option<Position>) -> Result<String> {
        text("diary entry", content, true)?;
        let grid_id = self.grid_or_home(None)?;
        let now = self.now();
        let beijing = now + chrono::Duration::hours(8);
        let id = new_id();
        let mut f = Fields::new();
        f.insert("grid_id".into(), json!(grid_id));
        f.insert("day".into(), json!(beijing.format("%Y-%m-%d").to_string()));
        f.insert("content".into(), json!(content));
        f.insert(
            "position".into(),
            json!(position.unwrap_or_else(Position::none)),
        );
        f.insert("device_time".into(), json!(rfc3339(now)));
        self.write(|w| w.record(Entity::Diary, &id, Op::Insert, f))?;
        Ok(id)
    }

    pub fn start_patrol(&mut self) -> Result<String> {
        if let Some(active) = self
            .conn
            .query_row("SELECT id FROM patrol WHERE state = 'active'", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
        {
            return Err(Error::NotAllowed(format!(
                "patrol {active} is still running"
            )));
        }
        let grid_id = self.grid_or_home(None)?;
        let id = new_id();
        let mut f = Fields::new();
        f.insert("grid_id".into(), json!(grid_id));
        f.insert("started_at".into(), json!(rfc3339(self.now())));
        f.insert("state".into(), json!("active"));
        self.write(|w| w.record(Entity::Patrol, &id, Op::Insert, f))?;
        Ok(id)
    }

    pub fn checkin(
        &mut self,
        patrol_id: Option<&str>,
        place: &str,
        inside: Inside,
        position: Position,
    ) -> Result<String> {
        position.validate().map_err(Error::Invalid)?;
        let grid_id = self.grid_or_home(None)?;
        let id = new_id();
        let mut f = Fields::new();
        f.insert("patrol_id".into(), json!(patrol_id));
        f.insert("grid_id".into(), json!(grid_id));
        f.insert("place".into(), json!(place));
        f.insert("inside_grid".into(), json!(inside.as_str()));
        f.insert("position".into(), json!(position));
        f.insert("device_time".into(), json!(rfc3339(self.now())));
        self.write(|w| w.record(Entity::Checkin, &id, Op::Insert, f))?;
        Ok(id)
    }

    /// Store one compactly encoded segment of a patrol's track.
    #[allow(clippy::too_many_arguments)]
    pub fn add_track_segment(
        &mut self,
        patrol_id: &str,
        seq: i64,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        n_points: i64,
        gap_before: bool,
        points: &[u8],
    ) -> Result<String> {
        let seg = NewTrackSegment {
            start,
            end,
            n_points,
            gap_before,
            points: points.to_vec(),
        };
        seg.check(0)?;
        let id = new_id();
        let f = seg.fields(patrol_id, seq);
        self.write(|w| w.record(Entity::TrackSegment, &id, Op::Insert, f))?;
        Ok(id)
    }

    /// Finish a patrol with no track to store (see [`Store::stop_patrol`]).
    pub fn finish_patrol(&mut self, id: &str, distance_m: f64, inside_grid_s: f64) -> Result<()> {
        self.stop_patrol(id, &[], distance_m, inside_grid_s)
    }

    /// Stop the running patrol `id`: its track segments (numbered after any it already
    /// has) and its totals — distance walked, seconds inside the grid — are written in ONE
    /// transaction. On any failure (an invalid segment, a patrol that is not running, a
    /// full disk) nothing is written and the patrol is still running, so the user can stop
    /// it again.
    pub fn stop_patrol(
        &mut self,
        id: &str,
        segments: &[NewTrackSegment],
        distance_m: f64,
        inside_grid_s: f64,
    ) -> Result<()> {
        if !(distance_m.is_finite() && distance_m >= 0.0) {
            return Err(Error::Invalid(format!(
                "patrol distance must be a number of metres ≥ 0, not {distance_m}"
            )));
        }
        if !(inside_grid_s.is_finite() && inside_grid_s >= 0.0) {
            return Err(Error::Invalid(format!(
                "time inside the grid must be a number of seconds ≥ 0, not {inside_grid_s}"
            )));
        }
        for (i, seg) in segments.iter().enumerate() {
            seg.check(i)?;
        }
        let ended_at = rfc3339(self.now());
        self.write(|w| {
            let state: Option<String> =
                w.tx.query_row("SELECT state FROM patrol WHERE id = ?", [id], |r| r.get(0))
                    .optional()?;
            match state.as_deref() {
                None => return Err(Error::NotFound(format!("patrol {id}"))),
                Some("active") => {}
                Some(_) => return Err(Error::NotAllowed(format!("patrol {id} has already ended"))),
            }
            let next: i64 = w.tx.query_row(
                "SELECT coalesce(max(seq) + 1, 0) FROM track_segment WHERE patrol_id = ?",
                [id],
                |r| r.get(0),
            )?;
            for (i, seg) in segments.iter().enumerate() {
                let f = seg.fields(id, next + i as i64);
                w.record(Entity::TrackSegment, &new_id(), Op::Insert, f)?;
            }
            let mut f = Fields::new();
            f.insert("ended_at".into(), json!(ended_at));
            f.insert("distance_m".into(), json!(distance_m));
            f.insert("inside_grid_s".into(), json!(inside_grid_s));
            f.insert("state".into(), json!("finished"));
            w.record(Entity::Patrol, id, Op::Update, f)?;
            Ok(())
        })
    }

    /// Record a photo's metadata (the file itself is kept by the photo store).
    pub fn register_photo(
        &mut self,
        sha256: &str,
        bytes: i64,
        mime: &str,
        width: Option<i64>,
        height: Option<i64>,
    ) -> Result<()> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::Invalid("photo hash must be SHA-256 hex".into()));
        }
        let exists = self
            .conn
            .query_row("SELECT 1 FROM photo WHERE sha256 = ?", [sha256], |_| Ok(()))
            .optional()?
            .is_some();
        if exists {
            return Ok(()); // content-addressed: the same photo twice is one photo
        }
        let mut f = Fields::new();
        f.insert("bytes".into(), json!(bytes));
        f.insert("mime".into(), json!(mime));
        f.insert("width".into(), json!(width));
        f.insert("height".into(), json!(height));
        f.insert("taken_at".into(), json!(rfc3339(self.now())));
        self.write(|w| w.record(Entity::Photo, &sha256.to_lowercase(), Op::Insert, f))?;
        Ok(())
    }

    pub fn mark_notice_read(&mut self, id: &str) -> Result<()> {
        let mut f = Fields::new();
        f.insert("read_at".into(), json!(rfc3339(self.now())));
        self.write(|w| w.record(Entity::Notice, id, Op::Update, f))?;
        Ok(())
    }

    // ---- outbox and health -----------------------------------------------------------

    /// The outbox, oldest first.
    pub fn outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, mutation_id, hlc, entity, row_id, op, fields, created_at, state, attempts
             FROM outbox ORDER BY seq LIMIT ?",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, String>(8)?,
                r.get::<_, i64>(9)?,
            ))
        })?;
        let mut out = vec![];
        for row in rows {
            let (seq, mid, hlc, entity, row_id, op, fields, created_at, state, attempts) = row?;
            let bad = |what: &str| Error::Invalid(format!("outbox row {seq} has a bad {what}"));
            out.push(OutboxEntry {
                mutation: Mutation {
                    seq: seq as u64,
                    mutation_id: mid,
                    hlc: hlc.parse().map_err(|_| bad("clock"))?,
                    entity: entity.parse().map_err(|_| bad("entity"))?,
                    row_id,
                    op: Op::from_text(&op).ok_or_else(|| bad("operation"))?,
                    fields: serde_json::from_str(&fields).map_err(|_| bad("field list"))?,
                },
                created_at,
                state,
                attempts,
            });
        }
        Ok(out)
    }

    pub fn outbox_len(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?)
    }

    pub fn counts(&self) -> Result<Counts> {
        let c = |t: &str| -> Result<i64> {
            Ok(self
                .conn
                .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))?)
        };
        Ok(Counts {
            grids: c("grid")?,
            buildings: c("building")?,
            houses: c("house")?,
            persons: c("person")?,
            organisations: c("organisation")?,
            facilities: c("facility")?,
            categories: c("catalog_category")?,
            events: c("event")?,
            tasks: c("task")?,
            outbox: c("outbox")?,
        })
    }

    /// `PRAGMA integrity_check` and foreign keys; `Ok(())` when the database is sound.
    pub fn integrity_check(&self) -> Result<()> {
        let res: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if res != "ok" {
            return Err(Error::Invalid(format!("integrity check: {res}")));
        }
        let fk: Option<String> = self
            .conn
            .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
            .optional()?;
        if let Some(table) = fk {
            return Err(Error::Invalid(format!("foreign key violation in {table}")));
        }
        Ok(())
    }

    /// Flush the WAL into the main file (before a backup or a size measurement).
    pub fn checkpoint(&self) -> Result<()> {
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    }
}

/// A transaction in which local changes are recorded.
pub struct Writer<'a> {
    tx: rusqlite::Transaction<'a>,
    clock: HlcClock,
    now: DateTime<Utc>,
}

impl Writer<'_> {
    /// Append the outbox row for a change and apply the change, in this transaction.
    pub fn record(
        &mut self,
        entity: Entity,
        row_id: &str,
        op: Op,
        fields: Fields,
    ) -> Result<Mutation> {
        let seq: i64 = self
            .tx
            .prepare_cached("SELECT coalesce((SELECT CAST(value AS INTEGER) FROM kv WHERE key = 'next_seq'), 1)")?
            .query_row([], |r| r.get(0))?;
        let hlc = self.clock.tick(self.now.timestamp_millis().max(0) as u64);
        let m = Mutation {
            seq: seq as u64,
            mutation_id: new_id(),
            hlc,
            entity,
            row_id: row_id.to_string(),
            op,
            fields,
        };
        let fields_json =
            serde_json::to_string(&m.fields).map_err(|e| Error::Invalid(e.to_string()))?;
        self.tx
            .prepare_cached(
                "INSERT INTO outbox (seq, mutation_id, hlc, entity, row_id, op, fields, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )?
            .execute(params![
                seq,
                m.mutation_id,
                m.hlc.to_string(),
                entity.as_str(),
                row_id,
                m.op.to_text(),
                fields_json,
                rfc3339(self.now)
            ])?;
        self.tx
            .prepare_cached(
                "INSERT INTO kv (key, value) VALUES ('next_seq', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            )?
            .execute([(seq + 1).to_string()])?;
        apply::apply(
            &self.tx,
            entity,
            row_id,
            &m.op,
            &m.fields,
            &m.hlc,
            Origin::Device,
        )?;
        if entity.is_base_data() && matches!(m.op, Op::Insert | Op::Update) {
            // Until the hub has seen this edit, older server state must not overwrite it.
            let mut stmt = self.tx.prepare_cached(
                "INSERT INTO pending_field (entity, row_id, field, seq, hlc) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT(entity, row_id, field) DO UPDATE SET seq = excluded.seq, hlc = excluded.hlc",
            )?;
            for field in m.fields.keys() {
                stmt.execute(params![
                    entity.as_str(),
                    row_id,
                    field,
                    seq,
                    m.hlc.to_string()
                ])?;
            }
        }
        Ok(m)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }
}

//! gridhub's storage for a city: PostgreSQL, shared by several gridhub instances.
//!
//! Every hub transaction runs SERIALIZABLE, as on SQLite (where one writer at a time gives
//! the same guarantee): a transaction that collides with another instance's is rolled back
//! and run again, so the hub's logic reads and writes as if it were alone. Op ids are
//! counted per scope under the scope's head row, so within a scope they are dense and
//! become visible in order — a device polling `op_id > cursor` never skips a transaction
//! that committed late.

mod centre;

use gridhub_store::*;
use gridpad_proto::wire::{Op, OpKind};
use gridpad_proto::{Entity, Fields, Hlc};
use postgres::error::SqlState;
use postgres::{IsolationLevel, NoTls};
use r2d2_postgres::PostgresConnectionManager;
use std::time::Duration;

/// The schema, one file per version; `gridhub_schema` records the applied ones.
const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_init.sql")];

/// Most connections one gridhub instance holds (a city runs several instances on one
/// database server; PostgreSQL's default allows 100 in all).
pub const DEFAULT_POOL_SIZE: u32 = 16;

/// Times a transaction that collided with another is run again before the hub gives up.
const MAX_ATTEMPTS: u32 = 30;

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;
type Client = postgres::Client;

pub struct PgStore {
    /// Always `Some` until dropped.
    pool: Option<Pool>,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Closing a connection blocks: step off the async runtime for it too.
        if let Some(pool) = self.pool.take() {
            let _ = off_runtime(move || drop(pool));
        }
    }
}

impl PgStore {
    /// Connect to `url` (`postgres://user@host/db` or key=value form; a `host` that is a
    /// directory is a Unix socket) and bring the schema forward.
    pub fn connect(url: &str) -> StoreResult<PgStore> {
        PgStore::connect_with(url, DEFAULT_POOL_SIZE)
    }

    pub fn connect_with(url: &str, pool_size: u32) -> StoreResult<PgStore> {
        off_runtime(|| PgStore::connect_blocking(url, pool_size))?
    }

    fn connect_blocking(url: &str, pool_size: u32) -> StoreResult<PgStore> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Backend(format!("the database address: {e}")))?;
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .build(manager)
            .map_err(|e| StoreError::Backend(format!("connecting to PostgreSQL: {e}")))?;
        let store = PgStore { pool: Some(pool) };
        store.migrate()?;
        Ok(store)
    }

    fn client(&self) -> StoreResult<r2d2::PooledConnection<PostgresConnectionManager<NoTls>>> {
        self.pool
            .as_ref()
            .expect("pool until dropped")
            .get()
            .map_err(|e| StoreError::Backend(format!("no database connection: {e}")))
    }

    /// Apply the migrations this database lacks, one transaction each, under an advisory
    /// lock (instances starting together migrate once); refuse a newer database.
    fn migrate(&self) -> StoreResult<()> {
        let mut c = self.client()?;
        let mut tx = c.transaction().map_err(be)?;
        tx.execute("SELECT pg_advisory_xact_lock(7475210001)", &[])
            .map_err(be)?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS gridhub_schema (version INTEGER NOT NULL)")
            .map_err(be)?;
        let have: i32 = tx
            .query_opt("SELECT max(version) FROM gridhub_schema", &[])
            .map_err(be)?
            .and_then(|r| r.get::<_, Option<i32>>(0))
            .unwrap_or(0);
        let have = have.max(0) as usize;
        if have > MIGRATIONS.len() {
            return Err(StoreError::Backend(format!(
                "the hub database is at schema version {have}, newer than this gridhub ({}); use a newer gridhub",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(have) {
            tx.batch_execute(sql).map_err(be)?;
            tx.execute(
                "INSERT INTO gridhub_schema (version) VALUES ($1)",
                &[&((i + 1) as i32)],
            )
            .map_err(be)?;
        }
        tx.commit().map_err(be)
    }
}

/// Run blocking database work: directly on a plain thread; on a thread of a multi-threaded
/// tokio runtime (gridhub's), after telling the runtime to move its other tasks away.
fn off_runtime<T>(f: impl FnOnce() -> T) -> StoreResult<T> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Err(_) => Ok(f()),
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            Ok(tokio::task::block_in_place(f))
        }
        Ok(_) => Err(StoreError::Backend(
            "PostgreSQL storage called on a single-threaded async runtime; call it from a blocking thread".into(),
        )),
    }
}

impl HubStore for PgStore {
    fn transaction(&self, f: &mut dyn FnMut(&mut dyn HubTx) -> StoreResult<()>) -> StoreResult<()> {
        off_runtime(|| self.transaction_blocking(f))?
    }

    fn read_transaction(
        &self,
        f: &mut dyn FnMut(&mut dyn HubTx) -> StoreResult<()>,
    ) -> StoreResult<()> {
        off_runtime(|| self.read_transaction_blocking(f))?
    }
}

impl PgStore {
    fn transaction_blocking(
        &self,
        f: &mut dyn FnMut(&mut dyn HubTx) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let mut conn = self.client()?;
        // Scopes whose head another transaction took first last time: locked before the
        // next attempt begins, so its snapshot comes after the other's commit.
        let mut prelock: Vec<i64> = vec![];
        let mut attempt = 0;
        loop {
            attempt += 1;
            for key in &prelock {
                conn.execute("SELECT pg_advisory_lock($1)", &[key])
                    .map_err(be)?;
            }
            let outcome = run_once(&mut conn, f);
            if !prelock.is_empty() {
                // Whatever happened, nothing of this attempt holds a session lock any more.
                let _ = conn.execute("SELECT pg_advisory_unlock_all()", &[]);
            }
            match outcome {
                Attempt::Done(r) => return r,
                Attempt::Collided(e, scopes) => {
                    if attempt >= MAX_ATTEMPTS {
                        return Err(StoreError::Backend(format!(
                            "gave up after {attempt} collisions with other transactions: {e}"
                        )));
                    }
                    for k in scopes {
                        if !prelock.contains(&k) {
                            prelock.push(k);
                        }
                    }
                    prelock.sort_unstable(); // one order: no deadlock between two retries
                    std::thread::sleep(Duration::from_micros(100 * u64::from(attempt)));
                }
            }
        }
    }

    fn read_transaction_blocking(
        &self,
        f: &mut dyn FnMut(&mut dyn HubTx) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let mut conn = self.client()?;
        let tx = conn
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(be)?;
        let mut t = Tx {
            tx,
            collided: false,
            heads: vec![],
        };
        f(&mut t)?;
        t.tx.commit().map_err(be)
    }
}

enum Attempt {
    Done(StoreResult<()>),
    /// Rolled back because of a concurrent transaction; the scopes whose heads it wanted.
    Collided(StoreError, Vec<i64>),
}

fn run_once(conn: &mut Client, f: &mut dyn FnMut(&mut dyn HubTx) -> StoreResult<()>) -> Attempt {
    let tx = match conn
        .build_transaction()
        .isolation_level(IsolationLevel::Serializable)
        .start()
    {
        Ok(tx) => tx,
        Err(e) => return Attempt::Done(Err(be(e))),
    };
    let mut t = Tx {
        tx,
        collided: false,
        heads: vec![],
    };
    let outcome = f(&mut t);
    let (collided, heads) = (t.collided, std::mem::take(&mut t.heads));
    match outcome {
        Ok(()) => match t.tx.commit() {
            Ok(()) => Attempt::Done(Ok(())),
            Err(e) if retryable(&e) => Attempt::Collided(be(e), heads),
            Err(e) => Attempt::Done(Err(be(e))),
        },
        // Dropping the transaction rolls it back.
        Err(e) if collided => Attempt::Collided(e, heads),
        Err(e) => Attempt::Done(Err(e)),
    }
}

/// The advisory-lock key of a scope's head (FNV-1a of its name).
fn head_key(scope: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in scope.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// A collision with a concurrent transaction: run it again.
fn retryable(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    )
}

fn be(e: postgres::Error) -> StoreError {
    StoreError::Backend(match e.as_db_error() {
        Some(db) => format!("PostgreSQL {}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    })
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serialisable")
}

fn parse<T: serde::de::DeserializeOwned>(s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn scope_of(s: &str) -> StoreResult<Scope> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("scope {s:?}")))
}

fn entity_of(s: &str) -> StoreResult<Entity> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("entity {s:?}")))
}

fn kind_text(k: &OpKind) -> String {
    match k {
        OpKind::Put => "put".into(),
        OpKind::Remove => "remove".into(),
        OpKind::Command(n) => format!("command:{n}"),
    }
}

fn kind_parse(s: &str) -> StoreResult<OpKind> {
    match s {
        "put" => Ok(OpKind::Put),
        "remove" => Ok(OpKind::Remove),
        _ => s
            .strip_prefix("command:")
            .map(|n| OpKind::Command(n.to_string()))
            .ok_or_else(|| StoreError::Corrupt(format!("op kind {s}"))),
    }
}

/// A number for a BIGINT column: the hub's u64s beyond i64 are refused, not wrapped.
fn int(v: u64) -> StoreResult<i64> {
    i64::try_from(v).map_err(|_| StoreError::Backend(format!("number out of range: {v}")))
}

fn uint(v: i64) -> u64 {
    v.max(0) as u64
}

pub(crate) struct Tx<'a> {
    tx: postgres::Transaction<'a>,
    /// A statement failed because of a concurrent transaction: the whole closure is run
    /// again, whatever it made of the error.
    collided: bool,
    /// The scope heads this transaction took (advisory-lock keys).
    heads: Vec<i64>,
}

type Param<'p> = &'p (dyn postgres::types::ToSql + Sync);

impl Tx<'_> {
    fn err(&mut self, e: postgres::Error) -> StoreError {
        if retryable(&e) {
            self.collided = true;
        }
        be(e)
    }

    pub(crate) fn exec(&mut self, sql: &str, p: &[Param]) -> StoreResult<u64> {
        match self.tx.execute(sql, p) {
            Ok(n) => Ok(n),
            Err(e) => Err(self.err(e)),
        }
    }

    pub(crate) fn query(&mut self, sql: &str, p: &[Param]) -> StoreResult<Vec<postgres::Row>> {
        match self.tx.query(sql, p) {
            Ok(r) => Ok(r),
            Err(e) => Err(self.err(e)),
        }
    }

    pub(crate) fn query_opt(
        &mut self,
        sql: &str,
        p: &[Param],
    ) -> StoreResult<Option<postgres::Row>> {
        Ok(self.query(sql, p)?.into_iter().next())
    }

    /// A statement that may break a unique constraint, in a savepoint so that the clash
    /// (a `Conflict`) leaves the transaction usable, as it does on SQLite.
    pub(crate) fn exec_unique(&mut self, sql: &str, p: &[Param], what: &str) -> StoreResult<()> {
        // The savepoint rolls back when dropped without a commit.
        let r = self
            .tx
            .savepoint("unique_clash")
            .and_then(|mut sp| sp.execute(sql, p).and_then(|_| sp.commit()));
        match r {
            Ok(()) => Ok(()),
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                Err(StoreError::Conflict(what.to_string()))
            }
            Err(e) => Err(self.err(e)),
        }
    }

    pub(crate) fn records<T: serde::de::DeserializeOwned>(
        &mut self,
        sql: &str,
        p: &[Param],
    ) -> StoreResult<Vec<T>> {
        self.query(sql, p)?
            .iter()
            .map(|r| parse(&r.get::<_, String>(0)))
            .collect()
    }

    pub(crate) fn record<T: serde::de::DeserializeOwned>(
        &mut self,
        sql: &str,
        p: &[Param],
    ) -> StoreResult<Option<T>> {
        Ok(self.records(sql, p)?.into_iter().next())
    }
}

fn row_of(entity: Entity, r: &postgres::Row, at: usize) -> StoreResult<Row> {
    Ok(Row {
        entity,
        row_id: r.get(at),
        scope: scope_of(r.get(at + 1))?,
        fields: parse(r.get(at + 2))?,
        field_hlc: parse(r.get(at + 3))?,
        deleted: r.get(at + 4),
        origin: r.get(at + 5),
    })
}

impl HubTx for Tx<'_> {
    fn device(&mut self, device_id: &str) -> StoreResult<Option<DeviceRecord>> {
        self.record(
            "SELECT record FROM device WHERE device_id = $1",
            &[&device_id],
        )
    }

    fn put_device(&mut self, d: &DeviceRecord) -> StoreResult<()> {
        self.exec(
            "INSERT INTO device (device_id, record) VALUES ($1, $2)
             ON CONFLICT (device_id) DO UPDATE SET record = excluded.record",
            &[&d.device_id, &json(d)],
        )?;
        Ok(())
    }

    fn devices(&mut self) -> StoreResult<Vec<DeviceRecord>> {
        self.records("SELECT record FROM device ORDER BY device_id", &[])
    }

    fn put_code(&mut self, c: &EnrollmentCode) -> StoreResult<()> {
        self.exec(
            "INSERT INTO enrollment_code (code_hash, record) VALUES ($1, $2)
             ON CONFLICT (code_hash) DO UPDATE SET record = excluded.record",
            &[&c.code_hash, &json(c)],
        )?;
        Ok(())
    }

    fn code(&mut self, code_hash: &str) -> StoreResult<Option<EnrollmentCode>> {
        self.record(
            "SELECT record FROM enrollment_code WHERE code_hash = $1",
            &[&code_hash],
        )
    }

    fn put_nonce(&mut self, nonce_hex: &str, device_id: &str, expires_ms: u64) -> StoreResult<()> {
        self.exec(
            "INSERT INTO nonce (nonce, device_id, expires_ms) VALUES ($1, $2, $3)",
            &[&nonce_hex, &device_id, &int(expires_ms)?],
        )?;
        Ok(())
    }

    fn take_nonce(&mut self, nonce_hex: &str) -> StoreResult<Option<(String, u64)>> {
        let r = self.query_opt(
            "DELETE FROM nonce WHERE nonce = $1 RETURNING device_id, expires_ms",
            &[&nonce_hex],
        )?;
        Ok(r.map(|r| (r.get(0), uint(r.get(1)))))
    }

    fn put_token(
        &mut self,
        token_hash: &str,
        owner: &TokenOwner,
        expires_ms: u64,
    ) -> StoreResult<()> {
        let (kind, subject) = match owner {
            TokenOwner::Device(d) => ("device", d),
            TokenOwner::Admin(a) => ("admin", a),
            TokenOwner::Account(t) => ("account", t),
        };
        self.exec(
            "INSERT INTO token (token_hash, kind, subject, expires_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT (token_hash) DO UPDATE SET kind = excluded.kind,
                 subject = excluded.subject, expires_ms = excluded.expires_ms",
            &[&token_hash, &kind, subject, &int(expires_ms)?],
        )?;
        Ok(())
    }

    fn token(&mut self, token_hash: &str) -> StoreResult<Option<(TokenOwner, u64)>> {
        let Some(r) = self.query_opt(
            "SELECT kind, subject, expires_ms FROM token WHERE token_hash = $1",
            &[&token_hash],
        )?
        else {
            return Ok(None);
        };
        let (kind, subject): (String, String) = (r.get(0), r.get(1));
        let owner = match kind.as_str() {
            "device" => TokenOwner::Device(subject),
            "admin" => TokenOwner::Admin(subject),
            "account" => TokenOwner::Account(subject),
            k => return Err(StoreError::Corrupt(format!("token kind {k}"))),
        };
        Ok(Some((owner, uint(r.get(2)))))
    }

    fn purge_expired(&mut self, now_ms: u64) -> StoreResult<()> {
        let now = int(now_ms)?;
        for table in ["nonce", "token", "session"] {
            self.exec(
                &format!("DELETE FROM {table} WHERE expires_ms < $1"),
                &[&now],
            )?;
        }
        Ok(())
    }

    fn row(&mut self, entity: Entity, row_id: &str) -> StoreResult<Option<Row>> {
        let r = self.query_opt(
            "SELECT row_id, scope, fields, field_hlc, deleted, origin FROM row
             WHERE entity = $1 AND row_id = $2",
            &[&entity.as_str(), &row_id],
        )?;
        r.map(|r| row_of(entity, &r, 0)).transpose()
    }

    fn put_row(&mut self, row: &Row) -> StoreResult<()> {
        self.exec(
            "INSERT INTO row (entity, row_id, scope, fields, field_hlc, deleted, origin)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (entity, row_id) DO UPDATE SET scope = excluded.scope,
                 fields = excluded.fields, field_hlc = excluded.field_hlc,
                 deleted = excluded.deleted, origin = excluded.origin",
            &[
                &row.entity.as_str(),
                &row.row_id,
                &row.scope.to_string(),
                &json(&row.fields),
                &json(&row.field_hlc),
                &row.deleted,
                &row.origin,
            ],
        )?;
        Ok(())
    }

    fn rows(&mut self, entity: Entity, limit: usize) -> StoreResult<Vec<Row>> {
        let rows = self.query(
            "SELECT row_id, scope, fields, field_hlc, deleted, origin FROM row
             WHERE entity = $1 ORDER BY seq DESC LIMIT $2",
            &[&entity.as_str(), &(limit.min(i64::MAX as usize) as i64)],
        )?;
        rows.iter().map(|r| row_of(entity, r, 0)).collect()
    }

    fn append_op(
        &mut self,
        scope: &Scope,
        entity: Entity,
        row_id: &str,
        kind: &OpKind,
        fields: &Fields,
        hlc: &Hlc,
    ) -> StoreResult<Op> {
        let scope_text = scope.to_string();
        let hash = Op::content_hash(&scope_text, entity, row_id, kind, fields, hlc);
        // Writers of one scope queue on its advisory lock, then take the head row: op ids are
        // handed out one transaction at a time, in commit order.
        let key = head_key(&scope_text);
        if !self.heads.contains(&key) {
            self.heads.push(key);
            self.exec("SELECT pg_advisory_xact_lock($1)", &[&key])?;
        }
        let head = self
            .query_opt(
                "INSERT INTO scope_head (scope, last_op) VALUES ($1, 1)
                 ON CONFLICT (scope) DO UPDATE SET last_op = scope_head.last_op + 1
                 RETURNING last_op",
                &[&scope_text],
            )?
            .ok_or_else(|| StoreError::Backend("no scope head".into()))?;
        let op_id: i64 = head.get(0);
        self.exec(
            "INSERT INTO op (scope, op_id, entity, row_id, kind, fields, hlc, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &scope_text,
                &op_id,
                &entity.as_str(),
                &row_id,
                &kind_text(kind),
                &json(fields),
                &hlc.to_string(),
                &i64::from(hash),
            ],
        )?;
        Ok(Op {
            op_id: uint(op_id),
            entity,
            row_id: row_id.to_string(),
            kind: kind.clone(),
            fields: fields.clone(),
            hlc: hlc.clone(),
            hash,
        })
    }

    fn ops_after(
        &mut self,
        scope: &Scope,
        after_op: u64,
        max_bytes: usize,
    ) -> StoreResult<Vec<Op>> {
        let after = after_op.min(i64::MAX as u64) as i64;
        let rows = self.query(
            "SELECT op_id, entity, row_id, kind, fields, hlc, hash FROM op
             WHERE scope = $1 AND op_id > $2 ORDER BY op_id LIMIT 5000",
            &[&scope.to_string(), &after],
        )?;
        let mut out = vec![];
        let mut bytes = 0usize;
        for r in &rows {
            let fields: &str = r.get(4);
            let size = fields.len() + 64;
            if !out.is_empty() && bytes + size > max_bytes {
                break;
            }
            bytes += size;
            let hlc: &str = r.get(5);
            out.push(Op {
                op_id: uint(r.get(0)),
                entity: entity_of(r.get(1))?,
                row_id: r.get(2),
                kind: kind_parse(r.get(3))?,
                fields: parse(fields)?,
                hlc: hlc
                    .parse()
                    .map_err(|_| StoreError::Corrupt(hlc.to_string()))?,
                hash: r.get::<_, i64>(6) as u32,
            });
        }
        Ok(out)
    }

    fn scope_summary(&mut self, scope: &Scope, upto: u64) -> StoreResult<(u32, u64)> {
        let upto = upto.min(i64::MAX as u64) as i64;
        let r = self
            .query_opt(
                "SELECT (coalesce(sum(hash), 0) % 4294967296)::BIGINT, count(*) FROM op
                 WHERE scope = $1 AND op_id <= $2",
                &[&scope.to_string(), &upto],
            )?
            .ok_or_else(|| StoreError::Backend("no summary".into()))?;
        Ok((r.get::<_, i64>(0) as u32, uint(r.get(1))))
    }

    fn ops_after_count(&mut self, scope: &Scope, after: u64) -> StoreResult<u64> {
        let after = after.min(i64::MAX as u64) as i64;
        let r = self
            .query_opt(
                "SELECT count(*) FROM op WHERE scope = $1 AND op_id > $2",
                &[&scope.to_string(), &after],
            )?
            .ok_or_else(|| StoreError::Backend("no count".into()))?;
        Ok(uint(r.get(0)))
    }

    fn last_op(&mut self, scope: &Scope) -> StoreResult<u64> {
        let r = self.query_opt(
            "SELECT last_op FROM scope_head WHERE scope = $1",
            &[&scope.to_string()],
        )?;
        Ok(r.map(|r| uint(r.get(0))).unwrap_or(0))
    }

    fn mutation_seen(&mut self, mutation_id: &str) -> StoreResult<bool> {
        Ok(self
            .query_opt(
                "SELECT 1 FROM applied_mutation WHERE mutation_id = $1",
                &[&mutation_id],
            )?
            .is_some())
    }

    fn record_mutation(
        &mut self,
        mutation_id: &str,
        device_id: &str,
        seq: u64,
        verdict: &str,
    ) -> StoreResult<()> {
        self.exec(
            "INSERT INTO applied_mutation (mutation_id, device_id, seq, verdict) VALUES ($1, $2, $3, $4)",
            &[&mutation_id, &device_id, &int(seq)?, &verdict],
        )?;
        Ok(())
    }

    fn stored_verdict(
        &mut self,
        device_id: &str,
        seq: u64,
    ) -> StoreResult<Option<(String, String)>> {
        let Ok(seq) = i64::try_from(seq) else {
            return Ok(None);
        };
        let r = self.query_opt(
            "SELECT mutation_id, verdict FROM applied_mutation WHERE device_id = $1 AND seq = $2",
            &[&device_id, &seq],
        )?;
        Ok(r.map(|r| (r.get(0), r.get(1))))
    }

    fn mutation_count(&mut self, device_id: Option<&str>) -> StoreResult<u64> {
        let r = match device_id {
            Some(d) => self.query_opt(
                "SELECT count(*) FROM applied_mutation WHERE device_id = $1",
                &[&d],
            )?,
            None => self.query_opt("SELECT count(*) FROM applied_mutation", &[])?,
        };
        Ok(r.map(|r| uint(r.get(0))).unwrap_or(0))
    }

    fn set_photo_refs(
        &mut self,
        entity: Entity,
        row_id: &str,
        photos: &[String],
    ) -> StoreResult<()> {
        self.exec(
            "DELETE FROM photo_ref WHERE entity = $1 AND row_id = $2",
            &[&entity.as_str(), &row_id],
        )?;
        for p in photos {
            self.exec(
                "INSERT INTO photo_ref (sha256, entity, row_id) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[p, &entity.as_str(), &row_id],
            )?;
        }
        Ok(())
    }

    fn photo_refs(&mut self, sha256: &str) -> StoreResult<Vec<(Entity, String)>> {
        self.query(
            "SELECT entity, row_id FROM photo_ref WHERE sha256 = $1",
            &[&sha256],
        )?
        .iter()
        .map(|r| Ok((entity_of(r.get(0))?, r.get(1))))
        .collect()
    }

    fn put_seal(&mut self, s: &StoredSeal) -> StoreResult<()> {
        self.exec(
            "INSERT INTO seal (device_id, seq, hash, entity, record_id, verdict, body, received_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            &[
                &s.device_id,
                &int(s.seq)?,
                &s.hash,
                &s.entity,
                &s.record_id,
                &s.verdict,
                &s.body,
                &int(s.received_ms)?,
            ],
        )?;
        Ok(())
    }

    fn seals_of(&mut self, entity: &str, record_id: &str) -> StoreResult<Vec<StoredSeal>> {
        Ok(self
            .query(
                "SELECT device_id, seq, hash, entity, record_id, verdict, body, received_ms
                 FROM seal WHERE entity = $1 AND record_id = $2 ORDER BY received_ms, seq",
                &[&entity, &record_id],
            )?
            .iter()
            .map(|r| StoredSeal {
                device_id: r.get(0),
                seq: uint(r.get(1)),
                hash: r.get(2),
                entity: r.get(3),
                record_id: r.get(4),
                verdict: r.get(5),
                body: r.get(6),
                received_ms: uint(r.get(7)),
            })
            .collect())
    }

    fn chain_state(&mut self, device_id: &str) -> StoreResult<Option<String>> {
        Ok(self
            .query_opt(
                "SELECT state FROM chain_state WHERE device_id = $1",
                &[&device_id],
            )?
            .map(|r| r.get(0)))
    }

    fn put_chain_state(&mut self, device_id: &str, state: &str) -> StoreResult<()> {
        self.exec(
            "INSERT INTO chain_state (device_id, state) VALUES ($1, $2)
             ON CONFLICT (device_id) DO UPDATE SET state = excluded.state",
            &[&device_id, &state],
        )?;
        Ok(())
    }
}

//! gridhub's storage for a city: PostgreSQL, shared by several gridhub instances.
//!
//! Every hub transaction runs SERIALIZABLE, as on SQLite (where one writer at a time gives
//! the same guarantee): a transaction that collides with another instance's is rolled back
//! and run again, so the hub's logic reads and writes as if it were alone. Op ids are
//! counted per scope under the scope's head row, so within a scope they are dense and
//! become visible in order — a device polling `op_id > cursor` never skips a transaction
//! that committed late.

mod centre;
mod deadlines;
mod handling;
mod records;
mod service;

use gridhub_store::*;
use gridpad_proto::wire::OpKind;
use gridpad_proto::Entity;
use postgres::error::SqlState;
use postgres::{IsolationLevel, NoTls};
use r2d2_postgres::PostgresConnectionManager;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The schema, one file per version; `gridhub_schema` records the applied ones.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_service.sql"),
    include_str!("migrations/0003_deadlines.sql"),
    include_str!("migrations/0004_handling.sql"),
];

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
    waits: Arc<Waits>,
}

/// Checkouts that had to wait for a connection (monitoring: a pool too small for the load).
#[derive(Debug, Default)]
struct Waits {
    count: AtomicU64,
    micros: AtomicU64,
}

impl r2d2::HandleEvent for WaitCounter {
    fn handle_checkout(&self, e: r2d2::event::CheckoutEvent) {
        if e.duration() >= Duration::from_millis(1) {
            self.0.count.fetch_add(1, Ordering::Relaxed);
            self.0
                .micros
                .fetch_add(e.duration().as_micros() as u64, Ordering::Relaxed);
        }
    }
}

#[derive(Debug)]
struct WaitCounter(Arc<Waits>);

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
        let waits = Arc::new(Waits::default());
        let pool = r2d2::Pool::builder()
            .event_handler(Box::new(WaitCounter(waits.clone())))
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .build(manager)
            .map_err(|e| StoreError::Backend(format!("connecting to PostgreSQL: {e}")))?;
        let store = PgStore {
            pool: Some(pool),
            waits,
        };
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

    fn pool(&self) -> Option<PoolStats> {
        let state = self.pool.as_ref()?.state();
        Some(PoolStats {
            connections: state.connections,
            idle: state.idle_connections,
            waits: self.waits.count.load(Ordering::Relaxed),
            wait_ms: self.waits.micros.load(Ordering::Relaxed) / 1000,
        })
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

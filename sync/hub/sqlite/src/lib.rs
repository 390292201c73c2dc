//! The default hub storage: one SQLite file (WAL, synchronous=FULL), so `gridhub serve`
//! needs nothing else to run.

use gridhub_store::*;
use gridpad_proto::wire::{LogOp, OpKind};
use gridpad_proto::{Entity, Fields, Hlc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::sync::Mutex;

mod centre;
mod deadlines;
mod handling;
mod service;

/// The schema, one file per version; `user_version` counts the applied ones.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_token_kind.sql"),
    include_str!("migrations/0003_centre.sql"),
    include_str!("migrations/0004_row_origin.sql"),
    include_str!("migrations/0005_service.sql"),
    include_str!("migrations/0006_deadlines.sql"),
    include_str!("migrations/0007_handling.sql"),
];

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    pub fn open(dir: &Path) -> StoreResult<SqliteStore> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Backend(format!("{}: {e}", dir.display())))?;
        let mut conn = Connection::open(dir.join("gridhub.db")).map_err(be)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
        )
        .map_err(be)?;
        migrate(&mut conn)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }
}

/// Apply the migrations this database lacks, each in its own transaction; refuse a
/// database from a newer gridhub.
fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let have: usize = conn
        .pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
        .map_err(be)? as usize;
    if have > MIGRATIONS.len() {
        return Err(StoreError::Backend(format!(
            "the hub database is at schema version {have}, newer than this gridhub ({}); use a newer gridhub",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(have) {
        let tx = conn.transaction().map_err(be)?;
        tx.execute_batch(sql).map_err(be)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(be)?;
        tx.commit().map_err(be)?;
    }
    Ok(())
}

fn scope_of(s: &str) -> StoreResult<Scope> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("scope {s:?}")))
}

fn be(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serialisable")
}

fn parse<T: serde::de::DeserializeOwned>(s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
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

impl HubStore for SqliteStore {
    fn transaction(&self, f: &mut dyn FnMut(&mut dyn HubTx) -> StoreResult<()>) -> StoreResult<()> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(be)?;
        let mut t = Tx { tx: &tx };
        f(&mut t)?;
        tx.commit().map_err(be)
    }
}

pub(crate) struct Tx<'a> {
    tx: &'a rusqlite::Transaction<'a>,
}

impl HubTx for Tx<'_> {
    fn device(&mut self, device_id: &str) -> StoreResult<Option<DeviceRecord>> {
        let r: Option<String> = self
            .tx
            .query_row(
                "SELECT record FROM device WHERE device_id = ?",
                [device_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(be)?;
        r.map(|s| parse(&s)).transpose()
    }

    fn put_device(&mut self, d: &DeviceRecord) -> StoreResult<()> {
        self.tx
            .execute(
                "INSERT INTO device (device_id, record) VALUES (?, ?) ON CONFLICT(device_id) DO UPDATE SET record = excluded.record",
                params![d.device_id, json(d)],
            )
            .map_err(be)?;
        Ok(())
    }

    fn devices(&mut self) -> StoreResult<Vec<DeviceRecord>> {
        let mut stmt = self
            .tx
            .prepare("SELECT record FROM device ORDER BY device_id")
            .map_err(be)?;
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .map_err(be)?
            .collect::<Result<_, _>>()
            .map_err(be)?;
        rows.iter().map(|s| parse(s)).collect()
    }

    fn put_code(&mut self, c: &EnrollmentCode) -> StoreResult<()> {
        self.tx
            .execute(
                "INSERT INTO enrollment_code (code_hash, record) VALUES (?, ?) ON CONFLICT(code_hash) DO UPDATE SET record = excluded.record",
                params![c.code_hash, json(c)],
            )
            .map_err(be)?;
        Ok(())
    }

    fn code(&mut self, code_hash: &str) -> StoreResult<Option<EnrollmentCode>> {
        let r: Option<String> = self
            .tx
            .query_row(
                "SELECT record FROM enrollment_code WHERE code_hash = ?",
                [code_hash],
                |r| r.get(0),
            )
            .optional()
            .map_err(be)?;
        r.map(|s| parse(&s)).transpose()
    }

    fn put_nonce(&mut self, nonce_hex: &str, device_id: &str, expires_ms: u64) -> StoreResult<()> {
        self.tx
            .execute(
                "INSERT INTO nonce (nonce, device_id, expires_ms) VALUES (?, ?, ?)",
                params![nonce_hex, device_id, expires_ms as i64],
            )
            .map_err(be)?;
        Ok(())
    }

    fn take_nonce(&mut self, nonce_hex: &str) -> StoreResult<Option<(String, u64)>> {
        let r: Option<(String, i64)> = self
            .tx
            .query_row(
                "SELECT device_id, expires_ms FROM nonce WHERE nonce = ?",
                [nonce_hex],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(be)?;
        self.tx
            .execute("DELETE FROM nonce WHERE nonce = ?", [nonce_hex])
            .map_err(be)?;
        Ok(r.map(|(d, e)| (d, e as u64)))
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
        self.tx
            .execute(
                "INSERT OR REPLACE INTO token (token_hash, kind, subject, expires_ms) VALUES (?, ?, ?, ?)",
                params![token_hash, kind, subject, expires_ms as i64],
            )
            .map_err(be)?;
        Ok(())
    }

    fn token(&mut self, token_hash: &str) -> StoreResult<Option<(TokenOwner, u64)>> {
        let r: Option<(String, String, i64)> = self
            .tx
            .query_row(
                "SELECT kind, subject, expires_ms FROM token WHERE token_hash = ?",
                [token_hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(be)?;
        let Some((kind, subject, exp)) = r else {
            return Ok(None);
        };
        let owner = match kind.as_str() {
            "device" => TokenOwner::Device(subject),
            "admin" => TokenOwner::Admin(subject),
            "account" => TokenOwner::Account(subject),
            k => return Err(StoreError::Corrupt(format!("token kind {k}"))),
        };
        Ok(Some((owner, exp as u64)))
    }

    fn purge_expired(&mut self, now_ms: u64) -> StoreResult<()> {
        self.tx
            .execute("DELETE FROM nonce WHERE expires_ms < ?", [now_ms as i64])
            .map_err(be)?;
        self.tx
            .execute("DELETE FROM token WHERE expires_ms < ?", [now_ms as i64])
            .map_err(be)?;
        self.tx
            .execute("DELETE FROM session WHERE expires_ms < ?", [now_ms as i64])
            .map_err(be)?;
        Ok(())
    }

    fn row(&mut self, entity: Entity, row_id: &str) -> StoreResult<Option<Row>> {
        let r: Option<(String, String, String, bool, Option<String>)> = self
            .tx
            .prepare_cached(
                "SELECT scope, fields, field_hlc, deleted, origin FROM row WHERE entity = ? AND row_id = ?",
            )
            .map_err(be)?
            .query_row(params![entity.as_str(), row_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()
            .map_err(be)?;
        match r {
            None => Ok(None),
            Some((scope, fields, field_hlc, deleted, origin)) => Ok(Some(Row {
                entity,
                row_id: row_id.to_string(),
                scope: scope_of(&scope)?,
                fields: parse(&fields)?,
                field_hlc: parse(&field_hlc)?,
                deleted,
                origin,
            })),
        }
    }

    fn put_row(&mut self, row: &Row) -> StoreResult<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO row (entity, row_id, scope, fields, field_hlc, deleted, origin, seq)
                 VALUES (?, ?, ?, ?, ?, ?, ?, coalesce((SELECT max(seq) FROM row), 0) + 1)
                 ON CONFLICT(entity, row_id) DO UPDATE SET scope = excluded.scope, fields = excluded.fields,
                     field_hlc = excluded.field_hlc, deleted = excluded.deleted, origin = excluded.origin",
            )
            .map_err(be)?
            .execute(params![row.entity.as_str(), row.row_id, row.scope.to_string(), json(&row.fields), json(&row.field_hlc), row.deleted, row.origin])
            .map_err(be)?;
        Ok(())
    }

    fn rows(&mut self, entity: Entity, limit: usize) -> StoreResult<Vec<Row>> {
        let mut stmt = self
            .tx
            .prepare("SELECT row_id, scope, fields, field_hlc, deleted, origin FROM row WHERE entity = ? ORDER BY seq DESC LIMIT ?")
            .map_err(be)?;
        #[allow(clippy::type_complexity)]
        let raw: Vec<(String, String, String, String, bool, Option<String>)> = stmt
            .query_map(params![entity.as_str(), limit as i64], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .map_err(be)?
            .collect::<Result<_, _>>()
            .map_err(be)?;
        raw.into_iter()
            .map(|(row_id, scope, fields, hlc, deleted, origin)| {
                Ok(Row {
                    entity,
                    row_id,
                    scope: scope_of(&scope)?,
                    fields: parse(&fields)?,
                    field_hlc: parse(&hlc)?,
                    deleted,
                    origin,
                })
            })
            .collect()
    }

    fn append_op(
        &mut self,
        scope: &Scope,
        entity: Entity,
        row_id: &str,
        kind: &OpKind,
        fields: &Fields,
        hlc: &Hlc,
    ) -> StoreResult<LogOp> {
        let scope = scope.to_string();
        let hash = LogOp::content_hash(&scope, entity, row_id, kind, fields, hlc);
        self.tx
            .prepare_cached("INSERT INTO op (scope, entity, row_id, kind, fields, hlc, hash) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .map_err(be)?
            .execute(params![scope, entity.as_str(), row_id, kind_text(kind), json(fields), hlc.to_string(), hash as i64])
            .map_err(be)?;
        Ok(LogOp {
            op_id: self.tx.last_insert_rowid() as u64,
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
    ) -> StoreResult<Vec<LogOp>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT op_id, entity, row_id, kind, fields, hlc, hash FROM op WHERE scope = ? AND op_id > ? ORDER BY op_id LIMIT 5000")
            .map_err(be)?;
        let mut rows = stmt
            .query(params![scope.to_string(), after_op as i64])
            .map_err(be)?;
        let mut out = vec![];
        let mut bytes = 0usize;
        while let Some(r) = rows.next().map_err(be)? {
            let fields: String = r.get(4).map_err(be)?;
            let size = fields.len() + 64;
            if !out.is_empty() && bytes + size > max_bytes {
                break;
            }
            bytes += size;
            let entity: String = r.get(1).map_err(be)?;
            let kind: String = r.get(3).map_err(be)?;
            let hlc: String = r.get(5).map_err(be)?;
            out.push(LogOp {
                op_id: r.get::<_, i64>(0).map_err(be)? as u64,
                entity: entity
                    .parse()
                    .map_err(|_| StoreError::Corrupt(entity.clone()))?,
                row_id: r.get(2).map_err(be)?,
                kind: kind_parse(&kind)?,
                fields: parse(&fields)?,
                hlc: hlc.parse().map_err(|_| StoreError::Corrupt(hlc.clone()))?,
                hash: r.get::<_, i64>(6).map_err(be)? as u32,
            });
        }
        Ok(out)
    }

    fn scope_summary(&mut self, scope: &Scope, upto: u64) -> StoreResult<(u32, u64)> {
        let (sum, n): (i64, i64) = self
            .tx
            .prepare_cached("SELECT coalesce(sum(hash), 0) % 4294967296, count(*) FROM op WHERE scope = ? AND op_id <= ?")
            .map_err(be)?
            .query_row(params![scope.to_string(), upto as i64], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(be)?;
        Ok((sum as u32, n as u64))
    }

    fn ops_after_count(&mut self, scope: &Scope, after: u64) -> StoreResult<u64> {
        let n: i64 = self
            .tx
            .prepare_cached("SELECT count(*) FROM op WHERE scope = ? AND op_id > ?")
            .map_err(be)?
            .query_row(params![scope.to_string(), after as i64], |r| r.get(0))
            .map_err(be)?;
        Ok(n as u64)
    }

    fn last_op(&mut self, scope: &Scope) -> StoreResult<u64> {
        let v: i64 = self
            .tx
            .prepare_cached("SELECT coalesce(max(op_id), 0) FROM op WHERE scope = ?")
            .map_err(be)?
            .query_row([scope.to_string()], |r| r.get(0))
            .map_err(be)?;
        Ok(v as u64)
    }

    fn mutation_seen(&mut self, mutation_id: &str) -> StoreResult<bool> {
        Ok(self
            .tx
            .prepare_cached("SELECT 1 FROM applied_mutation WHERE mutation_id = ?")
            .map_err(be)?
            .query_row([mutation_id], |_| Ok(()))
            .optional()
            .map_err(be)?
            .is_some())
    }

    fn record_mutation(
        &mut self,
        mutation_id: &str,
        device_id: &str,
        seq: u64,
        verdict: &str,
    ) -> StoreResult<()> {
        self.tx
            .prepare_cached("INSERT INTO applied_mutation (mutation_id, device_id, seq, verdict) VALUES (?, ?, ?, ?)")
            .map_err(be)?
            .execute(params![mutation_id, device_id, seq as i64, verdict])
            .map_err(be)?;
        Ok(())
    }

    fn stored_verdict(
        &mut self,
        device_id: &str,
        seq: u64,
    ) -> StoreResult<Option<(String, String)>> {
        self.tx
            .prepare_cached(
                "SELECT mutation_id, verdict FROM applied_mutation WHERE device_id = ? AND seq = ?",
            )
            .map_err(be)?
            .query_row(params![device_id, seq as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(be)
    }

    fn mutation_count(&mut self, device_id: Option<&str>) -> StoreResult<u64> {
        let n: i64 = match device_id {
            Some(d) => self.tx.query_row(
                "SELECT count(*) FROM applied_mutation WHERE device_id = ?",
                [d],
                |r| r.get(0),
            ),
            None => self
                .tx
                .query_row("SELECT count(*) FROM applied_mutation", [], |r| r.get(0)),
        }
        .map_err(be)?;
        Ok(n as u64)
    }

    fn set_photo_refs(
        &mut self,
        entity: Entity,
        row_id: &str,
        photos: &[String],
    ) -> StoreResult<()> {
        self.tx
            .execute(
                "DELETE FROM photo_ref WHERE entity = ? AND row_id = ?",
                params![entity.as_str(), row_id],
            )
            .map_err(be)?;
        for p in photos {
            self.tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO photo_ref (sha256, entity, row_id) VALUES (?, ?, ?)",
                )
                .map_err(be)?
                .execute(params![p, entity.as_str(), row_id])
                .map_err(be)?;
        }
        Ok(())
    }

    fn photo_refs(&mut self, sha256: &str) -> StoreResult<Vec<(Entity, String)>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT entity, row_id FROM photo_ref WHERE sha256 = ?")
            .map_err(be)?;
        let raw: Vec<(String, String)> = stmt
            .query_map([sha256], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(be)?
            .collect::<Result<_, _>>()
            .map_err(be)?;
        raw.into_iter()
            .map(|(e, id)| Ok((e.parse().map_err(|_| StoreError::Corrupt(e.clone()))?, id)))
            .collect()
    }

    fn put_seal(&mut self, s: &StoredSeal) -> StoreResult<()> {
        self.tx
            .prepare_cached(
                "INSERT OR IGNORE INTO seal (device_id, seq, hash, entity, record_id, verdict, body, received_ms)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .map_err(be)?
            .execute(params![
                s.device_id,
                s.seq as i64,
                s.hash,
                s.entity,
                s.record_id,
                s.verdict,
                s.body,
                s.received_ms as i64
            ])
            .map_err(be)?;
        Ok(())
    }

    fn seals_of(&mut self, entity: &str, record_id: &str) -> StoreResult<Vec<StoredSeal>> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT device_id, seq, hash, entity, record_id, verdict, body, received_ms
                 FROM seal WHERE entity = ? AND record_id = ? ORDER BY received_ms, seq",
            )
            .map_err(be)?;
        let rows = stmt
            .query_map(params![entity, record_id], |r| {
                Ok(StoredSeal {
                    device_id: r.get(0)?,
                    seq: r.get::<_, i64>(1)? as u64,
                    hash: r.get(2)?,
                    entity: r.get(3)?,
                    record_id: r.get(4)?,
                    verdict: r.get(5)?,
                    body: r.get(6)?,
                    received_ms: r.get::<_, i64>(7)? as u64,
                })
            })
            .map_err(be)?
            .collect::<Result<_, _>>()
            .map_err(be)?;
        Ok(rows)
    }

    fn chain_state(&mut self, device_id: &str) -> StoreResult<Option<String>> {
        self.tx
            .prepare_cached("SELECT state FROM chain_state WHERE device_id = ?")
            .map_err(be)?
            .query_row([device_id], |r| r.get(0))
            .optional()
            .map_err(be)
    }

    fn put_chain_state(&mut self, device_id: &str, state: &str) -> StoreResult<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO chain_state (device_id, state) VALUES (?, ?)
                 ON CONFLICT(device_id) DO UPDATE SET state = excluded.state",
            )
            .map_err(be)?
            .execute(params![device_id, state])
            .map_err(be)?;
        Ok(())
    }
}

/// A unique constraint broken: a name or code taken.
fn conflict_or_be(what: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::Conflict(what.to_string()),
        _ => be(e),
    }
}

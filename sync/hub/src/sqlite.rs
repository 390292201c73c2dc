//! The default hub storage: one SQLite file (WAL, synchronous=FULL), so `gridhub serve`
//! needs nothing else to run.

use crate::store::*;
use gridpad_proto::wire::{Op, OpKind};
use gridpad_proto::{Entity, Fields, Hlc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::sync::Mutex;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS device (
    device_id TEXT PRIMARY KEY,
    record    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS enrollment_code (
    code_hash TEXT PRIMARY KEY,
    record    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS nonce (
    nonce      TEXT PRIMARY KEY,
    device_id  TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS token (
    token_hash TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS row (
    entity    TEXT NOT NULL,
    row_id    TEXT NOT NULL,
    scope     TEXT NOT NULL,
    fields    TEXT NOT NULL,
    field_hlc TEXT NOT NULL,
    deleted   INTEGER NOT NULL DEFAULT 0,
    seq       INTEGER NOT NULL,
    PRIMARY KEY (entity, row_id)
);
CREATE INDEX IF NOT EXISTS row_entity_seq ON row(entity, seq);
CREATE INDEX IF NOT EXISTS row_seq ON row(seq);
CREATE TABLE IF NOT EXISTS op (
    op_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    scope  TEXT NOT NULL,
    entity TEXT NOT NULL,
    row_id TEXT NOT NULL,
    kind   TEXT NOT NULL,
    fields TEXT NOT NULL,
    hlc    TEXT NOT NULL,
    hash   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS op_scope ON op(scope, op_id);
CREATE TABLE IF NOT EXISTS applied_mutation (
    mutation_id TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    verdict     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS applied_device ON applied_mutation(device_id, seq);
CREATE TABLE IF NOT EXISTS photo_ref (
    sha256 TEXT NOT NULL,
    entity TEXT NOT NULL,
    row_id TEXT NOT NULL,
    PRIMARY KEY (sha256, entity, row_id)
);
CREATE INDEX IF NOT EXISTS photo_ref_owner ON photo_ref(entity, row_id);
CREATE TABLE IF NOT EXISTS seal (
    device_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    entity      TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    verdict     TEXT NOT NULL,
    body        TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (device_id, seq, hash)
);
CREATE INDEX IF NOT EXISTS seal_record ON seal(entity, record_id);
CREATE TABLE IF NOT EXISTS chain_state (
    device_id TEXT PRIMARY KEY,
    state     TEXT NOT NULL
);
"#;

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    pub fn open(dir: &Path) -> StoreResult<SqliteStore> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Backend(format!("{}: {e}", dir.display())))?;
        let conn = Connection::open(dir.join("gridhub.db")).map_err(be)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
        )
        .map_err(be)?;
        conn.execute_batch(SCHEMA).map_err(be)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }
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

struct Tx<'a> {
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

    fn put_token(&mut self, token_hash: &str, subject: &str, expires_ms: u64) -> StoreResult<()> {
        self.tx
            .execute(
                "INSERT OR REPLACE INTO token (token_hash, subject, expires_ms) VALUES (?, ?, ?)",
                params![token_hash, subject, expires_ms as i64],
            )
            .map_err(be)?;
        Ok(())
    }

    fn token(&mut self, token_hash: &str) -> StoreResult<Option<(String, u64)>> {
        let r: Option<(String, i64)> = self
            .tx
            .query_row(
                "SELECT subject, expires_ms FROM token WHERE token_hash = ?",
                [token_hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(be)?;
        Ok(r.map(|(d, e)| (d, e as u64)))
    }

    fn purge_expired(&mut self, now_ms: u64) -> StoreResult<()> {
        self.tx
            .execute("DELETE FROM nonce WHERE expires_ms < ?", [now_ms as i64])
            .map_err(be)?;
        self.tx
            .execute("DELETE FROM token WHERE expires_ms < ?", [now_ms as i64])
            .map_err(be)?;
        Ok(())
    }

    fn row(&mut self, entity: Entity, row_id: &str) -> StoreResult<Option<Row>> {
        let r: Option<(String, String, String, bool)> = self
            .tx
            .prepare_cached(
                "SELECT scope, fields, field_hlc, deleted FROM row WHERE entity = ? AND row_id = ?",
            )
            .map_err(be)?
            .query_row(params![entity.as_str(), row_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
            .map_err(be)?;
        match r {
            None => Ok(None),
            Some((scope, fields, field_hlc, deleted)) => Ok(Some(Row {
                entity,
                row_id: row_id.to_string(),
                scope,
                fields: parse(&fields)?,
                field_hlc: parse(&field_hlc)?,
                deleted,
            })),
        }
    }

    fn put_row(&mut self, row: &Row) -> StoreResult<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO row (entity, row_id, scope, fields, field_hlc, deleted, seq)
                 VALUES (?, ?, ?, ?, ?, ?, coalesce((SELECT max(seq) FROM row), 0) + 1)
                 ON CONFLICT(entity, row_id) DO UPDATE SET scope = excluded.scope, fields = excluded.fields,
                     field_hlc = excluded.field_hlc, deleted = excluded.deleted",
            )
            .map_err(be)?
            .execute(params![row.entity.as_str(), row.row_id, row.scope, json(&row.fields), json(&row.field_hlc), row.deleted])
            .map_err(be)?;
        Ok(())
    }

    fn rows(&mut self, entity: Entity, limit: usize) -> StoreResult<Vec<Row>> {
        let mut stmt = self
            .tx
            .prepare("SELECT row_id, scope, fields, field_hlc, deleted FROM row WHERE entity = ? ORDER BY seq DESC LIMIT ?")
            .map_err(be)?;
        let raw: Vec<(String, String, String, String, bool)> = stmt
            .query_map(params![entity.as_str(), limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .map_err(be)?
            .collect::<Result<_, _>>()
            .map_err(be)?;
        raw.into_iter()
            .map(|(row_id, scope, fields, hlc, deleted)| {
                Ok(Row {
                    entity,
                    row_id,
                    scope,
                    fields: parse(&fields)?,
                    field_hlc: parse(&hlc)?,
                    deleted,
                })
            })
            .collect()
    }

    fn append_op(
        &mut self,
        scope: &str,
        entity: Entity,
        row_id: &str,
        kind: &OpKind,
        fields: &Fields,
        hlc: &Hlc,
    ) -> StoreResult<Op> {
        let hash = Op::content_hash(scope, entity, row_id, kind, fields, hlc);
        self.tx
            .prepare_cached("INSERT INTO op (scope, entity, row_id, kind, fields, hlc, hash) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .map_err(be)?
            .execute(params![scope, entity.as_str(), row_id, kind_text(kind), json(fields), hlc.to_string(), hash as i64])
            .map_err(be)?;
        Ok(Op {
            op_id: self.tx.last_insert_rowid() as u64,
            entity,
            row_id: row_id.to_string(),
            kind: kind.clone(),
            fields: fields.clone(),
            hlc: hlc.clone(),
            hash,
        })
    }

    fn ops_after(&mut self, scope: &str, after_op: u64, max_bytes: usize) -> StoreResult<Vec<Op>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT op_id, entity, row_id, kind, fields, hlc, hash FROM op WHERE scope = ? AND op_id > ? ORDER BY op_id LIMIT 5000")
            .map_err(be)?;
        let mut rows = stmt.query(params![scope, after_op as i64]).map_err(be)?;
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
            out.push(Op {
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

    fn scope_summary(&mut self, scope: &str, upto: u64) -> StoreResult<(u32, u64)> {
        let (sum, n): (i64, i64) = self
            .tx
            .prepare_cached("SELECT coalesce(sum(hash), 0) % 4294967296, count(*) FROM op WHERE scope = ? AND op_id <= ?")
            .map_err(be)?
            .query_row(params![scope, upto as i64], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(be)?;
        Ok((sum as u32, n as u64))
    }

    fn ops_after_count(&mut self, scope: &str, after: u64) -> StoreResult<u64> {
        let n: i64 = self
            .tx
            .prepare_cached("SELECT count(*) FROM op WHERE scope = ? AND op_id > ?")
            .map_err(be)?
            .query_row(params![scope, after as i64], |r| r.get(0))
            .map_err(be)?;
        Ok(n as u64)
    }

    fn last_op(&mut self, scope: &str) -> StoreResult<u64> {
        let v: i64 = self
            .tx
            .prepare_cached("SELECT coalesce(max(op_id), 0) FROM op WHERE scope = ?")
            .map_err(be)?
            .query_row([scope], |r| r.get(0))
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

    fn stored_verdict(&mut self, device_id: &str, seq: u64) -> StoreResult<Option<String>> {
        self.tx
            .prepare_cached("SELECT verdict FROM applied_mutation WHERE device_id = ? AND seq = ?")
            .map_err(be)?
            .query_row(params![device_id, seq as i64], |r| r.get(0))
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

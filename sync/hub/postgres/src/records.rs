//! The sync records on PostgreSQL: devices, codes, challenges and tokens, rows, each scope's
//! change log, applied mutations and their verdicts, photo references, seals.

use crate::{entity_of, head_key, int, json, kind_parse, kind_text, parse, scope_of, uint, Tx};
use gridhub_store::*;
use gridpad_proto::wire::{LogOp, OpKind};
use gridpad_proto::{Entity, Fields, Hlc};

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
    ) -> StoreResult<LogOp> {
        let scope_text = scope.to_string();
        let hash = LogOp::content_hash(&scope_text, entity, row_id, kind, fields, hlc);
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
        Ok(LogOp {
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
    ) -> StoreResult<Vec<LogOp>> {
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
            out.push(LogOp {
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

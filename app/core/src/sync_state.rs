//! The device side of a sync exchange, as store operations: what to push, the cursors to
//! pull from, and applying the hub's answer — verdicts in one transaction, each page of
//! the change log in its own transaction together with its cursor.

use crate::apply;
use crate::error::{Error, Result};
use crate::store::{rfc3339, Store};
use gridpad_proto::wire::{Conflict, Cursor, Health, OpKind, Page, Status, Verdict};
use gridpad_proto::{Entity, Hlc, Mutation};
use rusqlite::{params, OptionalExtension};

/// What applying the push verdicts did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AckSummary {
    pub acked: u64,
    pub rejected: u64,
    pub conflicts: u64,
}

/// What applying one page did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PageSummary {
    pub applied: u64,
    /// Ops the device could not take, set aside (reported to the centre in the health).
    pub quarantined: u64,
    /// Notices that another device's later edit replaced a value of this device.
    pub conflicts: u64,
    /// The local checksum disagreed with the hub's: the scope starts over from zero.
    pub diverged: bool,
}

impl Store {
    /// Pending mutations in sequence order, at most `max_bytes` of them (at least one).
    pub fn pending_mutations(&self, max_bytes: usize) -> Result<Vec<Mutation>> {
        let mut out = vec![];
        let mut bytes = 0usize;
        for e in self.outbox(10_000)? {
            let size = e
                .mutation
                .fields
                .iter()
                .map(|(k, v)| k.len() + v.to_string().len())
                .sum::<usize>()
                + 96;
            if !out.is_empty() && bytes + size > max_bytes {
                break;
            }
            bytes += size;
            out.push(e.mutation);
        }
        Ok(out)
    }

    /// The scopes this device pulls and where it stands in each.
    pub fn cursors(&self) -> Result<Vec<Cursor>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT scope, after_op FROM scope_cursor ORDER BY priority, scope")?;
        let rows = stmt.query_map([], |r| {
            Ok(Cursor {
                scope: r.get(0)?,
                after_op: r.get::<_, i64>(1)? as u64,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Local checksum and count of a scope (what the device applied).
    pub fn scope_state(&self, scope: &str) -> Result<Option<(u64, u32, u64)>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT after_op, checksum, count FROM scope_cursor WHERE scope = ?",
                [scope],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)? as u64,
                        r.get::<_, i64>(1)? as u32,
                        r.get::<_, i64>(2)? as u64,
                    ))
                },
            )
            .optional()?)
    }

    /// Make the device's scopes exactly `scopes`: new ones start from zero; a grid scope
    /// that is gone takes its base data with it.
    pub fn set_scopes(&mut self, scopes: &[String]) -> Result<()> {
        let have: Vec<String> = self.cursors()?.into_iter().map(|c| c.scope).collect();
        let tx = self.conn_mut().transaction()?;
        for s in scopes.iter().filter(|s| !have.contains(s)) {
            let priority = if s.starts_with("device:") {
                0
            } else if s == "catalog" {
                1
            } else {
                3
            };
            tx.execute(
                "INSERT INTO scope_cursor (scope, after_op, checksum, count, priority) VALUES (?, 0, 0, 0, ?)",
                params![s, priority],
            )?;
        }
        for s in have.iter().filter(|s| !scopes.contains(s)) {
            tx.execute("DELETE FROM scope_cursor WHERE scope = ?", [s])?;
            if let Some(grid) = s.strip_prefix("grid:") {
                for table in [
                    "person",
                    "house",
                    "organisation",
                    "facility",
                    "building",
                    "address",
                ] {
                    let ids: Vec<String> = tx
                        .prepare(&format!("SELECT id FROM {table} WHERE grid_id = ?"))?
                        .query_map([grid], |r| r.get(0))?
                        .collect::<rusqlite::Result<_>>()?;
                    for id in ids {
                        let entity: Entity =
                            table.parse().map_err(|_| Error::Invalid(table.into()))?;
                        apply::apply_op(
                            &tx,
                            entity,
                            &id,
                            &OpKind::Remove,
                            &Default::default(),
                            &Hlc::new(0, 0, "hub"),
                        )?;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Health figures sent with every exchange.
    pub fn sync_health(&self, clock_offset_ms: i64, last_error: Option<String>) -> Result<Health> {
        let c = self.conn();
        let queue_len: i64 = c.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?;
        let oldest: Option<String> = c
            .query_row(
                "SELECT created_at FROM outbox ORDER BY seq LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let oldest_pending_s = oldest
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| {
                (self.now() - t.with_timezone(&chrono::Utc))
                    .num_seconds()
                    .max(0) as u64
            })
            .unwrap_or(0);
        let dead: i64 = c.query_row("SELECT count(*) FROM dead_letter", [], |r| r.get(0))?;
        let quarantined: i64 =
            c.query_row("SELECT count(*) FROM quarantined_op", [], |r| r.get(0))?;
        let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        Ok(Health {
            queue_len: queue_len as u64,
            oldest_pending_s,
            dead_letters: dead as u64,
            db_bytes: pages as u64 * 4096,
            clock_offset_ms,
            last_error,
            quarantined: quarantined as u64,
        })
    }

    /// Apply the hub's verdicts on pushed mutations, in one transaction: acknowledged
    /// rows leave the outbox, permanent rejections go to the dead-letter list, lost
    /// field races become conflict notices, and pending fields take the hub's timestamp.
    pub fn apply_verdicts(
        &mut self,
        acked_through: u64,
        verdicts: &[Verdict],
    ) -> Result<AckSummary> {
        let now_t = self.now();
        let now = rfc3339(now_t);
        let tx = self.conn_mut().transaction()?;
        let mut sum = AckSummary::default();
        for v in verdicts.iter().filter(|v| v.seq <= acked_through) {
            let row: Option<(String, String, String, String, String)> = tx
                .query_row(
                    "SELECT mutation_id, entity, row_id, op, fields FROM outbox WHERE seq = ?",
                    [v.seq as i64],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            let Some((mid, entity, row_id, op, fields)) = row else {
                continue;
            };
            match v.status {
                Status::Rejected => {
                    sum.rejected += 1;
                    tx.execute(
                        "INSERT OR IGNORE INTO dead_letter (seq, mutation_id, entity, row_id, op, fields, reason, detail, at)
                         VALUES (?, ?, ?, ?, ?, ?, ?, '', ?)",
                        params![v.seq as i64, mid, entity, row_id, op, fields, v.reason.clone().unwrap_or_default(), now],
                    )?;
                    tx.execute("DELETE FROM pending_field WHERE seq = ?", [v.seq as i64])?;
                }
                _ => {
                    // The hub has decided: take its current values of the fields this
                    // mutation touched, unless a newer local edit of a field still waits.
                    let ent: Entity = entity.parse().map_err(|_| Error::Invalid(entity.clone()))?;
                    let mut canonical = v.canonical.clone();
                    for field in v.canonical.keys() {
                        let newer: bool = tx
                            .query_row(
                                "SELECT 1 FROM pending_field WHERE entity = ? AND row_id = ? AND field = ? AND seq > ?",
                                params![entity, row_id, field, v.seq as i64],
                                |_| Ok(()),
                            )
                            .optional()?
                            .is_some();
                        if newer {
                            canonical.remove(field);
                        }
                    }
                    if !canonical.is_empty() {
                        let hlc = v.hlc.clone().unwrap_or_else(|| Hlc::new(0, 0, "hub"));
                        apply::apply_op(&tx, ent, &row_id, &OpKind::Put, &canonical, &hlc)?;
                    }
                    tx.execute(
                        "DELETE FROM pending_field WHERE entity = ? AND row_id = ? AND seq <= ?",
                        params![entity, row_id, v.seq as i64],
                    )?;
                    for c in &v.conflicts {
                        sum.conflicts += 1;
                        record_conflict(&tx, &entity, &row_id, c, &fields, &now)?;
                    }
                }
            }
        }
        crate::resend::archive_acknowledged(&tx, acked_through, now_t)?;
        let acked = tx.execute("DELETE FROM outbox WHERE seq <= ?", [acked_through as i64])?;
        sum.acked = acked as u64;
        tx.commit()?;
        Ok(sum)
    }

    /// Apply one page of a scope's change log and advance its cursor, in one transaction.
    /// Fields with a newer local edit pending are left alone. If the running checksum then
    /// disagrees with the hub's, the scope is reset to download again from zero.
    pub fn apply_page(&mut self, page: &Page) -> Result<PageSummary> {
        let now = rfc3339(self.now());
        let tx = self.conn_mut().transaction()?;
        let (mut after, mut checksum, mut count): (u64, u32, u64) = tx
            .query_row(
                "SELECT after_op, checksum, count FROM scope_cursor WHERE scope = ?",
                [&page.scope],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)? as u64,
                        r.get::<_, i64>(1)? as u32,
                        r.get::<_, i64>(2)? as u64,
                    ))
                },
            )
            .optional()?
            .ok_or_else(|| Error::Invalid(format!("not a scope of this device: {}", page.scope)))?;
        let mut sum = PageSummary::default();
        let mut newest: Option<&Hlc> = None;
        for op in &page.ops {
            if op.op_id <= after {
                continue; // already applied (a page re-sent after a lost response)
            }
            let mut fields = op.fields.clone();
            if op.kind == OpKind::Put && op.entity.is_base_data() {
                // A local edit of this field awaits its verdict; the verdict brings the
                // hub's value for it, whatever this op says.
                let mut stmt = tx.prepare_cached(
                    "SELECT 1 FROM pending_field WHERE entity = ? AND row_id = ? AND field = ?",
                )?;
                fields.retain(|field, _| {
                    !matches!(
                        stmt.query_row(params![op.entity.as_str(), op.row_id, field], |_| Ok(())),
                        Ok(())
                    )
                });
            }
            if matches!(&op.kind, OpKind::Command(c) if c == SUPERSEDED) {
                // Another device's later edit replaced this device's value.
                if let Ok(c) = serde_json::from_value::<Conflict>(serde_json::Value::Object(
                    fields.clone().into_iter().collect(),
                )) {
                    let local = fields.get("your_value").map(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string())
                    });
                    insert_conflict(&tx, op.entity.as_str(), &op.row_id, &c, local, &now)?;
                    sum.conflicts += 1;
                }
            } else if !(op.kind == OpKind::Put && fields.is_empty()) {
                if let Err(why) = apply_or_set_aside(&tx, op, &fields)? {
                    quarantine(&tx, &page.scope, op, &fields, &why, &now)?;
                    sum.quarantined += 1;
                }
            }
            if newest.is_none_or(|n| op.hlc > *n) {
                newest = Some(&op.hlc);
            }
            after = op.op_id;
            checksum = checksum.wrapping_add(op.hash);
            count += 1;
            sum.applied += 1;
        }
        // What was set aside earlier may fit now (the record it refers to has arrived).
        retry_quarantined(&tx, &page.scope)?;
        after = after.max(page.next_after_op);
        if after == page.next_after_op && (checksum != page.checksum || count != page.count) {
            sum.diverged = true;
            tx.execute(
                "UPDATE scope_cursor SET after_op = 0, checksum = 0, count = 0 WHERE scope = ?",
                [&page.scope],
            )?;
        } else {
            tx.execute(
                "UPDATE scope_cursor SET after_op = ?, checksum = ?, count = ? WHERE scope = ?",
                params![after as i64, checksum as i64, count as i64, page.scope],
            )?;
        }
        tx.commit()?;
        if let Some(h) = newest {
            self.observe_hlc(h)?;
        }
        Ok(sum)
    }
}

/// The op that tells a device another device's later edit replaced its value.
pub const SUPERSEDED: &str = "superseded";

/// Apply one pulled op in a savepoint. A row the device cannot take (its schema refuses
/// it, a record it refers to has not arrived) is `Ok(Err(reason))` and changes nothing; a
/// full disk or a broken database is an error that fails the page (to be tried again).
fn apply_or_set_aside(
    tx: &rusqlite::Transaction<'_>,
    op: &gridpad_proto::wire::LogOp,
    fields: &gridpad_proto::Fields,
) -> Result<std::result::Result<(), String>> {
    tx.execute_batch("SAVEPOINT pulled_op")?;
    match apply::apply_op(tx, op.entity, &op.row_id, &op.kind, fields, &op.hlc) {
        Ok(()) => {
            tx.execute_batch("RELEASE pulled_op")?;
            Ok(Ok(()))
        }
        Err(e) => {
            tx.execute_batch("ROLLBACK TO pulled_op; RELEASE pulled_op")?;
            let data = match &e {
                Error::Invalid(_) | Error::NotFound(_) | Error::NotAllowed(_) | Error::Form(_) => {
                    true
                }
                Error::Db(d) => {
                    d.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
                }
                _ => false,
            };
            if data {
                Ok(Err(e.to_string().chars().take(300).collect()))
            } else {
                Err(e)
            }
        }
    }
}

fn quarantine(
    tx: &rusqlite::Connection,
    scope: &str,
    op: &gridpad_proto::wire::LogOp,
    fields: &gridpad_proto::Fields,
    reason: &str,
    now: &str,
) -> Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO quarantined_op (scope, op_id, entity, row_id, kind, fields, hlc, reason, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            scope,
            op.op_id as i64,
            op.entity.as_str(),
            op.row_id,
            serde_json::to_string(&op.kind).expect("op kind serialises"),
            serde_json::to_string(fields).expect("fields serialise"),
            op.hlc.to_string(),
            reason,
            now
        ],
    )?;
    Ok(())
}

/// Try the set-aside ops of `scope` again, oldest first; those that apply now leave.
fn retry_quarantined(tx: &rusqlite::Transaction<'_>, scope: &str) -> Result<()> {
    let waiting: Vec<(i64, String, String, String, String, String)> = tx
        .prepare_cached(
            "SELECT op_id, entity, row_id, kind, fields, hlc FROM quarantined_op WHERE scope = ? ORDER BY op_id",
        )?
        .query_map([scope], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (op_id, entity, row_id, kind, fields, hlc) in waiting {
        let (Ok(entity), Ok(kind), Ok(fields), Ok(hlc)) = (
            entity.parse::<Entity>(),
            serde_json::from_str::<OpKind>(&kind),
            serde_json::from_str::<gridpad_proto::Fields>(&fields),
            hlc.parse::<Hlc>(),
        ) else {
            continue;
        };
        let op = gridpad_proto::wire::LogOp {
            op_id: op_id as u64,
            entity,
            row_id,
            kind,
            fields: fields.clone(),
            hlc,
            hash: 0,
        };
        if apply_or_set_aside(tx, &op, &fields)?.is_ok() {
            tx.execute(
                "DELETE FROM quarantined_op WHERE scope = ? AND op_id = ?",
                params![scope, op_id],
            )?;
        }
    }
    Ok(())
}

fn record_conflict(
    tx: &rusqlite::Connection,
    entity: &str,
    row_id: &str,
    c: &Conflict,
    fields: &str,
    now: &str,
) -> Result<()> {
    let local = serde_json::from_str::<serde_json::Value>(fields)
        .ok()
        .and_then(|f| {
            f.get(&c.field).map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
        });
    insert_conflict(tx, entity, row_id, c, local, now)
}

fn insert_conflict(
    tx: &rusqlite::Connection,
    entity: &str,
    row_id: &str,
    c: &Conflict,
    local: Option<String>,
    now: &str,
) -> Result<()> {
    let winning = c
        .other_value
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| c.other_value.to_string());
    let (local, winning, winner) = if c.device_lost {
        (local, Some(winning), c.other_by.clone())
    } else {
        (local.clone(), local, "device".to_string())
    };
    // The same lost race can be learnt twice (from the pulled op and from the verdict).
    let known: bool = tx
        .query_row(
            "SELECT 1 FROM conflict_notice WHERE entity = ? AND row_id = ? AND field = ? AND winning_value IS ? AND seen = 0",
            params![entity, row_id, c.field, winning],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if known {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO conflict_notice (entity, row_id, field, local_value, winning_value, winner, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        params![entity, row_id, c.field, local, winning, winner, now],
    )?;
    Ok(())
}

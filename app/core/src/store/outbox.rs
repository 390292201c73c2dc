//! Transactions and the outbox contract: every local change is recorded by
//! [`Writer::record`] with its outbox row in the same transaction. The centre's changes
//! go through the same code (`crate::apply`) without one: pages of the scopes' logs from
//! the sync pull in `Store::apply_page` (`crate::sync_state`), a batch of
//! [`RemoteChange`]s (the demo town) in [`Store::apply_remote`].

use super::{new_id, rfc3339, RemoteChange, Store};
use crate::apply::{self, Origin};
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use gridpad_proto::{Entity, Fields, Hlc, HlcClock, Mutation, Op};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

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

/// One outbox row, as sync will push it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    #[serde(flatten)]
    pub mutation: Mutation,
    pub created_at: String,
    pub state: String,
    pub attempts: i64,
}

impl Store {
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

    /// Apply a batch of the centre's changes in one transaction (the demo town, tests; the
    /// sync pull applies pages: `Store::apply_page`).
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
}

/// A transaction in which local changes are recorded.
pub struct Writer<'a> {
    /// The transaction, for the writes' own checks (`store::field_work`'s patrol state).
    pub(super) tx: rusqlite::Transaction<'a>,
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

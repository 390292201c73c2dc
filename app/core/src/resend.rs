//! What the device keeps so that a hub restored from a backup still receives everything.
//!
//! A mutation the hub acknowledged leaves the outbox for `outbox_sent`, where it stays for
//! [`KEEP_DAYS`] days (at most [`KEEP_ROWS`] rows). When a hub answers an exchange with "I
//! expect mutation N next" and N is *behind* the outbox (the hub lost what it had
//! acknowledged: a restore), [`Store::resend_from`] moves the kept mutations from N on back
//! into the outbox, unchanged — same sequence numbers, same mutation ids — so the next
//! exchange delivers them again and the hub, which no longer knows them, applies them.

use crate::error::Result;
use crate::store::{rfc3339, Store};
use rusqlite::{params, Transaction};

/// How long an acknowledged mutation is kept for a restored hub.
pub const KEEP_DAYS: i64 = 30;
/// At most this many acknowledged mutations are kept (the oldest go first).
pub const KEEP_ROWS: i64 = 50_000;

/// What [`Store::resend_from`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resend {
    /// The hub's expectation is not behind the outbox: nothing to resend (a plain gap is
    /// the outbox's business, not a restore).
    NotBehind,
    /// This many kept mutations are back in the outbox, from the hub's expectation on.
    Requeued(u64),
    /// The hub expects `from`, but the device kept mutations only from `kept_from` (older
    /// ones were pruned): those cannot be sent again. What is kept (`requeued`) is back in
    /// the outbox; the next exchange asks the hub to resume from `kept_from`
    /// (`SyncRequest::resume_from`), and the hub records the numbers in between as lost.
    Missing {
        from: u64,
        kept_from: u64,
        requeued: u64,
    },
}

/// Move the mutations acknowledged through `acked_through` from the outbox to the kept
/// list, and prune the kept list. Part of the verdicts' transaction.
pub(crate) fn archive_acknowledged(
    tx: &Transaction<'_>,
    acked_through: u64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO outbox_sent
             (seq, mutation_id, hlc, entity, row_id, op, fields, created_at, acked_at)
         SELECT seq, mutation_id, hlc, entity, row_id, op, fields, created_at, ?
           FROM outbox WHERE seq <= ?",
        params![rfc3339(now), acked_through as i64],
    )?;
    let cutoff = rfc3339(now - chrono::Duration::days(KEEP_DAYS));
    tx.execute("DELETE FROM outbox_sent WHERE acked_at < ?", [cutoff])?;
    tx.execute(
        "DELETE FROM outbox_sent WHERE seq <= (SELECT max(seq) FROM outbox_sent) - ?",
        [KEEP_ROWS],
    )?;
    Ok(())
}

/// Move kept mutations `from..to` back into the outbox, unchanged.
fn requeue(tx: &Transaction<'_>, from: u64, to: u64) -> Result<u64> {
    let n = tx.execute(
        "INSERT INTO outbox (seq, mutation_id, hlc, entity, row_id, op, fields, created_at)
         SELECT seq, mutation_id, hlc, entity, row_id, op, fields, created_at
           FROM outbox_sent WHERE seq >= ? AND seq < ?",
        params![from as i64, to as i64],
    )?;
    tx.execute(
        "DELETE FROM outbox_sent WHERE seq >= ? AND seq < ?",
        params![from as i64, to as i64],
    )?;
    Ok(n as u64)
}

impl Store {
    /// The hub expects mutation `expected` next. If that is behind the outbox — the hub
    /// lost mutations it had acknowledged — put the kept ones back, from `expected` on,
    /// in one transaction. Idempotent: asked twice, the second finds them in the outbox.
    pub fn resend_from(&mut self, expected: u64) -> Result<Resend> {
        let tx = self.conn_mut().transaction()?;
        let first_pending: Option<i64> =
            tx.query_row("SELECT min(seq) FROM outbox", [], |r| r.get(0))?;
        let next_seq: i64 = tx.query_row(
            "SELECT coalesce((SELECT CAST(value AS INTEGER) FROM kv WHERE key = 'next_seq'), 1)",
            [],
            |r| r.get(0),
        )?;
        let front = first_pending.unwrap_or(next_seq).max(0) as u64;
        if expected == 0 || expected >= front {
            return Ok(Resend::NotBehind);
        }
        let (kept, kept_from): (i64, Option<i64>) = tx.query_row(
            "SELECT count(*), min(seq) FROM outbox_sent WHERE seq >= ? AND seq < ?",
            params![expected as i64, front as i64],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let complete = kept as u64 == front - expected && kept_from == Some(expected as i64);
        // The kept mutations contiguous up to the outbox (a pruned list keeps the newest).
        let kept_from = kept_from.map_or(front, |k| k as u64).max(expected);
        let requeued = requeue(&tx, kept_from, front)?;
        tx.commit()?;
        if complete {
            Ok(Resend::Requeued(requeued))
        } else {
            Ok(Resend::Missing {
                from: expected,
                kept_from,
                requeued,
            })
        }
    }

    /// How many acknowledged mutations are kept for a restored hub.
    pub fn kept_for_resend(&self) -> Result<u64> {
        let n: i64 = self
            .conn()
            .query_row("SELECT count(*) FROM outbox_sent", [], |r| r.get(0))?;
        Ok(n as u64)
    }
}

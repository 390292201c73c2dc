//! What sync leaves for the user to see: what waits in the outbox, changes the hub
//! refused for good (dead letters) and conflict notices (a value of this device replaced
//! by a later edit elsewhere) — one read type each, whether the sync screen, the CLI or a
//! test reads them.

use super::{ConflictItem, Queries, RejectedItem, SyncHealth, WaitingItem};
use crate::error::{Error, Result};
use crate::store::Store;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

/// A short human title for a record from its fields (name, title, description …).
fn title_of(fields: &Value) -> String {
    for key in ["name", "title", "description", "content", "topic", "place"] {
        if let Some(s) = fields.get(key).and_then(Value::as_str) {
            if !s.is_empty() {
                let mut t: String = s.chars().take(24).collect();
                if s.chars().count() > 24 {
                    t.push('…');
                }
                return t;
            }
        }
    }
    String::new()
}

const REJECTED_COLS: &str = "seq, entity, row_id, op, fields, reason, detail, at";

fn rejected_item(r: &rusqlite::Row<'_>) -> rusqlite::Result<RejectedItem> {
    let fields: String = r.get(4)?;
    Ok(RejectedItem {
        seq: r.get(0)?,
        entity: r.get(1)?,
        row_id: r.get(2)?,
        op: r.get(3)?,
        title: title_of(&serde_json::from_str(&fields).unwrap_or(Value::Null)),
        reason: r.get(5)?,
        detail: r.get(6)?,
        at: r.get(7)?,
    })
}

const CONFLICT_COLS: &str =
    "id, entity, row_id, field, local_value, winning_value, winner, at, seen";

fn conflict_items(conn: &Connection, sql: &str, limit: i64) -> Result<Vec<ConflictItem>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([limit], |r| {
        Ok(ConflictItem {
            id: r.get(0)?,
            entity: r.get(1)?,
            row_id: r.get(2)?,
            title: String::new(),
            field: r.get(3)?,
            local_value: r.get(4)?,
            winning_value: r.get(5)?,
            winner: r.get(6)?,
            at: r.get(7)?,
            seen: r.get(8)?,
        })
    })?;
    let mut out: Vec<ConflictItem> = rows.collect::<rusqlite::Result<_>>()?;
    for c in &mut out {
        c.title = record_title(conn, &c.entity, &c.row_id)?;
    }
    Ok(out)
}

fn record_title(conn: &Connection, entity: &str, row_id: &str) -> Result<String> {
    let sql = match entity {
        "person" | "organisation" | "building" => {
            format!("SELECT name FROM {entity} WHERE id = ?")
        }
        "task" | "notice" => format!("SELECT title FROM {entity} WHERE id = ?"),
        "event" => "SELECT description FROM event WHERE id = ?".to_string(),
        "house" => "SELECT full_address FROM house WHERE id = ?".to_string(),
        _ => return Ok(String::new()),
    };
    let t: Option<String> = conn.query_row(&sql, [row_id], |r| r.get(0)).optional()?;
    Ok(t.map(|s| title_of(&serde_json::json!({ "name": s })))
        .unwrap_or_default())
}

impl Store {
    /// Changes the hub refused for good, oldest first.
    pub fn dead_letters(&self) -> Result<Vec<RejectedItem>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {REJECTED_COLS} FROM dead_letter ORDER BY seq"
        ))?;
        let rows = stmt.query_map([], rejected_item)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every conflict notice, oldest first.
    pub fn conflict_notices(&self) -> Result<Vec<ConflictItem>> {
        conflict_items(
            self.conn(),
            &format!("SELECT {CONFLICT_COLS} FROM conflict_notice ORDER BY id LIMIT ?"),
            -1,
        )
    }
}

impl Queries<'_> {
    pub fn sync_health(&self) -> Result<SyncHealth> {
        let (pending, inflight): (i64, i64) = self.conn.query_row(
            "SELECT count(*), coalesce(sum(state = 'inflight'), 0) FROM outbox",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let rejected = self
            .conn
            .query_row("SELECT count(*) FROM dead_letter", [], |r| r.get(0))?;
        let conflicts = self.conn.query_row(
            "SELECT count(*) FROM conflict_notice WHERE seen = 0",
            [],
            |r| r.get(0),
        )?;
        let last_sync = self
            .conn
            .query_row(
                "SELECT value FROM kv WHERE key = 'last_hub_contact'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let (photos_waiting, photo_bytes_waiting) = self.conn.query_row(
            "SELECT count(*), coalesce(sum(bytes - upload_offset), 0) FROM photo p
             WHERE state IN ('local', 'uploading')
               AND EXISTS (SELECT 1 FROM photo_ref r WHERE r.sha256 = p.sha256)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(SyncHealth {
            pending,
            inflight,
            rejected,
            conflicts,
            last_sync,
            photos_waiting,
            photo_bytes_waiting,
        })
    }

    /// Outbox rows, oldest first.
    pub fn waiting(&self, limit: usize) -> Result<Vec<WaitingItem>> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, entity, row_id, op, fields, created_at, attempts FROM outbox ORDER BY seq LIMIT ?",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            let fields: String = r.get(4)?;
            Ok(WaitingItem {
                seq: r.get(0)?,
                entity: r.get(1)?,
                row_id: r.get(2)?,
                op: r.get(3)?,
                title: title_of(&serde_json::from_str(&fields).unwrap_or(Value::Null)),
                created_at: r.get(5)?,
                attempts: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Changes the hub rejected for good, newest first.
    pub fn rejected(&self, limit: usize) -> Result<Vec<RejectedItem>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {REJECTED_COLS} FROM dead_letter ORDER BY seq DESC LIMIT ?"
        ))?;
        let rows = stmt.query_map([limit as i64], rejected_item)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Conflict notices, unseen first, newest first.
    pub fn conflicts(&self, limit: usize) -> Result<Vec<ConflictItem>> {
        conflict_items(
            self.conn,
            &format!("SELECT {CONFLICT_COLS} FROM conflict_notice ORDER BY seen, id DESC LIMIT ?"),
            limit as i64,
        )
    }

    /// A short title of a domain record (a resident's name, a task's title …).
    pub fn record_title(&self, entity: &str, row_id: &str) -> Result<String> {
        record_title(self.conn, entity, row_id)
    }

    /// Test and demo helper: file a dead letter as sync does when the hub rejects an
    /// outbox row for good (the row leaves the outbox). Not used by the product UI.
    #[doc(hidden)]
    pub fn reject_outbox_row_for_tests(&self, seq: i64, reason: &str, detail: &str) -> Result<()> {
        let n = self.conn.execute(
            "INSERT INTO dead_letter (seq, mutation_id, entity, row_id, op, fields, reason, detail, at)
             SELECT seq, mutation_id, entity, row_id, op, fields, ?, ?, ? FROM outbox WHERE seq = ?",
            params![reason, detail, crate::store::rfc3339(self.now), seq],
        )?;
        if n == 0 {
            return Err(Error::NotFound(format!("outbox row {seq}")));
        }
        self.conn
            .execute("DELETE FROM outbox WHERE seq = ?", [seq])?;
        Ok(())
    }

    /// Test and demo helper: file a conflict notice as sync does after a lost race.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub fn add_conflict_for_tests(
        &self,
        entity: &str,
        row_id: &str,
        field: &str,
        local: &str,
        winning: &str,
        winner: &str,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO conflict_notice (entity, row_id, field, local_value, winning_value, winner, at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            params![
                entity,
                row_id,
                field,
                local,
                winning,
                winner,
                crate::store::rfc3339(self.now)
            ],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_come_from_the_first_meaningful_field() {
        assert_eq!(title_of(&serde_json::json!({"name": "张喆"})), "张喆");
        assert_eq!(
            title_of(&serde_json::json!({"description": "", "title": "核查"})),
            "核查"
        );
        assert_eq!(title_of(&serde_json::json!({"x": 1})), "");
        let long = "一".repeat(30);
        assert_eq!(
            title_of(&serde_json::json!({ "content": long }))
                .chars()
                .count(),
            25
        );
    }
}

//! The hops of an event's handling on SQLite.

use crate::{be, json, Tx};
use gridhub_store::*;
use rusqlite::{params, OptionalExtension};

impl HandlingTx for Tx<'_> {
    fn add_hop(&mut self, hop: &Hop) -> StoreResult<()> {
        let last: Option<u32> = self
            .tx
            .query_row(
                "SELECT MAX(seq) FROM event_hop WHERE event_id = ?1",
                [&hop.event_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(be)?
            .flatten();
        if hop.seq != last.unwrap_or(0) + 1 {
            return Err(StoreError::Conflict(format!(
                "hop {} of event {:.40}",
                hop.seq, hop.event_id
            )));
        }
        self.tx
            .execute(
                "INSERT INTO event_hop (event_id, seq, department_id, record) VALUES (?1, ?2, ?3, ?4)",
                params![hop.event_id, hop.seq, hop.department_id, json(hop)],
            )
            .map_err(be)?;
        Ok(())
    }

    fn hops(&mut self, event_id: &str) -> StoreResult<Vec<Hop>> {
        self.records(
            "SELECT record FROM event_hop WHERE event_id = ?1 ORDER BY seq",
            [event_id],
        )
    }

    fn held_by_department(&mut self, department_id: &str) -> StoreResult<Vec<String>> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT h.event_id FROM event_hop h WHERE h.department_id = ?1
                   AND h.seq = (SELECT MAX(seq) FROM event_hop WHERE event_id = h.event_id)
                 ORDER BY h.event_id",
            )
            .map_err(be)?;
        let ids = stmt
            .query_map([department_id], |r| r.get(0))
            .map_err(be)?
            .collect::<Result<_, _>>()
            .map_err(be)?;
        Ok(ids)
    }

    fn department_holds(&mut self, limit: usize) -> StoreResult<Vec<Hop>> {
        self.records(
            "SELECT h.record FROM event_hop h WHERE h.department_id IS NOT NULL
               AND h.seq = (SELECT MAX(seq) FROM event_hop WHERE event_id = h.event_id)
             ORDER BY h.event_id LIMIT ?1",
            [limit.min(1_000_000) as i64],
        )
    }
}

//! The hops of an event's handling on PostgreSQL.

use crate::{json, Tx};
use gridhub_store::*;

impl HandlingTx for Tx<'_> {
    fn add_hop(&mut self, hop: &Hop) -> StoreResult<()> {
        let last: Option<i64> = self
            .query_opt(
                "SELECT MAX(seq)::BIGINT FROM event_hop WHERE event_id = $1",
                &[&hop.event_id],
            )?
            .and_then(|r| r.get(0));
        let seq = i64::from(hop.seq);
        let what = format!("hop {} of event {:.40}", hop.seq, hop.event_id);
        if seq != last.unwrap_or(0) + 1 {
            return Err(StoreError::Conflict(what));
        }
        // A concurrent hop from the same state takes the same seq: the key refuses one.
        self.exec_unique(
            "INSERT INTO event_hop (event_id, seq, department_id, record) VALUES ($1, $2, $3, $4)",
            &[&hop.event_id, &seq, &hop.department_id, &json(hop)],
            &what,
        )
    }

    fn hops(&mut self, event_id: &str) -> StoreResult<Vec<Hop>> {
        self.records(
            "SELECT record FROM event_hop WHERE event_id = $1 ORDER BY seq",
            &[&event_id],
        )
    }

    fn held_by_department(&mut self, department_id: &str) -> StoreResult<Vec<String>> {
        Ok(self
            .query(
                "SELECT h.event_id FROM event_hop h WHERE h.department_id = $1
                   AND h.seq = (SELECT MAX(seq) FROM event_hop WHERE event_id = h.event_id)
                 ORDER BY h.event_id",
                &[&department_id],
            )?
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect())
    }

    fn department_holds(&mut self, limit: usize) -> StoreResult<Vec<Hop>> {
        let limit = limit.min(1_000_000) as i64;
        self.records(
            "SELECT h.record FROM event_hop h WHERE h.department_id IS NOT NULL
               AND h.seq = (SELECT MAX(seq) FROM event_hop WHERE event_id = h.event_id)
             ORDER BY h.event_id LIMIT $1",
            &[&limit],
        )
    }
}

//! Deadlines and 督办 on SQLite: calendar years, reminded thresholds, reminders.

use crate::{be, json, Tx};
use gridhub_store::*;
use rusqlite::params;

fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl DeadlineTx for Tx<'_> {
    fn put_calendar_year(&mut self, y: &CalendarYear) -> StoreResult<()> {
        self.tx
            .execute(
                "INSERT INTO calendar_year (year, record) VALUES (?1, ?2)
                 ON CONFLICT(year) DO UPDATE SET record = excluded.record",
                params![y.year, json(y)],
            )
            .map_err(be)?;
        Ok(())
    }

    fn calendar_years(&mut self) -> StoreResult<Vec<CalendarYear>> {
        self.records("SELECT record FROM calendar_year ORDER BY year", [])
    }

    fn mark_threshold(
        &mut self,
        entity: &str,
        record_id: &str,
        threshold: &str,
        at_ms: u64,
    ) -> StoreResult<bool> {
        let n = self
            .tx
            .execute(
                "INSERT INTO deadline_mark (entity, record_id, threshold, at_ms)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                params![entity, record_id, threshold, ms(at_ms)],
            )
            .map_err(be)?;
        Ok(n == 1)
    }

    fn marked_thresholds(&mut self, entity: &str, record_id: &str) -> StoreResult<Vec<String>> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT threshold FROM deadline_mark WHERE entity = ?1 AND record_id = ?2",
            )
            .map_err(be)?;
        let rows = stmt
            .query_map(params![entity, record_id], |r| r.get(0))
            .map_err(be)?
            .collect::<Result<_, _>>()
            .map_err(be)?;
        Ok(rows)
    }

    fn put_reminder(&mut self, r: &Reminder) -> StoreResult<()> {
        self.tx
            .execute(
                "INSERT INTO reminder (id, account_id, at_ms, record) VALUES (?1, ?2, ?3, ?4)",
                params![r.id, r.account_id, ms(r.at_ms), json(r)],
            )
            .map_err(be)?;
        Ok(())
    }

    fn reminders_for(&mut self, account_id: &str, limit: usize) -> StoreResult<Vec<Reminder>> {
        self.records(
            "SELECT record FROM reminder WHERE account_id = ?1 ORDER BY at_ms DESC, id DESC LIMIT ?2",
            params![account_id, limit.min(10_000) as i64],
        )
    }
}

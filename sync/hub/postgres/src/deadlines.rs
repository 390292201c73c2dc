//! Deadlines and 督办 on PostgreSQL: calendar years, reminded thresholds, reminders.

use crate::{json, Tx};
use gridhub_store::*;

fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl DeadlineTx for Tx<'_> {
    fn put_calendar_year(&mut self, y: &CalendarYear) -> StoreResult<()> {
        self.exec(
            "INSERT INTO calendar_year (year, record) VALUES ($1, $2)
             ON CONFLICT (year) DO UPDATE SET record = excluded.record",
            &[&y.year, &json(y)],
        )?;
        Ok(())
    }

    fn calendar_years(&mut self) -> StoreResult<Vec<CalendarYear>> {
        self.records("SELECT record FROM calendar_year ORDER BY year", &[])
    }

    fn mark_threshold(
        &mut self,
        entity: &str,
        record_id: &str,
        threshold: &str,
        at_ms: u64,
    ) -> StoreResult<bool> {
        let n = self.exec(
            "INSERT INTO deadline_mark (entity, record_id, threshold, at_ms)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[&entity, &record_id, &threshold, &ms(at_ms)],
        )?;
        Ok(n == 1)
    }

    fn marked_thresholds(&mut self, entity: &str, record_id: &str) -> StoreResult<Vec<String>> {
        Ok(self
            .query(
                "SELECT threshold FROM deadline_mark WHERE entity = $1 AND record_id = $2",
                &[&entity, &record_id],
            )?
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect())
    }

    fn put_reminder(&mut self, r: &Reminder) -> StoreResult<()> {
        self.exec(
            "INSERT INTO reminder (id, account_id, at_ms, record) VALUES ($1, $2, $3, $4)",
            &[&r.id, &r.account_id, &ms(r.at_ms), &json(r)],
        )?;
        Ok(())
    }

    fn reminders_for(&mut self, account_id: &str, limit: usize) -> StoreResult<Vec<Reminder>> {
        let limit = limit.min(10_000) as i64;
        self.records(
            "SELECT record FROM reminder WHERE account_id = $1 ORDER BY at_ms DESC, id DESC LIMIT $2",
            &[&account_id, &limit],
        )
    }
}

//! The hub's own state on SQLite: the clock's high-water mark and job leases.

use crate::{be, Tx};
use gridhub_store::{ServiceTx, StoreResult, StoreSize};
use rusqlite::{params, OptionalExtension};

impl ServiceTx for Tx<'_> {
    fn clock_floor(&mut self) -> StoreResult<u64> {
        let v: Option<i64> = self
            .tx
            .query_row("SELECT millis FROM clock_floor WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(be)?;
        Ok(v.unwrap_or(0).max(0) as u64)
    }

    fn raise_clock_floor(&mut self, millis: u64) -> StoreResult<()> {
        let millis = i64::try_from(millis).unwrap_or(i64::MAX);
        self.tx
            .execute(
                "INSERT INTO clock_floor (id, millis) VALUES (1, ?1)
                 ON CONFLICT(id) DO UPDATE SET millis = max(millis, excluded.millis)",
                params![millis],
            )
            .map_err(be)?;
        Ok(())
    }

    fn take_lease(
        &mut self,
        job: &str,
        holder: &str,
        now_ms: u64,
        ttl_ms: u64,
    ) -> StoreResult<bool> {
        let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
        let until = i64::try_from(now_ms.saturating_add(ttl_ms)).unwrap_or(i64::MAX);
        let changed = self
            .tx
            .execute(
                "INSERT INTO lease (job, holder, expires_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT(job) DO UPDATE SET holder = excluded.holder,
                     expires_ms = excluded.expires_ms
                 WHERE lease.holder = excluded.holder OR lease.expires_ms <= ?4",
                params![job, holder, until, now],
            )
            .map_err(be)?;
        Ok(changed == 1)
    }

    fn release_lease(&mut self, job: &str, holder: &str) -> StoreResult<()> {
        self.tx
            .execute(
                "DELETE FROM lease WHERE job = ?1 AND holder = ?2",
                params![job, holder],
            )
            .map_err(be)?;
        Ok(())
    }

    fn size(&mut self) -> StoreResult<StoreSize> {
        let one = |sql: &str| -> StoreResult<u64> {
            let v: i64 = self.tx.query_row(sql, [], |r| r.get(0)).map_err(be)?;
            Ok(v.max(0) as u64)
        };
        Ok(StoreSize {
            ops: one("SELECT count(*) FROM op")?,
            rows: one("SELECT count(*) FROM row WHERE deleted = 0")?,
            bytes: one(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            )?,
        })
    }
}

//! The instances' shared state on PostgreSQL: the clock's high-water mark and job leases.
//! Two instances taking one lease at once collide (SERIALIZABLE); the one run again sees
//! the other's lease.

use crate::Tx;
use gridhub_store::{ServiceTx, StoreResult, StoreSize};

fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl ServiceTx for Tx<'_> {
    fn clock_floor(&mut self) -> StoreResult<u64> {
        Ok(self
            .query_opt("SELECT millis FROM clock_floor WHERE id = 1", &[])?
            .map(|r| r.get::<_, i64>(0).max(0) as u64)
            .unwrap_or(0))
    }

    fn raise_clock_floor(&mut self, millis: u64) -> StoreResult<()> {
        self.exec(
            "INSERT INTO clock_floor (id, millis) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET millis = GREATEST(clock_floor.millis, excluded.millis)",
            &[&ms(millis)],
        )?;
        Ok(())
    }

    fn take_lease(
        &mut self,
        job: &str,
        holder: &str,
        now_ms: u64,
        ttl_ms: u64,
    ) -> StoreResult<bool> {
        let changed = self.exec(
            "INSERT INTO lease (job, holder, expires_ms) VALUES ($1, $2, $3)
             ON CONFLICT (job) DO UPDATE SET holder = excluded.holder,
                 expires_ms = excluded.expires_ms
             WHERE lease.holder = excluded.holder OR lease.expires_ms <= $4",
            &[
                &job,
                &holder,
                &ms(now_ms.saturating_add(ttl_ms)),
                &ms(now_ms),
            ],
        )?;
        Ok(changed == 1)
    }

    fn release_lease(&mut self, job: &str, holder: &str) -> StoreResult<()> {
        self.exec(
            "DELETE FROM lease WHERE job = $1 AND holder = $2",
            &[&job, &holder],
        )?;
        Ok(())
    }

    /// Counts from the statistics PostgreSQL keeps (no scan of a city's tables).
    fn size(&mut self) -> StoreResult<StoreSize> {
        let live = |t: &mut Self, table: &str| -> StoreResult<u64> {
            Ok(t.query_opt(
                "SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = $1",
                &[&table],
            )?
            .map(|r| r.get::<_, i64>(0).max(0) as u64)
            .unwrap_or(0))
        };
        let ops = live(self, "op")?;
        let rows = live(self, "row")?;
        let bytes = self
            .query_opt("SELECT pg_database_size(current_database())", &[])?
            .map(|r| r.get::<_, i64>(0).max(0) as u64)
            .unwrap_or(0);
        Ok(StoreSize { ops, rows, bytes })
    }
}

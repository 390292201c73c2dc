//! What a gridhub instance shares with the others on its database: the hybrid clock's
//! high-water mark and the leases of periodic jobs.
//!
//! The clock: each process stamps central edits with its own node id (`hub`, or `hub-NAME`
//! for `--instance NAME`, so two instances never issue the same timestamp). It starts above
//! the highest mark any instance recorded ([`Hub::resume_clock`]) and records its own mark
//! every [`CLOCK_PERSIST_EVERY`] while serving, and when a command ends
//! ([`Hub::persist_clock`]). An instance whose wall clock is behind the others', or a hub
//! restarted after its clock was set back, therefore never stamps an edit earlier than one
//! already made — a later centre decision cannot lose to an earlier one.
//!
//! Leases: a periodic job (the photo sweep, the 督办 of deadlines) runs on the
//! instance holding its lease ([`Hub::take_lease`]); a lease runs out by itself when its
//! holder dies, so another instance takes over at its next turn.

use crate::hub::Hub;
use gridhub_store::{with_tx, StoreResult};
use gridpad_proto::{Hlc, HlcClock};
use std::time::Duration;

/// How often a serving instance records its clock's mark.
pub const CLOCK_PERSIST_EVERY: Duration = Duration::from_secs(2);

/// How far above the recorded mark a starting process begins: more than the stamps one
/// persist interval can add after the last record (a crash between two records).
const RESUME_MARGIN_MS: u64 = 3 * CLOCK_PERSIST_EVERY.as_millis() as u64;

/// The clock's node id for an instance name (`None`: the single hub, `hub`).
pub fn node_id(instance: Option<&str>) -> Result<String, String> {
    match instance {
        None => Ok("hub".into()),
        Some(n)
            if !n.is_empty()
                && n.len() <= 16
                && n.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) =>
        {
            Ok(format!("hub-{n}"))
        }
        Some(_) => Err("an instance name is 1 to 16 lower-case letters or digits".into()),
    }
}

/// Whether a timestamp's node is a hub (any instance), not a device. Device ids are UUIDs.
pub fn is_hub_node(node: &str) -> bool {
    node == "hub" || node.starts_with("hub-")
}

impl Hub {
    /// Start the clock above every mark recorded by any instance (at start-up).
    pub fn resume_clock(&self) -> StoreResult<()> {
        let floor = with_tx(self.store(), |tx| tx.clock_floor())?;
        let mut c = self.hlc_clock();
        if floor > 0 {
            let start = floor.saturating_add(RESUME_MARGIN_MS);
            if start > c.last().millis {
                let node = c.node().to_string();
                *c = HlcClock::new(node.clone(), Some(Hlc::new(start, 0, node)));
            }
        }
        Ok(())
    }

    /// Record this process's mark, and move its clock up to the others' (a serving
    /// instance calls this every [`CLOCK_PERSIST_EVERY`]).
    pub fn persist_clock(&self) -> StoreResult<()> {
        let mine = self.hlc_clock().last().millis;
        let floor = with_tx(self.store(), |tx| {
            if mine > 0 {
                tx.raise_clock_floor(mine)?;
            }
            tx.clock_floor()
        })?;
        let now = self.now_ms();
        let mut c = self.hlc_clock();
        if floor > c.last().millis {
            let node = c.node().to_string();
            c.observe(&Hlc::new(floor, 0, node), now);
        }
        Ok(())
    }

    /// Take (or renew) the lease of `job` for `ttl`: true when this process may run it.
    pub fn take_lease(&self, job: &str, ttl: Duration) -> StoreResult<bool> {
        let (holder, now) = (self.lease_holder().to_string(), self.now_ms());
        with_tx(self.store(), |tx| {
            tx.take_lease(job, &holder, now, ttl.as_millis() as u64)
        })
    }

    /// Give a lease back (a job that stops early, or an instance shutting down).
    pub fn release_lease(&self, job: &str) -> StoreResult<()> {
        let holder = self.lease_holder().to_string();
        with_tx(self.store(), |tx| tx.release_lease(job, &holder))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_make_distinct_hub_nodes() {
        assert_eq!(node_id(None).unwrap(), "hub");
        assert_eq!(node_id(Some("b2")).unwrap(), "hub-b2");
        assert!(node_id(Some("")).is_err());
        assert!(node_id(Some("Hub")).is_err());
        assert!(node_id(Some("a-b")).is_err());
        assert!(node_id(Some("x".repeat(17).as_str())).is_err());
        assert!(is_hub_node("hub") && is_hub_node("hub-b2"));
        assert!(!is_hub_node("3f1c2a9e-0000-4000-8000-000000000000"));
    }
}

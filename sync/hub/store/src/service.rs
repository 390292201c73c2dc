//! What several gridhub instances on one database share besides the records: the hybrid
//! clock's high-water mark and the leases that make a periodic job run on one instance.

use crate::StoreResult;

/// One transaction's worth of the instances' shared state (part of every [`crate::HubTx`]).
pub trait ServiceTx {
    /// The highest hybrid-clock millisecond any instance has recorded (0 when none has).
    fn clock_floor(&mut self) -> StoreResult<u64>;
    /// Record that an instance has issued timestamps up to `millis`; the floor only rises.
    fn raise_clock_floor(&mut self, millis: u64) -> StoreResult<()>;
    /// Take or renew the lease of `job` for `holder` until `now_ms + ttl_ms`. True when
    /// `holder` now holds it: nobody held it, the holder's lease ran out, or `holder`
    /// already held it. False while another holder's lease runs.
    fn take_lease(
        &mut self,
        job: &str,
        holder: &str,
        now_ms: u64,
        ttl_ms: u64,
    ) -> StoreResult<bool>;
    /// Give a lease back (nothing happens unless `holder` holds it).
    fn release_lease(&mut self, job: &str, holder: &str) -> StoreResult<()>;
    /// How big the store is, for monitoring (a backend may estimate the counts).
    fn size(&mut self) -> StoreResult<StoreSize>;
}

/// The size of a hub's store ([`ServiceTx::size`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreSize {
    /// Ops in the change logs of all scopes.
    pub ops: u64,
    /// Live records (every entity).
    pub rows: u64,
    /// Bytes the database takes.
    pub bytes: u64,
}

/// A backend's connection pool, for monitoring ([`crate::HubStore::pool`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub connections: u32,
    pub idle: u32,
    /// Times a transaction waited for a connection, and for how long in all.
    pub waits: u64,
    pub wait_ms: u64,
}

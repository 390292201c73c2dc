//! Who holds an event between the levels and the departments (分流、上报上级、退回): each
//! hop of its handling, in order. The last hop is the holder — the node whose dispatchers
//! act on the event, and the department there that handles it, if one does. An event with
//! no hop is held by the dispatchers of its area, as it always was.

use crate::StoreResult;
use serde::{Deserialize, Serialize};

/// One hop of an event's handling.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    pub event_id: String,
    /// 1, 2, 3 … in the order the hops were made.
    pub seq: u32,
    /// The node that holds the event after this hop.
    pub node_id: String,
    /// The department that handles it, if any (the node's dispatchers oversee it).
    pub department_id: Option<String>,
    /// The node that held it before.
    pub from_node_id: String,
    /// What moved it: `escalate`, `send_back`, `department`, `department_return`.
    pub kind: String,
    pub reason: String,
    /// When the department must have handled it (RFC 3339), for a hop to a department.
    pub deadline_at: Option<String>,
    /// The account that made the hop.
    pub actor: String,
    pub at_ms: u64,
}

/// One transaction's worth of handling records (part of every [`crate::HubTx`]).
pub trait HandlingTx {
    /// Record a hop. Its `seq` must be the event's next one: a hop made concurrently from
    /// the same state is [`crate::StoreError::Conflict`].
    fn add_hop(&mut self, hop: &Hop) -> StoreResult<()>;
    /// An event's hops, oldest first.
    fn hops(&mut self, event_id: &str) -> StoreResult<Vec<Hop>>;
    /// The events whose last hop is held by `department_id`.
    fn held_by_department(&mut self, department_id: &str) -> StoreResult<Vec<String>>;
    /// The last hops that a department holds (the events departments are handling), by
    /// event, at most `limit`.
    fn department_holds(&mut self, limit: usize) -> StoreResult<Vec<Hop>>;
}

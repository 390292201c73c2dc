//! One local change, as it is written to the device outbox in the same transaction as the
//! change itself, and as it is later pushed to the hub.

use crate::Hlc;
use serde::{Deserialize, Serialize};

pub use gridpad_domain::{Entity, Fields, UnknownEntity};

/// What a mutation does to its row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op", content = "name")]
pub enum Op {
    Insert,
    Update,
    Delete,
    /// A command the hub validates against its own state machine (task accept, start,
    /// complete, reject; event report). The fields carry the command's arguments.
    Command(String),
}

impl Op {
    /// Text form stored in the outbox: `insert`, `update`, `delete`, `command:<name>`.
    pub fn to_text(&self) -> String {
        match self {
            Op::Insert => "insert".into(),
            Op::Update => "update".into(),
            Op::Delete => "delete".into(),
            Op::Command(name) => format!("command:{name}"),
        }
    }

    pub fn from_text(s: &str) -> Option<Op> {
        match s {
            "insert" => Some(Op::Insert),
            "update" => Some(Op::Update),
            "delete" => Some(Op::Delete),
            _ => s
                .strip_prefix("command:")
                .filter(|n| !n.is_empty())
                .map(|n| Op::Command(n.to_string())),
        }
    }
}

/// One outbox record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mutation {
    /// Dense per-device sequence number: 1, 2, 3 … never reused, never skipped.
    pub seq: u64,
    /// UUIDv7, unique across all devices; the hub's idempotency key.
    pub mutation_id: String,
    pub hlc: Hlc,
    pub entity: Entity,
    pub row_id: String,
    pub op: Op,
    pub fields: Fields,
}

/// A change made by the centre, applied without an outbox row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RemoteChange {
    pub entity: Entity,
    pub row_id: String,
    pub op: Op,
    pub fields: Fields,
    pub hlc: Hlc,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_text_round_trips() {
        for op in [
            Op::Insert,
            Op::Update,
            Op::Delete,
            Op::Command("accept".into()),
        ] {
            assert_eq!(Op::from_text(&op.to_text()), Some(op));
        }
        assert_eq!(Op::from_text("command:"), None);
        assert_eq!(Op::from_text("upsert"), None);
    }
}

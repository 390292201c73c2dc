//! One local change, as it is written to the device outbox in the same transaction as the
//! change itself, and as it is later pushed to the hub.

use crate::Hlc;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Changed fields: column name → new value. Ordered, so that the canonical bytes of a
/// mutation are stable (they are hashed and signed later).
pub type Fields = BTreeMap<String, serde_json::Value>;

/// The kinds of record a device can change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Grid,
    Address,
    Building,
    House,
    Person,
    Organisation,
    Facility,
    CatalogCategory,
    Event,
    Task,
    Visit,
    Diary,
    Patrol,
    Checkin,
    TrackSegment,
    Notice,
    Photo,
}

impl Entity {
    pub const ALL: [Entity; 17] = [
        Entity::Grid,
        Entity::Address,
        Entity::Building,
        Entity::House,
        Entity::Person,
        Entity::Organisation,
        Entity::Facility,
        Entity::CatalogCategory,
        Entity::Event,
        Entity::Task,
        Entity::Visit,
        Entity::Diary,
        Entity::Patrol,
        Entity::Checkin,
        Entity::TrackSegment,
        Entity::Notice,
        Entity::Photo,
    ];

    /// Base data (人 地 物 组织): edited on both sides, merged field by field, last writer
    /// (by hybrid logical clock) wins.
    pub fn is_base_data(self) -> bool {
        matches!(
            self,
            Entity::Address
                | Entity::Building
                | Entity::House
                | Entity::Person
                | Entity::Organisation
                | Entity::Facility
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Grid => "grid",
            Entity::Address => "address",
            Entity::Building => "building",
            Entity::House => "house",
            Entity::Person => "person",
            Entity::Organisation => "organisation",
            Entity::Facility => "facility",
            Entity::CatalogCategory => "catalog_category",
            Entity::Event => "event",
            Entity::Task => "task",
            Entity::Visit => "visit",
            Entity::Diary => "diary",
            Entity::Patrol => "patrol",
            Entity::Checkin => "checkin",
            Entity::TrackSegment => "track_segment",
            Entity::Notice => "notice",
            Entity::Photo => "photo",
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown entity {0:?}")]
pub struct UnknownEntity(pub String);

impl FromStr for Entity {
    type Err = UnknownEntity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Entity::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| UnknownEntity(s.to_string()))
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_names_round_trip() {
        for e in Entity::ALL {
            assert_eq!(e.as_str().parse::<Entity>().unwrap(), e);
            assert_eq!(
                serde_json::to_string(&e).unwrap(),
                format!("\"{}\"", e.as_str())
            );
        }
        assert!("people".parse::<Entity>().is_err());
    }

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

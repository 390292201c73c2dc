//! The kinds of record that travel between a device and the hub.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A record's fields: column name → value. Ordered, so that the canonical bytes of a
/// mutation are stable (they are hashed and signed later).
pub type Fields = std::collections::BTreeMap<String, serde_json::Value>;

/// The kinds of synced record. Each has one specification ([`crate::spec::spec`]); adding a
/// kind here without one does not compile.
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
        crate::spec::spec(self).flow == crate::spec::Flow::BaseData
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
            .ok_or_else(|| UnknownEntity(s.chars().take(40).collect()))
    }
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
}

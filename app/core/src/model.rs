//! The grid's domain: places, people, organisations, facilities, the event catalog,
//! events and their lifecycle, tasks, visits, diary, patrols, notices — as typed Rust.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

// The code lists, lifecycles, positions and identifier checks are the domain's
// (gridpad-domain), shared with the hub and the wire.
pub use gridpad_domain::catalog::{Category, CategoryField};
pub use gridpad_domain::checks::*;
pub use gridpad_domain::codes::*;
pub use gridpad_domain::worktime::{Deadline, DeadlineUnit};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    pub id: String,
    pub code: String,
    pub name: String,
    pub level: GridLevel,
    pub parent_id: Option<String>,
    /// Outer ring then holes, each `[[lon, lat], …]`, WGS-84.
    pub boundary: Option<Vec<Vec<[f64; 2]>>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    pub grid_id: String,
    pub house_id: Option<String>,
    pub name: String,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub sex: Sex,
    pub birth_date: Option<String>,
    pub relation: Relation,
    pub residence_type: ResidenceType,
    pub tags: Vec<PersonTag>,
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct House {
    pub id: String,
    pub grid_id: String,
    pub building_id: Option<String>,
    /// 单元, e.g. `2单元` (the stored and synced field is `unit_no`).
    #[serde(rename = "unit_no")]
    pub stairwell: String,
    pub room: String,
    pub floor: Option<i64>,
    pub use_: HouseUse,
    pub tenure: Option<Tenure>,
    pub area_m2: Option<f64>,
    pub full_address: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Organisation {
    pub id: String,
    pub grid_id: String,
    pub name: String,
    pub kind: OrgKind,
    /// 统一社会信用代码 (GB 32100-2015), which replaced the licence numbers in 2015.
    pub licence_no: Option<String>,
    /// 法人/负责人.
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub address_text: String,
    pub risk_tags: Vec<String>,
}

/// A reported event as the device knows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub grid_id: String,
    pub category_code: String,
    pub description: String,
    pub address_text: String,
    pub fields: serde_json::Map<String, serde_json::Value>,
    pub status: EventStatus,
    pub handled_on_spot: bool,
    pub reporter: String,
    pub position: Option<Position>,
    pub device_time: DateTime<Utc>,
    pub corrected_time: Option<DateTime<Utc>>,
    pub deadline_at: Option<DateTime<Utc>>,
    pub photos: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: EventStatus,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub note: String,
    pub origin: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub grid_id: String,
    pub assignee: Option<String>,
    pub title: String,
    pub body: String,
    pub source_event_id: Option<String>,
    pub category_code: Option<String>,
    pub status: TaskStatus,
    pub priority: i64,
    pub created_at: DateTime<Utc>,
    pub deadline_at: Option<DateTime<Utc>>,
    pub feedback: String,
    pub reject_reason: String,
}

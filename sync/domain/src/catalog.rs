//! The event catalog (事项清单) as the device and the hub read it: 大类 and 小类 with the
//! fields a report needs, deadlines and colour thresholds.

use serde::{Deserialize, Serialize};

/// A field a report of some catalog category asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryField {
    pub key: String,
    pub label: String,
    /// text / int / choice / bool
    pub kind: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

/// One entry of the event catalog (事项清单).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Category {
    pub code: String,
    pub parent_code: Option<String>,
    pub level: u8,
    pub name: String,
    pub department: String,
    pub deadline_hours: Option<u32>,
    pub yellow_pct: u32,
    pub red_pct: u32,
    pub fields: Vec<CategoryField>,
    pub sort: i64,
}

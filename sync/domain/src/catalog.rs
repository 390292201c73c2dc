//! The event catalog (事项清单) as the device and the hub read it: 大类 and 小类 with the
//! fields a report needs, deadlines and colour thresholds.

use crate::worktime::{Deadline, DeadlineUnit};
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
    /// How long the step of handling it may take, in `deadline_unit` (hours on the clock
    /// for a catalog that names no unit, as before working time was counted).
    pub deadline_hours: Option<u32>,
    #[serde(default)]
    pub deadline_unit: DeadlineUnit,
    pub yellow_pct: u32,
    pub red_pct: u32,
    pub fields: Vec<CategoryField>,
    pub sort: i64,
}

impl Category {
    /// The time its handling may take, if the catalog gives one.
    pub fn deadline(&self) -> Option<Deadline> {
        self.deadline_hours.map(|amount| Deadline {
            amount,
            unit: self.deadline_unit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_catalog_entry_without_a_unit_still_reads_as_clock_hours() {
        let old = r#"{"code":"0101","parent_code":"01","level":2,"name":"占道经营","department":"城管",
            "deadline_hours":24,"yellow_pct":50,"red_pct":80,"fields":[],"sort":101}"#;
        let c: Category = serde_json::from_str(old).unwrap();
        assert_eq!(c.deadline(), Some(Deadline::hours(24)));
        let new = old.replace("\"sort\"", "\"deadline_unit\":\"working_days\",\"sort\"");
        let c: Category = serde_json::from_str(&new).unwrap();
        assert_eq!(c.deadline(), Some(Deadline::working_days(24)));
    }
}

//! Code lists (fixed vocabularies shared by device, hub and wire), the lifecycles of events
//! and tasks, deadline colours and positions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The codes as they are stored and travel.
            pub const CODES: &'static [&'static str] = &[$($text),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// Level of a node in the organisation tree (市 → 区 → 镇/街道 → 村/社区 → 网格), the
    /// grids its leaves. A deployment uses four or five of them.
    GridLevel { City => "city", District => "district", Street => "street", Community => "community", Grid => "grid", MicroGrid => "micro_grid" }
);
text_enum!(
    /// What a house (房屋) is used for.
    HouseUse { SelfOccupied => "self_occupied", Rented => "rented", Vacant => "vacant", Commercial => "commercial", Mixed => "mixed", Other => "other" }
);
text_enum!(
    /// Who holds the property rights of a house (产权性质): 私产, 公产 (直管/自管公房),
    /// 集体, 单位产, 其他.
    Tenure { Private => "private", Public => "public", Collective => "collective", Organisation => "work_unit", Other => "other" }
);
text_enum!(Sex { Male => "male", Female => "female", Unknown => "unknown" });
text_enum!(
    /// 户籍 / 流动 / 境外.
    ResidenceType { Registered => "registered", Floating => "floating", Overseas => "overseas", Other => "other" }
);
text_enum!(
    /// Relation to the householder (与户主关系).
    Relation { Householder => "householder", Spouse => "spouse", Child => "child", Parent => "parent", Grandchild => "grandchild", Sibling => "sibling", Tenant => "tenant", Other => "other" }
);
text_enum!(
    /// Special groups the grid keeps an eye on.
    PersonTag { ElderlyAlone => "elderly_alone", Disabled => "disabled", LowIncome => "low_income", Minor => "minor", KeyPerson => "key_person", Veteran => "veteran", LeftBehindChild => "left_behind_child" }
);
text_enum!(OrgKind { Shop => "shop", Company => "company", SocialOrg => "social_org", Government => "government", School => "school", Medical => "medical", Other => "other" });
text_enum!(FacilityState { Normal => "normal", Damaged => "damaged", Missing => "missing", Unknown => "unknown" });
text_enum!(VisitKind { InHome => "in_home", NotInHome => "not_in_home", Phone => "phone" });
text_enum!(
    /// Where a record's position came from.
    PositionSource { Gnss => "gnss", LastKnown => "last_known", Manual => "manual", None => "none" }
);
text_enum!(Inside { Inside => "inside", Outside => "outside", Uncertain => "uncertain" });
text_enum!(PatrolState { Active => "active", Finished => "finished" });
text_enum!(
    /// Where a photo is in its life on the device.
    PhotoState { Local => "local", Uploading => "uploading", Uploaded => "uploaded", Remote => "remote", Fetched => "fetched" }
);

text_enum!(
    /// The closed loop: 上报 → 受理/立案 → 派遣 → 处置 → 核查 → 结案, plus 自行处置 and 上报上级.
    EventStatus {
        Draft => "draft",
        Reported => "reported",
        Accepted => "accepted",
        Rejected => "rejected",
        Dispatched => "dispatched",
        Handled => "handled",
        Verified => "verified",
        Closed => "closed",
        HandledOnSpot => "handled_on_spot",
        Escalated => "escalated"
    }
);

impl EventStatus {
    /// The transitions of the lifecycle. The device makes the first (reporting); the
    /// centre makes the rest, and the device receives them through sync.
    pub fn can_become(self, next: EventStatus) -> bool {
        use EventStatus::*;
        matches!(
            (self, next),
            (Draft, Reported)
                | (Draft, HandledOnSpot)
                | (Reported, Accepted)
                | (Reported, Rejected)
                | (Reported, Escalated)
                | (Accepted, Dispatched)
                | (Accepted, Escalated)
                | (Accepted, Closed)
                | (Dispatched, Handled)
                | (Dispatched, Escalated)
                | (Dispatched, Accepted) // a department returns it: not its work
                | (Escalated, Accepted)
                | (Escalated, Dispatched)
                | (Handled, Verified)
                | (Handled, Dispatched) // verification failed: dispatched again
                | (HandledOnSpot, Verified)
                | (HandledOnSpot, Closed)
                | (Verified, Closed)
        )
    }

    /// Still needs someone's work (counts against deadlines).
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            EventStatus::Closed | EventStatus::Rejected | EventStatus::Draft
        )
    }
}

text_enum!(
    /// A task dispatched by the centre to a grid or a person.
    TaskStatus {
        Assigned => "assigned",
        Accepted => "accepted",
        InProgress => "in_progress",
        Completed => "completed",
        Rejected => "rejected",
        Closed => "closed",
        Cancelled => "cancelled"
    }
);

text_enum!(
    /// What the grid worker can do with a task on the device.
    TaskCommand { Accept => "accept", Start => "start", Complete => "complete", Reject => "reject" }
);

impl TaskStatus {
    /// The status a device command leads to, if the command is allowed now.
    pub fn after(self, cmd: TaskCommand) -> Option<TaskStatus> {
        use TaskCommand as C;
        use TaskStatus as S;
        match (self, cmd) {
            (S::Assigned, C::Accept) => Some(S::Accepted),
            (S::Assigned, C::Reject) | (S::Accepted, C::Reject) => Some(S::Rejected),
            (S::Accepted, C::Start) => Some(S::InProgress),
            (S::Accepted, C::Complete) | (S::InProgress, C::Complete) => Some(S::Completed),
            _ => None,
        }
    }

    pub fn is_open(self) -> bool {
        matches!(
            self,
            TaskStatus::Assigned | TaskStatus::Accepted | TaskStatus::InProgress
        )
    }
}

/// 三色预警 plus overdue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineColour {
    Green,
    Yellow,
    Red,
    Overdue,
}

impl DeadlineColour {
    /// Colour of work started at `start`, due at `deadline`, seen at `now`. `yellow_pct`
    /// and `red_pct` are the shares of the allowed time after which it turns yellow / red
    /// (per catalog subcategory).
    pub fn at(
        start: DateTime<Utc>,
        deadline: DateTime<Utc>,
        now: DateTime<Utc>,
        yellow_pct: u32,
        red_pct: u32,
    ) -> DeadlineColour {
        if now >= deadline {
            return DeadlineColour::Overdue;
        }
        let total = (deadline - start).num_seconds().max(0) as u64;
        let used = (now - start).num_seconds().max(0) as u64;
        DeadlineColour::from_share(used, total, yellow_pct, red_pct)
    }

    /// The colour of a step that has used `used` of its `total` allowed time (seconds of
    /// clock or of working time, see `worktime::WorkCalendar::colour`), before its deadline.
    pub fn from_share(used: u64, total: u64, yellow_pct: u32, red_pct: u32) -> DeadlineColour {
        let used = used as f64 / total.max(1) as f64 * 100.0;
        if used >= red_pct as f64 {
            DeadlineColour::Red
        } else if used >= yellow_pct as f64 {
            DeadlineColour::Yellow
        } else {
            DeadlineColour::Green
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineColour::Green => "green",
            DeadlineColour::Yellow => "yellow",
            DeadlineColour::Red => "red",
            DeadlineColour::Overdue => "overdue",
        }
    }
}

/// Where and how well a record was positioned. Stored with every record that carries a
/// position (event, visit, diary, check-in, task feedback). WGS-84.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub source: PositionSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_m: Option<f64>,
    /// 95 % horizontal accuracy estimate, metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
    /// none / 2d / 3d
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// autonomous / dgps / rtk_fixed / rtk_float / estimated
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sats_used: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hdop: Option<f64>,
    /// UTC time of the fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix_time: Option<DateTime<Utc>>,
    /// Age of a last-known position when it was used, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_s: Option<f64>,
}

impl Position {
    pub fn none() -> Self {
        Position {
            source: PositionSource::None,
            lat: None,
            lon: None,
            alt_m: None,
            accuracy_m: None,
            mode: None,
            quality: None,
            sats_used: None,
            hdop: None,
            fix_time: None,
            age_s: None,
        }
    }

    /// A position typed or picked by hand.
    pub fn manual(lat: f64, lon: f64, accuracy_m: Option<f64>) -> Self {
        Position {
            source: PositionSource::Manual,
            lat: Some(lat),
            lon: Some(lon),
            accuracy_m,
            ..Position::none()
        }
    }

    /// Coordinates present exactly when the source says there are, and plausible.
    pub fn validate(&self) -> Result<(), String> {
        match (self.source, self.lat, self.lon) {
            (PositionSource::None, None, None) => Ok(()),
            (PositionSource::None, _, _) => {
                Err("a position with source 'none' has no coordinates".into())
            }
            (_, Some(lat), Some(lon)) => {
                if !(-90.0..=90.0).contains(&lat)
                    || !(-180.0..=180.0).contains(&lon)
                    || !lat.is_finite()
                    || !lon.is_finite()
                {
                    Err(format!("coordinates out of range: {lat}, {lon}"))
                } else if lat == 0.0 && lon == 0.0 {
                    Err("coordinates 0,0 are a receiver fault, not a position".into())
                } else if self
                    .accuracy_m
                    .is_some_and(|a| !(a.is_finite() && a >= 0.0))
                {
                    Err("accuracy must be a non-negative number of metres".into())
                } else {
                    Ok(())
                }
            }
            _ => Err("a position needs both latitude and longitude".into()),
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn lifecycle_allows_the_closed_loop_and_refuses_shortcuts() {
        use EventStatus::*;
        let path = [
            Draft, Reported, Accepted, Dispatched, Handled, Verified, Closed,
        ];
        for w in path.windows(2) {
            assert!(w[0].can_become(w[1]), "{} -> {}", w[0], w[1]);
        }
        assert!(Draft.can_become(HandledOnSpot));
        assert!(HandledOnSpot.can_become(Closed));
        assert!(!Reported.can_become(Closed));
        assert!(!Closed.can_become(Reported));
        assert!(!Draft.can_become(Accepted));
    }

    #[test]
    fn task_commands_follow_the_state_machine() {
        use TaskCommand as C;
        use TaskStatus as S;
        assert_eq!(S::Assigned.after(C::Accept), Some(S::Accepted));
        assert_eq!(S::Accepted.after(C::Start), Some(S::InProgress));
        assert_eq!(S::InProgress.after(C::Complete), Some(S::Completed));
        assert_eq!(S::Assigned.after(C::Reject), Some(S::Rejected));
        assert_eq!(S::Assigned.after(C::Complete), None);
        assert_eq!(S::Completed.after(C::Accept), None);
        assert_eq!(S::Closed.after(C::Reject), None);
    }

    #[test]
    fn deadline_colours_follow_the_share_of_time_used() {
        let start = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        let due = start + chrono::Duration::hours(10);
        let at =
            |h: i64| DeadlineColour::at(start, due, start + chrono::Duration::hours(h), 50, 80);
        assert_eq!(at(0), DeadlineColour::Green);
        assert_eq!(at(4), DeadlineColour::Green);
        assert_eq!(at(5), DeadlineColour::Yellow);
        assert_eq!(at(8), DeadlineColour::Red);
        assert_eq!(at(10), DeadlineColour::Overdue);
        assert_eq!(at(30), DeadlineColour::Overdue);
    }

    #[test]
    fn positions_are_checked() {
        assert!(Position::none().validate().is_ok());
        assert!(Position::manual(29.96, 121.71, Some(10.0))
            .validate()
            .is_ok());
        assert!(Position::manual(0.0, 0.0, None).validate().is_err());
        assert!(Position::manual(95.0, 121.0, None).validate().is_err());
        assert!(Position::manual(f64::NAN, 121.0, None).validate().is_err());
        let mut p = Position::none();
        p.lat = Some(1.0);
        assert!(p.validate().is_err());
    }
}

//! The grid's domain: places, people, organisations, facilities, the event catalog,
//! events and their lifecycle, tasks, visits, diary, patrols, notices — as typed Rust.

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
    /// Level of a node in the grid hierarchy (网格 → 村/社区 → 镇/街道 → 区).
    GridLevel { District => "district", Street => "street", Community => "community", Grid => "grid", MicroGrid => "micro_grid" }
);
text_enum!(
    /// What a house (房屋) is used for.
    HouseUse { SelfOccupied => "self_occupied", Rented => "rented", Vacant => "vacant", Commercial => "commercial", Mixed => "mixed", Other => "other" }
);
text_enum!(
    /// Who holds the property rights of a house (产权性质): 私产, 公产 (直管/自管公房),
    /// 集体, 单位产, 其他.
    Tenure { Private => "private", Public => "public", Collective => "collective", WorkUnit => "work_unit", Other => "other" }
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
        let total = (deadline - start).num_seconds().max(1) as f64;
        let used = (now - start).num_seconds().max(0) as f64 / total * 100.0;
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
    pub unit_no: String,
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

/// The chinese resident identity number (GB 11643-1999): 17 digits and a check character
/// computed with ISO 7064 MOD 11-2.
pub mod id_number {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";

    /// The check character for the first 17 digits, or `None` if they are not digits.
    pub fn check_char(first17: &str) -> Option<char> {
        if first17.len() != 17 {
            return None;
        }
        let mut sum = 0;
        for (c, w) in first17.chars().zip(WEIGHTS) {
            sum += c.to_digit(10)? * w;
        }
        Some(CHECK[(sum % 11) as usize] as char)
    }

    /// Whether `id` is a well-formed 18-character number with the right check character.
    pub fn is_valid(id: &str) -> bool {
        if id.len() != 18 || !id.is_ascii() {
            return false;
        }
        let (body, check) = id.split_at(17);
        let birth = &body[6..14];
        let month: u32 = birth[4..6].parse().unwrap_or(0);
        let day: u32 = birth[6..8].parse().unwrap_or(0);
        check_char(body)
            .is_some_and(|c| c.eq_ignore_ascii_case(&check.chars().next().unwrap_or(' ')))
            && (1..=12).contains(&month)
            && (1..=31).contains(&day)
    }

    /// `330211********123X` — for lists, where a passer-by may see the screen.
    pub fn masked(id: &str) -> String {
        if id.len() == 18 && id.is_ascii() {
            format!("{}********{}", &id[..6], &id[14..])
        } else {
            "*".repeat(id.chars().count())
        }
    }
}

/// The unified social credit code of a unit (统一社会信用代码, GB 32100-2015): 18
/// characters from `0-9 A-Z` without I, O, S, V and Z — registering authority, kind of
/// body, 6-digit administrative division, 9-character organisation code, and a check
/// character computed modulo 31.
pub mod credit_code {
    const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    /// 3^(i-1) mod 31 for positions 1..=17.
    const WEIGHTS: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];

    /// What is wrong with a code, as a form shows it next to the field.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Problem {
        /// Not 18 characters.
        Length,
        /// A character outside the code's alphabet (I, O, S, V, Z, lower-case is accepted),
        /// or a division code that is not 6 digits.
        Characters,
        /// The 18th character does not match the first 17: a typo.
        Check,
    }

    impl Problem {
        pub fn code(self) -> &'static str {
            match self {
                Problem::Length => "bad-length",
                Problem::Characters => "bad-chars",
                Problem::Check => "bad-check",
            }
        }
    }

    fn value(c: char) -> Option<u32> {
        let c = c.to_ascii_uppercase();
        CHARSET
            .iter()
            .position(|&b| b as char == c)
            .map(|i| i as u32)
    }

    /// The check character for the first 17 characters.
    pub fn check_char(first17: &str) -> Option<char> {
        if first17.chars().count() != 17 {
            return None;
        }
        let mut sum = 0;
        for (c, w) in first17.chars().zip(WEIGHTS) {
            sum += value(c)? * w;
        }
        Some(CHARSET[((31 - sum % 31) % 31) as usize] as char)
    }

    /// Why `code` is not a valid credit code, or `Ok` (lower case is accepted; store it
    /// upper-cased).
    pub fn check(code: &str) -> Result<(), Problem> {
        if code.chars().count() != 18 {
            return Err(Problem::Length);
        }
        if !code.chars().all(|c| value(c).is_some())
            || !code[2..8].bytes().all(|b| b.is_ascii_digit())
        {
            return Err(Problem::Characters);
        }
        let expected = check_char(&code[..17]).ok_or(Problem::Characters)?;
        if code[17..].eq_ignore_ascii_case(&expected.to_string()) {
            Ok(())
        } else {
            Err(Problem::Check)
        }
    }

    pub fn is_valid(code: &str) -> bool {
        check(code).is_ok()
    }
}

/// Phone numbers as Gridpad accepts them: 7 to 15 digits, dashes allowed (a landline
/// `0574-86001234` or a mobile `13812345678`). The one check for residents and units, in
/// the store and in the forms.
pub mod phone {
    pub fn is_valid(phone: &str) -> bool {
        let digits = phone.bytes().filter(u8::is_ascii_digit).count();
        (7..=15).contains(&digits)
            && phone.len() <= 20
            && phone.bytes().all(|b| b.is_ascii_digit() || b == b'-')
            && !phone.starts_with('-')
            && !phone.ends_with('-')
    }
}

/// Mobile numbers as lists show them: `138****5678`.
pub fn masked_phone(phone: &str) -> String {
    if phone.len() == 11 && phone.is_ascii() {
        format!("{}****{}", &phone[..3], &phone[7..])
    } else {
        phone.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn id_number_check_digit_matches_the_standard_example() {
        // GB 11643 worked example.
        assert_eq!(id_number::check_char("11010519491231002"), Some('X'));
        assert!(id_number::is_valid("11010519491231002X"));
        assert!(id_number::is_valid("11010519491231002x"));
        assert!(!id_number::is_valid("110105194912310021"));
        assert!(!id_number::is_valid("11010519491331002X")); // month 13
        assert!(!id_number::is_valid("1101051949123100"));
        assert!(!id_number::is_valid("張三"));
    }

    #[test]
    fn credit_codes_of_real_companies_pass_and_typos_fail() {
        // Codes printed on the business licences of well-known companies (Huawei
        // Technologies, Shenzhen; Tencent, Shenzhen; Alibaba (China), Hangzhou).
        for code in [
            "914403001922038216",
            "91440300708461136T",
            "91330100799655058B",
        ] {
            assert_eq!(credit_code::check(code), Ok(()), "{code}");
            assert_eq!(
                credit_code::check_char(&code[..17]),
                code.chars().nth(17),
                "{code}"
            );
        }
        assert!(credit_code::is_valid("91440300708461136t"), "lower case");
        use credit_code::Problem;
        // One character changed: the check character no longer matches.
        assert_eq!(
            credit_code::check("914403001922038217"),
            Err(Problem::Check)
        );
        assert_eq!(
            credit_code::check("914403001922038316"),
            Err(Problem::Check)
        );
        // Two neighbouring characters swapped.
        assert_eq!(
            credit_code::check("914403001922083216"),
            Err(Problem::Check)
        );
        assert_eq!(
            credit_code::check("91440300192203821"),
            Err(Problem::Length)
        );
        assert_eq!(credit_code::check(""), Err(Problem::Length));
        // I, O, S, V, Z are not in the alphabet; the division code is digits.
        assert_eq!(
            credit_code::check("9144030019220382I6"),
            Err(Problem::Characters)
        );
        assert_eq!(
            credit_code::check("91A40300192203821O"),
            Err(Problem::Characters)
        );
        // Full-width digits and Chinese characters are refused, not mangled.
        assert_eq!(
            credit_code::check("91440300１922038216"),
            Err(Problem::Characters)
        );
        assert_eq!(
            credit_code::check("91440300一922038216"),
            Err(Problem::Characters)
        );
    }

    #[test]
    fn phone_numbers_are_one_check() {
        for ok in ["13812345678", "0574-86001234", "8600123"] {
            assert!(phone::is_valid(ok), "{ok}");
        }
        for bad in [
            "",
            "123456",
            "1381234567890123",
            "138 1234 5678",
            "-13812345678",
            "1381234567x",
            "电话13812345678",
        ] {
            assert!(!phone::is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn masking_hides_the_middle() {
        assert_eq!(
            id_number::masked("11010519491231002X"),
            "110105********002X"
        );
        assert_eq!(masked_phone("13812345678"), "138****5678");
    }

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

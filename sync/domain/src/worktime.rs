//! Working time (工作时间): the hours of a working day, weekends, statutory holidays and
//! 调休 make-up working days, per year, as the State Council announces them
//! (国务院办公厅关于…年部分节假日安排的通知). Deadlines counted in working hours or working
//! days, the working time between two instants, and the deadline colour from the share of
//! working time used — one set of functions the hub and the device both call.
//!
//! A year is a small text file ([`YearCalendar::parse`]); the years Gridpad ships
//! (`assets/worktime/`) are compiled in ([`WorkCalendar::shipped`]); the hub imports
//! further years. A year the calendar does not hold is an error
//! ([`CalendarError::UnknownYear`]), never a guess.
//!
//! Working days are counted as the Civil Code counts days (民法典 第二百零一条: the day
//! it starts is not counted): N working days from an instant end when the working hours
//! of the N-th working day after that day end.

use crate::codes::DeadlineColour;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// China Standard Time, UTC+8 (no daylight saving).
const CST_SECS: i64 = 8 * 3600;

/// The years Gridpad ships, compiled in.
pub const SHIPPED: &[&str] = &[include_str!("../../../assets/worktime/2026.txt")];

/// The default working hours: 08:30–12:00 and 14:00–17:30 China Standard Time.
pub const DEFAULT_HOURS: &[(u32, u32)] =
    &[(8 * 3600 + 1800, 12 * 3600), (14 * 3600, 17 * 3600 + 1800)];

/// What a calendar cannot answer, or a year file it cannot read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("the working-time calendar has no year {0}: import the State Council's holiday schedule for {0} (gridhub admin calendar import FILE)")]
    UnknownYear(i32),
    #[error("calendar file, line {line}: {problem}")]
    Bad { line: usize, problem: String },
}

/// How a deadline is counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineUnit {
    /// Hours on the clock, nights and holidays included (urgent matters); what a catalog
    /// that names no unit meant before working time existed.
    #[default]
    Hours,
    WorkingHours,
    WorkingDays,
}

impl DeadlineUnit {
    pub const CODES: &'static [&'static str] = &["hours", "working_hours", "working_days"];

    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineUnit::Hours => "hours",
            DeadlineUnit::WorkingHours => "working_hours",
            DeadlineUnit::WorkingDays => "working_days",
        }
    }

    pub fn parse(s: &str) -> Option<DeadlineUnit> {
        match s {
            "hours" => Some(DeadlineUnit::Hours),
            "working_hours" => Some(DeadlineUnit::WorkingHours),
            "working_days" => Some(DeadlineUnit::WorkingDays),
            _ => None,
        }
    }

    /// Whether time is measured on the working-time calendar (colours too).
    pub fn is_working(self) -> bool {
        self != DeadlineUnit::Hours
    }
}

/// A time allowed for a step: an amount in a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    pub amount: u32,
    pub unit: DeadlineUnit,
}

impl Deadline {
    pub fn hours(amount: u32) -> Deadline {
        Deadline {
            amount,
            unit: DeadlineUnit::Hours,
        }
    }
    pub fn working_hours(amount: u32) -> Deadline {
        Deadline {
            amount,
            unit: DeadlineUnit::WorkingHours,
        }
    }
    pub fn working_days(amount: u32) -> Deadline {
        Deadline {
            amount,
            unit: DeadlineUnit::WorkingDays,
        }
    }
}

impl fmt::Display for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            DeadlineUnit::Hours => "小时",
            DeadlineUnit::WorkingHours => "工作小时",
            DeadlineUnit::WorkingDays => "个工作日",
        };
        write!(f, "{}{unit}", self.amount)
    }
}

/// One year: its working hours, its holidays and its make-up working days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YearCalendar {
    pub year: i32,
    /// Working periods of a day, seconds after local midnight, in order, not overlapping.
    pub hours: Vec<(u32, u32)>,
    /// Days off although weekdays (and holidays that fall on weekends).
    pub off: BTreeSet<NaiveDate>,
    /// 调休: days of work although weekends.
    pub work: BTreeSet<NaiveDate>,
}

fn clock(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 3600 + m * 60)
}

impl YearCalendar {
    /// Read a year file (see `assets/worktime/2026.txt`): `#` comments, one `year`,
    /// optional `hours HH:MM-HH:MM …`, `off DATE[..DATE] name` and `work DATE name` lines.
    pub fn parse(text: &str) -> Result<YearCalendar, CalendarError> {
        let mut year: Option<i32> = None;
        let mut hours: Option<Vec<(u32, u32)>> = None;
        let (mut off, mut work) = (BTreeSet::new(), BTreeSet::new());
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let bad = |problem: String| CalendarError::Bad { line, problem };
            let l = raw.split('#').next().unwrap_or("").trim();
            if l.is_empty() {
                continue;
            }
            let mut words = l.split_whitespace();
            let key = words.next().unwrap_or_default();
            match key {
                "year" => {
                    let y: i32 = words
                        .next()
                        .and_then(|w| w.parse().ok())
                        .filter(|y| (2000..=2200).contains(y))
                        .ok_or_else(|| bad("year wants a year 2000..2200".into()))?;
                    if year.replace(y).is_some() {
                        return Err(bad("one year per file".into()));
                    }
                }
                "hours" => {
                    let mut list = vec![];
                    for w in words {
                        let p = w
                            .split_once('-')
                            .and_then(|(a, b)| Some((clock(a)?, clock(b)?)))
                            .filter(|(a, b)| a < b)
                            .ok_or_else(|| bad(format!("{w:.20}: want HH:MM-HH:MM")))?;
                        if list.last().is_some_and(|&(_, end)| p.0 < end) {
                            return Err(bad("periods must be in order, not overlapping".into()));
                        }
                        list.push(p);
                    }
                    if list.is_empty() {
                        return Err(bad("hours wants at least one period".into()));
                    }
                    hours = Some(list);
                }
                "off" | "work" => {
                    let y = year.ok_or_else(|| bad("the year comes first".into()))?;
                    let spec = words.next().unwrap_or_default();
                    let (a, b) = spec.split_once("..").unwrap_or((spec, spec));
                    let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
                    let (Some(a), Some(b)) = (date(a), date(b)) else {
                        return Err(bad(format!("{spec:.30}: want YYYY-MM-DD or FROM..TO")));
                    };
                    if a > b || a.year() != y || b.year() != y {
                        return Err(bad(format!("{spec:.30}: not a range within {y}")));
                    }
                    let set = if key == "off" { &mut off } else { &mut work };
                    let mut d = a;
                    while d <= b {
                        set.insert(d);
                        d = d.succ_opt().expect("a date within the year");
                    }
                }
                other => return Err(bad(format!("unknown line {other:.20}"))),
            }
        }
        let year = year.ok_or(CalendarError::Bad {
            line: 0,
            problem: "no year line".into(),
        })?;
        if let Some(d) = off.intersection(&work).next() {
            return Err(CalendarError::Bad {
                line: 0,
                problem: format!("{d} is both off and a working day"),
            });
        }
        Ok(YearCalendar {
            year,
            hours: hours.unwrap_or_else(|| DEFAULT_HOURS.to_vec()),
            off,
            work,
        })
    }

    fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.work.contains(&d) {
            return true;
        }
        !self.off.contains(&d) && !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
    }
}

/// The years a hub or a device knows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    years: BTreeMap<i32, YearCalendar>,
}

/// Local (China Standard Time) date and seconds after midnight of an instant.
fn local(t: DateTime<Utc>) -> (NaiveDate, u32) {
    let l = (t + Duration::seconds(CST_SECS)).naive_utc();
    (l.date(), l.num_seconds_from_midnight())
}

fn instant(d: NaiveDate, secs: u32) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
        + Duration::seconds(secs as i64 - CST_SECS)
}

impl WorkCalendar {
    /// The years compiled into this build (`assets/worktime/`).
    pub fn shipped() -> WorkCalendar {
        let mut c = WorkCalendar::default();
        for text in SHIPPED {
            c.insert(YearCalendar::parse(text).expect("a shipped calendar year reads"));
        }
        c
    }

    /// [`WorkCalendar::shipped`], read once per process (what a device counts with).
    pub fn shipped_ref() -> &'static WorkCalendar {
        static SHIPPED_CALENDAR: std::sync::OnceLock<WorkCalendar> = std::sync::OnceLock::new();
        SHIPPED_CALENDAR.get_or_init(WorkCalendar::shipped)
    }

    /// Add (or replace) a year.
    pub fn insert(&mut self, y: YearCalendar) {
        self.years.insert(y.year, y);
    }

    pub fn years(&self) -> Vec<i32> {
        self.years.keys().copied().collect()
    }

    fn year(&self, d: NaiveDate) -> Result<&YearCalendar, CalendarError> {
        self.years
            .get(&d.year())
            .ok_or(CalendarError::UnknownYear(d.year()))
    }

    /// Whether `d` (a date in China) is a working day.
    pub fn is_working_day(&self, d: NaiveDate) -> Result<bool, CalendarError> {
        Ok(self.year(d)?.is_working_day(d))
    }

    /// The working periods of date `d` (none on a day off).
    fn periods(&self, d: NaiveDate) -> Result<&[(u32, u32)], CalendarError> {
        let y = self.year(d)?;
        Ok(if y.is_working_day(d) { &y.hours } else { &[] })
    }

    /// The instant `secs` seconds of working time after `start`: the end of a period
    /// when it runs out there, never the start of the next one.
    pub fn add_working_secs(
        &self,
        start: DateTime<Utc>,
        secs: u64,
    ) -> Result<DateTime<Utc>, CalendarError> {
        let (mut day, mut at) = local(start);
        let mut left = secs;
        if left == 0 {
            return Ok(start);
        }
        loop {
            for &(a, b) in self.periods(day)? {
                let from = a.max(at);
                if from >= b {
                    continue;
                }
                let avail = (b - from) as u64;
                if left <= avail {
                    return Ok(instant(day, from + left as u32));
                }
                left -= avail;
            }
            day = day
                .succ_opt()
                .ok_or(CalendarError::UnknownYear(day.year() + 1))?;
            at = 0;
        }
    }

    /// The end of the working hours of the `n`-th working day after the day of `start`
    /// (that day itself is not counted).
    pub fn add_working_days(
        &self,
        start: DateTime<Utc>,
        n: u32,
    ) -> Result<DateTime<Utc>, CalendarError> {
        let (mut day, _) = local(start);
        if n == 0 {
            return Ok(start);
        }
        let mut counted = 0;
        loop {
            day = day
                .succ_opt()
                .ok_or(CalendarError::UnknownYear(day.year() + 1))?;
            if let Some(&(_, end)) = self.periods(day)?.last() {
                counted += 1;
                if counted == n {
                    return Ok(instant(day, end));
                }
            }
        }
    }

    /// When a step started at `start` with `d` allowed is due.
    pub fn due(&self, start: DateTime<Utc>, d: Deadline) -> Result<DateTime<Utc>, CalendarError> {
        match d.unit {
            DeadlineUnit::Hours => Ok(start + Duration::hours(d.amount as i64)),
            DeadlineUnit::WorkingHours => self.add_working_secs(start, d.amount as u64 * 3600),
            DeadlineUnit::WorkingDays => self.add_working_days(start, d.amount),
        }
    }

    /// Working time between two instants, in seconds (0 when `to` is not after `from`).
    pub fn working_secs_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u64, CalendarError> {
        if to <= from {
            return Ok(0);
        }
        let ((mut day, mut at), (last, end_at)) = (local(from), local(to));
        let mut total = 0u64;
        loop {
            let until = if day == last { end_at } else { u32::MAX };
            for &(a, b) in self.periods(day)? {
                let (s, e) = (a.max(at), b.min(until));
                if s < e {
                    total += (e - s) as u64;
                }
            }
            if day >= last {
                return Ok(total);
            }
            day = day
                .succ_opt()
                .ok_or(CalendarError::UnknownYear(day.year() + 1))?;
            at = 0;
        }
    }

    /// The colour of a step started at `start`, due at `deadline`, seen at `now`, from the
    /// share of the allowed time used: of working time when the step's deadline is counted
    /// in working hours or days, of clock time otherwise. Past the deadline: overdue.
    pub fn colour(
        &self,
        unit: DeadlineUnit,
        start: DateTime<Utc>,
        deadline: DateTime<Utc>,
        now: DateTime<Utc>,
        yellow_pct: u32,
        red_pct: u32,
    ) -> Result<DeadlineColour, CalendarError> {
        if !unit.is_working() || now >= deadline {
            return Ok(DeadlineColour::at(
                start, deadline, now, yellow_pct, red_pct,
            ));
        }
        let total = self.working_secs_between(start, deadline)?;
        let used = self.working_secs_between(start, now)?;
        Ok(DeadlineColour::from_share(used, total, yellow_pct, red_pct))
    }

    /// [`WorkCalendar::colour`], falling back to the share of clock time when a year the
    /// step spans is not in the calendar — the fallback is stated, not hidden: the second
    /// value is false then.
    pub fn colour_or_clock(
        &self,
        unit: DeadlineUnit,
        start: DateTime<Utc>,
        deadline: DateTime<Utc>,
        now: DateTime<Utc>,
        yellow_pct: u32,
        red_pct: u32,
    ) -> (DeadlineColour, bool) {
        match self.colour(unit, start, deadline, now, yellow_pct, red_pct) {
            Ok(c) => (c, true),
            Err(_) => (
                DeadlineColour::at(start, deadline, now, yellow_pct, red_pct),
                false,
            ),
        }
    }
}

#[cfg(test)]
#[path = "worktime_tests.rs"]
mod tests;

//! Deadlines at the centre: the working-time calendar (the years Gridpad ships, plus the
//! years the centre imported, which replace a shipped year of the same number), the
//! deadline of a step (the dispatcher's, or the catalog's for the event's 小类 — never a
//! silent default) and the colour the console shows, computed by the same domain function
//! the device uses ([`WorkCalendar::colour`]).

use crate::authz::{Action, Principal};
use crate::hub::{in_tx, rfc3339_ms, Hub, HubError, HubResult};
use chrono::{DateTime, Utc};
use gridhub_store::{with_tx, CalendarYear, Row};
use gridpad_domain::codes::DeadlineColour;
use gridpad_domain::worktime::{Deadline, DeadlineUnit, WorkCalendar, YearCalendar};
use gridpad_proto::Entity;
use serde_json::{json, Value};

/// The longest deadline a step may be given: a year.
const MAX_HOURS: u32 = 24 * 366;
const MAX_DAYS: u32 = 366;

/// A catalog entry's deadline unit (absent: hours on the clock).
pub fn catalog_unit(row: &Row) -> DeadlineUnit {
    row.fields
        .get("deadline_unit")
        .and_then(Value::as_str)
        .and_then(DeadlineUnit::parse)
        .unwrap_or_default()
}

/// A catalog entry's deadline, if it gives one.
pub fn catalog_deadline(row: &Row) -> Option<Deadline> {
    let amount = row.fields.get("deadline_hours").and_then(Value::as_u64)?;
    Some(Deadline {
        amount: u32::try_from(amount).ok()?,
        unit: catalog_unit(row),
    })
}

/// The colour thresholds of a catalog entry (50 % and 80 % when it names none).
pub fn catalog_thresholds(row: Option<&Row>) -> (u32, u32) {
    let pct = |k: &str, d: u32| {
        row.and_then(|r| r.fields.get(k))
            .and_then(Value::as_u64)
            .map_or(d, |v| v.min(100) as u32)
    };
    (pct("yellow_pct", 50), pct("red_pct", 80))
}

fn parse_time(s: Option<&Value>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s?.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The colour of an open task at `now`: from its creation to its deadline, measured as
/// its 小类's deadline is (working time or the clock). `None` without a deadline.
pub fn task_colour(
    cal: &WorkCalendar,
    task: &Row,
    category: Option<&Row>,
    now: DateTime<Utc>,
) -> Option<DeadlineColour> {
    let start = parse_time(task.fields.get("created_at"))?;
    let due = parse_time(task.fields.get("deadline_at"))?;
    let unit = category.map(catalog_unit).unwrap_or_default();
    let (y, r) = catalog_thresholds(category);
    Some(cal.colour_or_clock(unit, start, due, now, y, r).0)
}

/// The deadline a dispatcher gave, in at most one of the three units (none: the catalog's).
pub fn given_deadline(
    hours: Option<u64>,
    working_hours: Option<u64>,
    working_days: Option<u64>,
) -> HubResult<Option<Deadline>> {
    let amount = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    match (hours, working_hours, working_days) {
        (None, None, None) => Ok(None),
        (Some(h), None, None) => Ok(Some(Deadline::hours(amount(h)))),
        (None, Some(h), None) => Ok(Some(Deadline::working_hours(amount(h)))),
        (None, None, Some(d)) => Ok(Some(Deadline::working_days(amount(d)))),
        _ => Err(HubError::BadRequest(
            "a deadline in one unit: hours, working hours or working days".into(),
        )),
    }
}

impl Hub {
    /// The working-time calendar: the shipped years and the imported ones.
    pub fn calendar(&self) -> HubResult<WorkCalendar> {
        let mut cal = WorkCalendar::shipped();
        for y in with_tx(self.store(), |tx| tx.calendar_years())? {
            match YearCalendar::parse(&y.text) {
                Ok(parsed) => cal.insert(parsed),
                // Checked when imported; a year that no longer reads is left out (and
                // asking for it is then the "no year" error), never guessed.
                Err(e) => eprintln!("gridhub: calendar year {}: {e}", y.year),
            }
        }
        Ok(cal)
    }

    /// Import (or replace) one year of the working-time calendar from its file
    /// (`assets/worktime/2026.txt` shows the format). Audited as `calendar.import`.
    pub fn import_calendar_year(&self, who: &Principal, text: &str) -> HubResult<i32> {
        who.require(Action::CatalogWrite)?;
        if text.len() > 64 * 1024 {
            return Err(HubError::BadRequest(
                "a calendar year is at most 64 KiB".into(),
            ));
        }
        let y = YearCalendar::parse(text).map_err(|e| HubError::BadRequest(e.to_string()))?;
        let now = self.now_ms();
        in_tx(self.store(), |tx| {
            let before = tx
                .calendar_years()?
                .into_iter()
                .find(|c| c.year == y.year)
                .map_or(
                    Value::Null,
                    |c| json!({"imported_at": rfc3339_ms(c.imported_ms)}),
                );
            tx.put_calendar_year(&CalendarYear {
                year: y.year,
                text: text.to_string(),
                imported_ms: now,
            })?;
            self.audit(
                tx,
                &who.actor,
                "calendar.import",
                &format!("calendar:{}", y.year),
                before,
                json!({"year": y.year, "days_off": y.off.len(), "working_days": y.work.len(),
                       "hours": y.hours}),
            )
        })?;
        Ok(y.year)
    }

    /// When a step of an event of 小类 `category` begun at `start_ms` is due: with the
    /// deadline `given` by the dispatcher, or the catalog's; refused when neither exists,
    /// when it is out of bounds, or when the calendar lacks a year it spans.
    pub(crate) fn step_due(
        &self,
        category: Option<&str>,
        given: Option<Deadline>,
        start_ms: u64,
    ) -> HubResult<(Deadline, String)> {
        let d = match given {
            Some(d) => d,
            None => {
                let code = category.unwrap_or_default();
                let row = match category {
                    Some(c) => self.row(Entity::CatalogCategory, c)?,
                    None => None,
                };
                row.as_ref().and_then(catalog_deadline).ok_or_else(|| {
                    HubError::BadRequest(format!(
                        "no deadline: the catalog gives none for 小类 {code:.20}; \
                         give one (deadline_hours, deadline_working_hours or deadline_working_days)"
                    ))
                })?
            }
        };
        let max = match d.unit {
            DeadlineUnit::WorkingDays => MAX_DAYS,
            _ => MAX_HOURS,
        };
        if d.amount == 0 || d.amount > max {
            return Err(HubError::BadRequest(format!(
                "a deadline of 1 to {max} {}",
                d.unit.as_str()
            )));
        }
        let start = DateTime::from_timestamp_millis(start_ms as i64).unwrap_or_default();
        let due = self
            .calendar()?
            .due(start, d)
            .map_err(|e| HubError::BadRequest(e.to_string()))?;
        Ok((d, rfc3339_ms(due.timestamp_millis().max(0) as u64)))
    }
}

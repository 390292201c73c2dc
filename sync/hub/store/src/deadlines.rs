//! What deadlines and 督办 keep: the working-time calendar years the centre imported, the
//! thresholds (yellow, red, overdue) a record's deadline has been reminded of, and the
//! reminders addressed to accounts.

use crate::StoreResult;
use serde::{Deserialize, Serialize};

/// A year of the working-time calendar as imported (the text of its file,
/// `gridpad_domain::worktime::YearCalendar::parse`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarYear {
    pub year: i32,
    pub text: String,
    pub imported_ms: u64,
}

/// A reminder (督办) to one account about one record's deadline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    /// UUID.
    pub id: String,
    pub account_id: String,
    /// `task` or `event`.
    pub entity: String,
    pub record_id: String,
    /// The event the record handles (for a task), or the event itself.
    pub event_id: Option<String>,
    /// yellow, red or overdue.
    pub threshold: String,
    /// Why this account: `responsible` or `supervisor`.
    pub reason: String,
    pub at_ms: u64,
    pub deadline_at: String,
    pub title: String,
}

/// One transaction's worth of deadline records (part of every [`crate::HubTx`]).
pub trait DeadlineTx {
    /// Add or replace a year of the calendar.
    fn put_calendar_year(&mut self, y: &CalendarYear) -> StoreResult<()>;
    /// Every imported year, in order.
    fn calendar_years(&mut self) -> StoreResult<Vec<CalendarYear>>;
    /// Mark `threshold` of a record as reminded: true if this call marked it, false if it
    /// was marked already (the reminder went out before).
    fn mark_threshold(
        &mut self,
        entity: &str,
        record_id: &str,
        threshold: &str,
        at_ms: u64,
    ) -> StoreResult<bool>;
    /// The thresholds of a record marked so far.
    fn marked_thresholds(&mut self, entity: &str, record_id: &str) -> StoreResult<Vec<String>>;
    fn put_reminder(&mut self, r: &Reminder) -> StoreResult<()>;
    /// An account's reminders, newest first.
    fn reminders_for(&mut self, account_id: &str, limit: usize) -> StoreResult<Vec<Reminder>>;
}

//! Every read of the device store, and the one set of read types: what a screen, the CLI
//! or sync reads from the store is one of the types below, whichever way it is reached.
//!
//! - [`records`]: single records and short lists through [`Store`] — grids, residents,
//!   the catalog, events with their timeline, tasks, search, counts, database health;
//! - [`lists`]: the terminal UI's paged lists and screens through [`Store::queries`]
//!   (residents, places, task detail, notices, patrol, journal, photos, statistics);
//! - [`sync`]: what sync leaves for the user to see — its health, what waits, refused
//!   changes (also [`Store::dead_letters`]), conflict notices (also
//!   [`Store::conflict_notices`]);
//! - houses and organisations: `crate::base_data` (read as their forms edit them); seals and
//!   photo upload state: `crate::seals_and_uploads`.
//!
//! Nothing here writes, except the `…_for_tests` helpers that file a dead letter or a
//! conflict as sync would.

mod lists;
mod records;
mod sync;

pub use lists::Queries;

use crate::model::{DeadlineColour, EventStatus, TaskStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// An event as lists show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventSummary {
    pub id: String,
    pub category: String,
    pub description: String,
    pub status: EventStatus,
    pub colour: Option<DeadlineColour>,
    pub deadline_at: Option<String>,
    pub device_time: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskSummary {
    pub id: String,
    pub title: String,
    pub status: TaskStatus,
    pub colour: Option<DeadlineColour>,
    pub deadline_at: Option<String>,
}

/// Counts of what the store holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub grids: i64,
    pub buildings: i64,
    pub houses: i64,
    pub persons: i64,
    pub organisations: i64,
    pub facilities: i64,
    pub categories: i64,
    pub events: i64,
    pub tasks: i64,
    pub outbox: i64,
}

/// What the sync screen and the home screen show about sync.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncHealth {
    /// Outbox rows not yet acknowledged (pending or in flight).
    pub pending: i64,
    pub inflight: i64,
    /// Rows the hub rejected for good (dead letters).
    pub rejected: i64,
    /// Conflict notices the user has not dismissed.
    pub conflicts: i64,
    /// The last successful exchange with the hub (`Store::last_hub_contact`), RFC 3339.
    pub last_sync: Option<String>,
    /// Photos of records not yet at the hub, and their bytes.
    pub photos_waiting: i64,
    pub photo_bytes_waiting: i64,
}

/// An outbox row as the sync screen lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaitingItem {
    pub seq: i64,
    pub entity: String,
    pub row_id: String,
    pub op: String,
    pub title: String,
    pub created_at: String,
    pub attempts: i64,
}

/// A change the hub refused, with its reason.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RejectedItem {
    pub seq: i64,
    pub entity: String,
    pub row_id: String,
    pub op: String,
    pub title: String,
    pub reason: String,
    pub detail: String,
    pub at: String,
}

/// "Your change to X was superseded by …".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConflictItem {
    pub id: i64,
    pub entity: String,
    pub row_id: String,
    pub title: String,
    pub field: String,
    pub local_value: Option<String>,
    pub winning_value: Option<String>,
    pub winner: String,
    pub at: String,
    pub seen: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoticeItem {
    pub id: String,
    pub title: String,
    pub body: String,
    pub published_at: String,
    pub read: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PatrolState {
    pub id: String,
    /// The grid the patrol is in (its boundary measures the time inside).
    pub grid_id: String,
    pub started_at: String,
    pub distance_m: f64,
    pub checkins: Vec<(String, String)>,
}

/// A visit or a diary entry, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JournalItem {
    pub kind: String,
    pub at: String,
    pub text: String,
}

/// A photo the store knows: what the forms and lists show, and its upload state (read by
/// the photo exchange through `Store::photo_upload` / `Store::photos_to_upload`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhotoItem {
    pub sha256: String,
    pub bytes: i64,
    pub mime: String,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub taken_at: Option<String>,
    /// The list thumbnail's SHA-256 in the photo vault (photos taken on this device).
    pub thumb_sha256: Option<String>,
    /// local / uploading / uploaded / remote / fetched
    pub state: String,
    /// The hub's upload this photo is part-way through, and how far it got.
    pub upload_id: Option<String>,
    pub upload_offset: i64,
}

/// The columns [`photo_item`] reads, in order.
pub(crate) const PHOTO_COLS: &str =
    "sha256, bytes, mime, width, height, taken_at, thumb_sha256, state, upload_id, upload_offset";

pub(crate) fn photo_item(r: &rusqlite::Row<'_>) -> rusqlite::Result<PhotoItem> {
    Ok(PhotoItem {
        sha256: r.get(0)?,
        bytes: r.get(1)?,
        mime: r.get(2)?,
        width: r.get(3)?,
        height: r.get(4)?,
        taken_at: r.get(5)?,
        thumb_sha256: r.get(6)?,
        state: r.get(7)?,
        upload_id: r.get(8)?,
        upload_offset: r.get(9)?,
    })
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Events by main category (大类) name, most first.
    pub by_category: Vec<(String, i64)>,
    /// Events by status code.
    pub by_status: Vec<(String, i64)>,
    pub tasks_on_time: i64,
    pub tasks_overdue: i64,
    pub visits_since: i64,
}

/// One line of a base-data list (buildings, houses, organisations, facilities): what it is, where,
/// and a count or a state code the UI turns into words.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaceItem {
    pub id: String,
    pub title: String,
    pub subtitle: String,
    /// Houses in a building, residents in a house; 0 for organisations and facilities.
    pub count: i64,
    /// A code: a house's use, an organisation's kind, a facility's kind.
    pub kind: String,
    /// A facility's state (`normal`, `damaged` …); empty otherwise.
    pub state: String,
}

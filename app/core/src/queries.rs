//! Read-only queries the terminal UI needs: paged resident lists, task detail, sync health
//! (waiting, rejected and conflict rows), notices, patrol state, recent visits, photos and
//! statistics. All SQL the UI depends on lives here or in [`crate::store`]; the UI crate has
//! none.
//!
//! Reached through [`Store::queries`], so these names never collide with the store's own.

use crate::error::{Error, Result};
use crate::model::{id_number, masked_phone, Task, TaskStatus};
use crate::search::PersonHit;
use crate::store::Store;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Read-only view of a store for the UI.
pub struct Queries<'a> {
    conn: &'a Connection,
    now: DateTime<Utc>,
}

impl Store {
    /// The UI's read-only queries.
    pub fn queries(&self) -> Queries<'_> {
        Queries {
            conn: self.conn(),
            now: self.now(),
        }
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
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

/// A short human title for a record from its fields (name, title, description …).
fn title_of(fields: &Value) -> String {
    for key in ["name", "title", "description", "content", "topic", "place"] {
        if let Some(s) = fields.get(key).and_then(Value::as_str) {
            if !s.is_empty() {
                let mut t: String = s.chars().take(24).collect();
                if s.chars().count() > 24 {
                    t.push('…');
                }
                return t;
            }
        }
    }
    String::new()
}

fn person_hit(r: &rusqlite::Row<'_>) -> rusqlite::Result<PersonHit> {
    let id_no: Option<String> = r.get(4)?;
    let phone: Option<String> = r.get(5)?;
    let tags: String = r.get(7)?;
    Ok(PersonHit {
        id: r.get(0)?,
        name: r.get(1)?,
        sex: r.get(2)?,
        birth_date: r.get(3)?,
        id_number: id_no.as_deref().map(id_number::masked),
        phone: phone.as_deref().map(masked_phone),
        address: r.get(6)?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        matched: String::new(),
    })
}

impl Queries<'_> {
    pub fn person_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM person", [], |r| r.get(0))?)
    }

    /// The row id that starts each page of `page` residents in list order (by row id).
    /// One pass over the primary key; lets any page be read by `rid >= start`.
    pub fn person_page_starts(&self, page: usize) -> Result<Vec<i64>> {
        let page = page.max(1);
        let mut stmt = self.conn.prepare("SELECT rid FROM person ORDER BY rid")?;
        let mut rows = stmt.query([])?;
        let mut out = vec![];
        let mut i = 0usize;
        while let Some(r) = rows.next()? {
            if i.is_multiple_of(page) {
                out.push(r.get(0)?);
            }
            i += 1;
        }
        Ok(out)
    }

    /// Up to `limit` residents from row id `from_rid` on, masked as lists show them.
    pub fn people_from(&self, from_rid: i64, limit: usize) -> Result<Vec<PersonHit>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.id, p.name, p.sex, p.birth_date, p.id_number, p.phone, h.full_address, p.tags
             FROM person p LEFT JOIN house h ON h.id = p.house_id
             WHERE p.rid >= ? ORDER BY p.rid LIMIT ?",
        )?;
        let rows = stmt.query_map(params![from_rid, limit as i64], person_hit)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The full address of a house.
    pub fn house_address(&self, house_id: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT full_address FROM house WHERE id = ?",
                [house_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn task(&self, id: &str) -> Result<Option<Task>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, grid_id, assignee, title, body, source_event_id, category_code, status, priority,
                        created_at, deadline_at, feedback, reject_reason
                 FROM task WHERE id = ?",
                [id],
                |r| {
                    let status: String = r.get(7)?;
                    let created: String = r.get(9)?;
                    let deadline: Option<String> = r.get(10)?;
                    Ok(Task {
                        id: r.get(0)?,
                        grid_id: r.get(1)?,
                        assignee: r.get(2)?,
                        title: r.get(3)?,
                        body: r.get(4)?,
                        source_event_id: r.get(5)?,
                        category_code: r.get(6)?,
                        status: TaskStatus::parse(&status).unwrap_or(TaskStatus::Assigned),
                        priority: r.get(8)?,
                        created_at: parse_time(&created).unwrap_or_default(),
                        deadline_at: deadline.as_deref().and_then(parse_time),
                        feedback: r.get(11)?,
                        reject_reason: r.get(12)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn sync_health(&self) -> Result<SyncHealth> {
        let (pending, inflight): (i64, i64) = self.conn.query_row(
            "SELECT count(*), coalesce(sum(state = 'inflight'), 0) FROM outbox",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let rejected = self
            .conn
            .query_row("SELECT count(*) FROM dead_letter", [], |r| r.get(0))?;
        let conflicts = self.conn.query_row(
            "SELECT count(*) FROM conflict_notice WHERE seen = 0",
            [],
            |r| r.get(0),
        )?;
        let last_sync = self
            .conn
            .query_row(
                "SELECT value FROM kv WHERE key = 'last_hub_contact'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let (photos_waiting, photo_bytes_waiting) = self.conn.query_row(
            "SELECT count(*), coalesce(sum(bytes - upload_offset), 0) FROM photo p
             WHERE state IN ('local', 'uploading')
               AND EXISTS (SELECT 1 FROM photo_ref r WHERE r.sha256 = p.sha256)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(SyncHealth {
            pending,
            inflight,
            rejected,
            conflicts,
            last_sync,
            photos_waiting,
            photo_bytes_waiting,
        })
    }

    /// Outbox rows, oldest first.
    pub fn waiting(&self, limit: usize) -> Result<Vec<WaitingItem>> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, entity, row_id, op, fields, created_at, attempts FROM outbox ORDER BY seq LIMIT ?",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            let fields: String = r.get(4)?;
            Ok(WaitingItem {
                seq: r.get(0)?,
                entity: r.get(1)?,
                row_id: r.get(2)?,
                op: r.get(3)?,
                title: title_of(&serde_json::from_str(&fields).unwrap_or(Value::Null)),
                created_at: r.get(5)?,
                attempts: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Changes the hub rejected for good, newest first.
    pub fn rejected(&self, limit: usize) -> Result<Vec<RejectedItem>> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, entity, row_id, op, fields, reason, detail, at FROM dead_letter ORDER BY seq DESC LIMIT ?",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            let fields: String = r.get(4)?;
            Ok(RejectedItem {
                seq: r.get(0)?,
                entity: r.get(1)?,
                row_id: r.get(2)?,
                op: r.get(3)?,
                title: title_of(&serde_json::from_str(&fields).unwrap_or(Value::Null)),
                reason: r.get(5)?,
                detail: r.get(6)?,
                at: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Conflict notices, unseen first, newest first.
    pub fn conflicts(&self, limit: usize) -> Result<Vec<ConflictItem>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, entity, row_id, field, local_value, winning_value, winner, at, seen
             FROM conflict_notice ORDER BY seen, id DESC LIMIT ?",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(ConflictItem {
                id: r.get(0)?,
                entity: r.get(1)?,
                row_id: r.get(2)?,
                title: String::new(),
                field: r.get(3)?,
                local_value: r.get(4)?,
                winning_value: r.get(5)?,
                winner: r.get(6)?,
                at: r.get(7)?,
                seen: r.get(8)?,
            })
        })?;
        let mut out: Vec<ConflictItem> = rows.collect::<rusqlite::Result<_>>()?;
        for c in &mut out {
            c.title = self.record_title(&c.entity, &c.row_id)?;
        }
        Ok(out)
    }

    /// A short title of a domain record (a resident's name, a task's title …).
    pub fn record_title(&self, entity: &str, row_id: &str) -> Result<String> {
        let sql = match entity {
            "person" | "organisation" | "building" => {
                format!("SELECT name FROM {entity} WHERE id = ?")
            }
            "task" | "notice" => format!("SELECT title FROM {entity} WHERE id = ?"),
            "event" => "SELECT description FROM event WHERE id = ?".to_string(),
            "house" => "SELECT full_address FROM house WHERE id = ?".to_string(),
            _ => return Ok(String::new()),
        };
        let t: Option<String> = self
            .conn
            .query_row(&sql, [row_id], |r| r.get(0))
            .optional()?;
        Ok(t.map(|s| title_of(&serde_json::json!({ "name": s })))
            .unwrap_or_default())
    }

    pub fn notices(&self, limit: usize) -> Result<Vec<NoticeItem>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, title, body, published_at, read_at IS NOT NULL FROM notice ORDER BY published_at DESC LIMIT ?",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(NoticeItem {
                id: r.get(0)?,
                title: r.get(1)?,
                body: r.get(2)?,
                published_at: r.get(3)?,
                read: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn unread_notices(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM notice WHERE read_at IS NULL",
            [],
            |r| r.get(0),
        )?)
    }

    /// The running patrol with its check-ins (time, place), if any.
    pub fn active_patrol(&self) -> Result<Option<PatrolState>> {
        let p: Option<(String, String, String, f64)> = self
            .conn
            .query_row(
                "SELECT id, grid_id, started_at, distance_m FROM patrol WHERE state = 'active' ORDER BY started_at DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((id, grid_id, started_at, distance_m)) = p else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare(
            "SELECT device_time, place FROM checkin WHERE patrol_id = ? ORDER BY device_time",
        )?;
        let checkins = stmt
            .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Some(PatrolState {
            id,
            grid_id,
            started_at,
            distance_m,
            checkins,
        }))
    }

    /// Recent visits and diary entries, newest first.
    pub fn journal(&self, limit: usize) -> Result<Vec<JournalItem>> {
        let mut stmt = self.conn.prepare(
            "SELECT 'visit', v.device_time, coalesce(p.name, '') || ' ' || v.topic || ' ' || v.note
               FROM visit v LEFT JOIN person p ON p.id = v.person_id
             UNION ALL
             SELECT 'diary', device_time, content FROM diary
             ORDER BY 2 DESC LIMIT ?",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            let text: String = r.get(2)?;
            Ok(JournalItem {
                kind: r.get(0)?,
                at: r.get(1)?,
                text: text.trim().to_string(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Photos known to the store, newest first.
    /// The photos a form being filled in can attach: those it has (`attached`, in that
    /// order), then photos taken on this device that no record uses yet, newest first, up
    /// to `limit` in all. Photos of earlier reports and photos from the centre are not
    /// offered again.
    pub fn draft_photos(&self, attached: &[String], limit: usize) -> Result<Vec<PhotoItem>> {
        const COLS: &str = "sha256, bytes, mime, width, height, taken_at, thumb_sha256, state";
        let row = |r: &rusqlite::Row<'_>| {
            Ok(PhotoItem {
                sha256: r.get(0)?,
                bytes: r.get(1)?,
                mime: r.get(2)?,
                width: r.get(3)?,
                height: r.get(4)?,
                taken_at: r.get(5)?,
                thumb_sha256: r.get(6)?,
                state: r.get(7)?,
            })
        };
        let mut out = Vec::new();
        let mut one = self
            .conn
            .prepare_cached(&format!("SELECT {COLS} FROM photo WHERE sha256 = ?"))?;
        for sha in attached {
            if let Some(p) = one.query_row([sha], row).optional()? {
                out.push(p);
            }
        }
        let mut free = self.conn.prepare_cached(&format!(
            "SELECT {COLS} FROM photo p WHERE state = 'local'
               AND NOT EXISTS (SELECT 1 FROM photo_ref r WHERE r.sha256 = p.sha256)
             ORDER BY taken_at DESC, sha256 LIMIT ?"
        ))?;
        let rows = free.query_map([limit as i64], row)?;
        for p in rows {
            let p = p?;
            if out.len() >= limit.max(attached.len()) {
                break;
            }
            if !attached.contains(&p.sha256) {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Statistics for the device's own work; visits counted from `since` (RFC 3339).
    pub fn stats(&self, since: &str) -> Result<Stats> {
        let pairs = |sql: &str| -> Result<Vec<(String, i64)>> {
            let mut stmt = self.conn.prepare(sql)?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        };
        let by_category = pairs(
            "SELECT coalesce(m.name, c.name, e.category_code), count(*)
             FROM event e LEFT JOIN catalog_category c ON c.code = e.category_code
             LEFT JOIN catalog_category m ON m.code = c.parent_code
             GROUP BY 1 ORDER BY 2 DESC, 1",
        )?;
        let by_status = pairs("SELECT status, count(*) FROM event GROUP BY 1 ORDER BY 2 DESC, 1")?;
        let mut stmt = self
            .conn
            .prepare("SELECT status, deadline_at, updated_at FROM task")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        let (mut on_time, mut overdue) = (0, 0);
        for row in rows {
            let (status, deadline, updated) = row?;
            let done = matches!(status.as_str(), "completed" | "closed");
            let at = if done {
                updated.as_deref().and_then(parse_time).unwrap_or(self.now)
            } else {
                self.now
            };
            match deadline.as_deref().and_then(parse_time) {
                Some(d) if at > d => overdue += 1,
                _ => on_time += 1,
            }
        }
        let visits_since = self.conn.query_row(
            "SELECT count(*) FROM visit WHERE device_time >= ?",
            [since],
            |r| r.get(0),
        )?;
        Ok(Stats {
            by_category,
            by_status,
            tasks_on_time: on_time,
            tasks_overdue: overdue,
            visits_since,
        })
    }

    /// Test and demo helper: file a dead letter as sync does when the hub rejects an
    /// outbox row for good (the row leaves the outbox). Not used by the product UI.
    #[doc(hidden)]
    pub fn reject_outbox_row_for_tests(&self, seq: i64, reason: &str, detail: &str) -> Result<()> {
        let n = self.conn.execute(
            "INSERT INTO dead_letter (seq, mutation_id, entity, row_id, op, fields, reason, detail, at)
             SELECT seq, mutation_id, entity, row_id, op, fields, ?, ?, ? FROM outbox WHERE seq = ?",
            params![reason, detail, crate::store::rfc3339(self.now), seq],
        )?;
        if n == 0 {
            return Err(Error::NotFound(format!("outbox row {seq}")));
        }
        self.conn
            .execute("DELETE FROM outbox WHERE seq = ?", [seq])?;
        Ok(())
    }

    /// Test and demo helper: file a conflict notice as sync does after a lost race.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub fn add_conflict_for_tests(
        &self,
        entity: &str,
        row_id: &str,
        field: &str,
        local: &str,
        winning: &str,
        winner: &str,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO conflict_notice (entity, row_id, field, local_value, winning_value, winner, at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            params![
                entity,
                row_id,
                field,
                local,
                winning,
                winner,
                crate::store::rfc3339(self.now)
            ],
        )?;
        Ok(())
    }
}

/// One line of a base-data list (buildings, houses, units, facilities): what it is, where,
/// and a count or a state code the UI turns into words.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaceItem {
    pub id: String,
    pub title: String,
    pub subtitle: String,
    /// Houses in a building, residents in a house; 0 for units and facilities.
    pub count: i64,
    /// A code: a house's use, a unit's kind, a facility's kind.
    pub kind: String,
    /// A facility's state (`normal`, `damaged` …); empty otherwise.
    pub state: String,
}

fn place_item(r: &rusqlite::Row<'_>) -> rusqlite::Result<PlaceItem> {
    Ok(PlaceItem {
        id: r.get(0)?,
        title: r.get(1)?,
        subtitle: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
        count: r.get(3)?,
        kind: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
        state: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
    })
}

/// Base-data browsing: buildings → houses → residents; units; facilities. Pages by
/// `offset`/`limit` (a grid holds hundreds of these, not 100,000).
impl Queries<'_> {
    pub fn buildings(&self, offset: usize, limit: usize) -> Result<Vec<PlaceItem>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT b.id, b.name, a.full_text,
                    (SELECT count(*) FROM house h WHERE h.building_id = b.id), b.kind, ''
             FROM building b LEFT JOIN address a ON a.id = b.address_id
             ORDER BY a.full_text, length(b.name), b.name, b.id LIMIT ? OFFSET ?",
        )?;
        let rows = stmt.query_map(params![limit as i64, offset as i64], place_item)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn building_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM building", [], |r| r.get(0))?)
    }

    /// The houses of a building, by unit and room.
    pub fn houses_in(&self, building_id: &str) -> Result<Vec<PlaceItem>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT h.id, h.unit_no || ' ' || h.room, h.full_address,
                    (SELECT count(*) FROM person p WHERE p.house_id = h.id), h.use, ''
             FROM house h WHERE h.building_id = ?
             ORDER BY length(h.unit_no), h.unit_no, length(h.room), h.room, h.id",
        )?;
        let rows = stmt.query_map([building_id], place_item)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The residents of a house, masked as lists show them.
    pub fn residents_in(&self, house_id: &str) -> Result<Vec<PersonHit>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.id, p.name, p.sex, p.birth_date, p.id_number, p.phone, h.full_address, p.tags
             FROM person p LEFT JOIN house h ON h.id = p.house_id
             WHERE p.house_id = ? ORDER BY p.relation != 'householder', p.birth_date, p.rid",
        )?;
        let rows = stmt.query_map([house_id], person_hit)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Units (organisations): shops, companies, schools …
    pub fn units(&self, offset: usize, limit: usize) -> Result<Vec<PlaceItem>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, name, address_text, 0, kind, '' FROM organisation
             ORDER BY kind, name, rid LIMIT ? OFFSET ?",
        )?;
        let rows = stmt.query_map(params![limit as i64, offset as i64], place_item)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn unit_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM organisation", [], |r| r.get(0))?)
    }

    /// Facilities (部件): hydrants, manholes, lamps … with their state.
    pub fn facilities(&self, offset: usize, limit: usize) -> Result<Vec<PlaceItem>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, coalesce(code, ''), note, 0, kind, state FROM facility
             ORDER BY state = 'normal', kind, code, id LIMIT ? OFFSET ?",
        )?;
        let rows = stmt.query_map(params![limit as i64, offset as i64], place_item)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn facility_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM facility", [], |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_come_from_the_first_meaningful_field() {
        assert_eq!(title_of(&serde_json::json!({"name": "张喆"})), "张喆");
        assert_eq!(
            title_of(&serde_json::json!({"description": "", "title": "核查"})),
            "核查"
        );
        assert_eq!(title_of(&serde_json::json!({"x": 1})), "");
        let long = "一".repeat(30);
        assert_eq!(
            title_of(&serde_json::json!({ "content": long }))
                .chars()
                .count(),
            25
        );
    }
}

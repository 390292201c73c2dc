//! The terminal UI's reads: paged resident lists, task detail, notices, patrol state,
//! recent visits, photos, statistics and the base-data lists. All SQL the UI depends on
//! lives in [`crate::queries`]; the UI crate has none.
//!
//! Reached through [`Store::queries`], so these names never collide with the store's own.

use super::{parse_time, JournalItem, NoticeItem, PatrolState, PhotoItem, PlaceItem, Stats};
use crate::error::Result;
use crate::model::{id_number, masked_phone, Task, TaskStatus};
use crate::search::PersonHit;
use crate::store::Store;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

/// A view of a store for the UI's reads.
pub struct Queries<'a> {
    pub(super) conn: &'a Connection,
    pub(super) now: DateTime<Utc>,
}

impl Store {
    /// The UI's reads (and, hidden from the docs, two helpers that file a dead letter or a
    /// conflict notice as sync would, for tests and the demo).
    pub fn queries(&self) -> Queries<'_> {
        Queries {
            conn: self.conn(),
            now: self.now(),
        }
    }
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
        const COLS: &str = super::PHOTO_COLS;
        let row = super::photo_item;
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

/// Base-data browsing: buildings → houses → residents; organisations; facilities. Pages by
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

    /// Organisations (单位): shops, companies, schools …
    pub fn organisations(&self, offset: usize, limit: usize) -> Result<Vec<PlaceItem>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, name, address_text, 0, kind, '' FROM organisation
             ORDER BY kind, name, rid LIMIT ? OFFSET ?",
        )?;
        let rows = stmt.query_map(params![limit as i64, offset as i64], place_item)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn organisation_count(&self) -> Result<i64> {
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

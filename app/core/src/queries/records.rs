//! Reads of the device's records through [`Store`]: grids, residents, the catalog,
//! events with their timeline, tasks, search, counts and the database's health.

use super::{parse_time, Counts, EventSummary, TaskSummary};
use crate::error::{Error, Result};
use crate::model::*;
use crate::search::{self, HouseHit, OrganisationHit, PersonHit, SearchPage};
use crate::store::Store;
use gridpad_domain::worktime::{DeadlineUnit, WorkCalendar};
use gridpad_proto::Entity;
use rusqlite::{params, OptionalExtension};

impl Store {
    /// Merge the search index after a bulk load.
    pub fn optimize_search(&self) -> Result<()> {
        search::optimize(self.conn())
    }

    /// The grid this device works in (set by provisioning, enrollment or demo data).
    pub fn home_grid(&self) -> Result<Option<Grid>> {
        match self.kv("grid_id")? {
            Some(id) => self.grid(&id),
            None => Ok(None),
        }
    }

    pub fn grid(&self, id: &str) -> Result<Option<Grid>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, code, name, level, parent_id, boundary FROM grid WHERE id = ? OR code = ?",
                [id, id],
                |r| {
                    let level: String = r.get(3)?;
                    let boundary: Option<String> = r.get(5)?;
                    Ok(Grid {
                        id: r.get(0)?,
                        code: r.get(1)?,
                        name: r.get(2)?,
                        level: GridLevel::parse(&level).unwrap_or(GridLevel::Grid),
                        parent_id: r.get(4)?,
                        boundary: boundary.and_then(|b| serde_json::from_str(&b).ok()),
                    })
                },
            )
            .optional()?)
    }

    pub(crate) fn grid_or_home(&self, grid_id: Option<&str>) -> Result<String> {
        match grid_id {
            Some(g) => self
                .grid(g)?
                .map(|g| g.id)
                .ok_or_else(|| Error::NotFound(format!("grid {g}"))),
            None => self.kv("grid_id")?.ok_or_else(|| {
                Error::Invalid("this device has no grid yet: give one, or load base data".into())
            }),
        }
    }

    pub fn person(&self, id: &str) -> Result<Option<Person>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, grid_id, house_id, name, id_number, phone, sex, birth_date, relation, residence_type, tags, note
                 FROM person WHERE id = ?",
                [id],
                |r| {
                    let sex: String = r.get(6)?;
                    let rel: String = r.get(8)?;
                    let res: String = r.get(9)?;
                    let tags: String = r.get(10)?;
                    Ok(Person {
                        id: r.get(0)?,
                        grid_id: r.get(1)?,
                        house_id: r.get(2)?,
                        name: r.get(3)?,
                        id_number: r.get(4)?,
                        phone: r.get(5)?,
                        sex: Sex::parse(&sex).unwrap_or(Sex::Unknown),
                        birth_date: r.get(7)?,
                        relation: Relation::parse(&rel).unwrap_or(Relation::Other),
                        residence_type: ResidenceType::parse(&res).unwrap_or(ResidenceType::Other),
                        tags: serde_json::from_str::<Vec<String>>(&tags)
                            .unwrap_or_default()
                            .iter()
                            .filter_map(|t| PersonTag::parse(t))
                            .collect(),
                        note: r.get(11)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn search_people(
        &self,
        q: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<SearchPage<PersonHit>> {
        search::people(self.conn(), q, limit, cursor)
    }

    pub fn search_houses(
        &self,
        q: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<SearchPage<HouseHit>> {
        search::houses(self.conn(), q, limit, cursor)
    }

    pub fn search_organisations(
        &self,
        q: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<SearchPage<OrganisationHit>> {
        search::organisations(self.conn(), q, limit, cursor)
    }

    pub fn catalog(&self) -> Result<Vec<Category>> {
        let mut stmt = self.conn().prepare(
            "SELECT code, parent_code, level, name, department, deadline_hours, yellow_pct, red_pct, fields, sort,
                    deadline_unit
             FROM catalog_category ORDER BY level, sort, code",
        )?;
        let rows = stmt.query_map([], |r| {
            let fields: String = r.get(8)?;
            Ok(Category {
                code: r.get(0)?,
                parent_code: r.get(1)?,
                level: r.get(2)?,
                name: r.get(3)?,
                department: r.get(4)?,
                deadline_hours: r.get(5)?,
                deadline_unit: unit(r.get(10)?),
                yellow_pct: r.get(6)?,
                red_pct: r.get(7)?,
                fields: serde_json::from_str(&fields).unwrap_or_default(),
                sort: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn category(&self, code: &str) -> Result<Option<Category>> {
        Ok(self.catalog()?.into_iter().find(|c| c.code == code))
    }

    pub fn event(&self, id: &str) -> Result<Option<Event>> {
        let ev = self
            .conn()
            .query_row(
                "SELECT id, grid_id, category_code, description, address_text, fields, status, handled_on_spot,
                        reporter, position, device_time, corrected_time, deadline_at
                 FROM event WHERE id = ?",
                [id],
                |r| {
                    let fields: String = r.get(5)?;
                    let status: String = r.get(6)?;
                    let pos: Option<String> = r.get(9)?;
                    let dt: String = r.get(10)?;
                    let ct: Option<String> = r.get(11)?;
                    let dl: Option<String> = r.get(12)?;
                    Ok(Event {
                        id: r.get(0)?,
                        grid_id: r.get(1)?,
                        category_code: r.get(2)?,
                        description: r.get(3)?,
                        address_text: r.get(4)?,
                        fields: serde_json::from_str(&fields).unwrap_or_default(),
                        status: EventStatus::parse(&status).unwrap_or(EventStatus::Reported),
                        handled_on_spot: r.get(7)?,
                        reporter: r.get(8)?,
                        position: pos.and_then(|p| serde_json::from_str(&p).ok()),
                        device_time: parse_time(&dt).unwrap_or_default(),
                        corrected_time: ct.as_deref().and_then(parse_time),
                        deadline_at: dl.as_deref().and_then(parse_time),
                        photos: vec![],
                    })
                },
            )
            .optional()?;
        let Some(mut ev) = ev else { return Ok(None) };
        ev.photos = self.photo_refs(Entity::Event, id)?;
        Ok(Some(ev))
    }

    fn photo_refs(&self, owner: Entity, id: &str) -> Result<Vec<String>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT sha256 FROM photo_ref WHERE owner_entity = ? AND owner_id = ? ORDER BY ord",
        )?;
        let rows = stmt.query_map(params![owner.as_str(), id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The lifecycle timeline of an event, oldest first.
    pub fn event_history(&self, id: &str) -> Result<Vec<StatusChange>> {
        let mut stmt = self.conn().prepare(
            "SELECT status, at, actor, note, origin FROM event_status WHERE event_id = ? ORDER BY id",
        )?;
        let rows = stmt.query_map([id], |r| {
            let status: String = r.get(0)?;
            let at: String = r.get(1)?;
            Ok(StatusChange {
                status: EventStatus::parse(&status).unwrap_or(EventStatus::Reported),
                at: parse_time(&at).unwrap_or_default(),
                actor: r.get(2)?,
                note: r.get(3)?,
                origin: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Events, newest first, with their deadline colour at `now`.
    pub fn events(&self, limit: usize) -> Result<Vec<EventSummary>> {
        let now = self.now();
        let mut stmt = self.conn().prepare(
            "SELECT e.id, coalesce(c.name, e.category_code), e.description, e.status, e.deadline_at,
                    e.device_time, coalesce(e.corrected_time, e.device_time), coalesce(c.yellow_pct, 50), coalesce(c.red_pct, 80),
                    c.deadline_unit
             FROM event e LEFT JOIN catalog_category c ON c.code = e.category_code
             ORDER BY e.device_time DESC LIMIT ?",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            let status: String = r.get(3)?;
            let deadline: Option<String> = r.get(4)?;
            let start: String = r.get(6)?;
            let status = EventStatus::parse(&status).unwrap_or(EventStatus::Reported);
            let colour = match (
                status.is_open(),
                deadline.as_deref().and_then(parse_time),
                parse_time(&start),
            ) {
                (true, Some(d), Some(s)) => {
                    Some(colour(unit(r.get(9)?), s, d, now, r.get(7)?, r.get(8)?))
                }
                _ => None,
            };
            Ok(EventSummary {
                id: r.get(0)?,
                category: r.get(1)?,
                description: r.get(2)?,
                status,
                colour,
                deadline_at: deadline,
                device_time: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn tasks(&self) -> Result<Vec<TaskSummary>> {
        let now = self.now();
        let mut stmt = self.conn().prepare(
            "SELECT t.id, t.title, t.status, t.deadline_at, t.created_at, coalesce(c.yellow_pct, 50), coalesce(c.red_pct, 80),
                    c.deadline_unit
             FROM task t LEFT JOIN catalog_category c ON c.code = t.category_code
             ORDER BY t.deadline_at IS NULL, t.deadline_at, t.created_at",
        )?;
        let rows = stmt.query_map([], |r| {
            let status: String = r.get(2)?;
            let status = TaskStatus::parse(&status).unwrap_or(TaskStatus::Assigned);
            let deadline: Option<String> = r.get(3)?;
            let created: String = r.get(4)?;
            let colour = match (
                status.is_open(),
                deadline.as_deref().and_then(parse_time),
                parse_time(&created),
            ) {
                (true, Some(d), Some(s)) => {
                    Some(colour(unit(r.get(7)?), s, d, now, r.get(5)?, r.get(6)?))
                }
                _ => None,
            };
            Ok(TaskSummary {
                id: r.get(0)?,
                title: r.get(1)?,
                status,
                colour,
                deadline_at: deadline,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn counts(&self) -> Result<Counts> {
        let c = |t: &str| -> Result<i64> {
            Ok(self
                .conn()
                .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))?)
        };
        Ok(Counts {
            grids: c("grid")?,
            buildings: c("building")?,
            houses: c("house")?,
            persons: c("person")?,
            organisations: c("organisation")?,
            facilities: c("facility")?,
            categories: c("catalog_category")?,
            events: c("event")?,
            tasks: c("task")?,
            outbox: c("outbox")?,
        })
    }

    /// `PRAGMA integrity_check` and foreign keys; `Ok(())` when the database is sound.
    pub fn integrity_check(&self) -> Result<()> {
        let res: String = self
            .conn()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if res != "ok" {
            return Err(Error::Invalid(format!("integrity check: {res}")));
        }
        let fk: Option<String> = self
            .conn()
            .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
            .optional()?;
        if let Some(table) = fk {
            return Err(Error::Invalid(format!("foreign key violation in {table}")));
        }
        Ok(())
    }

    /// Flush the WAL into the main file (before a backup or a size measurement).
    pub fn checkpoint(&self) -> Result<()> {
        self.conn()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    }
}

/// A catalog's deadline unit as stored (none: hours on the clock).
fn unit(s: Option<String>) -> DeadlineUnit {
    s.as_deref()
        .and_then(DeadlineUnit::parse)
        .unwrap_or_default()
}

/// The colour the hub computes too ([`WorkCalendar::colour`]), on the calendar this build
/// ships; across a year it does not hold, the share of clock time.
fn colour(
    unit: DeadlineUnit,
    start: chrono::DateTime<chrono::Utc>,
    deadline: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
    yellow_pct: u32,
    red_pct: u32,
) -> DeadlineColour {
    WorkCalendar::shipped_ref()
        .colour_or_clock(unit, start, deadline, now, yellow_pct, red_pct)
        .0
}

//! The grid worker's field work: household visits (走访), the work diary, patrols with
//! their check-ins and track, photos taken, notices read — each one outbox row (a stopped
//! patrol: its segments and totals in one transaction).

use super::{new_id, rfc3339, text, Store};
use crate::error::{Error, Result};
use crate::model::*;
use chrono::{DateTime, Utc};
use gridpad_proto::{Entity, Fields, Op};
use rusqlite::OptionalExtension;
use serde_json::json;

/// A household visit (走访) as the user records it.
#[derive(Clone, Debug)]
pub struct NewVisit {
    pub house_id: Option<String>,
    pub person_id: Option<String>,
    pub kind: VisitKind,
    pub topic: String,
    pub note: String,
    pub position: Option<Position>,
    pub corrected_time: Option<DateTime<Utc>>,
}

/// One segment of a patrol's track as the app hands it to [`Store::stop_patrol`]: the
/// points already compactly encoded (`gridpad_gnss::track::encode_segment`).
#[derive(Clone, Debug, PartialEq)]
pub struct NewTrackSegment {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub n_points: i64,
    /// A gap in reception precedes this segment.
    pub gap_before: bool,
    pub points: Vec<u8>,
}

impl NewTrackSegment {
    fn check(&self, i: usize) -> Result<()> {
        let bad = |why: &str| Err(Error::Invalid(format!("track segment {}: {why}", i + 1)));
        if self.n_points < 1 {
            return bad("it has no points");
        }
        if self.points.is_empty() {
            return bad("its points are empty");
        }
        if self.end < self.start {
            return bad("it ends before it starts");
        }
        Ok(())
    }

    fn fields(&self, patrol_id: &str, seq: i64) -> Fields {
        let mut f = Fields::new();
        f.insert("patrol_id".into(), json!(patrol_id));
        f.insert("seq".into(), json!(seq));
        f.insert("start_time".into(), json!(rfc3339(self.start)));
        f.insert("end_time".into(), json!(rfc3339(self.end)));
        f.insert("n_points".into(), json!(self.n_points));
        f.insert("gap_before".into(), json!(self.gap_before));
        f.insert("points".into(), json!(hex::encode(&self.points)));
        f
    }
}

impl Store {
    /// Record a household visit (走访).
    pub fn add_visit(&mut self, v: NewVisit) -> Result<String> {
        text("note", &v.note, false)?;
        text("topic", &v.topic, false)?;
        if let Some(p) = &v.position {
            p.validate().map_err(Error::Invalid)?;
        }
        let grid_id = self.grid_or_home(None)?;
        let id = new_id();
        let mut f = Fields::new();
        f.insert("grid_id".into(), json!(grid_id));
        f.insert("house_id".into(), json!(v.house_id));
        f.insert("person_id".into(), json!(v.person_id));
        f.insert("kind".into(), json!(v.kind.as_str()));
        f.insert("topic".into(), json!(v.topic));
        f.insert("note".into(), json!(v.note));
        f.insert(
            "position".into(),
            json!(v.position.unwrap_or_else(Position::none)),
        );
        f.insert("device_time".into(), json!(rfc3339(self.now())));
        f.insert(
            "corrected_time".into(),
            json!(v.corrected_time.map(rfc3339)),
        );
        self.write(|w| w.record(Entity::Visit, &id, Op::Insert, f))?;
        Ok(id)
    }

    pub fn add_diary(&mut self, content: &str, position: Option<Position>) -> Result<String> {
        text("diary entry", content, true)?;
        let grid_id = self.grid_or_home(None)?;
        let now = self.now();
        let beijing = now + chrono::Duration::hours(8);
        let id = new_id();
        let mut f = Fields::new();
        f.insert("grid_id".into(), json!(grid_id));
        f.insert("day".into(), json!(beijing.format("%Y-%m-%d").to_string()));
        f.insert("content".into(), json!(content));
        f.insert(
            "position".into(),
            json!(position.unwrap_or_else(Position::none)),
        );
        f.insert("device_time".into(), json!(rfc3339(now)));
        self.write(|w| w.record(Entity::Diary, &id, Op::Insert, f))?;
        Ok(id)
    }

    pub fn start_patrol(&mut self) -> Result<String> {
        if let Some(active) = self
            .conn
            .query_row("SELECT id FROM patrol WHERE state = 'active'", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
        {
            return Err(Error::NotAllowed(format!(
                "patrol {active} is still running"
            )));
        }
        let grid_id = self.grid_or_home(None)?;
        let id = new_id();
        let mut f = Fields::new();
        f.insert("grid_id".into(), json!(grid_id));
        f.insert("started_at".into(), json!(rfc3339(self.now())));
        f.insert("state".into(), json!("active"));
        self.write(|w| w.record(Entity::Patrol, &id, Op::Insert, f))?;
        Ok(id)
    }

    pub fn checkin(
        &mut self,
        patrol_id: Option<&str>,
        place: &str,
        inside: Inside,
        position: Position,
    ) -> Result<String> {
        position.validate().map_err(Error::Invalid)?;
        let grid_id = self.grid_or_home(None)?;
        let id = new_id();
        let mut f = Fields::new();
        f.insert("patrol_id".into(), json!(patrol_id));
        f.insert("grid_id".into(), json!(grid_id));
        f.insert("place".into(), json!(place));
        f.insert("inside_grid".into(), json!(inside.as_str()));
        f.insert("position".into(), json!(position));
        f.insert("device_time".into(), json!(rfc3339(self.now())));
        self.write(|w| w.record(Entity::Checkin, &id, Op::Insert, f))?;
        Ok(id)
    }

    /// Test helper: store one segment of a running patrol on its own, as app versions
    /// before the one-transaction stop did ([`Store::stop_patrol`] continues after it).
    /// The app itself never calls it.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub fn add_track_segment(
        &mut self,
        patrol_id: &str,
        seq: i64,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        n_points: i64,
        gap_before: bool,
        points: &[u8],
    ) -> Result<String> {
        let seg = NewTrackSegment {
            start,
            end,
            n_points,
            gap_before,
            points: points.to_vec(),
        };
        seg.check(0)?;
        let id = new_id();
        let f = seg.fields(patrol_id, seq);
        self.write(|w| w.record(Entity::TrackSegment, &id, Op::Insert, f))?;
        Ok(id)
    }

    /// Stop the running patrol `id`: its track segments (numbered after any it already
    /// has) and its totals — distance walked, seconds inside the grid — are written in ONE
    /// transaction. On any failure (an invalid segment, a patrol that is not running, a
    /// full disk) nothing is written and the patrol is still running, so the user can stop
    /// it again.
    pub fn stop_patrol(
        &mut self,
        id: &str,
        segments: &[NewTrackSegment],
        distance_m: f64,
        inside_grid_s: f64,
    ) -> Result<()> {
        if !(distance_m.is_finite() && distance_m >= 0.0) {
            return Err(Error::Invalid(format!(
                "patrol distance must be a number of metres ≥ 0, not {distance_m}"
            )));
        }
        if !(inside_grid_s.is_finite() && inside_grid_s >= 0.0) {
            return Err(Error::Invalid(format!(
                "time inside the grid must be a number of seconds ≥ 0, not {inside_grid_s}"
            )));
        }
        for (i, seg) in segments.iter().enumerate() {
            seg.check(i)?;
        }
        let ended_at = rfc3339(self.now());
        self.write(|w| {
            let state: Option<String> =
                w.tx.query_row("SELECT state FROM patrol WHERE id = ?", [id], |r| r.get(0))
                    .optional()?;
            match state.as_deref() {
                None => return Err(Error::NotFound(format!("patrol {id}"))),
                Some("active") => {}
                Some(_) => return Err(Error::NotAllowed(format!("patrol {id} has already ended"))),
            }
            let next: i64 = w.tx.query_row(
                "SELECT coalesce(max(seq) + 1, 0) FROM track_segment WHERE patrol_id = ?",
                [id],
                |r| r.get(0),
            )?;
            for (i, seg) in segments.iter().enumerate() {
                let f = seg.fields(id, next + i as i64);
                w.record(Entity::TrackSegment, &new_id(), Op::Insert, f)?;
            }
            let mut f = Fields::new();
            f.insert("ended_at".into(), json!(ended_at));
            f.insert("distance_m".into(), json!(distance_m));
            f.insert("inside_grid_s".into(), json!(inside_grid_s));
            f.insert("state".into(), json!("finished"));
            w.record(Entity::Patrol, id, Op::Update, f)?;
            Ok(())
        })
    }

    /// Record a photo's metadata (the file itself is kept by the photo store).
    pub fn register_photo(
        &mut self,
        sha256: &str,
        bytes: i64,
        mime: &str,
        width: Option<i64>,
        height: Option<i64>,
    ) -> Result<()> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::Invalid("photo hash must be SHA-256 hex".into()));
        }
        let exists = self
            .conn
            .query_row("SELECT 1 FROM photo WHERE sha256 = ?", [sha256], |_| Ok(()))
            .optional()?
            .is_some();
        if exists {
            return Ok(()); // content-addressed: the same photo twice is one photo
        }
        let mut f = Fields::new();
        f.insert("bytes".into(), json!(bytes));
        f.insert("mime".into(), json!(mime));
        f.insert("width".into(), json!(width));
        f.insert("height".into(), json!(height));
        f.insert("taken_at".into(), json!(rfc3339(self.now())));
        self.write(|w| w.record(Entity::Photo, &sha256.to_lowercase(), Op::Insert, f))?;
        Ok(())
    }

    pub fn mark_notice_read(&mut self, id: &str) -> Result<()> {
        let mut f = Fields::new();
        f.insert("read_at".into(), json!(rfc3339(self.now())));
        self.write(|w| w.record(Entity::Notice, id, Op::Update, f))?;
        Ok(())
    }
}

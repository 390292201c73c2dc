//! One event as the console's event page shows it: found within the account's area (and,
//! for a department handler, its department's 小类), its timeline (the lifecycle steps
//! the devices also receive, and the centre's notes), its photos and its tasks' result
//! photos. Notes are audit lines
//! (`event.note`): the centre's remarks, not synced to the device.

use crate::audit::AuditQuery;
use crate::authz::{Action, Principal};
use crate::hub::{rfc3339_ms, Hub, HubError, HubResult};
use gridhub_store::{with_tx, Row};
use gridpad_proto::wire::OpKind;
use gridpad_proto::Entity;
use serde_json::{json, Value};

/// A step of an event's life.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// RFC 3339.
    pub at: String,
    pub actor: String,
    /// The status it moved to; none for a note.
    pub status: Option<String>,
    pub note: String,
}

/// How many pages of a scope's log the timeline reads at most.
const MAX_PAGES: usize = 200;

impl Hub {
    /// The event `id`, if `who` may read it; otherwise "not found" (its existence is not
    /// shown outside the area).
    pub fn event_for(&self, who: &Principal, id: &str) -> HubResult<Row> {
        who.require(Action::EventsRead)?;
        let missing = || HubError::NotFound(format!("event {id:.40}"));
        let row = self
            .row(Entity::Event, id)?
            .filter(|r| !r.deleted)
            .ok_or_else(missing)?;
        let grid = row.fields.get("grid_id").and_then(Value::as_str);
        who.require_grid(grid, &format!("event {id:.40}"))?;
        if let Some(dep) = &who.department_id {
            let category = row.fields.get("category_code").and_then(Value::as_str);
            let routed = with_tx(self.store(), |tx| {
                let held = crate::handling::Holding { hops: tx.hops(id)? };
                if held.department() == Some(dep.as_str()) {
                    return Ok(true);
                }
                let code = tx
                    .departments()?
                    .into_iter()
                    .find(|d| &d.id == dep)
                    .map(|d| d.code);
                Ok(tx.routing()?.into_iter().any(|r| {
                    Some(&r.department_code) == code.as_ref()
                        && Some(r.category_code.as_str()) == category
                }))
            })?;
            if !routed {
                return Err(missing());
            }
        }
        Ok(row)
    }

    /// The steps of an event, oldest first: its report, each lifecycle step (from the
    /// log its device receives) and the centre's notes.
    pub fn event_timeline(&self, row: &Row) -> HubResult<Vec<Step>> {
        let f = &row.fields;
        let s = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or_default();
        let first = if s("reported_at").is_empty() {
            s("device_time")
        } else {
            s("reported_at")
        };
        let mut steps = vec![Step {
            at: first.to_string(),
            actor: s("reporter").to_string(),
            status: Some("reported".into()),
            note: String::new(),
        }];
        let mut after = 0;
        for _ in 0..MAX_PAGES {
            let page = with_tx(self.store(), |tx| {
                tx.ops_after(&row.scope, after, 256 << 10)
            })?;
            let Some(last) = page.last() else { break };
            after = last.op_id;
            for op in page {
                if op.row_id != row.row_id
                    || op.entity != Entity::Event
                    || op.kind != OpKind::Command("transition".into())
                {
                    continue;
                }
                let a = |k: &str| {
                    op.fields
                        .get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                steps.push(Step {
                    at: a("at"),
                    actor: a("actor"),
                    status: Some(a("status")),
                    note: a("note"),
                });
            }
        }
        // The centre's notes and the automatic 督办 of its task's deadline.
        let mut notes = vec![];
        for action in ["event.note", "event.supervise"] {
            notes.extend(self.audit_log(&AuditQuery {
                target: Some(format!("event:{}", row.row_id)),
                action: Some(action.into()),
                limit: 1_000,
                ..AuditQuery::default()
            })?);
        }
        for n in notes {
            steps.push(Step {
                at: rfc3339_ms(n.at_ms),
                actor: n.actor_name,
                status: None,
                note: n
                    .after
                    .get("note")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        let when = |s: &Step| {
            chrono::DateTime::parse_from_rfc3339(&s.at)
                .map(|t| t.timestamp_millis())
                .unwrap_or(0)
        };
        steps.sort_by_key(when);
        Ok(steps)
    }

    /// A note of the centre on an event (in the audit log, shown on its timeline).
    pub fn note_event(&self, who: &Principal, id: &str, note: &str) -> HubResult<()> {
        who.require(Action::EventsHandle)?;
        let note = note.trim();
        if note.is_empty() || note.chars().count() > 2_000 {
            return Err(HubError::BadRequest(
                "a note of 1 to 2,000 characters".into(),
            ));
        }
        self.event_for(who, id)?;
        self.audit_alone(
            &who.actor,
            "event.note",
            &format!("event:{id}"),
            json!({ "note": note }),
        )
    }

    /// A photo of an event `who` may read: the bytes, if the event carries that photo
    /// and the hub holds it.
    pub fn event_photo(&self, who: &Principal, id: &str, sha256: &str) -> HubResult<Vec<u8>> {
        let row = self.event_for(who, id)?;
        let missing = || HubError::NotFound("photo".into());
        let photos = row
            .fields
            .get(gridpad_domain::spec::PHOTOS)
            .and_then(gridpad_domain::spec::photo_list)
            .unwrap_or_default();
        if !photos.iter().any(|p| p == sha256) {
            return Err(missing());
        }
        self.photo_bytes(sha256)
    }

    /// A result photo of a task `who` may read: the bytes, if the task's handler sent
    /// that photo and the hub holds it.
    pub fn task_photo(&self, who: &Principal, id: &str, sha256: &str) -> HubResult<Vec<u8>> {
        let row = self.task_for(who, id)?;
        if !crate::centre::task_result_photos(&row)
            .iter()
            .any(|p| p == sha256)
        {
            return Err(HubError::NotFound("photo".into()));
        }
        self.photo_bytes(sha256)
    }

    /// Whether the hub holds a photo's bytes.
    pub fn holds_photo(&self, sha256: &str) -> bool {
        self.blobs()
            .is_some_and(|b| matches!(b.blob_len(sha256), Ok(Some(_))))
    }

    fn photo_bytes(&self, sha256: &str) -> HubResult<Vec<u8>> {
        let missing = || HubError::NotFound("photo".into());
        let blobs = self.blobs().ok_or_else(missing)?;
        let len = blobs.blob_len(sha256)?.ok_or_else(missing)?;
        Ok(blobs.read_blob(sha256, 0, len)?)
    }
}

//! 分流、上报上级、退回: an event handled across the levels and the departments.
//!
//! Each hop is kept ([`Hop`], in the store); the last one says who holds the event now —
//! the node whose dispatchers act on it and, after a 派遣至部门, the department that
//! handles it. An event with no hop is held by the dispatchers of its area, as before.
//!
//! - 上报上级 (escalate): a level that cannot solve it sends it one level up, with a
//!   reason; the level below no longer acts on it (it still sees it).
//! - 退回下级 (send back): what was sent up wrongly goes back where it came from.
//! - 派遣至部门: a dispatcher sends it to a department attached on the event's path
//!   (community, street, district …); the department signs for it, handles it with its
//!   feedback, or returns it with a reason; the dispatching level verifies and closes.
//!
//! Every hop is a lifecycle step the reporting device receives (its note names where the
//! event went), an audit line, and one transaction with the event's step: all or nothing.
//! A concurrent hop from the same state is refused by the store (the hop's seq is taken).

use crate::authz::{Action, Principal};
use crate::centre::check_version;
use crate::hub::{in_tx, Hub, HubError, HubResult};
use crate::org::{OrgNode, OrgTree};
use gridhub_store::*;
use gridpad_domain::codes::EventStatus;
use gridpad_domain::worktime::Deadline;
use gridpad_proto::{Entity, Hlc};
use serde_json::{json, Value};

/// What an account is to an event as it is held now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// A dispatcher of the holding level (or above): accepts, dispatches, escalates,
    /// verifies, closes.
    Dispatcher,
    /// A handler of the department that holds it: signs for it, handles it, returns it.
    Department,
    /// Sees it, acts on nothing.
    Onlooker,
}

/// Who holds an event: its hops, oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Holding {
    pub hops: Vec<Hop>,
}

/// The kinds of hop.
pub const ESCALATE: &str = "escalate";
pub const SEND_BACK: &str = "send_back";
pub const DEPARTMENT: &str = "department";
pub const DEPARTMENT_RETURN: &str = "department_return";

impl Holding {
    pub fn last(&self) -> Option<&Hop> {
        self.hops.last()
    }

    /// The department that holds the event now.
    pub fn department(&self) -> Option<&str> {
        self.last().and_then(|h| h.department_id.as_deref())
    }

    pub fn standing(&self, who: &Principal) -> Standing {
        let dispatcher = who.department_id.is_none() && who.may(Action::EventsHandle);
        match self.last() {
            None if dispatcher => Standing::Dispatcher,
            None => Standing::Onlooker,
            Some(h) => {
                if h.department_id.is_some()
                    && h.department_id == who.department_id
                    && who.may(Action::DepartmentHandle)
                {
                    Standing::Department
                } else if dispatcher && who.sees_node(&h.node_id) {
                    Standing::Dispatcher
                } else {
                    Standing::Onlooker
                }
            }
        }
    }

    /// Where a 退回 of an escalated event goes: the node it was sent up from.
    pub fn sent_up_from(&self) -> Option<&str> {
        self.last()
            .filter(|h| h.kind == ESCALATE)
            .map(|h| h.from_node_id.as_str())
    }

    fn next_seq(&self) -> u32 {
        self.last().map_or(1, |h| h.seq + 1)
    }
}

/// An event as a hop finds it, in the hop's transaction.
struct Found {
    row: Row,
    status: EventStatus,
    holding: Holding,
}

fn text<'a>(row: &'a Row, key: &str) -> &'a str {
    row.fields
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn reason_checked(reason: &str) -> HubResult<String> {
    let r = reason.trim();
    if r.is_empty() || r.chars().count() > 2_000 {
        return Err(HubError::BadRequest(
            "a reason of 1 to 2,000 characters".into(),
        ));
    }
    Ok(r.to_string())
}

impl Hub {
    /// The hops of an event (none: held by its area).
    pub fn holding(&self, event_id: &str) -> HubResult<Holding> {
        Ok(Holding {
            hops: with_tx(self.store(), |tx| tx.hops(event_id))?,
        })
    }

    /// Inside a hop's transaction: the event, if `who` may take a step of `want` on it at
    /// the version the form showed.
    fn found(
        &self,
        tx: &mut dyn HubTx,
        who: &Principal,
        id: &str,
        want: Standing,
        expected: Option<&str>,
    ) -> HubResult<Found> {
        let missing = || HubError::NotFound(format!("event {id:.40}"));
        let row = tx
            .row(Entity::Event, id)?
            .filter(|r| !r.deleted)
            .ok_or_else(missing)?;
        who.require_grid(Some(text(&row, "grid_id")), &format!("event {id:.40}"))?;
        let holding = Holding { hops: tx.hops(id)? };
        let standing = holding.standing(who);
        if standing == Standing::Onlooker && want == Standing::Department {
            // A department that does not hold it does not see it either.
            if holding.department() != who.department_id.as_deref() {
                return Err(missing());
            }
        }
        if standing != want {
            return Err(HubError::Forbidden(
                "the event is held by another level or department".into(),
            ));
        }
        check_version(Some(&row), expected)?;
        let status = EventStatus::parse(text(&row, "status")).unwrap_or(EventStatus::Reported);
        Ok(Found {
            row,
            status,
            holding,
        })
    }

    /// The node an event is held at for `who`: its last hop's, or — with none — the
    /// account's own node when that is on the event's path, else the grid's parent.
    fn holding_node(tree: &OrgTree, who: &Principal, grid: &str, holding: &Holding) -> String {
        if let Some(h) = holding.last() {
            return h.node_id.clone();
        }
        let own = &who.actor.node_id;
        if tree.node(own).is_some() && tree.within(own, grid) {
            return own.clone();
        }
        tree.node(grid)
            .and_then(|g| g.parent_id.clone())
            .unwrap_or_else(|| grid.to_string())
    }

    /// Where an escalation of the event by `who` would go (none at the top of the tree).
    pub fn escalation_target(
        &self,
        who: &Principal,
        row: &Row,
        holding: &Holding,
    ) -> HubResult<Option<OrgNode>> {
        let tree = self.org()?;
        let base = Self::holding_node(&tree, who, text(row, "grid_id"), holding);
        Ok(tree
            .node(&base)
            .and_then(|n| n.parent_id.as_deref())
            .and_then(|p| tree.node(p))
            .cloned())
    }

    /// The departments `who` may dispatch the event to — those attached on its path
    /// (community, street, district …) within the account's area — the routed one for its
    /// 小类 first.
    pub fn departments_for_event(
        &self,
        who: &Principal,
        row: &Row,
    ) -> HubResult<Vec<(Department, bool)>> {
        let tree = self.org()?;
        let grid = text(row, "grid_id").to_string();
        let category = text(row, "category_code").to_string();
        let (deps, routing) = with_tx(self.store(), |tx| Ok((tx.departments()?, tx.routing()?)))?;
        let mut out: Vec<(Department, bool)> = deps
            .into_iter()
            .filter(|d| who.sees_node(&d.node_id) && tree.within(&d.node_id, &grid))
            .map(|d| {
                let routed = routing
                    .iter()
                    .any(|r| r.category_code == category && r.department_code == d.code);
                (d, routed)
            })
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.name.cmp(&b.0.name)));
        Ok(out)
    }

    /// 上报上级: send the event one level up with a reason. Returns the level's name.
    pub fn escalate_event(
        &self,
        who: &Principal,
        id: &str,
        reason: &str,
        expected: Option<&str>,
    ) -> HubResult<String> {
        who.require(Action::EventsHandle)?;
        let reason = reason_checked(reason)?;
        let tree = self.org()?;
        let (hlc, now) = (self.tick(), self.now_ms());
        let mut name = String::new();
        in_tx(self.store(), |tx| {
            let f = self.found(tx, who, id, Standing::Dispatcher, expected)?;
            let base = Self::holding_node(&tree, who, text(&f.row, "grid_id"), &f.holding);
            let target = tree
                .node(&base)
                .and_then(|n| n.parent_id.as_deref())
                .and_then(|p| tree.node(p))
                .ok_or_else(|| HubError::BadRequest("no level above this one".into()))?;
            if !f.status.can_become(EventStatus::Escalated) {
                return Err(HubError::BadRequest(format!(
                    "an event that is {} cannot be escalated",
                    f.status
                )));
            }
            name = target.name.clone();
            let note = format!("上报至{}：{reason}", target.name);
            self.hop_in(
                tx,
                who,
                &f,
                EventStatus::Escalated,
                &note,
                Hop {
                    event_id: id.into(),
                    seq: f.holding.next_seq(),
                    node_id: target.id.clone(),
                    department_id: None,
                    from_node_id: base,
                    kind: ESCALATE.into(),
                    reason: reason.clone(),
                    deadline_at: None,
                    actor: who.actor.name.clone(),
                    at_ms: now,
                },
                (&hlc, now),
            )
        })?;
        Ok(name)
    }

    /// 退回下级: an escalated event the upper level does not take goes back to the level
    /// that sent it up, accepted there again. Returns that level's name.
    pub fn send_back_event(
        &self,
        who: &Principal,
        id: &str,
        reason: &str,
        expected: Option<&str>,
    ) -> HubResult<String> {
        who.require(Action::EventsHandle)?;
        let reason = reason_checked(reason)?;
        let tree = self.org()?;
        let (hlc, now) = (self.tick(), self.now_ms());
        let mut name = String::new();
        in_tx(self.store(), |tx| {
            let f = self.found(tx, who, id, Standing::Dispatcher, expected)?;
            let from = match (f.status, f.holding.sent_up_from()) {
                (EventStatus::Escalated, Some(from)) => from.to_string(),
                _ => {
                    return Err(HubError::BadRequest(
                        "only an escalated event goes back down".into(),
                    ))
                }
            };
            let here = f
                .holding
                .last()
                .map(|h| h.node_id.clone())
                .unwrap_or_default();
            name = tree.node(&from).map(|n| n.name.clone()).unwrap_or_default();
            let note = format!("退回{name}：{reason}");
            self.hop_in(
                tx,
                who,
                &f,
                EventStatus::Accepted,
                &note,
                Hop {
                    event_id: id.into(),
                    seq: f.holding.next_seq(),
                    node_id: from,
                    department_id: None,
                    from_node_id: here,
                    kind: SEND_BACK.into(),
                    reason: reason.clone(),
                    deadline_at: None,
                    actor: who.actor.name.clone(),
                    at_ms: now,
                },
                (&hlc, now),
            )
        })?;
        Ok(name)
    }

    /// 派遣至部门: send the event to a department attached on its path, due after
    /// `deadline` or the catalog's deadline for its 小类. Returns the department's name.
    pub fn dispatch_to_department(
        &self,
        who: &Principal,
        id: &str,
        department_id: &str,
        deadline: Option<Deadline>,
        note: &str,
        expected: Option<&str>,
    ) -> HubResult<String> {
        who.require(Action::EventsHandle)?;
        let note = note.trim();
        if note.chars().count() > 2_000 {
            return Err(HubError::BadRequest(
                "a note of at most 2,000 characters".into(),
            ));
        }
        let tree = self.org()?;
        let row = self
            .row(Entity::Event, id)?
            .ok_or_else(|| HubError::NotFound(format!("event {id:.40}")))?;
        let dep = self
            .departments_for_event(who, &row)?
            .into_iter()
            .map(|(d, _)| d)
            .find(|d| d.id == department_id)
            .ok_or_else(|| {
                HubError::BadRequest(format!(
                    "department {department_id:.40} is not on this event's path in your area"
                ))
            })?;
        let (hlc, now) = (self.tick(), self.now_ms());
        let (_, due) = self.step_due(Some(text(&row, "category_code")), deadline, now)?;
        in_tx(self.store(), |tx| {
            let f = self.found(tx, who, id, Standing::Dispatcher, expected)?;
            if !f.status.can_become(EventStatus::Dispatched) {
                return Err(HubError::BadRequest(format!(
                    "an event that is {} cannot be dispatched",
                    f.status
                )));
            }
            let here = Self::holding_node(&tree, who, text(&f.row, "grid_id"), &f.holding);
            let step = if note.is_empty() {
                format!("派遣至{}", dep.name)
            } else {
                format!("派遣至{}：{note}", dep.name)
            };
            self.hop_in(
                tx,
                who,
                &f,
                EventStatus::Dispatched,
                &step,
                Hop {
                    event_id: id.into(),
                    seq: f.holding.next_seq(),
                    node_id: here.clone(),
                    department_id: Some(dep.id.clone()),
                    from_node_id: here,
                    kind: DEPARTMENT.into(),
                    reason: note.to_string(),
                    deadline_at: Some(due.clone()),
                    actor: who.actor.name.clone(),
                    at_ms: now,
                },
                (&hlc, now),
            )
        })?;
        Ok(dep.name)
    }

    /// The department's 处置完毕: its feedback, for the dispatchers to verify.
    pub fn department_handle(
        &self,
        who: &Principal,
        id: &str,
        feedback: &str,
        expected: Option<&str>,
    ) -> HubResult<()> {
        let feedback = reason_checked(feedback)?;
        self.department_step(who, id, expected, "handled", |tx, f, dep, (hlc, now)| {
            let note = format!("{dep}处置：{feedback}");
            self.step_in(tx, who, f, EventStatus::Handled, &note, hlc, now)
        })
    }

    /// The department's 退回: not its work; back to the dispatching level, accepted there.
    pub fn department_return(
        &self,
        who: &Principal,
        id: &str,
        reason: &str,
        expected: Option<&str>,
    ) -> HubResult<()> {
        let reason = reason_checked(reason)?;
        self.department_step(who, id, expected, "returned", |tx, f, dep, (hlc, now)| {
            let here = f
                .holding
                .last()
                .map(|h| h.node_id.clone())
                .unwrap_or_default();
            let note = format!("{dep}退回：{reason}");
            let hop = Hop {
                event_id: id.into(),
                seq: f.holding.next_seq(),
                node_id: here.clone(),
                department_id: None,
                from_node_id: here,
                kind: DEPARTMENT_RETURN.into(),
                reason: reason.clone(),
                deadline_at: None,
                actor: who.actor.name.clone(),
                at_ms: now,
            };
            self.hop_in(tx, who, f, EventStatus::Accepted, &note, hop, (hlc, now))
        })
    }

    /// The department's 签收: it has the event (a note on its timeline and in the audit
    /// log; the status stays 派遣).
    pub fn department_sign(
        &self,
        who: &Principal,
        id: &str,
        expected: Option<&str>,
    ) -> HubResult<()> {
        self.department_step(who, id, expected, "signed for", |tx, _, dep, _| {
            self.audit(
                tx,
                &who.actor,
                "event.note",
                &format!("event:{id}"),
                Value::Null,
                json!({ "note": format!("{dep}已签收") }),
            )
        })
    }

    /// A step of the department that holds a dispatched event, in one transaction: `step`
    /// gets the event as found, the department's name and the step's clock.
    fn department_step(
        &self,
        who: &Principal,
        id: &str,
        expected: Option<&str>,
        verb: &str,
        step: impl Fn(&mut dyn HubTx, &Found, &str, (&Hlc, u64)) -> HubResult<()>,
    ) -> HubResult<()> {
        who.require(Action::DepartmentHandle)?;
        let (hlc, now) = (self.tick(), self.now_ms());
        in_tx(self.store(), |tx| {
            let f = self.found(tx, who, id, Standing::Department, expected)?;
            if f.status != EventStatus::Dispatched {
                return Err(HubError::BadRequest(format!(
                    "an event that is {} cannot be {verb}",
                    f.status
                )));
            }
            let dep = self.department_name(tx, f.holding.department())?;
            step(tx, &f, &dep, (&hlc, now))
        })
    }

    fn department_name(&self, tx: &mut dyn HubTx, id: Option<&str>) -> HubResult<String> {
        Ok(match id {
            Some(id) => tx.department(id)?.map(|d| d.name).unwrap_or_default(),
            None => String::new(),
        })
    }

    /// A hop: the event's step, the hop and the audit line, in the caller's transaction.
    #[allow(clippy::too_many_arguments)]
    fn hop_in(
        &self,
        tx: &mut dyn HubTx,
        who: &Principal,
        f: &Found,
        next: EventStatus,
        note: &str,
        hop: Hop,
        (hlc, now): (&Hlc, u64),
    ) -> HubResult<()> {
        self.step_in(tx, who, f, next, note, hlc, now)?;
        crate::crash::point("handling.after_step");
        tx.add_hop(&hop).map_err(|e| match e {
            StoreError::Conflict(_) => {
                HubError::Conflict("the event changed since the form was loaded".into())
            }
            e => e.into(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn step_in(
        &self,
        tx: &mut dyn HubTx,
        who: &Principal,
        f: &Found,
        next: EventStatus,
        note: &str,
        hlc: &Hlc,
        now: u64,
    ) -> HubResult<()> {
        let id = f.row.row_id.clone();
        self.transition_in(tx, &id, next, &who.actor.name, note, hlc, now)?;
        self.audit(
            tx,
            &who.actor,
            &format!("event.{next}"),
            &format!("event:{id}"),
            json!({"status": f.status.as_str()}),
            json!({"status": next.as_str(), "note": note}),
        )
    }
}

//! 通知公告: the centre's notices and who has read them.
//!
//! A notice is for an audience: the devices under one node of the organisation tree — the
//! publishing account's whole area, or a node inside it — optionally only the devices of
//! one role there; the administrator's (command line, bootstrap token) without a node is
//! for every device. The audience is the notice's `area` field (`<node id>` or
//! `<node id>@<role>`) and, from it, the notice's scope ([`Scope::for_notice`]); a device
//! reads the notice scopes of every node from the top of the tree down to its grids
//! ([`crate::scopes::scopes_of`]), so a device outside the audience is never sent it.
//!
//! A device's role is that of the account it was enrolled for
//! ([`crate::scopes::device_role`]). Only
//! field staff accounts get devices, so field staff is the one role a notice can be
//! addressed to: the devices enrolled for a person, not those issued to a named holder
//! for a grid (which have no role).
//!
//! A device's read receipt is kept per device (`exchange/push.rs`) and accepted only for
//! a notice the device was sent; [`Hub::notices`] counts them ("read by N of M devices")
//! and [`Hub::notice_report`] names who has read a notice and who has not.

use crate::authz::{Action, Area, Principal};
use crate::hub::{fields_of, in_tx, rfc3339_ms, Hub, HubError, HubResult};
use crate::org::OrgTree;
use crate::scopes::scopes_of;
use gridhub_store::{with_tx, DeviceRecord, DeviceStatus, Role, Row, Scope};
use gridpad_proto::Entity;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

/// What separates a notice's id from the device's in the id of its read receipt.
const RECEIPT: &str = "#read#";

/// A notice to publish.
#[derive(Clone, Copy, Debug)]
pub struct NewNotice<'a> {
    pub title: &'a str,
    pub body: &'a str,
    /// A node (id or code) inside the publisher's area; none: the whole area (for the
    /// administrator: every device).
    pub node: Option<&'a str>,
    /// Only the devices of this role under the node.
    pub role: Option<Role>,
}

/// A notice as the centre lists it.
#[derive(Clone, Debug)]
pub struct NoticeView {
    pub id: String,
    pub title: String,
    pub body: String,
    pub published_at: String,
    /// The node it is for (none: every device).
    pub node: Option<String>,
    pub role: Option<Role>,
    /// Devices (of the reader's area) that have read it, and that it is for.
    pub read: usize,
    pub recipients: usize,
}

/// One device a notice is for.
#[derive(Clone, Debug)]
pub struct Recipient {
    pub device_id: String,
    pub label: String,
    /// The holder: the person or account it was enrolled for.
    pub user: String,
    pub grids: Vec<String>,
    /// When the device said it was read (RFC 3339), if it did.
    pub read_at: Option<String>,
}

/// A notice with its recipients (of the reader's area): who has read it, who has not.
#[derive(Clone, Debug)]
pub struct NoticeReport {
    pub notice: NoticeView,
    /// Newest reading first.
    pub read: Vec<Recipient>,
    pub unread: Vec<Recipient>,
}

fn text(r: &Row, k: &str) -> String {
    r.fields
        .get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Whether the notice reaches into `who`'s area: it is for everyone, for a node in the
/// area, or for a node above it.
fn reaches(who: &Principal, tree: &OrgTree, node: Option<&str>) -> bool {
    match (node, &who.area) {
        (None, _) | (_, Area::Everywhere) => true,
        (Some(n), Area::Subtree { .. }) => who.sees_node(n) || tree.within(n, &who.actor.node_id),
    }
}

/// The notices, their read receipts (notice id → device id → read at), and the devices
/// with the scopes each reads.
struct Notices {
    notices: Vec<Row>,
    receipts: HashMap<String, HashMap<String, String>>,
    devices: Vec<(DeviceRecord, HashSet<Scope>)>,
}

impl Hub {
    /// Publish a notice to the whole of `who`'s area (the administrator's: every device).
    pub fn create_notice(&self, who: &Principal, title: &str, body: &str) -> HubResult<String> {
        self.publish_notice(
            who,
            &NewNotice {
                title,
                body,
                node: None,
                role: None,
            },
        )
    }

    /// Publish a notice to its audience: a node inside `who`'s area (refused outside it,
    /// as if the node did not exist), optionally only the devices of a role there.
    pub fn publish_notice(&self, who: &Principal, n: &NewNotice<'_>) -> HubResult<String> {
        who.require(Action::NoticesWrite)?;
        let tree = self.org()?;
        let node = match n.node.map(str::trim) {
            Some(given) => {
                let found = tree
                    .find(given)
                    .filter(|node| who.sees_node(&node.id))
                    .ok_or_else(|| HubError::NotFound(format!("node {given:.40}")))?;
                Some(found.id.clone())
            }
            None => match &who.area {
                Area::Everywhere => None,
                Area::Subtree { .. } => Some(who.actor.node_id.clone()),
            },
        };
        let audience = match (&node, n.role) {
            (_, Some(r)) if r != Role::FieldStaff => {
                return Err(HubError::BadRequest(format!(
                    "no device has the role {}: devices are enrolled for field staff only",
                    r.as_str()
                )))
            }
            (None, Some(_)) => {
                return Err(HubError::BadRequest(
                    "a notice for a role names the node it is for".into(),
                ))
            }
            (Some(node), Some(r)) => format!("{node}@{}", r.as_str()),
            (Some(node), None) => node.clone(),
            (None, None) => String::new(),
        };
        let id = uuid::Uuid::now_v7().to_string();
        let hlc = self.tick();
        let fields = fields_of(json!({
            "title": n.title.trim(), "body": n.body.trim(),
            "published_at": rfc3339_ms(self.now_ms()), "area": audience,
        }));
        in_tx(self.store(), |tx| {
            self.central_write(tx, Entity::Notice, &id, fields.clone(), &hlc, None)?;
            self.audit(
                tx,
                &who.actor,
                "notice.publish",
                &format!("notice:{id}"),
                Value::Null,
                json!(fields),
            )
        })?;
        Ok(id)
    }

    fn notice_rows(&self, tree: &OrgTree) -> HubResult<Notices> {
        let (rows, devices) = with_tx(self.store(), |tx| {
            Ok((tx.rows(Entity::Notice, 10_000_000)?, tx.devices()?))
        })?;
        let mut notices = vec![];
        let mut receipts: HashMap<String, HashMap<String, String>> = HashMap::new();
        for r in rows.into_iter().filter(|r| !r.deleted) {
            match r.row_id.split_once(RECEIPT) {
                Some((notice, device)) => {
                    let at = text(&r, "read_at");
                    if !at.is_empty() {
                        receipts
                            .entry(notice.to_string())
                            .or_default()
                            .insert(device.to_string(), at);
                    }
                }
                None => notices.push(r),
            }
        }
        let devices = devices
            .into_iter()
            .map(|d| {
                let reads = scopes_of(&d, tree).into_iter().collect();
                (d, reads)
            })
            .collect();
        Ok(Notices {
            notices,
            receipts,
            devices,
        })
    }

    /// The recipients of a notice that `who` sees: the devices of its area it is for (not
    /// wiped), and any device of its area that has read it.
    fn recipients(who: &Principal, all: &Notices, notice: &Row) -> (NoticeView, Vec<Recipient>) {
        let read = all.receipts.get(&notice.row_id);
        let mut out = vec![];
        for (d, reads) in all
            .devices
            .iter()
            .filter(|(d, _)| who.sees_any_grid(&d.grids))
        {
            let read_at = read.and_then(|m| m.get(&d.device_id)).cloned();
            let sent = d.status != DeviceStatus::Wiped && reads.contains(&notice.scope);
            if sent || read_at.is_some() {
                out.push(Recipient {
                    device_id: d.device_id.clone(),
                    label: d.label.clone(),
                    user: d.user.clone(),
                    grids: d.grids.clone(),
                    read_at,
                });
            }
        }
        let (node, role) = match &notice.scope {
            Scope::NodeNotices { node, role } => {
                (Some(node.clone()), role.as_deref().and_then(Role::parse))
            }
            _ => (None, None),
        };
        let view = NoticeView {
            id: notice.row_id.clone(),
            title: text(notice, "title"),
            body: text(notice, "body"),
            published_at: text(notice, "published_at"),
            node,
            role,
            read: out.iter().filter(|r| r.read_at.is_some()).count(),
            recipients: out.len(),
        };
        (view, out)
    }

    /// The notices that reach into `who`'s area, newest first, with how many of the area's
    /// devices they are for have read them.
    pub fn notices(&self, who: &Principal) -> HubResult<Vec<NoticeView>> {
        who.require(Action::NoticesWrite)?;
        let tree = self.org()?;
        let all = self.notice_rows(&tree)?;
        let mut out: Vec<NoticeView> = all
            .notices
            .iter()
            .map(|n| Self::recipients(who, &all, n).0)
            .filter(|v| reaches(who, &tree, v.node.as_deref()))
            .collect();
        out.sort_by(|a, b| (&b.published_at, &b.id).cmp(&(&a.published_at, &a.id)));
        Ok(out)
    }

    /// One notice that reaches into `who`'s area, with the area's devices it is for: who
    /// has read it (and when), who has not. Another area's notice is "not found".
    pub fn notice_report(&self, who: &Principal, id: &str) -> HubResult<NoticeReport> {
        who.require(Action::NoticesWrite)?;
        let tree = self.org()?;
        let all = self.notice_rows(&tree)?;
        let not_found = || HubError::NotFound(format!("notice {id:.40}"));
        let row = all
            .notices
            .iter()
            .find(|n| n.row_id == id)
            .ok_or_else(not_found)?;
        let (notice, recipients) = Self::recipients(who, &all, row);
        if !reaches(who, &tree, notice.node.as_deref()) {
            return Err(not_found());
        }
        let (mut read, mut unread): (Vec<_>, Vec<_>) =
            recipients.into_iter().partition(|r| r.read_at.is_some());
        read.sort_by(|a, b| b.read_at.cmp(&a.read_at));
        unread.sort_by(|a, b| (&a.user, &a.device_id).cmp(&(&b.user, &b.device_id)));
        Ok(NoticeReport {
            notice,
            read,
            unread,
        })
    }
}

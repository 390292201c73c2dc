//! The organisation tree: 市 → 区 → 镇/街道 → 村/社区 → 网格, the grids its leaves. A
//! deployment uses four or five of these levels; a node's parent is at a higher level. The
//! nodes are the synced `grid` records (devices keep the tree from the district down), so
//! the tree is edited through the centre's checked writes and reaches devices like any
//! central change. Imported from CSV or JSON lines (`docs/org-import.md`), edited through
//! the admin CLI and API; every edit is audited. An account's area is its node's subtree.

use crate::authz::{Action, Principal};
use crate::hub::{fields_of, in_tx, Hub, HubError, HubResult};
use gridhub_store::*;
use gridpad_domain::codes::GridLevel;
use gridpad_proto::Entity;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// One node as the centre sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrgNode {
    pub id: String,
    /// Administrative code (行政区划代码 / 网格编码), unique.
    pub code: String,
    pub name: String,
    pub level: GridLevel,
    pub parent_id: Option<String>,
    pub has_boundary: bool,
}

fn level_rank(l: GridLevel) -> u8 {
    match l {
        GridLevel::City => 0,
        GridLevel::District => 1,
        GridLevel::Street => 2,
        GridLevel::Community => 3,
        GridLevel::Grid => 4,
        GridLevel::MicroGrid => 5,
    }
}

/// The whole tree, read once and shared until it changes.
#[derive(Debug, Default)]
pub struct OrgTree {
    pub nodes: HashMap<String, OrgNode>,
    children: HashMap<String, Vec<String>>,
    by_code: HashMap<String, String>,
}

impl OrgTree {
    fn from_rows(rows: Vec<Row>) -> OrgTree {
        let mut t = OrgTree::default();
        for r in rows.into_iter().filter(|r| !r.deleted) {
            let f = |k: &str| r.fields.get(k).and_then(Value::as_str).map(str::to_string);
            let Some(level) = f("level").as_deref().and_then(GridLevel::parse) else {
                continue;
            };
            let n = OrgNode {
                id: r.row_id.clone(),
                code: f("code").unwrap_or_default(),
                name: f("name").unwrap_or_default(),
                level,
                parent_id: f("parent_id"),
                has_boundary: r.fields.get("boundary").is_some_and(|b| !b.is_null()),
            };
            if let Some(p) = &n.parent_id {
                t.children.entry(p.clone()).or_default().push(n.id.clone());
            }
            t.by_code.insert(n.code.clone(), n.id.clone());
            t.nodes.insert(n.id.clone(), n);
        }
        for c in t.children.values_mut() {
            c.sort();
        }
        t
    }

    pub fn node(&self, id: &str) -> Option<&OrgNode> {
        self.nodes.get(id)
    }

    /// A node by id or code.
    pub fn find(&self, id_or_code: &str) -> Option<&OrgNode> {
        self.nodes.get(id_or_code).or_else(|| {
            self.by_code
                .get(id_or_code)
                .and_then(|id| self.nodes.get(id))
        })
    }

    pub fn children(&self, id: &str) -> &[String] {
        self.children.get(id).map(Vec::as_slice).unwrap_or_default()
    }

    /// The roots (nodes without a parent in the tree).
    pub fn roots(&self) -> Vec<&OrgNode> {
        let mut r: Vec<_> = self
            .nodes
            .values()
            .filter(|n| {
                n.parent_id
                    .as_ref()
                    .is_none_or(|p| !self.nodes.contains_key(p))
            })
            .collect();
        r.sort_by(|a, b| a.code.cmp(&b.code));
        r
    }

    /// `id` and every node below it.
    pub fn subtree(&self, id: &str) -> HashSet<String> {
        let mut out = HashSet::new();
        let mut stack = vec![id.to_string()];
        while let Some(n) = stack.pop() {
            if out.insert(n.clone()) {
                stack.extend(self.children(&n).iter().cloned());
            }
        }
        out
    }

    /// Whether `node` is `ancestor` or below it.
    pub fn within(&self, ancestor: &str, node: &str) -> bool {
        let mut cur = Some(node.to_string());
        let mut steps = 0;
        while let Some(c) = cur {
            if c == ancestor {
                return true;
            }
            steps += 1;
            if steps > 64 {
                return false;
            }
            cur = self.nodes.get(&c).and_then(|n| n.parent_id.clone());
        }
        false
    }

    /// The grids (leaves of level `grid`) under `id`.
    pub fn grids_under(&self, id: &str) -> Vec<String> {
        let mut g: Vec<String> = self
            .subtree(id)
            .into_iter()
            .filter(|n| {
                self.nodes
                    .get(n)
                    .is_some_and(|n| n.level == GridLevel::Grid)
            })
            .collect();
        g.sort();
        g
    }

    /// From the root down to `id`.
    pub fn path(&self, id: &str) -> Vec<&OrgNode> {
        let mut p = vec![];
        let mut cur = self.nodes.get(id);
        while let Some(n) = cur {
            p.push(n);
            if p.len() > 64 {
                break;
            }
            cur = n.parent_id.as_ref().and_then(|x| self.nodes.get(x));
        }
        p.reverse();
        p
    }
}

/// A node to add or change, as an import line or an API body gives it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeInput {
    pub code: String,
    pub name: String,
    pub level: String,
    /// The parent's code (or id); empty for a root.
    #[serde(default)]
    pub parent: String,
    /// `[[[lon, lat], …], …]` WGS-84, optional.
    #[serde(default)]
    pub boundary: Option<Value>,
}

impl Hub {
    /// The organisation tree (cached; a change through this hub refreshes it at once, a
    /// change by another process within a few seconds).
    pub fn org(&self) -> HubResult<Arc<OrgTree>> {
        let now = self.now_ms();
        let mut cache = self.org_cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, t)) = cache.as_ref() {
            if now.saturating_sub(*at) < 3_000 {
                return Ok(t.clone());
            }
        }
        let rows = with_tx(self.store(), |tx| tx.rows(Entity::Grid, 1_000_000))?;
        let t = Arc::new(OrgTree::from_rows(rows));
        *cache = Some((now, t.clone()));
        Ok(t)
    }

    /// The nodes of `who`'s area, from the top down (by level, then code).
    pub fn org_view(&self, who: &Principal) -> HubResult<Vec<OrgNode>> {
        who.require(Action::OrgRead)?;
        let tree = self.org()?;
        let mut v: Vec<OrgNode> = tree
            .nodes
            .values()
            .filter(|n| who.sees_node(&n.id))
            .cloned()
            .collect();
        v.sort_by(|a, b| (level_rank(a.level), &a.code).cmp(&(level_rank(b.level), &b.code)));
        Ok(v)
    }

    pub(crate) fn org_changed(&self) {
        *self.org_cache.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Check one node against the tree as it will be: known level, unique code, a parent
    /// that exists at a higher level, no cycle. Returns the node's fields.
    fn node_fields(
        &self,
        tree: &OrgTree,
        pending: &HashMap<String, (String, GridLevel)>,
        id: &str,
        n: &NodeInput,
    ) -> HubResult<gridpad_proto::Fields> {
        let level = GridLevel::parse(n.level.trim()).ok_or_else(|| {
            HubError::BadRequest(format!(
                "{}: unknown level {:.20} (one of {})",
                n.code,
                n.level,
                GridLevel::CODES.join(", ")
            ))
        })?;
        if n.code.trim().is_empty() || n.name.trim().is_empty() {
            return Err(HubError::BadRequest(
                "a node needs a code and a name".into(),
            ));
        }
        if let Some(other) = tree.find(&n.code).map(|o| o.id.clone()).or_else(|| {
            pending
                .iter()
                .find(|(c, (pid, _))| **c == n.code && pid != id)
                .map(|(_, (pid, _))| pid.clone())
        }) {
            if other != id {
                return Err(HubError::Conflict(format!("the code {} is taken", n.code)));
            }
        }
        let parent = if n.parent.trim().is_empty() {
            None
        } else {
            let (pid, plevel) = match tree.find(n.parent.trim()) {
                Some(p) => (p.id.clone(), p.level),
                None => pending.get(n.parent.trim()).cloned().ok_or_else(|| {
                    HubError::BadRequest(format!("{}: unknown parent {:.40}", n.code, n.parent))
                })?,
            };
            if level_rank(plevel) >= level_rank(level) {
                return Err(HubError::BadRequest(format!(
                    "{}: a {level} cannot sit under a {plevel}",
                    n.code
                )));
            }
            if pid == id || tree.within(id, &pid) {
                return Err(HubError::BadRequest(format!(
                    "{}: moving it under {} would make a cycle",
                    n.code, n.parent
                )));
            }
            Some(pid)
        };
        if let Some(child) = tree
            .children(id)
            .iter()
            .filter_map(|c| tree.node(c))
            .find(|c| level_rank(c.level) <= level_rank(level))
        {
            return Err(HubError::BadRequest(format!(
                "{}: a {level} cannot have the {} {} under it",
                n.code, child.level, child.code
            )));
        }
        let mut f = fields_of(json!({
            "code": n.code.trim(), "name": n.name.trim(), "level": level.as_str(), "parent_id": parent,
        }));
        if let Some(b) = &n.boundary {
            f.insert("boundary".into(), b.clone());
        }
        Ok(f)
    }

    /// Add or change nodes (an import, or one edit): all or nothing, in input order, so a
    /// parent can come in the same batch as its children. Returns the nodes' ids.
    pub fn put_nodes(&self, who: &Principal, nodes: &[NodeInput]) -> HubResult<Vec<String>> {
        who.require(Action::OrgWrite)?;
        let actor = &who.actor;
        let tree = self.org()?;
        let hlc = self.tick();
        let mut seen = HashSet::new();
        if let Some(dup) = nodes.iter().find(|n| !seen.insert(n.code.trim())) {
            return Err(HubError::Conflict(format!(
                "the code {} is in the import twice",
                dup.code.trim()
            )));
        }
        let mut pending: HashMap<String, (String, GridLevel)> = HashMap::new();
        let ids = in_tx(self.store(), |tx| {
            pending.clear();
            let mut ids = vec![];
            for (i, n) in nodes.iter().enumerate() {
                let id = tree
                    .find(&n.code)
                    .map(|o| o.id.clone())
                    .or_else(|| pending.get(&n.code).map(|p| p.0.clone()))
                    .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
                let fields = self
                    .node_fields(&tree, &pending, &id, n)
                    .map_err(|e| HubError::BadRequest(format!("line {}: {e}", i + 1)))?;
                // Inside the area: the node itself when it exists, its parent when new.
                let anchor = match (
                    tree.node(&id),
                    fields.get("parent_id").and_then(Value::as_str),
                ) {
                    (Some(_), _) => Some(id.clone()),
                    (None, Some(p)) => Some(p.to_string()),
                    (None, None) => None,
                };
                let inside = match &anchor {
                    Some(a) => who.sees_node(a) || pending.values().any(|(pid, _)| pid == a),
                    None => who.role.is_none(),
                };
                if !inside {
                    return Err(HubError::Forbidden(format!(
                        "line {}: outside this account's area",
                        i + 1
                    )));
                }
                let before = tx.row(Entity::Grid, &id)?.map(|r| json!(r.fields));
                let level = GridLevel::parse(n.level.trim()).expect("checked");
                pending.insert(n.code.trim().to_string(), (id.clone(), level));
                self.central_write(tx, Entity::Grid, &id, fields.clone(), &hlc, None)
                    .map_err(|e| HubError::BadRequest(format!("line {}: {e}", i + 1)))?;
                self.audit(
                    tx,
                    actor,
                    if before.is_some() {
                        "org.update"
                    } else {
                        "org.add"
                    },
                    &format!("node:{}", n.code),
                    before.unwrap_or(Value::Null),
                    json!(fields),
                )?;
                ids.push(id);
            }
            Ok(ids)
        })?;
        self.org_changed();
        Ok(ids)
    }

    /// Remove a node with nothing under it and nobody bound to it.
    pub fn remove_node(&self, who: &Principal, id_or_code: &str) -> HubResult<()> {
        who.require(Action::OrgWrite)?;
        let actor = &who.actor;
        let tree = self.org()?;
        let node = tree
            .find(id_or_code)
            .filter(|n| who.sees_node(&n.id))
            .cloned()
            .ok_or_else(|| HubError::NotFound(format!("node {id_or_code:.40}")))?;
        if !tree.children(&node.id).is_empty() {
            return Err(HubError::Conflict(format!(
                "{} has nodes under it; move or remove them first",
                node.code
            )));
        }
        let hlc = self.tick();
        in_tx(self.store(), |tx| {
            if tx.accounts()?.iter().any(|a| a.node_id == node.id) {
                return Err(HubError::Conflict(format!(
                    "accounts are bound to {}; move them first",
                    node.code
                )));
            }
            if tx.devices()?.iter().any(|d| d.grids.contains(&node.id)) {
                return Err(HubError::Conflict(format!(
                    "devices work in {}; move them first",
                    node.code
                )));
            }
            let mut row = tx
                .row(Entity::Grid, &node.id)?
                .ok_or_else(|| HubError::NotFound(node.code.clone()))?;
            row.deleted = true;
            tx.put_row(&row)?;
            if row.scope.is_pulled() {
                tx.append_op(
                    &row.scope,
                    Entity::Grid,
                    &node.id,
                    &gridpad_proto::wire::OpKind::Remove,
                    &Default::default(),
                    &hlc,
                )?;
            }
            self.audit(
                tx,
                actor,
                "org.remove",
                &format!("node:{}", node.code),
                json!(row.fields),
                Value::Null,
            )
        })?;
        self.org_changed();
        Ok(())
    }
}

/// Read an import file: CSV with a header `code,name,level,parent[,boundary]` or JSON lines
/// of [`NodeInput`], told apart by the first character.
pub fn parse_import(text: &str) -> HubResult<Vec<NodeInput>> {
    let body = text.trim_start_matches('\u{feff}').trim_start();
    if body.starts_with('{') {
        return body
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l)
                    .map_err(|e| HubError::BadRequest(format!("line {}: {e}", i + 1)))
            })
            .collect();
    }
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(body.as_bytes());
    let mut out = vec![];
    for (i, rec) in r.deserialize::<NodeCsv>().enumerate() {
        let rec = rec.map_err(|e| HubError::BadRequest(format!("line {}: {e}", i + 2)))?;
        let boundary = match rec.boundary.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(b) => Some(
                serde_json::from_str(b)
                    .map_err(|e| HubError::BadRequest(format!("line {}: boundary: {e}", i + 2)))?,
            ),
        };
        out.push(NodeInput {
            code: rec.code,
            name: rec.name,
            level: rec.level,
            parent: rec.parent.unwrap_or_default(),
            boundary,
        });
    }
    Ok(out)
}

#[derive(Deserialize)]
struct NodeCsv {
    code: String,
    name: String,
    level: String,
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    boundary: Option<String>,
}

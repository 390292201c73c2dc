//! 职能部门 — departments attached at a node (公安, 城管, 消防 …) — and the catalog's routing:
//! which department handles which 小类 at which level of the tree.

use crate::authz::{Action, Principal};
use crate::hub::{in_tx, Hub, HubError, HubResult};
use gridhub_store::*;
use gridpad_domain::codes::GridLevel;
use gridpad_proto::Entity;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewDepartment {
    pub code: String,
    pub name: String,
    /// Node id or code.
    pub node: String,
}

impl Hub {
    pub fn add_department(&self, who: &Principal, d: &NewDepartment) -> HubResult<Department> {
        who.require(Action::DepartmentsWrite)?;
        let code = d.code.trim();
        if code.is_empty()
            || code.len() > 32
            || d.name.trim().is_empty()
            || d.name.chars().count() > 64
        {
            return Err(HubError::BadRequest(
                "a department needs a code (≤ 32) and a name (≤ 64)".into(),
            ));
        }
        let tree = self.org()?;
        let node = tree
            .find(d.node.trim())
            .ok_or_else(|| HubError::BadRequest(format!("unknown node {:.40}", d.node)))?;
        if !who.sees_node(&node.id) {
            return Err(HubError::NotFound(format!("node {:.40}", d.node)));
        }
        let dep = Department {
            id: uuid::Uuid::now_v7().to_string(),
            code: code.to_string(),
            name: d.name.trim().to_string(),
            node_id: node.id.clone(),
        };
        in_tx(self.store(), |tx| {
            tx.put_department(&dep).map_err(|e| match e {
                StoreError::Conflict(_) => {
                    HubError::Conflict(format!("{} already has a department {code}", node.code))
                }
                e => e.into(),
            })?;
            self.audit(
                tx,
                &who.actor,
                "department.add",
                &format!("department:{code}"),
                Value::Null,
                json!(dep),
            )
        })?;
        Ok(dep)
    }

    /// The departments `who` sees (those attached in its area).
    pub fn departments(&self, who: &Principal) -> HubResult<Vec<Department>> {
        who.require(Action::OrgRead)?;
        Ok(with_tx(self.store(), |tx| tx.departments())?
            .into_iter()
            .filter(|d| who.sees_node(&d.node_id))
            .collect())
    }

    /// Set which department handles `category` (a 小类) at each level.
    pub fn set_routing(
        &self,
        who: &Principal,
        category: &str,
        rules: &[(String, String)],
    ) -> HubResult<()> {
        who.require(Action::CatalogWrite)?;
        in_tx(self.store(), |tx| {
            let cat = tx
                .row(Entity::CatalogCategory, category)?
                .filter(|r| !r.deleted)
                .ok_or_else(|| HubError::BadRequest(format!("unknown category {category:.32}")))?;
            if cat.fields.get("level").and_then(Value::as_i64) != Some(2) {
                return Err(HubError::BadRequest(format!("{category} is not a 小类")));
            }
            let known: Vec<String> = tx.departments()?.into_iter().map(|d| d.code).collect();
            let mut out = vec![];
            for (level, dep) in rules {
                if GridLevel::parse(level).is_none() {
                    return Err(HubError::BadRequest(format!("unknown level {level:.20}")));
                }
                if !known.contains(dep) {
                    return Err(HubError::BadRequest(format!(
                        "unknown department {dep:.32}"
                    )));
                }
                out.push(RoutingRule {
                    category_code: category.to_string(),
                    level: level.clone(),
                    department_code: dep.clone(),
                });
            }
            let before: Vec<_> = tx
                .routing()?
                .into_iter()
                .filter(|r| r.category_code == category)
                .collect();
            tx.put_routing(category, &out).map_err(|e| match e {
                StoreError::Conflict(_) => HubError::BadRequest("one department per level".into()),
                e => e.into(),
            })?;
            self.audit(
                tx,
                &who.actor,
                "catalog.routing",
                &format!("category:{category}"),
                json!(before),
                json!(out),
            )
        })
    }

    pub fn routing(&self, who: &Principal) -> HubResult<Vec<RoutingRule>> {
        who.require(Action::OrgRead)?;
        Ok(with_tx(self.store(), |tx| tx.routing())?)
    }
}

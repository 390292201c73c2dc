//! The audit log: every centre action and every administrator call — who (account, role,
//! node), what, on what, before and after, when, from which address — appended in the same
//! transaction as the action, and chained: each line's hash covers the previous line's, so
//! an edited or removed line breaks the chain ([`Hub::verify_audit`]). The SQLite backend
//! also refuses updates and deletes of the table. Kept for good (网络安全法 §21 asks for at
//! least six months). Passwords, tokens and identity numbers never enter it ([`redact`]).

use crate::hub::{sha256_hex, Hub, HubError, HubResult};
use gridhub_store::*;
use serde::Serialize;
use serde_json::{json, Value};

/// Who acts: an account, the administrator's token, or the hub machine's command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// Account id, `admin-token:<label>` or `cli:<user>`.
    pub id: String,
    pub name: String,
    pub role: String,
    pub node_id: String,
    /// Where the request came from (IP address), `cli` for the command line.
    pub address: String,
}

impl Actor {
    /// The hub machine's command line (the bootstrap path): the system's own user.
    pub fn cli() -> Actor {
        let user = std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "root".into());
        Actor {
            id: format!("cli:{user}"),
            name: user,
            role: "system".into(),
            node_id: String::new(),
            address: "cli".into(),
        }
    }

    /// A device, for what the hub records about it on its own (a device ahead of a
    /// restored hub …).
    pub fn device(d: &gridhub_store::DeviceRecord) -> Actor {
        Actor {
            id: format!("device:{}", d.device_id),
            name: d.label.chars().take(64).collect(),
            role: "device".into(),
            node_id: String::new(),
            address: "device".into(),
        }
    }
}

const SECRET_KEYS: &[&str] = &[
    "password",
    "password_hash",
    "token",
    "totp_secret",
    "csrf",
    "code",
];

/// A value fit for the log: secrets hidden, identity numbers masked, long text cut.
pub fn redact(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let v = if SECRET_KEYS.contains(&k.as_str()) {
                        json!("[hidden]")
                    } else if k == "id_number" {
                        match v.as_str() {
                            Some(s) => json!(gridpad_domain::checks::id_number::masked(s)),
                            None => v.clone(),
                        }
                    } else {
                        redact(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redact).collect()),
        Value::String(s) if s.chars().count() > 500 => {
            json!(format!("{}…", s.chars().take(500).collect::<String>()))
        }
        v => v.clone(),
    }
}

/// The hash of a line: its content and the previous line's hash.
fn line_hash(e: &AuditEntry) -> String {
    #[derive(Serialize)]
    struct Content<'a> {
        seq: u64,
        at_ms: u64,
        actor: &'a str,
        actor_name: &'a str,
        role: &'a str,
        node_id: &'a str,
        action: &'a str,
        target: &'a str,
        before: &'a Value,
        after: &'a Value,
        address: &'a str,
        prev_hash: &'a str,
    }
    let c = Content {
        seq: e.seq,
        at_ms: e.at_ms,
        actor: &e.actor,
        actor_name: &e.actor_name,
        role: &e.role,
        node_id: &e.node_id,
        action: &e.action,
        target: &e.target,
        before: &e.before,
        after: &e.after,
        address: &e.address,
        prev_hash: &e.prev_hash,
    };
    sha256_hex(&serde_json::to_vec(&c).expect("audit line serialises"))
}

/// Where the chain breaks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditBreak {
    pub seq: u64,
    pub what: String,
}

/// What a search of the log asks for.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub since_ms: Option<u64>,
    pub until_ms: Option<u64>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub limit: usize,
}

impl Hub {
    /// Append a line for `action` on `target` by `actor`, in the caller's transaction.
    pub(crate) fn audit(
        &self,
        tx: &mut dyn HubTx,
        actor: &Actor,
        action: &str,
        target: &str,
        before: Value,
        after: Value,
    ) -> HubResult<()> {
        let tail = tx.audit_tail()?;
        let mut e = AuditEntry {
            seq: tail.as_ref().map_or(1, |t| t.seq + 1),
            at_ms: self.now_ms(),
            actor: actor.id.clone(),
            actor_name: actor.name.clone(),
            role: actor.role.clone(),
            node_id: actor.node_id.clone(),
            action: action.to_string(),
            target: target.to_string(),
            before: redact(&before),
            after: redact(&after),
            address: actor.address.clone(),
            prev_hash: tail.map_or_else(|| "0".repeat(64), |t| t.hash),
            hash: String::new(),
        };
        e.hash = line_hash(&e);
        tx.append_audit(&e)?;
        Ok(())
    }

    /// Audit an action that wrote nothing to the hub's database (a bundle file …), in a
    /// transaction of its own.
    pub fn audit_alone(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
        after: Value,
    ) -> HubResult<()> {
        crate::hub::in_tx(self.store(), |tx| {
            self.audit(tx, actor, action, target, Value::Null, after.clone())
        })
    }

    /// Lines of the log matching `q`, oldest first.
    pub fn audit_log(&self, q: &AuditQuery) -> HubResult<Vec<AuditEntry>> {
        let limit = if q.limit == 0 {
            1_000
        } else {
            q.limit.min(100_000)
        };
        let mut out = vec![];
        let mut after = 0;
        loop {
            let page = with_tx(self.store(), |tx| tx.audit_after(after, 5_000))?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            out.extend(page.into_iter().filter(|e| {
                q.since_ms.is_none_or(|s| e.at_ms >= s)
                    && q.until_ms.is_none_or(|u| e.at_ms < u)
                    && q.actor
                        .as_ref()
                        .is_none_or(|a| e.actor == *a || e.actor_name == *a)
                    && q.action
                        .as_ref()
                        .is_none_or(|a| e.action.starts_with(a.as_str()))
                    && q.target.as_ref().is_none_or(|t| e.target == *t)
            }));
            if out.len() >= limit {
                out.truncate(limit);
                break;
            }
        }
        Ok(out)
    }

    /// Walk the whole chain: `Ok(lines)` when every line is intact and in sequence, or
    /// where it breaks (an edited line, a removed one, a line out of order).
    pub fn verify_audit(&self) -> HubResult<Result<u64, AuditBreak>> {
        let mut after = 0;
        let mut prev = "0".repeat(64);
        loop {
            let page = with_tx(self.store(), |tx| tx.audit_after(after, 5_000))?;
            if page.is_empty() {
                return Ok(Ok(after));
            }
            for e in page {
                let broken = |what: &str| {
                    Ok(Err(AuditBreak {
                        seq: e.seq,
                        what: what.to_string(),
                    }))
                };
                if e.seq != after + 1 {
                    return broken(&format!("line {} is missing", after + 1));
                }
                if e.prev_hash != prev {
                    return broken("does not follow the line before it");
                }
                if line_hash(&e) != e.hash {
                    return broken("was changed after it was written");
                }
                prev = e.hash.clone();
                after = e.seq;
            }
        }
    }
}

/// Audit lines as CSV (for an export).
pub fn to_csv(lines: &[AuditEntry]) -> HubResult<String> {
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record([
        "seq",
        "at",
        "actor",
        "actor_name",
        "role",
        "node",
        "action",
        "target",
        "before",
        "after",
        "address",
        "hash",
    ])
    .map_err(|e| HubError::BadRequest(e.to_string()))?;
    for e in lines {
        w.write_record([
            e.seq.to_string(),
            crate::hub::rfc3339_ms(e.at_ms),
            e.actor.clone(),
            e.actor_name.clone(),
            e.role.clone(),
            e.node_id.clone(),
            e.action.clone(),
            e.target.clone(),
            e.before.to_string(),
            e.after.to_string(),
            e.address.clone(),
            e.hash.clone(),
        ])
        .map_err(|e| HubError::BadRequest(e.to_string()))?;
    }
    String::from_utf8(
        w.into_inner()
            .map_err(|e| HubError::BadRequest(e.to_string()))?,
    )
    .map_err(|e| HubError::BadRequest(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_identity_numbers_never_reach_the_log() {
        let v = json!({"password": "Secret-123456", "id_number": "11010519491231002X",
            "nested": {"token": "abc", "name": "王芳"}});
        let r = redact(&v);
        let text = r.to_string();
        assert!(!text.contains("Secret-123456"));
        assert!(!text.contains("abc\""));
        assert!(!text.contains("11010519491231002X"));
        assert!(text.contains("110105********002X"));
        assert!(text.contains("王芳"));
    }
}

//! The centre's organisation on PostgreSQL: accounts, departments, routing, sessions,
//! API tokens and the append-only audit log.

use crate::{int, json, Tx};
use gridhub_store::*;

impl CentreTx for Tx<'_> {
    fn account(&mut self, id: &str) -> StoreResult<Option<Account>> {
        self.record("SELECT record FROM account WHERE id = $1", &[&id])
    }

    fn account_by_username(&mut self, username: &str) -> StoreResult<Option<Account>> {
        self.record(
            "SELECT record FROM account WHERE username = $1",
            &[&username],
        )
    }

    fn put_account(&mut self, a: &Account) -> StoreResult<()> {
        self.exec_unique(
            "INSERT INTO account (id, username, record) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET username = excluded.username, record = excluded.record",
            &[&a.id, &a.username, &json(a)],
            &a.username,
        )
    }

    fn accounts(&mut self) -> StoreResult<Vec<Account>> {
        self.records("SELECT record FROM account ORDER BY username", &[])
    }

    fn department(&mut self, id: &str) -> StoreResult<Option<Department>> {
        self.record("SELECT record FROM department WHERE id = $1", &[&id])
    }

    fn put_department(&mut self, d: &Department) -> StoreResult<()> {
        self.exec_unique(
            "INSERT INTO department (id, node_id, code, record) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET node_id = excluded.node_id, code = excluded.code,
                 record = excluded.record",
            &[&d.id, &d.node_id, &d.code, &json(d)],
            &d.code,
        )
    }

    fn departments(&mut self) -> StoreResult<Vec<Department>> {
        self.records("SELECT record FROM department ORDER BY node_id, code", &[])
    }

    fn put_routing(&mut self, category_code: &str, rules: &[RoutingRule]) -> StoreResult<()> {
        self.exec(
            "DELETE FROM routing WHERE category_code = $1",
            &[&category_code],
        )?;
        for r in rules {
            self.exec_unique(
                "INSERT INTO routing (category_code, level, department_code) VALUES ($1, $2, $3)",
                &[&category_code, &r.level, &r.department_code],
                &r.level,
            )?;
        }
        Ok(())
    }

    fn routing(&mut self) -> StoreResult<Vec<RoutingRule>> {
        Ok(self
            .query(
                "SELECT category_code, level, department_code FROM routing ORDER BY 1, 2",
                &[],
            )?
            .iter()
            .map(|r| RoutingRule {
                category_code: r.get(0),
                level: r.get(1),
                department_code: r.get(2),
            })
            .collect())
    }

    fn put_session(&mut self, token_hash: &str, s: &Session) -> StoreResult<()> {
        self.exec(
            "INSERT INTO session (token_hash, account_id, expires_ms, record) VALUES ($1, $2, $3, $4)
             ON CONFLICT (token_hash) DO UPDATE SET account_id = excluded.account_id,
                 expires_ms = excluded.expires_ms, record = excluded.record",
            &[&token_hash, &s.account_id, &int(s.expires_ms)?, &json(s)],
        )?;
        Ok(())
    }

    fn session(&mut self, token_hash: &str) -> StoreResult<Option<Session>> {
        self.record(
            "SELECT record FROM session WHERE token_hash = $1",
            &[&token_hash],
        )
    }

    fn delete_session(&mut self, token_hash: &str) -> StoreResult<()> {
        self.exec("DELETE FROM session WHERE token_hash = $1", &[&token_hash])?;
        Ok(())
    }

    fn delete_sessions_of(&mut self, account_id: &str) -> StoreResult<()> {
        self.exec("DELETE FROM session WHERE account_id = $1", &[&account_id])?;
        Ok(())
    }

    fn api_token(&mut self, id: &str) -> StoreResult<Option<ApiToken>> {
        self.record("SELECT record FROM api_token WHERE id = $1", &[&id])
    }

    fn put_api_token(&mut self, t: &ApiToken) -> StoreResult<()> {
        self.exec(
            "INSERT INTO api_token (id, account_id, record) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, record = excluded.record",
            &[&t.id, &t.account_id, &json(t)],
        )?;
        Ok(())
    }

    fn api_tokens_of(&mut self, account_id: &str) -> StoreResult<Vec<ApiToken>> {
        self.records(
            "SELECT record FROM api_token WHERE account_id = $1 ORDER BY id",
            &[&account_id],
        )
    }

    fn append_audit(&mut self, e: &AuditEntry) -> StoreResult<()> {
        self.exec_unique(
            "INSERT INTO audit (seq, record) VALUES ($1, $2)",
            &[&int(e.seq)?, &json(e)],
            "audit line",
        )
    }

    fn audit_tail(&mut self) -> StoreResult<Option<AuditEntry>> {
        self.record("SELECT record FROM audit ORDER BY seq DESC LIMIT 1", &[])
    }

    fn audit_after(&mut self, after: u64, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        let after = after.min(i64::MAX as u64) as i64;
        self.records(
            "SELECT record FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&after, &(limit.min(1_000_000) as i64)],
        )
    }
}

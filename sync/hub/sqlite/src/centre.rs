//! The centre's organisation on SQLite: accounts, departments, routing, sessions, API
//! tokens and the append-only audit log.

use crate::*;

impl Tx<'_> {
    pub(crate) fn records<T: serde::de::DeserializeOwned>(
        &mut self,
        sql: &str,
        p: impl rusqlite::Params,
    ) -> StoreResult<Vec<T>> {
        let mut stmt = self.tx.prepare_cached(sql).map_err(be)?;
        let raw: Vec<String> = stmt
            .query_map(p, |r| r.get(0))
            .map_err(be)?
            .collect::<Result<_, _>>()
            .map_err(be)?;
        raw.iter().map(|s| parse(s)).collect()
    }

    fn record<T: serde::de::DeserializeOwned>(
        &mut self,
        sql: &str,
        p: impl rusqlite::Params,
    ) -> StoreResult<Option<T>> {
        Ok(self.records(sql, p)?.into_iter().next())
    }
}

impl CentreTx for Tx<'_> {
    fn account(&mut self, id: &str) -> StoreResult<Option<Account>> {
        self.record("SELECT record FROM account WHERE id = ?", [id])
    }

    fn account_by_username(&mut self, username: &str) -> StoreResult<Option<Account>> {
        self.record("SELECT record FROM account WHERE username = ?", [username])
    }

    fn put_account(&mut self, a: &Account) -> StoreResult<()> {
        self.tx
            .execute(
                "INSERT INTO account (id, username, record) VALUES (?, ?, ?)
                 ON CONFLICT(id) DO UPDATE SET username = excluded.username, record = excluded.record",
                params![a.id, a.username, json(a)],
            )
            .map_err(conflict_or_be(&a.username))?;
        Ok(())
    }

    fn accounts(&mut self) -> StoreResult<Vec<Account>> {
        self.records("SELECT record FROM account ORDER BY username", [])
    }

    fn department(&mut self, id: &str) -> StoreResult<Option<Department>> {
        self.record("SELECT record FROM department WHERE id = ?", [id])
    }

    fn put_department(&mut self, d: &Department) -> StoreResult<()> {
        self.tx
            .execute(
                "INSERT INTO department (id, node_id, code, record) VALUES (?, ?, ?, ?)
                 ON CONFLICT(id) DO UPDATE SET node_id = excluded.node_id, code = excluded.code, record = excluded.record",
                params![d.id, d.node_id, d.code, json(d)],
            )
            .map_err(conflict_or_be(&d.code))?;
        Ok(())
    }

    fn departments(&mut self) -> StoreResult<Vec<Department>> {
        self.records("SELECT record FROM department ORDER BY node_id, code", [])
    }

    fn put_routing(&mut self, category_code: &str, rules: &[RoutingRule]) -> StoreResult<()> {
        self.tx
            .execute(
                "DELETE FROM routing WHERE category_code = ?",
                [category_code],
            )
            .map_err(be)?;
        for r in rules {
            self.tx
                .execute(
                    "INSERT INTO routing (category_code, level, department_code) VALUES (?, ?, ?)",
                    params![category_code, r.level, r.department_code],
                )
                .map_err(conflict_or_be(&r.level))?;
        }
        Ok(())
    }

    fn routing(&mut self) -> StoreResult<Vec<RoutingRule>> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT category_code, level, department_code FROM routing ORDER BY 1, 2",
            )
            .map_err(be)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(RoutingRule {
                    category_code: r.get(0)?,
                    level: r.get(1)?,
                    department_code: r.get(2)?,
                })
            })
            .map_err(be)?
            .collect::<Result<_, _>>()
            .map_err(be)?;
        Ok(rows)
    }

    fn put_session(&mut self, token_hash: &str, s: &Session) -> StoreResult<()> {
        self.tx
            .execute(
                "INSERT OR REPLACE INTO session (token_hash, account_id, expires_ms, record) VALUES (?, ?, ?, ?)",
                params![token_hash, s.account_id, s.expires_ms as i64, json(s)],
            )
            .map_err(be)?;
        Ok(())
    }

    fn session(&mut self, token_hash: &str) -> StoreResult<Option<Session>> {
        self.record(
            "SELECT record FROM session WHERE token_hash = ?",
            [token_hash],
        )
    }

    fn delete_session(&mut self, token_hash: &str) -> StoreResult<()> {
        self.tx
            .execute("DELETE FROM session WHERE token_hash = ?", [token_hash])
            .map_err(be)?;
        Ok(())
    }

    fn delete_sessions_of(&mut self, account_id: &str) -> StoreResult<()> {
        self.tx
            .execute("DELETE FROM session WHERE account_id = ?", [account_id])
            .map_err(be)?;
        Ok(())
    }

    fn api_token(&mut self, id: &str) -> StoreResult<Option<ApiToken>> {
        self.record("SELECT record FROM api_token WHERE id = ?", [id])
    }

    fn put_api_token(&mut self, t: &ApiToken) -> StoreResult<()> {
        self.tx
            .execute(
                "INSERT OR REPLACE INTO api_token (id, account_id, record) VALUES (?, ?, ?)",
                params![t.id, t.account_id, json(t)],
            )
            .map_err(be)?;
        Ok(())
    }

    fn api_tokens_of(&mut self, account_id: &str) -> StoreResult<Vec<ApiToken>> {
        self.records(
            "SELECT record FROM api_token WHERE account_id = ? ORDER BY id",
            [account_id],
        )
    }

    fn append_audit(&mut self, e: &AuditEntry) -> StoreResult<()> {
        self.tx
            .execute(
                "INSERT INTO audit (seq, record) VALUES (?, ?)",
                params![e.seq as i64, json(e)],
            )
            .map_err(conflict_or_be("audit line"))?;
        Ok(())
    }

    fn audit_tail(&mut self) -> StoreResult<Option<AuditEntry>> {
        self.record("SELECT record FROM audit ORDER BY seq DESC LIMIT 1", [])
    }

    fn audit_after(&mut self, after: u64, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        self.records(
            "SELECT record FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
            params![after as i64, limit.min(1_000_000) as i64],
        )
    }
}

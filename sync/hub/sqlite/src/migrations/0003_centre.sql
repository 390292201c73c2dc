-- Schema version 3: the centre's organisation — accounts (bound to a node and a role),
-- departments, which department handles which 小类 at which level, console sessions, API
-- tokens, and the append-only, hash-chained audit log.
CREATE TABLE account (
    id       TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    record   TEXT NOT NULL
);
CREATE TABLE department (
    id      TEXT PRIMARY KEY,
    node_id TEXT NOT NULL,
    code    TEXT NOT NULL,
    record  TEXT NOT NULL,
    UNIQUE (node_id, code)
);
CREATE TABLE routing (
    category_code   TEXT NOT NULL,
    level           TEXT NOT NULL,
    department_code TEXT NOT NULL,
    PRIMARY KEY (category_code, level)
);
CREATE TABLE session (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    record     TEXT NOT NULL
);
CREATE INDEX session_account ON session(account_id);
CREATE TABLE api_token (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    record     TEXT NOT NULL
);
CREATE INDEX api_token_account ON api_token(account_id);
CREATE TABLE audit (
    seq    INTEGER PRIMARY KEY,
    record TEXT NOT NULL
);
-- Append-only: the database refuses to change or remove a line (the hash chain catches
-- an edit made around this, e.g. with the trigger dropped).
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
-- Token kinds gain 'account' (an account's API token; subject = the token's id). SQLite
-- cannot change a CHECK, so the column's check is dropped by rebuilding the table.
CREATE TABLE token_new (
    token_hash TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    kind       TEXT NOT NULL DEFAULT 'device' CHECK (kind IN ('device', 'admin', 'account'))
);
INSERT INTO token_new (token_hash, subject, expires_ms, kind) SELECT token_hash, subject, expires_ms, kind FROM token;
DROP TABLE token;
ALTER TABLE token_new RENAME TO token;

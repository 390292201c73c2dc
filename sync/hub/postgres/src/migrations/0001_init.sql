-- gridhub on PostgreSQL, schema version 1: the same records as the SQLite backend's
-- migrations 1–4 arrive at, with op ids counted per scope (see scope_head).
CREATE TABLE device (
    device_id TEXT PRIMARY KEY,
    record    TEXT NOT NULL
);
CREATE TABLE enrollment_code (
    code_hash TEXT PRIMARY KEY,
    record    TEXT NOT NULL
);
CREATE TABLE nonce (
    nonce      TEXT PRIMARY KEY,
    device_id  TEXT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE TABLE token (
    token_hash TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('device', 'admin', 'account')),
    subject    TEXT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE TABLE row (
    entity    TEXT NOT NULL,
    row_id    TEXT NOT NULL,
    scope     TEXT NOT NULL,
    fields    TEXT NOT NULL,
    field_hlc TEXT NOT NULL,
    deleted   BOOLEAN NOT NULL DEFAULT FALSE,
    origin    TEXT,
    seq       BIGSERIAL NOT NULL,
    PRIMARY KEY (entity, row_id)
);
CREATE INDEX row_entity_seq ON row(entity, seq);
-- Each scope's change log counts its own ops. Appending takes the scope's head row
-- (UPDATE … RETURNING) and holds it until commit, so within a scope op ids are dense and
-- become visible in order: a reader polling `op_id > cursor` never skips a late commit.
CREATE TABLE scope_head (
    scope   TEXT PRIMARY KEY,
    last_op BIGINT NOT NULL
);
CREATE TABLE op (
    scope  TEXT NOT NULL,
    op_id  BIGINT NOT NULL,
    entity TEXT NOT NULL,
    row_id TEXT NOT NULL,
    kind   TEXT NOT NULL,
    fields TEXT NOT NULL,
    hlc    TEXT NOT NULL,
    hash   BIGINT NOT NULL,
    PRIMARY KEY (scope, op_id)
);
CREATE TABLE applied_mutation (
    mutation_id TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    verdict     TEXT NOT NULL
);
CREATE INDEX applied_device ON applied_mutation(device_id, seq);
CREATE TABLE photo_ref (
    sha256 TEXT NOT NULL,
    entity TEXT NOT NULL,
    row_id TEXT NOT NULL,
    PRIMARY KEY (sha256, entity, row_id)
);
CREATE INDEX photo_ref_owner ON photo_ref(entity, row_id);
CREATE TABLE seal (
    device_id   TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    hash        TEXT NOT NULL,
    entity      TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    verdict     TEXT NOT NULL,
    body        TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    PRIMARY KEY (device_id, seq, hash)
);
CREATE INDEX seal_record ON seal(entity, record_id);
CREATE TABLE chain_state (
    device_id TEXT PRIMARY KEY,
    state     TEXT NOT NULL
);
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
    expires_ms BIGINT NOT NULL,
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
    seq    BIGINT PRIMARY KEY,
    record TEXT NOT NULL
);
-- Append-only: the database refuses to change or remove a line (the hash chain catches an
-- edit made around this).
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END $$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();

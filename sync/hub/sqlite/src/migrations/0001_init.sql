-- gridhub on SQLite, schema version 1 (IF NOT EXISTS: hubs made before versioned
-- migrations carry these tables already).
CREATE TABLE IF NOT EXISTS device (
    device_id TEXT PRIMARY KEY,
    record    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS enrollment_code (
    code_hash TEXT PRIMARY KEY,
    record    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS nonce (
    nonce      TEXT PRIMARY KEY,
    device_id  TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS token (
    token_hash TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS row (
    entity    TEXT NOT NULL,
    row_id    TEXT NOT NULL,
    scope     TEXT NOT NULL,
    fields    TEXT NOT NULL,
    field_hlc TEXT NOT NULL,
    deleted   INTEGER NOT NULL DEFAULT 0,
    seq       INTEGER NOT NULL,
    PRIMARY KEY (entity, row_id)
);
CREATE INDEX IF NOT EXISTS row_entity_seq ON row(entity, seq);
CREATE INDEX IF NOT EXISTS row_seq ON row(seq);
CREATE TABLE IF NOT EXISTS op (
    op_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    scope  TEXT NOT NULL,
    entity TEXT NOT NULL,
    row_id TEXT NOT NULL,
    kind   TEXT NOT NULL,
    fields TEXT NOT NULL,
    hlc    TEXT NOT NULL,
    hash   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS op_scope ON op(scope, op_id);
CREATE TABLE IF NOT EXISTS applied_mutation (
    mutation_id TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    verdict     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS applied_device ON applied_mutation(device_id, seq);
CREATE TABLE IF NOT EXISTS photo_ref (
    sha256 TEXT NOT NULL,
    entity TEXT NOT NULL,
    row_id TEXT NOT NULL,
    PRIMARY KEY (sha256, entity, row_id)
);
CREATE INDEX IF NOT EXISTS photo_ref_owner ON photo_ref(entity, row_id);
CREATE TABLE IF NOT EXISTS seal (
    device_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    entity      TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    verdict     TEXT NOT NULL,
    body        TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (device_id, seq, hash)
);
CREATE INDEX IF NOT EXISTS seal_record ON seal(entity, record_id);
CREATE TABLE IF NOT EXISTS chain_state (
    device_id TEXT PRIMARY KEY,
    state     TEXT NOT NULL
);

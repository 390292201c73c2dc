-- Schema version 4: sync state and evidence.

-- Mutations the hub rejected for good: shown to the user with the reason; they never
-- block the queue.
CREATE TABLE dead_letter (
    seq         INTEGER PRIMARY KEY,
    mutation_id TEXT NOT NULL UNIQUE,
    entity      TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    op          TEXT NOT NULL,
    fields      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    at          TEXT NOT NULL
) STRICT;

-- Read path: one cursor per scope over the hub's change log, advanced in the same
-- transaction as the page it belongs to.
CREATE TABLE scope_cursor (
    scope    TEXT PRIMARY KEY,
    after_op INTEGER NOT NULL DEFAULT 0,
    checksum INTEGER NOT NULL DEFAULT 0,   -- wrapping u32 sum of applied op hashes
    count    INTEGER NOT NULL DEFAULT 0,
    priority INTEGER NOT NULL DEFAULT 3
) STRICT;

-- Local edits not yet confirmed by the hub: pulled server state does not overwrite them.
-- `hlc` is the local edit's timestamp (replaced by the hub's clamped one on ack): a
-- pulled op older than it is skipped for that field, its own echo or a newer op clears it.
CREATE TABLE pending_field (
    entity TEXT NOT NULL,
    row_id TEXT NOT NULL,
    field  TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    hlc    TEXT NOT NULL,
    PRIMARY KEY (entity, row_id, field)
) STRICT;

-- "Your change to X was superseded by …": what the user sees after a lost LWW race.
CREATE TABLE conflict_notice (
    id            INTEGER PRIMARY KEY,
    entity        TEXT NOT NULL,
    row_id        TEXT NOT NULL,
    field         TEXT NOT NULL,
    local_value   TEXT,
    winning_value TEXT,
    winner        TEXT NOT NULL DEFAULT '',
    at            TEXT NOT NULL,
    seen          INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Per-device hash chain of sealed records (reports with their photos, fix and times),
-- each signed with the device's Ed25519 key.
CREATE TABLE seal (
    seq           INTEGER PRIMARY KEY,
    record_entity TEXT NOT NULL,
    record_id     TEXT NOT NULL,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL UNIQUE,
    signature     TEXT NOT NULL,
    body          TEXT NOT NULL,          -- the canonical bytes that were hashed and signed
    at            TEXT NOT NULL,
    UNIQUE (record_entity, record_id)
) STRICT;

-- Resumable photo upload state and list thumbnails.
ALTER TABLE photo ADD COLUMN upload_id TEXT;
ALTER TABLE photo ADD COLUMN upload_offset INTEGER NOT NULL DEFAULT 0;
ALTER TABLE photo ADD COLUMN thumb_sha256 TEXT;
ALTER TABLE photo ADD COLUMN updated_hlc TEXT;

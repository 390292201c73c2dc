-- Schema version 6: what lets sync recover instead of stopping.
-- A pulled op the device cannot apply (a row its schema refuses, a reference that has not
-- arrived yet) is set aside here instead of failing the whole page, retried after every
-- page of its scope, and reported to the centre.
CREATE TABLE quarantined_op (
    scope    TEXT NOT NULL,
    op_id    INTEGER NOT NULL,
    entity   TEXT NOT NULL,
    row_id   TEXT NOT NULL,
    kind     TEXT NOT NULL,               -- JSON of the op's kind
    fields   TEXT NOT NULL,               -- JSON object
    hlc      TEXT NOT NULL,
    reason   TEXT NOT NULL,
    at       TEXT NOT NULL,
    PRIMARY KEY (scope, op_id)
) STRICT;
-- Mutations the hub acknowledged, kept for 30 days: a hub restored from a backup that
-- lost them gets them again, with the same ids (the hub's idempotency key).
CREATE TABLE outbox_sent (
    seq         INTEGER PRIMARY KEY,
    mutation_id TEXT NOT NULL,
    hlc         TEXT NOT NULL,
    entity      TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    op          TEXT NOT NULL,
    fields      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    acked_at    TEXT NOT NULL
) STRICT;

-- Schema version 5: state the hub keeps for itself. The hybrid clock's high-water mark, so
-- a restarted hub never stamps an edit earlier than one it made before; the leases of
-- periodic jobs (one row per job).
CREATE TABLE clock_floor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    millis INTEGER NOT NULL
);
CREATE TABLE lease (
    job TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
);

-- Schema version 2: state the instances share besides the records. The hybrid clock's
-- high-water mark, so no instance — restarted, or with a clock behind the others' — stamps
-- an edit earlier than one already made; the leases that let one instance run a periodic job.
CREATE TABLE clock_floor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    millis BIGINT NOT NULL
);
CREATE TABLE lease (
    job TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_ms BIGINT NOT NULL
);

-- Schema version 2: the work a grid worker does — events and their lifecycle, tasks from
-- the centre, visits, diary, patrols with check-ins and tracks, notices, photo references.
-- Records carrying a position store it as JSON (WGS-84, accuracy, fix quality, source),
-- with both the device's clock and the GNSS-corrected time.

CREATE TABLE event (
    id              TEXT PRIMARY KEY,
    grid_id         TEXT NOT NULL REFERENCES grid(id),
    category_code   TEXT NOT NULL REFERENCES catalog_category(code),
    description     TEXT NOT NULL,
    address_text    TEXT NOT NULL DEFAULT '',
    fields          TEXT NOT NULL DEFAULT '{}',   -- values of the category's fields
    status          TEXT NOT NULL,
    handled_on_spot INTEGER NOT NULL DEFAULT 0,
    reporter        TEXT NOT NULL,
    position        TEXT,                         -- JSON Position
    device_time     TEXT NOT NULL,
    corrected_time  TEXT,
    reported_at     TEXT,
    deadline_at     TEXT,
    updated_hlc     TEXT
) STRICT;
CREATE INDEX event_by_status ON event(status, deadline_at);
CREATE INDEX event_grid ON event(grid_id, device_time);

CREATE TABLE event_status (
    id        INTEGER PRIMARY KEY,
    event_id  TEXT NOT NULL REFERENCES event(id),
    status    TEXT NOT NULL,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    note      TEXT NOT NULL DEFAULT '',
    origin    TEXT NOT NULL CHECK (origin IN ('device', 'hub'))
) STRICT;
CREATE INDEX event_status_event ON event_status(event_id, id);

CREATE TABLE task (
    id              TEXT PRIMARY KEY,
    grid_id         TEXT NOT NULL REFERENCES grid(id),
    assignee        TEXT,
    title           TEXT NOT NULL,
    body            TEXT NOT NULL DEFAULT '',
    source_event_id TEXT,
    category_code   TEXT,
    status          TEXT NOT NULL,
    priority        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    deadline_at     TEXT,
    feedback        TEXT NOT NULL DEFAULT '',
    reject_reason   TEXT NOT NULL DEFAULT '',
    position        TEXT,
    updated_at      TEXT,
    updated_hlc     TEXT
) STRICT;
CREATE INDEX task_status ON task(status, deadline_at);

CREATE TABLE visit (
    id             TEXT PRIMARY KEY,
    grid_id        TEXT NOT NULL REFERENCES grid(id),
    house_id       TEXT REFERENCES house(id),
    person_id      TEXT REFERENCES person(id),
    kind           TEXT NOT NULL CHECK (kind IN ('in_home', 'not_in_home', 'phone')),
    topic          TEXT NOT NULL DEFAULT '',
    note           TEXT NOT NULL DEFAULT '',
    position       TEXT,
    device_time    TEXT NOT NULL,
    corrected_time TEXT,
    updated_hlc    TEXT
) STRICT;
CREATE INDEX visit_time ON visit(device_time);

CREATE TABLE diary (
    id             TEXT PRIMARY KEY,
    grid_id        TEXT NOT NULL REFERENCES grid(id),
    day            TEXT NOT NULL,             -- YYYY-MM-DD, Beijing time
    content        TEXT NOT NULL,
    position       TEXT,
    device_time    TEXT NOT NULL,
    corrected_time TEXT,
    updated_hlc    TEXT
) STRICT;
CREATE INDEX diary_day ON diary(day);

CREATE TABLE patrol (
    id             TEXT PRIMARY KEY,
    grid_id        TEXT NOT NULL REFERENCES grid(id),
    started_at     TEXT NOT NULL,
    ended_at       TEXT,
    distance_m     REAL NOT NULL DEFAULT 0,
    inside_grid_s  REAL NOT NULL DEFAULT 0,
    state          TEXT NOT NULL CHECK (state IN ('active', 'finished')),
    updated_hlc    TEXT
) STRICT;

CREATE TABLE checkin (
    id             TEXT PRIMARY KEY,
    patrol_id      TEXT REFERENCES patrol(id),
    grid_id        TEXT NOT NULL REFERENCES grid(id),
    place          TEXT NOT NULL DEFAULT '',
    inside_grid    TEXT NOT NULL DEFAULT 'uncertain' CHECK (inside_grid IN ('inside', 'outside', 'uncertain')),
    position       TEXT,
    device_time    TEXT NOT NULL,
    corrected_time TEXT,
    updated_hlc    TEXT
) STRICT;
CREATE INDEX checkin_patrol ON checkin(patrol_id);

-- Track points, stored compactly: one row per segment, points delta-encoded in `points`.
CREATE TABLE track_segment (
    id          TEXT PRIMARY KEY,
    patrol_id   TEXT NOT NULL REFERENCES patrol(id),
    seq         INTEGER NOT NULL,
    start_time  TEXT NOT NULL,
    end_time    TEXT NOT NULL,
    n_points    INTEGER NOT NULL,
    gap_before  INTEGER NOT NULL DEFAULT 0,   -- 1: a gap in reception precedes this segment
    points      BLOB NOT NULL,
    updated_hlc TEXT,
    UNIQUE (patrol_id, seq)
) STRICT;

CREATE TABLE notice (
    id           TEXT PRIMARY KEY,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    published_at TEXT NOT NULL,
    area         TEXT NOT NULL DEFAULT '',
    read_at      TEXT,
    updated_hlc  TEXT
) STRICT;

-- Photos are content-addressed files; records reference them by SHA-256.
CREATE TABLE photo (
    sha256     TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    bytes      INTEGER NOT NULL,
    mime       TEXT NOT NULL,
    width      INTEGER,
    height     INTEGER,
    taken_at   TEXT,
    state      TEXT NOT NULL DEFAULT 'local' CHECK (state IN ('local', 'uploading', 'uploaded', 'remote', 'fetched'))
) STRICT;

CREATE TABLE photo_ref (
    owner_entity TEXT NOT NULL,
    owner_id     TEXT NOT NULL,
    sha256       TEXT NOT NULL REFERENCES photo(sha256),
    ord          INTEGER NOT NULL,
    PRIMARY KEY (owner_entity, owner_id, ord)
) STRICT;
CREATE INDEX photo_ref_sha ON photo_ref(sha256);

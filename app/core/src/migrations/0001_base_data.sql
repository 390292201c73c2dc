-- Gridpad device store, schema version 1: device state, the outbox, and the grid's base
-- data (人 地 物 组织) plus the event catalog pushed from the centre.

CREATE TABLE kv (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- One row per local change, written in the same transaction as the change.
-- seq is dense per device (kv.next_seq), never reused even after rows are acknowledged
-- and deleted by sync.
CREATE TABLE outbox (
    seq         INTEGER PRIMARY KEY,
    mutation_id TEXT NOT NULL UNIQUE,
    hlc         TEXT NOT NULL,
    entity      TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    op          TEXT NOT NULL,
    fields      TEXT NOT NULL,              -- JSON object: column -> new value
    created_at  TEXT NOT NULL,              -- device wall time, RFC 3339 UTC
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'inflight')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT
) STRICT;
CREATE INDEX outbox_row ON outbox(entity, row_id);

CREATE TABLE grid (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('district', 'street', 'community', 'grid', 'micro_grid')),
    parent_id   TEXT REFERENCES grid(id),
    boundary    TEXT,                        -- JSON [[[lon, lat], ...], holes...] in WGS-84
    updated_hlc TEXT
) STRICT;

-- 标准地址: a standard address, usually one per building entrance.
CREATE TABLE address (
    id          TEXT PRIMARY KEY,
    grid_id     TEXT NOT NULL REFERENCES grid(id),
    code        TEXT,
    district    TEXT NOT NULL DEFAULT '',
    street      TEXT NOT NULL DEFAULT '',   -- 街道/乡镇
    community   TEXT NOT NULL DEFAULT '',   -- 社区/村
    road        TEXT NOT NULL DEFAULT '',   -- 街路巷
    number      TEXT NOT NULL DEFAULT '',   -- 门牌号
    full_text   TEXT NOT NULL,
    lat         REAL,
    lon         REAL,
    updated_hlc TEXT
) STRICT;
CREATE INDEX address_grid ON address(grid_id);

CREATE TABLE building (
    id          TEXT PRIMARY KEY,
    grid_id     TEXT NOT NULL REFERENCES grid(id),
    address_id  TEXT REFERENCES address(id),
    name        TEXT NOT NULL,               -- e.g. 3栋
    floors      INTEGER,
    kind        TEXT NOT NULL DEFAULT 'residential',
    lat         REAL,
    lon         REAL,
    updated_hlc TEXT
) STRICT;
CREATE INDEX building_grid ON building(grid_id, name);

CREATE TABLE house (
    rid            INTEGER PRIMARY KEY,     -- stable rowid: the search index refers to it
    id             TEXT NOT NULL UNIQUE,
    building_id  TEXT REFERENCES building(id),
    grid_id      TEXT NOT NULL REFERENCES grid(id),
    unit_no      TEXT NOT NULL DEFAULT '',   -- 单元
    room         TEXT NOT NULL,              -- 室
    use          TEXT NOT NULL CHECK (use IN ('self_occupied', 'rented', 'vacant', 'commercial', 'mixed', 'other')),
    area_m2      REAL,
    full_address TEXT NOT NULL,
    updated_hlc  TEXT
) STRICT;
CREATE INDEX house_building ON house(building_id, unit_no, room);
CREATE INDEX house_grid ON house(grid_id);

-- 实有人口
CREATE TABLE person (
    rid            INTEGER PRIMARY KEY,     -- stable rowid: the search index refers to it
    id             TEXT NOT NULL UNIQUE,
    grid_id        TEXT NOT NULL REFERENCES grid(id),
    house_id       TEXT REFERENCES house(id),
    name           TEXT NOT NULL,
    id_number      TEXT,                     -- 身份证号, 18 characters
    id_rev         TEXT,                     -- reversed id_number: tail search by index
    phone          TEXT,
    phone_rev      TEXT,
    sex            TEXT NOT NULL CHECK (sex IN ('male', 'female', 'unknown')),
    birth_date     TEXT,                     -- YYYY-MM-DD
    relation       TEXT NOT NULL DEFAULT 'other',   -- relation to the householder
    residence_type TEXT NOT NULL CHECK (residence_type IN ('registered', 'floating', 'overseas', 'other')),
    tags           TEXT NOT NULL DEFAULT '[]',      -- JSON array of special-group tags
    note           TEXT NOT NULL DEFAULT '',
    updated_hlc    TEXT
) STRICT;
CREATE INDEX person_house ON person(house_id);
CREATE INDEX person_grid ON person(grid_id);
CREATE INDEX person_name ON person(name);
CREATE INDEX person_id_rev ON person(id_rev);
CREATE INDEX person_phone ON person(phone);
CREATE INDEX person_phone_rev ON person(phone_rev);

-- 实有单位
CREATE TABLE organisation (
    rid            INTEGER PRIMARY KEY,     -- stable rowid: the search index refers to it
    id             TEXT NOT NULL UNIQUE,
    grid_id       TEXT NOT NULL REFERENCES grid(id),
    address_id    TEXT REFERENCES address(id),
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('shop', 'company', 'social_org', 'government', 'school', 'medical', 'other')),
    licence_no    TEXT,
    contact_name  TEXT,
    contact_phone TEXT,
    address_text  TEXT NOT NULL DEFAULT '',
    risk_tags     TEXT NOT NULL DEFAULT '[]',
    updated_hlc   TEXT
) STRICT;
CREATE INDEX organisation_grid ON organisation(grid_id);

-- 部件
CREATE TABLE facility (
    id          TEXT PRIMARY KEY,
    grid_id     TEXT NOT NULL REFERENCES grid(id),
    kind        TEXT NOT NULL,               -- hydrant, manhole, street_lamp, camera, ...
    code        TEXT,
    lat         REAL,
    lon         REAL,
    state       TEXT NOT NULL DEFAULT 'normal' CHECK (state IN ('normal', 'damaged', 'missing', 'unknown')),
    note        TEXT NOT NULL DEFAULT '',
    updated_hlc TEXT
) STRICT;
CREATE INDEX facility_grid ON facility(grid_id, kind);

-- 事项清单: 大类 (level 1) and 小类 (level 2), data pushed from the centre.
CREATE TABLE catalog_category (
    code           TEXT PRIMARY KEY,
    parent_code    TEXT REFERENCES catalog_category(code),
    level          INTEGER NOT NULL CHECK (level IN (1, 2)),
    name           TEXT NOT NULL,
    department     TEXT NOT NULL DEFAULT '',
    deadline_hours INTEGER,                  -- handling time limit (小类)
    yellow_pct     INTEGER NOT NULL DEFAULT 50,   -- % of the limit used -> yellow
    red_pct        INTEGER NOT NULL DEFAULT 80,   -- % of the limit used -> red
    fields         TEXT NOT NULL DEFAULT '[]',    -- JSON: the fields a report of this kind needs
    photo_policy   TEXT NOT NULL DEFAULT '{}',    -- JSON: max pixels, quality, max bytes, min photos
    sort           INTEGER NOT NULL DEFAULT 0,
    updated_hlc    TEXT
) STRICT;
CREATE INDEX catalog_parent ON catalog_category(parent_code, sort);

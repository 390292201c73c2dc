-- Schema version 6: deadlines and 督办. The working-time calendar years the centre
-- imported; each record's deadline thresholds already reminded (written in the same
-- transaction as the reminders, so a threshold is reminded once); the reminders, per account.
CREATE TABLE calendar_year (
    year INTEGER PRIMARY KEY,
    record TEXT NOT NULL
);
CREATE TABLE deadline_mark (
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    threshold TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (entity, record_id, threshold)
);
CREATE TABLE reminder (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX reminder_by_account ON reminder (account_id, at_ms);

-- Schema version 2: a token says what kind of principal it belongs to. Until now device and
-- administrator tokens shared one subject column and a device whose id was "admin" became
-- the administrator; from here on a device token can never be an administrator's.
ALTER TABLE token ADD COLUMN kind TEXT NOT NULL DEFAULT 'device' CHECK (kind IN ('device', 'admin'));
UPDATE token SET kind = 'admin' WHERE subject = 'admin';
-- Devices enrolled under the id "admin" can no longer use their tokens as an administrator.

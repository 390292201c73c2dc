-- Schema version 4: the device that made a record (a report, a visit …). A report's
-- readers may be a person rather than a device (a replacement device follows its person),
-- so the reporting device — whose seal chain vouches for it — is kept beside the scope.
ALTER TABLE row ADD COLUMN origin TEXT;
UPDATE row SET origin = substr(scope, 8) WHERE scope LIKE 'device:%';
UPDATE row SET origin = substr(scope, 4) WHERE scope LIKE 'up:%';

-- Schema version 7: the catalog states the unit of a 小类's deadline: hours on the clock
-- (NULL, what every catalog meant before), working hours or working days (counted on the
-- working-time calendar, gridpad_domain::worktime).
ALTER TABLE catalog_category ADD COLUMN deadline_unit TEXT;

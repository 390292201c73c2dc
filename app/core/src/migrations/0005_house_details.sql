-- Schema version 5: a house's floor (楼层) and the holder of its property rights
-- (产权性质: private / public / collective / work_unit / other), edited on the device.
ALTER TABLE house ADD COLUMN floor INTEGER CHECK (floor IS NULL OR floor BETWEEN -5 AND 200);
ALTER TABLE house ADD COLUMN tenure TEXT CHECK (tenure IS NULL OR tenure IN ('private', 'public', 'collective', 'work_unit', 'other'));

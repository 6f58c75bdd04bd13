-- Brings the column back empty; the old values only come back from the backup.
ALTER TABLE orders ADD COLUMN legacy_status smallint;

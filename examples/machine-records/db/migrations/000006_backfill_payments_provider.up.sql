-- Backfill rows written before the provider column was filled in by the app (2.41.0),
-- then make it mandatory. No down migration: the NULLs this replaces are not recoverable.
UPDATE payments SET provider = 'adyen' WHERE provider IS NULL AND provider_ref LIKE 'ADY%';
UPDATE payments SET provider = 'stripe' WHERE provider IS NULL AND provider_ref LIKE 'pi_%';
ALTER TABLE payments ALTER COLUMN provider SET NOT NULL;

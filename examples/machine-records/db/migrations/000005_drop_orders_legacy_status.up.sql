-- legacy_status was replaced by status in 2.38.0; nothing has read it since 2025-10-23.
-- Destructive: the values are gone once this runs. Take a backup of orders first.
ALTER TABLE orders DROP COLUMN legacy_status;

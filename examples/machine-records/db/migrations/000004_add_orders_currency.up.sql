-- PostgreSQL 11+ adds a column with a constant default without rewriting the table,
-- but ALTER TABLE still takes an ACCESS EXCLUSIVE lock for the catalog change.
ALTER TABLE orders ADD COLUMN currency char(3) NOT NULL DEFAULT 'EUR';

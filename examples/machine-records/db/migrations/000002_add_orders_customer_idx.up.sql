-- golang-migrate runs a file as one multi-statement exec, not in a transaction,
-- so CONCURRENTLY works as long as it is the only statement in the file.
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON orders (customer_id);

CREATE OR REPLACE VIEW order_stats AS
SELECT status, count(*) AS n FROM orders GROUP BY status;

UPDATE orders SET status = 'legacy' WHERE created_at < '2020-01-01';
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_tables WHERE tablename = 'tmp_orders') THEN
    EXECUTE 'DROP TABLE tmp_orders';
  END IF;
END
$$;

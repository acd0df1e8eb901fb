-- The pipeline's reconciliation counts orders and revenue per day of creation (dags/pipeline/sql/source_days.sql)
-- for the days a run touched: a range scan of those days, not of the whole table.
CREATE INDEX IF NOT EXISTS orders_created_at_idx ON orders (created_at);

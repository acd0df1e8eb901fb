-- Rendered from contracts/lake_tables.py by scripts/render_ddl.py: change the contract, then run it.
-- One row per purchased line, historical purchases and OLTP orders unified (spark/transforms/order_lines.py).
-- Partitioned by month and, within it, by order-id bucket (-1: historical purchases): a run rewrites the buckets its
-- orders are in, not the month. Partitions are added by the pipeline's register task (ADD IF NOT EXISTS / SET
-- LOCATION).
CREATE EXTERNAL TABLE IF NOT EXISTS curated.order_lines (
  order_ts timestamp,
  order_date date,
  order_id string,
  line_no int,
  customer_id string,
  asin string,
  title string,
  category string,
  state string,
  quantity int,
  unit_price decimal(12,2),
  revenue decimal(14,2),
  status string,
  source string,
  source_ref string,
  is_black_friday_window boolean,
  is_peak_week boolean,
  is_seed_week boolean,
  is_black_friday boolean,
  is_cyber_monday boolean
)
PARTITIONED BY (year int, month int, bucket int)
STORED AS PARQUET
LOCATION '${lake_uri}/curated/order_lines/'
TBLPROPERTIES ('parquet.compression' = 'ZSTD');

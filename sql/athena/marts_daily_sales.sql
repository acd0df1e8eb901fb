-- One row per day: orders (not cancelled), quantity, revenue, average order value, unique customers, and the
-- day's period flags from the calendar (seasons/calendar.py; the same days as curated.calendar).
CREATE EXTERNAL TABLE IF NOT EXISTS marts.daily_sales (
  order_date date,
  orders bigint,
  quantity bigint,
  revenue decimal(16,2),
  average_order_value decimal(17,2),
  unique_customers bigint,
  is_black_friday_window boolean,
  is_peak_week boolean,
  is_seed_week boolean,
  is_black_friday boolean,
  is_cyber_monday boolean
)
PARTITIONED BY (year int, month int)
STORED AS PARQUET
LOCATION '${lake_uri}/marts/daily_sales/'
TBLPROPERTIES ('parquet.compression' = 'ZSTD');

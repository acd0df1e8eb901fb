-- Per year: the Black Friday window (Thanksgiving .. Cyber Monday) and the seed's fixed Nov 22-28 week, each as
-- its daily-order surge over the rest of November and its share of November revenue; peak day; BF and CM.
CREATE EXTERNAL TABLE IF NOT EXISTS marts.black_friday_summary (
  thanksgiving date,
  cyber_monday date,
  window_daily_order_surge double,
  window_november_share double,
  seed_week_daily_order_surge double,
  seed_week_november_share double,
  peak_day date,
  peak_day_orders bigint,
  black_friday_orders bigint,
  black_friday_revenue decimal(26,2),
  cyber_monday_orders bigint,
  cyber_monday_revenue decimal(26,2)
)
PARTITIONED BY (year int)
STORED AS PARQUET
LOCATION '${lake_uri}/marts/black_friday_summary/'
TBLPROPERTIES ('parquet.compression' = 'ZSTD');

-- One row per year (season): its dates and status as of the build's as-of date (not_started / in_progress /
-- complete: complete once the as-of date is past both November and Cyber Monday), November and Black Friday
-- window figures so far, and, for a complete season only, the window's and the seed week's daily-order surge
-- over the rest of November and share of November revenue (null while the season runs; full precision: the
-- queries round what they show); the window's revenue in all and in November (its share's numerator); peak
-- day; BF and CM.
CREATE EXTERNAL TABLE IF NOT EXISTS marts.black_friday_summary (
  thanksgiving date,
  black_friday date,
  cyber_monday date,
  season_end date,
  status string,
  as_of date,
  november_orders bigint,
  november_revenue decimal(26,2),
  window_orders bigint,
  window_revenue decimal(26,2),
  window_november_revenue decimal(26,2),
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

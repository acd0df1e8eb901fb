-- One row per season (year) and comparison day (Thanksgiving-21 .. Cyber Monday) up to the as-of date: the
-- day's orders and revenue and the season's running totals, aligned on days_from_thanksgiving so seasons compare
-- day by day; is_complete_day is false for the as-of day itself (its orders are still coming in).
CREATE EXTERNAL TABLE IF NOT EXISTS marts.season_to_date (
  days_from_thanksgiving int,
  order_date date,
  weekday string,
  orders bigint,
  revenue decimal(16,2),
  orders_to_date bigint,
  revenue_to_date decimal(26,2),
  is_complete_day boolean,
  as_of date
)
PARTITIONED BY (year int)
STORED AS PARQUET
LOCATION '${lake_uri}/marts/season_to_date/'
TBLPROPERTIES ('parquet.compression' = 'ZSTD');

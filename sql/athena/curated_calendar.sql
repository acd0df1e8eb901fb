-- The date dimension, one row per day: its season's Thanksgiving, Black Friday, Cyber Monday and last day,
-- days from Thanksgiving, and a flag per named period (defined once in seasons/calendar.py; see the README).
CREATE EXTERNAL TABLE IF NOT EXISTS curated.calendar (
  order_date date,
  weekday string,
  iso_weekday int,
  thanksgiving date,
  black_friday date,
  cyber_monday date,
  season_end date,
  days_from_thanksgiving int,
  is_black_friday boolean,
  is_cyber_monday boolean,
  is_black_friday_window boolean,
  is_peak_week boolean,
  is_seed_week boolean,
  is_comparison_days boolean,
  month int
)
PARTITIONED BY (year int)
STORED AS PARQUET
LOCATION '${lake_uri}/curated/calendar/'
TBLPROPERTIES ('parquet.compression' = 'ZSTD');
